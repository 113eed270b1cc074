/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_ipc: replies (see vmh_ipc.c for how the codec works: the same two
 * passes, the same "absent means zero" rule).
 *
 * Which tags a reply may carry depends on the request it answers: every
 * reply has the status and why it is not OK; replies about one VM (CLAIM
 * to DOMSTATE) may say where the registry has it; BEGIN adds the target;
 * DOMSTATE the local libvirt domain; STATUS carries the daemon's view and
 * nothing about one VM.
 *
 * HISTORY carries the entries (each one field, as vmh_hist_entry.h lays
 * it out and checks it), with the nodelist and self as STATUS has them,
 * and where the registry has the VM.
 *
 * DOMSTATE's domain fields hang together: the state is present iff
 * libvirt has the domain (has_dom; its value 0, VIR_DOMAIN_NOSTATE, is a
 * state like any other), and the reason and the figures only with it.
 */
#include "vmh_ipc_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The last enum vmh_reg_reason; move it when vmh_registry.h adds one. */
#define REG_REASON_LAST VMH_REG_R_NOT_EXPIRABLE

#define REP_COMMON (IPC_BIT(VMH_IPC_T_STATUS) | IPC_BIT(VMH_IPC_T_REG_REASON) | \
		    IPC_BIT(VMH_IPC_T_MESSAGE))
#define REP_VM (REP_COMMON | IPC_BIT(VMH_IPC_T_VM_STATE) | IPC_BIT(VMH_IPC_T_EPOCH) | \
		IPC_BIT(VMH_IPC_T_OWNER) | IPC_BIT(VMH_IPC_T_DST) | IPC_BIT(VMH_IPC_T_MAY_RUN))

/* Tags a reply to each request type may carry; status is its only
 * mandatory one (an error reply carries nothing else). */
static const uint32_t rep_allowed[VMH_IPC_TYPE_MAX + 1] = {
	[VMH_IPC_STATUS] = REP_COMMON | IPC_BIT(VMH_IPC_T_SELF) | IPC_BIT(VMH_IPC_T_FLAGS) |
			   IPC_BIT(VMH_IPC_T_RING) | IPC_BIT(VMH_IPC_T_IMAGE) |
			   IPC_BIT(VMH_IPC_T_NODE_ENTRY) | IPC_BIT(VMH_IPC_T_PROGRESS),
	[VMH_IPC_CLAIM] = REP_VM,
	[VMH_IPC_RELEASE] = REP_VM,
	[VMH_IPC_BEGIN] = REP_VM | IPC_BIT(VMH_IPC_T_NODEID) | IPC_BIT(VMH_IPC_T_ADDR),
	[VMH_IPC_COMMIT] = REP_VM,
	[VMH_IPC_ABORT] = REP_VM,
	[VMH_IPC_WAIT_OWNER] = REP_VM,
	[VMH_IPC_QUERY] = REP_VM,
	[VMH_IPC_CONFIG_GET] = REP_VM | IPC_BIT(VMH_IPC_T_XML),
	[VMH_IPC_CONFIG_PUSH] = REP_VM,
	[VMH_IPC_DOMSTATE] = REP_VM | IPC_BIT(VMH_IPC_T_DOM_STATE) | IPC_BIT(VMH_IPC_T_DOM_REASON) |
			     IPC_BIT(VMH_IPC_T_DOM_VCPUS) | IPC_BIT(VMH_IPC_T_DOM_MAX_MEM) |
			     IPC_BIT(VMH_IPC_T_URI),
	[VMH_IPC_HISTORY] = REP_VM | IPC_BIT(VMH_IPC_T_SELF) | IPC_BIT(VMH_IPC_T_NODE_ENTRY) |
			    IPC_BIT(VMH_IPC_T_HIST_ENTRY),
};
#define REP_MANDATORY IPC_BIT(VMH_IPC_T_STATUS)

void vmh_ipc_reply_clear(struct vmh_ipc_reply *rep)
{
	free(rep->nodes);
	free(rep->image);
	free(rep->progress);
	free(rep->xml);
	free(rep->history);
	memset(rep, 0, sizeof(*rep));
}

/* ---- encoding ------------------------------------------------------------ */

/* Tags the encoder writes for rep. */
static uint32_t reply_present(const struct vmh_ipc_reply *rep)
{
	const struct {
		bool set;
		enum vmh_ipc_tag tag;
	} fields[] = {
		{ true, VMH_IPC_T_STATUS },
		{ rep->reg_reason != VMH_REG_OK, VMH_IPC_T_REG_REASON },
		{ rep->message[0] != '\0', VMH_IPC_T_MESSAGE },
		{ rep->epoch != 0, VMH_IPC_T_EPOCH },
		{ rep->has_vm_state, VMH_IPC_T_VM_STATE },
		{ rep->owner != 0, VMH_IPC_T_OWNER },
		{ rep->dst != 0, VMH_IPC_T_DST },
		{ rep->nodeid != 0, VMH_IPC_T_NODEID },
		{ rep->addr[0] != '\0', VMH_IPC_T_ADDR },
		{ rep->xml_len != 0, VMH_IPC_T_XML },
		{ rep->may_run, VMH_IPC_T_MAY_RUN },
		{ rep->self != 0, VMH_IPC_T_SELF },
		{ rep->flags != 0, VMH_IPC_T_FLAGS },
		{ rep->ring != 0, VMH_IPC_T_RING },
		{ rep->image_len != 0, VMH_IPC_T_IMAGE },
		{ rep->n_nodes != 0, VMH_IPC_T_NODE_ENTRY },
		{ rep->n_progress != 0, VMH_IPC_T_PROGRESS },
		{ rep->has_dom, VMH_IPC_T_DOM_STATE },
		{ rep->dom_reason != 0, VMH_IPC_T_DOM_REASON },
		{ rep->dom_vcpus != 0, VMH_IPC_T_DOM_VCPUS },
		{ rep->dom_max_mem_kib != 0, VMH_IPC_T_DOM_MAX_MEM },
		{ rep->uri[0] != '\0', VMH_IPC_T_URI },
		{ rep->n_history != 0, VMH_IPC_T_HIST_ENTRY },
	};
	uint32_t m = 0;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].set)
			m |= IPC_BIT(fields[i].tag);
	return m;
}

static int check_reply_lists(const struct vmh_ipc_reply *rep)
{
	if (rep->n_nodes > VMH_REG_MAX_NODES || rep->n_progress > VMH_REG_MAX_VMS ||
	    rep->n_history > VMH_IPC_HISTORY_MAX || rep->image_len > VMH_IPC_MAX_BODY)
		return -EMSGSIZE;
	if ((rep->n_nodes && !rep->nodes) || (rep->n_progress && !rep->progress) ||
	    (rep->n_history && !rep->history) || (rep->image_len && !rep->image))
		return -EINVAL;
	for (size_t i = 0; i < rep->n_history; i++)
		if (!vmh_hist_entry_ok(&rep->history[i]))
			return -EINVAL;
	for (size_t i = 0; i < rep->n_nodes; i++)
		if (rep->nodes[i].nodeid == 0 ||
		    !ipc_cstr_ok(rep->nodes[i].name, sizeof(rep->nodes[i].name), ipc_node_name_ok))
			return -EINVAL;
	for (size_t i = 0; i < rep->n_progress; i++)
		if (!ipc_cstr_ok(rep->progress[i].vm, sizeof(rep->progress[i].vm), vmh_reg_name_ok))
			return -EINVAL;
	return 0;
}

/* A domain state in range; the reason and the figures only with a state. */
static bool dom_fields_ok(const struct vmh_ipc_reply *rep)
{
	if (rep->has_dom)
		return rep->dom_state <= VMH_IPC_DOM_STATE_MAX;
	return rep->dom_reason == 0 && rep->dom_vcpus == 0 && rep->dom_max_mem_kib == 0;
}

/* What the decoder would refuse, refused before encoding. */
static int check_reply(const struct vmh_ipc_reply *rep, uint32_t present)
{
	unsigned type = (unsigned)rep->type, req_type = type & ~(unsigned)VMH_IPC_REPLY;

	if (!(type & VMH_IPC_REPLY) || !ipc_req_type_ok(req_type) ||
	    (present & ~rep_allowed[req_type]))
		return -EINVAL;
	if ((unsigned)rep->status > VMH_IPC_STATUS_MAX ||
	    (unsigned)rep->reg_reason > REG_REASON_LAST ||
	    (rep->has_vm_state && (unsigned)rep->vm_state > VMH_VM_MIGRATING) ||
	    (rep->flags & ~VMH_IPC_F_ALL) || !dom_fields_ok(rep))
		return -EINVAL;
	if ((present & IPC_BIT(VMH_IPC_T_URI)) && !ipc_cstr_ok(rep->uri, sizeof(rep->uri), ipc_uri_ok))
		return -EINVAL;
	if ((present & IPC_BIT(VMH_IPC_T_MESSAGE)) &&
	    !ipc_cstr_ok(rep->message, sizeof(rep->message), ipc_message_ok))
		return -EINVAL;
	if ((present & IPC_BIT(VMH_IPC_T_ADDR)) &&
	    !ipc_cstr_ok(rep->addr, sizeof(rep->addr), vmh_reg_addr_ok))
		return -EINVAL;
	if (present & IPC_BIT(VMH_IPC_T_XML)) {
		if (rep->xml_len > VMH_REG_XML_MAX)
			return -EMSGSIZE;
		if (!rep->xml || memchr(rep->xml, '\0', rep->xml_len))
			return -EINVAL;
	}
	return check_reply_lists(rep);
}

static void put_node_entry(struct vmh_bw *w, const struct vmh_ipc_node *n)
{
	size_t nlen = strlen(n->name);

	ipc_put_field_hdr(w, VMH_IPC_T_NODE_ENTRY, IPC_NODE_ENTRY_LEN + nlen);
	vmh_bw_le(w, n->nodeid, 4);
	vmh_bw_le(w, n->member ? VMH_IPC_NF_MEMBER : 0, 1);
	vmh_bw_le(w, nlen, 1);
	vmh_bw_le(w, 0, 2);
	vmh_bw_put(w, n->name, nlen);
}

static void put_progress(struct vmh_bw *w, const struct vmh_ipc_progress *p)
{
	size_t nlen = strlen(p->vm);

	ipc_put_field_hdr(w, VMH_IPC_T_PROGRESS, IPC_PROGRESS_LEN + nlen);
	vmh_bw_le(w, nlen, 1);
	vmh_bw_le(w, 0, 3);
	vmh_bw_le(w, p->iteration, 4);
	vmh_bw_le(w, p->elapsed_ms, 8);
	vmh_bw_le(w, p->data_total, 8);
	vmh_bw_le(w, p->data_processed, 8);
	vmh_bw_le(w, p->data_remaining, 8);
	vmh_bw_le(w, p->mem_bps, 8);
	vmh_bw_le(w, p->dirty_rate, 8);
	vmh_bw_le(w, p->downtime_ms, 8);
	vmh_bw_put(w, p->vm, nlen);
}

static void put_reply(struct vmh_bw *w, const struct vmh_ipc_reply *rep, uint32_t present)
{
	ipc_put_int_field(w, VMH_IPC_T_STATUS, (unsigned)rep->status, 4);
	if (present & IPC_BIT(VMH_IPC_T_REG_REASON))
		ipc_put_int_field(w, VMH_IPC_T_REG_REASON, (unsigned)rep->reg_reason, 4);
	if (present & IPC_BIT(VMH_IPC_T_MESSAGE))
		ipc_put_str_field(w, VMH_IPC_T_MESSAGE, rep->message);
	if (present & IPC_BIT(VMH_IPC_T_EPOCH))
		ipc_put_int_field(w, VMH_IPC_T_EPOCH, rep->epoch, 8);
	if (present & IPC_BIT(VMH_IPC_T_VM_STATE))
		ipc_put_int_field(w, VMH_IPC_T_VM_STATE, (unsigned)rep->vm_state, 1);
	if (present & IPC_BIT(VMH_IPC_T_OWNER))
		ipc_put_int_field(w, VMH_IPC_T_OWNER, rep->owner, 4);
	if (present & IPC_BIT(VMH_IPC_T_DST))
		ipc_put_int_field(w, VMH_IPC_T_DST, rep->dst, 4);
	if (present & IPC_BIT(VMH_IPC_T_NODEID))
		ipc_put_int_field(w, VMH_IPC_T_NODEID, rep->nodeid, 4);
	if (present & IPC_BIT(VMH_IPC_T_ADDR))
		ipc_put_str_field(w, VMH_IPC_T_ADDR, rep->addr);
	if (present & IPC_BIT(VMH_IPC_T_MAY_RUN))
		ipc_put_int_field(w, VMH_IPC_T_MAY_RUN, 1, 1);
	if (present & IPC_BIT(VMH_IPC_T_XML))
		ipc_put_bytes_field(w, VMH_IPC_T_XML, rep->xml, rep->xml_len);
	if (present & IPC_BIT(VMH_IPC_T_SELF))
		ipc_put_int_field(w, VMH_IPC_T_SELF, rep->self, 4);
	if (present & IPC_BIT(VMH_IPC_T_FLAGS))
		ipc_put_int_field(w, VMH_IPC_T_FLAGS, rep->flags, 4);
	if (present & IPC_BIT(VMH_IPC_T_RING))
		ipc_put_int_field(w, VMH_IPC_T_RING, rep->ring, 8);
	if (present & IPC_BIT(VMH_IPC_T_IMAGE))
		ipc_put_bytes_field(w, VMH_IPC_T_IMAGE, rep->image, rep->image_len);
	if (present & IPC_BIT(VMH_IPC_T_DOM_STATE))
		ipc_put_int_field(w, VMH_IPC_T_DOM_STATE, rep->dom_state, 1);
	if (present & IPC_BIT(VMH_IPC_T_DOM_REASON))
		ipc_put_int_field(w, VMH_IPC_T_DOM_REASON, rep->dom_reason, 4);
	if (present & IPC_BIT(VMH_IPC_T_DOM_VCPUS))
		ipc_put_int_field(w, VMH_IPC_T_DOM_VCPUS, rep->dom_vcpus, 4);
	if (present & IPC_BIT(VMH_IPC_T_DOM_MAX_MEM))
		ipc_put_int_field(w, VMH_IPC_T_DOM_MAX_MEM, rep->dom_max_mem_kib, 8);
	if (present & IPC_BIT(VMH_IPC_T_URI))
		ipc_put_str_field(w, VMH_IPC_T_URI, rep->uri);
	for (size_t i = 0; i < rep->n_nodes; i++)
		put_node_entry(w, &rep->nodes[i]);
	for (size_t i = 0; i < rep->n_progress; i++)
		put_progress(w, &rep->progress[i]);
	for (size_t i = 0; i < rep->n_history; i++) {
		ipc_put_field_hdr(w, VMH_IPC_T_HIST_ENTRY, VMH_HIST_ENTRY_LEN);
		vmh_hist_put_entry(w, &rep->history[i]);
	}
}

int vmh_ipc_encode_reply(const struct vmh_ipc_reply *rep, uint8_t **buf, size_t *len)
{
	uint32_t present = reply_present(rep);
	struct vmh_bw w = { 0 };
	int r;

	r = check_reply(rep, present);
	if (r < 0)
		return r;
	put_reply(&w, rep, present);
	r = vmh_ipcint_start_frame(&w, (unsigned)rep->type);
	if (r < 0)
		return r;
	put_reply(&w, rep, present);
	vmh_ipcint_finish_frame(&w, buf, len);
	return 0;
}

/* ---- decoding ------------------------------------------------------------ */

static int get_node_entry(const struct ipc_field *f, struct vmh_ipc_node *n)
{
	struct vmh_br r = ipc_value_reader(f);
	uint8_t flags, nlen;

	n->nodeid = (uint32_t)vmh_br_le(&r, 4);
	flags = (uint8_t)vmh_br_le(&r, 1);
	nlen = (uint8_t)vmh_br_le(&r, 1);
	vmh_br_reserved(&r, 2);
	ipc_get_str(&r, nlen, n->name, sizeof(n->name), ipc_node_name_ok);
	if (r.bad || r.pos != r.len || n->nodeid == 0 || (flags & ~VMH_IPC_NF_ALL))
		return -EBADMSG;
	n->member = flags & VMH_IPC_NF_MEMBER;
	return 0;
}

static int get_progress(const struct ipc_field *f, struct vmh_ipc_progress *p)
{
	struct vmh_br r = ipc_value_reader(f);
	uint8_t nlen = (uint8_t)vmh_br_le(&r, 1);

	vmh_br_reserved(&r, 3);
	p->iteration = (uint32_t)vmh_br_le(&r, 4);
	p->elapsed_ms = vmh_br_le(&r, 8);
	p->data_total = vmh_br_le(&r, 8);
	p->data_processed = vmh_br_le(&r, 8);
	p->data_remaining = vmh_br_le(&r, 8);
	p->mem_bps = vmh_br_le(&r, 8);
	p->dirty_rate = vmh_br_le(&r, 8);
	p->downtime_ms = vmh_br_le(&r, 8);
	ipc_get_str(&r, nlen, p->vm, sizeof(p->vm), vmh_reg_name_ok);
	return r.bad || r.pos != r.len ? -EBADMSG : 0;
}

static int get_hist_entry(const struct ipc_field *f, struct vmh_hist_entry *e)
{
	struct vmh_br r = ipc_value_reader(f);

	return vmh_hist_get_entry(&r, e) && r.pos == r.len ? 0 : -EBADMSG;
}

/* "may be empty": the only string field with a zero minimum length. */
static bool addr_or_empty_ok(const char *s, size_t len)
{
	return len == 0 || vmh_reg_addr_ok(s, len);
}

static int get_image(const struct ipc_field *f, struct vmh_ipc_reply *rep)
{
	rep->image = malloc(f->len);
	if (!rep->image)
		return -ENOMEM;
	memcpy(rep->image, f->v, f->len);
	rep->image_len = f->len;
	return 0;
}

static int get_xml(const struct ipc_field *f, struct vmh_ipc_reply *rep)
{
	if (memchr(f->v, '\0', f->len))
		return -EBADMSG;
	rep->xml = malloc((size_t)f->len + 1);
	if (!rep->xml)
		return -ENOMEM;
	memcpy(rep->xml, f->v, f->len);
	rep->xml[f->len] = '\0';
	rep->xml_len = f->len;
	return 0;
}

/* Integer fields, with their ranges. */
static int reply_int_field(struct vmh_ipc_reply *rep, const struct ipc_field *f)
{
	uint64_t v = ipc_field_int(f);

	switch (f->tag) {
	case VMH_IPC_T_STATUS:
		rep->status = (enum vmh_ipc_status)v;
		return v <= VMH_IPC_STATUS_MAX ? 0 : -EBADMSG;
	case VMH_IPC_T_REG_REASON:
		rep->reg_reason = (enum vmh_reg_reason)v;
		return v <= REG_REASON_LAST ? 0 : -EBADMSG;
	case VMH_IPC_T_EPOCH:
		rep->epoch = v;
		return 0;
	case VMH_IPC_T_VM_STATE:
		rep->vm_state = (enum vmh_vm_state)v;
		rep->has_vm_state = true;
		return v <= VMH_VM_MIGRATING ? 0 : -EBADMSG;
	case VMH_IPC_T_OWNER:
		rep->owner = (uint32_t)v;
		return 0;
	case VMH_IPC_T_DST:
		rep->dst = (uint32_t)v;
		return 0;
	case VMH_IPC_T_NODEID:
		rep->nodeid = (uint32_t)v;
		return 0;
	case VMH_IPC_T_SELF:
		rep->self = (uint32_t)v;
		return 0;
	case VMH_IPC_T_FLAGS:
		rep->flags = (uint32_t)v;
		return (v & ~(uint64_t)VMH_IPC_F_ALL) ? -EBADMSG : 0;
	case VMH_IPC_T_RING:
		rep->ring = v;
		return 0;
	case VMH_IPC_T_DOM_STATE:
		rep->dom_state = (uint8_t)v;
		rep->has_dom = true;
		return v <= VMH_IPC_DOM_STATE_MAX ? 0 : -EBADMSG;
	case VMH_IPC_T_DOM_REASON:
		rep->dom_reason = (uint32_t)v;
		return 0;
	case VMH_IPC_T_DOM_VCPUS:
		rep->dom_vcpus = (uint32_t)v;
		return 0;
	case VMH_IPC_T_DOM_MAX_MEM:
		rep->dom_max_mem_kib = v;
		return 0;
	default:
		return -EBADMSG;	/* the scan let no other through */
	}
}

static int reply_field(struct vmh_ipc_reply *rep, const struct ipc_field *f)
{
	switch (f->tag) {
	case VMH_IPC_T_MESSAGE:
		return ipc_get_str_field(f, rep->message, sizeof(rep->message), ipc_message_ok);
	case VMH_IPC_T_ADDR:
		return ipc_get_str_field(f, rep->addr, sizeof(rep->addr), addr_or_empty_ok);
	case VMH_IPC_T_URI:
		return ipc_get_str_field(f, rep->uri, sizeof(rep->uri), ipc_uri_ok);
	case VMH_IPC_T_MAY_RUN:
		return ipc_get_bool(f, &rep->may_run);
	case VMH_IPC_T_IMAGE:
		return get_image(f, rep);
	case VMH_IPC_T_XML:
		return get_xml(f, rep);
	case VMH_IPC_T_NODE_ENTRY:
		return get_node_entry(f, &rep->nodes[rep->n_nodes++]);
	case VMH_IPC_T_PROGRESS:
		return get_progress(f, &rep->progress[rep->n_progress++]);
	case VMH_IPC_T_HIST_ENTRY:
		return get_hist_entry(f, &rep->history[rep->n_history++]);
	default:
		return reply_int_field(rep, f);
	}
}

/* Room for the repeated fields the scan counted. */
static int alloc_lists(struct vmh_ipc_reply *rep, const size_t count[VMH_IPC_T_MAX + 1])
{
	size_t nodes = count[VMH_IPC_T_NODE_ENTRY], progress = count[VMH_IPC_T_PROGRESS];
	size_t history = count[VMH_IPC_T_HIST_ENTRY];

	if (nodes > VMH_REG_MAX_NODES || progress > VMH_REG_MAX_VMS ||
	    history > VMH_IPC_HISTORY_MAX)
		return -EBADMSG;
	if (nodes) {
		rep->nodes = calloc(nodes, sizeof(*rep->nodes));
		if (!rep->nodes)
			return -ENOMEM;
	}
	if (progress) {
		rep->progress = calloc(progress, sizeof(*rep->progress));
		if (!rep->progress)
			return -ENOMEM;
	}
	if (history) {
		rep->history = calloc(history, sizeof(*rep->history));
		if (!rep->history)
			return -ENOMEM;
	}
	return 0;
}

int vmh_ipc_decode_reply(const uint8_t *buf, size_t len, struct vmh_ipc_reply *rep)
{
	size_t count[VMH_IPC_T_MAX + 1] = { 0 };
	unsigned type, req_type;
	struct vmh_br body;
	struct ipc_field f;
	int r;

	memset(rep, 0, sizeof(*rep));
	r = vmh_ipcint_open_frame(buf, len, &body, &type);
	if (r < 0)
		return r;
	req_type = type & ~(unsigned)VMH_IPC_REPLY;
	if (!(type & VMH_IPC_REPLY) || !ipc_req_type_ok(req_type))
		return -ENOMSG;		/* a request's type included */
	r = vmh_ipcint_scan_body(&body, rep_allowed[req_type], REP_MANDATORY, count);
	if (r < 0)
		return r;
	rep->type = (enum vmh_ipc_type)type;
	r = alloc_lists(rep, count);
	while (r == 0 && ipc_next_field(&body, &f))
		r = reply_field(rep, &f);
	if (r == 0 && !dom_fields_ok(rep))
		r = -EBADMSG;
	if (r < 0)
		vmh_ipc_reply_clear(rep);
	return r;
}
