/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The registry state machine: membership, quorum, and the per-VM rules of
 * the state table in vmh_registry.h (the sync round is vmh_regsync.c, the
 * images and their merge vmh_regimage.c).
 *
 * Every input first checks everything and reserves the memory it may need,
 * then changes the state: a rejected message leaves the state exactly as
 * it was, on every replica alike.
 */
#include "vmh_registry_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct vmh_registry *vmh_reg_new(uint32_t self, uint32_t voters)
{
	struct vmh_registry *reg;

	if (self == 0 || voters == 0)
		return NULL;
	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return NULL;
	reg->st.author = self;
	reg->st.voters = voters;
	reg->voters_agreed = voters;
	return reg;
}

void vmh_reg_free(struct vmh_registry *reg)
{
	if (!reg)
		return;
	vmh_reg_image_free(&reg->st);
	vmh_reg_image_free(&reg->acc);
	free(reg);
}

int vmh_reg_load(struct vmh_registry *reg, const struct vmh_reg_image *img)
{
	struct vmh_reg_image copy;
	int r;

	if (reg->used)
		return -EBUSY;
	if (vmh_reg_image_check(img) < 0)
		return -EINVAL;
	r = vmh_regimg_copy(&copy, img);
	if (r < 0)
		return r;
	/* Members stay members until the first membership change records
	 * their departure (vmh_reg_membership); nobody's quorum is known. */
	for (size_t i = 0; i < copy.n_nodes; i++)
		copy.nodes[i].quorate = false;
	copy.author = reg->st.author;
	copy.voters = reg->st.voters;
	copy.quorate = reg->st.quorate;
	vmh_reg_image_free(&reg->st);
	reg->st = copy;
	return 0;
}

long vmh_regint_member_index(const struct vmh_registry *reg, uint32_t nodeid)
{
	for (size_t i = 0; i < reg->n_members; i++)
		if (reg->members[i] == nodeid)
			return (long)i;
	return -1;
}

static bool is_member(const struct vmh_registry *reg, uint32_t nodeid)
{
	return vmh_regint_member_index(reg, nodeid) >= 0;
}

const struct vmh_node_info *vmh_regint_node_of(const struct vmh_registry *reg, uint32_t nodeid)
{
	long at = vmh_regimg_find_node(&reg->st, nodeid);

	return at >= 0 ? &reg->st.nodes[at] : NULL;
}

/* The configuration's quorum, as every member agrees on it. */
static bool agreed_quorate(const struct vmh_registry *reg)
{
	uint32_t voters = reg->voters_agreed;

	if (!reg->in_config || reg->syncing)
		return false;
	if (reg->n_members > voters)
		voters = (uint32_t)reg->n_members;
	if (reg->n_members * 2 <= voters)
		return false;
	for (size_t i = 0; i < reg->n_members; i++) {
		const struct vmh_node_info *n = vmh_regint_node_of(reg, reg->members[i]);

		if (!n || !n->quorate)
			return false;
	}
	return true;
}

/* A witness (fencing, or expiry if the VM allows it) for X's last departure. */
static bool witnessed(const struct vmh_registry *reg, uint32_t x, bool require_fencing)
{
	const struct vmh_node_info *n = vmh_regint_node_of(reg, x);

	if (!n || n->member || n->left == 0)
		return false;
	return n->fenced_for == n->left ||
	       (!require_fencing && !n->clean && n->expired_for == n->left);
}

static bool present_or_witnessed(const struct vmh_registry *reg, uint32_t x, bool require_fencing)
{
	return is_member(reg, x) || witnessed(reg, x, require_fencing);
}

/* No node that left unannounced can be running something we did not see. */
static bool settled(const struct vmh_registry *reg)
{
	for (size_t i = 0; i < reg->st.n_nodes; i++) {
		const struct vmh_node_info *n = &reg->st.nodes[i];

		if (n->member || n->left == 0 || n->clean)
			continue;
		if (n->fenced_for != n->left && n->expired_for != n->left)
			return false;
	}
	return true;
}

enum role { ROLE_NONE, ROLE_OWNER, ROLE_SRC, ROLE_DST };

static enum role role_of(const struct vmh_vm_info *v, uint32_t self)
{
	if (!v)
		return ROLE_NONE;
	if (v->state == VMH_VM_RUNNING && v->owner == self)
		return ROLE_OWNER;
	if (v->state == VMH_VM_MIGRATING && v->owner == self)
		return ROLE_SRC;
	if (v->state == VMH_VM_MIGRATING && v->dst == self)
		return ROLE_DST;
	return ROLE_NONE;
}

/*
 * What this node must do when a VM goes from before to after. A decided
 * message (resume == true) may resume a copy: COMMIT resumes the
 * destination, ABORT the source. A sync (resume == false) only ever takes
 * a role away: it can not tell how our copy relates to the winning
 * version, so it never resumes one; pacemaker's recovery starts it.
 */
void vmh_regint_transition(struct vmh_reg_result *res, const char *name,
		       const struct vmh_vm_info *before, const struct vmh_vm_info *after,
		       uint32_t self, bool resume, bool released)
{
	enum role b = role_of(before, self), a = role_of(after, self);
	uint64_t epoch = after ? after->epoch : 0;

	switch (b) {
	case ROLE_NONE:
		break;
	case ROLE_OWNER:
		if (a != ROLE_OWNER && a != ROLE_SRC && !released)
			vmh_regimg_effect(res, VMH_EFF_REVOKE_LOCAL, name, epoch, 0);
		break;
	case ROLE_SRC:
		if (a == ROLE_OWNER && resume)
			vmh_regimg_effect(res, VMH_EFF_RESUME_SOURCE, name, epoch, 0);
		else if (a == ROLE_NONE || a == ROLE_DST)
			vmh_regimg_effect(res, VMH_EFF_ENSURE_NO_SOURCE, name, epoch, 0);
		break;
	case ROLE_DST:
		if (a == ROLE_OWNER && resume)
			vmh_regimg_effect(res, VMH_EFF_RESUME_LOCAL, name, epoch, 0);
		else if (a == ROLE_NONE || a == ROLE_SRC)
			vmh_regimg_effect(res, VMH_EFF_ENSURE_NO_DEST, name, epoch, 0);
		break;
	}
}

void vmh_regint_sort_unique(uint32_t *v, size_t *n)
{
	size_t out = 0;

	for (size_t i = 1; i < *n; i++)		/* insertion sort: n <= 128 */
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint32_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	for (size_t i = 0; i < *n; i++)
		if (out == 0 || v[out - 1] != v[i])
			v[out++] = v[i];
	*n = out;
}

void vmh_regint_result_reset(struct vmh_reg_result *res)
{
	res->reason = VMH_REG_OK;
	res->n_effects = 0;
}

/* The verdict of a message; the input itself went fine. */
int vmh_regint_reject(struct vmh_reg_result *res, enum vmh_reg_reason why)
{
	res->reason = why;
	return 0;
}

int vmh_reg_membership(struct vmh_registry *reg, uint64_t ring, const uint32_t *members,
		       size_t n, const uint32_t *clean_left, size_t n_clean,
		       struct vmh_reg_result *res)
{
	uint32_t next[VMH_REG_MAX_NODES];
	size_t n_next = n, n_new = 0;
	int r;

	vmh_regint_result_reset(res);
	if (ring == 0 || n > VMH_REG_MAX_NODES || (n && !members) || (n_clean && !clean_left))
		return -EINVAL;
	if (ring < reg->st.ring)
		return -ERANGE;
	memcpy(next, members, n * sizeof(*next));
	vmh_regint_sort_unique(next, &n_next);
	if (n_next && next[0] == 0)
		return -EINVAL;
	/* Reserve node entries for new members first: nothing may fail after
	 * the first change. */
	for (size_t i = 0; i < n_next; i++)
		if (vmh_regimg_find_node(&reg->st, next[i]) < 0)
			n_new++;
	if (reg->st.n_nodes + n_new > VMH_REG_MAX_NODES)
		return -E2BIG;
	r = vmh_regimg_reserve(res, 1);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_next; i++) {
		long at = vmh_regimg_find_node(&reg->st, next[i]);
		struct vmh_node_info *node;

		if (at >= 0)
			continue;
		node = vmh_regimg_insert_node(&reg->st, (size_t)(-at - 1));
		if (!node)
			return -ENOMEM;	/* only empty entries were added */
		node->nodeid = next[i];
	}

	for (size_t i = 0; i < reg->st.n_nodes; i++) {
		struct vmh_node_info *node = &reg->st.nodes[i];
		bool now = false, clean = false;

		for (size_t j = 0; j < n_next; j++)
			now = now || next[j] == node->nodeid;
		if (now) {
			node->member = true;
			node->left = 0;
			node->clean = false;
			continue;
		}
		if (!node->member)
			continue;
		/* Departed in this change: the ring marks it, so no witness of
		 * an earlier departure counts for this one. */
		for (size_t j = 0; j < n_clean; j++)
			clean = clean || clean_left[j] == node->nodeid;
		node->member = false;
		node->left = ring;
		node->clean = clean;
		node->quorate = false;
	}

	memcpy(reg->members, next, n_next * sizeof(*next));
	reg->n_members = n_next;
	reg->st.ring = ring;
	reg->change_ring = ring;
	reg->used = true;
	reg->in_config = is_member(reg, reg->st.author);
	reg->syncing = true;
	reg->round_started = false;
	reg->round = 0;
	vmh_reg_image_free(&reg->acc);
	if (reg->in_config && reg->members[0] == reg->st.author) {
		vmh_regimg_effect(res, VMH_EFF_SEND_SYNC_START, NULL, 0, 0);
		res->effects[res->n_effects - 1].ring = ring;
	}
	return 0;
}

int vmh_reg_set_quorate(struct vmh_registry *reg, bool quorate, struct vmh_reg_result *res)
{
	const struct vmh_node_info *me;
	bool was = reg->st.quorate;
	int r;

	vmh_regint_result_reset(res);
	r = vmh_regimg_reserve(res, reg->st.n_vms + 1);
	if (r < 0)
		return r;
	reg->st.quorate = quorate;
	if ((was || !reg->quorum_known) && !quorate)
		for (size_t i = 0; i < reg->st.n_vms; i++) {
			const struct vmh_vm_info *v = &reg->st.vms[i];

			if (role_of(v, reg->st.author) != ROLE_NONE)
				vmh_regimg_effect(res, VMH_EFF_PAUSE_LOCAL, v->name, v->epoch, 0);
		}
	reg->quorum_known = true;
	/* During a round the reply carries it; the round's end re-checks. */
	me = vmh_regint_node_of(reg, reg->st.author);
	if (reg->in_config && !reg->syncing && me && me->quorate != quorate)
		vmh_regimg_effect(res, VMH_EFF_SEND_QUORUM, NULL, 0, reg->last_round);
	return 0;
}

/* ---- VM records ------------------------------------------------------- */

static bool uuid_zero(const uint8_t u[16])
{
	static const uint8_t zero[16];

	return memcmp(u, zero, 16) == 0;
}

static enum vmh_reg_reason check_claim(const struct vmh_registry *reg, uint32_t n,
				       const struct vmh_vm_info *v)
{
	switch (v->state) {
	case VMH_VM_STOPPED:
		return settled(reg) ? VMH_REG_OK : VMH_REG_R_UNSETTLED;
	case VMH_VM_RUNNING:
		if (v->owner == n)
			return VMH_REG_OK;
		if (is_member(reg, v->owner))
			return VMH_REG_R_OWNER_PRESENT;
		if (!witnessed(reg, v->owner, v->require_fencing))
			return VMH_REG_R_NO_WITNESS;
		return settled(reg) ? VMH_REG_OK : VMH_REG_R_UNSETTLED;
	case VMH_VM_MIGRATING:
		if (v->dst == n)
			return VMH_REG_R_STATE;		/* COMMIT or ABORT it */
		if (v->owner == n) {
			if (!present_or_witnessed(reg, v->dst, v->require_fencing))
				return VMH_REG_R_NO_WITNESS;
		} else {
			if (is_member(reg, v->owner) || is_member(reg, v->dst))
				return VMH_REG_R_OWNER_PRESENT;
			if (!witnessed(reg, v->owner, v->require_fencing) ||
			    !witnessed(reg, v->dst, v->require_fencing))
				return VMH_REG_R_NO_WITNESS;
		}
		return settled(reg) ? VMH_REG_OK : VMH_REG_R_UNSETTLED;
	}
	return VMH_REG_R_STATE;
}

/* The new content of v if msg is accepted, else the reason. */
static enum vmh_reg_reason decide_vm(const struct vmh_registry *reg, uint32_t n,
				     const struct vmh_msg *msg, const struct vmh_vm_info *v,
				     struct vmh_vm_info *next)
{
	enum vmh_reg_reason why;

	*next = *v;
	switch (msg->type) {
	case VMH_MSG_CLAIM:
		if (!uuid_zero(msg->uuid) && !uuid_zero(v->uuid) &&
		    memcmp(msg->uuid, v->uuid, 16) != 0)
			return VMH_REG_R_UUID;
		why = check_claim(reg, n, v);
		if (why != VMH_REG_OK)
			return why;
		next->state = VMH_VM_RUNNING;
		next->owner = n;
		next->dst = 0;
		next->require_fencing = msg->require_fencing;
		if (!uuid_zero(msg->uuid))
			memcpy(next->uuid, msg->uuid, 16);
		return VMH_REG_OK;
	case VMH_MSG_RELEASE:
		if (v->state != VMH_VM_RUNNING)
			return VMH_REG_R_STATE;
		if (v->owner != n)
			return VMH_REG_R_NOT_OWNER;
		next->state = VMH_VM_STOPPED;
		next->owner = 0;
		return VMH_REG_OK;
	case VMH_MSG_HANDOFF_BEGIN:
		if (v->state != VMH_VM_RUNNING)
			return VMH_REG_R_STATE;
		if (v->owner != n)
			return VMH_REG_R_NOT_OWNER;
		if (msg->node == 0 || msg->node == n || !is_member(reg, msg->node))
			return VMH_REG_R_DST;
		next->state = VMH_VM_MIGRATING;
		next->dst = msg->node;
		return VMH_REG_OK;
	case VMH_MSG_HANDOFF_COMMIT:
	case VMH_MSG_HANDOFF_ABORT:
		if (v->state != VMH_VM_MIGRATING)
			return VMH_REG_R_STATE;
		if (n != v->owner && n != v->dst)
			return VMH_REG_R_NOT_OWNER;
		/* The side that would lose its copy must be here to destroy
		 * it, or certified paused/fenced. */
		if (!present_or_witnessed(reg, msg->type == VMH_MSG_HANDOFF_COMMIT ? v->owner : v->dst,
					  v->require_fencing))
			return VMH_REG_R_NO_WITNESS;
		if (!settled(reg))
			return VMH_REG_R_UNSETTLED;
		next->state = VMH_VM_RUNNING;
		if (msg->type == VMH_MSG_HANDOFF_COMMIT)
			next->owner = v->dst;
		next->dst = 0;
		return VMH_REG_OK;
	case VMH_MSG_CONFIG:
		/* A stopped VM has no owner: any member may set the config
		 * the next start uses. A migrating one: see the table. */
		if (v->state == VMH_VM_STOPPED)
			return VMH_REG_OK;
		if (v->state != VMH_VM_RUNNING)
			return VMH_REG_R_STATE;
		if (v->owner != n)
			return VMH_REG_R_NOT_OWNER;
		return VMH_REG_OK;
	default:
		return VMH_REG_R_TYPE;
	}
}

static bool xml_ok(const struct vmh_msg *msg)
{
	if (msg->type != VMH_MSG_CLAIM && msg->type != VMH_MSG_CONFIG)
		return true;	/* no XML in the record; ignored */
	if (msg->xml_len == 0)
		return msg->type != VMH_MSG_CONFIG;
	return msg->xml && msg->xml_len <= VMH_REG_XML_MAX &&
	       memchr(msg->xml, '\0', msg->xml_len) == NULL;
}

static int apply_vm(struct vmh_registry *reg, uint32_t n, const struct vmh_msg *msg,
		    struct vmh_reg_result *res)
{
	size_t len = strnlen(msg->vm, sizeof(msg->vm));
	struct vmh_vm_info next, before, *v;
	bool new_xml = (msg->type == VMH_MSG_CLAIM || msg->type == VMH_MSG_CONFIG) &&
		       msg->xml_len > 0;
	long at;
	int r;

	if (len == sizeof(msg->vm) || !vmh_reg_name_ok(msg->vm, len) || !xml_ok(msg))
		return vmh_regint_reject(res, VMH_REG_R_MALFORMED);
	at = vmh_regimg_find_vm(&reg->st, msg->vm);
	if (at < 0) {
		if (msg->type != VMH_MSG_CLAIM && msg->type != VMH_MSG_CONFIG)
			return vmh_regint_reject(res, VMH_REG_R_STATE);
		if (msg->expect != 0)
			return vmh_regint_reject(res, VMH_REG_R_STALE_EPOCH);
		if (reg->st.n_vms >= VMH_REG_MAX_VMS)
			return vmh_regint_reject(res, VMH_REG_R_FULL);
		/* a claim needs settled; a config of a VM nobody runs does not */
		if (msg->type == VMH_MSG_CLAIM && !settled(reg))
			return vmh_regint_reject(res, VMH_REG_R_UNSETTLED);
		memset(&next, 0, sizeof(next));
		memcpy(next.name, msg->vm, len);
		if (msg->type == VMH_MSG_CLAIM) {
			next.state = VMH_VM_RUNNING;
			next.owner = n;
			next.require_fencing = msg->require_fencing;
		} else {
			next.state = VMH_VM_STOPPED;
		}
		memcpy(next.uuid, msg->uuid, 16);
		next.epoch = 1;
		next.vkey_config = reg->st.config;
		next.vkey_epoch = 1;
		r = vmh_regimg_set_xml(&next, new_xml ? msg->xml : "", new_xml ? msg->xml_len : 0);
		if (r < 0)
			return r;
		v = vmh_regimg_insert_vm(&reg->st, (size_t)(-at - 1));
		if (!v) {
			free(next.xml);
			return -ENOMEM;
		}
		*v = next;
		return 0;
	}
	v = &reg->st.vms[at];
	if (msg->expect != v->epoch)
		return vmh_regint_reject(res, VMH_REG_R_STALE_EPOCH);
	if (v->epoch == UINT64_MAX)
		return vmh_regint_reject(res, VMH_REG_R_STATE);
	res->reason = decide_vm(reg, n, msg, v, &next);
	if (res->reason != VMH_REG_OK)
		return 0;
	before = *v;
	if (new_xml) {
		/* set_xml frees the old text: keep before's pointer valid
		 * by swapping in a fresh copy only here. */
		char *old = v->xml;

		next.xml = NULL;
		r = vmh_regimg_set_xml(&next, msg->xml, msg->xml_len);
		if (r < 0)
			return r;
		free(old);
		before.xml = NULL;
	}
	next.epoch = v->epoch + 1;
	next.vkey_config = reg->st.config;
	next.vkey_epoch = next.epoch;
	*v = next;
	vmh_regint_transition(res, v->name, &before, v, reg->st.author, true,
		   msg->type == VMH_MSG_RELEASE);
	return 0;
}

/* ---- node records ----------------------------------------------------- */

static enum vmh_reg_reason apply_witness(struct vmh_registry *reg, const struct vmh_msg *msg)
{
	long at = vmh_regimg_find_node(&reg->st, msg->node);
	struct vmh_node_info *n;

	if (msg->node == 0)
		return VMH_REG_R_MALFORMED;
	if (is_member(reg, msg->node))
		return VMH_REG_R_NODE_PRESENT;
	if (at < 0 || reg->st.nodes[at].left == 0 || reg->st.nodes[at].left != msg->departure)
		return VMH_REG_R_DEPARTURE;
	n = &reg->st.nodes[at];
	if (msg->type == VMH_MSG_NODE_FENCED) {
		if (n->fenced_for == n->left)
			return VMH_REG_R_DUPLICATE;
		n->fenced_for = n->left;
		if (msg->fence_time > n->fence_time)
			n->fence_time = msg->fence_time;
	} else {
		/* The node's guests may run on, unsupervised. */
		if (n->clean)
			return VMH_REG_R_NOT_EXPIRABLE;
		if (n->expired_for == n->left)
			return VMH_REG_R_DUPLICATE;
		n->expired_for = n->left;
	}
	return VMH_REG_OK;
}

static enum vmh_reg_reason apply_address(struct vmh_registry *reg, uint32_t sender,
					 const struct vmh_msg *msg)
{
	size_t len = strnlen(msg->addr, sizeof(msg->addr));
	long at = vmh_regimg_find_node(&reg->st, sender);
	struct vmh_node_info *n;

	if (len == sizeof(msg->addr) || !vmh_reg_addr_ok(msg->addr, len))
		return VMH_REG_R_MALFORMED;
	if (msg->node != sender)
		return VMH_REG_R_NOT_OWNER;	/* each publishes its own */
	if (at < 0)
		return VMH_REG_R_SENDER;
	n = &reg->st.nodes[at];
	if (strcmp(n->addr, msg->addr) == 0)
		return VMH_REG_R_DUPLICATE;
	memset(n->addr, 0, sizeof(n->addr));
	memcpy(n->addr, msg->addr, len);
	n->addr_config = reg->st.config;
	return VMH_REG_OK;
}

static enum vmh_reg_reason apply_quorum(struct vmh_registry *reg, uint32_t sender,
					const struct vmh_msg *msg)
{
	long at = vmh_regimg_find_node(&reg->st, sender);

	/* A report sent before the last round is older than the one the
	 * sender's SYNC reply carried. */
	if (msg->round != reg->last_round)
		return VMH_REG_R_STALE_CONFIG;
	if (at < 0)
		return VMH_REG_R_SENDER;
	if (reg->st.nodes[at].quorate == msg->quorate)
		return VMH_REG_R_DUPLICATE;
	reg->st.nodes[at].quorate = msg->quorate;
	return VMH_REG_OK;
}

int vmh_reg_apply(struct vmh_registry *reg, uint32_t sender, const struct vmh_msg *msg,
		  struct vmh_reg_result *res)
{
	int r;

	vmh_regint_result_reset(res);
	if (!reg || !msg)
		return -EINVAL;
	r = vmh_regimg_reserve(res, 4);
	if (r < 0)
		return r;
	if (msg->type < VMH_MSG_CLAIM || msg->type > VMH_MSG_TYPE_MAX)
		return vmh_regint_reject(res, VMH_REG_R_TYPE);
	if (!reg->in_config)
		return vmh_regint_reject(res, VMH_REG_R_NOT_IN_CONFIG);
	if (!is_member(reg, sender))
		return vmh_regint_reject(res, VMH_REG_R_SENDER);
	if (msg->type == VMH_MSG_SYNC_START)
		return vmh_regint_reject(res, vmh_regsync_start(reg, sender, msg, res));
	if (msg->type == VMH_MSG_SYNC)
		return vmh_regsync_reply(reg, sender, msg, res);
	if (reg->syncing)
		return vmh_regint_reject(res, VMH_REG_R_SYNCING);
	if (msg->config > reg->st.config)
		return vmh_regint_reject(res, VMH_REG_R_FUTURE);
	if (msg->type == VMH_MSG_QUORUM)
		return vmh_regint_reject(res, apply_quorum(reg, sender, msg));
	if (!agreed_quorate(reg))
		return vmh_regint_reject(res, VMH_REG_R_NO_QUORUM);
	switch (msg->type) {
	case VMH_MSG_NODE_FENCED:
	case VMH_MSG_NODE_EXPIRED:
		res->reason = apply_witness(reg, msg);
		return 0;
	case VMH_MSG_ADDRESS:
		res->reason = apply_address(reg, sender, msg);
		return 0;
	default:
		return apply_vm(reg, sender, msg, res);
	}
}

/* ---- queries ---------------------------------------------------------- */

bool vmh_reg_may_run(const struct vmh_registry *reg, const char *vm, uint32_t node)
{
	long at;

	if (!reg || !vm || !reg->st.quorate || !agreed_quorate(reg))
		return false;
	at = vmh_regimg_find_vm(&reg->st, vm);
	return at >= 0 && reg->st.vms[at].state == VMH_VM_RUNNING && reg->st.vms[at].owner == node;
}

int vmh_reg_vm(const struct vmh_registry *reg, const char *name, struct vmh_vm_info *out)
{
	long at = vmh_regimg_find_vm(&reg->st, name);

	if (at < 0)
		return -ENOENT;
	*out = reg->st.vms[at];
	return 0;
}

size_t vmh_reg_vm_count(const struct vmh_registry *reg)
{
	return reg->st.n_vms;
}

const struct vmh_vm_info *vmh_reg_vm_at(const struct vmh_registry *reg, size_t i)
{
	return i < reg->st.n_vms ? &reg->st.vms[i] : NULL;
}

int vmh_reg_node(const struct vmh_registry *reg, uint32_t nodeid, struct vmh_node_info *out)
{
	const struct vmh_node_info *n = vmh_regint_node_of(reg, nodeid);

	if (!n)
		return -ENOENT;
	*out = *n;
	return 0;
}

uint64_t vmh_reg_config(const struct vmh_registry *reg)
{
	return reg->st.config;
}

uint64_t vmh_reg_last_round(const struct vmh_registry *reg)
{
	return reg->last_round;
}

bool vmh_reg_in_config(const struct vmh_registry *reg)
{
	return reg->in_config;
}

bool vmh_reg_syncing(const struct vmh_registry *reg)
{
	return reg->syncing;
}

bool vmh_reg_quorate(const struct vmh_registry *reg)
{
	return reg->st.quorate && agreed_quorate(reg);
}

const struct vmh_reg_image *vmh_reg_image(const struct vmh_registry *reg)
{
	return &reg->st;
}

bool vmh_reg_equal(const struct vmh_registry *a, const struct vmh_registry *b)
{
	if (a->in_config != b->in_config || a->n_members != b->n_members ||
	    memcmp(a->members, b->members, a->n_members * sizeof(a->members[0])) != 0 ||
	    a->syncing != b->syncing || a->round_started != b->round_started ||
	    a->round != b->round || a->voters_agreed != b->voters_agreed ||
	    a->last_round != b->last_round)
		return false;
	if (a->round_started &&
	    (memcmp(a->awaited, b->awaited, sizeof(a->awaited)) != 0 ||
	     memcmp(a->reply_quorate, b->reply_quorate, sizeof(a->reply_quorate)) != 0 ||
	     a->reply_voters != b->reply_voters || !vmh_regimg_equal(&a->acc, &b->acc)))
		return false;
	return vmh_regimg_equal(&a->st, &b->st);
}
