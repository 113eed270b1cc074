/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_ipc: the codec of the local protocol (see vmh_ipc.h): frames, the
 * tag table, names, and requests. Replies are in vmh_ipc_reply.c, the
 * blocking client in vmh_ipc_client.c, the byte primitives in
 * vmh_ipc_int.h.
 *
 * Two tables drive the codec: tag_specs says how long each field's value
 * may be and whether the field may repeat; the per-type masks say which
 * tags each request and reply type allows and which it requires. A first
 * pass over a body checks the framing against them (and counts the
 * repeated fields, so that the second pass allocates before it fills);
 * the second pass checks and stores the values, one small case per tag.
 *
 * Presence: the encoder writes a field when its value is not the zero
 * value (mandatory ones always); the decoder gives an absent field its
 * zero value. So "absent" and "zero" mean the same thing, and a present
 * zero (e.g. may_run 0) is accepted. Fields go out in tag order; the
 * decoder takes them in any order.
 *
 * Limits not in the header's tag list: at most VMH_REG_MAX_NODES node
 * entries, VMH_REG_MAX_VMS progress entries and VMH_IPC_HISTORY_MAX
 * history entries per reply (a bound on what a peer makes us allocate;
 * the daemon has no more of any), and an empty MESSAGE or IMAGE is
 * malformed (the encoder never writes one).
 */
#include "vmh_ipc_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- tables ------------------------------------------------------------ */

struct tag_spec {
	uint32_t min_len, max_len;	/* of the value */
	bool repeated;
};

static const struct tag_spec tag_specs[VMH_IPC_T_MAX + 1] = {
	[VMH_IPC_T_VM] = { 1, VMH_REG_NAME_MAX, false },
	[VMH_IPC_T_NODE] = { 1, VMH_IPC_NODE_NAME_MAX, false },
	[VMH_IPC_T_UUID] = { 16, 16, false },
	[VMH_IPC_T_XML] = { 1, VMH_REG_XML_MAX, false },
	[VMH_IPC_T_REQUIRE_FENCING] = { 1, 1, false },
	[VMH_IPC_T_BUDGET_MS] = { 4, 4, false },
	[VMH_IPC_T_STATUS] = { 4, 4, false },
	[VMH_IPC_T_REG_REASON] = { 4, 4, false },
	[VMH_IPC_T_MESSAGE] = { 1, VMH_IPC_MESSAGE_MAX, false },
	[VMH_IPC_T_EPOCH] = { 8, 8, false },
	[VMH_IPC_T_VM_STATE] = { 1, 1, false },
	[VMH_IPC_T_OWNER] = { 4, 4, false },
	[VMH_IPC_T_DST] = { 4, 4, false },
	[VMH_IPC_T_NODEID] = { 4, 4, false },
	[VMH_IPC_T_ADDR] = { 0, VMH_REG_ADDR_MAX, false },
	[VMH_IPC_T_MAY_RUN] = { 1, 1, false },
	[VMH_IPC_T_SELF] = { 4, 4, false },
	[VMH_IPC_T_FLAGS] = { 4, 4, false },
	[VMH_IPC_T_RING] = { 8, 8, false },
	[VMH_IPC_T_IMAGE] = { 1, VMH_IPC_MAX_BODY, false },
	[VMH_IPC_T_NODE_ENTRY] = { IPC_NODE_ENTRY_LEN + 1,
				   IPC_NODE_ENTRY_LEN + VMH_IPC_NODE_NAME_MAX, true },
	[VMH_IPC_T_PROGRESS] = { IPC_PROGRESS_LEN + 1, IPC_PROGRESS_LEN + VMH_REG_NAME_MAX, true },
	[VMH_IPC_T_DOM_STATE] = { 1, 1, false },
	[VMH_IPC_T_DOM_REASON] = { 4, 4, false },
	[VMH_IPC_T_DOM_VCPUS] = { 4, 4, false },
	[VMH_IPC_T_DOM_MAX_MEM] = { 8, 8, false },
	[VMH_IPC_T_URI] = { 1, VMH_IPC_URI_MAX, false },
	[VMH_IPC_T_HIST_ENTRY] = { VMH_HIST_ENTRY_LEN, VMH_HIST_ENTRY_LEN, true },
};

#define REQ_VM (IPC_BIT(VMH_IPC_T_BUDGET_MS) | IPC_BIT(VMH_IPC_T_VM))
#define CLAIM_OPTIONAL (IPC_BIT(VMH_IPC_T_UUID) | IPC_BIT(VMH_IPC_T_XML) | \
			IPC_BIT(VMH_IPC_T_REQUIRE_FENCING))

/* Tags a request of each type may carry; each is mandatory, but for a
 * CLAIM's optional ones. */
static const uint32_t req_allowed[VMH_IPC_TYPE_MAX + 1] = {
	[VMH_IPC_STATUS] = IPC_BIT(VMH_IPC_T_BUDGET_MS),
	[VMH_IPC_CLAIM] = REQ_VM | CLAIM_OPTIONAL,
	[VMH_IPC_RELEASE] = REQ_VM,
	[VMH_IPC_BEGIN] = REQ_VM | IPC_BIT(VMH_IPC_T_NODE),
	[VMH_IPC_COMMIT] = REQ_VM,
	[VMH_IPC_ABORT] = REQ_VM,
	[VMH_IPC_WAIT_OWNER] = REQ_VM,
	[VMH_IPC_QUERY] = REQ_VM,
	[VMH_IPC_CONFIG_GET] = REQ_VM,
	[VMH_IPC_CONFIG_PUSH] = REQ_VM | IPC_BIT(VMH_IPC_T_XML),
	[VMH_IPC_DOMSTATE] = REQ_VM,
	[VMH_IPC_HISTORY] = REQ_VM,
};

static uint32_t req_mandatory(unsigned type)
{
	return req_allowed[type] & ~(type == VMH_IPC_CLAIM ? CLAIM_OPTIONAL : 0u);
}

/* The request names, and the same names as replies: one list. */
#define IPC_TYPE_NAMES(X) \
	X(VMH_IPC_STATUS, "STATUS") \
	X(VMH_IPC_CLAIM, "CLAIM") \
	X(VMH_IPC_RELEASE, "RELEASE") \
	X(VMH_IPC_BEGIN, "HANDOFF_BEGIN") \
	X(VMH_IPC_COMMIT, "HANDOFF_COMMIT") \
	X(VMH_IPC_ABORT, "HANDOFF_ABORT") \
	X(VMH_IPC_WAIT_OWNER, "WAIT_OWNER") \
	X(VMH_IPC_QUERY, "QUERY") \
	X(VMH_IPC_CONFIG_GET, "CONFIG_GET") \
	X(VMH_IPC_CONFIG_PUSH, "CONFIG_PUSH") \
	X(VMH_IPC_DOMSTATE, "DOMSTATE") \
	X(VMH_IPC_HISTORY, "HISTORY")
#define IPC_REQ_NAME(t, name) [t] = name,
#define IPC_REPLY_NAME(t, name) [t] = name " reply",
static const char *const type_names[VMH_IPC_TYPE_MAX + 1] = { IPC_TYPE_NAMES(IPC_REQ_NAME) };
static const char *const reply_names[VMH_IPC_TYPE_MAX + 1] = { IPC_TYPE_NAMES(IPC_REPLY_NAME) };

static const char *const status_names[VMH_IPC_STATUS_MAX + 1] = {
	[VMH_IPC_OK] = "ok",
	[VMH_IPC_E_REJECTED] = "rejected by the registry",
	[VMH_IPC_E_TIMEOUT] = "timed out",
	[VMH_IPC_E_NO_QUORUM] = "no quorum",
	[VMH_IPC_E_MALFORMED] = "malformed request",
	[VMH_IPC_E_PERM] = "permission denied",
	[VMH_IPC_E_UNKNOWN_NODE] = "unknown node",
	[VMH_IPC_E_UNKNOWN_VM] = "unknown VM",
	[VMH_IPC_E_BUSY] = "busy",
	[VMH_IPC_E_NO_CLUSTER] = "not in the cluster",
	[VMH_IPC_E_INTERNAL] = "internal error",
};

const char *vmh_ipc_status_str(enum vmh_ipc_status s)
{
	return (unsigned)s <= VMH_IPC_STATUS_MAX ? status_names[s] : "?";
}

const char *vmh_ipc_type_str(enum vmh_ipc_type t)
{
	unsigned u = (unsigned)t;

	if (ipc_req_type_ok(u))
		return type_names[u];
	if ((u & VMH_IPC_REPLY) && ipc_req_type_ok(u & ~(unsigned)VMH_IPC_REPLY))
		return reply_names[u & ~(unsigned)VMH_IPC_REPLY];
	return "?";
}

/* ---- frames -------------------------------------------------------------- */

int vmh_ipcint_start_frame(struct vmh_bw *w, unsigned type)
{
	size_t body = w->pos;

	if (body > VMH_IPC_MAX_BODY)
		return -EMSGSIZE;
	w->cap = VMH_IPC_HDR_LEN + body;
	w->pos = 0;
	w->p = malloc(w->cap);
	if (!w->p)
		return -ENOMEM;
	vmh_bw_le(w, type, 2);
	vmh_bw_le(w, VMH_IPC_VERSION, 2);
	vmh_bw_le(w, body, 4);
	return 0;
}

void vmh_ipcint_finish_frame(struct vmh_bw *w, uint8_t **buf, size_t *len)
{
	assert(w->pos == w->cap);
	*buf = w->p;
	*len = w->cap;
}

int vmh_ipcint_open_frame(const uint8_t *buf, size_t len, struct vmh_br *body,
			  unsigned *type)
{
	struct vmh_br r = { .p = buf, .len = len };
	uint16_t version;
	uint32_t length;

	if (!buf || len < VMH_IPC_HDR_LEN)
		return -EBADMSG;
	*type = (unsigned)vmh_br_le(&r, 2);
	version = (uint16_t)vmh_br_le(&r, 2);
	length = (uint32_t)vmh_br_le(&r, 4);
	if (version != VMH_IPC_VERSION)
		return -EPROTONOSUPPORT;
	if (length > VMH_IPC_MAX_BODY || length != len - VMH_IPC_HDR_LEN)
		return -EBADMSG;
	*body = (struct vmh_br){ .p = buf + VMH_IPC_HDR_LEN, .len = length };
	return 0;
}

int vmh_ipcint_scan_body(const struct vmh_br *body, uint32_t allowed, uint32_t mandatory,
			 size_t count[VMH_IPC_T_MAX + 1])
{
	struct vmh_br r = *body;
	uint32_t seen = 0;
	struct ipc_field f;

	while (ipc_next_field(&r, &f)) {
		const struct tag_spec *s;

		if (f.tag == 0 || f.tag > VMH_IPC_T_MAX || !(allowed & IPC_BIT(f.tag)))
			return -EBADMSG;
		s = &tag_specs[f.tag];
		if (((seen & IPC_BIT(f.tag)) && !s->repeated) || f.len < s->min_len ||
		    f.len > s->max_len)
			return -EBADMSG;
		seen |= IPC_BIT(f.tag);
		count[f.tag]++;
	}
	if (r.bad || (mandatory & ~seen))
		return -EBADMSG;
	return 0;
}

ssize_t vmh_ipc_frame_len(const uint8_t *buf, size_t len)
{
	struct vmh_br r = { .p = buf, .len = len, .pos = 4 };
	uint32_t body;

	if (len < VMH_IPC_HDR_LEN)
		return 0;
	body = (uint32_t)vmh_br_le(&r, 4);
	if (body > VMH_IPC_MAX_BODY)
		return -EBADMSG;
	return (ssize_t)(VMH_IPC_HDR_LEN + body);
}

/* ---- requests ------------------------------------------------------------ */

static bool budget_ok(uint32_t ms)
{
	return ms >= 1 && ms <= VMH_IPC_MAX_BUDGET_MS;
}

void vmh_ipc_req_clear(struct vmh_ipc_req *req)
{
	free(req->owned_);
	memset(req, 0, sizeof(*req));
}

/* Tags the encoder writes for req. */
static uint32_t req_present(const struct vmh_ipc_req *req)
{
	uint32_t m = IPC_BIT(VMH_IPC_T_BUDGET_MS);

	if (req->vm[0])
		m |= IPC_BIT(VMH_IPC_T_VM);
	if (req->node[0])
		m |= IPC_BIT(VMH_IPC_T_NODE);
	if (req->has_uuid)
		m |= IPC_BIT(VMH_IPC_T_UUID);
	if (req->xml_len)
		m |= IPC_BIT(VMH_IPC_T_XML);
	if (req->require_fencing)
		m |= IPC_BIT(VMH_IPC_T_REQUIRE_FENCING);
	return m;
}

/* What the decoder would refuse, refused before encoding. */
static int check_req(const struct vmh_ipc_req *req, uint32_t present)
{
	unsigned type = (unsigned)req->type;

	if (!ipc_req_type_ok(type) || (present & ~req_allowed[type]) ||
	    (req_mandatory(type) & ~present) || !budget_ok(req->budget_ms))
		return -EINVAL;
	if ((present & IPC_BIT(VMH_IPC_T_VM)) &&
	    !ipc_cstr_ok(req->vm, sizeof(req->vm), vmh_reg_name_ok))
		return -EINVAL;
	if ((present & IPC_BIT(VMH_IPC_T_NODE)) &&
	    !ipc_cstr_ok(req->node, sizeof(req->node), ipc_node_name_ok))
		return -EINVAL;
	if (present & IPC_BIT(VMH_IPC_T_XML)) {
		if (req->xml_len > VMH_REG_XML_MAX)
			return -EMSGSIZE;
		if (!req->xml || memchr(req->xml, '\0', req->xml_len))
			return -EINVAL;
	}
	return 0;
}

static void put_req(struct vmh_bw *w, const struct vmh_ipc_req *req, uint32_t present)
{
	if (present & IPC_BIT(VMH_IPC_T_VM))
		ipc_put_str_field(w, VMH_IPC_T_VM, req->vm);
	if (present & IPC_BIT(VMH_IPC_T_NODE))
		ipc_put_str_field(w, VMH_IPC_T_NODE, req->node);
	if (present & IPC_BIT(VMH_IPC_T_UUID))
		ipc_put_bytes_field(w, VMH_IPC_T_UUID, req->uuid, sizeof(req->uuid));
	if (present & IPC_BIT(VMH_IPC_T_XML))
		ipc_put_bytes_field(w, VMH_IPC_T_XML, req->xml, req->xml_len);
	if (present & IPC_BIT(VMH_IPC_T_REQUIRE_FENCING))
		ipc_put_int_field(w, VMH_IPC_T_REQUIRE_FENCING, 1, 1);
	ipc_put_int_field(w, VMH_IPC_T_BUDGET_MS, req->budget_ms, 4);
}

int vmh_ipc_encode_req(const struct vmh_ipc_req *req, uint8_t **buf, size_t *len)
{
	uint32_t present = req_present(req);
	struct vmh_bw w = { 0 };
	int r;

	r = check_req(req, present);
	if (r < 0)
		return r;
	put_req(&w, req, present);
	r = vmh_ipcint_start_frame(&w, (unsigned)req->type);
	if (r < 0)
		return r;
	put_req(&w, req, present);
	vmh_ipcint_finish_frame(&w, buf, len);
	return 0;
}

static int get_xml(const struct ipc_field *f, struct vmh_ipc_req *req)
{
	char *copy;

	if (memchr(f->v, '\0', f->len))
		return -EBADMSG;
	copy = malloc((size_t)f->len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, f->v, f->len);
	copy[f->len] = '\0';
	req->owned_ = copy;
	req->xml = copy;
	req->xml_len = f->len;
	return 0;
}

static int req_field(struct vmh_ipc_req *req, const struct ipc_field *f)
{
	switch (f->tag) {
	case VMH_IPC_T_VM:
		return ipc_get_str_field(f, req->vm, sizeof(req->vm), vmh_reg_name_ok);
	case VMH_IPC_T_NODE:
		return ipc_get_str_field(f, req->node, sizeof(req->node), ipc_node_name_ok);
	case VMH_IPC_T_UUID:
		memcpy(req->uuid, f->v, sizeof(req->uuid));
		req->has_uuid = true;
		return 0;
	case VMH_IPC_T_XML:
		return get_xml(f, req);
	case VMH_IPC_T_REQUIRE_FENCING:
		return ipc_get_bool(f, &req->require_fencing);
	case VMH_IPC_T_BUDGET_MS:
		req->budget_ms = (uint32_t)ipc_field_int(f);
		return budget_ok(req->budget_ms) ? 0 : -EBADMSG;
	default:
		return -EBADMSG;	/* the scan let no other through */
	}
}

int vmh_ipc_decode_req(const uint8_t *buf, size_t len, struct vmh_ipc_req *req)
{
	size_t count[VMH_IPC_T_MAX + 1] = { 0 };
	struct vmh_br body;
	struct ipc_field f;
	unsigned type;
	int r;

	memset(req, 0, sizeof(*req));
	r = vmh_ipcint_open_frame(buf, len, &body, &type);
	if (r < 0)
		return r;
	if (!ipc_req_type_ok(type))
		return -ENOMSG;		/* a reply's type included */
	r = vmh_ipcint_scan_body(&body, req_allowed[type], req_mandatory(type), count);
	if (r < 0)
		return r;
	req->type = (enum vmh_ipc_type)type;
	while (r == 0 && ipc_next_field(&body, &f))
		r = req_field(req, &f);
	if (r < 0)
		vmh_ipc_req_clear(req);
	return r;
}
