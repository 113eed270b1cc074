/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The status command: one STATUS request, then the view the printers
 * read. Node names come from corosync's nodelist (the reply's node
 * entries); addresses, departures and reported quorum from the registry's
 * image. A node may be in either alone (a node removed from the nodelist
 * stays in the registry), so the view joins both by node id.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vmh_wire.h"

const char *cli_vm_state_str(enum vmh_vm_state s)
{
	switch (s) {
	case VMH_VM_STOPPED:
		return "stopped";
	case VMH_VM_RUNNING:
		return "running";
	case VMH_VM_MIGRATING:
		return "migrating";
	}
	return "?";
}

void cli_hex(char *out, const uint8_t *bytes, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 0xf];
	}
	out[2 * n] = '\0';
}

double cli_progress_percent(const struct vmh_ipc_progress *p)
{
	if (p->data_total == 0 || p->data_processed > p->data_total)
		return -1;
	return 100.0 * (double)p->data_processed / (double)p->data_total;
}

/* Index of nodeid's row, or n_rows. */
static size_t row_index(const struct cli_status *st, uint32_t nodeid)
{
	size_t i;

	for (i = 0; i < st->n_rows; i++)
		if (st->rows[i].nodeid == nodeid)
			break;
	return i;
}

uint32_t cli_migration_dst(const struct cli_status *st, const char *vm)
{
	for (size_t i = 0; i < st->img.n_vms; i++)
		if (strcmp(st->img.vms[i].name, vm) == 0)
			return st->img.vms[i].state == VMH_VM_MIGRATING ? st->img.vms[i].dst : 0;
	return 0;
}

const struct cli_node_row *cli_node_find(const struct cli_status *st, uint32_t nodeid)
{
	size_t i = row_index(st, nodeid);

	return i < st->n_rows ? &st->rows[i] : NULL;
}

const char *cli_node_name(const struct cli_status *st, uint32_t nodeid)
{
	const struct cli_node_row *row = cli_node_find(st, nodeid);

	return row ? row->name : "?";
}

static int cmp_rows(const void *a, const void *b)
{
	const struct cli_node_row *x = a, *y = b;

	return (x->nodeid > y->nodeid) - (x->nodeid < y->nodeid);
}

/* The row of nodeid, appended if there is none yet. */
static struct cli_node_row *row_for(struct cli_status *st, uint32_t nodeid)
{
	size_t i = row_index(st, nodeid);

	if (i == st->n_rows)
		st->rows[st->n_rows++] = (struct cli_node_row){ .nodeid = nodeid, .name = "?" };
	return &st->rows[i];
}

static int build_rows(struct cli_status *st)
{
	const struct vmh_ipc_reply *rep = st->rep;
	size_t cap = rep->n_nodes + st->img.n_nodes;

	if (cap == 0)
		return 0;
	st->rows = calloc(cap, sizeof(*st->rows));
	if (!st->rows)
		return -ENOMEM;
	for (size_t i = 0; i < rep->n_nodes; i++) {
		struct cli_node_row *row = row_for(st, rep->nodes[i].nodeid);

		row->name = rep->nodes[i].name;
		row->in_nodelist = true;
		row->member = rep->nodes[i].member;
	}
	for (size_t i = 0; i < st->img.n_nodes; i++) {
		struct cli_node_row *row = row_for(st, st->img.nodes[i].nodeid);

		if (!row->in_nodelist)
			row->member = st->img.nodes[i].member;
		row->reg = &st->img.nodes[i];
	}
	qsort(st->rows, st->n_rows, sizeof(*st->rows), cmp_rows);
	return 0;
}

int cli_status_init(struct cli_status *st, const struct vmh_ipc_reply *rep)
{
	int r;

	memset(st, 0, sizeof(*st));
	st->rep = rep;
	if (rep->image_len) {
		r = vmh_wire_decode_image(rep->image, rep->image_len, &st->img);
		if (r < 0)
			return r == -ENOMEM ? -ENOMEM : -EBADMSG;
		st->has_image = true;
	}
	r = build_rows(st);
	if (r < 0)
		cli_status_free(st);
	return r;
}

void cli_status_free(struct cli_status *st)
{
	vmh_reg_image_free(&st->img);
	free(st->rows);
	memset(st, 0, sizeof(*st));
}

/* Why the call got no reply, with what to check. */
void cli_report_call_error(FILE *err, const char *path, int r)
{
	switch (r) {
	case -EACCES:
	case -EPERM:
		fprintf(err, "vmhandoff: cannot connect to vmhandoffd at %s: %s "
			"(run as root or as a member of group haclient)\n", path, strerror(-r));
		break;
	case -ETIMEDOUT:
		fprintf(err, "vmhandoff: no answer from vmhandoffd at %s in time "
			"(is vmhandoffd running?)\n", path);
		break;
	case -EBADMSG:
		fprintf(err, "vmhandoff: vmhandoffd at %s sent a reply that does not decode "
			"(vmhandoff and vmhandoffd of different versions?)\n", path);
		break;
	default:
		fprintf(err, "vmhandoff: cannot reach vmhandoffd at %s: %s (is vmhandoffd running?)\n",
			path, strerror(-r));
		break;
	}
}

void cli_report_status(FILE *err, const struct vmh_ipc_reply *rep)
{
	fprintf(err, "vmhandoff: vmhandoffd answered: %s", vmh_ipc_status_str(rep->status));
	if (rep->status == VMH_IPC_E_REJECTED)
		fprintf(err, " (%s)", vmh_reg_reason_str(rep->reg_reason));
	if (rep->message[0])
		fprintf(err, ": %s", rep->message);
	fputc('\n', err);
}

static int print_status(const struct vmh_ipc_reply *rep, bool json, FILE *out, FILE *err)
{
	struct cli_status st;
	int r;

	r = cli_status_init(&st, rep);
	if (r < 0) {
		fprintf(err, "vmhandoff: the registry image in vmhandoffd's reply %s\n",
			r == -ENOMEM ? "does not fit in memory" : "does not decode");
		return CLI_EXIT_DAEMON;
	}
	r = json ? cli_status_json(out, &st) : cli_status_text(out, &st);
	cli_status_free(&st);
	if (r < 0 || fflush(out) != 0) {
		fprintf(err, "vmhandoff: writing the status failed: %s\n", strerror(errno));
		return CLI_EXIT_DAEMON;
	}
	return CLI_EXIT_OK;
}

int cli_call(const char *socket_path, const struct vmh_ipc_req *req, struct vmh_ipc_reply *rep,
	     FILE *err)
{
	const char *path = socket_path ? socket_path : VMH_IPC_DEFAULT_SOCKET;
	int r = vmh_ipc_call(path, req, rep);

	if (r < 0) {
		cli_report_call_error(err, path, r);
		return CLI_EXIT_UNREACHABLE;
	}
	return CLI_EXIT_OK;
}

int cli_status_run(const char *socket_path, bool json, FILE *out, FILE *err)
{
	struct vmh_ipc_req req = { .type = VMH_IPC_STATUS, .budget_ms = CLI_STATUS_BUDGET_MS };
	struct vmh_ipc_reply rep;
	int code;

	code = cli_call(socket_path, &req, &rep, err);
	if (code != CLI_EXIT_OK)
		return code;
	if (rep.status != VMH_IPC_OK) {
		cli_report_status(err, &rep);
		code = CLI_EXIT_DAEMON;
	} else {
		code = print_status(&rep, json, out, err);
	}
	vmh_ipc_reply_clear(&rep);
	return code;
}
