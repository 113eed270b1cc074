/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The status as text for people: "Key: value" lines about this node, then
 * the nodes, the VMs and the migrations this node drives. Columns are as
 * wide as their longest entry (names run up to 64 characters). No
 * colours, so the same text goes to a terminal, a pipe or a log.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define OWNER_MAX (2 * (VMH_IPC_NODE_NAME_MAX + 16) + 8)
#define DEPARTURE_MAX 160
#define BYTES_TEXT_MAX 32

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static int widest(int w, const char *s)
{
	int len = (int)strlen(s);

	return len > w ? len : w;
}

/* "512 B", "4.0 KiB", "8.0 GiB" */
void cli_text_bytes(char *buf, size_t size, uint64_t v)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double x = (double)v;
	size_t u = 0;

	if (v < 1024) {
		snprintf(buf, size, "%" PRIu64 " B", v);
		return;
	}
	x /= 1024;
	while (x >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		x /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f %s", x, units[u]);
}

/* " at 2024-01-31 12:00:00 UTC", or "" when the time is unknown. */
static void text_time(char *buf, size_t size, uint64_t epoch_s)
{
	time_t t = (time_t)epoch_s;
	struct tm tm;

	if (epoch_s == 0 || !gmtime_r(&t, &tm) || !strftime(buf, size, " at %Y-%m-%d %H:%M:%S UTC", &tm))
		buf[0] = '\0';
}

/* A node's last departure and what the registry knows of it since: a
 * lost node that is neither fenced nor expired blocks takeovers. */
static void text_departure(char *buf, size_t size, const struct vmh_node_info *n)
{
	char when[48];

	if (!n || n->left == 0) {
		snprintf(buf, size, "-");
	} else if (n->fenced_for == n->left) {
		text_time(when, sizeof(when), n->fence_time);
		snprintf(buf, size, "%s in ring %" PRIu64 ", fenced%s", n->clean ? "left" : "lost",
			 n->left, when);
	} else if (n->expired_for == n->left) {
		snprintf(buf, size, "%s in ring %" PRIu64 ", expired", n->clean ? "left" : "lost",
			 n->left);
	} else if (n->clean) {
		snprintf(buf, size, "left in ring %" PRIu64 " (clean leave)", n->left);
	} else {
		snprintf(buf, size, "lost in ring %" PRIu64 ", NOT fenced or expired yet", n->left);
	}
}

static void text_header(FILE *f, const struct cli_status *st)
{
	const struct vmh_ipc_reply *rep = st->rep;

	fprintf(f, "Node:             %s (id %" PRIu32 ")\n", cli_node_name(st, rep->self), rep->self);
	fprintf(f, "Corosync quorum:  %s\n", yes_no(rep->flags & VMH_IPC_F_LOCAL_QUORATE));
	fprintf(f, "Registry quorum:  %s\n", yes_no(rep->flags & VMH_IPC_F_QUORATE));
	fprintf(f, "Joined:           %s\n", yes_no(rep->flags & VMH_IPC_F_IN_CONFIG));
	fprintf(f, "Syncing:          %s\n", yes_no(rep->flags & VMH_IPC_F_SYNCING));
	if (rep->ring)
		fprintf(f, "Ring:             %" PRIu64 "\n", rep->ring);
	if (st->has_image)
		fprintf(f, "Registry:         last sync in ring %" PRIu64 ", %" PRIu32 " voters\n",
			st->img.config, st->img.voters);
	else
		fprintf(f, "Registry:         no state in the reply\n");
	if (rep->message[0])
		fprintf(f, "Message:          %s\n", rep->message);
}

static void text_nodes(FILE *f, const struct cli_status *st)
{
	int wid = 2, wname = 4, waddr = 7;
	char id[16], dep[DEPARTURE_MAX];

	fprintf(f, "\nNodes:\n");
	if (st->n_rows == 0) {
		fprintf(f, "  none\n");
		return;
	}
	for (size_t i = 0; i < st->n_rows; i++) {
		const struct cli_node_row *row = &st->rows[i];

		snprintf(id, sizeof(id), "%" PRIu32, row->nodeid);
		wid = widest(wid, id);
		wname = widest(wname, row->name);
		waddr = widest(waddr, row->reg && row->reg->addr[0] ? row->reg->addr : "-");
	}
	fprintf(f, "  %-*s  %-*s  %-6s  %-7s  %-*s  %s\n", wid, "ID", wname, "NAME", "MEMBER",
		"QUORATE", waddr, "ADDRESS", "DEPARTURE");
	for (size_t i = 0; i < st->n_rows; i++) {
		const struct cli_node_row *row = &st->rows[i];

		text_departure(dep, sizeof(dep), row->reg);
		fprintf(f, "  %*" PRIu32 "  %-*s  %-6s  %-7s  %-*s  %s\n", wid, row->nodeid, wname,
			row->name, yes_no(row->member), row->reg ? yes_no(row->reg->quorate) : "-",
			waddr, row->reg && row->reg->addr[0] ? row->reg->addr : "-", dep);
	}
}

/* "-", "node-a (1)", or "node-a (1) -> node-b (2)". */
static void text_owner(char *buf, size_t size, const struct cli_status *st,
		       const struct vmh_vm_info *v)
{
	switch (v->state) {
	case VMH_VM_RUNNING:
		snprintf(buf, size, "%s (%" PRIu32 ")", cli_node_name(st, v->owner), v->owner);
		break;
	case VMH_VM_MIGRATING:
		snprintf(buf, size, "%s (%" PRIu32 ") -> %s (%" PRIu32 ")", cli_node_name(st, v->owner),
			 v->owner, cli_node_name(st, v->dst), v->dst);
		break;
	default:
		snprintf(buf, size, "-");
		break;
	}
}

/* Short digest and size of the VM's XML, "none" without one. */
static void text_xml(char *buf, size_t size, const struct vmh_vm_info *v)
{
	char hex[2 * VMH_SHA256_LEN + 1], bytes[BYTES_TEXT_MAX];

	if (v->xml_len == 0) {
		snprintf(buf, size, "none");
		return;
	}
	cli_hex(hex, v->digest, 6);
	cli_text_bytes(bytes, sizeof(bytes), v->xml_len);
	snprintf(buf, size, "%s (%s)", hex, bytes);
}

static void text_vms(FILE *f, const struct cli_status *st)
{
	int wname = 4, wowner = 5;
	char owner[OWNER_MAX], xml[2 * VMH_SHA256_LEN + BYTES_TEXT_MAX + 8];

	fprintf(f, "\nVMs:\n");
	if (st->img.n_vms == 0) {
		fprintf(f, "  none\n");
		return;
	}
	for (size_t i = 0; i < st->img.n_vms; i++) {
		text_owner(owner, sizeof(owner), st, &st->img.vms[i]);
		wname = widest(wname, st->img.vms[i].name);
		wowner = widest(wowner, owner);
	}
	fprintf(f, "  %-*s  %-9s  %-*s  %6s  %-8s  %s\n", wname, "NAME", "STATE", wowner, "OWNER",
		"EPOCH", "FENCING", "XML");
	for (size_t i = 0; i < st->img.n_vms; i++) {
		const struct vmh_vm_info *v = &st->img.vms[i];

		text_owner(owner, sizeof(owner), st, v);
		text_xml(xml, sizeof(xml), v);
		fprintf(f, "  %-*s  %-9s  %-*s  %6" PRIu64 "  %-8s  %s\n", wname, v->name,
			cli_vm_state_str(v->state), wowner, owner, v->epoch,
			v->require_fencing ? "required" : "optional", xml);
	}
}

static void text_migration(FILE *f, const struct cli_status *st, const struct vmh_ipc_progress *p)
{
	uint32_t dst = cli_migration_dst(st, p->vm);
	double pct = cli_progress_percent(p);
	char total[BYTES_TEXT_MAX];

	cli_text_bytes(total, sizeof(total), p->data_total);
	fprintf(f, "  %s", p->vm);
	if (dst)
		fprintf(f, " to %s (%" PRIu32 ")", cli_node_name(st, dst), dst);
	if (pct >= 0)
		fprintf(f, ": %.1f%% of %s", pct, total);
	else
		fprintf(f, ": ?%% of %s", total);
	fprintf(f, ", %.1f MiB/s, iteration %" PRIu32 ", %.1f s, expected downtime %" PRIu64 " ms\n",
		(double)p->mem_bps / (1024.0 * 1024.0), p->iteration, (double)p->elapsed_ms / 1000.0,
		p->downtime_ms);
}

int cli_status_text(FILE *f, const struct cli_status *st)
{
	text_header(f, st);
	text_nodes(f, st);
	text_vms(f, st);
	if (st->rep->n_progress) {
		fprintf(f, "\nMigrations from this node:\n");
		for (size_t i = 0; i < st->rep->n_progress; i++)
			text_migration(f, st, &st->rep->progress[i]);
	}
	return ferror(f) ? -1 : 0;
}
