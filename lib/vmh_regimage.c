/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The registry's full-state images: checks, copies and the merge that the
 * sync round folds the members' states with. Part of the vmh_registry
 * module (prefix vmh_reg_, header vmh_registry.h).
 *
 * Why merges order versions by (vkey_config, vkey_epoch), i.e. (ring of
 * the decision, epoch), and not by epoch alone: after a split, the side
 * that left may have delivered a tail of the old ring that we did not (see
 * vmh_registry.h), e.g. V@6 by A. Our side can then only decide V again
 * after A is fenced or expired, in a LATER ring, e.g. V@5' by C. C's
 * version is what runs (A's copy is paused or gone); by epoch alone A's
 * stale @6 would win and A could resume a copy whose disks C has written
 * since. A ring formed by members of ring R numbers above R, and any two
 * quorate configurations share a member (majorities of the same voters),
 * so a decision taken later in real time carries a higher ring. Within one
 * ring the total order makes the epoch decide.
 *
 * Equal keys with different content: two decisions in the same ring at the
 * same epoch. Delivery in total order makes the second one stale, so it can
 * only come from a hole in extended virtual synchrony, a ring id reused
 * after corosync lost it, or a bug (the property test asserts that it
 * never happens). We then keep the version met first in the fold, which
 * is the same on every replica because every replica folds the same
 * delivered images in the same order, raise the epoch, and report it. We
 * never invent a third state.
 */
#include "vmh_registry_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const reason_names[] = {
	[VMH_REG_OK] = "ok",
	[VMH_REG_R_NOT_IN_CONFIG] = "not in a configuration",
	[VMH_REG_R_SYNCING] = "sync in progress",
	[VMH_REG_R_SENDER] = "sender not a member",
	[VMH_REG_R_FUTURE] = "built in a future configuration",
	[VMH_REG_R_NO_QUORUM] = "no quorum",
	[VMH_REG_R_MALFORMED] = "malformed",
	[VMH_REG_R_TYPE] = "unknown type",
	[VMH_REG_R_STALE_EPOCH] = "stale epoch",
	[VMH_REG_R_STATE] = "not valid in this state",
	[VMH_REG_R_NOT_OWNER] = "sender not entitled",
	[VMH_REG_R_DST] = "bad destination",
	[VMH_REG_R_OWNER_PRESENT] = "owner still a member",
	[VMH_REG_R_NO_WITNESS] = "departed node not fenced/expired",
	[VMH_REG_R_UNSETTLED] = "a lost node is not fenced/expired yet",
	[VMH_REG_R_UUID] = "uuid mismatch",
	[VMH_REG_R_NODE_PRESENT] = "node is a member",
	[VMH_REG_R_DEPARTURE] = "not the node's last departure",
	[VMH_REG_R_DUPLICATE] = "duplicate",
	[VMH_REG_R_STALE_CONFIG] = "built in an older configuration",
	[VMH_REG_R_NOT_LEADER] = "sync start not from the lowest member",
	[VMH_REG_R_STALE_ROUND] = "another sync round",
	[VMH_REG_R_FULL] = "registry full",
	[VMH_REG_R_NOT_EXPIRABLE] = "clean departure: only fencing clears it",
};

const char *vmh_reg_reason_str(enum vmh_reg_reason r)
{
	if ((unsigned)r >= sizeof(reason_names) / sizeof(reason_names[0]) || !reason_names[r])
		return "?";
	return reason_names[r];
}

static const char *const effect_names[] = {
	[VMH_EFF_SEND_SYNC_START] = "SEND_SYNC_START",
	[VMH_EFF_SEND_SYNC] = "SEND_SYNC",
	[VMH_EFF_SEND_QUORUM] = "SEND_QUORUM",
	[VMH_EFF_SYNCED] = "SYNCED",
	[VMH_EFF_PAUSE_LOCAL] = "PAUSE_LOCAL",
	[VMH_EFF_REVOKE_LOCAL] = "REVOKE_LOCAL",
	[VMH_EFF_RESUME_LOCAL] = "RESUME_LOCAL",
	[VMH_EFF_ENSURE_NO_SOURCE] = "ENSURE_NO_SOURCE",
	[VMH_EFF_RESUME_SOURCE] = "RESUME_SOURCE",
	[VMH_EFF_ENSURE_NO_DEST] = "ENSURE_NO_DEST",
	[VMH_EFF_CONFLICT] = "CONFLICT",
};

const char *vmh_reg_effect_str(enum vmh_reg_effect_type t)
{
	if ((unsigned)t >= sizeof(effect_names) / sizeof(effect_names[0]) || !effect_names[t])
		return "?";
	return effect_names[t];
}

void vmh_reg_result_clear(struct vmh_reg_result *res)
{
	free(res->effects);
	memset(res, 0, sizeof(*res));
}

int vmh_regimg_reserve(struct vmh_reg_result *res, size_t more)
{
	struct vmh_reg_effect *e;
	size_t want = res->n_effects + more;

	if (want <= res->cap)
		return 0;
	if (want < 8)
		want = 8;
	e = realloc(res->effects, want * sizeof(*e));
	if (!e)
		return -ENOMEM;
	res->effects = e;
	res->cap = want;
	return 0;
}

void vmh_regimg_effect(struct vmh_reg_result *res, enum vmh_reg_effect_type type,
		       const char *vm, uint64_t epoch, uint64_t round)
{
	struct vmh_reg_effect *e;

	if (!res || res->n_effects >= res->cap)
		return;		/* caller reserved: can not happen */
	e = &res->effects[res->n_effects++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	if (vm)
		memcpy(e->vm, vm, strnlen(vm, VMH_REG_NAME_MAX));
	e->epoch = epoch;
	e->round = round;
}

long vmh_regimg_find_vm(const struct vmh_reg_image *img, const char *name)
{
	size_t lo = 0, hi = img->n_vms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(img->vms[mid].name, name);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

long vmh_regimg_find_node(const struct vmh_reg_image *img, uint32_t nodeid)
{
	size_t lo = 0, hi = img->n_nodes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (img->nodes[mid].nodeid == nodeid)
			return (long)mid;
		if (img->nodes[mid].nodeid < nodeid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

struct vmh_vm_info *vmh_regimg_insert_vm(struct vmh_reg_image *img, size_t pos)
{
	struct vmh_vm_info *v;

	if (img->n_vms >= VMH_REG_MAX_VMS || pos > img->n_vms)
		return NULL;
	v = realloc(img->vms, (img->n_vms + 1) * sizeof(*v));
	if (!v)
		return NULL;
	img->vms = v;
	memmove(&v[pos + 1], &v[pos], (img->n_vms - pos) * sizeof(*v));
	img->n_vms++;
	memset(&v[pos], 0, sizeof(*v));
	return &v[pos];
}

struct vmh_node_info *vmh_regimg_insert_node(struct vmh_reg_image *img, size_t pos)
{
	struct vmh_node_info *n;

	if (img->n_nodes >= VMH_REG_MAX_NODES || pos > img->n_nodes)
		return NULL;
	n = realloc(img->nodes, (img->n_nodes + 1) * sizeof(*n));
	if (!n)
		return NULL;
	img->nodes = n;
	memmove(&n[pos + 1], &n[pos], (img->n_nodes - pos) * sizeof(*n));
	img->n_nodes++;
	memset(&n[pos], 0, sizeof(*n));
	return &n[pos];
}

static char *dup_bytes(const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if (!p)
		return NULL;
	if (len)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

int vmh_regimg_copy_vm(struct vmh_vm_info *dst, const struct vmh_vm_info *src)
{
	char *xml;

	if (dst == src)
		return 0;
	xml = dup_bytes(src->xml ? src->xml : "", src->xml ? src->xml_len : 0);
	if (!xml)
		return -ENOMEM;
	free(dst->xml);
	*dst = *src;
	dst->xml = xml;
	return 0;
}

int vmh_regimg_set_xml(struct vmh_vm_info *vm, const char *xml, size_t len)
{
	char *copy = dup_bytes(xml ? xml : "", xml ? len : 0);

	if (!copy)
		return -ENOMEM;
	free(vm->xml);
	vm->xml = copy;
	vm->xml_len = xml ? len : 0;
	vmh_sha256(vm->xml, vm->xml_len, vm->digest);
	return 0;
}

bool vmh_regimg_same_content(const struct vmh_vm_info *a, const struct vmh_vm_info *b)
{
	return strcmp(a->name, b->name) == 0 && a->state == b->state && a->owner == b->owner &&
	       a->dst == b->dst && a->require_fencing == b->require_fencing &&
	       memcmp(a->uuid, b->uuid, sizeof(a->uuid)) == 0 && a->xml_len == b->xml_len &&
	       memcmp(a->digest, b->digest, sizeof(a->digest)) == 0 &&
	       (a->xml_len == 0 || memcmp(a->xml, b->xml, a->xml_len) == 0);
}

bool vmh_regimg_vm_equal(const struct vmh_vm_info *a, const struct vmh_vm_info *b)
{
	return vmh_regimg_same_content(a, b) && a->epoch == b->epoch &&
	       a->vkey_config == b->vkey_config && a->vkey_epoch == b->vkey_epoch;
}

bool vmh_regimg_node_equal(const struct vmh_node_info *a, const struct vmh_node_info *b)
{
	return a->nodeid == b->nodeid && a->member == b->member && a->clean == b->clean &&
	       a->quorate == b->quorate && a->left == b->left && a->fenced_for == b->fenced_for &&
	       a->expired_for == b->expired_for && a->fence_time == b->fence_time &&
	       a->addr_config == b->addr_config && strcmp(a->addr, b->addr) == 0;
}

bool vmh_regimg_equal(const struct vmh_reg_image *a, const struct vmh_reg_image *b)
{
	if (a->config != b->config || a->ring != b->ring || a->n_nodes != b->n_nodes ||
	    a->n_vms != b->n_vms)
		return false;
	for (size_t i = 0; i < a->n_nodes; i++)
		if (!vmh_regimg_node_equal(&a->nodes[i], &b->nodes[i]))
			return false;
	for (size_t i = 0; i < a->n_vms; i++)
		if (!vmh_regimg_vm_equal(&a->vms[i], &b->vms[i]))
			return false;
	return true;
}

void vmh_reg_image_free(struct vmh_reg_image *img)
{
	if (!img)
		return;
	for (size_t i = 0; i < img->n_vms; i++)
		free(img->vms[i].xml);
	free(img->vms);
	free(img->nodes);
	memset(img, 0, sizeof(*img));
}

int vmh_regimg_copy(struct vmh_reg_image *dst, const struct vmh_reg_image *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->author = src->author;
	dst->voters = src->voters;
	dst->quorate = src->quorate;
	dst->config = src->config;
	dst->ring = src->ring;
	if (src->n_nodes) {
		dst->nodes = malloc(src->n_nodes * sizeof(*dst->nodes));
		if (!dst->nodes)
			goto out_nomem;
		memcpy(dst->nodes, src->nodes, src->n_nodes * sizeof(*dst->nodes));
		dst->n_nodes = src->n_nodes;
	}
	if (src->n_vms) {
		dst->vms = calloc(src->n_vms, sizeof(*dst->vms));
		if (!dst->vms)
			goto out_nomem;
		for (size_t i = 0; i < src->n_vms; i++) {
			if (vmh_regimg_copy_vm(&dst->vms[i], &src->vms[i]) < 0)
				goto out_nomem;
			dst->n_vms = i + 1;
		}
	}
	return 0;
out_nomem:
	vmh_reg_image_free(dst);
	return -ENOMEM;
}

static int check_vm(const struct vmh_vm_info *v, uint64_t config)
{
	uint8_t digest[VMH_SHA256_LEN];
	size_t len = strnlen(v->name, sizeof(v->name));

	if (len == sizeof(v->name) || !vmh_reg_name_ok(v->name, len))
		return -EINVAL;
	switch (v->state) {
	case VMH_VM_STOPPED:
		if (v->owner || v->dst)
			return -EINVAL;
		break;
	case VMH_VM_RUNNING:
		if (!v->owner || v->dst)
			return -EINVAL;
		break;
	case VMH_VM_MIGRATING:
		if (!v->owner || !v->dst || v->owner == v->dst)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	/* Epoch 1 is the first decision; the key is a decision, the epoch
	 * may have been raised by merges since. */
	if (v->epoch == 0 || v->vkey_epoch == 0 || v->vkey_epoch > v->epoch ||
	    v->vkey_config > config)
		return -EINVAL;
	if (!v->xml || v->xml_len > VMH_REG_XML_MAX || strlen(v->xml) != v->xml_len)
		return -EINVAL;
	vmh_sha256(v->xml, v->xml_len, digest);
	if (memcmp(digest, v->digest, sizeof(digest)) != 0)
		return -EINVAL;
	return 0;
}

static int check_node(const struct vmh_node_info *n, uint64_t config, uint64_t ring)
{
	size_t alen = strnlen(n->addr, sizeof(n->addr));

	if (n->nodeid == 0 || alen == sizeof(n->addr))
		return -EINVAL;
	if (alen && !vmh_reg_addr_ok(n->addr, alen))
		return -EINVAL;
	if (n->left > ring || n->fenced_for > ring || n->expired_for > ring ||
	    n->addr_config > config)
		return -EINVAL;
	if (n->member && n->left)
		return -EINVAL;
	return 0;
}

int vmh_reg_image_check(const struct vmh_reg_image *img)
{
	if (!img || img->n_nodes > VMH_REG_MAX_NODES || img->n_vms > VMH_REG_MAX_VMS ||
	    (img->n_nodes && !img->nodes) || (img->n_vms && !img->vms) || img->config > img->ring)
		return -EINVAL;
	for (size_t i = 0; i < img->n_nodes; i++) {
		if (check_node(&img->nodes[i], img->config, img->ring) < 0)
			return -EINVAL;
		if (i && img->nodes[i - 1].nodeid >= img->nodes[i].nodeid)
			return -EINVAL;
	}
	for (size_t i = 0; i < img->n_vms; i++) {
		if (check_vm(&img->vms[i], img->config) < 0)
			return -EINVAL;
		if (i && strcmp(img->vms[i - 1].name, img->vms[i].name) >= 0)
			return -EINVAL;
	}
	return 0;
}

static int vkey_cmp(const struct vmh_vm_info *a, const struct vmh_vm_info *b)
{
	if (a->vkey_config != b->vkey_config)
		return a->vkey_config < b->vkey_config ? -1 : 1;
	if (a->vkey_epoch != b->vkey_epoch)
		return a->vkey_epoch < b->vkey_epoch ? -1 : 1;
	return 0;
}

static uint64_t above(uint64_t e)
{
	return e == UINT64_MAX ? e : e + 1;	/* 2^64 decisions: not in this universe */
}

/* Merge b into a (a in acc). */
static int merge_vm(struct vmh_vm_info *a, const struct vmh_vm_info *b, bool *conflict)
{
	int c = vkey_cmp(a, b);
	bool same = vmh_regimg_same_content(a, b);
	uint64_t hi = a->epoch > b->epoch ? a->epoch : b->epoch;
	uint64_t epoch;

	*conflict = false;
	if (same) {
		epoch = hi;
	} else if (c == 0) {
		*conflict = true;
		epoch = above(hi);
	} else {
		const struct vmh_vm_info *w = c > 0 ? a : b, *l = c > 0 ? b : a;

		/* The loser's side may hold messages expecting its epoch:
		 * make them stale. */
		epoch = w->epoch > l->epoch ? w->epoch : above(l->epoch);
	}
	if (c < 0 && !same) {
		int r = vmh_regimg_copy_vm(a, b);

		if (r < 0)
			return r;
	} else if (c < 0) {
		a->vkey_config = b->vkey_config;
		a->vkey_epoch = b->vkey_epoch;
	}
	a->epoch = epoch;
	return 0;
}

static void merge_node(struct vmh_node_info *a, const struct vmh_node_info *b)
{
	/* The latest departure anyone saw is the one that counts: a witness
	 * of an earlier one says nothing about what the node did after. */
	if (b->left > a->left)
		a->clean = b->clean;
	else if (b->left == a->left)
		a->clean = a->clean && b->clean;
	if (b->left > a->left)
		a->left = b->left;
	if (b->fenced_for > a->fenced_for)
		a->fenced_for = b->fenced_for;
	if (b->expired_for > a->expired_for)
		a->expired_for = b->expired_for;
	if (b->fence_time > a->fence_time)
		a->fence_time = b->fence_time;
	if (b->addr_config > a->addr_config ||
	    (b->addr_config == a->addr_config && strcmp(b->addr, a->addr) > 0)) {
		memcpy(a->addr, b->addr, sizeof(a->addr));
		a->addr_config = b->addr_config;
	}
	a->member = a->member || b->member;
	a->quorate = false;	/* set from the replies when the round ends */
}

int vmh_reg_image_merge(struct vmh_reg_image *acc, const struct vmh_reg_image *in,
			unsigned *conflicts, struct vmh_reg_result *res)
{
	int r;

	if (in->config > acc->config)
		acc->config = in->config;
	if (in->ring > acc->ring)
		acc->ring = in->ring;
	if (res && (r = vmh_regimg_reserve(res, in->n_vms)) < 0)
		return r;
	for (size_t i = 0; i < in->n_nodes; i++) {
		long at = vmh_regimg_find_node(acc, in->nodes[i].nodeid);
		struct vmh_node_info *n;

		if (at >= 0) {
			merge_node(&acc->nodes[at], &in->nodes[i]);
			continue;
		}
		n = vmh_regimg_insert_node(acc, (size_t)(-at - 1));
		if (!n)
			return acc->n_nodes >= VMH_REG_MAX_NODES ? -E2BIG : -ENOMEM;
		*n = in->nodes[i];
		n->quorate = false;
	}
	for (size_t i = 0; i < in->n_vms; i++) {
		const struct vmh_vm_info *b = &in->vms[i];
		long at = vmh_regimg_find_vm(acc, b->name);
		struct vmh_vm_info *v;
		bool conflict;

		if (at >= 0) {
			r = merge_vm(&acc->vms[at], b, &conflict);
			if (r < 0)
				return r;
			if (conflict) {
				if (conflicts)
					(*conflicts)++;
				vmh_regimg_effect(res, VMH_EFF_CONFLICT, b->name, acc->vms[at].epoch, 0);
			}
			continue;
		}
		v = vmh_regimg_insert_vm(acc, (size_t)(-at - 1));
		if (!v)
			return acc->n_vms >= VMH_REG_MAX_VMS ? -E2BIG : -ENOMEM;
		r = vmh_regimg_copy_vm(v, b);
		if (r < 0) {
			/* Take the empty slot out again. */
			size_t pos = (size_t)(-at - 1);

			memmove(&acc->vms[pos], &acc->vms[pos + 1], (acc->n_vms - pos - 1) * sizeof(*v));
			acc->n_vms--;
			return r;
		}
	}
	return 0;
}
