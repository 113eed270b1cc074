/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The corosync side of vmhandoffd: CPG (the registry's records in agreed
 * order and the membership they are delivered in), libquorum (this node's
 * quorum and corosync's membership), cmap (the configured nodes: ids,
 * names, the number of voters).
 *
 * A lost corosync connection means "not quorate" at once: everything is
 * finalized, the registry is dropped (hd_reg_stop pauses what must be
 * paused), and a timer reconnects every second; the registry then starts
 * over from its state file, as after a restart. corosync restarts its ring
 * numbering from /var/lib/corosync, so a reconnected member never sees a
 * ring id lower than the ones it saved.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <corosync/cmap.h>
#include <corosync/corotypes.h>
#include <corosync/cpg.h>
#include <corosync/quorum.h>

#include "hd.h"
#include "vmh_log.h"
#include "vmh_time.h"

/* Records that met corosync's flow control (CS_ERR_TRY_AGAIN), in order. */
struct hd_out {
	struct hd_out *next;
	size_t len;
	uint8_t buf[];
};
static struct hd_out *out_head, **out_tail = &out_head;
static int out_timer = -1;

/* a CPG change that came before the first totem notification */
static uint32_t held_ids[VMH_REG_MAX_NODES], held_clean[VMH_REG_MAX_NODES];
static size_t held_n, held_n_clean;
static bool held;

static struct hd *hd_of_cpg(cpg_handle_t h)
{
	void *ctx = NULL;

	cpg_context_get(h, &ctx);
	return ctx;
}

static void cpg_deliver_cb(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid,
			   uint32_t pid, void *msg, size_t len)
{
	(void)group;
	(void)pid;
	hd_reg_deliver(hd_of_cpg(h), nodeid, msg, len);
}

static bool in_list(const uint32_t *ids, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/*
 * The registry counts nodes, CPG counts processes (nodeid, pid): a node
 * whose old daemon is still leaving while a new one joined must appear
 * once. A departure is clean only if CPG says the process left or exited
 * (its leave is in the agreed order) and no other process of that node
 * remains.
 */
static void cpg_confchg_cb(cpg_handle_t h, const struct cpg_name *group,
			   const struct cpg_address *members, size_t n_members,
			   const struct cpg_address *left, size_t n_left,
			   const struct cpg_address *joined, size_t n_joined)
{
	struct hd *hd = hd_of_cpg(h);
	uint32_t ids[VMH_REG_MAX_NODES], clean[VMH_REG_MAX_NODES];
	size_t n = 0, n_clean = 0;

	(void)group;
	(void)joined;
	for (size_t i = 0; i < n_members && n < VMH_REG_MAX_NODES; i++)
		if (!in_list(ids, n, members[i].nodeid))
			ids[n++] = members[i].nodeid;
	for (size_t i = 0; i < n_left && n_clean < VMH_REG_MAX_NODES; i++) {
		uint32_t id = left[i].nodeid;

		if (in_list(ids, n, id) || in_list(clean, n_clean, id))
			continue;
		if (left[i].reason == CPG_REASON_LEAVE || left[i].reason == CPG_REASON_PROCDOWN)
			clean[n_clean++] = id;
	}
	if (!hd->totem_ring) {
		/* the initial totem notification has not come yet: hold the
		 * change until it does (the registry needs a ring id) */
		memcpy(held_ids, ids, n * sizeof(*ids));
		memcpy(held_clean, clean, n_clean * sizeof(*clean));
		held_n = n;
		held_n_clean = n_clean;
		held = true;
		vmh_log(VMH_LOG_DEBUG, "CPG membership of %zu held until the ring id is known", n);
		return;
	}
	vmh_log(VMH_LOG_INFO, "CPG membership: %zu members (%zu joined, %zu left) in ring %" PRIu64,
		n, n_joined, n_left, hd->totem_ring);
	hd_reg_membership(hd, hd->totem_ring, ids, n, clean, n_clean);
}

/* Delivered in order with the CPG changes (CPG_MODEL_V1 with
 * DELIVER_INITIAL_TOTEM_CONF): the ring id every following confchg
 * belongs to, the same on every member. */
static void cpg_totem_cb(cpg_handle_t h, struct cpg_ring_id ring_id, uint32_t n,
			 const uint32_t *list)
{
	struct hd *hd = hd_of_cpg(h);

	(void)list;
	vmh_log(VMH_LOG_DEBUG, "totem ring %" PRIu64 " (rep %u), %u nodes",
		(uint64_t)ring_id.seq, ring_id.nodeid, n);
	if (ring_id.seq <= hd->totem_ring)
		return;
	hd->totem_ring = ring_id.seq;
	if (held) {
		held = false;
		vmh_log(VMH_LOG_INFO, "CPG membership: %zu members in ring %" PRIu64, held_n,
			hd->totem_ring);
		hd_reg_membership(hd, hd->totem_ring, held_ids, held_n, held_clean, held_n_clean);
	} else {
		hd_reg_ring_advanced(hd);
	}
}

static struct hd *quorum_hd;	/* libquorum's v0 callback has no context */

static void quorum_cb(quorum_handle_t h, uint32_t quorate, uint64_t ring_seq,
		      uint32_t n, uint32_t *view)
{
	struct hd *hd = quorum_hd;
	int64_t now = vmh_now_ms();

	(void)h;
	(void)ring_seq;
	for (size_t i = 0; i < hd->n_nodes; i++) {
		struct hd_node *nd = &hd->nodes[i];
		bool in = in_list(view, n, nd->id);

		if (!in && (nd->in_quorum_view || !nd->out_since))
			nd->out_since = now;
		if (in)
			nd->out_since = 0;
		nd->in_quorum_view = in;
	}
	if ((bool)quorate != hd->local_quorate)
		vmh_log(quorate ? VMH_LOG_NOTICE : VMH_LOG_WARNING, "corosync quorum %s (%u nodes)",
			quorate ? "regained" : "LOST", n);
	hd->local_quorate = quorate;
	hd_reg_quorum(hd, quorate);
}

static void reconnect_cb(int timer, void *opaque);

void hd_cluster_schedule_reconnect(struct hd *hd)
{
	if (hd->reconnect_timer < 0)
		hd->reconnect_timer = virEventAddTimeout(1000, reconnect_cb, hd, NULL);
}

static void lost(struct hd *hd, const char *what, int err)
{
	vmh_log(VMH_LOG_ERR, "lost the corosync connection (%s: error %d): not quorate until it is back",
		what, err);
	hd_cluster_disconnect(hd);
	hd_cluster_schedule_reconnect(hd);
}

static void restart_cb(int timer, void *opaque)
{
	struct hd *hd = opaque;

	virEventRemoveTimeout(timer);
	hd_cluster_disconnect(hd);
	hd_cluster_schedule_reconnect(hd);
}

/* Called from inside cpg_dispatch (a delivery that failed): the registry
 * goes now, so nothing else is applied to it; corosync is left from the
 * loop, outside the dispatch. */
void hd_cluster_restart(struct hd *hd)
{
	hd_reg_stop(hd);
	if (virEventAddTimeout(0, restart_cb, hd, NULL) < 0)
		vmh_log(VMH_LOG_ERR, "cannot schedule the restart of the cluster connection");
}

static void cpg_fd_cb(int watch, int fd, int events, void *opaque)
{
	struct hd *hd = opaque;
	cs_error_t e;

	(void)watch;
	(void)fd;
	(void)events;
	e = cpg_dispatch(hd->cpg_handle, CS_DISPATCH_ALL);
	if (e != CS_OK && e != CS_ERR_TRY_AGAIN && hd->cs_up)
		lost(hd, "cpg_dispatch", e);
}

static void quorum_fd_cb(int watch, int fd, int events, void *opaque)
{
	struct hd *hd = opaque;
	cs_error_t e;

	(void)watch;
	(void)fd;
	(void)events;
	e = quorum_dispatch(hd->quorum_handle, CS_DISPATCH_ALL);
	if (e != CS_OK && e != CS_ERR_TRY_AGAIN && hd->cs_up)
		lost(hd, "quorum_dispatch", e);
}

static void reconnect_cb(int timer, void *opaque)
{
	struct hd *hd = opaque;

	virEventRemoveTimeout(timer);
	hd->reconnect_timer = -1;
	if (hd_cluster_connect(hd) < 0)
		hd_cluster_schedule_reconnect(hd);
}

/* The nodelist from cmap: ids and names (name, else ring0_addr). */
static int read_nodelist(struct hd *hd)
{
	cmap_handle_t ch;
	struct hd_node *nodes = NULL;
	size_t n = 0;
	cs_error_t e;

	e = cmap_initialize(&ch);
	if (e != CS_OK) {
		vmh_log(VMH_LOG_DEBUG, "cmap_initialize: error %d (corosync not running?)", e);
		return -1;
	}
	for (unsigned i = 0; i < VMH_REG_MAX_NODES; i++) {
		char key[CMAP_KEYNAME_MAXLEN], *name = NULL;
		uint32_t id;
		struct hd_node *grown;

		snprintf(key, sizeof(key), "nodelist.node.%u.nodeid", i);
		if (cmap_get_uint32(ch, key, &id) != CS_OK)
			break;
		snprintf(key, sizeof(key), "nodelist.node.%u.name", i);
		if (cmap_get_string(ch, key, &name) != CS_OK) {
			snprintf(key, sizeof(key), "nodelist.node.%u.ring0_addr", i);
			if (cmap_get_string(ch, key, &name) != CS_OK)
				name = NULL;
		}
		grown = realloc(nodes, (n + 1) * sizeof(*nodes));
		if (!grown) {
			free(name);
			free(nodes);
			cmap_finalize(ch);
			return -1;
		}
		nodes = grown;
		memset(&nodes[n], 0, sizeof(nodes[n]));
		nodes[n].id = id;
		snprintf(nodes[n].name, sizeof(nodes[n].name), "%s", name ? name : "");
		free(name);
		n++;
	}
	cmap_finalize(ch);
	if (n == 0) {
		vmh_log(VMH_LOG_ERR, "corosync's nodelist is empty: vmhandoffd needs a nodelist with nodeids");
		free(nodes);
		return -1;
	}
	free(hd->nodes);
	hd->nodes = nodes;
	hd->n_nodes = n;
	return 0;
}

int hd_cluster_connect(struct hd *hd)
{
	cpg_model_v1_data_t model = {
		.model = CPG_MODEL_V1,
		.cpg_deliver_fn = cpg_deliver_cb,
		.cpg_confchg_fn = cpg_confchg_cb,
		.cpg_totem_confchg_fn = cpg_totem_cb,
		.flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
	};
	quorum_callbacks_t qcb = { .quorum_notify_fn = quorum_cb };
	struct cpg_name group;
	uint32_t qtype, local;
	int quorate = 0, cfd, qfd;
	cs_error_t e;

	if (read_nodelist(hd) < 0)
		return -1;
	quorum_hd = hd;
	e = quorum_initialize(&hd->quorum_handle, &qcb, &qtype);
	if (e != CS_OK)
		goto fail_early;
	if (quorum_getquorate(hd->quorum_handle, &quorate) != CS_OK ||
	    quorum_trackstart(hd->quorum_handle, CS_TRACK_CHANGES | CS_TRACK_CURRENT) != CS_OK)
		goto fail_quorum;
	e = cpg_model_initialize(&hd->cpg_handle, CPG_MODEL_V1, (cpg_model_data_t *)&model, hd);
	if (e != CS_OK)
		goto fail_quorum;
	if (cpg_local_get(hd->cpg_handle, &local) != CS_OK)
		goto fail_cpg;
	if (!hd_node_by_id(hd, local)) {
		vmh_log(VMH_LOG_ERR, "this node's id %u is not in corosync's nodelist", local);
		goto fail_cpg;
	}
	hd->self = local;
	hd->local_quorate = quorate;
	hd->totem_ring = 0;
	held = false;
	if (hd_reg_start(hd) < 0)
		goto fail_cpg;
	snprintf(group.value, sizeof(group.value), "%s", HD_CPG_GROUP);
	group.length = strlen(HD_CPG_GROUP);
	e = cpg_join(hd->cpg_handle, &group);
	if (e != CS_OK) {
		vmh_log(VMH_LOG_WARNING, "cpg_join: error %d", e);
		goto fail_reg;
	}
	if (cpg_fd_get(hd->cpg_handle, &cfd) != CS_OK ||
	    quorum_fd_get(hd->quorum_handle, &qfd) != CS_OK)
		goto fail_reg;
	hd->cpg_watch = virEventAddHandle(cfd, VIR_EVENT_HANDLE_READABLE, cpg_fd_cb, hd, NULL);
	hd->quorum_watch = virEventAddHandle(qfd, VIR_EVENT_HANDLE_READABLE, quorum_fd_cb, hd, NULL);
	if (hd->cpg_watch < 0 || hd->quorum_watch < 0)
		goto fail_reg;
	hd->cs_up = true;
	vmh_log(VMH_LOG_NOTICE, "joined CPG group %s as node %u (%s), %zu nodes configured, corosync %squorate",
		HD_CPG_GROUP, hd->self, hd_node_name(hd, hd->self), hd->n_nodes,
		quorate ? "" : "NOT ");
	hd_reg_quorum(hd, quorate);
	return 0;

fail_reg:
	hd_reg_stop(hd);
fail_cpg:
	if (hd->cpg_watch >= 0)
		virEventRemoveHandle(hd->cpg_watch);
	hd->cpg_watch = -1;
	cpg_finalize(hd->cpg_handle);
fail_quorum:
	if (hd->quorum_watch >= 0)
		virEventRemoveHandle(hd->quorum_watch);
	hd->quorum_watch = -1;
	quorum_finalize(hd->quorum_handle);
fail_early:
	vmh_log(VMH_LOG_DEBUG, "corosync not ready; retrying");
	return -1;
}

void hd_cluster_disconnect(struct hd *hd)
{
	struct hd_out *o;

	if (!hd->cs_up)
		return;
	hd->cs_up = false;
	if (hd->cpg_watch >= 0)
		virEventRemoveHandle(hd->cpg_watch);
	if (hd->quorum_watch >= 0)
		virEventRemoveHandle(hd->quorum_watch);
	hd->cpg_watch = hd->quorum_watch = -1;
	cpg_finalize(hd->cpg_handle);
	quorum_finalize(hd->quorum_handle);
	while ((o = out_head)) {
		out_head = o->next;
		free(o);
	}
	out_tail = &out_head;
	hd->local_quorate = false;
	hd_reg_stop(hd);
}

static cs_error_t mcast(struct hd *hd, const uint8_t *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return cpg_mcast_joined(hd->cpg_handle, CPG_TYPE_AGREED, &iov, 1);
}

static void out_flush_cb(int timer, void *opaque)
{
	struct hd *hd = opaque;
	struct hd_out *o;

	while ((o = out_head)) {
		cs_error_t e = mcast(hd, o->buf, o->len);

		if (e == CS_ERR_TRY_AGAIN)
			return;	/* the timer fires again */
		if (e != CS_OK)
			vmh_log(VMH_LOG_WARNING, "cpg_mcast_joined: error %d; record dropped", e);
		out_head = o->next;
		free(o);
	}
	out_tail = &out_head;
	virEventRemoveTimeout(timer);
	out_timer = -1;
}

int hd_cluster_send(struct hd *hd, const uint8_t *buf, size_t len)
{
	struct hd_out *o;
	cs_error_t e;

	if (!hd->cs_up)
		return -ENOTCONN;
	if (!out_head) {
		e = mcast(hd, buf, len);
		if (e == CS_OK)
			return 0;
		if (e != CS_ERR_TRY_AGAIN) {
			vmh_log(VMH_LOG_WARNING, "cpg_mcast_joined: error %d", e);
			return -ENOTCONN;
		}
	}
	/* keep the order: queue behind what waits already */
	o = malloc(sizeof(*o) + len);
	if (!o)
		return -ENOMEM;
	o->next = NULL;
	o->len = len;
	memcpy(o->buf, buf, len);
	*out_tail = o;
	out_tail = &o->next;
	if (out_timer < 0)
		out_timer = virEventAddTimeout(10, out_flush_cb, hd, NULL);
	return 0;
}

const struct hd_node *hd_node_by_id(const struct hd *hd, uint32_t id)
{
	for (size_t i = 0; i < hd->n_nodes; i++)
		if (hd->nodes[i].id == id)
			return &hd->nodes[i];
	return NULL;
}

const struct hd_node *hd_node_by_name(const struct hd *hd, const char *name)
{
	for (size_t i = 0; i < hd->n_nodes; i++)
		if (strcmp(hd->nodes[i].name, name) == 0)
			return &hd->nodes[i];
	return NULL;
}

const char *hd_node_name(const struct hd *hd, uint32_t id)
{
	const struct hd_node *n = hd_node_by_id(hd, id);

	return n && n->name[0] ? n->name : "?";
}
