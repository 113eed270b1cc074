/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The registry's rules, scripted (one configuration at a time, plus the
 * departures a takeover needs): every scenario runs on several replicas
 * through the simulated CPG of test_registry_harness.h, and every verdict
 * must be the same on all the replicas that delivered the message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_registry_script.h"

static void test_claim_release(void **state)
{
	struct h_cluster c;
	struct rec r = { 0 };
	struct vmh_vm_info v;

	(void)state;
	setup_cluster(&c, 3, &r);
	assert_int_equal(claim(&c, 1, "vm1", 0, false), VMH_REG_OK);
	assert_runner(&c, ALL3, "vm1", 1);
	assert_int_equal(vmh_reg_vm(c.reg[2], "vm1", &v), 0);
	assert_int_equal(v.state, VMH_VM_RUNNING);
	assert_int_equal(v.owner, 1);
	assert_int_equal(v.epoch, 1);
	assert_string_equal(v.xml, "<domain/>");
	/* Re-claim by the owner is idempotent (and bumps the epoch). */
	assert_int_equal(claim(&c, 1, "vm1", 1, false), VMH_REG_OK);
	assert_int_equal(epoch_of(&c, 3, "vm1"), 2);
	/* A claim by another member over a present owner. */
	assert_int_equal(claim(&c, 2, "vm1", 2, false), VMH_REG_R_OWNER_PRESENT);
	assert_int_equal(simple(&c, 2, VMH_MSG_RELEASE, "vm1", 2), VMH_REG_R_NOT_OWNER);
	assert_int_equal(simple(&c, 1, VMH_MSG_RELEASE, "vm1", 2), VMH_REG_OK);
	assert_runner(&c, ALL3, "vm1", 0);
	assert_int_equal(claim(&c, 2, "vm1", 3, false), VMH_REG_OK);
	assert_runner(&c, ALL3, "vm1", 2);
	/* Unknown VM: only CLAIM with E=0. */
	assert_int_equal(claim(&c, 1, "vm2", 5, false), VMH_REG_R_STALE_EPOCH);
	assert_int_equal(simple(&c, 1, VMH_MSG_RELEASE, "vm2", 0), VMH_REG_R_STATE);
	assert_int_equal(r.n, 0);	/* no local effects in all this */
	assert_same_state(&c, ALL3);
	h_destroy(&c);
}

/* Two CLAIMs for one VM in one delivery order: the first delivered wins on
 * every replica, whichever it is. */
static void test_concurrent_claims(void **state)
{
	(void)state;
	for (int first = 1; first <= 2; first++) {
		struct h_cluster c;
		struct vmh_msg a = vm_msg(VMH_MSG_CLAIM, "vm1", 0), b = vm_msg(VMH_MSG_CLAIM, "vm1", 0);
		int second = 3 - first;

		setup_cluster(&c, 3, NULL);
		send(&c, first, &a);
		send(&c, second, &b);
		assert_true(h_step(&c, 0));
		assert_int_equal(c.last, VMH_REG_OK);
		assert_true(h_step(&c, 0));
		assert_int_equal(c.last, VMH_REG_R_STALE_EPOCH);
		assert_string_equal(c.fail, "");
		assert_runner(&c, ALL3, "vm1", first);
		assert_same_state(&c, ALL3);
		h_destroy(&c);
	}
}

static void test_stale_duplicate_malformed(void **state)
{
	struct h_cluster c;
	struct vmh_msg m = vm_msg(VMH_MSG_CLAIM, "vm1", 0);
	struct vmh_reg_result res = { 0 };

	(void)state;
	setup_cluster(&c, 3, NULL);
	/* The same bytes delivered twice: the second finds a newer epoch. */
	send(&c, 1, &m);
	dup_head(&c, 0);
	assert_true(h_step(&c, 0));
	assert_int_equal(c.last, VMH_REG_OK);
	assert_true(h_step(&c, 0));
	assert_int_equal(c.last, VMH_REG_R_STALE_EPOCH);
	assert_int_equal(epoch_of(&c, 2, "vm1"), 1);
	/* Stale epochs for every record type. */
	assert_int_equal(begin(&c, 1, "vm1", 0, 2), VMH_REG_R_STALE_EPOCH);
	assert_int_equal(simple(&c, 1, VMH_MSG_RELEASE, "vm1", 7), VMH_REG_R_STALE_EPOCH);
	/* Not a member, unknown type, bad name: rejected, nothing changes. */
	m = vm_msg(VMH_MSG_RELEASE, "vm1", 1);
	assert_int_equal(vmh_reg_apply(c.reg[0], 9, &m, &res), 0);
	assert_int_equal(res.reason, VMH_REG_R_SENDER);
	m.type = (enum vmh_msg_type)99;
	assert_int_equal(vmh_reg_apply(c.reg[0], 1, &m, &res), 0);
	assert_int_equal(res.reason, VMH_REG_R_TYPE);
	m = vm_msg(VMH_MSG_CLAIM, "a/b", 0);
	assert_int_equal(vmh_reg_apply(c.reg[0], 1, &m, &res), 0);
	assert_int_equal(res.reason, VMH_REG_R_MALFORMED);
	m = vm_msg(VMH_MSG_CONFIG, "vm1", 1);	/* CONFIG without XML */
	assert_int_equal(vmh_reg_apply(c.reg[0], 1, &m, &res), 0);
	assert_int_equal(res.reason, VMH_REG_R_MALFORMED);
	/* Built in a configuration this replica has not reached. */
	m = vm_msg(VMH_MSG_RELEASE, "vm1", 1);
	m.config = vmh_reg_config(c.reg[0]) + 1;
	assert_int_equal(vmh_reg_apply(c.reg[0], 1, &m, &res), 0);
	assert_int_equal(res.reason, VMH_REG_R_FUTURE);
	/* A different uuid for the same name. */
	m = vm_msg(VMH_MSG_CLAIM, "vm1", 1);
	m.uuid[0] = 1;
	assert_int_equal(deliver(&c, 1, m), VMH_REG_OK);	/* sets it */
	m.uuid[0] = 2;
	m.expect = 2;
	assert_int_equal(deliver(&c, 1, m), VMH_REG_R_UUID);
	vmh_reg_result_clear(&res);
	h_destroy(&c);
}

static void test_handoff_commit_abort(void **state)
{
	struct h_cluster c;
	struct rec r = { 0 };
	struct vmh_msg cfg = vm_msg(VMH_MSG_CONFIG, "vm1", 2);

	(void)state;
	setup_cluster(&c, 3, &r);
	assert_int_equal(claim(&c, 1, "vm1", 0, false), VMH_REG_OK);
	assert_int_equal(begin(&c, 2, "vm1", 1, 3), VMH_REG_R_NOT_OWNER);
	assert_int_equal(begin(&c, 1, "vm1", 1, 1), VMH_REG_R_DST);
	assert_int_equal(begin(&c, 1, "vm1", 1, 7), VMH_REG_R_DST);
	assert_int_equal(begin(&c, 1, "vm1", 1, 2), VMH_REG_OK);
	/* During the handoff nobody may run it: source and destination stay
	 * paused until the registry decides. */
	assert_runner(&c, ALL3, "vm1", 0);
	cfg.xml = "<domain>new</domain>";
	cfg.xml_len = strlen(cfg.xml);
	assert_int_equal(deliver(&c, 1, cfg), VMH_REG_R_STATE);
	assert_int_equal(simple(&c, 3, VMH_MSG_HANDOFF_COMMIT, "vm1", 2), VMH_REG_R_NOT_OWNER);
	assert_int_equal(simple(&c, 1, VMH_MSG_RELEASE, "vm1", 2), VMH_REG_R_STATE);
	assert_int_equal(simple(&c, 2, VMH_MSG_HANDOFF_COMMIT, "vm1", 2), VMH_REG_OK);
	assert_runner(&c, ALL3, "vm1", 2);
	assert_int_equal(count(&r, 2, VMH_EFF_RESUME_LOCAL, "vm1"), 1);
	assert_int_equal(count(&r, 1, VMH_EFF_ENSURE_NO_SOURCE, "vm1"), 1);
	assert_int_equal(r.n, 2);
	/* A late ABORT of the same handoff is stale. */
	assert_int_equal(simple(&c, 1, VMH_MSG_HANDOFF_ABORT, "vm1", 2), VMH_REG_R_STALE_EPOCH);

	/* Back to 1, aborted this time, by the destination. */
	r.n = 0;
	assert_int_equal(begin(&c, 2, "vm1", 3, 1), VMH_REG_OK);
	assert_int_equal(simple(&c, 1, VMH_MSG_HANDOFF_ABORT, "vm1", 4), VMH_REG_OK);
	assert_runner(&c, ALL3, "vm1", 2);
	assert_int_equal(count(&r, 2, VMH_EFF_RESUME_SOURCE, "vm1"), 1);
	assert_int_equal(count(&r, 1, VMH_EFF_ENSURE_NO_DEST, "vm1"), 1);
	assert_int_equal(r.n, 2);
	/* The owner pushes a new definition. */
	cfg.expect = 5;
	assert_int_equal(deliver(&c, 1, cfg), VMH_REG_R_NOT_OWNER);
	assert_int_equal(deliver(&c, 2, cfg), VMH_REG_OK);
	{
		struct vmh_vm_info v;
		uint8_t d[32];

		assert_int_equal(vmh_reg_vm(c.reg[0], "vm1", &v), 0);
		assert_string_equal(v.xml, "<domain>new</domain>");
		vmh_sha256(v.xml, v.xml_len, d);
		assert_memory_equal(v.digest, d, 32);
	}
	/* Re-claim of a MIGRATING VM by its source: an abort. */
	r.n = 0;
	assert_int_equal(begin(&c, 2, "vm1", 6, 3), VMH_REG_OK);
	assert_int_equal(claim(&c, 3, "vm1", 7, false), VMH_REG_R_STATE);
	assert_int_equal(claim(&c, 2, "vm1", 7, false), VMH_REG_OK);
	assert_int_equal(count(&r, 2, VMH_EFF_RESUME_SOURCE, "vm1"), 1);
	assert_int_equal(count(&r, 3, VMH_EFF_ENSURE_NO_DEST, "vm1"), 1);
	assert_same_state(&c, ALL3);
	h_destroy(&c);
}

/* A config for a VM nobody runs: any member sets it, for a VM unknown
 * so far too (known then, stopped); the next claim keeps it. */
static void test_config_stopped(void **state)
{
	struct h_cluster c;
	struct rec r = { 0 };
	struct vmh_msg cfg = vm_msg(VMH_MSG_CONFIG, "vm9", 0);
	struct vmh_vm_info v;

	(void)state;
	setup_cluster(&c, 3, &r);
	cfg.xml = "<domain>one</domain>";
	cfg.xml_len = strlen(cfg.xml);
	assert_int_equal(deliver(&c, 3, cfg), VMH_REG_OK);
	assert_int_equal(vmh_reg_vm(c.reg[1], "vm9", &v), 0);
	assert_int_equal(v.state, VMH_VM_STOPPED);
	assert_int_equal(v.owner, 0);
	assert_int_equal(v.epoch, 1);
	assert_string_equal(v.xml, "<domain>one</domain>");
	assert_runner(&c, ALL3, "vm9", 0);
	/* a stale one is refused like any record */
	assert_int_equal(deliver(&c, 2, cfg), VMH_REG_R_STALE_EPOCH);
	cfg.expect = 1;
	cfg.xml = "<domain>two</domain>";
	cfg.xml_len = strlen(cfg.xml);
	assert_int_equal(deliver(&c, 2, cfg), VMH_REG_OK);
	/* a claim without XML keeps the registry's */
	assert_int_equal(simple(&c, 1, VMH_MSG_CLAIM, "vm9", 2), VMH_REG_OK);
	assert_int_equal(vmh_reg_vm(c.reg[2], "vm9", &v), 0);
	assert_int_equal(v.owner, 1);
	assert_string_equal(v.xml, "<domain>two</domain>");
	/* running: only the owner */
	cfg.expect = 3;
	assert_int_equal(deliver(&c, 2, cfg), VMH_REG_R_NOT_OWNER);
	assert_int_equal(r.n, 0);
	assert_same_state(&c, ALL3);
	h_destroy(&c);
}

/* Messages built in one configuration, delivered in a later one. */
static void test_late_delivery(void **state)
{
	struct h_cluster c;
	struct vmh_msg m;
	uint64_t config, old_round;

	(void)state;
	setup_cluster(&c, 3, NULL);
	assert_int_equal(claim(&c, 1, "vm1", 0, false), VMH_REG_OK);
	/* BEGIN to 3 is sent while 3 is a member; 3 is gone at delivery. It
	 * first meets the sync round (refused, the daemon resends it after),
	 * then the new membership. */
	m = vm_msg(VMH_MSG_HANDOFF_BEGIN, "vm1", 1);
	m.node = 3;
	send(&c, 1, &m);
	config = vmh_reg_config(c.reg[0]);
	old_round = vmh_reg_last_round(c.reg[0]);
	h_split(&c, 0x3, 0x4, 0, 0);	/* {1,2} keep quorum, {3} alone */
	assert_true(h_step(&c, 0));
	assert_int_equal(c.last, VMH_REG_R_SYNCING);
	h_run_all(&c);
	assert_string_equal(c.fail, "");
	assert_true(vmh_reg_config(c.reg[0]) > config);
	h_send(&c, 1, &m);		/* resent as built, in the old configuration */
	h_run(&c, 0);
	assert_int_equal(c.last, VMH_REG_R_DST);
	{
		struct vmh_vm_info v;

		assert_int_equal(vmh_reg_vm(c.reg[1], "vm1", &v), 0);
		assert_int_equal(v.state, VMH_VM_RUNNING);
	}
	/* A QUORUM report sent before the last round is stale. */
	{
		struct vmh_reg_result res = { 0 };

		m = (struct vmh_msg){ .type = VMH_MSG_QUORUM, .config = config, .quorate = true,
				      .round = old_round };
		assert_int_equal(vmh_reg_apply(c.reg[0], 2, &m, &res), 0);
		assert_int_equal(res.reason, VMH_REG_R_STALE_CONFIG);
		vmh_reg_result_clear(&res);
	}
	/* A fencing report about an earlier departure of 3 does not count for
	 * its latest one: 3 left, came back, left again. */
	{
		struct vmh_node_info ni;
		uint64_t first_departure;
		struct vmh_msg f = { .type = VMH_MSG_NODE_FENCED, .node = 3, .fence_time = 1 };

		assert_int_equal(vmh_reg_node(c.reg[0], 3, &ni), 0);
		first_departure = ni.left;
		assert_true(first_departure > 0);
		h_split(&c, ALL3, 0, 0, 0);
		h_run_all(&c);
		h_split(&c, 0x3, 0x4, 0, 0);
		h_run_all(&c);
		assert_int_equal(vmh_reg_node(c.reg[0], 3, &ni), 0);
		assert_true(ni.left > first_departure);
		assert_int_equal(ni.fenced_for, 0);
		assert_int_equal(witness(&c, 1, VMH_MSG_NODE_FENCED, 3), VMH_REG_OK);
		f.departure = first_departure;
		assert_int_equal(deliver(&c, 1, f), VMH_REG_R_DEPARTURE);
	}
	/* A claim built during a sync round is resent after it and, still
	 * valid, accepted although built in the previous configuration. */
	h_split(&c, ALL3, 0, 0, 0);
	m = vm_msg(VMH_MSG_RELEASE, "vm1", epoch_of(&c, 1, "vm1"));
	send(&c, 1, &m);		/* behind the SYNC_START: refused */
	assert_true(h_step(&c, 0));	/* SYNC_START */
	assert_true(h_step(&c, 0));
	assert_int_equal(c.last, VMH_REG_R_SYNCING);
	h_run_all(&c);
	assert_false(vmh_reg_syncing(c.reg[0]));
	h_send(&c, 1, &m);
	h_run(&c, 0);
	assert_int_equal(c.last, VMH_REG_OK);
	assert_same_state(&c, ALL3);
	h_destroy(&c);
}

static void test_takeover_fencing(void **state)
{
	(void)state;
	for (int fencing = 0; fencing <= 1; fencing++) {
		struct h_cluster c;
		struct rec r = { 0 };

		setup_cluster(&c, 3, &r);
		assert_int_equal(claim(&c, 1, "vm1", 0, fencing), VMH_REG_OK);
		h_split(&c, 0x6, 0x1, 0, 0);
		h_run_all(&c);
		assert_int_equal(claim(&c, 2, "vm1", 1, false), VMH_REG_R_NO_WITNESS);
		assert_int_equal(witness(&c, 2, VMH_MSG_NODE_EXPIRED, 1), VMH_REG_OK);
		/* An expiry is enough only when the VM does not require fencing. */
		assert_int_equal(claim(&c, 2, "vm1", 1, false),
				 fencing ? VMH_REG_R_NO_WITNESS : VMH_REG_OK);
		if (fencing) {
			assert_int_equal(witness(&c, 3, VMH_MSG_NODE_FENCED, 1), VMH_REG_OK);
			assert_int_equal(claim(&c, 2, "vm1", 1, false), VMH_REG_OK);
		}
		assert_runner(&c, 0x6, "vm1", 2);
		/* The old owner returns: its copy is revoked, never resumed. */
		h_split(&c, ALL3, 0, 0, 0);
		h_run_all(&c);
		assert_int_equal(count(&r, 1, VMH_EFF_REVOKE_LOCAL, "vm1"), 1);
		assert_runner(&c, ALL3, "vm1", 2);
		assert_same_state(&c, ALL3);
		h_destroy(&c);
	}
}

/* A daemon that exits cleanly (CPG leave) can not have seen anything we did
 * not: new VMs may start at once. Its guests may still run, though: taking
 * over its VMs still needs a witness. */
static void test_clean_leave(void **state)
{
	struct h_cluster c;

	(void)state;
	setup_cluster(&c, 3, NULL);
	assert_int_equal(claim(&c, 3, "vm1", 0, false), VMH_REG_OK);
	h_split(&c, 0x3, 0x4, 0, 0x4);
	h_run_all(&c);
	assert_int_equal(claim(&c, 1, "vm2", 0, false), VMH_REG_OK);
	assert_int_equal(claim(&c, 1, "vm1", 1, false), VMH_REG_R_NO_WITNESS);
	/* Nobody pauses the guests of a node whose daemon exited: an expiry
	 * proves nothing, only fencing does. */
	assert_int_equal(witness(&c, 1, VMH_MSG_NODE_EXPIRED, 3), VMH_REG_R_NOT_EXPIRABLE);
	assert_int_equal(witness(&c, 1, VMH_MSG_NODE_FENCED, 3), VMH_REG_OK);
	assert_int_equal(claim(&c, 1, "vm1", 1, false), VMH_REG_OK);
	h_destroy(&c);
}

static void test_quorum_reports(void **state)
{
	struct h_cluster c;
	struct rec r = { 0 };

	(void)state;
	setup_cluster(&c, 3, &r);
	assert_int_equal(claim(&c, 1, "vm1", 0, false), VMH_REG_OK);
	/* One member's corosync says "not quorate": everybody refuses. */
	h_set_quorate(&c, 3, false);
	h_run_all(&c);
	assert_false(vmh_reg_quorate(c.reg[0]));
	assert_int_equal(claim(&c, 2, "vm2", 0, false), VMH_REG_R_NO_QUORUM);
	assert_runner(&c, ALL3, "vm1", 0);
	assert_int_equal(count(&r, 1, VMH_EFF_PAUSE_LOCAL, "vm1"), 0);	/* local quorum only */
	h_set_quorate(&c, 3, true);
	h_run_all(&c);
	assert_int_equal(claim(&c, 2, "vm2", 0, false), VMH_REG_OK);
	assert_runner(&c, ALL3, "vm1", 1);
	/* Our own corosync quorum lost: pause what we run. */
	h_set_quorate(&c, 1, false);
	assert_int_equal(count(&r, 1, VMH_EFF_PAUSE_LOCAL, "vm1"), 1);
	assert_false(vmh_reg_may_run(c.reg[0], "vm1", 1));
	h_destroy(&c);
}

/* A witness counts for the departure it names, never for a later one:
 * 3 leaves and is expired, comes back, runs a VM, and leaves again (its
 * daemon exits, its guests run on). */
static void test_stale_witness(void **state)
{
	struct h_cluster c;

	(void)state;
	setup_cluster(&c, 3, NULL);
	h_split(&c, 0x3, 0x4, 0, 0);
	h_run_all(&c);
	assert_int_equal(witness(&c, 1, VMH_MSG_NODE_FENCED, 3), VMH_REG_OK);
	h_split(&c, ALL3, 0, 0, 0);
	h_run_all(&c);
	assert_int_equal(claim(&c, 3, "vm1", 0, false), VMH_REG_OK);
	h_split(&c, 0x3, 0x4, 0, 0x4);		/* 3's daemon exits cleanly */
	h_run_all(&c);
	assert_int_equal(claim(&c, 1, "vm1", 1, false), VMH_REG_R_NO_WITNESS);
	/* A lost departure: settle and witness both wait for the new one. */
	h_split(&c, ALL3, 0, 0, 0);
	h_run_all(&c);
	h_split(&c, 0x3, 0x4, 0, 0);
	h_run_all(&c);
	assert_int_equal(claim(&c, 1, "vm1", 1, false), VMH_REG_R_NO_WITNESS);
	assert_int_equal(witness(&c, 1, VMH_MSG_NODE_EXPIRED, 3), VMH_REG_OK);
	assert_int_equal(claim(&c, 1, "vm1", 1, false), VMH_REG_OK);
	h_destroy(&c);
}

static void test_address(void **state)
{
	struct h_cluster c;
	struct vmh_msg m = { .type = VMH_MSG_ADDRESS, .node = 2 };
	struct vmh_node_info ni;

	(void)state;
	setup_cluster(&c, 3, NULL);
	snprintf(m.addr, sizeof(m.addr), "198.18.1.12");
	assert_int_equal(deliver(&c, 1, m), VMH_REG_R_NOT_OWNER);
	assert_int_equal(deliver(&c, 2, m), VMH_REG_OK);
	assert_int_equal(deliver(&c, 2, m), VMH_REG_R_DUPLICATE);
	assert_int_equal(vmh_reg_node(c.reg[2], 2, &ni), 0);
	assert_string_equal(ni.addr, "198.18.1.12");
	/* It survives a membership change (the sync carries it). */
	h_split(&c, 0x3, 0x4, 0, 0);
	h_run_all(&c);
	h_split(&c, ALL3, 0, 0, 0);
	h_run_all(&c);
	assert_int_equal(vmh_reg_node(c.reg[2], 2, &ni), 0);
	assert_string_equal(ni.addr, "198.18.1.12");
	assert_false(vmh_reg_addr_ok("a b", 3));
	assert_true(vmh_reg_addr_ok("[fd00::2]", 9));
	h_destroy(&c);
}

static void test_names(void **state)
{
	char long_name[80];

	(void)state;
	assert_true(vmh_reg_name_ok("vm-1.test_A", 11));
	assert_true(vmh_reg_name_ok("my vm", 5));
	assert_false(vmh_reg_name_ok("", 0));
	assert_false(vmh_reg_name_ok("a/b", 3));
	assert_false(vmh_reg_name_ok("a\nb", 3));
	assert_false(vmh_reg_name_ok("caf\xc3\xa9", 5));
	memset(long_name, 'x', sizeof(long_name));
	assert_true(vmh_reg_name_ok(long_name, 64));
	assert_false(vmh_reg_name_ok(long_name, 65));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claim_release),
		cmocka_unit_test(test_concurrent_claims),
		cmocka_unit_test(test_stale_duplicate_malformed),
		cmocka_unit_test(test_handoff_commit_abort),
		cmocka_unit_test(test_config_stopped),
		cmocka_unit_test(test_late_delivery),
		cmocka_unit_test(test_takeover_fencing),
		cmocka_unit_test(test_clean_leave),
		cmocka_unit_test(test_quorum_reports),
		cmocka_unit_test(test_stale_witness),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
