/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmhandoffd's history of migrations (lib/vmh_history.h), for
 * `vmhandoff history VM` (the HISTORY request). Nothing here decides
 * anything: the registry state machine never sees it.
 *
 * - Every daemon records each handoff it sees: after every accepted VM
 *   record, and after every completed sync round, it compares the
 *   registry's state of the VM with its open entry (hd_hist_observe): a
 *   VM now MIGRATING begins an entry, a VM no longer migrating ends it,
 *   the outcome read from the new owner (the destination: committed; the
 *   source: aborted; a third node: taken over). What only a sync or a
 *   restart shows (the decision was delivered while this daemon was away)
 *   is marked late: its time is when this daemon learned it.
 * - The destination, right after it resumed a committed handoff, reads
 *   libvirt's completed job there (bytes, libvirt's job time and
 *   downtime: source paused -> destination's Finish) and its own delay
 *   from the end of the incoming migration (libvirt's "suspended paused"
 *   event) to the resume, and multicasts them once: HANDOFF_STATS, an
 *   informational message outside the registry (vmh_wire.h). Every daemon
 *   merges them into its entry of that handoff, so all nodes show the
 *   same figures; a daemon that did not see the handoff learns it so.
 * - Saved in the state directory a moment after each change, never in
 *   the delivery path (the resume comes first); loaded at start. A damaged
 *   file is set aside (history.damaged-<time>) and the history starts
 *   empty: it is not the registry.
 *
 * NOTE libvirt keeps the completed job's statistics on the destination
 * (virDomainGetJobStats with VIR_DOMAIN_JOB_STATS_COMPLETED, operation
 * "incoming migration": the source's figures, which its Finish step
 * receives in the migration cookie), and a resume, a plain job, does not
 * clear them. They are there once libvirt's Finish step has ended, which
 * the resume waits for; if they are not, they are asked for again a few
 * times before the figures go out without them.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hd.h"
#include "vmh_history.h"
#include "vmh_log.h"
#include "vmh_time.h"
#include "vmh_wire.h"

/* a change is saved this long after it (changes close together: one save) */
#define HD_HIST_SAVE_MS 200
/* libvirt's completed job asked again this often, this many times */
#define HD_HIST_JOB_RETRY_MS 250
#define HD_HIST_JOB_TRIES 4

static_assert(VMH_HIST_PER_VM <= VMH_IPC_HISTORY_MAX, "a VM's history fits in one reply");

/* What this process saw of a VM's handoff on its own clock (not saved:
 * a restart loses it, and the figures it gives are then unknown). */
struct hist_mark {
	struct hist_mark *next;
	char vm[VMH_REG_NAME_MAX + 1];
	uint64_t begin_epoch;		/* the handoff these times belong to */
	int64_t begun_ms;		/* monotonic: BEGIN delivered, 0 unknown */
	int64_t ready_us;		/* monotonic: end of the incoming migration */
};

/* A committed handoff whose figures the destination still has to send. */
struct hist_job {
	struct hist_job *next;
	struct vmh_hist_entry e;	/* the entry, with the resume delay */
	unsigned tries;
};

static struct vmh_history hist;
static struct hist_mark *marks;
static struct hist_job *jobs;
static int save_timer = -1, job_timer = -1;
static bool dirty;

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct hist_mark *mark_of(const char *vm, bool create)
{
	struct hist_mark *m;

	for (m = marks; m; m = m->next)
		if (strcmp(m->vm, vm) == 0)
			return m;
	if (!create || !(m = calloc(1, sizeof(*m))))
		return NULL;
	snprintf(m->vm, sizeof(m->vm), "%s", vm);
	m->next = marks;
	marks = m;
	return m;
}

/* --- saving --------------------------------------------------------------- */

static void save_now(struct hd *hd)
{
	int r;

	dirty = false;
	r = vmh_hist_save(hd->cfg.state_dir, &hist);
	if (r < 0)
		vmh_log(VMH_LOG_WARNING, "cannot save the migration history in %s: %s (the registry is not affected)",
			hd->cfg.state_dir, strerror(-r));
}

static void save_cb(int timer, void *opaque)
{
	virEventRemoveTimeout(timer);
	save_timer = -1;
	save_now(opaque);
}

static void changed(struct hd *hd)
{
	dirty = true;
	if (save_timer < 0)
		save_timer = virEventAddTimeout(HD_HIST_SAVE_MS, save_cb, hd, NULL);
	if (save_timer < 0)
		save_now(hd);
}

void hd_hist_load(struct hd *hd)
{
	char from[PATH_MAX], to[PATH_MAX + 32];
	const char *why = "";
	int r;

	vmh_hist_init(&hist);
	r = vmh_hist_load(hd->cfg.state_dir, &hist, &why);
	if (r == 0) {
		vmh_log(VMH_LOG_INFO, "migration history loaded: %zu entries", hist.n);
		return;
	}
	if (r == -ENOENT)
		return;
	snprintf(from, sizeof(from), "%s/%s", hd->cfg.state_dir, VMH_HIST_FILE);
	if (r != -EBADMSG) {
		vmh_log(VMH_LOG_WARNING, "cannot read the migration history %s: %s; starting it empty",
			from, strerror(-r));
		return;
	}
	/* set aside, never overwritten by our next save */
	snprintf(to, sizeof(to), "%s.damaged-%lld", from, (long long)time(NULL));
	if (rename(from, to) < 0)
		to[0] = '\0';
	vmh_log(VMH_LOG_WARNING, "the migration history %s is damaged (%s): starting it empty (the registry is not affected).%s%s",
		from, why, to[0] ? " Kept as " : "", to);
}

void hd_hist_close(struct hd *hd)
{
	struct hist_mark *m;
	struct hist_job *j;

	if (save_timer >= 0)
		virEventRemoveTimeout(save_timer);
	if (job_timer >= 0)
		virEventRemoveTimeout(job_timer);
	save_timer = job_timer = -1;
	if (dirty)
		save_now(hd);
	while ((m = marks)) {
		marks = m->next;
		free(m);
	}
	while ((j = jobs)) {
		jobs = j->next;
		free(j);
	}
	vmh_hist_free(&hist);
}

/* --- what the registry decided ----------------------------------------------- */

static enum vmh_hist_outcome outcome_of(const struct vmh_hist_entry *open, uint32_t owner)
{
	if (owner == 0)
		return VMH_HIST_UNKNOWN;
	if (owner == open->dst)
		return VMH_HIST_COMMITTED;
	if (owner == open->src)
		return VMH_HIST_ABORTED;
	return VMH_HIST_TAKEN_OVER;
}

/* Ends vm's open entry: the registry has owner (0: none) at epoch. */
static void end_open(struct hd *hd, struct vmh_hist_entry *open, uint32_t owner, uint64_t epoch,
		     bool late)
{
	struct hist_mark *m = mark_of(open->vm, false);
	enum vmh_hist_outcome o = outcome_of(open, owner);
	int64_t dur = 0;
	char vm[VMH_REG_NAME_MAX + 1];
	int r;

	if (m && m->begun_ms && m->begin_epoch == open->begin_epoch)
		dur = vmh_now_ms() - m->begun_ms;
	else
		dur = vmh_wall_ms() - (int64_t)open->start_ms;
	/* an epoch that did not grow (a registry that started over empty)
	 * still ends it after its begin */
	if (epoch <= open->begin_epoch)
		epoch = open->begin_epoch + 1;
	snprintf(vm, sizeof(vm), "%s", open->vm);
	r = vmh_hist_end(&hist, vm, o, owner, epoch, dur > 0 ? (uint64_t)dur : 0, late);
	if (r < 0) {
		vmh_log(VMH_LOG_WARNING, "%s: cannot end its history entry: %s", vm, strerror(-r));
		return;
	}
	vmh_log(VMH_LOG_INFO, "%s: handoff %s -> %s %s after %" PRId64 " ms (epoch %" PRIu64 ")%s",
		vm, hd_node_name(hd, open->src), hd_node_name(hd, open->dst),
		vmh_hist_outcome_str(o), dur, epoch, late ? ", learned late" : "");
	changed(hd);
}

static void begin(struct hd *hd, const struct vmh_vm_info *v, bool late)
{
	struct vmh_hist_entry e = { .outcome = VMH_HIST_MIGRATING, .src = v->owner, .dst = v->dst,
				    .begin_epoch = v->epoch };
	int64_t wall = vmh_wall_ms();
	struct hist_mark *m;
	int r;

	snprintf(e.vm, sizeof(e.vm), "%s", v->name);
	e.start_ms = wall > 0 ? (uint64_t)wall : 1;
	e.flags = late ? VMH_HIST_F_LATE : 0;
	r = vmh_hist_add(&hist, &e);
	if (r < 0) {
		vmh_log(VMH_LOG_WARNING, "%s: cannot record the handoff in the history: %s", v->name,
			strerror(-r));
		return;
	}
	m = mark_of(v->name, true);
	if (m) {
		m->begin_epoch = v->epoch;
		m->begun_ms = late ? 0 : vmh_now_ms();
		m->ready_us = 0;
	}
	changed(hd);
}

static void observe_one(struct hd *hd, const char *vm, bool late)
{
	struct vmh_hist_entry *open = vmh_hist_open(&hist, vm);
	struct vmh_vm_info v;
	bool known = hd->reg && vmh_reg_vm(hd->reg, vm, &v) == 0;

	if (known && v.state == VMH_VM_MIGRATING) {
		if (open && open->src == v.owner && open->dst == v.dst)
			return;		/* still the same handoff */
		/* another one began: the open one ended meanwhile, with the
		 * VM on the new handoff's source */
		if (open)
			end_open(hd, open, v.owner, v.epoch, true);
		begin(hd, &v, late);
		return;
	}
	if (open)
		end_open(hd, open, known && v.state == VMH_VM_RUNNING ? v.owner : 0,
			 known ? v.epoch : 0, late);
}

void hd_hist_observe(struct hd *hd, const char *vm, bool late)
{
	if (!hd->reg)
		return;
	if (vm) {
		observe_one(hd, vm, late);
		return;
	}
	for (size_t i = 0; i < vmh_reg_vm_count(hd->reg); i++)
		observe_one(hd, vmh_reg_vm_at(hd->reg, i)->name, late);
	/* open entries of VMs the registry does not know (a registry that
	 * started over empty): ended, how unknown */
	for (size_t i = 0; i < hist.n; i++) {
		struct vmh_vm_info v;

		if (hist.e[i].outcome == VMH_HIST_MIGRATING &&
		    vmh_reg_vm(hd->reg, hist.e[i].vm, &v) < 0)
			end_open(hd, &hist.e[i], 0, 0, true);
	}
}

/* --- the destination's figures -------------------------------------------- */

void hd_hist_ready(struct hd *hd, const char *vm)
{
	struct vmh_vm_info v;
	struct hist_mark *m;

	if (!hd->reg || vmh_reg_vm(hd->reg, vm, &v) < 0 || v.state != VMH_VM_MIGRATING ||
	    v.dst != hd->self || !(m = mark_of(vm, true)))
		return;
	if (m->begin_epoch != v.epoch) {
		m->begin_epoch = v.epoch;
		m->begun_ms = 0;
	}
	m->ready_us = mono_us();
}

/* Multicasts the figures and merges them here; frees j. */
static void send_figures(struct hd *hd, struct hist_job *j)
{
	uint8_t *buf;
	size_t len;
	int r;

	if (vmh_hist_merge(&hist, &j->e) > 0)
		changed(hd);
	r = vmh_wire_encode_stats(&j->e, &buf, &len);
	if (r == 0) {
		r = hd_cluster_send(hd, buf, len);
		free(buf);
	}
	if (r < 0)
		vmh_log(VMH_LOG_INFO, "%s: the handoff's figures stay on this node: %s", j->e.vm,
			strerror(-r));
	free(j);
}

/* libvirt's completed job into j's entry; true once it is there. */
static bool job_figures(struct hd *hd, struct hist_job *j)
{
	struct hd_job_figures f;

	if (hd_virt_job_completed(hd, j->e.vm, &f) < 0)
		return false;
	if (f.has_bytes) {
		j->e.flags |= VMH_HIST_F_BYTES;
		j->e.bytes = f.bytes;
	}
	if (f.has_job) {
		j->e.flags |= VMH_HIST_F_JOB;
		j->e.job_ms = f.job_ms;
	}
	if (f.has_downtime) {
		j->e.flags |= VMH_HIST_F_DOWNTIME;
		j->e.downtime_ms = f.downtime_ms;
	}
	return true;
}

static void job_cb(int timer, void *opaque)
{
	struct hd *hd = opaque;
	struct hist_job **pj = &jobs;

	while (*pj) {
		struct hist_job *j = *pj;

		if (!job_figures(hd, j) && ++j->tries < HD_HIST_JOB_TRIES) {
			pj = &j->next;
			continue;
		}
		if (!(j->e.flags & VMH_HIST_F_BYTES))
			vmh_log(VMH_LOG_INFO, "%s: libvirt has no completed job of the incoming migration: its figures are unknown",
				j->e.vm);
		*pj = j->next;
		send_figures(hd, j);
	}
	if (!jobs) {
		virEventRemoveTimeout(timer);
		job_timer = -1;
	}
}

void hd_hist_resumed(struct hd *hd, const char *vm, uint64_t epoch, bool resumed)
{
	int64_t now = mono_us();
	struct hist_mark *m = mark_of(vm, false);
	struct hist_job *j;

	/* the entry the commit just ended (observed before the effects) */
	for (size_t i = hist.n; i-- > 0;) {
		const struct vmh_hist_entry *e = &hist.e[i];

		if (strcmp(e->vm, vm) != 0)
			continue;
		if (e->outcome != VMH_HIST_COMMITTED || e->end_epoch != epoch || e->dst != hd->self)
			return;
		j = calloc(1, sizeof(*j));
		if (!j)
			return;
		j->e = *e;
		if (resumed && m && m->ready_us && m->begin_epoch == e->begin_epoch &&
		    now >= m->ready_us) {
			j->e.flags |= VMH_HIST_F_RESUME;
			j->e.resume_us = (uint64_t)(now - m->ready_us);
		}
		if (job_figures(hd, j)) {
			send_figures(hd, j);
			return;
		}
		j->next = jobs;
		jobs = j;
		if (job_timer < 0)
			job_timer = virEventAddTimeout(HD_HIST_JOB_RETRY_MS, job_cb, hd, NULL);
		if (job_timer < 0) {
			jobs = j->next;
			send_figures(hd, j);
		}
		return;
	}
}

void hd_hist_stats(struct hd *hd, uint32_t sender, const void *buf, size_t len)
{
	struct vmh_hist_entry e;
	int r = vmh_wire_decode_stats(buf, len, &e);

	if (r < 0) {
		vmh_log(VMH_LOG_WARNING, "malformed handoff figures from node %u (%zu bytes): %s",
			sender, len, strerror(-r));
		return;
	}
	if (sender != e.dst) {
		vmh_log(VMH_LOG_WARNING, "%s: handoff figures from node %u, which was not its destination (%u): ignored",
			e.vm, sender, e.dst);
		return;
	}
	r = vmh_hist_merge(&hist, &e);
	if (r < 0) {
		vmh_log(VMH_LOG_WARNING, "%s: cannot keep the handoff's figures: %s", e.vm, strerror(-r));
		return;
	}
	if (r == 2)
		vmh_log(VMH_LOG_INFO, "%s: handoff %s -> %s (epoch %" PRIu64 ") learned from %s's figures: this node did not see it",
			e.vm, hd_node_name(hd, e.src), hd_node_name(hd, e.dst), e.end_epoch,
			hd_node_name(hd, sender));
	if (r > 0)
		changed(hd);
}

/* --- the HISTORY request --------------------------------------------------- */

void hd_hist_request(struct hd *hd, struct hd_client *c, uint32_t seq,
		     const struct vmh_ipc_req *req)
{
	struct vmh_ipc_reply rep = { .type = VMH_IPC_HISTORY | VMH_IPC_REPLY, .status = VMH_IPC_OK };
	struct vmh_vm_info v;
	bool known = hd->reg && vmh_reg_vm(hd->reg, req->vm, &v) == 0;

	rep.history = calloc(VMH_HIST_PER_VM, sizeof(*rep.history));
	rep.nodes = calloc(hd->n_nodes ? hd->n_nodes : 1, sizeof(*rep.nodes));
	if (!rep.history || !rep.nodes) {
		rep.status = VMH_IPC_E_INTERNAL;
		snprintf(rep.message, sizeof(rep.message), "out of memory");
		goto out;
	}
	rep.n_history = vmh_hist_find(&hist, req->vm, rep.history, VMH_HIST_PER_VM);
	if (!known && rep.n_history == 0) {
		rep.status = VMH_IPC_E_UNKNOWN_VM;
		snprintf(rep.message, sizeof(rep.message), "%s%s, and this node recorded no migration of it",
			 hd->reg ? "the registry does not know " : "no registry here yet (corosync?) to know ",
			 req->vm);
		goto out;
	}
	rep.self = hd->self;
	for (size_t i = 0; i < hd->n_nodes; i++) {
		if (!hd->nodes[i].name[0])
			continue;
		rep.nodes[rep.n_nodes].nodeid = hd->nodes[i].id;
		snprintf(rep.nodes[rep.n_nodes].name, sizeof(rep.nodes[0].name), "%s",
			 hd->nodes[i].name);
		rep.n_nodes++;
	}
	if (known) {
		rep.has_vm_state = true;
		rep.vm_state = v.state;
		rep.epoch = v.epoch;
		rep.owner = v.owner;
		rep.dst = v.dst;
		rep.may_run = vmh_reg_may_run(hd->reg, req->vm, hd->self);
	}
out:
	if (rep.status != VMH_IPC_OK) {
		rep.n_history = rep.n_nodes = 0;
		rep.self = 0;
	}
	hd_ipc_reply(hd, c, seq, &rep);
	vmh_ipc_reply_clear(&rep);
}
