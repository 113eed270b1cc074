/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vmh_wire.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "vmh_bytes.h"

/*
 * The layouts, as structs: never cast onto a buffer (alignment, host byte
 * order), only used for the asserts below, which pin every offset the
 * codec writes by hand. Change one and the build fails until both agree.
 */
struct wire_hdr {
	uint16_t type;
	uint16_t version;
	uint32_t length;
};
struct wire_common {
	uint64_t config;
	uint32_t cookie;
	uint32_t reserved;
};
struct wire_vm {
	uint64_t expect;
	uint8_t name_len;
	uint8_t reserved[7];
	char name[VMH_REG_NAME_MAX];
};
struct wire_claim {
	uint8_t uuid[16];
	uint8_t flags;
	uint8_t reserved[3];
	uint32_t xml_len;
};
struct wire_begin {
	uint32_t dst;
	uint32_t reserved;
};
struct wire_config {
	uint32_t xml_len;
	uint32_t reserved;
};
struct wire_fenced {
	uint32_t node;
	uint32_t reserved;
	uint64_t departure;
	uint64_t fence_time;
};
struct wire_expired {
	uint32_t node;
	uint32_t waited_ms;
	uint64_t departure;
};
struct wire_address {
	uint32_t node;
	uint8_t addr_len;
	uint8_t reserved[3];
	char addr[VMH_REG_ADDR_MAX];
};
struct wire_quorum {
	uint8_t quorate;
	uint8_t reserved[7];
	uint64_t round;
};
struct wire_sync_start {
	uint64_t round;
	uint64_t ring;
	uint32_t n_members;
	uint32_t reserved;
};
struct wire_image {
	uint32_t author;
	uint32_t voters;
	uint64_t config;
	uint64_t ring;
	uint8_t flags;
	uint8_t reserved[3];
	uint32_t n_nodes;
	uint32_t n_vms;
	uint32_t reserved2;
};
struct wire_node {
	uint32_t nodeid;
	uint8_t flags;
	uint8_t addr_len;
	uint16_t reserved;
	uint64_t left;
	uint64_t fenced_for;
	uint64_t expired_for;
	uint64_t fence_time;
	uint64_t addr_config;
	char addr[VMH_REG_ADDR_MAX];
};
struct wire_vmrec {
	uint8_t name_len;
	uint8_t state;
	uint8_t flags;
	uint8_t reserved;
	uint32_t owner;
	uint32_t dst;
	uint32_t xml_len;
	uint64_t epoch;
	uint64_t vkey_config;
	uint64_t vkey_epoch;
	uint8_t uuid[16];
	char name[VMH_REG_NAME_MAX];
};

static_assert(sizeof(struct wire_hdr) == VMH_WIRE_HDR_LEN, "header");
static_assert(sizeof(struct wire_common) == 16, "common");
static_assert(sizeof(struct wire_vm) == 80 && offsetof(struct wire_vm, name) == 16, "vm");
static_assert(sizeof(struct wire_claim) == 24 && offsetof(struct wire_claim, xml_len) == 20, "claim");
static_assert(sizeof(struct wire_begin) == 8, "begin");
static_assert(sizeof(struct wire_config) == 8, "config");
static_assert(sizeof(struct wire_fenced) == 24, "fenced");
static_assert(sizeof(struct wire_expired) == 16, "expired");
static_assert(sizeof(struct wire_address) == 72 && offsetof(struct wire_address, addr) == 8, "address");
static_assert(sizeof(struct wire_quorum) == 16, "quorum");
static_assert(sizeof(struct wire_sync_start) == 24, "sync start");
static_assert(sizeof(struct wire_image) == 40 && offsetof(struct wire_image, n_nodes) == 28, "image");
static_assert(sizeof(struct wire_node) == 112 && offsetof(struct wire_node, left) == 8 &&
	      offsetof(struct wire_node, addr) == 48, "node");
static_assert(sizeof(struct wire_vmrec) == 120 && offsetof(struct wire_vmrec, epoch) == 16 &&
	      offsetof(struct wire_vmrec, uuid) == 40 && offsetof(struct wire_vmrec, name) == 56, "vmrec");

/* Node flags, VM flags, image flags. */
#define NF_MEMBER 0x01
#define NF_CLEAN 0x02
#define NF_QUORATE 0x04
#define NF_ALL 0x07
#define VF_REQUIRE_FENCING 0x01
#define IF_QUORATE 0x01

/* ---- byte writer / reader (vmh_bytes.h) ------------------------------ */

static void put8(struct vmh_bw *w, uint8_t v) { vmh_bw_le(w, v, 1); }
static void put16(struct vmh_bw *w, uint16_t v) { vmh_bw_le(w, v, 2); }
static void put32(struct vmh_bw *w, uint32_t v) { vmh_bw_le(w, v, 4); }
static void put64(struct vmh_bw *w, uint64_t v) { vmh_bw_le(w, v, 8); }

/* The bytes of a string, then zeros up to the field's fixed size. */
static void put_fixed_str(struct vmh_bw *w, const char *s, size_t len, size_t field)
{
	vmh_bw_put(w, s, len);
	vmh_bw_zero(w, field - len);
}

static uint8_t get8(struct vmh_br *r) { return (uint8_t)vmh_br_le(r, 1); }
static uint16_t get16(struct vmh_br *r) { return (uint16_t)vmh_br_le(r, 2); }
static uint32_t get32(struct vmh_br *r) { return (uint32_t)vmh_br_le(r, 4); }
static uint64_t get64(struct vmh_br *r) { return vmh_br_le(r, 8); }

/* A fixed field of `field` bytes holding len bytes and zero padding. */
static void get_fixed_str(struct vmh_br *r, char *out, size_t len, size_t field)
{
	const uint8_t *b = vmh_br_take(r, field);

	if (!b)
		return;
	if (len > field) {
		r->bad = true;
		return;
	}
	memcpy(out, b, len);
	out[len] = '\0';
	/* Exactly len non-NUL bytes, then zeros: one encoding per string. */
	if (memchr(b, '\0', len))
		r->bad = true;
	for (size_t i = len; i < field; i++)
		if (b[i])
			r->bad = true;
}

/* ---- messages --------------------------------------------------------- */

static bool is_vm_record(enum vmh_msg_type t)
{
	return t >= VMH_MSG_CLAIM && t <= VMH_MSG_CONFIG;
}

static size_t xml_wire_len(const struct vmh_msg *m)
{
	return (m->type == VMH_MSG_CLAIM || m->type == VMH_MSG_CONFIG) ? m->xml_len : 0;
}

static int image_body_len(const struct vmh_reg_image *img, size_t *len)
{
	size_t n = sizeof(struct wire_image) + img->n_nodes * sizeof(struct wire_node);

	if (vmh_reg_image_check(img) < 0)
		return -EINVAL;
	for (size_t i = 0; i < img->n_vms; i++) {
		n += sizeof(struct wire_vmrec) + img->vms[i].xml_len;
		if (n > VMH_WIRE_MAX_BODY)
			return -EMSGSIZE;
	}
	*len = n;
	return 0;
}

static void put_image(struct vmh_bw *w, const struct vmh_reg_image *img)
{
	put32(w, img->author);
	put32(w, img->voters);
	put64(w, img->config);
	put64(w, img->ring);
	put8(w, img->quorate ? IF_QUORATE : 0);
	vmh_bw_zero(w, 3);
	put32(w, (uint32_t)img->n_nodes);
	put32(w, (uint32_t)img->n_vms);
	vmh_bw_zero(w, 4);
	for (size_t i = 0; i < img->n_nodes; i++) {
		const struct vmh_node_info *n = &img->nodes[i];
		size_t alen = strlen(n->addr);

		put32(w, n->nodeid);
		put8(w, (uint8_t)((n->member ? NF_MEMBER : 0) | (n->clean ? NF_CLEAN : 0) |
				  (n->quorate ? NF_QUORATE : 0)));
		put8(w, (uint8_t)alen);
		put16(w, 0);
		put64(w, n->left);
		put64(w, n->fenced_for);
		put64(w, n->expired_for);
		put64(w, n->fence_time);
		put64(w, n->addr_config);
		put_fixed_str(w, n->addr, alen, VMH_REG_ADDR_MAX);
	}
	for (size_t i = 0; i < img->n_vms; i++) {
		const struct vmh_vm_info *v = &img->vms[i];
		size_t nlen = strlen(v->name);

		put8(w, (uint8_t)nlen);
		put8(w, (uint8_t)v->state);
		put8(w, v->require_fencing ? VF_REQUIRE_FENCING : 0);
		put8(w, 0);
		put32(w, v->owner);
		put32(w, v->dst);
		put32(w, (uint32_t)v->xml_len);
		put64(w, v->epoch);
		put64(w, v->vkey_config);
		put64(w, v->vkey_epoch);
		vmh_bw_put(w, v->uuid, 16);
		put_fixed_str(w, v->name, nlen, VMH_REG_NAME_MAX);
		vmh_bw_put(w, v->xml, v->xml_len);
	}
}

/* Checks what the encoder is given, as the decoder will check it. */
static int msg_body_len(const struct vmh_msg *m, size_t *len)
{
	size_t n = sizeof(struct wire_common), name_len;
	int r;

	if (is_vm_record(m->type)) {
		name_len = strnlen(m->vm, sizeof(m->vm));
		if (name_len == sizeof(m->vm) || !vmh_reg_name_ok(m->vm, name_len))
			return -EINVAL;
		n += sizeof(struct wire_vm);
		if (xml_wire_len(m) > VMH_REG_XML_MAX)
			return -EMSGSIZE;
		if (xml_wire_len(m) && (!m->xml || memchr(m->xml, '\0', m->xml_len)))
			return -EINVAL;
	}
	switch (m->type) {
	case VMH_MSG_CLAIM:
		n += sizeof(struct wire_claim) + m->xml_len;
		break;
	case VMH_MSG_CONFIG:
		if (m->xml_len == 0)
			return -EINVAL;
		n += sizeof(struct wire_config) + m->xml_len;
		break;
	case VMH_MSG_RELEASE:
	case VMH_MSG_HANDOFF_COMMIT:
	case VMH_MSG_HANDOFF_ABORT:
		break;
	case VMH_MSG_HANDOFF_BEGIN:
		if (m->node == 0)
			return -EINVAL;
		n += sizeof(struct wire_begin);
		break;
	case VMH_MSG_NODE_FENCED:
		if (m->node == 0 || m->departure == 0)
			return -EINVAL;
		n += sizeof(struct wire_fenced);
		break;
	case VMH_MSG_NODE_EXPIRED:
		if (m->node == 0 || m->departure == 0)
			return -EINVAL;
		n += sizeof(struct wire_expired);
		break;
	case VMH_MSG_ADDRESS:
		name_len = strnlen(m->addr, sizeof(m->addr));
		if (m->node == 0 || name_len == sizeof(m->addr) ||
		    !vmh_reg_addr_ok(m->addr, name_len))
			return -EINVAL;
		n += sizeof(struct wire_address);
		break;
	case VMH_MSG_QUORUM:
		n += sizeof(struct wire_quorum);
		break;
	case VMH_MSG_SYNC_START:
		if (m->n_members == 0 || m->n_members > VMH_REG_MAX_NODES || m->round == 0 ||
		    m->ring == 0)
			return -EINVAL;
		for (size_t i = 0; i < m->n_members; i++)
			if (m->members[i] == 0)
				return -EINVAL;
		n += sizeof(struct wire_sync_start) + 4 * m->n_members;
		break;
	case VMH_MSG_SYNC: {
		size_t img_len;

		if (!m->image || m->round == 0)
			return -EINVAL;
		r = image_body_len(m->image, &img_len);
		if (r < 0)
			return r;
		n += 8 + img_len;
		break;
	}
	default:
		return -EINVAL;
	}
	if (n > VMH_WIRE_MAX_BODY)
		return -EMSGSIZE;
	*len = n;
	return 0;
}

static int start_buffer(struct vmh_bw *w, uint16_t type, size_t body)
{
	w->cap = VMH_WIRE_HDR_LEN + body;
	w->pos = 0;
	w->p = malloc(w->cap);
	if (!w->p)
		return -ENOMEM;
	put16(w, type);
	put16(w, VMH_WIRE_VERSION);
	put32(w, (uint32_t)body);
	return 0;
}

int vmh_wire_encode(const struct vmh_msg *m, uint8_t **buf, size_t *len)
{
	struct vmh_bw w;
	size_t body = 0;	/* set by msg_body_len (gcc -O1 cannot tell) */
	int r;

	r = msg_body_len(m, &body);
	if (r < 0)
		return r;
	r = start_buffer(&w, (uint16_t)m->type, body);
	if (r < 0)
		return r;
	put64(&w, m->config);
	put32(&w, m->cookie);
	put32(&w, 0);
	if (is_vm_record(m->type)) {
		size_t nlen = strlen(m->vm);

		put64(&w, m->expect);
		put8(&w, (uint8_t)nlen);
		vmh_bw_zero(&w, 7);
		put_fixed_str(&w, m->vm, nlen, VMH_REG_NAME_MAX);
	}
	switch (m->type) {
	case VMH_MSG_CLAIM:
		vmh_bw_put(&w, m->uuid, 16);
		put8(&w, m->require_fencing ? VF_REQUIRE_FENCING : 0);
		vmh_bw_zero(&w, 3);
		put32(&w, (uint32_t)m->xml_len);
		vmh_bw_put(&w, m->xml, m->xml_len);
		break;
	case VMH_MSG_CONFIG:
		put32(&w, (uint32_t)m->xml_len);
		put32(&w, 0);
		vmh_bw_put(&w, m->xml, m->xml_len);
		break;
	case VMH_MSG_HANDOFF_BEGIN:
		put32(&w, m->node);
		put32(&w, 0);
		break;
	case VMH_MSG_NODE_FENCED:
		put32(&w, m->node);
		put32(&w, 0);
		put64(&w, m->departure);
		put64(&w, m->fence_time);
		break;
	case VMH_MSG_NODE_EXPIRED:
		put32(&w, m->node);
		put32(&w, m->waited_ms);
		put64(&w, m->departure);
		break;
	case VMH_MSG_ADDRESS: {
		size_t alen = strlen(m->addr);

		put32(&w, m->node);
		put8(&w, (uint8_t)alen);
		vmh_bw_zero(&w, 3);
		put_fixed_str(&w, m->addr, alen, VMH_REG_ADDR_MAX);
		break;
	}
	case VMH_MSG_QUORUM:
		put8(&w, m->quorate ? 1 : 0);
		vmh_bw_zero(&w, 7);
		put64(&w, m->round);
		break;
	case VMH_MSG_SYNC_START:
		put64(&w, m->round);
		put64(&w, m->ring);
		put32(&w, (uint32_t)m->n_members);
		put32(&w, 0);
		for (size_t i = 0; i < m->n_members; i++)
			put32(&w, m->members[i]);
		break;
	case VMH_MSG_SYNC:
		put64(&w, m->round);
		put_image(&w, m->image);
		break;
	default:
		break;
	}
	assert(w.pos == w.cap);
	*buf = w.p;
	*len = w.cap;
	return 0;
}

/* An image body from r; img owns its memory after, even on error. */
static int get_image(struct vmh_br *r, struct vmh_reg_image *img)
{
	uint32_t n_nodes, n_vms;
	uint8_t flags;

	memset(img, 0, sizeof(*img));
	img->author = get32(r);
	img->voters = get32(r);
	img->config = get64(r);
	img->ring = get64(r);
	flags = get8(r);
	vmh_br_reserved(r, 3);
	n_nodes = get32(r);
	n_vms = get32(r);
	vmh_br_reserved(r, 4);
	if (r->bad || (flags & ~IF_QUORATE) || n_nodes > VMH_REG_MAX_NODES || n_vms > VMH_REG_MAX_VMS)
		return -EBADMSG;
	img->quorate = flags & IF_QUORATE;
	/* Both counts are bounded, and each entry needs its fixed size:
	 * check against what is left before allocating. */
	if ((size_t)n_nodes * sizeof(struct wire_node) + (size_t)n_vms * sizeof(struct wire_vmrec) >
	    r->len - r->pos)
		return -EBADMSG;
	if (n_nodes) {
		img->nodes = calloc(n_nodes, sizeof(*img->nodes));
		if (!img->nodes)
			return -ENOMEM;
		img->n_nodes = n_nodes;
	}
	if (n_vms) {
		img->vms = calloc(n_vms, sizeof(*img->vms));
		if (!img->vms)
			return -ENOMEM;
		img->n_vms = n_vms;
	}
	for (size_t i = 0; i < n_nodes; i++) {
		struct vmh_node_info *n = &img->nodes[i];
		uint8_t alen;

		n->nodeid = get32(r);
		flags = get8(r);
		alen = get8(r);
		vmh_br_reserved(r, 2);
		n->left = get64(r);
		n->fenced_for = get64(r);
		n->expired_for = get64(r);
		n->fence_time = get64(r);
		n->addr_config = get64(r);
		get_fixed_str(r, n->addr, alen, VMH_REG_ADDR_MAX);
		if (r->bad || (flags & ~NF_ALL))
			return -EBADMSG;
		n->member = flags & NF_MEMBER;
		n->clean = flags & NF_CLEAN;
		n->quorate = flags & NF_QUORATE;
	}
	for (size_t i = 0; i < n_vms; i++) {
		struct vmh_vm_info *v = &img->vms[i];
		uint8_t nlen = get8(r);
		const uint8_t *xml;

		v->state = (enum vmh_vm_state)get8(r);
		flags = get8(r);
		vmh_br_reserved(r, 1);
		v->owner = get32(r);
		v->dst = get32(r);
		v->xml_len = get32(r);
		v->epoch = get64(r);
		v->vkey_config = get64(r);
		v->vkey_epoch = get64(r);
		vmh_br_bytes(r, v->uuid, 16);
		if (nlen == 0)
			r->bad = true;
		get_fixed_str(r, v->name, nlen, VMH_REG_NAME_MAX);
		if (r->bad || (flags & ~VF_REQUIRE_FENCING) || v->xml_len > VMH_REG_XML_MAX)
			return -EBADMSG;
		v->require_fencing = flags & VF_REQUIRE_FENCING;
		xml = vmh_br_take(r, v->xml_len);
		if (!xml || memchr(xml, '\0', v->xml_len))
			return -EBADMSG;
		v->xml = malloc(v->xml_len + 1);
		if (!v->xml)
			return -ENOMEM;
		memcpy(v->xml, xml, v->xml_len);
		v->xml[v->xml_len] = '\0';
		/* Not on the wire: derived, so it can not disagree. */
		vmh_sha256(v->xml, v->xml_len, v->digest);
	}
	return vmh_reg_image_check(img) < 0 ? -EBADMSG : 0;
}

void vmh_wire_msg_clear(struct vmh_msg *msg)
{
	if ((msg->type == VMH_MSG_CLAIM || msg->type == VMH_MSG_CONFIG) && msg->xml)
		free((char *)msg->xml);
	if (msg->type == VMH_MSG_SYNC && msg->image) {
		struct vmh_reg_image *img = (struct vmh_reg_image *)msg->image;

		vmh_reg_image_free(img);
		free(img);
	}
	memset(msg, 0, sizeof(*msg));
}

int vmh_wire_peek(const uint8_t *buf, size_t len, struct vmh_wire_hdr *hdr)
{
	struct vmh_br r = { .p = buf, .len = len };

	if (!buf || len < VMH_WIRE_HDR_LEN)
		return -EBADMSG;
	hdr->type = get16(&r);
	hdr->version = get16(&r);
	hdr->length = get32(&r);
	return 0;
}

/* Header checks shared by messages and snapshots; r then spans the body. */
static int open_body(const uint8_t *buf, size_t len, struct vmh_br *r, struct vmh_wire_hdr *h)
{
	if (vmh_wire_peek(buf, len, h) < 0)
		return -EBADMSG;
	if (h->version != VMH_WIRE_VERSION)
		return -EPROTONOSUPPORT;
	if (h->length > VMH_WIRE_MAX_BODY || h->length != len - VMH_WIRE_HDR_LEN)
		return -EBADMSG;
	r->p = buf + VMH_WIRE_HDR_LEN;
	r->len = h->length;
	r->pos = 0;
	r->bad = false;
	return 0;
}

static int get_xml(struct vmh_br *r, struct vmh_msg *m, uint32_t xml_len)
{
	const uint8_t *xml;
	char *copy;

	if (xml_len > VMH_REG_XML_MAX)
		return -EBADMSG;
	xml = vmh_br_take(r, xml_len);
	if (!xml || memchr(xml, '\0', xml_len))
		return -EBADMSG;
	if (xml_len == 0)
		return 0;
	copy = malloc((size_t)xml_len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, xml, xml_len);
	copy[xml_len] = '\0';
	m->xml = copy;
	m->xml_len = xml_len;
	return 0;
}

static int decode_body(struct vmh_br *r, struct vmh_msg *m)
{
	uint8_t flags, len8;
	int rc;

	m->config = get64(r);
	m->cookie = get32(r);
	vmh_br_reserved(r, 4);
	if (is_vm_record(m->type)) {
		m->expect = get64(r);
		len8 = get8(r);
		vmh_br_reserved(r, 7);
		get_fixed_str(r, m->vm, len8, VMH_REG_NAME_MAX);
		if (r->bad || !vmh_reg_name_ok(m->vm, len8))
			return -EBADMSG;
	}
	switch (m->type) {
	case VMH_MSG_CLAIM: {
		uint32_t xml_len;

		vmh_br_bytes(r, m->uuid, 16);
		flags = get8(r);
		vmh_br_reserved(r, 3);
		xml_len = get32(r);
		if (r->bad || (flags & ~VF_REQUIRE_FENCING))
			return -EBADMSG;
		m->require_fencing = flags & VF_REQUIRE_FENCING;
		return get_xml(r, m, xml_len);
	}
	case VMH_MSG_CONFIG: {
		uint32_t xml_len = get32(r);

		vmh_br_reserved(r, 4);
		if (r->bad || xml_len == 0)
			return -EBADMSG;
		return get_xml(r, m, xml_len);
	}
	case VMH_MSG_RELEASE:
	case VMH_MSG_HANDOFF_COMMIT:
	case VMH_MSG_HANDOFF_ABORT:
		return 0;
	case VMH_MSG_HANDOFF_BEGIN:
		m->node = get32(r);
		vmh_br_reserved(r, 4);
		return r->bad || m->node == 0 ? -EBADMSG : 0;
	case VMH_MSG_NODE_FENCED:
		m->node = get32(r);
		vmh_br_reserved(r, 4);
		m->departure = get64(r);
		m->fence_time = get64(r);
		return r->bad || m->node == 0 || m->departure == 0 ? -EBADMSG : 0;
	case VMH_MSG_NODE_EXPIRED:
		m->node = get32(r);
		m->waited_ms = get32(r);
		m->departure = get64(r);
		return r->bad || m->node == 0 || m->departure == 0 ? -EBADMSG : 0;
	case VMH_MSG_ADDRESS:
		m->node = get32(r);
		len8 = get8(r);
		vmh_br_reserved(r, 3);
		get_fixed_str(r, m->addr, len8, VMH_REG_ADDR_MAX);
		return r->bad || m->node == 0 || !vmh_reg_addr_ok(m->addr, len8) ? -EBADMSG : 0;
	case VMH_MSG_QUORUM:
		flags = get8(r);
		vmh_br_reserved(r, 7);
		m->round = get64(r);
		m->quorate = flags == 1;
		return r->bad || flags > 1 ? -EBADMSG : 0;
	case VMH_MSG_SYNC_START: {
		uint32_t n;

		m->round = get64(r);
		m->ring = get64(r);
		n = get32(r);
		vmh_br_reserved(r, 4);
		if (r->bad || m->round == 0 || m->ring == 0 || n == 0 || n > VMH_REG_MAX_NODES)
			return -EBADMSG;
		m->n_members = n;
		for (size_t i = 0; i < n; i++)
			if ((m->members[i] = get32(r)) == 0)
				r->bad = true;
		return r->bad ? -EBADMSG : 0;
	}
	case VMH_MSG_SYNC: {
		struct vmh_reg_image *img;

		m->round = get64(r);
		if (r->bad || m->round == 0)
			return -EBADMSG;
		img = calloc(1, sizeof(*img));
		if (!img)
			return -ENOMEM;
		m->image = img;
		rc = get_image(r, img);
		return rc;
	}
	default:
		return -ENOMSG;
	}
}

int vmh_wire_decode(const uint8_t *buf, size_t len, struct vmh_msg *m)
{
	struct vmh_wire_hdr h;
	struct vmh_br r;
	int rc;

	memset(m, 0, sizeof(*m));
	rc = open_body(buf, len, &r, &h);
	if (rc < 0)
		return rc;
	if (h.type < VMH_MSG_CLAIM || h.type > VMH_MSG_TYPE_MAX)
		return -ENOMSG;
	m->type = (enum vmh_msg_type)h.type;
	rc = decode_body(&r, m);
	if (rc == 0 && (r.bad || r.pos != r.len))
		rc = -EBADMSG;		/* trailing bytes are an error too */
	if (rc < 0)
		vmh_wire_msg_clear(m);
	return rc;
}

int vmh_wire_encode_image(const struct vmh_reg_image *img, uint8_t **buf, size_t *len)
{
	struct vmh_bw w;
	size_t body;
	int r;

	r = image_body_len(img, &body);
	if (r < 0)
		return r;
	r = start_buffer(&w, VMH_WIRE_SNAPSHOT, body);
	if (r < 0)
		return r;
	put_image(&w, img);
	assert(w.pos == w.cap);
	*buf = w.p;
	*len = w.cap;
	return 0;
}

int vmh_wire_decode_image(const uint8_t *buf, size_t len, struct vmh_reg_image *img)
{
	struct vmh_wire_hdr h;
	struct vmh_br r;
	int rc;

	memset(img, 0, sizeof(*img));
	rc = open_body(buf, len, &r, &h);
	if (rc < 0)
		return rc;
	if (h.type != VMH_WIRE_SNAPSHOT)
		return -ENOMSG;
	rc = get_image(&r, img);
	if (rc == 0 && (r.bad || r.pos != r.len))
		rc = -EBADMSG;
	if (rc < 0)
		vmh_reg_image_free(img);
	return rc;
}

int vmh_wire_encode_stats(const struct vmh_hist_entry *e, uint8_t **buf, size_t *len)
{
	struct vmh_bw w;
	int r;

	if (!vmh_hist_entry_ok(e) || e->outcome == VMH_HIST_MIGRATING)
		return -EINVAL;
	r = start_buffer(&w, VMH_WIRE_HANDOFF_STATS, VMH_HIST_ENTRY_LEN);
	if (r < 0)
		return r;
	vmh_hist_put_entry(&w, e);
	assert(w.pos == w.cap);
	*buf = w.p;
	*len = w.cap;
	return 0;
}

int vmh_wire_decode_stats(const uint8_t *buf, size_t len, struct vmh_hist_entry *e)
{
	struct vmh_wire_hdr h;
	struct vmh_br r;
	int rc;

	memset(e, 0, sizeof(*e));
	rc = open_body(buf, len, &r, &h);
	if (rc < 0)
		return rc;
	if (h.type != VMH_WIRE_HANDOFF_STATS)
		return -ENOMSG;
	if (!vmh_hist_get_entry(&r, e) || r.pos != r.len || e->outcome == VMH_HIST_MIGRATING) {
		memset(e, 0, sizeof(*e));
		return -EBADMSG;
	}
	return 0;
}
