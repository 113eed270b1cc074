/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration history (vmh_history, vmh_hist_entry): the entry's one
 * encoding (exact bytes, every rule of the decoder, what it accepts
 * re-encodes to the same bytes), the store (open/end, order, the bounds
 * per VM and in all, the figures merged from the destination), and the
 * file (round trip; every kind of damage refused, nothing returned).
 */
#include <errno.h>
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

#include "vmh_history.h"
#include "vmh_sha256.h"

/* A committed handoff of vm between nodes 1 and 2, with every figure. */
static struct vmh_hist_entry committed(const char *vm, uint64_t start_ms, uint64_t begin)
{
	struct vmh_hist_entry e = {
		.outcome = VMH_HIST_COMMITTED, .src = 1, .dst = 2, .owner_after = 2,
		.begin_epoch = begin, .end_epoch = begin + 1, .start_ms = start_ms,
		.duration_ms = 620, .flags = VMH_HIST_F_FIGURES, .bytes = 9334784, .job_ms = 992,
		.downtime_ms = 17, .resume_us = 1234,
	};

	snprintf(e.vm, sizeof(e.vm), "%s", vm);
	return e;
}

static struct vmh_hist_entry open_entry(const char *vm, uint64_t start_ms, uint64_t begin)
{
	struct vmh_hist_entry e = { .outcome = VMH_HIST_MIGRATING, .src = 1, .dst = 2,
				    .begin_epoch = begin, .start_ms = start_ms };

	snprintf(e.vm, sizeof(e.vm), "%s", vm);
	return e;
}

static void encode(const struct vmh_hist_entry *e, uint8_t out[VMH_HIST_ENTRY_LEN])
{
	struct vmh_bw w = { .p = out, .cap = VMH_HIST_ENTRY_LEN };

	vmh_hist_put_entry(&w, e);
	assert_int_equal(w.pos, VMH_HIST_ENTRY_LEN);
}

static bool decode(const uint8_t *buf, size_t len, struct vmh_hist_entry *e)
{
	struct vmh_br r = { .p = buf, .len = len };

	return vmh_hist_get_entry(&r, e) && r.pos == r.len;
}

static void assert_entry_equal(const struct vmh_hist_entry *a, const struct vmh_hist_entry *b)
{
	assert_string_equal(a->vm, b->vm);
	assert_int_equal(a->outcome, b->outcome);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->src, b->src);
	assert_int_equal(a->dst, b->dst);
	assert_int_equal(a->owner_after, b->owner_after);
	assert_int_equal(a->begin_epoch, b->begin_epoch);
	assert_int_equal(a->end_epoch, b->end_epoch);
	assert_int_equal(a->start_ms, b->start_ms);
	assert_int_equal(a->duration_ms, b->duration_ms);
	assert_int_equal(a->bytes, b->bytes);
	assert_int_equal(a->job_ms, b->job_ms);
	assert_int_equal(a->downtime_ms, b->downtime_ms);
	assert_int_equal(a->resume_us, b->resume_us);
}

/* ---- the entry ---------------------------------------------------------- */

static void test_entry_layout(void **state)
{
	struct vmh_hist_entry e = committed("vm1", 0x0102030405060708ull, 5), back;
	uint8_t buf[VMH_HIST_ENTRY_LEN];

	(void)state;
	e.flags |= VMH_HIST_F_LATE;
	encode(&e, buf);
	/* the offsets of vmh_hist_entry.h */
	assert_int_equal(buf[0], 3);
	assert_int_equal(buf[1], VMH_HIST_COMMITTED);
	assert_int_equal(buf[2], VMH_HIST_F_ALL);
	assert_int_equal(buf[3], 0);
	assert_int_equal(buf[4], 1);
	assert_int_equal(buf[8], 2);
	assert_int_equal(buf[12], 2);
	assert_int_equal(buf[16], 5);
	assert_int_equal(buf[24], 6);
	assert_int_equal(buf[32], 0x08);
	assert_int_equal(buf[39], 0x01);
	assert_int_equal(buf[40] | buf[41] << 8, 620);
	assert_int_equal(buf[72] | buf[73] << 8, 1234);
	assert_memory_equal(buf + 80, "vm1", 3);
	for (size_t i = 83; i < VMH_HIST_ENTRY_LEN; i++)
		assert_int_equal(buf[i], 0);
	assert_true(decode(buf, sizeof(buf), &back));
	assert_entry_equal(&e, &back);
	/* a name of the full 64 bytes */
	memset(e.vm, 'n', VMH_REG_NAME_MAX);
	e.vm[VMH_REG_NAME_MAX] = '\0';
	encode(&e, buf);
	assert_true(decode(buf, sizeof(buf), &back));
	assert_entry_equal(&e, &back);
	/* too short or too long a buffer */
	assert_false(decode(buf, sizeof(buf) - 1, &back));
}

/* Every rule of vmh_hist_entry_ok, each broken alone. */
static void test_entry_rules(void **state)
{
	struct vmh_hist_entry good = committed("vm1", 1000, 5), e;

	(void)state;
	assert_true(vmh_hist_entry_ok(&good));
	e = open_entry("vm1", 1000, 5);
	assert_true(vmh_hist_entry_ok(&e));
#define BROKEN(base, change) do { e = (base); change; assert_false(vmh_hist_entry_ok(&e)); } while (0)
	BROKEN(good, e.vm[0] = '\0');
	BROKEN(good, snprintf(e.vm, sizeof(e.vm), "a/b"));
	BROKEN(good, e.vm[1] = '\n');
	BROKEN(good, e.outcome = VMH_HIST_OUTCOME_MAX + 1);
	BROKEN(good, e.flags |= 0x20);
	BROKEN(good, e.src = 0);
	BROKEN(good, e.dst = 0);
	BROKEN(good, e.dst = e.src);
	BROKEN(good, e.begin_epoch = 0);
	BROKEN(good, e.start_ms = 0);
	BROKEN(good, e.end_epoch = e.begin_epoch);
	BROKEN(good, e.owner_after = 1);
	BROKEN(good, (e.flags &= (uint8_t)~VMH_HIST_F_BYTES));
	BROKEN(good, (e.flags &= (uint8_t)~VMH_HIST_F_JOB));
	BROKEN(good, (e.flags &= (uint8_t)~VMH_HIST_F_DOWNTIME));
	BROKEN(good, (e.flags &= (uint8_t)~VMH_HIST_F_RESUME));
	BROKEN(good, (e.outcome = VMH_HIST_ABORTED, e.owner_after = 2));
	BROKEN(good, (e.outcome = VMH_HIST_TAKEN_OVER, e.owner_after = 1));
	BROKEN(good, (e.outcome = VMH_HIST_TAKEN_OVER, e.owner_after = 0));
	BROKEN(open_entry("vm1", 1000, 5), e.end_epoch = 6);
	BROKEN(open_entry("vm1", 1000, 5), e.duration_ms = 1);
	BROKEN(open_entry("vm1", 1000, 5), e.owner_after = 2);
	BROKEN(open_entry("vm1", 1000, 5), (e.flags = VMH_HIST_F_BYTES, e.bytes = 1));
#undef BROKEN
	/* what is fine: a known zero figure, any owner of an unknown end,
	 * a late flag on an open entry */
	e = good;
	e.downtime_ms = 0;
	assert_true(vmh_hist_entry_ok(&e));
	e = good;
	e.outcome = VMH_HIST_UNKNOWN;
	e.owner_after = 0;
	assert_true(vmh_hist_entry_ok(&e));
	e.owner_after = 7;
	assert_true(vmh_hist_entry_ok(&e));
	e = open_entry("vm1", 1000, 5);
	e.flags = VMH_HIST_F_LATE;
	assert_true(vmh_hist_entry_ok(&e));
	for (int o = 0; o <= VMH_HIST_OUTCOME_MAX; o++)
		assert_string_not_equal(vmh_hist_outcome_str((enum vmh_hist_outcome)o), "?");
}

/* Bytes the decoder must refuse: reserved, padding, lengths, NUL. */
static void test_entry_rejects(void **state)
{
	struct vmh_hist_entry e = committed("vm1", 1000, 5), back;
	uint8_t good[VMH_HIST_ENTRY_LEN], buf[VMH_HIST_ENTRY_LEN];
	unsigned accepted = 0;

	(void)state;
	encode(&e, good);
#define REFUSED(change) do { memcpy(buf, good, sizeof(buf)); change; \
	assert_false(decode(buf, sizeof(buf), &back)); } while (0)
	REFUSED(buf[3] = 1);			/* reserved */
	REFUSED(buf[80 + 3] = 'x');		/* padding after the name */
	REFUSED(buf[VMH_HIST_ENTRY_LEN - 1] = 1);
	REFUSED(buf[0] = 0);			/* name length */
	REFUSED(buf[0] = 65);
	REFUSED(buf[0] = 4);			/* longer than the name: a NUL in it */
	REFUSED(buf[81] = '\0');
	REFUSED(buf[1] = 9);			/* outcome */
	REFUSED(buf[2] = 0x40);			/* flags */
	REFUSED(buf[4] = 0);			/* src */
#undef REFUSED
	/* Every single bit flip: refused, or accepted and then canonical. */
	for (size_t i = 0; i < sizeof(good); i++)
		for (int bit = 0; bit < 8; bit++) {
			uint8_t again[VMH_HIST_ENTRY_LEN];

			memcpy(buf, good, sizeof(buf));
			buf[i] ^= (uint8_t)(1u << bit);
			if (!decode(buf, sizeof(buf), &back))
				continue;
			accepted++;
			encode(&back, again);
			assert_memory_equal(buf, again, sizeof(buf));
		}
	print_message("entry bit flips: %u of %zu still decode (values)\n", accepted,
		      sizeof(good) * 8);
	assert_true(accepted > 0 && accepted < sizeof(good) * 8);
}

/* ---- the store ---------------------------------------------------------- */

static void test_open_end(void **state)
{
	struct vmh_history h;
	struct vmh_hist_entry e = open_entry("vm1", 1000, 5), out[4];

	(void)state;
	vmh_hist_init(&h);
	assert_null(vmh_hist_open(&h, "vm1"));
	assert_int_equal(vmh_hist_end(&h, "vm1", VMH_HIST_COMMITTED, 2, 6, 10, false), -ENOENT);
	assert_int_equal(vmh_hist_add(&h, &e), 0);
	assert_non_null(vmh_hist_open(&h, "vm1"));
	assert_null(vmh_hist_open(&h, "vm2"));
	assert_int_equal(vmh_hist_add(&h, &e), -EEXIST);	/* one open entry per VM */
	/* an end the rules refuse changes nothing */
	assert_int_equal(vmh_hist_end(&h, "vm1", VMH_HIST_COMMITTED, 1, 6, 10, false), -EINVAL);
	assert_int_equal(vmh_hist_end(&h, "vm1", VMH_HIST_COMMITTED, 2, 5, 10, false), -EINVAL);
	assert_int_equal(vmh_hist_end(&h, "vm1", VMH_HIST_MIGRATING, 0, 0, 0, false), -EINVAL);
	assert_non_null(vmh_hist_open(&h, "vm1"));
	assert_int_equal(vmh_hist_end(&h, "vm1", VMH_HIST_ABORTED, 1, 7, 250, true), 0);
	assert_null(vmh_hist_open(&h, "vm1"));
	assert_int_equal(vmh_hist_find(&h, "vm1", out, 4), 1);
	assert_int_equal(out[0].outcome, VMH_HIST_ABORTED);
	assert_int_equal(out[0].owner_after, 1);
	assert_int_equal(out[0].end_epoch, 7);
	assert_int_equal(out[0].duration_ms, 250);
	assert_int_equal(out[0].flags, VMH_HIST_F_LATE);
	/* the next handoff of the same VM */
	e = open_entry("vm1", 2000, 8);
	assert_int_equal(vmh_hist_add(&h, &e), 0);
	assert_int_equal(vmh_hist_end(&h, "vm1", VMH_HIST_TAKEN_OVER, 3, 9, 5, false), 0);
	assert_int_equal(vmh_hist_find(&h, "vm1", out, 4), 2);
	assert_int_equal(out[1].outcome, VMH_HIST_TAKEN_OVER);
	assert_int_equal(out[1].owner_after, 3);
	/* invalid entries are not added */
	e.src = 0;
	assert_int_equal(vmh_hist_add(&h, &e), -EINVAL);
	vmh_hist_free(&h);
}

static void test_order_and_bounds(void **state)
{
	struct vmh_history h;
	struct vmh_hist_entry e, out[VMH_HIST_PER_VM + 8];
	char name[16];
	size_t n;

	(void)state;
	vmh_hist_init(&h);
	/* in start order whatever order they come in (a merged entry may be
	 * older than the newest) */
	e = committed("a", 3000, 30);
	assert_int_equal(vmh_hist_add(&h, &e), 0);
	e = committed("b", 1000, 10);
	assert_int_equal(vmh_hist_add(&h, &e), 0);
	e = committed("a", 2000, 20);
	assert_int_equal(vmh_hist_add(&h, &e), 0);
	assert_int_equal(h.n, 3);
	assert_int_equal(h.e[0].start_ms, 1000);
	assert_int_equal(h.e[1].start_ms, 2000);
	assert_int_equal(h.e[2].start_ms, 3000);
	assert_int_equal(vmh_hist_find(&h, "a", out, 8), 2);
	assert_int_equal(out[0].start_ms, 2000);
	assert_int_equal(out[1].start_ms, 3000);
	/* find: the LAST max entries, oldest first */
	assert_int_equal(vmh_hist_find(&h, "a", out, 1), 1);
	assert_int_equal(out[0].start_ms, 3000);
	assert_int_equal(vmh_hist_find(&h, "nosuch", out, 8), 0);
	vmh_hist_free(&h);

	/* per VM: the oldest of that VM go, the others stay */
	vmh_hist_init(&h);
	e = committed("other", 1, 1);
	assert_int_equal(vmh_hist_add(&h, &e), 0);
	for (unsigned i = 0; i < VMH_HIST_PER_VM + 8; i++) {
		e = committed("vm1", 100 + i, 10 + 2 * i);
		assert_int_equal(vmh_hist_add(&h, &e), 0);
	}
	n = vmh_hist_find(&h, "vm1", out, VMH_HIST_PER_VM + 8);
	assert_int_equal(n, VMH_HIST_PER_VM);
	assert_int_equal(out[0].start_ms, 100 + 8);
	assert_int_equal(out[n - 1].start_ms, 100 + VMH_HIST_PER_VM + 7);
	assert_int_equal(vmh_hist_find(&h, "other", out, 4), 1);
	vmh_hist_free(&h);

	/* in all: the oldest of anyone go */
	vmh_hist_init(&h);
	for (unsigned i = 0; i < VMH_HIST_MAX + 50; i++) {
		snprintf(name, sizeof(name), "vm%u", i % 100);
		e = committed(name, 1000 + i, 1 + i);
		assert_int_equal(vmh_hist_add(&h, &e), 0);
	}
	assert_int_equal(h.n, VMH_HIST_MAX);
	assert_int_equal(h.e[0].start_ms, 1000 + 50);
	assert_int_equal(h.e[h.n - 1].start_ms, 1000 + VMH_HIST_MAX + 49);
	vmh_hist_free(&h);
}

static void test_merge(void **state)
{
	struct vmh_history h;
	struct vmh_hist_entry local = committed("vm1", 1000, 5), figures = local, out[4];

	(void)state;
	vmh_hist_init(&h);
	/* this node's entry, without figures */
	local.flags = 0;
	local.bytes = local.job_ms = local.downtime_ms = local.resume_us = 0;
	local.start_ms = 1003;		/* its own clock */
	local.duration_ms = 611;
	assert_int_equal(vmh_hist_add(&h, &local), 0);
	/* the destination's: figures in, the local times stay */
	assert_int_equal(vmh_hist_merge(&h, &figures), 1);
	assert_int_equal(vmh_hist_find(&h, "vm1", out, 4), 1);
	assert_int_equal(out[0].flags, VMH_HIST_F_FIGURES);
	assert_int_equal(out[0].bytes, figures.bytes);
	assert_int_equal(out[0].resume_us, figures.resume_us);
	assert_int_equal(out[0].start_ms, 1003);
	assert_int_equal(out[0].duration_ms, 611);
	/* the same again (our own delivery of what we sent): nothing */
	assert_int_equal(vmh_hist_merge(&h, &figures), 0);
	/* matched by the end epoch when the begin was learned late here */
	figures.begin_epoch = 4;
	figures.bytes = 1;
	assert_int_equal(vmh_hist_merge(&h, &figures), 1);
	assert_int_equal(vmh_hist_find(&h, "vm1", out, 4), 1);
	assert_int_equal(out[0].bytes, 1);
	/* only the figures the sender knows */
	figures = committed("vm1", 1000, 5);
	figures.flags = VMH_HIST_F_RESUME;
	figures.bytes = figures.job_ms = figures.downtime_ms = 0;
	figures.resume_us = 99;
	assert_int_equal(vmh_hist_merge(&h, &figures), 1);
	assert_int_equal(vmh_hist_find(&h, "vm1", out, 4), 1);
	assert_int_equal(out[0].bytes, 1);
	assert_int_equal(out[0].resume_us, 99);
	/* another handoff this node did not see: added as it came */
	figures = committed("vm1", 5000, 9);
	assert_int_equal(vmh_hist_merge(&h, &figures), 2);
	assert_int_equal(vmh_hist_find(&h, "vm1", out, 4), 2);
	assert_entry_equal(&out[1], &figures);
	/* between other nodes: not the same handoff */
	figures = committed("vm1", 1000, 5);
	figures.src = 3;
	assert_int_equal(vmh_hist_merge(&h, &figures), 2);
	/* an entry still open here: its end comes first */
	local = open_entry("vm2", 1000, 5);
	assert_int_equal(vmh_hist_add(&h, &local), 0);
	figures = committed("vm2", 1000, 5);
	assert_int_equal(vmh_hist_merge(&h, &figures), 0);
	assert_non_null(vmh_hist_open(&h, "vm2"));
	/* figures of a handoff still migrating, or invalid */
	assert_int_equal(vmh_hist_merge(&h, &local), 0);
	figures.dst = 0;
	assert_int_equal(vmh_hist_merge(&h, &figures), -EINVAL);
	vmh_hist_free(&h);
}

/* ---- the file ----------------------------------------------------------- */

static char dir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vmh-hist-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/%s", dir, VMH_HIST_FILE);
	unlink(p);
	return rmdir(dir);
}

static void file_bytes(uint8_t **buf, size_t *len)
{
	char p[128];
	FILE *f;
	long n;

	snprintf(p, sizeof(p), "%s/%s", dir, VMH_HIST_FILE);
	f = fopen(p, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	*buf = malloc((size_t)n);
	assert_non_null(*buf);
	assert_int_equal(fread(*buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
}

static void write_file(const uint8_t *buf, size_t len)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, VMH_HIST_FILE);
	f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* The body changed on purpose, its checksum made right again: only the
 * content checks can refuse it. */
static void reseal(uint8_t *buf, size_t len)
{
	vmh_sha256(buf + 56, len - 56, buf + 24);
}

static void test_file(void **state)
{
	struct vmh_history h, back;
	struct vmh_hist_entry e;
	const char *why;
	uint8_t *good, *buf;
	size_t len;

	(void)state;
	vmh_hist_init(&h);
	vmh_hist_init(&back);
	/* none yet */
	assert_int_equal(vmh_hist_load(dir, &back, &why), -ENOENT);
	/* an empty history round-trips too */
	assert_int_equal(vmh_hist_save(dir, &h), 0);
	assert_int_equal(vmh_hist_load(dir, &back, &why), 0);
	assert_int_equal(back.n, 0);
	e = committed("vm1", 1000, 5);
	assert_int_equal(vmh_hist_add(&h, &e), 0);
	e = committed("web \"2\"", 2000, 3);
	e.outcome = VMH_HIST_TAKEN_OVER;
	e.owner_after = 3;
	e.flags = VMH_HIST_F_LATE;
	e.bytes = e.job_ms = e.downtime_ms = e.resume_us = 0;
	assert_int_equal(vmh_hist_add(&h, &e), 0);
	e = open_entry("vm1", 3000, 7);
	assert_int_equal(vmh_hist_add(&h, &e), 0);
	assert_int_equal(vmh_hist_save(dir, &h), 0);
	assert_int_equal(vmh_hist_load(dir, &back, &why), 0);
	assert_int_equal(back.n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_entry_equal(&h.e[i], &back.e[i]);
	assert_non_null(vmh_hist_open(&back, "vm1"));
	{
		struct stat st;
		char p[128];

		snprintf(p, sizeof(p), "%s/%s", dir, VMH_HIST_FILE);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		assert_int_equal(st.st_size, 56 + 3 * VMH_HIST_ENTRY_LEN);
	}
	file_bytes(&good, &len);
	buf = malloc(len + 1);
	assert_non_null(buf);

	/* each kind of damage: -EBADMSG, the reason, nothing returned */
#define DAMAGED(flen, change, reason) do { memcpy(buf, good, len); change; write_file(buf, flen); \
	assert_int_equal(vmh_hist_load(dir, &back, &why), -EBADMSG); \
	assert_string_equal(why, reason); assert_int_equal(back.n, 0); \
	assert_null(back.e); } while (0)
	DAMAGED(len, buf[0] = 'X', "not a history file (bad magic)");
	DAMAGED(40, (void)0, "truncated header");
	DAMAGED(len, buf[8] = 2, "unsupported file version");
	DAMAGED(len, buf[10] = 1, "unsupported file version");
	DAMAGED(len, buf[12] = 4, "lengths do not agree");
	DAMAGED(len - 1, (void)0, "lengths do not agree");
	DAMAGED(len + 1, buf[len] = 0, "lengths do not agree");
	DAMAGED(len, buf[100] ^= 1, "checksum mismatch");
	DAMAGED(len, buf[24] ^= 1, "checksum mismatch");
	/* content the checksum vouches for, but that we never write */
	DAMAGED(len, (buf[56 + 3] = 1, reseal(buf, len)), "an invalid entry");
	DAMAGED(len, (memcpy(buf + 56, good + 56 + VMH_HIST_ENTRY_LEN, VMH_HIST_ENTRY_LEN),
		      memcpy(buf + 56 + VMH_HIST_ENTRY_LEN, good + 56, VMH_HIST_ENTRY_LEN),
		      reseal(buf, len)), "entries out of order");
	{
		/* two open entries of one VM */
		struct vmh_history two;

		vmh_hist_init(&two);
		e = open_entry("vm1", 1000, 5);
		assert_int_equal(vmh_hist_add(&two, &e), 0);
		e.vm[0] = 'x';
		assert_int_equal(vmh_hist_add(&two, &e), 0);
		assert_int_equal(vmh_hist_save(dir, &two), 0);
		vmh_hist_free(&two);
		free(good);
		file_bytes(&good, &len);
		DAMAGED(len, (buf[56 + VMH_HIST_ENTRY_LEN + 80] = 'v', reseal(buf, len)),
			"two open entries of one VM");
	}
	{
		/* more entries of one VM than the bound: never written so */
		struct vmh_history many;
		uint8_t *big;
		size_t big_len, n = VMH_HIST_PER_VM + 1;

		vmh_hist_init(&many);
		for (size_t i = 0; i < n; i++) {
			e = committed(i ? "a" : "b", 1000 + i, 1 + 2 * i);
			assert_int_equal(vmh_hist_add(&many, &e), 0);
		}
		assert_int_equal(vmh_hist_save(dir, &many), 0);
		vmh_hist_free(&many);
		file_bytes(&big, &big_len);
		big[56 + 80] = 'a';	/* the first one becomes vm a's 33rd */
		reseal(big, big_len);
		write_file(big, big_len);
		assert_int_equal(vmh_hist_load(dir, &back, &why), -EBADMSG);
		assert_string_equal(why, "more entries than the bounds allow");
		free(big);
	}
#undef DAMAGED
	/* not a regular file */
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/%s", dir, VMH_HIST_FILE);
		unlink(p);
		assert_int_equal(mkdir(p, 0700), 0);
		assert_true(vmh_hist_load(dir, &back, &why) < 0);
		assert_int_equal(back.n, 0);
		rmdir(p);
	}
	free(buf);
	free(good);
	vmh_hist_free(&h);
	vmh_hist_free(&back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_layout),
		cmocka_unit_test(test_entry_rules),
		cmocka_unit_test(test_entry_rejects),
		cmocka_unit_test(test_open_end),
		cmocka_unit_test(test_order_and_bounds),
		cmocka_unit_test(test_merge),
		cmocka_unit_test_setup_teardown(test_file, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests_name("history", tests, NULL, NULL);
}
