/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The libvirt layer against libvirt's test driver (test:///default: one
 * running domain called "test"): states, paused reasons, and waits woken
 * by lifecycle events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmh_time.h"
#include "vmh_virt.h"

static bool is_paused(const struct vmh_dom_status *st)
{
	return st->state == VMH_DOM_PAUSED;
}

static bool is_running(const struct vmh_dom_status *st)
{
	return st->state == VMH_DOM_RUNNING;
}

static void test_states(void **state)
{
	vmh_virt_t *v;
	struct vmh_dom_status st;
	virDomainPtr dom;

	(void)state;
	assert_int_equal(vmh_virt_open("test:///default", &v), 0);
	assert_int_equal(vmh_virt_dom_status(v, "test", &st), 0);
	assert_int_equal(st.state, VMH_DOM_RUNNING);
	assert_int_equal(vmh_virt_dom_status(v, "no-such-domain", &st), 0);
	assert_int_equal(st.state, VMH_DOM_MISSING);

	dom = virDomainLookupByName(vmh_virt_conn(v), "test");
	assert_non_null(dom);
	assert_int_equal(virDomainSuspend(dom), 0);
	assert_int_equal(vmh_virt_wait(v, "test", is_paused, vmh_now_ms() + 5000, &st), 0);
	assert_int_equal(st.reason, VIR_DOMAIN_PAUSED_USER);
	assert_string_equal(vmh_dom_paused_reason_name(st.reason), "paused by a user");
	assert_int_equal(virDomainResume(dom), 0);
	assert_int_equal(vmh_virt_wait(v, "test", is_running, vmh_now_ms() + 5000, &st), 0);

	/* A wait that cannot be satisfied ends at its deadline. */
	int64_t t0 = vmh_now_ms();
	assert_int_equal(vmh_virt_wait(v, "test", is_paused, vmh_now_ms() + 300, &st), -110);
	assert_true(vmh_now_ms() - t0 >= 290);

	assert_int_equal(virDomainDestroy(dom), 0);
	assert_int_equal(vmh_virt_dom_status(v, "test", &st), 0);
	assert_int_equal(st.state, VMH_DOM_SHUTOFF);
	virDomainFree(dom);
	vmh_virt_close(v);
}

static void test_open_failure(void **state)
{
	vmh_virt_t *v = NULL;

	(void)state;
	assert_int_equal(vmh_virt_open("test:///nonexistent/file.xml", &v), -5);
	assert_null(v);
	assert_non_null(vmh_virt_error());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_open_failure),
	};

	return cmocka_run_group_tests_name("virt", tests, NULL, NULL);
}
