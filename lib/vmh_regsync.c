/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The registry's sync round (part of the vmh_registry module): after every
 * membership change the lowest member's SYNC_START opens a round, every
 * member answers with its full state, and when all answers are delivered
 * every replica folds them, in delivery order, into the same new state.
 * See vmh_registry.h for why, and vmh_regimage.c for the merge.
 */
#include "vmh_registry_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum vmh_reg_reason vmh_regsync_start(struct vmh_registry *reg, uint32_t sender,
				      const struct vmh_msg *msg, struct vmh_reg_result *res)
{
	uint32_t list[VMH_REG_MAX_NODES];
	size_t n = msg->n_members;

	if (msg->round == 0 || n > VMH_REG_MAX_NODES)
		return VMH_REG_R_MALFORMED;
	if (!reg->syncing)
		return VMH_REG_R_STALE_ROUND;
	if (sender != reg->members[0])
		return VMH_REG_R_NOT_LEADER;
	/*
	 * corosync does not tell every member the ring of a CPG change at the
	 * same point of its stream: a member may still hold the previous
	 * ring's id when the change is delivered (seen with corosync 3.1: the
	 * totem notification can come after the CPG change). So the leader's
	 * SYNC_START names the ring for everyone: a member whose own view is
	 * newer refuses it (the leader sends a new SYNC_START when it learns
	 * the newer ring), a member whose view is older adopts it, departures
	 * of this change included, so every replica keys the change alike.
	 */
	if (msg->ring < reg->st.ring)
		return VMH_REG_R_STALE_ROUND;
	memcpy(list, msg->members, n * sizeof(*list));
	vmh_regint_sort_unique(list, &n);
	/* Sent for another membership: a newer SYNC_START will follow. */
	if (n != reg->n_members || memcmp(list, reg->members, n * sizeof(*list)) != 0)
		return VMH_REG_R_STALE_ROUND;
	if (msg->ring != reg->st.ring) {
		for (size_t i = 0; i < reg->st.n_nodes; i++) {
			struct vmh_node_info *node = &reg->st.nodes[i];

			if (!node->member && node->left == reg->change_ring)
				node->left = msg->ring;
		}
		reg->st.ring = msg->ring;
		reg->change_ring = msg->ring;
	}
	reg->round_started = true;
	reg->round = msg->round;
	memset(reg->awaited, 0, sizeof(reg->awaited));
	memset(reg->reply_quorate, 0, sizeof(reg->reply_quorate));
	for (size_t i = 0; i < reg->n_members; i++)
		reg->awaited[i] = true;
	reg->reply_voters = 0;
	vmh_reg_image_free(&reg->acc);
	vmh_regimg_effect(res, VMH_EFF_SEND_SYNC, NULL, 0, msg->round);
	return VMH_REG_OK;
}

static bool image_members_match(const struct vmh_registry *reg, const struct vmh_reg_image *img)
{
	size_t k = 0;

	for (size_t i = 0; i < img->n_nodes; i++) {
		if (!img->nodes[i].member)
			continue;
		if (k >= reg->n_members || reg->members[k] != img->nodes[i].nodeid)
			return false;
		k++;
	}
	return k == reg->n_members;
}

/* All replies are in: the fold becomes the state, on every replica alike. */
static int sync_finish(struct vmh_registry *reg, struct vmh_reg_result *res)
{
	struct vmh_reg_image *acc = &reg->acc;
	const struct vmh_node_info *me;
	int r;

	r = vmh_regimg_reserve(res, reg->st.n_vms + acc->n_vms + 2);
	if (r < 0)
		return r;
	/* Members without an entry in any reply can not exist (every reply
	 * lists the members), but make room rather than trust it. */
	for (size_t i = 0; i < reg->n_members; i++) {
		long at = vmh_regimg_find_node(acc, reg->members[i]);

		if (at < 0 && !vmh_regimg_insert_node(acc, (size_t)(-at - 1)))
			return -ENOMEM;
		if (at < 0)
			acc->nodes[-at - 1].nodeid = reg->members[i];
	}
	for (size_t i = 0; i < acc->n_nodes; i++) {
		struct vmh_node_info *n = &acc->nodes[i];
		long m = vmh_regint_member_index(reg, n->nodeid);

		n->member = m >= 0;
		n->quorate = m >= 0 && reg->reply_quorate[m];
		if (m >= 0) {
			n->left = 0;
			n->clean = false;
		}
	}
	{
		/* Effects: walk both name-sorted lists. */
		size_t i = 0, j = 0;

		while (i < reg->st.n_vms || j < acc->n_vms) {
			const struct vmh_vm_info *b = i < reg->st.n_vms ? &reg->st.vms[i] : NULL;
			const struct vmh_vm_info *a = j < acc->n_vms ? &acc->vms[j] : NULL;
			int c = !b ? 1 : !a ? -1 : strcmp(b->name, a->name);

			if (c < 0) {
				vmh_regint_transition(res, b->name, b, NULL, reg->st.author, false, false);
				i++;
			} else if (c > 0) {
				j++;
			} else {
				vmh_regint_transition(res, b->name, b, a, reg->st.author, false, false);
				i++;
				j++;
			}
		}
	}
	/* The ring, unless a member's saved state is from a higher ring (its
	 * corosync lost the ring id): every replica takes the same max. */
	if (acc->config < reg->st.ring)
		acc->config = reg->st.ring;
	acc->ring = acc->config;
	acc->author = reg->st.author;
	acc->voters = reg->st.voters;
	acc->quorate = reg->st.quorate;
	vmh_reg_image_free(&reg->st);
	reg->st = *acc;
	memset(acc, 0, sizeof(*acc));
	reg->voters_agreed = reg->reply_voters > reg->n_members ? reg->reply_voters
								: (uint32_t)reg->n_members;
	reg->syncing = false;
	reg->round_started = false;
	reg->last_round = reg->round;
	reg->round = 0;
	vmh_regimg_effect(res, VMH_EFF_SYNCED, NULL, 0, reg->last_round);
	me = vmh_regint_node_of(reg, reg->st.author);
	if (me && me->quorate != reg->st.quorate)
		vmh_regimg_effect(res, VMH_EFF_SEND_QUORUM, NULL, 0, reg->last_round);
	return 0;
}

int vmh_regsync_reply(struct vmh_registry *reg, uint32_t sender, const struct vmh_msg *msg,
		      struct vmh_reg_result *res)
{
	const struct vmh_reg_image *img = msg->image;
	long m = vmh_regint_member_index(reg, sender);
	unsigned conflicts = 0;
	int r;

	if (!reg->syncing || !reg->round_started || msg->round != reg->round)
		return vmh_regint_reject(res, VMH_REG_R_STALE_ROUND);
	if (!img || img->author != sender || vmh_reg_image_check(img) < 0)
		return vmh_regint_reject(res, VMH_REG_R_MALFORMED);
	if (m < 0 || !reg->awaited[m] || img->ring != reg->st.ring ||
	    !image_members_match(reg, img))
		return vmh_regint_reject(res, VMH_REG_R_STALE_ROUND);
	r = vmh_reg_image_merge(&reg->acc, img, &conflicts, res);
	if (r < 0)
		return r;
	reg->awaited[m] = false;
	reg->reply_quorate[m] = img->quorate;
	if (img->voters > reg->reply_voters)
		reg->reply_voters = img->voters;
	for (size_t i = 0; i < reg->n_members; i++)
		if (reg->awaited[i])
			return 0;
	return sync_finish(reg, res);
}
