/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_history: the migrations a vmhandoffd has seen (entries of
 * vmh_hist_entry.h), kept in memory and in one file per node,
 * <state dir>/history, for `vmhandoff history VM`.
 *
 * It is NOT the registry: nothing decides anything from it. Each daemon
 * writes the entries from what it sees delivered (a handoff begins, ends),
 * and merges in the figures the destination shares after a commit
 * (vmh_hist_merge); a daemon that was down meanwhile misses what it did not
 * see, and a damaged file is set aside and the history starts empty.
 *
 * Bounds: at most VMH_HIST_PER_VM entries per VM and VMH_HIST_MAX in all;
 * beyond, the oldest go (of that VM, else of all). Entries are kept oldest
 * first, by start time.
 *
 * File: a 56-byte header, then count entries of VMH_HIST_ENTRY_LEN bytes:
 *   0 magic "VMHHISTO", 8 version u16 (1), 10 reserved u16, 12 count u32,
 *   16 body length u64, 24 SHA-256 of the body [32]          (little-endian)
 * Replaced atomically as the registry's state file is (vmh_regstore.h):
 * a temporary file, fsync, rename, fsync of the directory.
 */
#ifndef VMH_HISTORY_H
#define VMH_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmh_hist_entry.h"

#define VMH_HIST_FILE "history"
#define VMH_HIST_PER_VM 32
#define VMH_HIST_MAX 1024

struct vmh_history {
	size_t n, cap;
	struct vmh_hist_entry *e;	/* oldest first */
};

void vmh_hist_init(struct vmh_history *h);
void vmh_hist_free(struct vmh_history *h);

/* The entry of vm still migrating (there is at most one), or NULL. */
struct vmh_hist_entry *vmh_hist_open(struct vmh_history *h, const char *vm);

/* Adds a copy of e (which must pass vmh_hist_entry_ok) in start order,
 * then drops the oldest beyond the bounds. 0, -EINVAL, -ENOMEM. An open
 * entry of the same VM is the caller's to end first (-EEXIST). */
int vmh_hist_add(struct vmh_history *h, const struct vmh_hist_entry *e);

/* Ends vm's open entry: outcome (not MIGRATING), the owner after it, the
 * epoch it ended at, how long it took, late (learned from a sync). 0,
 * -ENOENT (no open entry), -EINVAL (the result would not be valid: then
 * nothing changes). */
int vmh_hist_end(struct vmh_history *h, const char *vm, enum vmh_hist_outcome outcome,
		 uint32_t owner_after, uint64_t end_epoch, uint64_t duration_ms, bool late);

/*
 * The figures of a handoff from the node that has them (its entry, in
 * a HANDOFF_STATS message): the entry of the same VM that ended at the
 * same epoch (or began at the same one, between the same nodes) takes
 * the figures in's flags say are known; with none, in itself is added (a
 * node that did not see the handoff learns it so). 1 merged, 2 added, 0
 * nothing to do (in has no figures, or an entry still open: its end
 * comes first), -EINVAL, -ENOMEM.
 */
int vmh_hist_merge(struct vmh_history *h, const struct vmh_hist_entry *in);

/* The last max entries of vm, oldest first, copied to out. Returns how
 * many. */
size_t vmh_hist_find(const struct vmh_history *h, const char *vm, struct vmh_hist_entry *out,
		     size_t max);

/* 0 or -errno (I/O, -ENOMEM). */
int vmh_hist_save(const char *dir, const struct vmh_history *h);

/*
 * Loads dir's history file into h (emptied first). 0; -ENOENT no file;
 * -EBADMSG damaged (*why says how; h is then empty); other -errno: I/O.
 */
int vmh_hist_load(const char *dir, struct vmh_history *h, const char **why);

#endif
