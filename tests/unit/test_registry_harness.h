/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A simulated CPG for registry tests (included by test_registry*.c; not a
 * test of its own). Nodes 1..n, each with its own vmh_registry replica.
 * Nodes are partitioned into groups; each group has one queue that is its
 * total order. Every message goes through vmh_wire (encoded once, decoded
 * by each receiver). The daemon's reactions to SEND_SYNC_START, SEND_SYNC
 * and SEND_QUORUM are done here; other effects go to a hook.
 *
 * A partition change models extended virtual synchrony: the members of an
 * old group that end up together in a new group deliver the same prefix of
 * the old queue in the OLD configuration (different new groups may deliver
 * different prefixes: the tail a departed side saw and we did not); the
 * rest, from senders in the new group, is delivered late, in the new one.
 */
#ifndef TEST_REGISTRY_HARNESS_H
#define TEST_REGISTRY_HARNESS_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmh_registry.h"
#include "vmh_wire.h"

#define H_MAX 8
/* Not every test uses every helper. */
#define H_FN static __attribute__((unused))

struct h_qmsg {
	uint32_t sender;
	uint8_t *buf;
	size_t len;
};

struct h_queue {
	struct h_qmsg *v;
	size_t head, n, cap;
};

struct h_cluster;
typedef void h_effect_fn(struct h_cluster *c, int node, const struct vmh_reg_effect *e);
/* After one replica applied a message; epoch_before is the VM's epoch
 * before (0 if unknown or not a VM record); changed: state bytes differ. */
typedef void h_delivered_fn(struct h_cluster *c, int node, uint32_t sender,
			    const struct vmh_msg *m, enum vmh_reg_reason why,
			    uint64_t epoch_before, bool changed);
/* How many of the len messages queued in the old group (members old_mask)
 * its members that form the new group new_mask deliver in the old ring. */
typedef size_t h_prefix_fn(struct h_cluster *c, uint32_t old_mask, uint32_t new_mask, size_t len);

struct h_cluster {
	int n;				/* nodes 1..n; index i is node i+1 */
	struct vmh_registry *reg[H_MAX];
	bool quorate[H_MAX];		/* corosync quorum of each node */
	int group[H_MAX];		/* group index of node index i */
	uint32_t gmask[H_MAX];		/* members of group g (bit i: node i+1) */
	struct h_queue q[H_MAX];
	uint64_t next_round;
	uint64_t ring[H_MAX];		/* corosync ring seq each node last saw */
	uint32_t down;			/* nodes whose daemon is not running: in
					 * the corosync partition, not in CPG */
	h_effect_fn *on_effect;
	h_delivered_fn *on_delivered;
	h_prefix_fn *prefix;
	void *ctx;
	bool check_unchanged;		/* compare state bytes on every delivery */
	uint32_t cfg;			/* members of the configuration delivering now */
	char fail[256];			/* first harness-level failure */
	enum vmh_reg_reason last;	/* verdict of the last delivery */
	struct vmh_reg_result res;
};

H_FN void h_failf(struct h_cluster *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
H_FN void h_failf(struct h_cluster *c, const char *fmt, ...)
{
	va_list ap;

	if (c->fail[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->fail, sizeof(c->fail), fmt, ap);
	va_end(ap);
}

H_FN uint32_t h_bit(int node)
{
	return 1u << (node - 1);
}

H_FN void h_push(struct h_queue *q, uint32_t sender, uint8_t *buf, size_t len)
{
	if (q->head + q->n == q->cap) {
		if (q->head) {
			memmove(q->v, q->v + q->head, q->n * sizeof(*q->v));
			q->head = 0;
		} else {
			q->cap = q->cap ? 2 * q->cap : 16;
			q->v = realloc(q->v, q->cap * sizeof(*q->v));
			if (!q->v)
				abort();
		}
	}
	q->v[q->head + q->n++] = (struct h_qmsg){ sender, buf, len };
}

H_FN void h_queue_free(struct h_queue *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(q->v[q->head + i].buf);
	free(q->v);
	memset(q, 0, sizeof(*q));
}

/* Node x's daemon is gone: what it had queued and not yet sent is lost. */
H_FN void h_drop_unsent(struct h_cluster *c, int x)
{
	struct h_queue *q = &c->q[c->group[x - 1]];
	size_t out = 0;

	for (size_t i = 0; i < q->n; i++) {
		struct h_qmsg *qm = &q->v[q->head + i];

		if (qm->sender == (uint32_t)x)
			free(qm->buf);
		else
			q->v[q->head + out++] = *qm;
	}
	q->n = out;
}

H_FN void h_init(struct h_cluster *c, int n)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	c->next_round = 1000;
	for (int i = 0; i < n; i++) {
		c->reg[i] = vmh_reg_new((uint32_t)i + 1, (uint32_t)n);
		c->group[i] = -1;
	}
}

H_FN void h_destroy(struct h_cluster *c)
{
	for (int i = 0; i < c->n; i++)
		vmh_reg_free(c->reg[i]);
	for (int g = 0; g < H_MAX; g++)
		h_queue_free(&c->q[g]);
	vmh_reg_result_clear(&c->res);
}

/* The CPG members of group g: its nodes whose daemon runs. */
H_FN int h_members(const struct h_cluster *c, int g, uint32_t *out)
{
	int k = 0;

	for (int i = 0; i < c->n; i++)
		if ((c->gmask[g] & ~c->down) & (1u << i))
			out[k++] = (uint32_t)i + 1;
	return k;
}

/* Multicast from node into its group's queue (sender's view fills config). */
H_FN void h_send(struct h_cluster *c, int node, struct vmh_msg *m)
{
	uint8_t *buf;
	size_t len;
	int g = c->group[node - 1], r;

	if (g < 0)
		return;
	r = vmh_wire_encode(m, &buf, &len);
	if (r < 0) {
		h_failf(c, "node %d: encode type %d: %d", node, m->type, r);
		return;
	}
	h_push(&c->q[g], (uint32_t)node, buf, len);
}

H_FN void h_react(struct h_cluster *c, int node, const struct vmh_reg_result *res)
{
	struct vmh_registry *reg = c->reg[node - 1];

	for (size_t i = 0; i < res->n_effects; i++) {
		const struct vmh_reg_effect *e = &res->effects[i];
		struct vmh_msg m = { .config = vmh_reg_config(reg) };

		switch (e->type) {
		case VMH_EFF_SEND_SYNC_START:
			m.type = VMH_MSG_SYNC_START;
			m.round = c->next_round++;
			m.ring = e->ring;
			m.n_members = (size_t)h_members(c, c->group[node - 1], m.members);
			h_send(c, node, &m);
			break;
		case VMH_EFF_SEND_SYNC:
			m.type = VMH_MSG_SYNC;
			m.round = e->round;
			m.image = vmh_reg_image(reg);
			h_send(c, node, &m);
			break;
		case VMH_EFF_SEND_QUORUM:
			m.type = VMH_MSG_QUORUM;
			m.quorate = c->quorate[node - 1];
			m.round = vmh_reg_last_round(reg);
			h_send(c, node, &m);
			break;
		default:
			if (c->on_effect)
				c->on_effect(c, node, e);
			break;
		}
	}
}

H_FN bool h_encode_state(struct vmh_registry *reg, uint8_t **buf, size_t *len)
{
	return vmh_wire_encode_image(vmh_reg_image(reg), buf, len) == 0;
}

H_FN uint64_t h_epoch(struct vmh_registry *reg, const char *vm)
{
	struct vmh_vm_info v;

	return vmh_reg_vm(reg, vm, &v) == 0 ? v.epoch : 0;
}

/* Apply one queued message to the nodes in mask (all in one group, or a
 * part of an old group during a partition change). */
H_FN void h_apply_to(struct h_cluster *c, uint32_t mask, const struct h_qmsg *qm)
{
	bool first = true;
	enum vmh_reg_reason agreed = VMH_REG_OK;

	mask &= ~c->down;
	for (int i = 0; i < c->n; i++) {
		struct vmh_registry *reg = c->reg[i];
		uint8_t *before = NULL, *after = NULL;
		size_t blen = 0, alen = 0;
		uint64_t epoch_before = 0;
		bool changed = false;
		struct vmh_msg m;
		int r;

		if (!(mask & (1u << i)))
			continue;
		r = vmh_wire_decode(qm->buf, qm->len, &m);
		if (r < 0) {
			h_failf(c, "node %d: decode: %d", i + 1, r);
			return;
		}
		if (m.type <= VMH_MSG_CONFIG)
			epoch_before = h_epoch(reg, m.vm);
		if (c->check_unchanged && !h_encode_state(reg, &before, &blen))
			h_failf(c, "encode state");
		r = vmh_reg_apply(reg, qm->sender, &m, &c->res);
		if (r < 0)
			h_failf(c, "node %d: apply: %d", i + 1, r);
		if (c->check_unchanged) {
			if (!h_encode_state(reg, &after, &alen))
				h_failf(c, "encode state");
			changed = !before || !after || blen != alen || memcmp(before, after, blen) != 0;
			if (c->res.reason != VMH_REG_OK && changed)
				h_failf(c, "node %d: rejected type %d (%s) but state changed", i + 1,
					m.type, vmh_reg_reason_str(c->res.reason));
		}
		free(before);
		free(after);
		if (first)
			agreed = c->res.reason;
		else if (agreed != c->res.reason)
			h_failf(c, "replicas disagree on type %d from %u: %s vs %s (node %d)", m.type,
				qm->sender, vmh_reg_reason_str(agreed),
				vmh_reg_reason_str(c->res.reason), i + 1);
		first = false;
		c->last = c->res.reason;
		if (c->on_delivered)
			c->on_delivered(c, i + 1, qm->sender, &m, c->res.reason, epoch_before, changed);
		h_react(c, i + 1, &c->res);
		vmh_wire_msg_clear(&m);
	}
}

/* Deliver the head of group g's queue. false if empty. */
H_FN bool h_step(struct h_cluster *c, int g)
{
	struct h_qmsg qm;

	if (c->q[g].n == 0)
		return false;
	qm = c->q[g].v[c->q[g].head];
	c->q[g].head++;
	c->q[g].n--;
	c->cfg = c->gmask[g];
	h_apply_to(c, c->gmask[g], &qm);
	free(qm.buf);
	return true;
}

H_FN void h_run(struct h_cluster *c, int g)
{
	for (int guard = 0; guard < 100000 && h_step(c, g); guard++)
		;
}

H_FN void h_run_all(struct h_cluster *c)
{
	bool any = true;

	while (any) {
		any = false;
		for (int g = 0; g < H_MAX; g++)
			if (c->q[g].n) {
				h_run(c, g);
				any = true;
			}
	}
}

H_FN void h_set_quorate(struct h_cluster *c, int node, bool q)
{
	c->quorate[node - 1] = q;
	if (vmh_reg_set_quorate(c->reg[node - 1], q, &c->res) < 0)
		h_failf(c, "set_quorate");
	h_react(c, node, &c->res);
}

/* A new totem ring for the nodes in mask, numbered as corosync does: above
 * every ring any of them saw. */
H_FN uint64_t h_new_ring(struct h_cluster *c, uint32_t mask)
{
	uint64_t ring = 0;

	for (int i = 0; i < c->n; i++)
		if ((mask & (1u << i)) && c->ring[i] > ring)
			ring = c->ring[i];
	ring += 4;
	for (int i = 0; i < c->n; i++)
		if (mask & (1u << i))
			c->ring[i] = ring;
	return ring;
}

/* The CPG members[0..k) go through a configuration change to exactly that
 * set; ring 0: a new totem ring for the partition's nodes (nodes, a mask:
 * also those whose daemon is down), else a CPG-only change in that ring.
 * Corosync's quorum counts nodes, not daemons. */
H_FN void h_confchg(struct h_cluster *c, const uint32_t *members, int k, const uint32_t *left,
		    int nl, uint32_t nodes, uint64_t ring)
{
	int n_nodes = __builtin_popcount(nodes);

	if (!ring)
		ring = h_new_ring(c, nodes);
	for (int j = 0; j < k; j++) {
		int node = (int)members[j];

		if (vmh_reg_membership(c->reg[node - 1], ring, members, (size_t)k, left, (size_t)nl,
				       &c->res) < 0)
			h_failf(c, "membership");
		h_react(c, node, &c->res);
	}
	for (int j = 0; j < k; j++)
		h_set_quorate(c, (int)members[j], 2 * n_nodes > c->n);
	for (int i = 0; i < c->n; i++)
		if (nodes & c->down & (1u << i))
			c->quorate[i] = 2 * n_nodes > c->n;
}

/*
 * New partition: group_of[i] is the new group of node i+1 (0..n-1).
 * clean: nodes whose departure from their old group is a clean CPG leave.
 * Groups whose membership does not change get no configuration change.
 */
H_FN void h_partition(struct h_cluster *c, const int *group_of, uint32_t clean)
{
	uint32_t newmask[H_MAX] = { 0 };
	struct h_queue old[H_MAX], fresh[H_MAX];
	uint32_t oldmask[H_MAX];
	bool same[H_MAX] = { false };

	for (int i = 0; i < c->n; i++)
		newmask[group_of[i]] |= 1u << i;
	memcpy(oldmask, c->gmask, sizeof(oldmask));
	memcpy(old, c->q, sizeof(old));
	memset(fresh, 0, sizeof(fresh));
	/* An unchanged group keeps its queue and sees nothing. */
	for (int ng = 0; ng < H_MAX; ng++)
		for (int og = 0; og < H_MAX && newmask[ng]; og++)
			if (oldmask[og] == newmask[ng]) {
				same[ng] = true;
				fresh[ng] = old[og];
				memset(&old[og], 0, sizeof(old[og]));
				oldmask[og] = 0;
				break;
			}
	/* The late tail goes to the sender's new group. */
	size_t cut[H_MAX][H_MAX];
	for (int og = 0; og < H_MAX; og++)
		for (int ng = 0; ng < H_MAX; ng++) {
			size_t len = old[og].n;

			cut[og][ng] = 0;
			if (!(oldmask[og] & newmask[ng]) || same[ng])
				continue;
			cut[og][ng] = c->prefix ? c->prefix(c, oldmask[og], newmask[ng], len) : 0;
			if (cut[og][ng] > len)
				cut[og][ng] = len;
		}
	for (int og = 0; og < H_MAX; og++)
		for (size_t k = 0; k < old[og].n; k++) {
			struct h_qmsg *qm = &old[og].v[old[og].head + k];
			int ng = group_of[qm->sender - 1];

			if (same[ng] || !(oldmask[og] & newmask[ng]) || k < cut[og][ng])
				continue;
			uint8_t *copy = malloc(qm->len);
			if (!copy)
				abort();
			memcpy(copy, qm->buf, qm->len);
			h_push(&fresh[ng], qm->sender, copy, qm->len);
		}
	/* Now the new groups exist; reactions go into their queues. */
	memcpy(c->gmask, newmask, sizeof(newmask));
	memcpy(c->q, fresh, sizeof(fresh));
	for (int i = 0; i < c->n; i++)
		c->group[i] = group_of[i];
	for (int og = 0; og < H_MAX; og++)
		for (int ng = 0; ng < H_MAX; ng++)
			for (size_t k = 0; k < cut[og][ng]; k++) {
				c->cfg = oldmask[og];	/* still the old configuration */
				h_apply_to(c, oldmask[og] & newmask[ng], &old[og].v[old[og].head + k]);
			}
	for (int og = 0; og < H_MAX; og++)
		h_queue_free(&old[og]);
	for (int ng = 0; ng < H_MAX; ng++) {
		uint32_t members[H_MAX], left[H_MAX];
		int k, nl = 0;

		if (!newmask[ng] || same[ng])
			continue;
		k = h_members(c, ng, members);
		for (int i = 0; i < c->n; i++)
			if ((clean & (1u << i)) && !(newmask[ng] & (1u << i)))
				left[nl++] = (uint32_t)i + 1;
		h_confchg(c, members, k, left, nl, newmask[ng], 0);
	}
}

/* Convenience for scripted tests: groups given as bit masks, then run
 * every queue to quiescence (the sync rounds complete). */
H_FN void h_split(struct h_cluster *c, uint32_t m0, uint32_t m1, uint32_t m2, uint32_t clean)
{
	int group_of[H_MAX];
	const uint32_t masks[3] = { m0, m1, m2 };

	for (int i = 0; i < c->n; i++) {
		group_of[i] = -1;
		for (int g = 0; g < 3; g++)
			if (masks[g] & (1u << i))
				group_of[i] = g;
		if (group_of[i] < 0)
			group_of[i] = 3 + i;	/* alone */
	}
	h_partition(c, group_of, clean);
}

#endif
