/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The registry across partitions, scripted: what a minority may not do,
 * quorum lost in the middle of a handoff, sync rounds, merges of states
 * that diverged (a side that delivered a tail of the old ring we did not),
 * and witnesses that must not outlive the departure they name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_registry_script.h"

/* 5 nodes split 3+2: the minority changes nothing; the majority may act
 * only once the lost nodes are fenced or expired; after the merge every
 * replica holds the majority's versions. */
static void test_partition_merge(void **state)
{
	struct h_cluster c;
	struct vmh_vm_info v;

	(void)state;
	setup_cluster(&c, 5, NULL);
	assert_int_equal(claim(&c, 4, "vm1", 0, false), VMH_REG_OK);
	assert_int_equal(claim(&c, 1, "vm2", 0, false), VMH_REG_OK);
	h_split(&c, 0x7, 0x18, 0, 0);		/* {1,2,3} {4,5} */
	h_run_all(&c);
	assert_false(vmh_reg_quorate(c.reg[3]));
	assert_true(vmh_reg_quorate(c.reg[0]));
	assert_runner(&c, 0x18, "vm1", 0);	/* 4 lost quorum: may not run */
	assert_runner(&c, 0x7, "vm2", 1);
	/* Minority: nothing. */
	assert_int_equal(claim(&c, 5, "vm3", 0, false), VMH_REG_R_NO_QUORUM);
	assert_int_equal(simple(&c, 4, VMH_MSG_RELEASE, "vm1", 1), VMH_REG_R_NO_QUORUM);
	assert_int_equal(witness(&c, 4, VMH_MSG_NODE_EXPIRED, 1), VMH_REG_R_NO_QUORUM);
	/* Majority: unsettled until 4 and 5 are witnessed. */
	assert_int_equal(claim(&c, 2, "vm3", 0, false), VMH_REG_R_UNSETTLED);
	assert_int_equal(claim(&c, 2, "vm1", 1, false), VMH_REG_R_NO_WITNESS);
	assert_int_equal(witness(&c, 1, VMH_MSG_NODE_EXPIRED, 4), VMH_REG_OK);
	assert_int_equal(witness(&c, 1, VMH_MSG_NODE_EXPIRED, 4), VMH_REG_R_DUPLICATE);
	assert_int_equal(witness(&c, 1, VMH_MSG_NODE_EXPIRED, 2), VMH_REG_R_NODE_PRESENT);
	assert_int_equal(claim(&c, 2, "vm3", 0, false), VMH_REG_R_UNSETTLED);
	assert_int_equal(witness(&c, 3, VMH_MSG_NODE_FENCED, 5), VMH_REG_OK);
	assert_int_equal(claim(&c, 2, "vm3", 0, false), VMH_REG_OK);
	assert_int_equal(claim(&c, 2, "vm1", 1, false), VMH_REG_OK);	/* takeover */
	assert_int_equal(simple(&c, 2, VMH_MSG_RELEASE, "vm1", 2), VMH_REG_OK);
	assert_int_equal(claim(&c, 3, "vm1", 3, false), VMH_REG_OK);
	assert_runner(&c, 0x7, "vm1", 3);
	assert_int_equal(epoch_of(&c, 4, "vm1"), 1);
	h_split(&c, ALL5, 0, 0, 0);
	h_run_all(&c);
	assert_string_equal(c.fail, "");
	assert_same_state(&c, ALL5);
	assert_int_equal(vmh_reg_vm(c.reg[3], "vm1", &v), 0);
	assert_int_equal(v.owner, 3);
	assert_int_equal(v.epoch, 4);
	assert_runner(&c, ALL5, "vm1", 3);
	assert_runner(&c, ALL5, "vm3", 2);
	h_destroy(&c);
}

/* Quorum lost during a handoff: both copies stay paused and nobody may run
 * the VM until a COMMIT or ABORT is delivered in a quorate partition. */
static void test_quorum_loss_mid_handoff(void **state)
{
	struct h_cluster c;
	struct rec r = { 0 };

	(void)state;
	setup_cluster(&c, 3, &r);
	assert_int_equal(claim(&c, 1, "vm1", 0, false), VMH_REG_OK);
	assert_int_equal(begin(&c, 1, "vm1", 1, 2), VMH_REG_OK);
	h_split(&c, 0x1, 0x2, 0x4, 0);		/* everybody alone */
	h_run_all(&c);
	assert_int_equal(count(&r, 1, VMH_EFF_PAUSE_LOCAL, "vm1"), 1);
	assert_int_equal(count(&r, 2, VMH_EFF_PAUSE_LOCAL, "vm1"), 1);
	assert_int_equal(simple(&c, 2, VMH_MSG_HANDOFF_COMMIT, "vm1", 2), VMH_REG_R_NO_QUORUM);
	assert_int_equal(simple(&c, 1, VMH_MSG_HANDOFF_ABORT, "vm1", 2), VMH_REG_R_NO_QUORUM);
	assert_runner(&c, ALL3, "vm1", 0);
	/* 2 and 3 come together: quorate, but 1 is neither here nor witnessed. */
	h_split(&c, 0x6, 0x1, 0, 0);
	h_run_all(&c);
	assert_runner(&c, ALL3, "vm1", 0);
	assert_int_equal(simple(&c, 2, VMH_MSG_HANDOFF_COMMIT, "vm1", 2), VMH_REG_R_NO_WITNESS);
	assert_int_equal(witness(&c, 3, VMH_MSG_NODE_EXPIRED, 1), VMH_REG_OK);
	assert_runner(&c, ALL3, "vm1", 0);
	r.n = 0;
	assert_int_equal(simple(&c, 2, VMH_MSG_HANDOFF_COMMIT, "vm1", 2), VMH_REG_OK);
	assert_int_equal(count(&r, 2, VMH_EFF_RESUME_LOCAL, "vm1"), 1);
	assert_runner(&c, 0x6, "vm1", 2);
	assert_runner(&c, 0x1, "vm1", 0);
	/* 1 comes back and learns that its copy is gone for good. */
	r.n = 0;
	h_split(&c, ALL3, 0, 0, 0);
	h_run_all(&c);
	assert_same_state(&c, ALL3);
	assert_int_equal(count(&r, 1, VMH_EFF_ENSURE_NO_SOURCE, "vm1"), 1);
	assert_int_equal(count(&r, 1, VMH_EFF_RESUME_SOURCE, "vm1"), 0);
	assert_runner(&c, ALL3, "vm1", 2);
	h_destroy(&c);
}

/* A split where the departed side delivered a tail we did not see: A's
 * last-moment CLAIM. The majority must wait for A's witness, then its
 * decision (later configuration) wins the merge over A's version even
 * though both carry epoch 1, and the epoch moves above both. */
static size_t prefix_all_for_group1(struct h_cluster *c, uint32_t old_mask, uint32_t new_mask,
				    size_t len)
{
	(void)c;
	(void)old_mask;
	return new_mask == 0x3 ? len : 0;
}

static void test_divergent_merge(void **state)
{
	struct h_cluster c;
	struct rec r = { 0 };
	struct vmh_msg m = vm_msg(VMH_MSG_CLAIM, "vm1", 0);
	struct vmh_vm_info v;

	(void)state;
	setup_cluster(&c, 5, &r);
	send(&c, 1, &m);
	c.prefix = prefix_all_for_group1;
	h_split(&c, 0x1c, 0x3, 0, 0);		/* {3,4,5} quorate, {1,2} saw the claim */
	c.prefix = NULL;
	h_run_all(&c);
	assert_int_equal(epoch_of(&c, 1, "vm1"), 1);
	assert_int_equal(epoch_of(&c, 3, "vm1"), 0);
	assert_runner(&c, ALL5, "vm1", 0);	/* 1 is in a minority */
	assert_int_equal(claim(&c, 3, "vm1", 0, false), VMH_REG_R_UNSETTLED);
	assert_int_equal(witness(&c, 3, VMH_MSG_NODE_EXPIRED, 1), VMH_REG_OK);
	assert_int_equal(witness(&c, 3, VMH_MSG_NODE_EXPIRED, 2), VMH_REG_OK);
	assert_int_equal(claim(&c, 3, "vm1", 0, false), VMH_REG_OK);
	h_split(&c, ALL5, 0, 0, 0);
	h_run_all(&c);
	assert_string_equal(c.fail, "");
	assert_same_state(&c, ALL5);
	assert_int_equal(vmh_reg_vm(c.reg[0], "vm1", &v), 0);
	assert_int_equal(v.owner, 3);
	assert_int_equal(v.epoch, 2);
	assert_int_equal(count(&r, 1, VMH_EFF_REVOKE_LOCAL, "vm1"), 1);
	assert_runner(&c, ALL5, "vm1", 3);
	h_destroy(&c);
}

/* The merge primitive on its own. */
static void add_vm(struct vmh_reg_image *img, const char *name, uint32_t owner, uint64_t epoch,
		   uint64_t vkey_config, uint64_t vkey_epoch)
{
	struct vmh_vm_info *v;

	img->vms = realloc(img->vms, (img->n_vms + 1) * sizeof(*v));
	v = &img->vms[img->n_vms++];
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->state = VMH_VM_RUNNING;
	v->owner = owner;
	v->epoch = epoch;
	v->vkey_config = vkey_config;
	v->vkey_epoch = vkey_epoch;
	v->xml = strdup("");
	vmh_sha256("", 0, v->digest);
	if (vkey_config > img->config)
		img->config = img->ring = vkey_config;
}

static void test_merge_rules(void **state)
{
	struct vmh_reg_image a = { 0 }, b = { 0 }, acc = { 0 };
	struct vmh_reg_result res = { 0 };
	unsigned conflicts = 0;

	(void)state;
	add_vm(&a, "a", 1, 5, 3, 5);	/* higher epoch, earlier configuration */
	add_vm(&a, "b", 1, 4, 3, 4);
	add_vm(&a, "c", 1, 7, 3, 7);	/* same key, different content */
	add_vm(&a, "d", 1, 2, 2, 2);	/* same everything */
	add_vm(&b, "a", 2, 4, 6, 4);
	add_vm(&b, "b", 2, 9, 3, 9);
	add_vm(&b, "c", 2, 7, 3, 7);
	add_vm(&b, "d", 1, 2, 2, 2);
	add_vm(&b, "e", 3, 1, 6, 1);
	assert_int_equal(vmh_reg_image_check(&a), 0);
	assert_int_equal(vmh_reg_image_check(&b), 0);
	assert_int_equal(vmh_reg_image_merge(&acc, &a, &conflicts, &res), 0);
	assert_int_equal(vmh_reg_image_merge(&acc, &b, &conflicts, &res), 0);
	assert_int_equal(acc.n_vms, 5);
	/* a: later configuration wins; epoch above the loser's. */
	assert_int_equal(acc.vms[0].owner, 2);
	assert_int_equal(acc.vms[0].epoch, 6);
	assert_int_equal(acc.vms[0].vkey_config, 6);
	/* b: same configuration, higher epoch wins, keeps its epoch. */
	assert_int_equal(acc.vms[1].owner, 2);
	assert_int_equal(acc.vms[1].epoch, 9);
	/* c: conflict: the first in the fold is kept, epoch raised, reported. */
	assert_int_equal(conflicts, 1);
	assert_int_equal(acc.vms[2].owner, 1);
	assert_int_equal(acc.vms[2].epoch, 8);
	assert_int_equal(res.n_effects, 1);
	assert_int_equal(res.effects[0].type, VMH_EFF_CONFLICT);
	assert_string_equal(res.effects[0].vm, "c");
	assert_int_equal(acc.vms[3].epoch, 2);
	assert_int_equal(acc.vms[4].owner, 3);
	assert_int_equal(vmh_reg_image_check(&acc), 0);
	vmh_reg_image_free(&a);
	vmh_reg_image_free(&b);
	vmh_reg_image_free(&acc);
	vmh_reg_result_clear(&res);
}

static void test_sync_gate(void **state)
{
	struct h_cluster c;
	struct vmh_reg_result res = { 0 };
	struct vmh_msg m;

	(void)state;
	setup_cluster(&c, 3, NULL);
	assert_int_equal(claim(&c, 1, "vm1", 0, false), VMH_REG_OK);
	assert_true(vmh_reg_may_run(c.reg[0], "vm1", 1));
	/* A membership change: until the round ends every change is refused,
	 * and nobody may start or resume anything. */
	h_split(&c, ALL3 & ~0x4u, 0x4, 0, 0);
	assert_true(vmh_reg_syncing(c.reg[0]));
	assert_false(vmh_reg_may_run(c.reg[0], "vm1", 1));
	m = vm_msg(VMH_MSG_CLAIM, "vm2", 0);
	assert_int_equal(vmh_reg_apply(c.reg[0], 1, &m, &res), 0);
	assert_int_equal(res.reason, VMH_REG_R_SYNCING);
	m = (struct vmh_msg){ .type = VMH_MSG_SYNC_START, .round = 5, .n_members = 2,
			      .members = { 1, 2 } };
	assert_int_equal(vmh_reg_apply(c.reg[0], 2, &m, &res), 0);
	assert_int_equal(res.reason, VMH_REG_R_NOT_LEADER);
	m.members[1] = 3;
	assert_int_equal(vmh_reg_apply(c.reg[0], 1, &m, &res), 0);
	assert_int_equal(res.reason, VMH_REG_R_STALE_ROUND);
	m = (struct vmh_msg){ .type = VMH_MSG_SYNC, .round = 77, .image = vmh_reg_image(c.reg[1]) };
	assert_int_equal(vmh_reg_apply(c.reg[0], 2, &m, &res), 0);
	assert_int_equal(res.reason, VMH_REG_R_STALE_ROUND);
	h_run_all(&c);
	assert_false(vmh_reg_syncing(c.reg[0]));
	assert_true(vmh_reg_quorate(c.reg[0]));
	assert_true(vmh_reg_may_run(c.reg[0], "vm1", 1));
	/* An image whose author is not its sender. */
	h_split(&c, ALL3, 0, 0, 0);
	h_step(&c, 0);				/* the SYNC_START */
	m = (struct vmh_msg){ .type = VMH_MSG_SYNC, .round = c.next_round - 1,
			      .image = vmh_reg_image(c.reg[1]) };
	assert_int_equal(vmh_reg_apply(c.reg[0], 3, &m, &res), 0);
	assert_int_equal(res.reason, VMH_REG_R_MALFORMED);
	h_run_all(&c);
	assert_false(vmh_reg_syncing(c.reg[2]));
	/* Before its first membership a replica is in no configuration. */
	{
		struct vmh_registry *fresh = vmh_reg_new(9, 3);

		m = vm_msg(VMH_MSG_CLAIM, "vm3", 0);
		assert_int_equal(vmh_reg_apply(fresh, 1, &m, &res), 0);
		assert_int_equal(res.reason, VMH_REG_R_NOT_IN_CONFIG);
		vmh_reg_free(fresh);
	}
	vmh_reg_result_clear(&res);
	h_destroy(&c);
}

/* The registry needs a majority of the configured daemons, not only
 * corosync's quorum: daemons freshly started on a quorate corosync know
 * nothing, so they must not decide. */
static void test_daemon_majority(void **state)
{
	struct h_cluster c;

	(void)state;
	setup_cluster(&c, 5, NULL);
	h_split(&c, 0x3, 0x1c, 0, 0);
	h_run_all(&c);
	/* Pretend corosync says quorate on 1 and 2 (nodes up, daemons down). */
	h_set_quorate(&c, 1, true);
	h_set_quorate(&c, 2, true);
	h_run_all(&c);
	assert_false(vmh_reg_quorate(c.reg[0]));
	assert_int_equal(claim(&c, 1, "vmx", 0, false), VMH_REG_R_NO_QUORUM);
	h_destroy(&c);
}

/* A round restarted by a second SYNC_START: replies to the first one are
 * from another round and do not count, even from the same members. */
static void test_stale_round(void **state)
{
	struct h_cluster c;
	struct vmh_reg_result res = { 0 };
	struct vmh_msg start;

	(void)state;
	setup_cluster(&c, 3, NULL);
	h_split(&c, ALL3 & ~0x4u, 0x4, 0, 0);
	/* The leader's SYNC_START, delivered; then a second one. */
	assert_true(h_step(&c, 0));
	assert_int_equal(c.last, VMH_REG_OK);
	start = (struct vmh_msg){ .type = VMH_MSG_SYNC_START, .round = 4242, .n_members = 2,
				  .members = { 1, 2 }, .ring = c.ring[0] };
	for (int k = 1; k <= 2; k++) {
		assert_int_equal(vmh_reg_apply(c.reg[k - 1], 1, &start, &res), 0);
		assert_int_equal(res.reason, VMH_REG_OK);
	}
	/* The replies to the first round, queued, are now stale. */
	assert_true(h_step(&c, 0));
	assert_int_equal(c.last, VMH_REG_R_STALE_ROUND);
	assert_true(h_step(&c, 0));
	assert_int_equal(c.last, VMH_REG_R_STALE_ROUND);
	assert_true(vmh_reg_syncing(c.reg[0]));
	/* Replies to the second round end it. */
	for (int k = 1; k <= 2; k++) {
		struct vmh_msg m = { .type = VMH_MSG_SYNC, .round = 4242,
				     .image = vmh_reg_image(c.reg[k - 1]),
				     .config = vmh_reg_config(c.reg[k - 1]) };

		h_send(&c, k, &m);
	}
	h_run_all(&c);
	assert_false(vmh_reg_syncing(c.reg[0]));
	assert_true(vmh_reg_equal(c.reg[0], c.reg[1]));
	vmh_reg_result_clear(&res);
	h_destroy(&c);
}

/* Witnesses across a merge: {1,2} saw 5 leave and expired it; 5 then came
 * back with {3,4}, ran a VM there, and left them. When {1,2} and {3,4}
 * merge, 5's latest departure is the one {3,4} saw: the old expiry does
 * not count. */
static void test_witness_after_merge(void **state)
{
	struct h_cluster c;
	struct vmh_node_info ni;

	(void)state;
	setup_cluster(&c, 5, NULL);
	h_split(&c, 0x7, 0x18, 0, 0);			/* {1,2,3} {4,5} */
	h_run_all(&c);
	assert_int_equal(witness(&c, 1, VMH_MSG_NODE_EXPIRED, 5), VMH_REG_OK);
	assert_int_equal(witness(&c, 1, VMH_MSG_NODE_EXPIRED, 4), VMH_REG_OK);
	h_split(&c, 0x3, 0x1c, 0, 0);			/* {1,2} {3,4,5} */
	h_run_all(&c);
	assert_int_equal(witness(&c, 3, VMH_MSG_NODE_EXPIRED, 1), VMH_REG_OK);
	assert_int_equal(witness(&c, 3, VMH_MSG_NODE_EXPIRED, 2), VMH_REG_OK);
	assert_int_equal(claim(&c, 5, "vmz", 0, false), VMH_REG_OK);
	h_split(&c, 0x3, 0xc, 0x10, 0);			/* {1,2} {3,4} {5} */
	h_run_all(&c);
	h_split(&c, 0xf, 0x10, 0, 0);			/* {1,2,3,4} {5} */
	h_run_all(&c);
	assert_same_state(&c, 0xf);
	assert_int_equal(vmh_reg_node(c.reg[0], 5, &ni), 0);
	assert_true(ni.left > ni.expired_for);
	assert_int_equal(claim(&c, 1, "vmz", 1, false), VMH_REG_R_NO_WITNESS);
	assert_int_equal(witness(&c, 1, VMH_MSG_NODE_EXPIRED, 5), VMH_REG_OK);
	assert_int_equal(claim(&c, 1, "vmz", 1, false), VMH_REG_OK);
	h_destroy(&c);
}

/* A daemon that starts without quorum pauses at once what its saved
 * state says it runs: there is no earlier "quorate" to lose. */
static void test_start_without_quorum(void **state)
{
	struct h_cluster c;
	struct rec r = { 0 };
	struct vmh_reg_image copy;

	(void)state;
	setup_cluster(&c, 3, &r);
	assert_int_equal(claim(&c, 1, "vm1", 0, false), VMH_REG_OK);
	{
		uint8_t *buf;
		size_t len;

		assert_int_equal(vmh_wire_encode_image(vmh_reg_image(c.reg[0]), &buf, &len), 0);
		assert_int_equal(vmh_wire_decode_image(buf, len, &copy), 0);
		free(buf);
	}
	vmh_reg_free(c.reg[0]);
	c.reg[0] = vmh_reg_new(1, 3);
	assert_int_equal(vmh_reg_load(c.reg[0], &copy), 0);
	vmh_reg_image_free(&copy);
	r.n = 0;
	h_set_quorate(&c, 1, false);
	assert_int_equal(count(&r, 1, VMH_EFF_PAUSE_LOCAL, "vm1"), 1);
	h_set_quorate(&c, 1, false);			/* no news, no effect */
	assert_int_equal(count(&r, 1, VMH_EFF_PAUSE_LOCAL, "vm1"), 1);
	h_destroy(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partition_merge),
		cmocka_unit_test(test_quorum_loss_mid_handoff),
		cmocka_unit_test(test_divergent_merge),
		cmocka_unit_test(test_merge_rules),
		cmocka_unit_test(test_sync_gate),
		cmocka_unit_test(test_daemon_majority),
		cmocka_unit_test(test_stale_round),
		cmocka_unit_test(test_witness_after_merge),
		cmocka_unit_test(test_start_without_quorum),
	};

	return cmocka_run_group_tests_name("registry_partition", tests, NULL, NULL);
}
