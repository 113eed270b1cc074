/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_hist_entry: one past (or running) migration of a VM as a vmhandoffd
 * saw it: when, from, to, how long, how it ended, and the figures of the
 * copy. The store of these is vmh_history.h; this header is only the entry
 * and its one encoding, used by three carriers: the history file, the CPG
 * message HANDOFF_STATS (vmh_wire.h) and the HISTORY reply (vmh_ipc.h).
 * The codec is static inline so that the IPC codec (linked into the
 * agent's libc-only front) needs no other object file.
 *
 * Layout (144 bytes, little-endian, written and read byte by byte):
 *   0 name_len u8, 1 outcome u8, 2 flags u8, 3 reserved u8,
 *   4 src u32, 8 dst u32, 12 owner_after u32,
 *   16 begin_epoch, 24 end_epoch, 32 start_ms, 40 duration_ms,
 *   48 bytes, 56 job_ms, 64 downtime_ms, 72 resume_us (u64 each),
 *   80 name[64] (zero padded)
 *
 * One encoding per entry (the decoder checks it, so that what it accepts
 * re-encodes to the same bytes): reserved and padding bytes zero, a
 * figure whose flag is clear is zero, an entry still migrating has no
 * end and no figures, an ended one ended at a later epoch than it began,
 * and the owner after the end agrees with the outcome.
 */
#ifndef VMH_HIST_ENTRY_H
#define VMH_HIST_ENTRY_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmh_bytes.h"
#include "vmh_registry.h"

#define VMH_HIST_ENTRY_LEN 144

/* How a handoff ended, as this node saw the registry decide it. */
enum vmh_hist_outcome {
	VMH_HIST_MIGRATING = 0,		/* not ended yet */
	VMH_HIST_COMMITTED = 1,		/* runs on the destination (owner_after = dst) */
	VMH_HIST_ABORTED = 2,		/* runs on the source again (owner_after = src) */
	VMH_HIST_TAKEN_OVER = 3,	/* a third node claimed it: a takeover after
					 * a lost host (owner_after: that node) */
	VMH_HIST_UNKNOWN = 4,		/* ended, how not seen here: stopped, or
					 * another handoff, when this node learned
					 * of it (owner_after: the owner then, 0 none) */
};
#define VMH_HIST_OUTCOME_MAX VMH_HIST_UNKNOWN

/* Flags: F_LATE, and which figures are known (a clear one reads "-"). */
#define VMH_HIST_F_LATE		0x01u	/* begin or end learned from a state sync
					 * or a restart, not from the record that
					 * decided it: its time is when this node
					 * learned it */
#define VMH_HIST_F_BYTES	0x02u	/* bytes */
#define VMH_HIST_F_JOB		0x04u	/* job_ms */
#define VMH_HIST_F_DOWNTIME	0x08u	/* downtime_ms */
#define VMH_HIST_F_RESUME	0x10u	/* resume_us */
#define VMH_HIST_F_FIGURES	0x1eu
#define VMH_HIST_F_ALL		0x1fu

struct vmh_hist_entry {
	char vm[VMH_REG_NAME_MAX + 1];
	enum vmh_hist_outcome outcome;
	uint8_t flags;
	uint32_t src, dst;		/* node ids */
	uint32_t owner_after;		/* the registry's owner right after the end */
	uint64_t begin_epoch;		/* the VM's epoch once the handoff began */
	uint64_t end_epoch;		/* its epoch once it ended; 0 while migrating */
	uint64_t start_ms;		/* wall clock, ms since 1970: BEGIN delivered */
	uint64_t duration_ms;		/* BEGIN delivered -> end delivered */
	/* From the destination, after it resumed a committed handoff
	 * (libvirt's completed job there, and its own clock): */
	uint64_t bytes;			/* data the migration moved */
	uint64_t job_ms;		/* libvirt's elapsed time of the migration job */
	uint64_t downtime_ms;		/* libvirt's downtime: source paused ->
					 * destination's Finish step */
	uint64_t resume_us;		/* destination: end of the incoming
					 * migration (libvirt event) -> resumed */
};

/* The layout as a struct: never cast onto a buffer, only there for the
 * asserts that pin the offsets the codec writes by hand. */
struct vmh_hist_layout {
	uint8_t name_len, outcome, flags, reserved;
	uint32_t src, dst, owner_after;
	uint64_t begin_epoch, end_epoch, start_ms, duration_ms;
	uint64_t bytes, job_ms, downtime_ms, resume_us;
	char name[VMH_REG_NAME_MAX];
};
static_assert(sizeof(struct vmh_hist_layout) == VMH_HIST_ENTRY_LEN &&
	      offsetof(struct vmh_hist_layout, begin_epoch) == 16 &&
	      offsetof(struct vmh_hist_layout, resume_us) == 72 &&
	      offsetof(struct vmh_hist_layout, name) == 80, "history entry layout");

static inline const char *vmh_hist_outcome_str(enum vmh_hist_outcome o)
{
	switch (o) {
	case VMH_HIST_MIGRATING:
		return "migrating";
	case VMH_HIST_COMMITTED:
		return "committed";
	case VMH_HIST_ABORTED:
		return "aborted";
	case VMH_HIST_TAKEN_OVER:
		return "taken over";
	case VMH_HIST_UNKNOWN:
		return "unknown";
	}
	return "?";
}

/* What the decoder accepts (see the top of this file). */
static inline bool vmh_hist_entry_ok(const struct vmh_hist_entry *e)
{
	size_t nlen = strnlen(e->vm, sizeof(e->vm));

	if (nlen == sizeof(e->vm) || !vmh_reg_name_ok(e->vm, nlen))
		return false;
	if ((unsigned)e->outcome > VMH_HIST_OUTCOME_MAX || (e->flags & ~VMH_HIST_F_ALL))
		return false;
	if (e->src == 0 || e->dst == 0 || e->src == e->dst || e->begin_epoch == 0 ||
	    e->start_ms == 0)
		return false;
	if ((!(e->flags & VMH_HIST_F_BYTES) && e->bytes) ||
	    (!(e->flags & VMH_HIST_F_JOB) && e->job_ms) ||
	    (!(e->flags & VMH_HIST_F_DOWNTIME) && e->downtime_ms) ||
	    (!(e->flags & VMH_HIST_F_RESUME) && e->resume_us))
		return false;
	switch (e->outcome) {
	case VMH_HIST_MIGRATING:
		return e->end_epoch == 0 && e->duration_ms == 0 && e->owner_after == 0 &&
		       !(e->flags & VMH_HIST_F_FIGURES);
	case VMH_HIST_COMMITTED:
		return e->end_epoch > e->begin_epoch && e->owner_after == e->dst;
	case VMH_HIST_ABORTED:
		return e->end_epoch > e->begin_epoch && e->owner_after == e->src;
	case VMH_HIST_TAKEN_OVER:
		return e->end_epoch > e->begin_epoch && e->owner_after != 0 &&
		       e->owner_after != e->src && e->owner_after != e->dst;
	case VMH_HIST_UNKNOWN:
		return e->end_epoch > e->begin_epoch;
	}
	return false;
}

/* Writes e (which must pass vmh_hist_entry_ok). */
static inline void vmh_hist_put_entry(struct vmh_bw *w, const struct vmh_hist_entry *e)
{
	size_t nlen = strlen(e->vm);

	vmh_bw_le(w, nlen, 1);
	vmh_bw_le(w, (unsigned)e->outcome, 1);
	vmh_bw_le(w, e->flags, 1);
	vmh_bw_le(w, 0, 1);
	vmh_bw_le(w, e->src, 4);
	vmh_bw_le(w, e->dst, 4);
	vmh_bw_le(w, e->owner_after, 4);
	vmh_bw_le(w, e->begin_epoch, 8);
	vmh_bw_le(w, e->end_epoch, 8);
	vmh_bw_le(w, e->start_ms, 8);
	vmh_bw_le(w, e->duration_ms, 8);
	vmh_bw_le(w, e->bytes, 8);
	vmh_bw_le(w, e->job_ms, 8);
	vmh_bw_le(w, e->downtime_ms, 8);
	vmh_bw_le(w, e->resume_us, 8);
	vmh_bw_put(w, e->vm, nlen);
	vmh_bw_zero(w, VMH_REG_NAME_MAX - nlen);
}

/* Reads one entry; false (r->bad set) if it is not one the encoder
 * writes. */
static inline bool vmh_hist_get_entry(struct vmh_br *r, struct vmh_hist_entry *e)
{
	const uint8_t *name;
	uint8_t nlen;

	memset(e, 0, sizeof(*e));
	nlen = (uint8_t)vmh_br_le(r, 1);
	e->outcome = (enum vmh_hist_outcome)vmh_br_le(r, 1);
	e->flags = (uint8_t)vmh_br_le(r, 1);
	vmh_br_reserved(r, 1);
	e->src = (uint32_t)vmh_br_le(r, 4);
	e->dst = (uint32_t)vmh_br_le(r, 4);
	e->owner_after = (uint32_t)vmh_br_le(r, 4);
	e->begin_epoch = vmh_br_le(r, 8);
	e->end_epoch = vmh_br_le(r, 8);
	e->start_ms = vmh_br_le(r, 8);
	e->duration_ms = vmh_br_le(r, 8);
	e->bytes = vmh_br_le(r, 8);
	e->job_ms = vmh_br_le(r, 8);
	e->downtime_ms = vmh_br_le(r, 8);
	e->resume_us = vmh_br_le(r, 8);
	name = vmh_br_take(r, VMH_REG_NAME_MAX);
	if (!name || nlen == 0 || nlen > VMH_REG_NAME_MAX) {
		r->bad = true;
		return false;
	}
	memcpy(e->vm, name, nlen);
	e->vm[nlen] = '\0';
	/* exactly nlen non-NUL bytes, then zeros */
	if (memchr(name, '\0', nlen))
		r->bad = true;
	for (size_t i = nlen; i < VMH_REG_NAME_MAX; i++)
		if (name[i])
			r->bad = true;
	if (!r->bad && !vmh_hist_entry_ok(e))
		r->bad = true;
	return !r->bad;
}

#endif
