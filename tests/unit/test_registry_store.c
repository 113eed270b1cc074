/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The registry on disk (vmh_regstore) and the SHA-256 it relies on: atomic
 * save, identical state after load, and every kind of damage reported with
 * its own code and never loaded.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmh_regstore.h"
#include "test_registry_harness.h"

static void hex(const uint8_t *d, char *out)
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void check_sha(const void *data, size_t len, const char *want)
{
	uint8_t d[32];
	char got[65];

	vmh_sha256(data, len, d);
	hex(d, got);
	assert_string_equal(got, want);
}

/* FIPS 180-4 examples, and lengths around the padding boundaries
 * (reference values from coreutils' sha256sum). */
static void test_sha256(void **state)
{
	static const struct { size_t n; const char *want; } xs[] = {
		{ 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ 55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072" },
		{ 56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e" },
		{ 63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2" },
		{ 64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c" },
		{ 65, "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9" },
		{ 119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c" },
		{ 120, "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98" },
		{ 1000, "44f8354494a5ba03ba1792a8d3e9c534c47a9181980fde7a3f44b06ef2ae7c7f" },
	};
	char x[1000];
	char *a = malloc(1000000);

	(void)state;
	check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	memset(x, 'x', sizeof(x));
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++)
		check_sha(x, xs[i].n, xs[i].want);
	memset(a, 'a', 1000000);
	check_sha(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

static char *make_dir(void)
{
	char tmpl[] = "/tmp/vmh-regstore-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void remove_dir(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char p[512];

		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	free(dir);
}

static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	if (d)
		closedir(d);
	return n;
}

/* A cluster with some history, so the state is not trivial. */
static void busy_cluster(struct h_cluster *c)
{
	struct vmh_msg m = { .type = VMH_MSG_CLAIM, .xml = "<domain>x</domain>", .xml_len = 18 };

	h_init(c, 3);
	h_split(c, 0x7, 0, 0, 0);
	h_run_all(c);
	snprintf(m.vm, sizeof(m.vm), "vm1");
	m.config = vmh_reg_config(c->reg[0]);
	h_send(c, 1, &m);
	snprintf(m.vm, sizeof(m.vm), "vm2");
	m.require_fencing = true;
	h_send(c, 2, &m);
	h_run_all(c);
	h_split(c, 0x3, 0x4, 0, 0);
	h_run_all(c);
	assert_string_equal(c->fail, "");
	assert_int_equal(vmh_reg_vm_count(c->reg[0]), 2);
}

static void write_file(const char *dir, const uint8_t *buf, size_t len)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, VMH_REGSTORE_FILE);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static uint8_t *read_saved(const char *dir, size_t *len)
{
	char p[512];
	struct stat st;
	uint8_t *buf;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, VMH_REGSTORE_FILE);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 64);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static void test_save_load(void **state)
{
	struct h_cluster c;
	struct vmh_reg_image img;
	enum vmh_regstore_fault f;
	uint8_t *a, *b;
	size_t alen, blen;
	char *dir = make_dir();

	(void)state;
	busy_cluster(&c);
	assert_int_equal(vmh_regstore_load(dir, &img, &f), -ENOENT);
	assert_int_equal(vmh_regstore_save(dir, vmh_reg_image(c.reg[0])), 0);
	assert_int_equal(dir_entries(dir), 1);		/* no temporary left */
	assert_int_equal(vmh_regstore_load(dir, &img, &f), 0);
	assert_int_equal(f, VMH_REGSTORE_OK);
	/* Identical, byte for byte. */
	assert_int_equal(vmh_wire_encode_image(vmh_reg_image(c.reg[0]), &a, &alen), 0);
	assert_int_equal(vmh_wire_encode_image(&img, &b, &blen), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	free(a);
	free(b);
	vmh_reg_image_free(&img);
	/* Saving again replaces the file, still one entry. */
	assert_int_equal(vmh_regstore_save(dir, vmh_reg_image(c.reg[1])), 0);
	assert_int_equal(dir_entries(dir), 1);
	{
		struct stat st;
		char p[512];

		snprintf(p, sizeof(p), "%s/%s", dir, VMH_REGSTORE_FILE);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	assert_int_equal(vmh_regstore_save("/nonexistent/dir", vmh_reg_image(c.reg[0])), -ENOENT);
	h_destroy(&c);
	remove_dir(dir);
}

static void expect_fault(const char *dir, const uint8_t *buf, size_t len,
			 enum vmh_regstore_fault want)
{
	struct vmh_reg_image img;
	enum vmh_regstore_fault f;

	write_file(dir, buf, len);
	assert_int_equal(vmh_regstore_load(dir, &img, &f), -EBADMSG);
	assert_int_equal(f, want);
	assert_int_equal(img.n_vms, 0);
	assert_null(img.vms);
	assert_null(img.nodes);
	assert_non_null(vmh_regstore_fault_str(f));
}

static void test_damaged_files(void **state)
{
	struct h_cluster c;
	uint8_t *good, *bad;
	size_t len;
	char *dir = make_dir();

	(void)state;
	busy_cluster(&c);
	assert_int_equal(vmh_regstore_save(dir, vmh_reg_image(c.reg[0])), 0);
	good = read_saved(dir, &len);
	bad = malloc(len + 64);

	memcpy(bad, good, len);
	bad[0] = 'X';
	expect_fault(dir, bad, len, VMH_REGSTORE_BAD_MAGIC);
	expect_fault(dir, (const uint8_t *)"hello", 5, VMH_REGSTORE_BAD_MAGIC);
	expect_fault(dir, good, 0, VMH_REGSTORE_TRUNCATED);
	expect_fault(dir, good, 5, VMH_REGSTORE_TRUNCATED);
	memcpy(bad, good, len);
	bad[8] = 2;
	expect_fault(dir, bad, len, VMH_REGSTORE_BAD_VERSION);
	/* Cut anywhere: header, inside the body, one byte short. */
	for (size_t cut = 8; cut < len; cut += cut < 64 ? 1 : 37)
		expect_fault(dir, good, cut, VMH_REGSTORE_TRUNCATED);
	expect_fault(dir, good, len - 1, VMH_REGSTORE_TRUNCATED);
	memcpy(bad, good, len);
	bad[len] = 0;
	expect_fault(dir, bad, len + 1, VMH_REGSTORE_BAD_LENGTH);
	/* One flipped bit anywhere in the body. */
	for (size_t at = 56; at < len; at += 13) {
		memcpy(bad, good, len);
		bad[at] ^= 0x10;
		expect_fault(dir, bad, len, VMH_REGSTORE_BAD_CHECKSUM);
	}
	/* The checksum too. */
	memcpy(bad, good, len);
	bad[30] ^= 1;
	expect_fault(dir, bad, len, VMH_REGSTORE_BAD_CHECKSUM);
	/* A body that matches its checksum but is not a valid state: a
	 * reserved byte set, the checksum recomputed. */
	memcpy(bad, good, len);
	bad[56 + 8 + 25] = 1;		/* image flags' reserved byte */
	vmh_sha256(bad + 56, len - 56, bad + 24);
	expect_fault(dir, bad, len, VMH_REGSTORE_BAD_CONTENT);
	/* A length beyond anything we write. */
	memcpy(bad, good, len);
	bad[16 + 5] = 1;
	expect_fault(dir, bad, len, VMH_REGSTORE_TOO_LARGE);
	/* And the good one still loads. */
	{
		struct vmh_reg_image img;
		enum vmh_regstore_fault f;

		write_file(dir, good, len);
		assert_int_equal(vmh_regstore_load(dir, &img, &f), 0);
		vmh_reg_image_free(&img);
	}
	free(good);
	free(bad);
	h_destroy(&c);
	remove_dir(dir);
}

/* A node restarts from its file: same VMs, and its own view of the nodes
 * that were members counts them as departed until its first sync. After
 * rejoining, it is identical to the others. */
static void test_restart_from_disk(void **state)
{
	struct h_cluster c;
	struct vmh_reg_image img;
	enum vmh_regstore_fault f;
	char *dir = make_dir();
	struct vmh_msg m = { .type = VMH_MSG_RELEASE, .expect = 1 };

	(void)state;
	busy_cluster(&c);
	assert_int_equal(vmh_regstore_save(dir, vmh_reg_image(c.reg[0])), 0);
	vmh_reg_free(c.reg[0]);
	c.reg[0] = vmh_reg_new(1, 3);
	assert_int_equal(vmh_regstore_load(dir, &img, &f), 0);
	assert_int_equal(vmh_reg_load(c.reg[0], &img), 0);
	vmh_reg_image_free(&img);
	assert_int_equal(vmh_reg_vm_count(c.reg[0]), 2);
	assert_int_equal(vmh_reg_config(c.reg[0]), vmh_reg_config(c.reg[1]));
	for (size_t i = 0; i < 2; i++) {
		struct vmh_vm_info v;
		const struct vmh_vm_info *w = vmh_reg_vm_at(c.reg[0], i);

		assert_int_equal(vmh_reg_vm(c.reg[1], w->name, &v), 0);
		assert_int_equal(v.epoch, w->epoch);
		assert_int_equal(v.owner, w->owner);
		assert_memory_equal(v.digest, w->digest, 32);
	}
	assert_false(vmh_reg_in_config(c.reg[0]));
	assert_false(vmh_reg_may_run(c.reg[0], "vm1", 1));
	/* Rejoin: the group {1,2} goes through a change (1 leaves and comes
	 * back), then everything goes on. */
	h_split(&c, 0x2, 0x1, 0x4, 0);
	h_run_all(&c);
	h_split(&c, 0x3, 0, 0x4, 0);
	h_run_all(&c);
	assert_string_equal(c.fail, "");
	assert_true(vmh_reg_equal(c.reg[0], c.reg[1]));
	assert_true(vmh_reg_may_run(c.reg[0], "vm1", 1));
	snprintf(m.vm, sizeof(m.vm), "vm1");
	m.config = vmh_reg_config(c.reg[0]);
	h_send(&c, 1, &m);
	h_run_all(&c);
	assert_int_equal(c.last, VMH_REG_OK);
	/* Loading into a registry in use is refused. */
	assert_int_equal(vmh_regstore_load(dir, &img, &f), 0);
	assert_int_equal(vmh_reg_load(c.reg[1], &img), -EBUSY);
	vmh_reg_image_free(&img);
	h_destroy(&c);
	remove_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_damaged_files),
		cmocka_unit_test(test_restart_from_disk),
	};

	return cmocka_run_group_tests_name("registry_store", tests, NULL, NULL);
}
