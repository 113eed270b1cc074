/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fencing facts for the registry: a claim over an owner that left the
 * membership is accepted only after a NODE_FENCED for that departure
 * (vmh_registry.h). pacemaker's fencer keeps the history of fencing
 * operations; while some node's lost departure is unwitnessed, we ask it
 * once a second (a local IPC round trip, bounded by a 1 s timeout) and
 * multicast NODE_FENCED for a "done" fencing of that node completed after
 * this daemon saw the node leave.
 *
 * Only fencings that completed after we saw the departure count: one from
 * before could be the fencing of an earlier incarnation, after which the
 * node came back and ran VMs.
 */
#include <inttypes.h>
#include <string.h>

#include <crm/stonith-ng.h>

#include "hd.h"
#include "vmh_log.h"

static stonith_t *fencer(struct hd *hd)
{
	stonith_t *st = hd->stonith;
	int rc;

	if (st)
		return st;
	st = stonith_api_new();
	if (!st)
		return NULL;
	rc = st->cmds->connect(st, "vmhandoffd", NULL);
	if (rc != 0) {
		vmh_log(VMH_LOG_DEBUG, "fencer not reachable (%d): pacemaker not running yet?", rc);
		stonith_api_delete(st);
		return NULL;
	}
	hd->stonith = st;
	return st;
}

void hd_fence_close(struct hd *hd)
{
	stonith_t *st = hd->stonith;

	if (!st)
		return;
	st->cmds->disconnect(st);
	stonith_api_delete(st);
	hd->stonith = NULL;
}

static bool unwitnessed(const struct vmh_node_info *ni)
{
	return !ni->member && !ni->clean && ni->left && ni->fenced_for != ni->left &&
	       ni->expired_for != ni->left;
}

static void report(struct hd *hd, const struct hd_node *nd, const struct vmh_node_info *ni,
		   time_t completed)
{
	struct vmh_msg m = { .type = VMH_MSG_NODE_FENCED };

	m.node = nd->id;
	m.departure = ni->left;
	m.fence_time = (uint64_t)completed;
	vmh_log(VMH_LOG_NOTICE, "node %u (%s) was fenced at %" PRIu64 " after it left: reporting it",
		nd->id, nd->name, m.fence_time);
	hd_reg_send(hd, &m);
}

void hd_fence_poll(struct hd *hd)
{
	stonith_history_t *hist = NULL;
	stonith_t *st;
	bool needed = false;

	if (!hd->reg || !vmh_reg_quorate(hd->reg))
		return;
	for (size_t i = 0; i < hd->n_nodes && !needed; i++) {
		struct vmh_node_info ni;

		needed = vmh_reg_node(hd->reg, hd->nodes[i].id, &ni) == 0 && unwitnessed(&ni);
	}
	if (!needed)
		return;
	st = fencer(hd);
	if (!st)
		return;
	if (st->cmds->history(st, st_opt_sync_call, NULL, &hist, 1) < 0) {
		vmh_log(VMH_LOG_DEBUG, "fencing history not available; reconnecting next time");
		hd_fence_close(hd);
		return;
	}
	for (size_t i = 0; i < hd->n_nodes; i++) {
		const struct hd_node *nd = &hd->nodes[i];
		struct vmh_node_info ni;
		time_t best = 0;

		if (vmh_reg_node(hd->reg, nd->id, &ni) < 0 || !unwitnessed(&ni) || !nd->seen_left_wall)
			continue;
		for (stonith_history_t *h = hist; h; h = h->next)
			if (h->target && strcmp(h->target, nd->name) == 0 && h->state == st_done &&
			    h->completed >= nd->seen_left_wall && h->completed > best)
				best = h->completed;
		if (best)
			report(hd, nd, &ni, best);
	}
	stonith_history_free(hist);
}
