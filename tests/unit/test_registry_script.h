/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers of the scripted registry tests (test_registry.c,
 * test_registry_partition.c): send a record through the simulated CPG of
 * test_registry_harness.h, return the verdict all replicas agreed on, and
 * check who may run what. Include after <cmocka.h>.
 */
#ifndef TEST_REGISTRY_SCRIPT_H
#define TEST_REGISTRY_SCRIPT_H

#include "test_registry_harness.h"

#define ALL3 0x7u
#define ALL5 0x1fu

struct rec {
	int n;
	struct { int node; enum vmh_reg_effect_type type; char vm[VMH_REG_NAME_MAX + 1]; } e[256];
};

H_FN void record(struct h_cluster *c, int node, const struct vmh_reg_effect *e)
{
	struct rec *r = c->ctx;

	if (!r || r->n >= 256)
		return;
	r->e[r->n].node = node;
	r->e[r->n].type = e->type;
	memcpy(r->e[r->n].vm, e->vm, sizeof(e->vm));
	r->n++;
}

H_FN int count(const struct rec *r, int node, enum vmh_reg_effect_type t, const char *vm)
{
	int k = 0;

	for (int i = 0; i < r->n; i++)
		if (r->e[i].node == node && r->e[i].type == t && (!vm || strcmp(r->e[i].vm, vm) == 0))
			k++;
	return k;
}

H_FN void setup_cluster(struct h_cluster *c, int n, struct rec *r)
{
	h_init(c, n);
	c->on_effect = record;
	c->ctx = r;
	c->check_unchanged = true;
	h_split(c, (1u << n) - 1, 0, 0, 0);
	h_run_all(c);
	assert_string_equal(c->fail, "");
	for (int i = 0; i < n; i++) {
		assert_true(vmh_reg_in_config(c->reg[i]));
		assert_false(vmh_reg_syncing(c->reg[i]));
		assert_true(vmh_reg_quorate(c->reg[i]));
	}
	if (r)
		r->n = 0;
}

H_FN struct vmh_msg vm_msg(enum vmh_msg_type t, const char *vm, uint64_t expect)
{
	struct vmh_msg m = { .type = t, .expect = expect };

	snprintf(m.vm, sizeof(m.vm), "%s", vm);
	return m;
}

H_FN void send(struct h_cluster *c, int node, struct vmh_msg *m)
{
	m->config = vmh_reg_config(c->reg[node - 1]);
	h_send(c, node, m);
}

/* Send and deliver in node's group; the agreed verdict. */
H_FN enum vmh_reg_reason deliver(struct h_cluster *c, int node, struct vmh_msg m)
{
	send(c, node, &m);
	h_run(c, c->group[node - 1]);
	assert_string_equal(c->fail, "");
	return c->last;
}

H_FN enum vmh_reg_reason claim(struct h_cluster *c, int node, const char *vm, uint64_t e,
				 bool fencing)
{
	struct vmh_msg m = vm_msg(VMH_MSG_CLAIM, vm, e);

	m.require_fencing = fencing;
	m.xml = "<domain/>";
	m.xml_len = 9;
	return deliver(c, node, m);
}

H_FN enum vmh_reg_reason simple(struct h_cluster *c, int node, enum vmh_msg_type t,
				  const char *vm, uint64_t e)
{
	return deliver(c, node, vm_msg(t, vm, e));
}

H_FN enum vmh_reg_reason begin(struct h_cluster *c, int node, const char *vm, uint64_t e, int dst)
{
	struct vmh_msg m = vm_msg(VMH_MSG_HANDOFF_BEGIN, vm, e);

	m.node = (uint32_t)dst;
	return deliver(c, node, m);
}

H_FN enum vmh_reg_reason witness(struct h_cluster *c, int from, enum vmh_msg_type t, int node)
{
	struct vmh_node_info ni;
	struct vmh_msg m = { .type = t, .node = (uint32_t)node, .fence_time = 1700000000 };

	if (vmh_reg_node(c->reg[from - 1], (uint32_t)node, &ni) == 0)
		m.departure = ni.left;
	if (!m.departure)
		m.departure = 1;
	return deliver(c, from, m);
}

H_FN uint64_t epoch_of(struct h_cluster *c, int node, const char *vm)
{
	return h_epoch(c->reg[node - 1], vm);
}

/* Of the nodes in mask, each asking its own replica, exactly want (0:
 * none) may run vm. */
H_FN void assert_runner(struct h_cluster *c, uint32_t mask, const char *vm, int want)
{
	for (int k = 1; k <= c->n; k++)
		if (mask & h_bit(k))
			assert_int_equal(vmh_reg_may_run(c->reg[k - 1], vm, (uint32_t)k), k == want);
}

/* Deliver the same bytes twice (a duplicate delivery). */
H_FN void dup_head(struct h_cluster *c, int g)
{
	const struct h_qmsg *qm = &c->q[g].v[c->q[g].head];
	uint8_t *copy = malloc(qm->len);

	memcpy(copy, qm->buf, qm->len);
	h_push(&c->q[g], qm->sender, copy, qm->len);
}

H_FN void assert_same_state(struct h_cluster *c, uint32_t mask)
{
	int first = 0;

	for (int k = 1; k <= c->n; k++) {
		if (!(mask & h_bit(k)))
			continue;
		if (!first)
			first = k;
		else
			assert_true(vmh_reg_equal(c->reg[first - 1], c->reg[k - 1]));
	}
}

#endif
