/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The local protocol (vmh_ipc): every request and reply type round-trips
 * with all its fields; each class of malformed frame is refused; every
 * truncation of a valid frame is refused; mutated frames never crash the
 * decoders, and whatever they accept the encoder takes back unchanged.
 * The blocking client runs against a small server in a thread (answer,
 * silence, early close, wrong reply type, no socket, ...). Last, the
 * CLI's status and history printers and their exit codes, on canned
 * replies: the CLI's sources are not in the library, so they are compiled
 * in here.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmh_ipc.h"
#include "vmh_time.h"
#include "vmh_wire.h"

#include "../../cli/history.c"
#include "../../cli/status.c"
#include "../../cli/status_json.c"
#include "../../cli/status_text.c"

/* ---- samples ------------------------------------------------------------- */

static const char sample_xml[] = "<domain type='kvm'><name>web-01</name></domain>";
static const uint8_t sample_image_bytes[] = { 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01 };
static struct vmh_ipc_node sample_nodes[] = {
	{ .nodeid = 1, .member = true, .name = "node-a" },
	{ .nodeid = 7, .member = false, .name = "node b, \"the other\"" },
};
static struct vmh_ipc_progress sample_progress[] = {
	{ .vm = "web-01", .iteration = 3, .elapsed_ms = 12345, .data_total = 8ull << 30,
	  .data_processed = 4ull << 30, .data_remaining = 4ull << 30, .mem_bps = 100u << 20,
	  .dirty_rate = 1000, .downtime_ms = 300 },
	{ .vm = "db", .iteration = 0xfffffffe, .elapsed_ms = UINT64_MAX, .data_total = 1,
	  .data_processed = 2, .data_remaining = 3, .mem_bps = 4, .dirty_rate = 5,
	  .downtime_ms = 6 },
};

/* A committed handoff with every figure, and one learned late. */
static struct vmh_hist_entry sample_history[] = {
	{ .vm = "web-01", .outcome = VMH_HIST_COMMITTED, .src = 1, .dst = 7, .owner_after = 7,
	  .begin_epoch = 4, .end_epoch = 5, .start_ms = 1700000000123ull, .duration_ms = 620,
	  .flags = VMH_HIST_F_FIGURES, .bytes = 9334784, .job_ms = 992, .downtime_ms = 17,
	  .resume_us = 1234 },
	{ .vm = "web-01", .outcome = VMH_HIST_TAKEN_OVER, .src = 7, .dst = 1, .owner_after = 3,
	  .begin_epoch = 6, .end_epoch = UINT64_MAX, .start_ms = UINT64_MAX,
	  .duration_ms = UINT64_MAX, .flags = VMH_HIST_F_LATE },
};

/* A request of type t with every field its type allows. */
static struct vmh_ipc_req sample_req(enum vmh_ipc_type t)
{
	struct vmh_ipc_req r = { .type = t, .budget_ms = 30000 };

	if (t != VMH_IPC_STATUS)
		snprintf(r.vm, sizeof(r.vm), "web-01");
	if (t == VMH_IPC_CLAIM) {
		r.has_uuid = true;
		for (int i = 0; i < 16; i++)
			r.uuid[i] = (uint8_t)(0xa0 + i);
		r.require_fencing = true;
		r.xml = sample_xml;
		r.xml_len = strlen(sample_xml);
	}
	if (t == VMH_IPC_CONFIG_PUSH) {
		r.xml = sample_xml;
		r.xml_len = strlen(sample_xml);
	}
	if (t == VMH_IPC_BEGIN)
		snprintf(r.node, sizeof(r.node), "node-b");
	return r;
}

/* A reply to t with every field its type allows (borrowing static lists). */
static struct vmh_ipc_reply sample_reply(enum vmh_ipc_type t)
{
	struct vmh_ipc_reply r = { .type = t | VMH_IPC_REPLY, .status = VMH_IPC_E_REJECTED,
				   .reg_reason = VMH_REG_R_NO_WITNESS };

	snprintf(r.message, sizeof(r.message), "node-b is \"not\" fenced \\ yet");
	if (t == VMH_IPC_STATUS) {
		r.self = 1;
		r.flags = VMH_IPC_F_ALL;
		r.ring = 0x0102030405060708ull;
		r.n_nodes = 2;
		r.nodes = sample_nodes;
		r.image = (uint8_t *)sample_image_bytes;
		r.image_len = sizeof(sample_image_bytes);
		r.n_progress = 2;
		r.progress = sample_progress;
		return r;
	}
	r.has_vm_state = true;
	r.vm_state = VMH_VM_MIGRATING;
	r.epoch = UINT64_MAX - 1;
	r.owner = 1;
	r.dst = 0xfffffff0u;
	r.may_run = true;
	if (t == VMH_IPC_BEGIN) {
		r.nodeid = 2;
		snprintf(r.addr, sizeof(r.addr), "[fd00:1::5%%eth0]");
	}
	if (t == VMH_IPC_CONFIG_GET) {
		r.xml = (char *)sample_xml;
		r.xml_len = strlen(sample_xml);
	}
	if (t == VMH_IPC_HISTORY) {
		r.self = 7;
		r.n_nodes = 2;
		r.nodes = sample_nodes;
		r.n_history = 2;
		r.history = sample_history;
	}
	if (t == VMH_IPC_DOMSTATE) {
		r.has_dom = true;
		r.dom_state = VMH_IPC_DOM_STATE_MAX;
		r.dom_reason = 0xfffffffeu;
		r.dom_vcpus = 4096;
		r.dom_max_mem_kib = 1ull << 40;
		snprintf(r.uri, sizeof(r.uri), "qemu+ssh://root@host-b/system?keyfile=/k&no_verify=1");
	}
	return r;
}

static void assert_req_equal(const struct vmh_ipc_req *a, const struct vmh_ipc_req *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->budget_ms, b->budget_ms);
	assert_string_equal(a->vm, b->vm);
	assert_string_equal(a->node, b->node);
	assert_int_equal(a->has_uuid, b->has_uuid);
	if (a->has_uuid)
		assert_memory_equal(a->uuid, b->uuid, 16);
	assert_int_equal(a->require_fencing, b->require_fencing);
	assert_int_equal(a->xml_len, b->xml_len);
	if (a->xml_len)
		assert_memory_equal(a->xml, b->xml, a->xml_len);
}

static void assert_progress_equal(const struct vmh_ipc_progress *a,
				  const struct vmh_ipc_progress *b)
{
	assert_string_equal(a->vm, b->vm);
	assert_int_equal(a->iteration, b->iteration);
	assert_int_equal(a->elapsed_ms, b->elapsed_ms);
	assert_int_equal(a->data_total, b->data_total);
	assert_int_equal(a->data_processed, b->data_processed);
	assert_int_equal(a->data_remaining, b->data_remaining);
	assert_int_equal(a->mem_bps, b->mem_bps);
	assert_int_equal(a->dirty_rate, b->dirty_rate);
	assert_int_equal(a->downtime_ms, b->downtime_ms);
}

static void assert_hist_equal(const struct vmh_hist_entry *a, const struct vmh_hist_entry *b)
{
	assert_string_equal(a->vm, b->vm);
	assert_int_equal(a->outcome, b->outcome);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->src, b->src);
	assert_int_equal(a->dst, b->dst);
	assert_int_equal(a->owner_after, b->owner_after);
	assert_int_equal(a->begin_epoch, b->begin_epoch);
	assert_int_equal(a->end_epoch, b->end_epoch);
	assert_int_equal(a->start_ms, b->start_ms);
	assert_int_equal(a->duration_ms, b->duration_ms);
	assert_int_equal(a->bytes, b->bytes);
	assert_int_equal(a->job_ms, b->job_ms);
	assert_int_equal(a->downtime_ms, b->downtime_ms);
	assert_int_equal(a->resume_us, b->resume_us);
}

static void assert_reply_equal(const struct vmh_ipc_reply *a, const struct vmh_ipc_reply *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->reg_reason, b->reg_reason);
	assert_string_equal(a->message, b->message);
	assert_int_equal(a->has_vm_state, b->has_vm_state);
	if (a->has_vm_state)
		assert_int_equal(a->vm_state, b->vm_state);
	assert_int_equal(a->epoch, b->epoch);
	assert_int_equal(a->owner, b->owner);
	assert_int_equal(a->dst, b->dst);
	assert_int_equal(a->may_run, b->may_run);
	assert_int_equal(a->nodeid, b->nodeid);
	assert_string_equal(a->addr, b->addr);
	assert_int_equal(a->xml_len, b->xml_len);
	if (a->xml_len) {
		assert_memory_equal(a->xml, b->xml, a->xml_len);
		assert_int_equal(b->xml[b->xml_len], '\0');
	}
	assert_int_equal(a->self, b->self);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->ring, b->ring);
	assert_int_equal(a->image_len, b->image_len);
	if (a->image_len)
		assert_memory_equal(a->image, b->image, a->image_len);
	assert_int_equal(a->n_nodes, b->n_nodes);
	for (size_t i = 0; i < a->n_nodes; i++) {
		assert_int_equal(a->nodes[i].nodeid, b->nodes[i].nodeid);
		assert_int_equal(a->nodes[i].member, b->nodes[i].member);
		assert_string_equal(a->nodes[i].name, b->nodes[i].name);
	}
	assert_int_equal(a->n_progress, b->n_progress);
	for (size_t i = 0; i < a->n_progress; i++)
		assert_progress_equal(&a->progress[i], &b->progress[i]);
	assert_int_equal(a->has_dom, b->has_dom);
	assert_int_equal(a->dom_state, b->dom_state);
	assert_int_equal(a->dom_reason, b->dom_reason);
	assert_int_equal(a->dom_vcpus, b->dom_vcpus);
	assert_int_equal(a->dom_max_mem_kib, b->dom_max_mem_kib);
	assert_string_equal(a->uri, b->uri);
	assert_int_equal(a->n_history, b->n_history);
	for (size_t i = 0; i < a->n_history; i++)
		assert_hist_equal(&a->history[i], &b->history[i]);
}

/* ---- a frame builder for hand-made (malformed) frames --------------------- */

struct fb {
	uint8_t *buf;
	size_t len, cap;
};

static void fb_put(struct fb *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->buf = realloc(b->buf, b->cap);
		assert_non_null(b->buf);
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static void fb_le(struct fb *b, uint64_t v, unsigned bytes)
{
	uint8_t t[8];

	for (unsigned i = 0; i < bytes; i++)
		t[i] = (uint8_t)(v >> (8 * i));
	fb_put(b, t, bytes);
}

static void fb_start(struct fb *b, unsigned type)
{
	b->len = 0;
	fb_le(b, type, 2);
	fb_le(b, VMH_IPC_VERSION, 2);
	fb_le(b, 0, 4);		/* fb_end fills it in */
}

static void fb_field_raw(struct fb *b, unsigned tag, unsigned reserved, const void *v, size_t len)
{
	fb_le(b, tag, 2);
	fb_le(b, reserved, 2);
	fb_le(b, len, 4);
	fb_put(b, v, len);
}

static void fb_field(struct fb *b, unsigned tag, const void *v, size_t len)
{
	fb_field_raw(b, tag, 0, v, len);
}

static void fb_str(struct fb *b, unsigned tag, const char *s)
{
	fb_field(b, tag, s, strlen(s));
}

static void fb_int(struct fb *b, unsigned tag, uint64_t v, unsigned bytes)
{
	fb_le(b, tag, 2);
	fb_le(b, 0, 2);
	fb_le(b, bytes, 4);
	fb_le(b, v, bytes);
}

static void fb_end(struct fb *b)
{
	uint32_t body = (uint32_t)(b->len - VMH_IPC_HDR_LEN);

	for (int i = 0; i < 4; i++)
		b->buf[4 + i] = (uint8_t)(body >> (8 * i));
}

static void set_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Decode and drop; on error the output must own nothing. */
static int dec_req(const uint8_t *buf, size_t len)
{
	struct vmh_ipc_req r;
	int rc = vmh_ipc_decode_req(buf, len, &r);

	if (rc == 0) {
		vmh_ipc_req_clear(&r);
	} else {
		assert_null(r.owned_);
		assert_null(r.xml);
	}
	return rc;
}

static int dec_rep(const uint8_t *buf, size_t len)
{
	struct vmh_ipc_reply r;
	int rc = vmh_ipc_decode_reply(buf, len, &r);

	if (rc == 0) {
		vmh_ipc_reply_clear(&r);
	} else {
		assert_null(r.nodes);
		assert_null(r.progress);
		assert_null(r.image);
		assert_null(r.xml);
		assert_null(r.history);
	}
	return rc;
}

static int fb_req(struct fb *b)
{
	fb_end(b);
	return dec_req(b->buf, b->len);
}

static int fb_rep(struct fb *b)
{
	fb_end(b);
	return dec_rep(b->buf, b->len);
}

/* ---- round trips ---------------------------------------------------------- */

static void test_roundtrip_requests(void **state)
{
	(void)state;
	for (int t = VMH_IPC_STATUS; t <= VMH_IPC_TYPE_MAX; t++) {
		struct vmh_ipc_req in = sample_req((enum vmh_ipc_type)t), out;
		uint8_t *buf, *again;
		size_t len, len2;

		assert_int_equal(vmh_ipc_encode_req(&in, &buf, &len), 0);
		assert_int_equal(vmh_ipc_frame_len(buf, len), (ssize_t)len);
		assert_int_equal(vmh_ipc_decode_req(buf, len, &out), 0);
		assert_req_equal(&in, &out);
		if (out.xml_len) {
			assert_ptr_equal(out.xml, out.owned_);
			assert_int_equal(out.xml[out.xml_len], '\0');
		}
		assert_int_equal(vmh_ipc_encode_req(&out, &again, &len2), 0);
		assert_int_equal(len, len2);
		assert_memory_equal(buf, again, len);
		vmh_ipc_req_clear(&out);
		assert_null(out.owned_);
		free(buf);
		free(again);
	}
}

static void test_roundtrip_replies(void **state)
{
	(void)state;
	for (int t = VMH_IPC_STATUS; t <= VMH_IPC_TYPE_MAX; t++) {
		struct vmh_ipc_reply in = sample_reply((enum vmh_ipc_type)t), out;
		uint8_t *buf, *again;
		size_t len, len2;

		assert_int_equal(vmh_ipc_encode_reply(&in, &buf, &len), 0);
		assert_int_equal(vmh_ipc_frame_len(buf, len), (ssize_t)len);
		assert_int_equal(vmh_ipc_decode_reply(buf, len, &out), 0);
		assert_reply_equal(&in, &out);
		assert_int_equal(vmh_ipc_encode_reply(&out, &again, &len2), 0);
		assert_int_equal(len, len2);
		assert_memory_equal(buf, again, len);
		vmh_ipc_reply_clear(&out);
		assert_null(out.nodes);
		free(buf);
		free(again);
	}
}

/* Minimal messages, zero values, and the exact bytes of one frame. */
static void test_layout(void **state)
{
	static const uint8_t want[] = {
		3, 0, 1, 0, 21, 0, 0, 0,			/* RELEASE, v1, 21 bytes */
		1, 0, 0, 0, 1, 0, 0, 0, 'a',			/* vm "a" */
		6, 0, 0, 0, 4, 0, 0, 0, 0xe8, 0x03, 0, 0,	/* budget 1000 */
	};
	struct vmh_ipc_req req = { .type = VMH_IPC_RELEASE, .budget_ms = 1000, .vm = "a" };
	struct vmh_ipc_reply rep = { .type = VMH_IPC_QUERY | VMH_IPC_REPLY }, out;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	free(buf);
	/* An OK reply without anything else: only the status, 0. */
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), 0);
	assert_int_equal(len, 8 + 12);
	assert_int_equal(buf[0], VMH_IPC_QUERY | VMH_IPC_REPLY);
	assert_int_equal(vmh_ipc_decode_reply(buf, len, &out), 0);
	assert_reply_equal(&rep, &out);
	vmh_ipc_reply_clear(&out);
	free(buf);
	/* vm_state STOPPED (0) is sent when has_vm_state says so. */
	rep.has_vm_state = true;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), 0);
	assert_int_equal(len, 8 + 12 + 9);
	assert_int_equal(vmh_ipc_decode_reply(buf, len, &out), 0);
	assert_true(out.has_vm_state);
	assert_int_equal(out.vm_state, VMH_VM_STOPPED);
	vmh_ipc_reply_clear(&out);
	free(buf);
	/* DOMSTATE: a domain in state 0 (VIR_DOMAIN_NOSTATE) is present, its
	 * state sent; no domain: no state field at all. */
	rep = (struct vmh_ipc_reply){ .type = VMH_IPC_DOMSTATE | VMH_IPC_REPLY, .has_dom = true };
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), 0);
	assert_int_equal(len, 8 + 12 + 9);
	assert_int_equal(buf[8 + 12], VMH_IPC_T_DOM_STATE);
	assert_int_equal(vmh_ipc_decode_reply(buf, len, &out), 0);
	assert_true(out.has_dom);
	assert_int_equal(out.dom_state, 0);
	vmh_ipc_reply_clear(&out);
	free(buf);
	rep.has_dom = false;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), 0);
	assert_int_equal(len, 8 + 12);
	assert_int_equal(vmh_ipc_decode_reply(buf, len, &out), 0);
	assert_false(out.has_dom);
	vmh_ipc_reply_clear(&out);
	free(buf);
}

/* Fields in any order; present zero values; an empty address. */
static void test_decoder_lenient_where_allowed(void **state)
{
	struct fb b = { 0 };
	struct vmh_ipc_req req;
	struct vmh_ipc_reply rep;

	(void)state;
	fb_start(&b, VMH_IPC_BEGIN);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 5, 4);
	fb_str(&b, VMH_IPC_T_NODE, "n 1");
	fb_str(&b, VMH_IPC_T_VM, "v");
	fb_end(&b);
	assert_int_equal(vmh_ipc_decode_req(b.buf, b.len, &req), 0);
	assert_string_equal(req.node, "n 1");
	assert_string_equal(req.vm, "v");
	assert_int_equal(req.budget_ms, 5);
	vmh_ipc_req_clear(&req);

	fb_start(&b, VMH_IPC_BEGIN | VMH_IPC_REPLY);
	fb_int(&b, VMH_IPC_T_MAY_RUN, 0, 1);
	fb_field(&b, VMH_IPC_T_ADDR, "", 0);
	fb_int(&b, VMH_IPC_T_OWNER, 0, 4);
	fb_int(&b, VMH_IPC_T_STATUS, VMH_IPC_OK, 4);
	fb_end(&b);
	assert_int_equal(vmh_ipc_decode_reply(b.buf, b.len, &rep), 0);
	assert_false(rep.may_run);
	assert_string_equal(rep.addr, "");
	vmh_ipc_reply_clear(&rep);
	free(b.buf);
}

/* ---- malformed ------------------------------------------------------------ */

static void test_req_rejects(void **state)
{
	char big[VMH_REG_NAME_MAX + 2];
	struct fb b = { 0 };
	uint8_t *xml;

	(void)state;
	/* The baseline decodes. */
	fb_start(&b, VMH_IPC_RELEASE);
	fb_str(&b, VMH_IPC_T_VM, "web-01");
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), 0);
	/* Unknown tags. */
	fb_field(&b, VMH_IPC_T_MAX + 1, "x", 1);
	assert_int_equal(fb_req(&b), -EBADMSG);
	fb_start(&b, VMH_IPC_STATUS);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	fb_field(&b, 0, "", 0);
	assert_int_equal(fb_req(&b), -EBADMSG);
	/* A field twice. */
	fb_start(&b, VMH_IPC_RELEASE);
	fb_str(&b, VMH_IPC_T_VM, "web-01");
	fb_str(&b, VMH_IPC_T_VM, "web-01");
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	/* Wrong lengths: budget, uuid, bool, a name too long, an empty name. */
	fb_start(&b, VMH_IPC_STATUS);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 2);
	assert_int_equal(fb_req(&b), -EBADMSG);
	fb_start(&b, VMH_IPC_STATUS);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 8);
	assert_int_equal(fb_req(&b), -EBADMSG);
	fb_start(&b, VMH_IPC_CLAIM);
	fb_str(&b, VMH_IPC_T_VM, "v");
	fb_field(&b, VMH_IPC_T_UUID, "0123456789abcde", 15);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	fb_start(&b, VMH_IPC_CLAIM);
	fb_str(&b, VMH_IPC_T_VM, "v");
	fb_int(&b, VMH_IPC_T_REQUIRE_FENCING, 1, 4);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fb_start(&b, VMH_IPC_RELEASE);
	fb_str(&b, VMH_IPC_T_VM, big);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	big[VMH_REG_NAME_MAX] = '\0';		/* exactly the maximum: fine */
	fb_start(&b, VMH_IPC_RELEASE);
	fb_str(&b, VMH_IPC_T_VM, big);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), 0);
	fb_start(&b, VMH_IPC_RELEASE);
	fb_field(&b, VMH_IPC_T_VM, "", 0);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	/* Mandatory fields missing: budget, vm, BEGIN's node. */
	fb_start(&b, VMH_IPC_RELEASE);
	fb_str(&b, VMH_IPC_T_VM, "web-01");
	assert_int_equal(fb_req(&b), -EBADMSG);
	fb_start(&b, VMH_IPC_STATUS);
	assert_int_equal(fb_req(&b), -EBADMSG);
	fb_start(&b, VMH_IPC_QUERY);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	fb_start(&b, VMH_IPC_DOMSTATE);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	fb_start(&b, VMH_IPC_BEGIN);
	fb_str(&b, VMH_IPC_T_VM, "web-01");
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	/* Reserved bytes of a field header. */
	fb_start(&b, VMH_IPC_STATUS);
	fb_field_raw(&b, VMH_IPC_T_BUDGET_MS, 0x100, "\x01\0\0\0", 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	/* Strings with bad characters. */
	{
		static const char *const bad_vms[] = { "a/b", "tab\there", "del\x7f", "hi\xc3\xa9" };

		for (size_t i = 0; i < sizeof(bad_vms) / sizeof(bad_vms[0]); i++) {
			fb_start(&b, VMH_IPC_RELEASE);
			fb_str(&b, VMH_IPC_T_VM, bad_vms[i]);
			fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
			assert_int_equal(fb_req(&b), -EBADMSG);
		}
	}
	fb_start(&b, VMH_IPC_RELEASE);
	fb_field(&b, VMH_IPC_T_VM, "a\0b", 3);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	fb_start(&b, VMH_IPC_BEGIN);
	fb_str(&b, VMH_IPC_T_VM, "v");
	fb_str(&b, VMH_IPC_T_NODE, "node\nb");
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	fb_start(&b, VMH_IPC_BEGIN);
	fb_str(&b, VMH_IPC_T_VM, "v");
	memset(big, 'n', sizeof(big) - 1);
	big[VMH_IPC_NODE_NAME_MAX + 1] = '\0';
	fb_str(&b, VMH_IPC_T_NODE, big);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	/* XML: NUL inside, one byte over the limit, exactly the limit. */
	fb_start(&b, VMH_IPC_CLAIM);
	fb_str(&b, VMH_IPC_T_VM, "v");
	fb_field(&b, VMH_IPC_T_XML, "<a>\0</a>", 8);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	xml = malloc(VMH_REG_XML_MAX + 1);
	assert_non_null(xml);
	memset(xml, 'x', VMH_REG_XML_MAX + 1);
	fb_start(&b, VMH_IPC_CLAIM);
	fb_str(&b, VMH_IPC_T_VM, "v");
	fb_field(&b, VMH_IPC_T_XML, xml, VMH_REG_XML_MAX + 1);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	fb_start(&b, VMH_IPC_CLAIM);
	fb_str(&b, VMH_IPC_T_VM, "v");
	fb_field(&b, VMH_IPC_T_XML, xml, VMH_REG_XML_MAX);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), 0);
	free(xml);
	/* Budget 0, above the maximum, the maximum. */
	fb_start(&b, VMH_IPC_STATUS);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 0, 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	fb_start(&b, VMH_IPC_STATUS);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, VMH_IPC_MAX_BUDGET_MS + 1, 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	fb_start(&b, VMH_IPC_STATUS);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, VMH_IPC_MAX_BUDGET_MS, 4);
	assert_int_equal(fb_req(&b), 0);
	/* A bool of 2. */
	fb_start(&b, VMH_IPC_CLAIM);
	fb_str(&b, VMH_IPC_T_VM, "v");
	fb_int(&b, VMH_IPC_T_REQUIRE_FENCING, 2, 1);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	/* Fields the type does not take. */
	{
		static const struct {
			unsigned type, tag;
		} wrong[] = {
			{ VMH_IPC_RELEASE, VMH_IPC_T_XML },
			{ VMH_IPC_CLAIM, VMH_IPC_T_NODE },
			{ VMH_IPC_QUERY, VMH_IPC_T_UUID },
			{ VMH_IPC_BEGIN, VMH_IPC_T_REQUIRE_FENCING },
			{ VMH_IPC_COMMIT, VMH_IPC_T_STATUS },
			{ VMH_IPC_ABORT, VMH_IPC_T_MESSAGE },
			{ VMH_IPC_WAIT_OWNER, VMH_IPC_T_EPOCH },
			{ VMH_IPC_DOMSTATE, VMH_IPC_T_XML },
			{ VMH_IPC_DOMSTATE, VMH_IPC_T_DOM_STATE },
		};

		for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
			fb_start(&b, wrong[i].type);
			fb_str(&b, VMH_IPC_T_VM, "v");
			fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
			fb_field(&b, wrong[i].tag, "1", 1);
			assert_int_equal(fb_req(&b), -EBADMSG);
		}
		fb_start(&b, VMH_IPC_STATUS);
		fb_str(&b, VMH_IPC_T_VM, "v");
		fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
		assert_int_equal(fb_req(&b), -EBADMSG);
	}
	free(b.buf);
}

static void test_header_rejects(void **state)
{
	struct vmh_ipc_req req = sample_req(VMH_IPC_CLAIM);
	struct vmh_ipc_reply rep = sample_reply(VMH_IPC_QUERY);
	uint8_t *buf, *rbuf, *big;
	size_t len, rlen;

	(void)state;
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), 0);
	assert_int_equal(vmh_ipc_encode_reply(&rep, &rbuf, &rlen), 0);
	/* Versions. */
	buf[2] = 2;
	assert_int_equal(dec_req(buf, len), -EPROTONOSUPPORT);
	buf[2] = 0;
	assert_int_equal(dec_req(buf, len), -EPROTONOSUPPORT);
	buf[2] = 1;
	buf[3] = 1;
	assert_int_equal(dec_req(buf, len), -EPROTONOSUPPORT);
	buf[3] = 0;
	rbuf[2] = 2;
	assert_int_equal(dec_rep(rbuf, rlen), -EPROTONOSUPPORT);
	rbuf[2] = 1;
	/* Types: unknown, and a reply where a request is expected and back. */
	{
		static const unsigned bad_req[] = { 0, VMH_IPC_TYPE_MAX + 1, 0x7f, 0x80, 0x82, 0x102 };
		static const unsigned bad_rep[] = { 0, 2, 0x80, 0x80 + VMH_IPC_TYPE_MAX + 1,
						    0xff, 0x188, 0x8002 };

		for (size_t i = 0; i < sizeof(bad_req) / sizeof(bad_req[0]); i++) {
			buf[0] = (uint8_t)bad_req[i];
			buf[1] = (uint8_t)(bad_req[i] >> 8);
			assert_int_equal(dec_req(buf, len), -ENOMSG);
		}
		buf[0] = VMH_IPC_CLAIM;
		buf[1] = 0;
		for (size_t i = 0; i < sizeof(bad_rep) / sizeof(bad_rep[0]); i++) {
			rbuf[0] = (uint8_t)bad_rep[i];
			rbuf[1] = (uint8_t)(bad_rep[i] >> 8);
			assert_int_equal(dec_rep(rbuf, rlen), -ENOMSG);
		}
		rbuf[0] = VMH_IPC_QUERY | VMH_IPC_REPLY;
		rbuf[1] = 0;
	}
	assert_int_equal(dec_req(rbuf, rlen), -ENOMSG);
	assert_int_equal(dec_rep(buf, len), -ENOMSG);
	assert_int_equal(dec_req(buf, len), 0);
	assert_int_equal(dec_rep(rbuf, rlen), 0);
	/* Lengths: the header lies either way; trailing bytes; overruns. */
	set_le32(buf + 4, (uint32_t)(len - 8 + 1));
	assert_int_equal(dec_req(buf, len), -EBADMSG);
	set_le32(buf + 4, (uint32_t)(len - 8 - 1));
	assert_int_equal(dec_req(buf, len), -EBADMSG);
	set_le32(buf + 4, VMH_IPC_MAX_BODY + 1);
	assert_int_equal(dec_req(buf, len), -EBADMSG);
	set_le32(buf + 4, (uint32_t)(len - 8));
	big = malloc(len + 3);
	assert_non_null(big);
	memcpy(big, buf, len);
	memset(big + len, 0, 3);		/* half a field header */
	set_le32(big + 4, (uint32_t)(len + 3 - 8));
	assert_int_equal(dec_req(big, len + 3), -EBADMSG);
	free(big);
	set_le32(buf + 8 + 4, 0xfffffff0u);	/* first field's value overruns */
	assert_int_equal(dec_req(buf, len), -EBADMSG);
	assert_int_equal(dec_req(NULL, 0), -EBADMSG);
	assert_int_equal(dec_rep(NULL, 0), -EBADMSG);
	free(buf);
	free(rbuf);
}

/* A node entry or progress entry, from parts (so each can be broken). */
static void fb_node_entry(struct fb *b, uint32_t id, uint8_t flags, uint8_t name_len,
			  uint16_t reserved, const char *name)
{
	struct fb v = { 0 };

	fb_le(&v, id, 4);
	fb_le(&v, flags, 1);
	fb_le(&v, name_len, 1);
	fb_le(&v, reserved, 2);
	fb_put(&v, name, strlen(name));
	fb_field(b, VMH_IPC_T_NODE_ENTRY, v.buf, v.len);
	free(v.buf);
}

static void fb_progress(struct fb *b, uint8_t name_len, uint8_t reserved, const char *name)
{
	struct fb v = { 0 };

	fb_le(&v, name_len, 1);
	fb_le(&v, reserved, 1);
	fb_le(&v, 0, 2);
	fb_le(&v, 7, 4);
	for (int i = 0; i < 7; i++)
		fb_le(&v, (uint64_t)i, 8);
	fb_put(&v, name, strlen(name));
	fb_field(b, VMH_IPC_T_PROGRESS, v.buf, v.len);
	free(v.buf);
}

/* The start of an OK STATUS (QUERY) reply, for one more field. */
static void fb_status_reply(struct fb *b)
{
	fb_start(b, VMH_IPC_STATUS | VMH_IPC_REPLY);
	fb_int(b, VMH_IPC_T_STATUS, VMH_IPC_OK, 4);
}

static void fb_query_reply(struct fb *b)
{
	fb_start(b, VMH_IPC_QUERY | VMH_IPC_REPLY);
	fb_int(b, VMH_IPC_T_STATUS, VMH_IPC_OK, 4);
}

/* A history entry field: the sample's bytes, one of them changed. */
static void fb_hist(struct fb *b, size_t len, int at, uint8_t value)
{
	uint8_t v[VMH_HIST_ENTRY_LEN + 1] = { 0 };
	struct vmh_bw w = { .p = v, .cap = sizeof(v) };

	vmh_hist_put_entry(&w, &sample_history[0]);
	if (at >= 0)
		v[at] = value;
	fb_field(b, VMH_IPC_T_HIST_ENTRY, v, len);
}

static void fb_history_reply(struct fb *b)
{
	fb_start(b, VMH_IPC_HISTORY | VMH_IPC_REPLY);
	fb_int(b, VMH_IPC_T_STATUS, VMH_IPC_OK, 4);
}

static void fb_domstate_reply(struct fb *b)
{
	fb_start(b, VMH_IPC_DOMSTATE | VMH_IPC_REPLY);
	fb_int(b, VMH_IPC_T_STATUS, VMH_IPC_OK, 4);
}

static void test_reply_rejects(void **state)
{
	struct fb b = { 0 };

	(void)state;
	/* Status: missing, out of range; the maximum is fine. */
	fb_start(&b, VMH_IPC_QUERY | VMH_IPC_REPLY);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_start(&b, VMH_IPC_QUERY | VMH_IPC_REPLY);
	fb_int(&b, VMH_IPC_T_STATUS, VMH_IPC_STATUS_MAX + 1, 4);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_start(&b, VMH_IPC_QUERY | VMH_IPC_REPLY);
	fb_int(&b, VMH_IPC_T_STATUS, 0xffffffffu, 4);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_start(&b, VMH_IPC_QUERY | VMH_IPC_REPLY);
	fb_int(&b, VMH_IPC_T_STATUS, VMH_IPC_STATUS_MAX, 4);
	assert_int_equal(fb_rep(&b), 0);
	/* Twice. */
	fb_query_reply(&b);
	fb_int(&b, VMH_IPC_T_STATUS, VMH_IPC_OK, 4);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	/* Registry reason, VM state, flags, bools out of range. */
	fb_query_reply(&b);
	fb_int(&b, VMH_IPC_T_REG_REASON, VMH_REG_R_NOT_EXPIRABLE + 1, 4);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_query_reply(&b);
	fb_int(&b, VMH_IPC_T_REG_REASON, VMH_REG_R_NOT_EXPIRABLE, 4);
	assert_int_equal(fb_rep(&b), 0);
	fb_query_reply(&b);
	fb_int(&b, VMH_IPC_T_VM_STATE, VMH_VM_MIGRATING + 1, 1);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_query_reply(&b);
	fb_int(&b, VMH_IPC_T_MAY_RUN, 2, 1);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_status_reply(&b);
	fb_int(&b, VMH_IPC_T_FLAGS, VMH_IPC_F_ALL + 1, 4);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_status_reply(&b);
	fb_int(&b, VMH_IPC_T_FLAGS, 0x80000000u, 4);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	/* Wrong lengths of fixed fields. */
	fb_query_reply(&b);
	fb_int(&b, VMH_IPC_T_EPOCH, 1, 4);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_query_reply(&b);
	fb_int(&b, VMH_IPC_T_OWNER, 1, 8);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	/* Message: control character, empty, too long. */
	fb_query_reply(&b);
	fb_str(&b, VMH_IPC_T_MESSAGE, "two\nlines");
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_query_reply(&b);
	fb_field(&b, VMH_IPC_T_MESSAGE, "", 0);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	{
		char msg[VMH_IPC_MESSAGE_MAX + 2];

		memset(msg, 'm', sizeof(msg) - 1);
		msg[sizeof(msg) - 1] = '\0';
		fb_query_reply(&b);
		fb_str(&b, VMH_IPC_T_MESSAGE, msg);
		assert_int_equal(fb_rep(&b), -EBADMSG);
		msg[VMH_IPC_MESSAGE_MAX] = '\0';
		fb_query_reply(&b);
		fb_str(&b, VMH_IPC_T_MESSAGE, msg);
		assert_int_equal(fb_rep(&b), 0);
	}
	/* Address: bad characters; only in a BEGIN reply. */
	fb_start(&b, VMH_IPC_BEGIN | VMH_IPC_REPLY);
	fb_int(&b, VMH_IPC_T_STATUS, VMH_IPC_OK, 4);
	fb_str(&b, VMH_IPC_T_ADDR, "10.0.0.1 ");
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_start(&b, VMH_IPC_BEGIN | VMH_IPC_REPLY);
	fb_int(&b, VMH_IPC_T_STATUS, VMH_IPC_OK, 4);
	fb_str(&b, VMH_IPC_T_ADDR, "10.0.0.1");
	assert_int_equal(fb_rep(&b), 0);
	/* Fields of another reply type. */
	{
		static const struct {
			unsigned type, tag, len;
		} wrong[] = {
			{ VMH_IPC_CLAIM, VMH_IPC_T_ADDR, 1 },
			{ VMH_IPC_CLAIM, VMH_IPC_T_NODEID, 4 },
			{ VMH_IPC_QUERY, VMH_IPC_T_SELF, 4 },
			{ VMH_IPC_RELEASE, VMH_IPC_T_RING, 8 },
			{ VMH_IPC_STATUS, VMH_IPC_T_VM_STATE, 1 },
			{ VMH_IPC_STATUS, VMH_IPC_T_EPOCH, 8 },
			{ VMH_IPC_BEGIN, VMH_IPC_T_IMAGE, 1 },
			{ VMH_IPC_COMMIT, VMH_IPC_T_NODE_ENTRY, 9 },
			{ VMH_IPC_ABORT, VMH_IPC_T_BUDGET_MS, 4 },
			{ VMH_IPC_WAIT_OWNER, VMH_IPC_T_VM, 1 },
		};
		static const uint8_t ones[16] = { 1, 0, 0, 0, 0, 0, 1, 0, 'x', 'x', 'x', 'x' };

		for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
			fb_start(&b, wrong[i].type | VMH_IPC_REPLY);
			fb_int(&b, VMH_IPC_T_STATUS, VMH_IPC_OK, 4);
			fb_field(&b, wrong[i].tag, ones, wrong[i].len);
			assert_int_equal(fb_rep(&b), -EBADMSG);
		}
	}
	/* DOMSTATE: the state in range (the last one is fine), of one byte;
	 * the reason and the figures only with a state; the URI printable,
	 * not empty, not too long; none of it in another reply. */
	fb_domstate_reply(&b);
	fb_int(&b, VMH_IPC_T_DOM_STATE, VMH_IPC_DOM_STATE_MAX, 1);
	fb_int(&b, VMH_IPC_T_DOM_REASON, 3, 4);
	fb_int(&b, VMH_IPC_T_DOM_VCPUS, 2, 4);
	fb_int(&b, VMH_IPC_T_DOM_MAX_MEM, 65536, 8);
	fb_str(&b, VMH_IPC_T_URI, "qemu:///system");
	assert_int_equal(fb_rep(&b), 0);
	fb_domstate_reply(&b);
	fb_int(&b, VMH_IPC_T_DOM_STATE, VMH_IPC_DOM_STATE_MAX + 1, 1);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_domstate_reply(&b);
	fb_int(&b, VMH_IPC_T_DOM_STATE, 1, 4);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	{
		static const unsigned need_state[] = { VMH_IPC_T_DOM_REASON, VMH_IPC_T_DOM_VCPUS,
						       VMH_IPC_T_DOM_MAX_MEM };

		for (size_t i = 0; i < sizeof(need_state) / sizeof(need_state[0]); i++) {
			unsigned bytes = need_state[i] == VMH_IPC_T_DOM_MAX_MEM ? 8 : 4;

			fb_domstate_reply(&b);
			fb_int(&b, need_state[i], 1, bytes);
			assert_int_equal(fb_rep(&b), -EBADMSG);
			/* present but zero is "absent": fine */
			fb_domstate_reply(&b);
			fb_int(&b, need_state[i], 0, bytes);
			assert_int_equal(fb_rep(&b), 0);
		}
	}
	fb_domstate_reply(&b);
	fb_str(&b, VMH_IPC_T_URI, "qemu:///system\n");
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_domstate_reply(&b);
	fb_field(&b, VMH_IPC_T_URI, "", 0);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	{
		char uri[VMH_IPC_URI_MAX + 2];

		memset(uri, 'u', sizeof(uri) - 1);
		uri[sizeof(uri) - 1] = '\0';
		fb_domstate_reply(&b);
		fb_str(&b, VMH_IPC_T_URI, uri);
		assert_int_equal(fb_rep(&b), -EBADMSG);
		uri[VMH_IPC_URI_MAX] = '\0';
		fb_domstate_reply(&b);
		fb_str(&b, VMH_IPC_T_URI, uri);
		assert_int_equal(fb_rep(&b), 0);
	}
	{
		static const unsigned not_domstate[] = { VMH_IPC_QUERY, VMH_IPC_CONFIG_GET,
							 VMH_IPC_STATUS };

		for (size_t i = 0; i < sizeof(not_domstate) / sizeof(not_domstate[0]); i++) {
			fb_start(&b, not_domstate[i] | VMH_IPC_REPLY);
			fb_int(&b, VMH_IPC_T_STATUS, VMH_IPC_OK, 4);
			fb_int(&b, VMH_IPC_T_DOM_STATE, 1, 1);
			assert_int_equal(fb_rep(&b), -EBADMSG);
			fb_start(&b, not_domstate[i] | VMH_IPC_REPLY);
			fb_int(&b, VMH_IPC_T_STATUS, VMH_IPC_OK, 4);
			fb_str(&b, VMH_IPC_T_URI, "test:///default");
			assert_int_equal(fb_rep(&b), -EBADMSG);
		}
	}
	/* Image: empty. */
	fb_status_reply(&b);
	fb_field(&b, VMH_IPC_T_IMAGE, "", 0);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	/* Node entries: good, then each part broken. */
	fb_status_reply(&b);
	fb_node_entry(&b, 3, VMH_IPC_NF_MEMBER, 4, 0, "n-03");
	fb_node_entry(&b, 4, 0, 4, 0, "n-04");
	assert_int_equal(fb_rep(&b), 0);
	fb_status_reply(&b);
	fb_node_entry(&b, 3, 0x2, 4, 0, "n-03");
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_status_reply(&b);
	fb_node_entry(&b, 3, 0, 4, 1, "n-03");
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_status_reply(&b);
	fb_node_entry(&b, 3, 0, 3, 0, "n-03");
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_status_reply(&b);
	fb_node_entry(&b, 3, 0, 5, 0, "n-03");
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_status_reply(&b);
	fb_node_entry(&b, 0, 0, 4, 0, "n-03");
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_status_reply(&b);
	fb_node_entry(&b, 3, 0, 4, 0, "n\x01""03");
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_status_reply(&b);
	fb_node_entry(&b, 3, 0, 0, 0, "");
	assert_int_equal(fb_rep(&b), -EBADMSG);
	/* More node entries than the registry has nodes. */
	fb_status_reply(&b);
	for (uint32_t i = 1; i <= VMH_REG_MAX_NODES + 1; i++)
		fb_node_entry(&b, i, 0, 1, 0, "n");
	assert_int_equal(fb_rep(&b), -EBADMSG);
	/* Progress entries: good, then broken. */
	fb_status_reply(&b);
	fb_progress(&b, 2, 0, "vm");
	fb_progress(&b, 3, 0, "vm2");
	assert_int_equal(fb_rep(&b), 0);
	fb_status_reply(&b);
	fb_progress(&b, 2, 1, "vm");
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_status_reply(&b);
	fb_progress(&b, 3, 0, "v/m");
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_status_reply(&b);
	fb_progress(&b, 1, 0, "vm");
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_status_reply(&b);
	fb_progress(&b, 0, 0, "");
	assert_int_equal(fb_rep(&b), -EBADMSG);
	/* History entries: good; then broken (the entry's own rules, its
	 * length, too many), and where they do not belong. */
	fb_history_reply(&b);
	fb_hist(&b, VMH_HIST_ENTRY_LEN, -1, 0);
	fb_hist(&b, VMH_HIST_ENTRY_LEN, -1, 0);
	fb_int(&b, VMH_IPC_T_SELF, 3, 4);
	fb_node_entry(&b, 3, 0, 4, 0, "n-03");
	assert_int_equal(fb_rep(&b), 0);
	fb_history_reply(&b);
	fb_hist(&b, VMH_HIST_ENTRY_LEN, 3, 1);		/* reserved */
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_history_reply(&b);
	fb_hist(&b, VMH_HIST_ENTRY_LEN, 12, 1);		/* committed, owner not dst */
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_history_reply(&b);
	fb_hist(&b, VMH_HIST_ENTRY_LEN, 80 + 10, 'x');	/* name padding */
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_history_reply(&b);
	fb_hist(&b, VMH_HIST_ENTRY_LEN - 1, -1, 0);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_history_reply(&b);
	fb_hist(&b, VMH_HIST_ENTRY_LEN + 1, -1, 0);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_history_reply(&b);
	for (int i = 0; i < VMH_IPC_HISTORY_MAX; i++)
		fb_hist(&b, VMH_HIST_ENTRY_LEN, -1, 0);
	assert_int_equal(fb_rep(&b), 0);
	fb_hist(&b, VMH_HIST_ENTRY_LEN, -1, 0);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_query_reply(&b);
	fb_hist(&b, VMH_HIST_ENTRY_LEN, -1, 0);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	fb_status_reply(&b);
	fb_hist(&b, VMH_HIST_ENTRY_LEN, -1, 0);
	assert_int_equal(fb_rep(&b), -EBADMSG);
	/* ... and a HISTORY request needs its VM. */
	fb_start(&b, VMH_IPC_HISTORY);
	fb_int(&b, VMH_IPC_T_BUDGET_MS, 1000, 4);
	assert_int_equal(fb_req(&b), -EBADMSG);
	fb_str(&b, VMH_IPC_T_VM, "web-01");
	assert_int_equal(fb_req(&b), 0);
	free(b.buf);
}

static void test_encoder_refuses(void **state)
{
	struct vmh_ipc_req req;
	struct vmh_ipc_reply rep;
	struct vmh_ipc_node node;
	struct vmh_hist_entry hist[VMH_IPC_HISTORY_MAX + 1];
	uint8_t *buf = NULL;
	size_t len;
	char *xml;

	(void)state;
	/* history: too many entries, one the decoder would refuse, none
	 * behind a count, or where the reply type has none */
	for (size_t i = 0; i <= VMH_IPC_HISTORY_MAX; i++)
		hist[i] = sample_history[0];
	rep = sample_reply(VMH_IPC_HISTORY);
	rep.history = hist;
	rep.n_history = VMH_IPC_HISTORY_MAX;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), 0);
	free(buf);
	buf = NULL;
	rep.n_history = VMH_IPC_HISTORY_MAX + 1;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EMSGSIZE);
	rep.n_history = 1;
	hist[0].owner_after = hist[0].src;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep.history = NULL;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep = sample_reply(VMH_IPC_QUERY);
	rep.history = sample_history;
	rep.n_history = 1;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	assert_null(buf);
	req = sample_req(VMH_IPC_CLAIM);
	req.type = (enum vmh_ipc_type)0;
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), -EINVAL);
	req.type = (enum vmh_ipc_type)(VMH_IPC_TYPE_MAX + 1);
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), -EINVAL);
	req.type = VMH_IPC_CLAIM | VMH_IPC_REPLY;
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), -EINVAL);
	req = sample_req(VMH_IPC_CLAIM);
	req.budget_ms = 0;
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), -EINVAL);
	req.budget_ms = VMH_IPC_MAX_BUDGET_MS + 1;
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), -EINVAL);
	req = sample_req(VMH_IPC_CLAIM);
	snprintf(req.vm, sizeof(req.vm), "a/b");
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), -EINVAL);
	memset(req.vm, 'v', sizeof(req.vm));	/* no terminating NUL */
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), -EINVAL);
	req = sample_req(VMH_IPC_CLAIM);
	req.xml = NULL;
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), -EINVAL);
	req.xml = "<a>\0</a>";
	req.xml_len = 8;
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), -EINVAL);
	xml = calloc(1, VMH_REG_XML_MAX + 2);
	assert_non_null(xml);
	memset(xml, 'x', VMH_REG_XML_MAX + 1);
	req.xml = xml;
	req.xml_len = VMH_REG_XML_MAX + 1;
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), -EMSGSIZE);
	free(xml);
	/* Fields the type does not take; mandatory ones missing. */
	req = sample_req(VMH_IPC_STATUS);
	snprintf(req.vm, sizeof(req.vm), "v");
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), -EINVAL);
	req = sample_req(VMH_IPC_RELEASE);
	req.vm[0] = '\0';
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), -EINVAL);
	req = sample_req(VMH_IPC_RELEASE);
	req.require_fencing = true;
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), -EINVAL);
	req = sample_req(VMH_IPC_QUERY);
	req.has_uuid = true;
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), -EINVAL);
	req = sample_req(VMH_IPC_CLAIM);
	snprintf(req.node, sizeof(req.node), "n");
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), -EINVAL);
	req = sample_req(VMH_IPC_BEGIN);
	req.node[0] = '\0';
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), -EINVAL);
	snprintf(req.node, sizeof(req.node), "a\tb");
	assert_int_equal(vmh_ipc_encode_req(&req, &buf, &len), -EINVAL);

	rep = sample_reply(VMH_IPC_QUERY);
	rep.type = VMH_IPC_QUERY;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep.type = (enum vmh_ipc_type)VMH_IPC_REPLY;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep = sample_reply(VMH_IPC_QUERY);
	rep.status = (enum vmh_ipc_status)(VMH_IPC_STATUS_MAX + 1);
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep = sample_reply(VMH_IPC_QUERY);
	rep.reg_reason = (enum vmh_reg_reason)(VMH_REG_R_NOT_EXPIRABLE + 1);
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep = sample_reply(VMH_IPC_QUERY);
	rep.vm_state = (enum vmh_vm_state)3;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep = sample_reply(VMH_IPC_QUERY);
	snprintf(rep.message, sizeof(rep.message), "bell\a");
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep = sample_reply(VMH_IPC_QUERY);
	snprintf(rep.addr, sizeof(rep.addr), "10.0.0.1");	/* BEGIN only */
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep = sample_reply(VMH_IPC_QUERY);
	rep.self = 1;					/* STATUS only */
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep = sample_reply(VMH_IPC_BEGIN);
	snprintf(rep.addr, sizeof(rep.addr), "a b");
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep = sample_reply(VMH_IPC_DOMSTATE);
	rep.dom_state = VMH_IPC_DOM_STATE_MAX + 1;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep = sample_reply(VMH_IPC_DOMSTATE);
	rep.has_dom = false;				/* figures of no domain */
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep.dom_reason = rep.dom_vcpus = 0;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep.dom_max_mem_kib = 0;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), 0);
	free(buf);
	buf = NULL;
	rep = sample_reply(VMH_IPC_DOMSTATE);
	snprintf(rep.uri, sizeof(rep.uri), "test:///default\t");
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	memset(rep.uri, 'u', sizeof(rep.uri));		/* no terminating NUL */
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep = sample_reply(VMH_IPC_QUERY);
	rep.has_dom = true;				/* DOMSTATE only */
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep = sample_reply(VMH_IPC_QUERY);
	snprintf(rep.uri, sizeof(rep.uri), "qemu:///system");
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep = sample_reply(VMH_IPC_STATUS);
	rep.epoch = 1;					/* not in STATUS */
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep = sample_reply(VMH_IPC_STATUS);
	rep.flags = VMH_IPC_F_ALL + 1;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep = sample_reply(VMH_IPC_STATUS);
	rep.nodes = NULL;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep = sample_reply(VMH_IPC_STATUS);
	rep.image = NULL;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep = sample_reply(VMH_IPC_STATUS);
	node = (struct vmh_ipc_node){ .nodeid = 0, .name = "n" };
	rep.nodes = &node;
	rep.n_nodes = 1;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	node = (struct vmh_ipc_node){ .nodeid = 1, .name = "" };
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	rep.n_nodes = VMH_REG_MAX_NODES + 1;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EMSGSIZE);
	rep = sample_reply(VMH_IPC_STATUS);
	rep.image_len = VMH_IPC_MAX_BODY + 1;
	assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EMSGSIZE);
	{
		struct vmh_ipc_progress p = sample_progress[0];

		rep = sample_reply(VMH_IPC_STATUS);
		snprintf(p.vm, sizeof(p.vm), "x/y");
		rep.progress = &p;
		rep.n_progress = 1;
		assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), -EINVAL);
	}
	assert_null(buf);
}

/* ---- truncation and mutation ------------------------------------------------ */

struct frame {
	uint8_t *buf;
	size_t len;
	bool reply;
};

/* The 16 sample frames. */
static void sample_frames(struct frame f[2 * VMH_IPC_TYPE_MAX])
{
	for (int t = VMH_IPC_STATUS; t <= VMH_IPC_TYPE_MAX; t++) {
		struct vmh_ipc_req req = sample_req((enum vmh_ipc_type)t);
		struct vmh_ipc_reply rep = sample_reply((enum vmh_ipc_type)t);
		struct frame *q = &f[2 * (t - 1)], *p = q + 1;

		assert_int_equal(vmh_ipc_encode_req(&req, &q->buf, &q->len), 0);
		q->reply = false;
		assert_int_equal(vmh_ipc_encode_reply(&rep, &p->buf, &p->len), 0);
		p->reply = true;
	}
}

static void free_frames(struct frame f[2 * VMH_IPC_TYPE_MAX])
{
	for (int i = 0; i < 2 * VMH_IPC_TYPE_MAX; i++)
		free(f[i].buf);
}

static bool field_boundary(const struct frame *f, size_t at)
{
	size_t pos = VMH_IPC_HDR_LEN;

	while (pos < at) {
		uint32_t len = (uint32_t)(f->buf[pos + 4] | f->buf[pos + 5] << 8 |
					  f->buf[pos + 6] << 16 | (uint32_t)f->buf[pos + 7] << 24);

		pos += 8 + len;
	}
	return pos == at;
}

static void test_truncations(void **state)
{
	struct frame f[2 * VMH_IPC_TYPE_MAX];
	unsigned cut_ok = 0;

	(void)state;
	sample_frames(f);
	for (int i = 0; i < 2 * VMH_IPC_TYPE_MAX; i++) {
		int (*dec)(const uint8_t *, size_t) = f[i].reply ? dec_rep : dec_req;
		uint8_t *copy = malloc(f[i].len);

		assert_non_null(copy);
		for (size_t cut = 0; cut < f[i].len; cut++) {
			/* As read from a stream: the header says more. */
			memcpy(copy, f[i].buf, f[i].len);
			assert_int_equal(dec(copy, cut), -EBADMSG);
			if (cut < VMH_IPC_HDR_LEN)
				continue;
			/* With a header that agrees: a cut inside a field is
			 * refused; at a boundary, the rest may still be a valid
			 * message (optional fields cut off). */
			set_le32(copy + 4, (uint32_t)(cut - VMH_IPC_HDR_LEN));
			if (dec(copy, cut) == 0) {
				assert_true(field_boundary(&f[i], cut));
				cut_ok++;
			}
		}
		free(copy);
	}
	print_message("truncations: %u cuts at field boundaries still decode\n", cut_ok);
	free_frames(f);
}

/* xorshift64*: a fixed-seed generator of our own, same on every libc. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* Whatever a decoder accepts, the encoder takes, and it decodes again to
 * the same thing. */
static bool check_mutant(const uint8_t *buf, size_t len)
{
	struct vmh_ipc_req req, req2;
	struct vmh_ipc_reply rep, rep2;
	uint8_t *again;
	size_t len2;
	int r1 = vmh_ipc_decode_req(buf, len, &req), r2 = vmh_ipc_decode_reply(buf, len, &rep);

	assert_true(r1 == 0 || r1 == -EBADMSG || r1 == -ENOMSG || r1 == -EPROTONOSUPPORT);
	assert_true(r2 == 0 || r2 == -EBADMSG || r2 == -ENOMSG || r2 == -EPROTONOSUPPORT);
	assert_false(r1 == 0 && r2 == 0);
	if (r1 == 0) {
		assert_int_equal(vmh_ipc_encode_req(&req, &again, &len2), 0);
		assert_int_equal(vmh_ipc_decode_req(again, len2, &req2), 0);
		assert_req_equal(&req, &req2);
		vmh_ipc_req_clear(&req2);
		vmh_ipc_req_clear(&req);
		free(again);
	}
	if (r2 == 0) {
		assert_int_equal(vmh_ipc_encode_reply(&rep, &again, &len2), 0);
		assert_int_equal(vmh_ipc_decode_reply(again, len2, &rep2), 0);
		assert_reply_equal(&rep, &rep2);
		vmh_ipc_reply_clear(&rep2);
		vmh_ipc_reply_clear(&rep);
		free(again);
	}
	return r1 == 0 || r2 == 0;
}

static void test_fuzz(void **state)
{
	const char *env = getenv("VMH_FUZZ_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 0x5eed1bc0ULL;
	struct frame f[2 * VMH_IPC_TYPE_MAX];
	unsigned accepted = 0, runs = 100000;
	uint8_t buf[2048];

	(void)state;
	print_message("ipc fuzz seed 0x%llx (VMH_FUZZ_SEED to replay)\n", (unsigned long long)seed);
	rng_state = seed;
	sample_frames(f);
	/* Random bytes behind a plausible header. */
	for (int i = 0; i < 20000; i++) {
		size_t len = 8 + rnd() % 200;

		for (size_t k = 0; k < len; k++)
			buf[k] = (uint8_t)rnd();
		buf[0] = (uint8_t)(1 + rnd() % VMH_IPC_TYPE_MAX) | (rnd() % 2 ? VMH_IPC_REPLY : 0);
		buf[1] = 0;
		buf[2] = 1;
		buf[3] = 0;
		set_le32(buf + 4, (uint32_t)(len - 8));
		check_mutant(buf, len);
	}
	/* Mutations of valid frames. */
	for (unsigned i = 0; i < runs; i++) {
		const struct frame *v = &f[rnd() % (2 * VMH_IPC_TYPE_MAX)];
		size_t len = v->len;

		assert_true(len + 16 <= sizeof(buf));
		memcpy(buf, v->buf, len);
		switch (rnd() % 5) {
		case 0:
			buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1:
			for (int k = 0; k < 3; k++)
				buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 2:
			for (int k = 0; k < 4; k++)
				buf[rnd() % len] = (uint8_t)rnd();
			break;
		case 3:
			len = 8 + rnd() % (len - 8 + 1);
			set_le32(buf + 4, (uint32_t)(len - 8));
			break;
		case 4:
			set_le32(buf + 8 + rnd() % (len - 8 - 3), (uint32_t)rnd());
			break;
		}
		if (check_mutant(buf, len))
			accepted++;
	}
	print_message("fuzz: %u of %u mutated frames still decode, %u refused\n", accepted, runs,
		      runs - accepted);
	/* Flips in values keep a frame valid; flips in framing, tags and
	 * ranges must be caught: both kinds happen (about 10% and 90%). */
	assert_true(accepted > runs / 50 && runs - accepted > runs / 2);
	free_frames(f);
}

static void test_frame_len(void **state)
{
	uint8_t hdr[VMH_IPC_HDR_LEN] = { 1, 0, 1, 0 };

	(void)state;
	for (size_t n = 0; n < VMH_IPC_HDR_LEN; n++)
		assert_int_equal(vmh_ipc_frame_len(hdr, n), 0);
	assert_int_equal(vmh_ipc_frame_len(NULL, 0), 0);
	assert_int_equal(vmh_ipc_frame_len(hdr, sizeof(hdr)), 8);
	set_le32(hdr + 4, 1234);
	assert_int_equal(vmh_ipc_frame_len(hdr, sizeof(hdr)), 8 + 1234);
	set_le32(hdr + 4, VMH_IPC_MAX_BODY);
	assert_int_equal(vmh_ipc_frame_len(hdr, sizeof(hdr)), 8 + (ssize_t)VMH_IPC_MAX_BODY);
	set_le32(hdr + 4, VMH_IPC_MAX_BODY + 1);
	assert_int_equal(vmh_ipc_frame_len(hdr, sizeof(hdr)), -EBADMSG);
	set_le32(hdr + 4, 0xffffffffu);
	assert_int_equal(vmh_ipc_frame_len(hdr, sizeof(hdr)), -EBADMSG);
}

static void test_strings(void **state)
{
	(void)state;
	for (int s = 0; s <= VMH_IPC_STATUS_MAX; s++)
		assert_string_not_equal(vmh_ipc_status_str((enum vmh_ipc_status)s), "?");
	assert_string_equal(vmh_ipc_status_str(VMH_IPC_OK), "ok");
	assert_string_equal(vmh_ipc_status_str((enum vmh_ipc_status)(VMH_IPC_STATUS_MAX + 1)), "?");
	assert_string_equal(vmh_ipc_status_str((enum vmh_ipc_status)-1), "?");
	for (int t = VMH_IPC_STATUS; t <= VMH_IPC_TYPE_MAX; t++) {
		assert_string_not_equal(vmh_ipc_type_str((enum vmh_ipc_type)t), "?");
		assert_string_not_equal(vmh_ipc_type_str((enum vmh_ipc_type)(t | VMH_IPC_REPLY)), "?");
	}
	assert_string_equal(vmh_ipc_type_str(VMH_IPC_BEGIN), "HANDOFF_BEGIN");
	assert_string_equal(vmh_ipc_type_str(VMH_IPC_CLAIM | VMH_IPC_REPLY), "CLAIM reply");
	assert_string_equal(vmh_ipc_type_str(VMH_IPC_DOMSTATE), "DOMSTATE");
	assert_string_equal(vmh_ipc_type_str(VMH_IPC_DOMSTATE | VMH_IPC_REPLY), "DOMSTATE reply");
	assert_string_equal(vmh_ipc_type_str((enum vmh_ipc_type)0), "?");
	assert_string_equal(vmh_ipc_type_str(VMH_IPC_REPLY), "?");
	assert_string_equal(vmh_ipc_type_str((enum vmh_ipc_type)(VMH_IPC_TYPE_MAX + 1)), "?");
	/* vmh_ipc_reply.c takes VMH_REG_R_NOT_EXPIRABLE as the last registry
	 * reason: a new one must move its REG_REASON_LAST (and this line). */
	assert_string_equal(vmh_reg_reason_str((enum vmh_reg_reason)(VMH_REG_R_NOT_EXPIRABLE + 1)),
			    "?");
}

/* ---- the client against a server in a thread -------------------------------- */

enum srv_mode {
	SRV_ANSWER,		/* read the request, answer it */
	SRV_TRICKLE,		/* answer one byte at a time */
	SRV_SILENT,		/* read the request, never answer */
	SRV_CLOSE,		/* read the request, close */
	SRV_HALF,		/* send half of the answer, close */
	SRV_WRONG_TYPE,		/* answer with another type's reply */
	SRV_EARLY,		/* answer E_PERM without reading, close */
	SRV_EARLY_OPEN,		/* the same, but keep the connection open */
	SRV_CANNED,		/* read the request, send canned bytes */
};

struct server {
	char dir[32];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;
	enum srv_mode mode;
	pthread_t thread;
	int got_rc;
	struct vmh_ipc_req got;
	const uint8_t *canned;
	size_t canned_len;
};

static int read_full(int fd, uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = recv(fd, buf + done, len - done, 0);

		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static int read_request(int fd, struct vmh_ipc_req *req)
{
	uint8_t hdr[VMH_IPC_HDR_LEN], *buf;
	ssize_t flen;
	int r;

	if (read_full(fd, hdr, sizeof(hdr)) < 0)
		return -EIO;
	flen = vmh_ipc_frame_len(hdr, sizeof(hdr));
	if (flen <= 0)
		return -EBADMSG;
	buf = malloc((size_t)flen);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, hdr, sizeof(hdr));
	r = read_full(fd, buf + sizeof(hdr), (size_t)flen - sizeof(hdr)) < 0 ? -EIO
		: vmh_ipc_decode_req(buf, (size_t)flen, req);
	free(buf);
	return r;
}

static void send_full(int fd, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, buf + done, len - done, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		done += (size_t)n;
	}
}

/* The answer of SRV_ANSWER: something in every field the type takes. */
static void server_reply(const struct server *s, enum vmh_ipc_type type, uint8_t **buf, size_t *len)
{
	struct vmh_ipc_reply rep = { .type = type | VMH_IPC_REPLY, .status = VMH_IPC_OK };

	snprintf(rep.message, sizeof(rep.message), "served %s", s->got.vm);
	if (type == VMH_IPC_STATUS) {
		rep.self = 3;
		rep.flags = VMH_IPC_F_QUORATE;
	} else {
		rep.has_vm_state = true;
		rep.vm_state = VMH_VM_RUNNING;
		rep.owner = 3;
		rep.epoch = 42;
	}
	assert_int_equal(vmh_ipc_encode_reply(&rep, buf, len), 0);
}

static void *serve(void *arg)
{
	struct server *s = arg;
	struct timeval tv = { .tv_sec = 20 };	/* never hang the test */
	uint8_t *buf = NULL, byte;
	size_t len = 0;
	int fd = accept(s->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (s->mode != SRV_EARLY && s->mode != SRV_EARLY_OPEN)
		s->got_rc = read_request(fd, &s->got);
	switch (s->mode) {
	case SRV_ANSWER:
	case SRV_TRICKLE:
	case SRV_HALF:
		server_reply(s, s->got.type, &buf, &len);
		if (s->mode == SRV_HALF)
			len /= 2;
		for (size_t i = 0; s->mode == SRV_TRICKLE && i < len; i++) {
			send_full(fd, buf + i, 1);
			usleep(500);
		}
		if (s->mode != SRV_TRICKLE)
			send_full(fd, buf, len);
		break;
	case SRV_WRONG_TYPE:
		server_reply(s, s->got.type == VMH_IPC_QUERY ? VMH_IPC_CLAIM : VMH_IPC_QUERY, &buf,
			     &len);
		send_full(fd, buf, len);
		break;
	case SRV_EARLY:
	case SRV_EARLY_OPEN: {
		struct vmh_ipc_reply rep = { .type = VMH_IPC_CLAIM | VMH_IPC_REPLY,
					     .status = VMH_IPC_E_PERM };
		struct pollfd p = { .fd = fd, .events = POLLRDHUP };

		assert_int_equal(vmh_ipc_encode_reply(&rep, &buf, &len), 0);
		send_full(fd, buf, len);
		if (s->mode == SRV_EARLY_OPEN)
			poll(&p, 1, 20000);	/* until the client hangs up */
		break;
	}
	case SRV_CANNED:
		send_full(fd, s->canned, s->canned_len);
		break;
	case SRV_SILENT:
		while (recv(fd, &byte, 1, 0) > 0)
			;		/* until the client gives up */
		break;
	case SRV_CLOSE:
		break;
	}
	free(buf);
	close(fd);
	return NULL;
}

/* A listening socket in a fresh temporary directory; thread: serve one
 * connection in mode (else nobody accepts). */
static void server_start(struct server *s, enum srv_mode mode, bool thread)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	snprintf(s->dir, sizeof(s->dir), "/tmp/vmh-ipc-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/sock", s->dir);
	memcpy(sa.sun_path, s->path, sizeof(s->path));
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	if (thread)
		assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s, bool thread)
{
	if (thread)
		pthread_join(s->thread, NULL);
	close(s->lfd);
	unlink(s->path);
	rmdir(s->dir);
}

/* One call against a server in mode; returns vmh_ipc_call's result. What
 * the server received goes to *got (the caller clears it) if got. */
static int call_mode(enum srv_mode mode, const struct vmh_ipc_req *req, struct vmh_ipc_reply *rep,
		     struct vmh_ipc_req *got)
{
	struct server s;
	int r;

	server_start(&s, mode, true);
	r = vmh_ipc_call(s.path, req, rep);
	server_stop(&s, true);
	if (got) {
		assert_int_equal(s.got_rc, 0);
		*got = s.got;
	} else {
		vmh_ipc_req_clear(&s.got);
	}
	return r;
}

static void test_call_answers(void **state)
{
	struct vmh_ipc_req req = sample_req(VMH_IPC_CLAIM), got;
	struct vmh_ipc_reply rep;

	(void)state;
	assert_int_equal(call_mode(SRV_ANSWER, &req, &rep, &got), 0);
	assert_req_equal(&req, &got);
	vmh_ipc_req_clear(&got);
	assert_int_equal(rep.type, VMH_IPC_CLAIM | VMH_IPC_REPLY);
	assert_int_equal(rep.status, VMH_IPC_OK);
	assert_int_equal(rep.epoch, 42);
	assert_string_equal(rep.message, "served web-01");
	vmh_ipc_reply_clear(&rep);
	/* Byte by byte: partial reads. */
	req = sample_req(VMH_IPC_STATUS);
	assert_int_equal(call_mode(SRV_TRICKLE, &req, &rep, NULL), 0);
	assert_int_equal(rep.self, 3);
	assert_int_equal(rep.flags, VMH_IPC_F_QUORATE);
	vmh_ipc_reply_clear(&rep);
	/* A request larger than the socket buffer: partial writes. */
	{
		char *xml = malloc(VMH_REG_XML_MAX + 1);

		assert_non_null(xml);
		memset(xml, 'x', VMH_REG_XML_MAX);
		xml[VMH_REG_XML_MAX] = '\0';
		req = sample_req(VMH_IPC_CLAIM);
		req.xml = xml;
		req.xml_len = VMH_REG_XML_MAX;
		assert_int_equal(call_mode(SRV_ANSWER, &req, &rep, NULL), 0);
		assert_int_equal(rep.status, VMH_IPC_OK);
		vmh_ipc_reply_clear(&rep);
		/* The daemon answers (E_PERM) and closes before reading it:
		 * the answer still arrives. */
		assert_int_equal(call_mode(SRV_EARLY, &req, &rep, NULL), 0);
		assert_int_equal(rep.status, VMH_IPC_E_PERM);
		vmh_ipc_reply_clear(&rep);
		/* ... or answers and stops reading, the connection open. */
		req.budget_ms = 60000;	/* were it waited for, the test would hang */
		assert_int_equal(call_mode(SRV_EARLY_OPEN, &req, &rep, NULL), 0);
		assert_int_equal(rep.status, VMH_IPC_E_PERM);
		vmh_ipc_reply_clear(&rep);
		free(xml);
	}
}

static void test_call_failures(void **state)
{
	struct vmh_ipc_req req = sample_req(VMH_IPC_QUERY);
	struct vmh_ipc_reply rep;
	struct server s;
	int64_t t0;

	(void)state;
	req.budget_ms = 200;
	/* Never answers: returns (not hung) with -ETIMEDOUT. */
	t0 = vmh_now_ms();
	assert_int_equal(call_mode(SRV_SILENT, &req, &rep, NULL), -ETIMEDOUT);
	print_message("silent server: -ETIMEDOUT after %lld ms\n", (long long)(vmh_now_ms() - t0));
	assert_null(rep.nodes);
	/* The same with a short grace: the whole wait is budget + grace. */
	{
		struct server sg;
		int64_t took;

		server_start(&sg, SRV_SILENT, true);
		t0 = vmh_now_ms();
		assert_int_equal(vmh_ipc_call_grace(sg.path, &req, &rep, 50), -ETIMEDOUT);
		took = vmh_now_ms() - t0;
		server_stop(&sg, true);
		assert_true(took >= 200 && took < 200 + VMH_IPC_CALL_GRACE_MS);
	}
	/* Nobody accepts: the connection waits in the backlog. */
	server_start(&s, SRV_SILENT, false);
	assert_int_equal(vmh_ipc_call(s.path, &req, &rep), -ETIMEDOUT);
	server_stop(&s, false);
	/* Closes early: before the reply, in the middle of it. */
	assert_int_equal(call_mode(SRV_CLOSE, &req, &rep, NULL), -ECONNRESET);
	assert_int_equal(call_mode(SRV_HALF, &req, &rep, NULL), -ECONNRESET);
	/* A reply to another request. */
	assert_int_equal(call_mode(SRV_WRONG_TYPE, &req, &rep, NULL), -EBADMSG);
	req = sample_req(VMH_IPC_STATUS);
	assert_int_equal(call_mode(SRV_WRONG_TYPE, &req, &rep, NULL), -EBADMSG);
	req = sample_req(VMH_IPC_QUERY);
	/* A reply of the right type that does not decode. */
	{
		uint8_t bad[] = { VMH_IPC_QUERY | VMH_IPC_REPLY, 0, 1, 0, 12, 0, 0, 0,
				  VMH_IPC_T_STATUS, 0, 0, 0, 4, 0, 0, 0, 99, 0, 0, 0 };

		server_start(&s, SRV_CANNED, false);
		s.canned = bad;
		s.canned_len = sizeof(bad);
		assert_int_equal(pthread_create(&s.thread, NULL, serve, &s), 0);
		assert_int_equal(vmh_ipc_call(s.path, &req, &rep), -EBADMSG);
		server_stop(&s, true);
		bad[2] = 2;	/* another version */
		server_start(&s, SRV_CANNED, false);
		s.canned = bad;
		s.canned_len = sizeof(bad);
		assert_int_equal(pthread_create(&s.thread, NULL, serve, &s), 0);
		assert_int_equal(vmh_ipc_call(s.path, &req, &rep), -EBADMSG);
		server_stop(&s, true);
	}
	/* No socket; a socket file nobody listens on. */
	assert_int_equal(vmh_ipc_call("/nonexistent/vmhandoffd.sock", &req, &rep), -ENOENT);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		server_start(&s, SRV_SILENT, false);
		close(s.lfd);
		unlink(s.path);
		memcpy(sa.sun_path, s.path, sizeof(s.path));
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
		s.lfd = socket(AF_UNIX, SOCK_STREAM, 0);	/* for server_stop */
		assert_int_equal(vmh_ipc_call(s.path, &req, &rep), -ECONNREFUSED);
		server_stop(&s, false);
	}
	/* Requests the encoder refuses never leave. */
	req.budget_ms = 0;
	assert_int_equal(vmh_ipc_call("/nonexistent/vmhandoffd.sock", &req, &rep), -EINVAL);
	req.budget_ms = 100;
	assert_int_equal(vmh_ipc_call("", &req, &rep), -EINVAL);
}

/* ---- the CLI's status ---------------------------------------------------- */

static void vm_xml(struct vmh_vm_info *v, const char *xml)
{
	v->xml = strdup(xml);
	assert_non_null(v->xml);
	v->xml_len = strlen(xml);
	vmh_sha256(v->xml, v->xml_len, v->digest);
}

/* Nodes 1, 2 members; 4 lost and not witnessed; 5 lost and fenced (not
 * in the nodelist any more). VMs: db on 2, a name with JSON's special
 * characters migrating 1 -> 2, zz stopped. */
static void cli_image(struct vmh_reg_image *img)
{
	memset(img, 0, sizeof(*img));
	img->author = 1;
	img->voters = 3;
	img->config = 9;
	img->ring = 12;
	img->quorate = true;
	img->n_nodes = 4;
	img->nodes = calloc(4, sizeof(*img->nodes));
	assert_non_null(img->nodes);
	img->nodes[0] = (struct vmh_node_info){ .nodeid = 1, .member = true, .quorate = true,
						.addr_config = 4, .addr = "198.18.1.11" };
	img->nodes[1] = (struct vmh_node_info){ .nodeid = 2, .member = true, .quorate = false,
						.addr_config = 4, .addr = "fd00::12" };
	img->nodes[2] = (struct vmh_node_info){ .nodeid = 4, .left = 10 };
	img->nodes[3] = (struct vmh_node_info){ .nodeid = 5, .left = 8, .fenced_for = 8,
						.fence_time = 1700000000 };
	img->n_vms = 3;
	img->vms = calloc(3, sizeof(*img->vms));
	assert_non_null(img->vms);
	img->vms[0] = (struct vmh_vm_info){ .name = "db", .state = VMH_VM_RUNNING, .owner = 2,
					    .epoch = 3, .vkey_config = 9, .vkey_epoch = 3 };
	vm_xml(&img->vms[0], "<domain/>");
	img->vms[1] = (struct vmh_vm_info){ .name = "web\"1\\x", .state = VMH_VM_MIGRATING,
					    .owner = 1, .dst = 2, .epoch = 7, .vkey_config = 9,
					    .vkey_epoch = 7, .require_fencing = true,
					    .uuid = { 0x12, 0x34, [15] = 0xff } };
	vm_xml(&img->vms[1], "<domain type='kvm'/>");
	img->vms[2] = (struct vmh_vm_info){ .name = "zz", .state = VMH_VM_STOPPED, .epoch = 2,
					    .vkey_config = 3, .vkey_epoch = 2 };
	vm_xml(&img->vms[2], "");
	assert_int_equal(vmh_reg_image_check(img), 0);
}

static struct vmh_ipc_node cli_nodes[] = {
	{ .nodeid = 2, .member = true, .name = "node-b" },
	{ .nodeid = 1, .member = true, .name = "node-a" },
	{ .nodeid = 3, .member = false, .name = "node-c" },
	{ .nodeid = 4, .member = false, .name = "node-d" },
};
static struct vmh_ipc_progress cli_progress[] = {
	{ .vm = "web\"1\\x", .iteration = 3, .elapsed_ms = 12345, .data_total = 8ull << 30,
	  .data_processed = 4ull << 30, .data_remaining = 4ull << 30, .mem_bps = 100u << 20,
	  .dirty_rate = 1000, .downtime_ms = 300 },
};

/* The canned STATUS reply; *image to free. */
static struct vmh_ipc_reply cli_reply(uint8_t **image)
{
	struct vmh_ipc_reply rep = { .type = VMH_IPC_STATUS | VMH_IPC_REPLY, .status = VMH_IPC_OK,
				     .self = 1, .ring = 12, .n_nodes = 4, .nodes = cli_nodes,
				     .n_progress = 1, .progress = cli_progress,
				     .flags = VMH_IPC_F_LOCAL_QUORATE | VMH_IPC_F_QUORATE |
					      VMH_IPC_F_IN_CONFIG };
	struct vmh_reg_image img;

	cli_image(&img);
	assert_int_equal(vmh_wire_encode_image(&img, image, &rep.image_len), 0);
	rep.image = *image;
	vmh_reg_image_free(&img);
	return rep;
}

/* Output of a printer as a string (caller frees). */
static char *print_to_string(int (*printer)(FILE *, const struct cli_status *),
			     const struct cli_status *st)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	assert_int_equal(printer(f, st), 0);
	assert_int_equal(fclose(f), 0);
	return out;
}

static void assert_contains(const char *text, const char *want)
{
	const char *t = text ? text : "(no output)";

	if (!strstr(t, want))
		fail_msg("output lacks \"%s\":\n%s", want, t);
}

/* A strict JSON syntax check: enough to catch a broken escape or comma. */
static const char *js_value(const char *p);

static const char *js_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *js_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;		/* the end of the text included */
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)p[i]))
						return NULL;
				p += 4;
			} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
		p++;
	}
	return p + 1;
}

static const char *js_number(const char *p)
{
	const char *start;

	if (*p == '-')
		p++;
	start = p;
	while (isdigit((unsigned char)*p))
		p++;
	if (p == start || (*start == '0' && p - start > 1))
		return NULL;
	if (*p == '.') {
		start = ++p;
		while (isdigit((unsigned char)*p))
			p++;
		if (p == start)
			return NULL;
	}
	return p;
}

static const char *js_list(const char *p, char close, bool object)
{
	p = js_ws(p);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (object) {
			p = js_string(js_ws(p));
			if (!p)
				return NULL;
			p = js_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		p = js_value(p);
		if (!p)
			return NULL;
		p = js_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *js_value(const char *p)
{
	p = js_ws(p);
	switch (*p) {
	case '{':
		return js_list(p + 1, '}', true);
	case '[':
		return js_list(p + 1, ']', false);
	case '"':
		return js_string(p);
	case 't':
		return strncmp(p, "true", 4) ? NULL : p + 4;
	case 'f':
		return strncmp(p, "false", 5) ? NULL : p + 5;
	case 'n':
		return strncmp(p, "null", 4) ? NULL : p + 4;
	default:
		return js_number(p);
	}
}

static void assert_json(const char *text)
{
	const char *end = js_value(text);

	if (!end || *js_ws(end) != '\0')
		fail_msg("not one JSON value (at offset %td):\n%s", end ? end - text : -1, text);
}

static void test_cli_print(void **state)
{
	uint8_t *image;
	struct vmh_ipc_reply rep = cli_reply(&image);
	struct cli_status st;
	char digest[13], *text;

	(void)state;
	assert_int_equal(cli_status_init(&st, &rep), 0);
	assert_int_equal(st.n_rows, 5);		/* 1..5: nodelist and registry joined */
	assert_int_equal(st.rows[0].nodeid, 1);
	assert_int_equal(st.rows[4].nodeid, 5);
	assert_false(st.rows[4].in_nodelist);

	text = print_to_string(cli_status_text, &st);
	if (getenv("VMH_SHOW_CLI"))
		fputs(text, stdout);
	assert_contains(text, "Node:             node-a (id 1)\n");
	assert_contains(text, "Corosync quorum:  yes\n");
	assert_contains(text, "Registry quorum:  yes\n");
	assert_contains(text, "Joined:           yes\n");
	assert_contains(text, "Syncing:          no\n");
	assert_contains(text, "last sync in ring 9, 3 voters");
	assert_contains(text, "198.18.1.11");
	assert_contains(text, "node-c");
	assert_contains(text, "lost in ring 10, NOT fenced or expired yet");
	assert_contains(text, "lost in ring 8, fenced at 2023-11-14 22:13:20 UTC");
	assert_contains(text, "node-a (1) -> node-b (2)");
	assert_contains(text, "running");
	assert_contains(text, "stopped");
	assert_contains(text, "required");
	cli_hex(digest, st.img.vms[1].digest, 6);
	assert_contains(text, digest);
	assert_contains(text, "(20 B)");
	assert_contains(text, "web\"1\\x to node-b (2): 50.0% of 8.0 GiB, 100.0 MiB/s, iteration 3");
	free(text);

	text = print_to_string(cli_status_json, &st);
	if (getenv("VMH_SHOW_CLI"))
		fputs(text, stdout);
	assert_json(text);
	assert_contains(text, "\"self\":{\"nodeid\":1,\"name\":\"node-a\"}");
	assert_contains(text, "\"name\":\"web\\\"1\\\\x\"");
	assert_contains(text, "\"state\":\"migrating\",\"owner\":{\"nodeid\":1,\"name\":\"node-a\"},"
			      "\"dst\":{\"nodeid\":2,\"name\":\"node-b\"}");
	assert_contains(text, "\"uuid\":\"12340000-0000-0000-0000-0000000000ff\"");
	assert_contains(text, "{\"nodeid\":5,\"name\":null,\"in_nodelist\":false");
	assert_contains(text, "\"departure\":{\"ring\":8,\"clean\":false,\"fenced\":true,"
			      "\"expired\":false,\"fence_time\":1700000000}");
	assert_contains(text, "\"percent\":50.0,\"mib_per_s\":100.00,\"iteration\":3");
	assert_contains(text, "\"message\":null");
	free(text);
	cli_status_free(&st);

	/* Without an image (a daemon outside the cluster), with odd text. */
	rep.image = NULL;
	rep.image_len = 0;
	rep.n_progress = 0;
	snprintf(rep.message, sizeof(rep.message), "a \"quoted\" \\ message");
	assert_int_equal(cli_status_init(&st, &rep), 0);
	text = print_to_string(cli_status_text, &st);
	assert_contains(text, "no state in the reply");
	assert_contains(text, "VMs:\n  none\n");
	free(text);
	text = print_to_string(cli_status_json, &st);
	assert_json(text);
	assert_contains(text, "\"registry\":null");
	assert_contains(text, "\"message\":\"a \\\"quoted\\\" \\\\ message\"");
	free(text);
	cli_status_free(&st);

	/* An image that does not decode. */
	rep.image = image;
	rep.image_len = 20;
	assert_int_equal(cli_status_init(&st, &rep), -EBADMSG);
	free(image);
}

static void test_json_escape(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	assert_non_null(f);
	json_str(f, "q\" b\\ nl\n tab\t del\x7f hi\xc3\xa9 /");
	fclose(f);
	assert_string_equal(out, "\"q\\\" b\\\\ nl\\u000a tab\\u0009 del\\u007f hi\\u00c3\\u00a9 /\"");
	assert_json(out);
	free(out);
}

/* A run of the status command: exit code, stdout, stderr. */
static int cli_run(struct server *s, bool json, char **out, char **err)
{
	size_t olen, elen;
	FILE *fo = open_memstream(out, &olen), *fe = open_memstream(err, &elen);
	int code;

	assert_non_null(fo);
	assert_non_null(fe);
	code = cli_status_run(s ? s->path : "/nonexistent/vmhandoffd.sock", json, fo, fe);
	fclose(fo);
	fclose(fe);
	return code;
}

static int cli_run_canned(const struct vmh_ipc_reply *rep, bool json, char **out, char **err)
{
	struct server s;
	uint8_t *buf;
	size_t len;
	int code;

	assert_int_equal(vmh_ipc_encode_reply(rep, &buf, &len), 0);
	server_start(&s, SRV_CANNED, false);
	s.canned = buf;
	s.canned_len = len;
	assert_int_equal(pthread_create(&s.thread, NULL, serve, &s), 0);
	code = cli_run(&s, json, out, err);
	server_stop(&s, true);
	free(buf);
	return code;
}

static void test_cli_run(void **state)
{
	uint8_t *image;
	struct vmh_ipc_reply rep = cli_reply(&image);
	char *out, *err;

	(void)state;
	assert_int_equal(cli_run_canned(&rep, false, &out, &err), CLI_EXIT_OK);
	assert_contains(out, "node-a (1) -> node-b (2)");
	assert_string_equal(err, "");
	free(out);
	free(err);
	assert_int_equal(cli_run_canned(&rep, true, &out, &err), CLI_EXIT_OK);
	assert_json(out);
	free(out);
	free(err);
	/* The daemon answers an error. */
	rep = (struct vmh_ipc_reply){ .type = VMH_IPC_STATUS | VMH_IPC_REPLY,
				      .status = VMH_IPC_E_NO_CLUSTER, .message = "corosync is down" };
	assert_int_equal(cli_run_canned(&rep, false, &out, &err), CLI_EXIT_DAEMON);
	assert_string_equal(out, "");
	assert_contains(err, "not in the cluster: corosync is down");
	free(out);
	free(err);
	/* An OK answer whose image does not decode. */
	rep = (struct vmh_ipc_reply){ .type = VMH_IPC_STATUS | VMH_IPC_REPLY, .image = image,
				      .image_len = 9 };
	assert_int_equal(cli_run_canned(&rep, false, &out, &err), CLI_EXIT_DAEMON);
	assert_contains(err, "does not decode");
	free(out);
	free(err);
	/* Nobody there. */
	assert_int_equal(cli_run(NULL, false, &out, &err), CLI_EXIT_UNREACHABLE);
	assert_contains(err, "/nonexistent/vmhandoffd.sock");
	assert_contains(err, "is vmhandoffd running?");
	free(out);
	free(err);
	free(image);
}

/* ---- the CLI's history ---------------------------------------------------- */

/* vm1 seen by node-a (1): committed 1 -> 2 with every figure; aborted
 * 2 -> 4 without figures (node 4 has no name); taken over by 3 and
 * learned late; one still migrating. */
static struct vmh_hist_entry cli_hist[] = {
	{ .vm = "vm1", .outcome = VMH_HIST_COMMITTED, .src = 1, .dst = 2, .owner_after = 2,
	  .begin_epoch = 4, .end_epoch = 5, .start_ms = 1700000000123ull, .duration_ms = 620,
	  .flags = VMH_HIST_F_FIGURES, .bytes = 9334784, .job_ms = 992, .downtime_ms = 17,
	  .resume_us = 1234 },
	{ .vm = "vm1", .outcome = VMH_HIST_ABORTED, .src = 2, .dst = 9, .owner_after = 2,
	  .begin_epoch = 6, .end_epoch = 7, .start_ms = 1700000100000ull, .duration_ms = 11500 },
	{ .vm = "vm1", .outcome = VMH_HIST_TAKEN_OVER, .src = 2, .dst = 1, .owner_after = 3,
	  .begin_epoch = 8, .end_epoch = 10, .start_ms = 1700000200000ull, .duration_ms = 25000,
	  .flags = VMH_HIST_F_LATE },
	{ .vm = "vm1", .outcome = VMH_HIST_MIGRATING, .src = 3, .dst = 1, .begin_epoch = 11,
	  .start_ms = 1700000300000ull },
};

static struct vmh_ipc_reply cli_history_reply(void)
{
	return (struct vmh_ipc_reply){ .type = VMH_IPC_HISTORY | VMH_IPC_REPLY, .status = VMH_IPC_OK,
				       .self = 1, .n_nodes = 4, .nodes = cli_nodes,
				       .has_vm_state = true, .vm_state = VMH_VM_MIGRATING,
				       .owner = 3, .dst = 1, .epoch = 11, .n_history = 4,
				       .history = cli_hist };
}

static char *history_to_string(bool json, const struct vmh_ipc_reply *rep)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		abort();	/* (the analyzer does not know cmocka's asserts end) */
	assert_int_equal(json ? cli_history_json(f, "vm1", rep) : cli_history_text(f, "vm1", rep), 0);
	assert_int_equal(fclose(f), 0);
	if (getenv("VMH_SHOW_CLI"))
		fputs(out, stdout);
	return out;
}

static void test_cli_history(void **state)
{
	struct vmh_ipc_reply rep = cli_history_reply();
	char *text;
	double gap = 0;

	(void)state;
	assert_true(cli_history_gap(&cli_hist[0], &gap));
	assert_true(gap > 18.233 && gap < 18.235);
	assert_false(cli_history_gap(&cli_hist[1], &gap));

	text = history_to_string(false, &rep);
	assert_contains(text, "vm1: migrating node-c -> node-a (epoch 11); migrations node-a has seen, oldest first (times UTC):\n");
	assert_contains(text, "WHEN                 FROM    TO      DURATION      GAP    BYTES  OUTCOME\n");
	assert_contains(text, "  2023-11-14 22:13:20  node-a  node-b    0.62 s  18.2 ms  8.9 MiB  committed\n");
	assert_contains(text, "  2023-11-14 22:15:00  node-b  node 9   11.50 s        -        -  aborted\n");
	assert_contains(text, "node-b  node-a   25.00 s        -        -  taken over by node-c*\n");
	assert_contains(text, "  2023-11-14 22:18:20  node-c  node-a         -        -        -  migrating\n");
	assert_contains(text, "* learned from a state sync or a restart");
	free(text);

	text = history_to_string(true, &rep);
	assert_json(text);
	assert_int_equal(strchr(text, '\n') - text, (long)strlen(text) - 1);	/* one line */
	assert_contains(text, "{\"vm\":\"vm1\",\"node\":{\"nodeid\":1,\"name\":\"node-a\"},"
			      "\"state\":\"migrating\",\"owner\":{\"nodeid\":3,\"name\":\"node-c\"},"
			      "\"dst\":{\"nodeid\":1,\"name\":\"node-a\"},\"epoch\":11,\"migrations\":[");
	assert_contains(text, "{\"start_ms\":1700000000123,\"start\":\"2023-11-14T22:13:20Z\","
			      "\"from\":{\"nodeid\":1,\"name\":\"node-a\"},\"to\":{\"nodeid\":2,"
			      "\"name\":\"node-b\"},\"outcome\":\"committed\",\"owner_after\":"
			      "{\"nodeid\":2,\"name\":\"node-b\"},\"late\":false,\"begin_epoch\":4,"
			      "\"end_epoch\":5,\"duration_ms\":620,\"bytes\":9334784,\"job_ms\":992,"
			      "\"downtime_ms\":17,\"resume_ms\":1.234,\"activation_gap_ms\":18.234}");
	assert_contains(text, "\"to\":{\"nodeid\":9,\"name\":null},\"outcome\":\"aborted\"");
	assert_contains(text, "\"bytes\":null,\"job_ms\":null,\"downtime_ms\":null,"
			      "\"resume_ms\":null,\"activation_gap_ms\":null}");
	assert_contains(text, "\"outcome\":\"taken over\",\"owner_after\":{\"nodeid\":3,"
			      "\"name\":\"node-c\"},\"late\":true");
	assert_contains(text, "\"outcome\":\"migrating\",\"owner_after\":null,\"late\":false,"
			      "\"begin_epoch\":11,\"end_epoch\":null,\"duration_ms\":null");
	free(text);

	/* none seen; a VM only the history knows (no registry state) */
	rep.n_history = 0;
	text = history_to_string(false, &rep);
	assert_string_equal(text, "vm1: migrating node-c -> node-a (epoch 11); node-a has seen no migration of it\n");
	free(text);
	text = history_to_string(true, &rep);
	assert_json(text);
	assert_contains(text, "\"migrations\":[]}\n");
	free(text);
	rep = cli_history_reply();
	rep.has_vm_state = false;
	rep.owner = rep.dst = 0;
	rep.epoch = 0;
	rep.self = 0;
	rep.n_history = 1;
	text = history_to_string(false, &rep);
	assert_contains(text, "vm1: not in this node's registry; migrations this node has seen");
	free(text);
	text = history_to_string(true, &rep);
	assert_json(text);
	assert_contains(text, "\"node\":null,\"state\":null,\"owner\":null,\"dst\":null,\"epoch\":null");
	free(text);
}

/* A run of the history command against a canned reply (NULL: a server
 * that closes without answering, as a daemon that does not know the
 * request does). */
static int history_run(const char *vm, const struct vmh_ipc_reply *rep, bool json, char **out,
		       char **err)
{
	size_t olen, elen;
	FILE *fo = open_memstream(out, &olen), *fe = open_memstream(err, &elen);
	struct server s;
	uint8_t *buf = NULL;
	size_t len = 0;
	int code;

	if (!fo || !fe)
		abort();	/* (the analyzer does not know cmocka's asserts end) */
	if (rep)
		assert_int_equal(vmh_ipc_encode_reply(rep, &buf, &len), 0);
	server_start(&s, rep ? SRV_CANNED : SRV_CLOSE, false);
	s.canned = buf;
	s.canned_len = len;
	assert_int_equal(pthread_create(&s.thread, NULL, serve, &s), 0);
	code = cli_history_run(s.path, vm, json, fo, fe);
	server_stop(&s, true);
	if (s.got_rc == 0) {
		assert_int_equal(s.got.type, VMH_IPC_HISTORY);
		assert_string_equal(s.got.vm, vm);
	}
	vmh_ipc_req_clear(&s.got);
	free(buf);
	fclose(fo);
	fclose(fe);
	return code;
}

static void test_cli_history_run(void **state)
{
	struct vmh_ipc_reply rep = cli_history_reply();
	char *out, *err;

	(void)state;
	assert_int_equal(history_run("vm1", &rep, false, &out, &err), CLI_EXIT_OK);
	assert_contains(out, "committed");
	assert_string_equal(err, "");
	free(out);
	free(err);
	assert_int_equal(history_run("vm1", &rep, true, &out, &err), CLI_EXIT_OK);
	assert_json(out);
	free(out);
	free(err);
	/* an unknown VM: exit 1, said on stderr, nothing on stdout */
	rep = (struct vmh_ipc_reply){ .type = VMH_IPC_HISTORY | VMH_IPC_REPLY,
				      .status = VMH_IPC_E_UNKNOWN_VM,
				      .message = "the registry does not know vm9" };
	assert_int_equal(history_run("vm9", &rep, true, &out, &err), CLI_EXIT_DAEMON);
	assert_string_equal(out, "");
	assert_string_equal(err, "vmhandoff: vm9: unknown VM: the registry does not know vm9\n");
	free(out);
	free(err);
	/* a daemon that does not know the request */
	assert_int_equal(history_run("vm1", NULL, false, &out, &err), CLI_EXIT_UNREACHABLE);
	assert_contains(err, "older than the history command");
	free(out);
	free(err);
	/* not a name; nobody there */
	{
		size_t ol, el;
		FILE *fo = open_memstream(&out, &ol), *fe = open_memstream(&err, &el);

		if (!fo || !fe)
			abort();
		assert_int_equal(cli_history_run("/nonexistent/s", "a/b", false, fo, fe), CLI_EXIT_USAGE);
		assert_int_equal(cli_history_run("/nonexistent/s", "vm1", false, fo, fe),
				 CLI_EXIT_UNREACHABLE);
		fclose(fo);
		fclose(fe);
		assert_contains(err, "not a VM name");
		assert_contains(err, "is vmhandoffd running?");
		free(out);
		free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_requests),
		cmocka_unit_test(test_roundtrip_replies),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_decoder_lenient_where_allowed),
		cmocka_unit_test(test_req_rejects),
		cmocka_unit_test(test_header_rejects),
		cmocka_unit_test(test_reply_rejects),
		cmocka_unit_test(test_encoder_refuses),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_frame_len),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_call_answers),
		cmocka_unit_test(test_call_failures),
		cmocka_unit_test(test_cli_print),
		cmocka_unit_test(test_json_escape),
		cmocka_unit_test(test_cli_run),
		cmocka_unit_test(test_cli_history),
		cmocka_unit_test(test_cli_history_run),
	};

	return cmocka_run_group_tests_name("ipc", tests, NULL, NULL);
}
