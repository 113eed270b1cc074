/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the vmh_ipc module (vmh_ipc.h), shared by its files:
 *   vmh_ipc.c         frames, the tag table, names, requests
 *   vmh_ipc_reply.c   replies
 *   vmh_ipc_client.c  the blocking client (public API only)
 *
 * The byte primitives are static inline here: a few lines each, used in
 * every field of the codec. The frame functions live in vmh_ipc.c under
 * the prefix vmh_ipcint_.
 */
#ifndef VMH_IPC_INT_H
#define VMH_IPC_INT_H

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmh_bytes.h"
#include "vmh_ipc.h"

/*
 * The layouts, as structs: never cast onto a buffer (alignment, host byte
 * order), only there for the asserts, which pin the offsets the codec
 * writes by hand.
 */
struct ipc_hdr {
	uint16_t type;
	uint16_t version;
	uint32_t length;
};
struct ipc_field_hdr {
	uint16_t tag;
	uint16_t reserved;
	uint32_t len;
};
struct ipc_node_entry {
	uint32_t nodeid;
	uint8_t flags;
	uint8_t name_len;
	uint16_t reserved;
	/* name[name_len] */
};
struct ipc_progress {
	uint8_t name_len;
	uint8_t reserved[3];
	uint32_t iteration;
	uint64_t elapsed_ms;
	uint64_t data_total;
	uint64_t data_processed;
	uint64_t data_remaining;
	uint64_t mem_bps;
	uint64_t dirty_rate;
	uint64_t downtime_ms;
	/* name[name_len] */
};

static_assert(sizeof(struct ipc_hdr) == VMH_IPC_HDR_LEN, "header");
static_assert(sizeof(struct ipc_field_hdr) == 8, "field header");
static_assert(sizeof(struct ipc_node_entry) == 8, "node entry");
static_assert(sizeof(struct ipc_progress) == 64 && offsetof(struct ipc_progress, elapsed_ms) == 8,
	      "progress entry");
static_assert(VMH_IPC_T_MAX < 32, "tag sets are 32-bit masks");
static_assert(VMH_IPC_TYPE_MAX < VMH_IPC_REPLY, "the reply bit is free");

#define IPC_NODE_ENTRY_LEN sizeof(struct ipc_node_entry)
#define IPC_PROGRESS_LEN sizeof(struct ipc_progress)

/* A set of tags. */
#define IPC_BIT(tag) (1u << (tag))

/* ---- value rules --------------------------------------------------------- */

typedef bool (*ipc_str_rule)(const char *s, size_t len);

static inline bool ipc_printable(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static inline bool ipc_node_name_ok(const char *s, size_t len)
{
	return ipc_printable(s, len, VMH_IPC_NODE_NAME_MAX);
}

static inline bool ipc_message_ok(const char *s, size_t len)
{
	return ipc_printable(s, len, VMH_IPC_MESSAGE_MAX);
}

static inline bool ipc_uri_ok(const char *s, size_t len)
{
	return ipc_printable(s, len, VMH_IPC_URI_MAX);
}

/* A NUL-terminated string in a buffer of size bytes that obeys rule. */
static inline bool ipc_cstr_ok(const char *s, size_t size, ipc_str_rule rule)
{
	size_t len = strnlen(s, size);

	return len < size && rule(s, len);
}

static inline bool ipc_req_type_ok(unsigned type)
{
	return type >= VMH_IPC_STATUS && type <= VMH_IPC_TYPE_MAX;
}

/* ---- fields (byte writer and reader: vmh_bytes.h) ------------------------ */

static inline void ipc_put_field_hdr(struct vmh_bw *w, enum vmh_ipc_tag tag, size_t len)
{
	vmh_bw_le(w, tag, 2);
	vmh_bw_le(w, 0, 2);
	vmh_bw_le(w, len, 4);
}

static inline void ipc_put_bytes_field(struct vmh_bw *w, enum vmh_ipc_tag tag, const void *v,
				       size_t len)
{
	ipc_put_field_hdr(w, tag, len);
	vmh_bw_put(w, v, len);
}

static inline void ipc_put_str_field(struct vmh_bw *w, enum vmh_ipc_tag tag, const char *s)
{
	ipc_put_bytes_field(w, tag, s, strlen(s));
}

static inline void ipc_put_int_field(struct vmh_bw *w, enum vmh_ipc_tag tag, uint64_t v,
				     unsigned bytes)
{
	ipc_put_field_hdr(w, tag, bytes);
	vmh_bw_le(w, v, bytes);
}

/* len bytes that obey rule into out (size bytes), NUL-terminated. */
static inline void ipc_get_str(struct vmh_br *r, size_t len, char *out, size_t size,
			       ipc_str_rule rule)
{
	const uint8_t *b = vmh_br_take(r, len);

	if (!b)
		return;
	if (len >= size || !rule((const char *)b, len)) {
		r->bad = true;
		return;
	}
	memcpy(out, b, len);
	out[len] = '\0';
}

/* One field of a body; its value's length is checked against the tag
 * table (vmh_ipcint_scan_body) before any value is read. */
struct ipc_field {
	unsigned tag;
	uint32_t len;
	const uint8_t *v;
};

/* The next field of a body; false at its end or when it does not frame
 * (then r->bad). */
static inline bool ipc_next_field(struct vmh_br *r, struct ipc_field *f)
{
	if (r->bad || r->pos == r->len)
		return false;
	f->tag = (unsigned)vmh_br_le(r, 2);
	vmh_br_reserved(r, 2);
	f->len = (uint32_t)vmh_br_le(r, 4);
	f->v = vmh_br_take(r, f->len);
	return !r->bad;
}

/* A reader over the value of f. */
static inline struct vmh_br ipc_value_reader(const struct ipc_field *f)
{
	return (struct vmh_br){ .p = f->v, .len = f->len };
}

/* An integer field's value (its length, 1, 4 or 8, fixed by the table). */
static inline uint64_t ipc_field_int(const struct ipc_field *f)
{
	struct vmh_br r = ipc_value_reader(f);

	return vmh_br_le(&r, (unsigned)f->len);
}

/* u8 0/1 */
static inline int ipc_get_bool(const struct ipc_field *f, bool *out)
{
	if (f->v[0] > 1)
		return -EBADMSG;
	*out = f->v[0];
	return 0;
}

/* A whole-value string field into out. */
static inline int ipc_get_str_field(const struct ipc_field *f, char *out, size_t size,
				    ipc_str_rule rule)
{
	struct vmh_br r = ipc_value_reader(f);

	ipc_get_str(&r, f->len, out, size, rule);
	return r.bad ? -EBADMSG : 0;
}

/* ---- frames (vmh_ipc.c) -------------------------------------------------- */

/* Turns a counting writer into a real one: allocates the frame and writes
 * the header. 0, -EMSGSIZE, -ENOMEM. */
int vmh_ipcint_start_frame(struct vmh_bw *w, unsigned type);
void vmh_ipcint_finish_frame(struct vmh_bw *w, uint8_t **buf, size_t *len);

/* Header checks (version, length); *body then spans the body. 0,
 * -EBADMSG, -EPROTONOSUPPORT. */
int vmh_ipcint_open_frame(const uint8_t *buf, size_t len, struct vmh_br *body,
			  unsigned *type);

/*
 * First pass over a body: the framing, only tags in allowed, no duplicate
 * of a non-repeated tag, value lengths within the tag table, every tag of
 * mandatory there. count[tag] tells how often each tag came. 0 or
 * -EBADMSG.
 */
int vmh_ipcint_scan_body(const struct vmh_br *body, uint32_t allowed, uint32_t mandatory,
			 size_t count[VMH_IPC_T_MAX + 1]);

#endif
