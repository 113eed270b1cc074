/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmhandoff history VM [--json]: the migrations of a VM the local
 * vmhandoffd has seen (lib/vmh_history.h), oldest first: when, from, to,
 * how long the handoff took, the activation gap, the bytes moved and how
 * it ended.
 *
 * As text: one line per migration, in columns, "-" for what is not known;
 * no bars and no colours, so the same lines go to a terminal, a pipe or a
 * log. With --json: one JSON object on one line (as status --json), the
 * raw figures (ms, bytes, ids), null for what is not known.
 *
 * The activation gap is libvirt's downtime (the source paused -> the
 * destination's Finish step) plus the destination's delay from the end of
 * the incoming migration to the resume: both come from the destination
 * after a commit, so an aborted handoff has none.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define CLI_HISTORY_BUDGET_MS 5000
#define NODE_TEXT_MAX (VMH_IPC_NODE_NAME_MAX + 16)

/* A node's name from the reply's nodelist, or NULL. */
static const char *hist_name_of(const struct vmh_ipc_reply *rep, uint32_t nodeid)
{
	for (size_t i = 0; i < rep->n_nodes; i++)
		if (rep->nodes[i].nodeid == nodeid)
			return rep->nodes[i].name;
	return NULL;
}

/* "node2", or "node 7" when the nodelist has no name for it. */
static const char *hist_node_text(char *buf, size_t size, const struct vmh_ipc_reply *rep,
			     uint32_t nodeid)
{
	const char *name = hist_name_of(rep, nodeid);

	if (name)
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "node %" PRIu32, nodeid);
	return buf;
}

bool cli_history_gap(const struct vmh_hist_entry *e, double *gap_ms)
{
	if (!(e->flags & VMH_HIST_F_DOWNTIME) || !(e->flags & VMH_HIST_F_RESUME))
		return false;
	*gap_ms = (double)e->downtime_ms + (double)e->resume_us / 1000.0;
	return true;
}

/* ---- text ------------------------------------------------------------------ */

/* "2024-01-31 12:00:00" (UTC) */
static void hist_when_text(char *buf, size_t size, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, size, "-");
}

/* "2024-01-31T12:00:00Z" as a JSON string, or null */
static void hist_json_iso(FILE *f, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	char buf[32];
	struct tm tm;

	if (gmtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		fprintf(f, "\"%s\"", buf);
	else
		fputs("null", f);
}

/* "committed", "taken over by node3", "committed*" (learned late) */
static void hist_outcome_text(char *buf, size_t size, const struct vmh_ipc_reply *rep,
			 const struct vmh_hist_entry *e)
{
	char node[NODE_TEXT_MAX];
	const char *late = e->flags & VMH_HIST_F_LATE ? "*" : "";

	if (e->outcome == VMH_HIST_TAKEN_OVER)
		snprintf(buf, size, "taken over by %s%s", hist_node_text(node, sizeof(node), rep,
								    e->owner_after), late);
	else
		snprintf(buf, size, "%s%s", vmh_hist_outcome_str(e->outcome), late);
}

struct hist_row {
	char when[32], from[NODE_TEXT_MAX], to[NODE_TEXT_MAX], duration[32], gap[32],
		bytes[32], outcome[NODE_TEXT_MAX + 32];
};

static void hist_row_of(struct hist_row *row, const struct vmh_ipc_reply *rep,
		   const struct vmh_hist_entry *e)
{
	double gap;

	hist_when_text(row->when, sizeof(row->when), e->start_ms);
	hist_node_text(row->from, sizeof(row->from), rep, e->src);
	hist_node_text(row->to, sizeof(row->to), rep, e->dst);
	if (e->outcome == VMH_HIST_MIGRATING)
		snprintf(row->duration, sizeof(row->duration), "-");
	else
		snprintf(row->duration, sizeof(row->duration), "%.2f s",
			 (double)e->duration_ms / 1000.0);
	if (cli_history_gap(e, &gap))
		snprintf(row->gap, sizeof(row->gap), "%.1f ms", gap);
	else
		snprintf(row->gap, sizeof(row->gap), "-");
	if (e->flags & VMH_HIST_F_BYTES)
		cli_text_bytes(row->bytes, sizeof(row->bytes), e->bytes);
	else
		snprintf(row->bytes, sizeof(row->bytes), "-");
	hist_outcome_text(row->outcome, sizeof(row->outcome), rep, e);
}

static int hist_widest(int w, const char *s)
{
	int len = (int)strlen(s);

	return len > w ? len : w;
}

/* "running on node2 (epoch 5)", or what is known without the registry */
static void hist_state_text(char *buf, size_t size, const struct vmh_ipc_reply *rep)
{
	char a[NODE_TEXT_MAX], b[NODE_TEXT_MAX];

	if (!rep->has_vm_state)
		snprintf(buf, size, "not in this node's registry");
	else if (rep->vm_state == VMH_VM_RUNNING)
		snprintf(buf, size, "running on %s (epoch %" PRIu64 ")",
			 hist_node_text(a, sizeof(a), rep, rep->owner), rep->epoch);
	else if (rep->vm_state == VMH_VM_MIGRATING)
		snprintf(buf, size, "migrating %s -> %s (epoch %" PRIu64 ")",
			 hist_node_text(a, sizeof(a), rep, rep->owner), hist_node_text(b, sizeof(b), rep, rep->dst),
			 rep->epoch);
	else
		snprintf(buf, size, "stopped (epoch %" PRIu64 ")", rep->epoch);
}

int cli_history_text(FILE *f, const char *vm, const struct vmh_ipc_reply *rep)
{
	int w[7] = { 10, 4, 2, 8, 3, 5, 7 };
	char state[2 * NODE_TEXT_MAX + 64], self[NODE_TEXT_MAX];
	struct hist_row *rows = NULL;
	bool late = false;

	hist_state_text(state, sizeof(state), rep);
	if (rep->self)
		hist_node_text(self, sizeof(self), rep, rep->self);
	else
		snprintf(self, sizeof(self), "this node");
	if (rep->n_history == 0) {
		fprintf(f, "%s: %s; %s has seen no migration of it\n", vm, state, self);
		return ferror(f) ? -1 : 0;
	}
	rows = calloc(rep->n_history, sizeof(*rows));
	if (!rows)
		return -1;
	for (size_t i = 0; i < rep->n_history; i++) {
		struct hist_row *r = &rows[i];

		hist_row_of(r, rep, &rep->history[i]);
		late |= (rep->history[i].flags & VMH_HIST_F_LATE) != 0;
		w[0] = hist_widest(w[0], r->when);
		w[1] = hist_widest(w[1], r->from);
		w[2] = hist_widest(w[2], r->to);
		w[3] = hist_widest(w[3], r->duration);
		w[4] = hist_widest(w[4], r->gap);
		w[5] = hist_widest(w[5], r->bytes);
	}
	fprintf(f, "%s: %s; migrations %s has seen, oldest first (times UTC):\n", vm, state, self);
	fprintf(f, "  %-*s  %-*s  %-*s  %*s  %*s  %*s  %s\n", w[0], "WHEN", w[1], "FROM", w[2], "TO",
		w[3], "DURATION", w[4], "GAP", w[5], "BYTES", "OUTCOME");
	for (size_t i = 0; i < rep->n_history; i++) {
		const struct hist_row *r = &rows[i];

		fprintf(f, "  %-*s  %-*s  %-*s  %*s  %*s  %*s  %s\n", w[0], r->when, w[1], r->from,
			w[2], r->to, w[3], r->duration, w[4], r->gap, w[5], r->bytes, r->outcome);
	}
	if (late)
		fprintf(f, "  * learned from a state sync or a restart, not as it was decided: "
			"its times are when %s learned it\n", self);
	free(rows);
	return ferror(f) ? -1 : 0;
}

/* ---- JSON ------------------------------------------------------------------ */

/* {"nodeid":N,"name":...} or null for node 0. */
static void hist_json_node(FILE *f, const struct vmh_ipc_reply *rep, uint32_t nodeid)
{
	if (nodeid == 0) {
		fputs("null", f);
		return;
	}
	fprintf(f, "{\"nodeid\":%" PRIu32 ",\"name\":", nodeid);
	cli_json_str_or_null(f, hist_name_of(rep, nodeid));
	fputc('}', f);
}

/* a figure, or null when its flag says it is unknown */
static void hist_json_u64(FILE *f, const char *key, bool known, uint64_t v)
{
	if (known)
		fprintf(f, ",\"%s\":%" PRIu64, key, v);
	else
		fprintf(f, ",\"%s\":null", key);
}

static void hist_json_entry(FILE *f, const struct vmh_ipc_reply *rep, const struct vmh_hist_entry *e)
{
	bool ended = e->outcome != VMH_HIST_MIGRATING;
	double gap;

	fprintf(f, "{\"start_ms\":%" PRIu64 ",\"start\":", e->start_ms);
	hist_json_iso(f, e->start_ms);
	fputs(",\"from\":", f);
	hist_json_node(f, rep, e->src);
	fputs(",\"to\":", f);
	hist_json_node(f, rep, e->dst);
	fprintf(f, ",\"outcome\":\"%s\",\"owner_after\":", vmh_hist_outcome_str(e->outcome));
	hist_json_node(f, rep, e->owner_after);
	fprintf(f, ",\"late\":%s,\"begin_epoch\":%" PRIu64, e->flags & VMH_HIST_F_LATE ? "true" : "false",
		e->begin_epoch);
	hist_json_u64(f, "end_epoch", ended, e->end_epoch);
	hist_json_u64(f, "duration_ms", ended, e->duration_ms);
	hist_json_u64(f, "bytes", e->flags & VMH_HIST_F_BYTES, e->bytes);
	hist_json_u64(f, "job_ms", e->flags & VMH_HIST_F_JOB, e->job_ms);
	hist_json_u64(f, "downtime_ms", e->flags & VMH_HIST_F_DOWNTIME, e->downtime_ms);
	if (e->flags & VMH_HIST_F_RESUME)
		fprintf(f, ",\"resume_ms\":%.3f", (double)e->resume_us / 1000.0);
	else
		fputs(",\"resume_ms\":null", f);
	if (cli_history_gap(e, &gap))
		fprintf(f, ",\"activation_gap_ms\":%.3f}", gap);
	else
		fputs(",\"activation_gap_ms\":null}", f);
}

int cli_history_json(FILE *f, const char *vm, const struct vmh_ipc_reply *rep)
{
	fputs("{\"vm\":", f);
	cli_json_str(f, vm);
	fputs(",\"node\":", f);
	hist_json_node(f, rep, rep->self);
	fputs(",\"state\":", f);
	if (rep->has_vm_state)
		fprintf(f, "\"%s\"", cli_vm_state_str(rep->vm_state));
	else
		fputs("null", f);
	fputs(",\"owner\":", f);
	hist_json_node(f, rep, rep->has_vm_state && rep->vm_state != VMH_VM_STOPPED ? rep->owner : 0);
	fputs(",\"dst\":", f);
	hist_json_node(f, rep, rep->dst);
	fputs(",\"epoch\":", f);
	if (rep->has_vm_state)
		fprintf(f, "%" PRIu64, rep->epoch);
	else
		fputs("null", f);
	fputs(",\"migrations\":[", f);
	for (size_t i = 0; i < rep->n_history; i++) {
		fputs(i ? "," : "", f);
		hist_json_entry(f, rep, &rep->history[i]);
	}
	fputs("]}\n", f);
	return ferror(f) ? -1 : 0;
}

/* ---- the command ------------------------------------------------------------ */

int cli_history_run(const char *socket_path, const char *vm, bool json, FILE *out, FILE *err)
{
	struct vmh_ipc_req req = { .type = VMH_IPC_HISTORY, .budget_ms = CLI_HISTORY_BUDGET_MS };
	const char *path = socket_path ? socket_path : VMH_IPC_DEFAULT_SOCKET;
	struct vmh_ipc_reply rep;
	int r, rc = CLI_EXIT_OK;

	if (!vmh_reg_name_ok(vm, strlen(vm))) {
		fprintf(err, "vmhandoff: '%s' is not a VM name the registry can hold\n", vm);
		return CLI_EXIT_USAGE;
	}
	snprintf(req.vm, sizeof(req.vm), "%s", vm);
	r = vmh_ipc_call(path, &req, &rep);
	if (r == -ECONNRESET) {
		/* a daemon that does not know the request closes at once */
		fprintf(err, "vmhandoff: vmhandoffd at %s closed the connection without an answer "
			"(a vmhandoffd older than the history command?)\n", path);
		return CLI_EXIT_UNREACHABLE;
	}
	if (r < 0) {
		cli_report_call_error(err, path, r);
		return CLI_EXIT_UNREACHABLE;
	}
	if (rep.status != VMH_IPC_OK) {
		fprintf(err, "vmhandoff: %s: %s%s%s\n", vm, vmh_ipc_status_str(rep.status),
			rep.message[0] ? ": " : "", rep.message);
		rc = CLI_EXIT_DAEMON;
	} else if ((json ? cli_history_json(out, vm, &rep) : cli_history_text(out, vm, &rep)) < 0 ||
		   fflush(out) != 0) {
		fprintf(err, "vmhandoff: writing the history failed: %s\n", strerror(errno));
		rc = CLI_EXIT_DAEMON;
	}
	vmh_ipc_reply_clear(&rep);
	return rc;
}
