/* SPDX-License-Identifier: GPL-2.0-or-later */
/* URI building as VirtualDomain does it, and the CIDR rules of the
 * dedicated link. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "vmh_uri.h"

static void check_str(char *got, const char *want)
{
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_remote_uri(void **state)
{
	(void)state;
	check_str(vmh_uri_remote("qemu:///system", "tcp", NULL, "node2"), "qemu+tcp://node2/system");
	check_str(vmh_uri_remote("qemu:///system", NULL, NULL, "node2"), "qemu://node2/system");
	check_str(vmh_uri_remote("qemu:///system", "ssh", "root", "node2"), "qemu+ssh://root@node2/system");
	check_str(vmh_uri_remote("qemu://node1:16509/system", "tcp", NULL, "node2"),
		  "qemu+tcp://node2:16509/system");
	check_str(vmh_uri_remote("qemu+unix:///system", "tcp", NULL, "198.18.1.12"),
		  "qemu+tcp://198.18.1.12/system");
	check_str(vmh_uri_remote("qemu:///system", "tcp", NULL, "fd00::2"), "qemu+tcp://[fd00::2]/system");
	assert_null(vmh_uri_remote("bogus", "tcp", NULL, "n"));
	assert_null(vmh_uri_remote("qemu://nopath", "tcp", NULL, "n"));
}

static void test_suffix_and_subst(void **state)
{
	(void)state;
	check_str(vmh_uri_suffixed_host("node2", "-mig"), "node2-mig");
	check_str(vmh_uri_suffixed_host("node2.example.com", "-mig"), "node2-mig.example.com");
	check_str(vmh_uri_suffixed_host("node2", NULL), "node2");
	check_str(vmh_uri_subst_node("tcp://%n:49152", "node2"), "tcp://node2:49152");
	check_str(vmh_uri_subst_node("qemu+ssh://%n/system?x=%n", "n3"), "qemu+ssh://n3/system?x=n3");
	check_str(vmh_uri_subst_node("no placeholder", "n3"), "no placeholder");
	check_str(vmh_uri_migration("198.18.1.12", 0), "tcp://198.18.1.12");
	check_str(vmh_uri_migration("198.18.1.12", 49160), "tcp://198.18.1.12:49160");
	check_str(vmh_uri_migration("fd00::2", 49160), "tcp://[fd00::2]:49160");
}

static void test_user(void **state)
{
	(void)state;
	assert_true(vmh_uri_user_ok("root"));
	assert_true(vmh_uri_user_ok("mig-user2"));
	assert_false(vmh_uri_user_ok("Root"));
	assert_false(vmh_uri_user_ok("2x"));
	assert_false(vmh_uri_user_ok("a;b"));
	assert_false(vmh_uri_user_ok(""));
}

static void test_cidr(void **state)
{
	struct vmh_cidr c;
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };

	(void)state;
	assert_int_equal(vmh_cidr_parse("198.18.1.0/24", &c), 0);
	inet_pton(AF_INET, "198.18.1.12", &in.sin_addr);
	assert_true(vmh_cidr_contains(&c, (struct sockaddr *)&in));
	inet_pton(AF_INET, "198.18.0.12", &in.sin_addr);
	assert_false(vmh_cidr_contains(&c, (struct sockaddr *)&in));
	assert_int_equal(vmh_cidr_parse("198.18.0.0/15", &c), 0);
	inet_pton(AF_INET, "198.19.255.1", &in.sin_addr);
	assert_true(vmh_cidr_contains(&c, (struct sockaddr *)&in));
	inet_pton(AF_INET, "198.20.0.1", &in.sin_addr);
	assert_false(vmh_cidr_contains(&c, (struct sockaddr *)&in));
	assert_int_equal(vmh_cidr_parse("fd00:1::/64", &c), 0);
	inet_pton(AF_INET6, "fd00:1::5", &in6.sin6_addr);
	assert_true(vmh_cidr_contains(&c, (struct sockaddr *)&in6));
	assert_false(vmh_cidr_contains(&c, (struct sockaddr *)&in));
	assert_int_not_equal(vmh_cidr_parse("198.18.1.0", &c), 0);
	assert_int_not_equal(vmh_cidr_parse("198.18.1.0/33", &c), 0);
	assert_int_not_equal(vmh_cidr_parse("198.18.1.0/x", &c), 0);
	assert_int_not_equal(vmh_cidr_parse("host/24", &c), 0);
}

static void test_resolve_literal(void **state)
{
	struct vmh_cidr c;
	char out[64];

	(void)state;
	vmh_cidr_parse("198.18.1.0/24", &c);
	assert_int_equal(vmh_resolve_in_cidr("198.18.1.13", &c, out, sizeof(out)), 0);
	assert_string_equal(out, "198.18.1.13");
	assert_int_equal(vmh_resolve_in_cidr("198.18.0.13", &c, out, sizeof(out)), -2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remote_uri),
		cmocka_unit_test(test_suffix_and_subst),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_resolve_literal),
	};

	return cmocka_run_group_tests_name("uri", tests, NULL, NULL);
}
