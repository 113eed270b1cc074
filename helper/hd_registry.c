/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon around the registry state machine (lib/vmh_registry.h): it
 * feeds it CPG deliveries, memberships and quorum, saves the state before
 * acting, carries out the effects on this node, and keeps the obligations
 * listed in vmh_registry.h:
 * - one request per VM at a time; a record refused while a sync round
 *   runs is sent again after it;
 * - copies are resumed only on RESUME_LOCAL / RESUME_SOURCE, or after a
 *   quorum-loss pause when the VM may run here again at the same epoch;
 * - a VM owned here whose domain is gone is released (reconciliation),
 *   except while the agent is still creating it (a lease after CLAIM).
 */
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "hd.h"
#include "vmh_log.h"
#include "vmh_regstore.h"
#include "vmh_sha256.h"
#include "vmh_time.h"
#include "vmh_wire.h"

#define HD_STALE_RETRIES 3
#define HD_CLAIM_LEASE_MS 60000
#define HD_RETRY_MS 1000
/* enforcement and reconciliation of every local domain, also when idle
 * (libvirt's events do it at once; this catches what an event missed) */
#define HD_SWEEP_MS 5000
/* a budget is answered a little before it ends, so the reply arrives in time */
#define HD_REPLY_MARGIN_MS 50

static uint32_t members[VMH_REG_MAX_NODES];
static size_t n_members;
static bool first_quorum_report;
static bool first_change;		/* no membership yet since hd_reg_start */
static bool in_first_report;
static int64_t last_address_sent;

static void effects(struct hd *hd, const struct vmh_reg_result *res);
static void after_input(struct hd *hd);
static void qpause_add(struct hd *hd, const char *vm, uint64_t epoch, bool now);

/* --- sending ------------------------------------------------------------ */

int hd_reg_send(struct hd *hd, struct vmh_msg *m)
{
	uint8_t *buf;
	size_t len;
	int r;

	m->config = vmh_reg_config(hd->reg);
	r = vmh_wire_encode(m, &buf, &len);
	if (r < 0) {
		vmh_log(VMH_LOG_ERR, "cannot encode a %d record: %s", m->type, strerror(-r));
		return r;
	}
	r = hd_cluster_send(hd, buf, len);
	free(buf);
	return r;
}

static uint64_t vm_epoch(const struct hd *hd, const char *vm)
{
	struct vmh_vm_info v;

	return vmh_reg_vm(hd->reg, vm, &v) == 0 ? v.epoch : 0;
}

static struct hd_pending *pending_for(struct hd *hd, const char *vm)
{
	for (struct hd_pending *p = hd->pending; p; p = p->next)
		if (strcmp(p->msg.vm, vm) == 0)
			return p;
	return NULL;
}

static void pending_unlink(struct hd *hd, struct hd_pending *p)
{
	for (struct hd_pending **pp = &hd->pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	free(p->xml_buf);
	free(p);
}

/* Sends p now, with the VM's current epoch, unless a sync round runs. */
static void pending_send(struct hd *hd, struct hd_pending *p)
{
	if (!hd->reg || vmh_reg_syncing(hd->reg) || !vmh_reg_in_config(hd->reg)) {
		p->sent = false;
		return;
	}
	p->msg.expect = vm_epoch(hd, p->msg.vm);
	p->msg.cookie = p->cookie;
	p->sent = hd_reg_send(hd, &p->msg) == 0;
}

/* --- replies ------------------------------------------------------------ */

static void fill_vm(const struct hd *hd, const char *vm, struct vmh_ipc_reply *rep)
{
	struct vmh_vm_info v;

	if (!hd->reg || vmh_reg_vm(hd->reg, vm, &v) < 0)
		return;
	rep->has_vm_state = true;
	rep->vm_state = v.state;
	rep->epoch = v.epoch;
	rep->owner = v.owner;
	rep->dst = v.dst;
	rep->may_run = vmh_reg_may_run(hd->reg, vm, hd->self);
}

static void reply_vm(struct hd *hd, struct hd_client *c, uint32_t seq, enum vmh_ipc_type req,
		     const char *vm, enum vmh_ipc_status st, enum vmh_reg_reason why,
		     const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static void reply_vm(struct hd *hd, struct hd_client *c, uint32_t seq, enum vmh_ipc_type req,
		     const char *vm, enum vmh_ipc_status st, enum vmh_reg_reason why,
		     const char *fmt, ...)
{
	struct vmh_ipc_reply rep = { .type = req | VMH_IPC_REPLY, .status = st, .reg_reason = why };
	va_list ap;

	if (!c)
		return;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(rep.message, sizeof(rep.message), fmt, ap);
		va_end(ap);
	}
	fill_vm(hd, vm, &rep);
	if (req == VMH_IPC_BEGIN && rep.has_vm_state && rep.vm_state == VMH_VM_MIGRATING) {
		struct vmh_node_info ni;

		rep.nodeid = rep.dst;
		if (vmh_reg_node(hd->reg, rep.dst, &ni) == 0)
			snprintf(rep.addr, sizeof(rep.addr), "%s", ni.addr);
	}
	hd_ipc_reply(hd, c, seq, &rep);
}

/* --- persistence and the error mode -------------------------------------- */

static int save(struct hd *hd)
{
	int r = vmh_regstore_save(hd->cfg.state_dir, vmh_reg_image(hd->reg));

	if (r < 0)
		vmh_log(VMH_LOG_ERR, "cannot save the registry in %s: %s; leaving the cluster group and starting over from disk",
			hd->cfg.state_dir, strerror(-r));
	return r;
}

static void start_over(struct hd *hd, const char *why)
{
	vmh_log(VMH_LOG_ERR, "registry error (%s): leaving the CPG group, starting over from the saved state", why);
	hd_cluster_restart(hd);
}

int hd_reg_start(struct hd *hd)
{
	struct vmh_reg_image img;
	enum vmh_regstore_fault fault = VMH_REGSTORE_OK;
	int r;

	hd->reg = vmh_reg_new(hd->self, (uint32_t)hd->n_nodes);
	if (!hd->reg)
		return -1;
	first_quorum_report = true;
	first_change = true;
	n_members = 0;
	r = vmh_regstore_load(hd->cfg.state_dir, &img, &fault);
	if (r == -ENOENT) {
		vmh_log(VMH_LOG_NOTICE, "no saved registry in %s: starting empty; the first sync gives us the cluster's",
			hd->cfg.state_dir);
		return 0;
	}
	if (r == -EBADMSG) {
		char from[PATH_MAX], to[PATH_MAX + 32];

		/* set aside, never overwritten by our next save: the
		 * evidence stays for a bug report */
		snprintf(from, sizeof(from), "%s/%s", hd->cfg.state_dir, VMH_REGSTORE_FILE);
		snprintf(to, sizeof(to), "%s.damaged-%lld", from, (long long)time(NULL));
		if (rename(from, to) < 0)
			to[0] = '\0';
		vmh_log(VMH_LOG_ERR, "the saved registry %s is damaged (%s): it is NOT used; starting empty, the cluster's state comes with the first sync.%s%s",
			from, vmh_regstore_fault_str(fault), to[0] ? " Kept as " : "", to);
		return 0;
	}
	if (r < 0) {
		vmh_log(VMH_LOG_ERR, "cannot read %s/%s: %s", hd->cfg.state_dir, VMH_REGSTORE_FILE,
			strerror(-r));
		vmh_reg_free(hd->reg);
		hd->reg = NULL;
		return -1;
	}
	r = vmh_reg_load(hd->reg, &img);
	if (r == 0)
		vmh_log(VMH_LOG_NOTICE, "registry loaded from %s: %zu VMs, ring %" PRIu64,
			hd->cfg.state_dir, img.n_vms, img.ring);
	else
		vmh_log(VMH_LOG_ERR, "saved registry rejected (%s): starting empty", strerror(-r));
	vmh_reg_image_free(&img);
	if (r < 0) {
		vmh_reg_free(hd->reg);
		hd->reg = vmh_reg_new(hd->self, (uint32_t)hd->n_nodes);
		if (!hd->reg)
			return -1;
	}
	return 0;
}

void hd_reg_offline(struct hd *hd)
{
	struct vmh_reg_image img;
	enum vmh_regstore_fault fault = VMH_REGSTORE_OK;
	int r;

	if (hd->reg)
		return;
	r = vmh_regstore_load(hd->cfg.state_dir, &img, &fault);
	if (r == -EBADMSG) {
		/* said now, not only once corosync is there: until then
		 * nothing here knows which VMs this node ran */
		vmh_log(VMH_LOG_ERR, "the saved registry %s/%s is damaged (%s): without corosync this node cannot tell which VMs it owned; they are checked against the cluster's registry once corosync is reachable",
			hd->cfg.state_dir, VMH_REGSTORE_FILE, vmh_regstore_fault_str(fault));
		return;
	}
	if (r < 0)
		return;		/* nothing saved, or unreadable: said when it is loaded */
	for (size_t i = 0; i < img.n_vms; i++) {
		const struct vmh_vm_info *v = &img.vms[i];

		/* the state file is this node's: its author is this node */
		if ((v->state == VMH_VM_RUNNING && v->owner == img.author) ||
		    (v->state == VMH_VM_MIGRATING && (v->owner == img.author || v->dst == img.author)))
			qpause_add(hd, v->name, v->epoch, false);
	}
	vmh_reg_image_free(&img);
}

void hd_reg_stop(struct hd *hd)
{
	struct vmh_reg_result res = { 0 };
	struct hd_pending *p;
	struct hd_waiter *w;

	if (!hd->reg)
		return;
	/* not quorate from now on: schedule the quorum-loss pauses (not on
	 * the way out: a daemon that stops leaves its guests as they are) */
	if (!hd->quit && vmh_reg_set_quorate(hd->reg, false, &res) == 0)
		effects(hd, &res);
	vmh_reg_result_clear(&res);
	while ((p = hd->pending)) {
		reply_vm(hd, p->client, p->client_seq, p->req, p->msg.vm, VMH_IPC_E_NO_CLUSTER, 0,
			 "lost the corosync connection before the record was delivered; outcome unknown");
		pending_unlink(hd, p);
	}
	while ((w = hd->waiters)) {
		hd->waiters = w->next;
		reply_vm(hd, w->client, w->client_seq, VMH_IPC_WAIT_OWNER, w->vm,
			 VMH_IPC_E_NO_CLUSTER, 0, "lost the corosync connection");
		free(w);
	}
	vmh_reg_free(hd->reg);
	hd->reg = NULL;
}

void hd_reg_free(struct hd *hd)
{
	struct hd_qpause *q;

	hd_reg_stop(hd);
	while ((q = hd->qpauses)) {
		hd->qpauses = q->next;
		free(q);
	}
	hd_mark_free(&hd->leases);
	hd_mark_free(&hd->defined);
}

/* --- effects ------------------------------------------------------------ */

static void qpause_add(struct hd *hd, const char *vm, uint64_t epoch, bool now)
{
	struct hd_qpause *q;

	hd_reg_kick(hd);

	for (q = hd->qpauses; q; q = q->next)
		if (strcmp(q->vm, vm) == 0)
			return;	/* the first loss counts */
	q = calloc(1, sizeof(*q));
	if (!q) {
		vmh_log(VMH_LOG_ERR, "%s: out of memory: pausing now", vm);
		hd_virt_pause(hd, vm, "quorum lost");
		return;
	}
	snprintf(q->vm, sizeof(q->vm), "%s", vm);
	q->epoch = epoch;
	q->due = vmh_now_ms() + (now ? 0 : hd->cfg.quorum_loss_pause_ms);
	q->next = hd->qpauses;
	hd->qpauses = q;
	vmh_log(VMH_LOG_WARNING, "%s: no quorum: pausing it in %u ms unless quorum returns",
		vm, now ? 0 : hd->cfg.quorum_loss_pause_ms);
}

void hd_mark_drop(struct hd_mark **head, const char *vm)
{
	for (struct hd_mark **pm = head; *pm; pm = &(*pm)->next)
		if (strcmp((*pm)->vm, vm) == 0) {
			struct hd_mark *m = *pm;

			*pm = m->next;
			free(m);
			return;
		}
}

struct hd_mark *hd_mark_find(struct hd_mark *head, const char *vm)
{
	for (struct hd_mark *m = head; m; m = m->next)
		if (strcmp(m->vm, vm) == 0)
			return m;
	return NULL;
}

int hd_mark_add(struct hd_mark **head, const char *vm, int64_t until)
{
	struct hd_mark *m = hd_mark_find(*head, vm);

	if (!m) {
		m = calloc(1, sizeof(*m));
		if (!m)
			return -ENOMEM;
		snprintf(m->vm, sizeof(m->vm), "%s", vm);
		m->next = *head;
		*head = m;
	}
	m->until = until;
	return 0;
}

void hd_mark_free(struct hd_mark **head)
{
	struct hd_mark *m;

	while ((m = *head)) {
		*head = m->next;
		free(m);
	}
}

static void lease_drop(struct hd *hd, const char *vm)
{
	hd_mark_drop(&hd->leases, vm);
}

static bool leased(struct hd *hd, const char *vm)
{
	struct hd_mark *m = hd_mark_find(hd->leases, vm);

	return m && m->until > vmh_now_ms();
}

static void lease_add(struct hd *hd, const char *vm)
{
	(void)hd_mark_add(&hd->leases, vm, vmh_now_ms() + HD_CLAIM_LEASE_MS);
}

/* The ring a SYNC_START names: the newest this node knows (see
 * vmh_regsync.c on why the leader's view decides). */
static void send_sync_start(struct hd *hd, uint64_t ring)
{
	struct vmh_msg m = { .type = VMH_MSG_SYNC_START };

	m.ring = ring > hd->totem_ring ? ring : hd->totem_ring;
	while (m.round == 0)
		if (getrandom(&m.round, sizeof(m.round), 0) != sizeof(m.round))
			m.round = (uint64_t)vmh_wall_ms() << 16 ^ hd->self;
	m.n_members = n_members;
	memcpy(m.members, members, n_members * sizeof(members[0]));
	hd_reg_send(hd, &m);
}

static void effect(struct hd *hd, const struct vmh_reg_effect *e)
{
	struct vmh_msg m = { 0 };

	switch (e->type) {
	case VMH_EFF_SEND_SYNC_START:
		send_sync_start(hd, e->ring);
		break;
	case VMH_EFF_SEND_SYNC:
		m.type = VMH_MSG_SYNC;
		m.round = e->round;
		m.image = vmh_reg_image(hd->reg);
		hd_reg_send(hd, &m);
		break;
	case VMH_EFF_SEND_QUORUM:
		m.type = VMH_MSG_QUORUM;
		m.quorate = hd->local_quorate;
		m.round = vmh_reg_last_round(hd->reg);
		hd_reg_send(hd, &m);
		break;
	case VMH_EFF_SYNCED:
		vmh_log(VMH_LOG_NOTICE, "registry synced (ring %" PRIu64 ", %zu members, %squorate)",
			vmh_reg_config(hd->reg), n_members, vmh_reg_quorate(hd->reg) ? "" : "NOT ");
		/* what the other members decided while we did not see it */
		hd_hist_observe(hd, NULL, true);
		for (struct hd_pending *p = hd->pending; p; p = p->next)
			if (!p->sent && !p->retry_at)
				pending_send(hd, p);
		hd_reg_sweep(hd);
		break;
	case VMH_EFF_PAUSE_LOCAL:
		qpause_add(hd, e->vm, e->epoch, in_first_report);
		break;
	case VMH_EFF_REVOKE_LOCAL:
		vmh_log(VMH_LOG_ERR, "%s: ownership moved to another node (epoch %" PRIu64 "): destroying the copy here",
			e->vm, e->epoch);
		hd_virt_pause(hd, e->vm, "ownership revoked");
		hd_virt_destroy(hd, e->vm, "ownership revoked");
		break;
	case VMH_EFF_RESUME_LOCAL:
		hd_hist_resumed(hd, e->vm, e->epoch,
				hd_virt_resume(hd, e->vm, "handoff committed to this node") > 0);
		break;
	case VMH_EFF_ENSURE_NO_SOURCE:
		hd_virt_destroy(hd, e->vm, "handoff committed away: the paused source copy must not run again");
		break;
	case VMH_EFF_RESUME_SOURCE:
		hd_virt_resume(hd, e->vm, "handoff aborted: the source copy runs on");
		break;
	case VMH_EFF_ENSURE_NO_DEST:
		hd_virt_destroy(hd, e->vm, "handoff aborted: the incoming copy must not run");
		break;
	case VMH_EFF_CONFLICT:
		vmh_log(VMH_LOG_ERR, "%s: the sync found two versions it cannot order; kept the earlier one (epoch %" PRIu64 ")",
			e->vm, e->epoch);
		break;
	}
}

static void effects(struct hd *hd, const struct vmh_reg_result *res)
{
	for (size_t i = 0; i < res->n_effects; i++)
		effect(hd, &res->effects[i]);
}

/* --- inputs ------------------------------------------------------------- */

void hd_reg_membership(struct hd *hd, uint64_t ring, const uint32_t *ids, size_t n,
		       const uint32_t *clean, size_t n_clean)
{
	struct vmh_reg_result res = { 0 };
	int r;

	if (!hd->reg)
		return;
	/* SYNC_START lists them; the registry sorts the list itself */
	n_members = n < VMH_REG_MAX_NODES ? n : VMH_REG_MAX_NODES;
	memcpy(members, ids, n_members * sizeof(*ids));
	for (size_t i = 0; i < hd->n_nodes; i++) {
		bool member = false;

		for (size_t j = 0; j < n; j++)
			member |= ids[j] == hd->nodes[i].id;
		if (!member && !hd->nodes[i].seen_left_wall)
			hd->nodes[i].seen_left_wall = vmh_wall_ms() / 1000;
		if (member)
			hd->nodes[i].seen_left_wall = 0;
	}
	/* after the first change of this connection, the registry may have
	 * adopted a leader's newer ring than ours (vmh_regsync.c); the first
	 * keeps corosync's own, so a lost ring id file is still detected */
	if (!first_change) {
		uint64_t known = vmh_reg_image(hd->reg)->ring;

		if (known > ring)
			ring = known;
	}
	first_change = false;
	r = vmh_reg_membership(hd->reg, ring, ids, n, clean, n_clean, &res);
	if (r == -ERANGE) {
		vmh_log(VMH_LOG_ERR, "corosync ring %" PRIu64 " is lower than one the saved registry has seen: corosync's ring id file (/var/lib/corosync/ringid_*) was lost. Refusing to take part; restore it, or remove %s/%s on every node.",
			ring, hd->cfg.state_dir, VMH_REGSTORE_FILE);
		vmh_reg_result_clear(&res);
		hd_cluster_restart(hd);
		return;
	}
	if (r < 0 || save(hd) < 0) {
		vmh_reg_result_clear(&res);
		start_over(hd, r < 0 ? strerror(-r) : "save failed");
		return;
	}
	effects(hd, &res);
	vmh_reg_result_clear(&res);
	after_input(hd);
}

/* corosync told us of a newer ring while a sync round waits: members with
 * the newer view refuse a SYNC_START naming the older one, so the leader
 * opens the round again. */
void hd_reg_ring_advanced(struct hd *hd)
{
	if (!hd->reg || !vmh_reg_syncing(hd->reg) || !vmh_reg_in_config(hd->reg))
		return;
	for (size_t i = 0; i < n_members; i++)
		if (members[i] < hd->self)
			return;		/* the lowest member leads the round */
	vmh_log(VMH_LOG_INFO, "ring %" PRIu64 " while syncing: opening the round again",
		hd->totem_ring);
	send_sync_start(hd, hd->totem_ring);
}

void hd_reg_quorum(struct hd *hd, bool quorate)
{
	struct vmh_reg_result res = { 0 };

	if (!hd->reg)
		return;
	in_first_report = first_quorum_report;
	first_quorum_report = false;
	if (vmh_reg_set_quorate(hd->reg, quorate, &res) < 0 || save(hd) < 0) {
		vmh_reg_result_clear(&res);
		in_first_report = false;
		start_over(hd, "quorum input failed");
		return;
	}
	effects(hd, &res);
	in_first_report = false;
	vmh_reg_result_clear(&res);
	after_input(hd);
}

static enum vmh_ipc_status status_of(enum vmh_reg_reason why)
{
	return why == VMH_REG_R_NO_QUORUM ? VMH_IPC_E_NO_QUORUM : VMH_IPC_E_REJECTED;
}

/* "running on node1 (epoch 7)": for the messages of refusals */
static const char *describe_vm(const struct hd *hd, const char *vm)
{
	static char buf[160];
	struct vmh_vm_info v;

	if (!hd->reg || vmh_reg_vm(hd->reg, vm, &v) < 0)
		return "the registry does not know the VM";
	if (v.state == VMH_VM_RUNNING)
		snprintf(buf, sizeof(buf), "owner %s runs it (epoch %" PRIu64 ")",
			 hd_node_name(hd, v.owner), v.epoch);
	else if (v.state == VMH_VM_MIGRATING)
		snprintf(buf, sizeof(buf), "migrating %s -> %s (epoch %" PRIu64 ")",
			 hd_node_name(hd, v.owner), hd_node_name(hd, v.dst), v.epoch);
	else
		snprintf(buf, sizeof(buf), "stopped (epoch %" PRIu64 ")", v.epoch);
	return buf;
}

/* Our own record came back: decide the request it carried. */
static void own_delivery(struct hd *hd, const struct vmh_msg *m, enum vmh_reg_reason why)
{
	struct hd_pending *p;

	for (p = hd->pending; p; p = p->next)
		if (p->cookie == m->cookie && p->sent)
			break;
	if (!p)
		return;
	if (why == VMH_REG_R_SYNCING) {
		p->sent = false;	/* again after the round */
		return;
	}
	if (why == VMH_REG_R_STALE_EPOCH && p->stale_retries++ < HD_STALE_RETRIES) {
		pending_send(hd, p);
		return;
	}
	/* a takeover waiting for the lost owner's fencing (or expiry): ask
	 * again every second while the client's budget lasts */
	if ((why == VMH_REG_R_NO_WITNESS || why == VMH_REG_R_UNSETTLED) &&
	    ((p->client && vmh_now_ms() + HD_RETRY_MS < p->deadline) ||
	     m->type == VMH_MSG_HANDOFF_ABORT)) {
		/* an abort goes on after the agent gave up waiting: the
		 * target's fencing that it needs comes only after the agent's
		 * migrate_to has returned (pacemaker fences in the next
		 * transition) */
		if (!p->retry_at)
			vmh_log(VMH_LOG_NOTICE, "%s: %s waits for a departed node to be fenced (%s)",
				m->vm, vmh_ipc_type_str(p->req), vmh_reg_reason_str(why));
		p->sent = false;
		p->retry_at = vmh_now_ms() + HD_RETRY_MS;
		return;
	}
	if (why == VMH_REG_OK) {
		vmh_log(VMH_LOG_NOTICE, "%s: %s by %s decided (epoch %" PRIu64 ")", m->vm,
			p->req ? vmh_ipc_type_str(p->req) : "internal record",
			hd_node_name(hd, hd->self), vm_epoch(hd, m->vm));
		if (m->type == VMH_MSG_CLAIM)
			lease_add(hd, m->vm);
	} else {
		vmh_log(p->client ? VMH_LOG_WARNING : VMH_LOG_INFO, "%s: registry refused %s record type %d: %s",
			m->vm, p->req ? vmh_ipc_type_str(p->req) : "internal", m->type,
			vmh_reg_reason_str(why));
	}
	if (why == VMH_REG_OK)
		reply_vm(hd, p->client, p->client_seq, p->req, m->vm, VMH_IPC_OK, why, NULL);
	else
		reply_vm(hd, p->client, p->client_seq, p->req, m->vm, status_of(why), why,
			 "%s; %s", vmh_reg_reason_str(why), describe_vm(hd, m->vm));
	pending_unlink(hd, p);
}

void hd_reg_deliver(struct hd *hd, uint32_t sender, const void *buf, size_t len)
{
	struct vmh_reg_result res = { 0 };
	struct vmh_wire_hdr hdr;
	struct vmh_msg m;
	int r;

	if (!hd->reg)
		return;
	/* informational messages (vmh_wire.h): never the registry's input */
	if (vmh_wire_peek(buf, len, &hdr) == 0 && hdr.type >= VMH_WIRE_INFO_MIN &&
	    hdr.type <= VMH_WIRE_INFO_MAX) {
		if (hdr.type == VMH_WIRE_HANDOFF_STATS)
			hd_hist_stats(hd, sender, buf, len);
		else
			vmh_log(VMH_LOG_DEBUG, "informational message type 0x%x from node %u, unknown to this version: ignored",
				hdr.type, sender);
		return;
	}
	r = vmh_wire_decode(buf, len, &m);
	if (r < 0) {
		/* every member decodes alike, so every member ignores it alike */
		vmh_log(VMH_LOG_WARNING, "malformed record from node %u (%zu bytes): %s", sender, len,
			strerror(-r));
		return;
	}
	r = vmh_reg_apply(hd->reg, sender, &m, &res);
	if (r < 0 || (res.reason == VMH_REG_OK && save(hd) < 0)) {
		vmh_wire_msg_clear(&m);
		vmh_reg_result_clear(&res);
		start_over(hd, r < 0 ? strerror(-r) : "save failed");
		return;
	}
	if (res.reason != VMH_REG_OK)
		vmh_log(VMH_LOG_DEBUG, "record type %d from node %u refused: %s", m.type, sender,
			vmh_reg_reason_str(res.reason));
	/* a handoff that began or ended (before the effects: the resume's
	 * figures go to the entry this ends) */
	if (res.reason == VMH_REG_OK && m.type <= VMH_MSG_CONFIG)
		hd_hist_observe(hd, m.vm, false);
	effects(hd, &res);
	if (sender == hd->self && m.type <= VMH_MSG_CONFIG)
		own_delivery(hd, &m, res.reason);
	vmh_wire_msg_clear(&m);
	vmh_reg_result_clear(&res);
	after_input(hd);
}

/* --- requests ----------------------------------------------------------- */

static const enum vmh_msg_type msg_of_req[] = {
	[VMH_IPC_CLAIM] = VMH_MSG_CLAIM,
	[VMH_IPC_RELEASE] = VMH_MSG_RELEASE,
	[VMH_IPC_BEGIN] = VMH_MSG_HANDOFF_BEGIN,
	[VMH_IPC_COMMIT] = VMH_MSG_HANDOFF_COMMIT,
	[VMH_IPC_ABORT] = VMH_MSG_HANDOFF_ABORT,
	[VMH_IPC_CONFIG_PUSH] = VMH_MSG_CONFIG,
};

/*
 * Answers from memory what needs no record: the idempotent cases (a
 * re-claim by the running owner, a release of a stopped VM, a commit or an
 * abort the registry already decided) and the hopeless ones. true: replied.
 */
static bool answer_locally(struct hd *hd, struct hd_client *c, uint32_t seq,
			   const struct vmh_ipc_req *req, uint32_t dst)
{
	struct vmh_vm_info v;
	bool known = vmh_reg_vm(hd->reg, req->vm, &v) == 0;
	enum vmh_ipc_type t = req->type;
	bool ok = false, no = false;

	switch (t) {
	case VMH_IPC_CLAIM:
		ok = known && v.state == VMH_VM_RUNNING && v.owner == hd->self &&
		     vmh_reg_may_run(hd->reg, req->vm, hd->self);
		break;
	case VMH_IPC_RELEASE:
		ok = !known || v.state == VMH_VM_STOPPED;
		no = known && v.state == VMH_VM_RUNNING && v.owner != hd->self;
		break;
	case VMH_IPC_BEGIN:
		ok = known && v.state == VMH_VM_MIGRATING && v.owner == hd->self && v.dst == dst;
		no = !known || v.state == VMH_VM_STOPPED ||
		     (v.state == VMH_VM_RUNNING && v.owner != hd->self);
		break;
	case VMH_IPC_COMMIT:
		/* the destination's commit won the race: done */
		ok = known && v.state == VMH_VM_RUNNING && v.owner != hd->self;
		no = !ok && (!known || v.state != VMH_VM_MIGRATING);
		break;
	case VMH_IPC_ABORT:
		ok = known && v.state == VMH_VM_RUNNING && v.owner == hd->self;
		no = !known || (v.state != VMH_VM_MIGRATING && !ok);
		break;
	case VMH_IPC_CONFIG_PUSH:
		ok = known && hd_reg_same_xml(&v, req->xml, req->xml_len);
		no = !ok && known && (v.state == VMH_VM_MIGRATING ||
				      (v.state == VMH_VM_RUNNING && v.owner != hd->self));
		break;
	default:
		break;
	}
	if (ok)
		reply_vm(hd, c, seq, t, req->vm, VMH_IPC_OK, VMH_REG_OK, "already so");
	else if (no && t == VMH_IPC_CONFIG_PUSH)
		reply_vm(hd, c, seq, t, req->vm, VMH_IPC_E_REJECTED,
			 v.state == VMH_VM_MIGRATING ? VMH_REG_R_STATE : VMH_REG_R_NOT_OWNER,
			 "%s; push it on the owner, or when it is not migrating", describe_vm(hd, req->vm));
	else if (no)
		reply_vm(hd, c, seq, t, req->vm, VMH_IPC_E_REJECTED,
			 VMH_REG_R_STATE,
			 known ? "the VM is %s in the registry" : "%sthe registry does not know the VM",
			 known ? (v.state == VMH_VM_RUNNING ? "running elsewhere" :
				  v.state == VMH_VM_STOPPED ? "stopped" : "migrating") : "");
	return ok || no;
}

static int pending_set_xml(struct hd_pending *p, const char *xml, size_t len)
{
	p->xml_buf = strndup(xml, len);
	if (!p->xml_buf)
		return -ENOMEM;
	p->msg.xml = p->xml_buf;
	p->msg.xml_len = len;
	return 0;
}

static struct hd_pending *pending_new(struct hd *hd, enum vmh_msg_type type, const char *vm)
{
	struct hd_pending *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	hd_reg_kick(hd);
	p->cookie = ++hd->next_cookie;
	p->msg.type = type;
	snprintf(p->msg.vm, sizeof(p->msg.vm), "%s", vm);
	p->next = hd->pending;
	hd->pending = p;
	return p;
}

static void wait_owner(struct hd *hd, struct hd_client *c, uint32_t seq,
		       const struct vmh_ipc_req *req)
{
	struct hd_waiter *w = calloc(1, sizeof(*w));

	if (!w) {
		reply_vm(hd, c, seq, req->type, req->vm, VMH_IPC_E_INTERNAL, 0, "out of memory");
		return;
	}
	snprintf(w->vm, sizeof(w->vm), "%s", req->vm);
	w->client = c;
	w->client_seq = seq;
	w->deadline = vmh_now_ms() + req->budget_ms - HD_REPLY_MARGIN_MS;
	w->next = hd->waiters;
	hd->waiters = w;
	after_input(hd);	/* may be decided already */
}

static void query(struct hd *hd, struct hd_client *c, uint32_t seq, const struct vmh_ipc_req *req)
{
	struct vmh_vm_info v;

	if (vmh_reg_vm(hd->reg, req->vm, &v) < 0)
		reply_vm(hd, c, seq, req->type, req->vm, VMH_IPC_E_UNKNOWN_VM, 0,
			 "the registry does not know %s", req->vm);
	else
		reply_vm(hd, c, seq, req->type, req->vm, VMH_IPC_OK, 0, NULL);
}

static void config_get(struct hd *hd, struct hd_client *c, uint32_t seq,
		       const struct vmh_ipc_req *req)
{
	struct vmh_ipc_reply rep = { .type = req->type | VMH_IPC_REPLY, .status = VMH_IPC_OK };
	struct vmh_vm_info v;

	if (vmh_reg_vm(hd->reg, req->vm, &v) < 0) {
		query(hd, c, seq, req);	/* the same E_UNKNOWN_VM */
		return;
	}
	fill_vm(hd, req->vm, &rep);
	rep.xml = v.xml_len ? v.xml : NULL;	/* borrowed: the reply is not cleared */
	rep.xml_len = v.xml_len;
	hd_ipc_reply(hd, c, seq, &rep);
}

bool hd_reg_same_xml(const struct vmh_vm_info *v, const char *xml, size_t len)
{
	uint8_t d[VMH_SHA256_LEN];

	if (v->xml_len != len)
		return false;
	vmh_sha256(xml, len, d);
	return memcmp(d, v->digest, sizeof(d)) == 0;
}

bool hd_reg_busy(struct hd *hd, const char *vm)
{
	return pending_for(hd, vm) != NULL;
}

void hd_reg_request(struct hd *hd, struct hd_client *c, uint32_t seq,
		    const struct vmh_ipc_req *req)
{
	const struct hd_node *dst = NULL;
	struct hd_pending *p;

	hd_reg_kick(hd);

	if (!hd->reg || !hd->cs_up) {
		reply_vm(hd, c, seq, req->type, req->vm, VMH_IPC_E_NO_CLUSTER, 0,
			 "vmhandoffd is not connected to corosync");
		return;
	}
	if (req->type == VMH_IPC_QUERY) {
		query(hd, c, seq, req);
		return;
	}
	if (req->type == VMH_IPC_CONFIG_GET) {
		config_get(hd, c, seq, req);
		return;
	}
	if (req->type == VMH_IPC_DOMSTATE) {
		struct vmh_ipc_reply rep = { .type = req->type | VMH_IPC_REPLY };

		fill_vm(hd, req->vm, &rep);
		hd_virt_domstate(hd, req->vm, &rep);
		hd_ipc_reply(hd, c, seq, &rep);
		return;
	}
	if (req->type == VMH_IPC_WAIT_OWNER) {
		wait_owner(hd, c, seq, req);
		return;
	}
	if (req->type == VMH_IPC_BEGIN) {
		dst = hd_node_by_name(hd, req->node);
		if (!dst) {
			reply_vm(hd, c, seq, req->type, req->vm, VMH_IPC_E_UNKNOWN_NODE, 0,
				 "node '%s' is not in corosync's nodelist", req->node);
			return;
		}
	}
	if (answer_locally(hd, c, seq, req, dst ? dst->id : 0))
		return;
	p = pending_for(hd, req->vm);
	if (p && !p->client && p->msg.type == msg_of_req[req->type]) {
		/* the daemon sent the same record on its own (a release after
		 * the domain stopped, a commit on the incoming migration's
		 * end): its delivery answers this request too */
		p->client = c;
		p->client_seq = seq;
		p->req = req->type;
		p->deadline = vmh_now_ms() + req->budget_ms - HD_REPLY_MARGIN_MS;
		return;
	}
	if (p) {
		reply_vm(hd, c, seq, req->type, req->vm, VMH_IPC_E_BUSY, 0,
			 "another request for %s is in flight", req->vm);
		return;
	}
	/* not quorate after a completed sync: say so now; while joining or
	 * syncing the record waits for the end of the round instead */
	if (vmh_reg_in_config(hd->reg) && !vmh_reg_syncing(hd->reg) && !vmh_reg_quorate(hd->reg)) {
		reply_vm(hd, c, seq, req->type, req->vm, VMH_IPC_E_NO_QUORUM, VMH_REG_R_NO_QUORUM,
			 "the registry is not quorate");
		return;
	}
	p = pending_new(hd, msg_of_req[req->type], req->vm);
	if (!p) {
		reply_vm(hd, c, seq, req->type, req->vm, VMH_IPC_E_INTERNAL, 0, "out of memory");
		return;
	}
	p->req = req->type;
	p->client = c;
	p->client_seq = seq;
	p->deadline = vmh_now_ms() + req->budget_ms - HD_REPLY_MARGIN_MS;
	if (req->type == VMH_IPC_CLAIM) {
		if (req->has_uuid)
			memcpy(p->msg.uuid, req->uuid, 16);
		p->msg.require_fencing = req->require_fencing;
	}
	if (req->xml && req->xml_len && pending_set_xml(p, req->xml, req->xml_len) < 0) {
		pending_unlink(hd, p);
		reply_vm(hd, c, seq, req->type, req->vm, VMH_IPC_E_INTERNAL, 0, "out of memory");
		return;
	}
	if (dst)
		p->msg.node = dst->id;
	pending_send(hd, p);
}

int hd_reg_internal_xml(struct hd *hd, enum vmh_msg_type type, const char *vm, const char *xml,
			size_t xml_len)
{
	struct hd_pending *p;

	if (!hd->reg)
		return -ENOTCONN;
	if (pending_for(hd, vm))
		return -EBUSY;
	p = pending_new(hd, type, vm);
	if (!p || (xml_len && pending_set_xml(p, xml, xml_len) < 0)) {
		if (p)
			pending_unlink(hd, p);
		return -ENOMEM;
	}
	vmh_log(VMH_LOG_INFO, "%s: sending record type %d on the daemon's own account", vm, type);
	pending_send(hd, p);
	return 0;
}

void hd_reg_internal(struct hd *hd, enum vmh_msg_type type, const char *vm)
{
	(void)hd_reg_internal_xml(hd, type, vm, NULL, 0);
}

void hd_reg_client_gone(struct hd *hd, const struct hd_client *c)
{
	struct hd_waiter **pw = &hd->waiters;

	/* a record in flight stays in flight: its delivery decides anyway */
	for (struct hd_pending *p = hd->pending; p; p = p->next)
		if (p->client == c)
			p->client = NULL;
	while (*pw) {
		if ((*pw)->client == c) {
			struct hd_waiter *w = *pw;

			*pw = w->next;
			free(w);
		} else {
			pw = &(*pw)->next;
		}
	}
}

/* --- waiters, pauses, reconciliation -------------------------------------- */

/* 1 decided yes, -1 decided no, 0 wait */
static int owner_decided(struct hd *hd, const char *vm)
{
	struct vmh_vm_info v;

	if (!hd->reg || vmh_reg_vm(hd->reg, vm, &v) < 0)
		return -1;
	if (v.state == VMH_VM_MIGRATING && v.dst == hd->self)
		return 0;
	if (v.state != VMH_VM_RUNNING || v.owner != hd->self)
		return -1;
	if (!vmh_reg_may_run(hd->reg, vm, hd->self))
		return 0;
	return hd_virt_state(hd, vm) == VIR_DOMAIN_RUNNING ? 1 : 0;
}

static void check_waiters(struct hd *hd)
{
	int64_t now = vmh_now_ms();
	struct hd_waiter **pw = &hd->waiters;

	while (*pw) {
		struct hd_waiter *w = *pw;
		int d = owner_decided(hd, w->vm);

		if (d == 0 && now < w->deadline) {
			pw = &w->next;
			continue;
		}
		*pw = w->next;
		if (d > 0)
			reply_vm(hd, w->client, w->client_seq, VMH_IPC_WAIT_OWNER, w->vm, VMH_IPC_OK, 0, NULL);
		else if (d < 0)
			reply_vm(hd, w->client, w->client_seq, VMH_IPC_WAIT_OWNER, w->vm,
				 VMH_IPC_E_REJECTED, VMH_REG_R_STATE,
				 "the registry did not hand the VM to this node");
		else
			reply_vm(hd, w->client, w->client_seq, VMH_IPC_WAIT_OWNER, w->vm,
				 VMH_IPC_E_TIMEOUT, 0, "not owner and running within the budget");
		free(w);
	}
}

static void check_deadlines(struct hd *hd)
{
	int64_t now = vmh_now_ms();

	for (struct hd_pending *p = hd->pending; p; p = p->next) {
		if (!p->client || now < p->deadline)
			continue;
		reply_vm(hd, p->client, p->client_seq, p->req, p->msg.vm, VMH_IPC_E_TIMEOUT, 0,
			 "record not delivered within the budget%s; outcome unknown",
			 p->sent ? "" : " (a sync round runs)");
		p->client = NULL;	/* the record may still be delivered */
	}
	for (struct hd_pending *p = hd->pending, *next; p; p = next) {
		next = p->next;
		if (!p->client && !p->sent && p->req && p->msg.type != VMH_MSG_HANDOFF_ABORT)
			pending_unlink(hd, p);	/* never sent, nobody waits */
	}
}

/* After quorum is back: resume what the quorum-loss rule paused, only if
 * the VM may run here and nothing was decided about it meanwhile. */
static void check_qpauses(struct hd *hd)
{
	struct hd_qpause **pq = &hd->qpauses;

	if (!hd->reg || !vmh_reg_quorate(hd->reg) || vmh_reg_syncing(hd->reg))
		return;
	while (*pq) {
		struct hd_qpause *q = *pq;
		bool may = vmh_reg_may_run(hd->reg, q->vm, hd->self) && vm_epoch(hd, q->vm) == q->epoch;
		struct vmh_vm_info v;
		bool ours = vmh_reg_vm(hd->reg, q->vm, &v) == 0 && v.state != VMH_VM_STOPPED &&
			    v.owner == hd->self;

		*pq = q->next;
		if (q->paused && may) {
			hd_virt_resume(hd, q->vm, "quorum is back and the registry still names this node");
		} else if (q->paused && !ours && hd_virt_state(hd, q->vm) >= 0) {
			/* taken over meanwhile (booted elsewhere from its disk)
			 * or stopped: this memory is stale and must never run;
			 * gone, it cannot look like a second active copy either */
			vmh_log(VMH_LOG_ERR, "%s: quorum is back, and meanwhile the registry gave it to "
				"%s (epoch %" PRIu64 "): destroying the stale paused copy here", q->vm,
				v.state == VMH_VM_STOPPED ? "nobody" : hd_node_name(hd, v.owner), v.epoch);
			hd_virt_destroy(hd, q->vm, "stale after a takeover");
		} else if (q->paused && ours) {
			vmh_log(VMH_LOG_WARNING, "%s: quorum is back but the registry decided otherwise meanwhile: it stays paused",
				q->vm);
		} else
			vmh_log(VMH_LOG_NOTICE, "%s: quorum is back before the pause was due", q->vm);
		free(q);
	}
}

static void due_qpauses(struct hd *hd)
{
	int64_t now = vmh_now_ms();

	for (struct hd_qpause *q = hd->qpauses; q; q = q->next) {
		if (q->paused || now < q->due)
			continue;
		q->paused = true;
		hd_virt_pause(hd, q->vm, "no quorum for quorum_loss_pause");
	}
}

static void publish_address(struct hd *hd)
{
	struct vmh_node_info ni;
	struct vmh_msg m = { .type = VMH_MSG_ADDRESS };
	int64_t now = vmh_now_ms();

	if (!hd->my_addr[0] || !vmh_reg_quorate(hd->reg) || vmh_reg_syncing(hd->reg))
		return;
	if (vmh_reg_node(hd->reg, hd->self, &ni) == 0 && strcmp(ni.addr, hd->my_addr) == 0)
		return;
	if (now - last_address_sent < 2000)
		return;
	last_address_sent = now;
	m.node = hd->self;
	snprintf(m.addr, sizeof(m.addr), "%s", hd->my_addr);
	vmh_log(VMH_LOG_INFO, "publishing migration address %s", hd->my_addr);
	hd_reg_send(hd, &m);
}

static void after_input(struct hd *hd)
{
	hd_reg_kick(hd);
	check_waiters(hd);
	check_qpauses(hd);
	if (hd->reg && !vmh_reg_syncing(hd->reg) && vmh_reg_in_config(hd->reg))
		publish_address(hd);
}

int hd_reg_allowed_here(const struct hd *hd, const char *vm)
{
	struct vmh_vm_info v;

	if (!hd->reg || !vmh_reg_in_config(hd->reg) || vmh_reg_syncing(hd->reg) ||
	    vmh_reg_vm(hd->reg, vm, &v) < 0)
		return -1;
	if (v.state == VMH_VM_RUNNING && v.owner == hd->self)
		return 1;
	if (v.state == VMH_VM_MIGRATING && v.owner == hd->self)
		return 1;	/* the source runs until the copy ends */
	return 0;
}

void hd_reg_dom_paused_incoming(struct hd *hd, const char *vm)
{
	struct vmh_vm_info v;

	if (!hd->reg || vmh_reg_vm(hd->reg, vm, &v) < 0 || v.state != VMH_VM_MIGRATING ||
	    v.dst != hd->self)
		return;
	/* the incoming QEMU holds the complete state: commit now, not when
	 * the source's migrate call returns (DESIGN.md, step 3) */
	hd_reg_internal(hd, VMH_MSG_HANDOFF_COMMIT, vm);
}

void hd_reg_dom_gone(struct hd *hd, const char *vm, bool migrated)
{
	struct vmh_vm_info v;

	if (!hd->reg || vmh_reg_vm(hd->reg, vm, &v) < 0)
		return;
	if (v.state == VMH_VM_MIGRATING && v.dst == hd->self && !migrated) {
		vmh_log(VMH_LOG_WARNING, "%s: the incoming copy is gone before the commit: aborting the handoff", vm);
		hd_reg_internal(hd, VMH_MSG_HANDOFF_ABORT, vm);
	} else if (v.state == VMH_VM_RUNNING && v.owner == hd->self && !migrated &&
		   !leased(hd, vm)) {
		hd_reg_internal(hd, VMH_MSG_RELEASE, vm);
	}
}

void hd_reg_dom_running(struct hd *hd, const char *vm)
{
	lease_drop(hd, vm);
	if (hd_reg_allowed_here(hd, vm) == 0) {
		vmh_log(VMH_LOG_ERR, "%s is running on this node, but the registry does not allow it here (epoch %" PRIu64 "): pausing it",
			vm, vm_epoch(hd, vm));
		hd_virt_pause(hd, vm, "not the registry's owner");
	}
	check_waiters(hd);
}

/* A source copy still paused by its migration although the registry
 * has it running here, with no handoff under way: the abort's resume was
 * missed (libvirt was away when it was delivered). */
static void resume_missed_source(struct hd *hd, const char *vm)
{
	struct vmh_ipc_progress job;
	struct vmh_vm_info v;

	if (vmh_reg_vm(hd->reg, vm, &v) < 0 || v.state != VMH_VM_RUNNING || v.owner != hd->self ||
	    !vmh_reg_may_run(hd->reg, vm, hd->self) || pending_for(hd, vm))
		return;
	/* a migration libvirt still runs (one made outside the registry,
	 * at its switchover) is libvirt's to finish or cancel */
	if (hd_virt_progress(hd, vm, &job) == 0)
		return;
	for (struct hd_qpause *q = hd->qpauses; q; q = q->next)
		if (strcmp(q->vm, vm) == 0)
			return;
	hd_virt_resume(hd, vm, "paused by a migration the registry has aborted: the source runs on");
}

void hd_reg_sweep(struct hd *hd)
{
	char **names = NULL;
	size_t n = 0;

	if (!hd->reg || !vmh_reg_in_config(hd->reg) || vmh_reg_syncing(hd->reg))
		return;
	if (hd_virt_active(hd, &names, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		int reason = 0;
		int st = hd_virt_state_reason(hd, names[i], &reason);

		if (st == VIR_DOMAIN_RUNNING && hd_reg_allowed_here(hd, names[i]) == 0)
			hd_reg_dom_running(hd, names[i]);
		else if (st == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_USER)
			/* an incoming copy whose end event we missed (libvirt
			 * marks the end of a VIR_MIGRATE_PAUSED migration as a
			 * user pause) */
			hd_reg_dom_paused_incoming(hd, names[i]);
		else if (st == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_MIGRATION)
			resume_missed_source(hd, names[i]);
		free(names[i]);
	}
	free(names);
	if (!vmh_reg_quorate(hd->reg))
		return;
	for (size_t i = 0; i < vmh_reg_vm_count(hd->reg); i++) {
		const struct vmh_vm_info *v = vmh_reg_vm_at(hd->reg, i);

		if (v->state == VMH_VM_RUNNING && v->owner == hd->self &&
		    hd_virt_state(hd, v->name) == -1 && !leased(hd, v->name) &&
		    !pending_for(hd, v->name)) {
			vmh_log(VMH_LOG_NOTICE, "%s: owned by this node but not defined here: releasing it",
				v->name);
			hd_reg_internal(hd, VMH_MSG_RELEASE, v->name);
			break;	/* the list changes with the next delivery */
		}
	}
}

/* --- time --------------------------------------------------------------- */

/* NODE_EXPIRED for nodes out of corosync's membership long enough that
 * their own quorum-loss rule (and watchdog) has paused everything. */
static void expire_nodes(struct hd *hd)
{
	int64_t now = vmh_now_ms();
	int64_t wait = (int64_t)hd->cfg.quorum_loss_pause_ms + hd->cfg.watchdog_timeout_ms +
		       hd->cfg.expiry_margin_ms;

	if (!hd->local_quorate || !vmh_reg_quorate(hd->reg) || vmh_reg_syncing(hd->reg))
		return;
	for (size_t i = 0; i < hd->n_nodes; i++) {
		struct hd_node *nd = &hd->nodes[i];
		struct vmh_node_info ni;
		struct vmh_msg m = { .type = VMH_MSG_NODE_EXPIRED };

		if (nd->in_quorum_view || !nd->out_since || now - nd->out_since < wait)
			continue;
		if (vmh_reg_node(hd->reg, nd->id, &ni) < 0 || ni.member || ni.clean || !ni.left ||
		    ni.expired_for == ni.left || ni.fenced_for == ni.left)
			continue;
		m.node = nd->id;
		m.departure = ni.left;
		m.waited_ms = (uint32_t)(now - nd->out_since);
		vmh_log(VMH_LOG_NOTICE, "node %u (%s) has been out of the membership for %u ms: reporting it expired",
			nd->id, nd->name, m.waited_ms);
		hd_reg_send(hd, &m);
		nd->out_since = now - wait + 2000;	/* not again for 2 s */
	}
}

static void retry_due(struct hd *hd)
{
	int64_t now = vmh_now_ms();

	for (struct hd_pending *p = hd->pending; p; p = p->next)
		if (!p->sent && p->retry_at && now >= p->retry_at) {
			p->retry_at = now + HD_RETRY_MS;
			pending_send(hd, p);
		}
}

/* Anything that needs the clock: a deadline, a retry, a pause due, a
 * departure to witness, an address to publish, a sync. Otherwise the
 * daemon sleeps until an input (or the idle sweep). */
static bool needs_clock(struct hd *hd)
{
	struct vmh_node_info ni;

	if (hd->pending || hd->waiters || hd->qpauses || hd->defined || !hd->reg ||
	    !vmh_reg_in_config(hd->reg) || vmh_reg_syncing(hd->reg))
		return true;
	if (hd->my_addr[0] && (vmh_reg_node(hd->reg, hd->self, &ni) < 0 ||
			       strcmp(ni.addr, hd->my_addr) != 0))
		return true;
	for (size_t i = 0; i < hd->n_nodes; i++) {
		if (hd->nodes[i].out_since)
			return true;
		if (vmh_reg_node(hd->reg, hd->nodes[i].id, &ni) == 0 && ni.left &&
		    ni.fenced_for != ni.left && ni.expired_for != ni.left)
			return true;
	}
	return false;
}

void hd_reg_kick(struct hd *hd)
{
	if (hd->tick_timer >= 0 && !hd->tick_fast) {
		hd->tick_fast = true;
		virEventUpdateTimeout(hd->tick_timer, HD_TICK_MS);
	}
}

int hd_reg_tick(struct hd *hd)
{
	static int64_t next_second, next_sweep;
	int64_t now = vmh_now_ms();

	check_deadlines(hd);
	retry_due(hd);
	check_waiters(hd);
	due_qpauses(hd);
	if (hd->reg && hd->defined)
		hd_define_push(hd);
	if (hd->reg && now >= next_second) {
		next_second = now + 1000;
		check_qpauses(hd);
		if (vmh_reg_in_config(hd->reg) && !vmh_reg_syncing(hd->reg)) {
			publish_address(hd);
			expire_nodes(hd);
			hd_fence_poll(hd);
			if (now >= next_sweep) {
				next_sweep = now + HD_SWEEP_MS;
				hd_reg_sweep(hd);
			}
		}
	}
	hd->tick_fast = needs_clock(hd);
	return hd->tick_fast ? HD_TICK_MS : HD_SWEEP_MS;
}

/* --- status -------------------------------------------------------------- */

void hd_reg_status(struct hd *hd, struct vmh_ipc_reply *rep)
{
	rep->self = hd->self;
	rep->flags = (hd->local_quorate ? VMH_IPC_F_LOCAL_QUORATE : 0);
	rep->n_nodes = 0;
	rep->nodes = calloc(hd->n_nodes ? hd->n_nodes : 1, sizeof(*rep->nodes));
	for (size_t i = 0; rep->nodes && i < hd->n_nodes; i++) {
		struct vmh_ipc_node *n = &rep->nodes[rep->n_nodes++];

		n->nodeid = hd->nodes[i].id;
		snprintf(n->name, sizeof(n->name), "%s", hd->nodes[i].name);
		for (size_t j = 0; j < n_members; j++)
			n->member |= members[j] == n->nodeid;
	}
	if (!hd->reg)
		return;
	rep->flags |= (vmh_reg_quorate(hd->reg) ? VMH_IPC_F_QUORATE : 0) |
		      (vmh_reg_syncing(hd->reg) ? VMH_IPC_F_SYNCING : 0) |
		      (vmh_reg_in_config(hd->reg) ? VMH_IPC_F_IN_CONFIG : 0);
	rep->ring = vmh_reg_config(hd->reg);
	if (vmh_wire_encode_image(vmh_reg_image(hd->reg), &rep->image, &rep->image_len) < 0) {
		rep->image = NULL;
		rep->image_len = 0;
	}
	for (size_t i = 0; i < vmh_reg_vm_count(hd->reg); i++) {
		const struct vmh_vm_info *v = vmh_reg_vm_at(hd->reg, i);
		struct vmh_ipc_progress pr, *grown;

		if (v->state != VMH_VM_MIGRATING || v->owner != hd->self ||
		    hd_virt_progress(hd, v->name, &pr) < 0)
			continue;
		grown = realloc(rep->progress, (rep->n_progress + 1) * sizeof(*grown));
		if (!grown)
			break;
		rep->progress = grown;
		rep->progress[rep->n_progress++] = pr;
	}
}

/* --- this node's address on the migration link ------------------------- */

void hd_reg_find_address(struct hd *hd)
{
	struct ifaddrs *ifs, *i;

	hd->my_addr[0] = '\0';
	if (!hd->cfg.migration_network || getifaddrs(&ifs) < 0)
		return;
	for (i = ifs; i; i = i->ifa_next) {
		socklen_t sl;

		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET &&
				     i->ifa_addr->sa_family != AF_INET6))
			continue;
		if (!vmh_cidr_contains(&hd->cfg.mig_cidr, i->ifa_addr))
			continue;
		sl = i->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
						       : sizeof(struct sockaddr_in6);
		if (getnameinfo(i->ifa_addr, sl, hd->my_addr, sizeof(hd->my_addr), NULL, 0,
				NI_NUMERICHOST) == 0)
			break;
		hd->my_addr[0] = '\0';
	}
	freeifaddrs(ifs);
	if (hd->my_addr[0])
		vmh_log(VMH_LOG_NOTICE, "migration address %s (in %s)", hd->my_addr,
			hd->cfg.migration_network);
	else
		vmh_log(VMH_LOG_WARNING, "no address of this node lies in migration_network %s: publishing none",
			hd->cfg.migration_network);
}
