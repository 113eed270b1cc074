/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The status as one JSON object on one line, for scripts: the facts of
 * the text output, raw (ids, rings, bytes, milliseconds, seconds since
 * 1970) instead of formatted. Every key is always there; what is unknown
 * is null.
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

/*
 * Names and messages are printable ASCII by the protocol's rules, but
 * the escaper does not rely on it: quote and backslash get a backslash,
 * control characters and bytes above 0x7e become \u00XX (a byte that is
 * not ASCII is read as the code point of the same value, so the output is
 * valid JSON whatever the input).
 */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* A string, or null when it is empty. */
static void json_str_or_null(FILE *f, const char *s)
{
	if (s && s[0])
		json_str(f, s);
	else
		fputs("null", f);
}

void cli_json_str(FILE *f, const char *s)
{
	json_str(f, s);
}

void cli_json_str_or_null(FILE *f, const char *s)
{
	json_str_or_null(f, s);
}

static const char *json_bool(bool b)
{
	return b ? "true" : "false";
}

/* {"nodeid":N,"name":...} or null for node 0. */
static void json_node_ref(FILE *f, const struct cli_status *st, uint32_t nodeid)
{
	const struct cli_node_row *row = cli_node_find(st, nodeid);

	if (nodeid == 0) {
		fputs("null", f);
		return;
	}
	fprintf(f, "{\"nodeid\":%" PRIu32 ",\"name\":", nodeid);
	json_str_or_null(f, row && row->in_nodelist ? row->name : NULL);
	fputc('}', f);
}

static void json_header(FILE *f, const struct cli_status *st)
{
	const struct vmh_ipc_reply *rep = st->rep;

	fputs("{\"self\":", f);
	json_node_ref(f, st, rep->self);
	fprintf(f, ",\"corosync_quorate\":%s,\"registry_quorate\":%s,\"joined\":%s,\"syncing\":%s",
		json_bool(rep->flags & VMH_IPC_F_LOCAL_QUORATE),
		json_bool(rep->flags & VMH_IPC_F_QUORATE), json_bool(rep->flags & VMH_IPC_F_IN_CONFIG),
		json_bool(rep->flags & VMH_IPC_F_SYNCING));
	fprintf(f, ",\"ring\":%" PRIu64 ",\"message\":", rep->ring);
	json_str_or_null(f, rep->message);
	fputs(",\"registry\":", f);
	if (!st->has_image) {
		fputs("null", f);
		return;
	}
	fputs("{\"author\":", f);
	json_node_ref(f, st, st->img.author);
	fprintf(f, ",\"voters\":%" PRIu32 ",\"quorate\":%s,\"config\":%" PRIu64 ",\"ring\":%" PRIu64 "}",
		st->img.voters, json_bool(st->img.quorate), st->img.config, st->img.ring);
}

/* The registry's facts about a node: null when it has no record. */
static void json_departure(FILE *f, const struct vmh_node_info *n)
{
	if (!n || n->left == 0) {
		fputs("null", f);
		return;
	}
	fprintf(f, "{\"ring\":%" PRIu64 ",\"clean\":%s,\"fenced\":%s,\"expired\":%s,\"fence_time\":",
		n->left, json_bool(n->clean), json_bool(n->fenced_for == n->left),
		json_bool(n->expired_for == n->left));
	if (n->fence_time)
		fprintf(f, "%" PRIu64 "}", n->fence_time);
	else
		fputs("null}", f);
}

static void json_node(FILE *f, const struct cli_node_row *row)
{
	const struct vmh_node_info *n = row->reg;

	fprintf(f, "{\"nodeid\":%" PRIu32 ",\"name\":", row->nodeid);
	json_str_or_null(f, row->in_nodelist ? row->name : NULL);
	fprintf(f, ",\"in_nodelist\":%s,\"member\":%s,\"in_registry\":%s,\"quorate\":%s",
		json_bool(row->in_nodelist), json_bool(row->member), json_bool(n != NULL),
		n ? json_bool(n->quorate) : "null");
	fputs(",\"address\":", f);
	json_str_or_null(f, n ? n->addr : NULL);
	fputs(",\"departure\":", f);
	json_departure(f, n);
	fputc('}', f);
}

/* Canonical 8-4-4-4-12 text, or null for the all-zero "unspecified". */
static void json_uuid(FILE *f, const uint8_t uuid[16])
{
	static const uint8_t zero[16];
	char hex[33];

	if (memcmp(uuid, zero, sizeof(zero)) == 0) {
		fputs("null", f);
		return;
	}
	cli_hex(hex, uuid, 16);
	fprintf(f, "\"%.8s-%.4s-%.4s-%.4s-%.12s\"", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static void json_vm(FILE *f, const struct cli_status *st, const struct vmh_vm_info *v)
{
	char digest[2 * VMH_SHA256_LEN + 1];

	fputs("{\"name\":", f);
	json_str(f, v->name);
	fprintf(f, ",\"state\":\"%s\",\"owner\":", cli_vm_state_str(v->state));
	json_node_ref(f, st, v->owner);
	fputs(",\"dst\":", f);
	json_node_ref(f, st, v->dst);
	fprintf(f, ",\"epoch\":%" PRIu64 ",\"require_fencing\":%s,\"uuid\":", v->epoch,
		json_bool(v->require_fencing));
	json_uuid(f, v->uuid);
	cli_hex(digest, v->digest, VMH_SHA256_LEN);
	fprintf(f, ",\"xml_sha256\":\"%s\",\"xml_size\":%zu}", digest, v->xml_len);
}

static void json_migration(FILE *f, const struct cli_status *st, const struct vmh_ipc_progress *p)
{
	double pct = cli_progress_percent(p);

	fputs("{\"vm\":", f);
	json_str(f, p->vm);
	fputs(",\"to\":", f);
	json_node_ref(f, st, cli_migration_dst(st, p->vm));
	fputs(",\"percent\":", f);
	if (pct >= 0)
		fprintf(f, "%.1f", pct);
	else
		fputs("null", f);
	fprintf(f, ",\"mib_per_s\":%.2f,\"iteration\":%" PRIu32 ",\"elapsed_ms\":%" PRIu64
		",\"data_total\":%" PRIu64 ",\"data_processed\":%" PRIu64
		",\"data_remaining\":%" PRIu64 ",\"mem_bps\":%" PRIu64 ",\"dirty_rate\":%" PRIu64
		",\"downtime_ms\":%" PRIu64 "}",
		(double)p->mem_bps / (1024.0 * 1024.0), p->iteration, p->elapsed_ms, p->data_total,
		p->data_processed, p->data_remaining, p->mem_bps, p->dirty_rate, p->downtime_ms);
}

int cli_status_json(FILE *f, const struct cli_status *st)
{
	json_header(f, st);
	fputs(",\"nodes\":[", f);
	for (size_t i = 0; i < st->n_rows; i++) {
		fputs(i ? "," : "", f);
		json_node(f, &st->rows[i]);
	}
	fputs("],\"vms\":[", f);
	for (size_t i = 0; i < st->img.n_vms; i++) {
		fputs(i ? "," : "", f);
		json_vm(f, st, &st->img.vms[i]);
	}
	fputs("],\"migrations\":[", f);
	for (size_t i = 0; i < st->rep->n_progress; i++) {
		fputs(i ? "," : "", f);
		json_migration(f, st, &st->rep->progress[i]);
	}
	fputs("]}\n", f);
	return ferror(f) ? -1 : 0;
}
