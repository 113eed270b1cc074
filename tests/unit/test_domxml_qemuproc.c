/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Domain XML reading (including hostile input) and finding a domain's QEMU
 * process from a /proc-like tree. */
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

#include "vmh_domxml.h"
#include "vmh_qemuproc.h"

static int parse(const char *xml, struct vmh_domxml *d)
{
	return vmh_domxml_parse(xml, strlen(xml), d);
}

static void test_domxml_good(void **state)
{
	struct vmh_domxml d;
	const char *xml = "<domain type='kvm'><name>vm1</name>"
		"<uuid>6f1a0c8e-0000-4000-8000-000000000001</uuid>"
		"<memory unit='MiB'>512</memory><vcpu>2</vcpu>"
		"<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>";

	(void)state;
	assert_int_equal(parse(xml, &d), 0);
	assert_string_equal(d.name, "vm1");
	assert_string_equal(d.uuid, "6f1a0c8e-0000-4000-8000-000000000001");
	assert_string_equal(d.emulator, "/usr/bin/qemu-system-x86_64");
	assert_int_equal(d.vcpus, 2);
	assert_int_equal(d.memory_kib, 512 * 1024);
	vmh_domxml_free(&d);
	assert_int_equal(parse("<domain><name>v</name><memory>1048576</memory></domain>", &d), 0);
	assert_int_equal(d.memory_kib, 1048576);
	assert_null(d.uuid);
	vmh_domxml_free(&d);
}

static void test_domxml_bad(void **state)
{
	struct vmh_domxml d;
	char *huge;

	(void)state;
	assert_int_equal(parse("", &d), -22);
	assert_int_equal(parse("<domain><name>vm1</name>", &d), -22);	/* truncated */
	assert_int_equal(parse("<network><name>n</name></network>", &d), -22);
	assert_int_equal(parse("<domain><uuid>x</uuid></domain>", &d), -22);	/* no name */
	assert_int_equal(parse("<domain><name>a/b</name></domain>", &d), -22);
	assert_int_equal(parse("<domain><name>a&#10;b</name></domain>", &d), -22);
	/* An external entity is neither fetched nor expanded. */
	assert_int_equal(parse("<!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
			       "<domain><name>&x;</name></domain>", &d), -22);
	huge = malloc(VMH_DOMXML_MAX_BYTES + 2);
	assert_non_null(huge);
	memset(huge, ' ', VMH_DOMXML_MAX_BYTES + 1);
	huge[VMH_DOMXML_MAX_BYTES + 1] = '\0';
	assert_int_equal(vmh_domxml_parse(huge, VMH_DOMXML_MAX_BYTES + 1, &d), -27);
	free(huge);
	assert_int_equal(vmh_domxml_load("/nonexistent/vm.xml", &d), -2);
}


static bool match(const char *const *argv, const char *name, const char *uuid)
{
	char buf[1024];
	size_t len = 0;

	for (size_t i = 0; argv[i]; i++) {
		size_t n = strlen(argv[i]) + 1;

		assert_true(len + n <= sizeof(buf));
		memcpy(buf + len, argv[i], n);
		len += n;
	}
	return vmh_qemuproc_cmdline_matches(buf, len, name, uuid);
}

static void test_cmdline_match(void **state)
{
	const char *libvirt[] = { "/usr/bin/qemu-system-x86_64", "-name", "guest=vm1,debug-threads=on",
				  "-S", NULL };
	const char *comma[] = { "/usr/bin/qemu-system-x86_64", "-name", "guest=a,,b,debug-threads=on", NULL };
	const char *plain[] = { "qemu-kvm", "-name", "vm1", NULL };
	const char *uuid[] = { "/usr/bin/qemu-system-x86_64", "-uuid", "6f1a0c8e-0000-4000-8000-000000000001", NULL };
	const char *other[] = { "/usr/bin/bash", "-name", "guest=vm1", NULL };

	(void)state;
	assert_true(match(libvirt, "vm1", NULL));
	assert_false(match(libvirt, "vm", NULL));
	assert_false(match(libvirt, "vm10", NULL));
	assert_true(match(comma, "a,b", NULL));
	assert_false(match(comma, "a", NULL));
	assert_true(match(plain, "vm1", NULL));
	assert_true(match(uuid, "zzz", "6F1A0C8E-0000-4000-8000-000000000001"));
	assert_false(match(other, "vm1", NULL));
}

static void write_proc(const char *root, const char *pid, const char *const *argv)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/cmdline", root, pid);
	f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; argv[i]; i++)
		fwrite(argv[i], 1, strlen(argv[i]) + 1, f);
	fclose(f);
}

static void remove_proc(const char *root, const char *pid)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s/cmdline", root, pid);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", root, pid);
	rmdir(path);
}

static void test_proc_scan(void **state)
{
	char root[] = "/tmp/vmh-proc-XXXXXX";
	const char *q1[] = { "/usr/bin/qemu-system-x86_64", "-name", "guest=vm1,debug-threads=on", NULL };
	const char *sh[] = { "/bin/sh", "-c", "sleep", NULL };
	pid_t pid = 0;

	(void)state;
	assert_non_null(mkdtemp(root));
	write_proc(root, "42", sh);
	assert_int_equal(vmh_qemuproc_any(root), 0);
	assert_int_equal(vmh_qemuproc_find(root, "vm1", NULL, &pid), 0);
	write_proc(root, "4242", q1);
	assert_int_equal(vmh_qemuproc_find(root, "vm1", NULL, &pid), 1);
	assert_int_equal(pid, 4242);
	assert_int_equal(vmh_qemuproc_find(root, "vm2", NULL, &pid), 0);
	assert_int_equal(vmh_qemuproc_any(root), 1);
	assert_true(vmh_qemuproc_find("/nonexistent-proc", "vm1", NULL, &pid) < 0);
	remove_proc(root, "42");
	remove_proc(root, "4242");
	rmdir(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domxml_good),
		cmocka_unit_test(test_domxml_bad),
		cmocka_unit_test(test_cmdline_match),
		cmocka_unit_test(test_proc_scan),
	};

	return cmocka_run_group_tests_name("domxml_qemuproc", tests, NULL, NULL);
}
