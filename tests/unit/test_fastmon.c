/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fast monitor's ticket (vmh_fastmon): it round-trips; anything but a
 * whole ticket of this version is refused; the parameter digest depends on
 * the resource's parameters and on nothing else (order, the cluster's
 * CRM_meta_*, other variables); the config identity changes when the file
 * does; the utilization text is the one the agent keeps.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmh_fastmon.h"

static struct vmh_fastmon sample(void)
{
	struct vmh_fastmon t = {
		.params = 0x0123456789abcdefull,
		.config = "/etc/libvirt/vms/vm 1.xml",
		.config_id = "2049:1835:1733:1700000000.123456789:1700000000.000000001",
		.uri = "qemu:///system",
		.socket = "/run/vmhandoff/vmhandoffd.sock",
		.util = { VMH_UTIL_SET, VMH_UTIL_REMOVE, VMH_UTIL_LEAVE },
		.domain = "vm 1",
	};

	return t;
}

static void test_roundtrip(void **state)
{
	struct vmh_fastmon t = sample(), u;
	char text[VMH_FASTMON_TEXT_MAX], again[VMH_FASTMON_TEXT_MAX];

	(void)state;
	assert_int_equal(vmh_fastmon_format(&t, text, sizeof(text)), 0);
	assert_string_equal(text, "vmhandoff-fastmon 1\n"
			    "params 0123456789abcdef\n"
			    "config /etc/libvirt/vms/vm 1.xml\n"
			    "config_id 2049:1835:1733:1700000000.123456789:1700000000.000000001\n"
			    "uri qemu:///system\n"
			    "socket /run/vmhandoff/vmhandoffd.sock\n"
			    "utilization set remove leave\n"
			    "domain vm 1\n");
	assert_int_equal(vmh_fastmon_parse(text, &u), 0);
	assert_memory_equal(&t, &u, sizeof(t));
	assert_int_equal(vmh_fastmon_format(&u, again, sizeof(again)), 0);
	assert_string_equal(text, again);
	/* too small a buffer */
	assert_int_equal(vmh_fastmon_format(&t, text, 40), -ENOSPC);
}

static void test_format_refuses(void **state)
{
	struct vmh_fastmon t;
	char text[VMH_FASTMON_TEXT_MAX];

	(void)state;
	t = sample();
	t.params = 0;
	assert_int_equal(vmh_fastmon_format(&t, text, sizeof(text)), -EINVAL);
	t = sample();
	snprintf(t.uri, sizeof(t.uri), "qemu:///system\nsocket /tmp/x");
	assert_int_equal(vmh_fastmon_format(&t, text, sizeof(text)), -EINVAL);
	t = sample();
	t.socket[0] = '\0';
	assert_int_equal(vmh_fastmon_format(&t, text, sizeof(text)), -EINVAL);
	t = sample();
	snprintf(t.domain, sizeof(t.domain), "a/b");
	assert_int_equal(vmh_fastmon_format(&t, text, sizeof(text)), -EINVAL);
	t = sample();
	t.util[1] = (enum vmh_util_mode)3;
	assert_int_equal(vmh_fastmon_format(&t, text, sizeof(text)), -EINVAL);
}

/* Each of these, made from a good ticket, is not one. */
static void test_parse_rejects(void **state)
{
	static const struct {
		const char *from, *to;
	} edits[] = {
		{ "vmhandoff-fastmon 1", "vmhandoff-fastmon 2" },
		{ "params 0123456789abcdef", "params 0123456789ABCDEF" },
		{ "params 0123456789abcdef", "params 123456789abcdef" },
		{ "params 0123456789abcdef", "params 0000000000000000" },
		{ "params 0123456789abcdef", "params 0123456789abcdefg" },
		{ "config /etc", "config_path /etc" },
		{ "uri qemu:///system\n", "uri \n" },
		{ "uri qemu:///system\n", "" },
		{ "utilization set remove leave", "utilization set remove" },
		{ "utilization set remove leave", "utilization set remove leave " },
		{ "utilization set remove leave", "utilization set  remove leave" },
		{ "utilization set remove leave", "utilization set remove keep" },
		{ "domain vm 1\n", "domain vm/1\n" },
		{ "domain vm 1\n", "domain vm 1" },
		{ "domain vm 1\n", "domain vm 1\nextra 1\n" },
		{ "socket /run", "Socket /run" },
	};
	struct vmh_fastmon t = sample(), u;
	char text[VMH_FASTMON_TEXT_MAX], bad[VMH_FASTMON_TEXT_MAX + 64];

	(void)state;
	assert_int_equal(vmh_fastmon_format(&t, text, sizeof(text)), 0);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *at = strstr(text, edits[i].from);

		assert_non_null(at);
		snprintf(bad, sizeof(bad), "%.*s%s%s", (int)(at - text), text, edits[i].to,
			 at + strlen(edits[i].from));
		assert_int_equal(vmh_fastmon_parse(bad, &u), -EINVAL);
		assert_int_equal(u.params, 0);		/* nothing half-filled */
	}
	/* lines swapped */
	{
		char *uri = strstr(text, "uri "), *sock = strstr(text, "socket ");
		char *end = strstr(sock, "\n") + 1;

		snprintf(bad, sizeof(bad), "%.*s%.*s%.*s%s", (int)(uri - text), text,
			 (int)(end - sock), sock, (int)(sock - uri), uri, end);
		assert_int_equal(vmh_fastmon_parse(bad, &u), -EINVAL);
	}
	assert_int_equal(vmh_fastmon_parse("", &u), -EINVAL);
}

static void test_digest(void **state)
{
	char *a[] = { "PATH=/bin", "OCF_RESKEY_config=/x.xml", "OCF_RESKEY_registry=true",
		      "OCF_RESKEY_CRM_meta_interval=10000", NULL };
	char *same[] = { "OCF_RESKEY_registry=true", "OCF_RESKEY_CRM_meta_timeout=20000",
			 "HA_RSCTMP=/run/x", "OCF_RESKEY_crm_feature_set=3.19.0",
			 "OCF_RESKEY_config=/x.xml", NULL };
	char *value[] = { "OCF_RESKEY_config=/x.xml", "OCF_RESKEY_registry=yes", NULL };
	char *more[] = { "OCF_RESKEY_config=/x.xml", "OCF_RESKEY_registry=true",
			 "OCF_RESKEY_bogus=1", NULL };
	char *empty[] = { "OCF_RESKEY_config=/x.xml", "OCF_RESKEY_registry=true",
			  "OCF_RESKEY_snapshot=", NULL };
	char *uri[] = { "OCF_RESKEY_config=/x.xml", "OCF_RESKEY_registry=true",
			"LIBVIRT_DEFAULT_URI=qemu:///session", NULL };
	char *split1[] = { "OCF_RESKEY_a=bc", "OCF_RESKEY_d=", NULL };
	char *split2[] = { "OCF_RESKEY_a=b", "OCF_RESKEY_cd=", NULL };
	char *none[] = { NULL };
	char **many = calloc(300, sizeof(*many));
	uint64_t d = vmh_fastmon_digest(a);

	(void)state;
	assert_non_null(many);
	assert_int_not_equal(d, 0);
	assert_int_equal(vmh_fastmon_digest(same), d);
	assert_int_not_equal(vmh_fastmon_digest(value), d);
	assert_int_not_equal(vmh_fastmon_digest(more), d);
	assert_int_not_equal(vmh_fastmon_digest(empty), d);
	assert_int_not_equal(vmh_fastmon_digest(uri), d);
	assert_int_not_equal(vmh_fastmon_digest(split1), vmh_fastmon_digest(split2));
	assert_int_not_equal(vmh_fastmon_digest(none), 0);
	assert_int_not_equal(vmh_fastmon_digest(NULL), 0);
	/* more parameters than it sorts: never a valid digest */
	for (int i = 0; i < 299; i++)
		many[i] = "OCF_RESKEY_x=1";
	assert_int_equal(vmh_fastmon_digest(many), 0);
	free(many);
}

static void test_config_id(void **state)
{
	char path[] = "/tmp/vmh-fastmon-XXXXXX", id1[VMH_FASTMON_ID_MAX + 1],
	     id2[VMH_FASTMON_ID_MAX + 1], id3[VMH_FASTMON_ID_MAX + 1];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "<domain/>", 9), 9);
	assert_int_equal(vmh_fastmon_config_id(path, id1, sizeof(id1)), 0);
	assert_int_equal(vmh_fastmon_config_id(path, id2, sizeof(id2)), 0);
	assert_string_equal(id1, id2);
	assert_int_equal(write(fd, "x", 1), 1);		/* size, mtime, ctime */
	assert_int_equal(vmh_fastmon_config_id(path, id3, sizeof(id3)), 0);
	assert_string_not_equal(id1, id3);
	close(fd);
	unlink(path);
	assert_int_equal(vmh_fastmon_config_id(path, id1, sizeof(id1)), -ENOENT);
	assert_int_equal(vmh_fastmon_config_id(NULL, id1, sizeof(id1)), -EINVAL);
	assert_int_equal(vmh_fastmon_config_id("/", id1, 4), -ENAMETOOLONG);
}

static void test_util_and_paths(void **state)
{
	const enum vmh_util_mode all[3] = { VMH_UTIL_SET, VMH_UTIL_SET, VMH_UTIL_SET };
	const enum vmh_util_mode mixed[3] = { VMH_UTIL_REMOVE, VMH_UTIL_LEAVE, VMH_UTIL_SET };
	char text[VMH_FASTMON_UTIL_TEXT_MAX], path[64];
	long long v[3];

	(void)state;
	vmh_fastmon_util_values(all, 2, 1048576 + 1023, v);	/* KiB -> MiB, down */
	vmh_fastmon_util_text(v, text, sizeof(text));
	assert_string_equal(text, "2 1024 1024\n");
	vmh_fastmon_util_values(mixed, 2, 1048576, v);
	vmh_fastmon_util_text(v, text, sizeof(text));
	assert_string_equal(text, "-1 0 1024\n");
	assert_int_equal(vmh_fastmon_path(NULL, "vm1", "fastmon", path, sizeof(path)), 0);
	assert_string_equal(path, "/run/resource-agents/vmhandoff/vm1.fastmon");
	assert_int_equal(vmh_fastmon_path("", "vm1", "x", path, sizeof(path)), 0);
	assert_string_equal(path, "/run/resource-agents/vmhandoff/vm1.x");
	assert_int_equal(vmh_fastmon_path("/tmp/r", "vm:0", "utilization", path, sizeof(path)), 0);
	assert_string_equal(path, "/tmp/r/vmhandoff/vm:0.utilization");
	assert_int_equal(vmh_fastmon_path("/tmp/r", "vm1", "utilization", path, 20), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_format_refuses),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_config_id),
		cmocka_unit_test(test_util_and_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
