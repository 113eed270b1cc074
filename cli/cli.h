/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmhandoff, the command-line tool: asks the local vmhandoffd over its
 * socket (lib/vmh_ipc.h) and prints the answer.
 *
 *   main.c         options, usage, dispatch
 *   status.c       the status command: the call, the exit code, and the
 *                  view both printers read (nodes of corosync's nodelist
 *                  joined with the registry's node records)
 *   status_text.c  the view as text for people
 *   status_json.c  the view as one JSON object for scripts
 *   config.c       the config command: the registry's domain XML of a VM
 *   history.c      the history command: the migrations of a VM this node's
 *                  vmhandoffd has seen, as text or JSON
 *   move.c         move, drain, undrain: pacemaker's tools make the change,
 *                  the registry shows how it goes
 *
 * The printers take a view and a FILE *, so the unit test runs them on a
 * canned reply (tests/unit/test_ipc.c compiles these files in).
 */
#ifndef VMH_CLI_H
#define VMH_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmh_ipc.h"
#include "vmh_registry.h"

#define CLI_VERSION "0.1"

/* Exit codes. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_DAEMON 1	/* the daemon answered an error, an image that
				 * does not decode, or the output failed */
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_UNREACHABLE 3	/* no answer from the daemon */

#define CLI_STATUS_BUDGET_MS 5000

/* One node: in corosync's nodelist (from the reply), in the registry's
 * image, or both. */
struct cli_node_row {
	uint32_t nodeid;
	const char *name;			/* "?" when not in the nodelist */
	bool in_nodelist;
	bool member;				/* in the daemon's CPG membership */
	const struct vmh_node_info *reg;	/* registry's record, or NULL */
};

/* What the printers print: a STATUS reply with its image decoded. */
struct cli_status {
	const struct vmh_ipc_reply *rep;	/* borrowed */
	bool has_image;
	struct vmh_reg_image img;		/* empty without an image */
	size_t n_rows;
	struct cli_node_row *rows;		/* sorted by nodeid */
};

/* 0; -EBADMSG (the image does not decode), -ENOMEM. */
int cli_status_init(struct cli_status *st, const struct vmh_ipc_reply *rep);
void cli_status_free(struct cli_status *st);

/* The row of a node id, or NULL; its name, "?" if not in the nodelist. */
const struct cli_node_row *cli_node_find(const struct cli_status *st, uint32_t nodeid);
const char *cli_node_name(const struct cli_status *st, uint32_t nodeid);
const char *cli_vm_state_str(enum vmh_vm_state s);
/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void cli_hex(char *out, const uint8_t *bytes, size_t n);
/* The registry's destination of a migrating VM, 0 if it is not migrating. */
uint32_t cli_migration_dst(const struct cli_status *st, const char *vm);
/* Percentage of the migration's data processed, or -1 if unknown. */
double cli_progress_percent(const struct vmh_ipc_progress *p);

/* Printers: 0, or -1 if writing failed. */
int cli_status_text(FILE *f, const struct cli_status *st);
int cli_status_json(FILE *f, const struct cli_status *st);
/* Shared by the printers: "512 B", "4.0 KiB"; a JSON string (escaped),
 * and the same or null for NULL or "". */
void cli_text_bytes(char *buf, size_t size, uint64_t v);
void cli_json_str(FILE *f, const char *s);
void cli_json_str_or_null(FILE *f, const char *s);

/* One request to the daemon at socket_path (NULL: the default):
 * CLI_EXIT_OK with *rep filled (check rep->status), or
 * CLI_EXIT_UNREACHABLE after saying why on err. */
int cli_call(const char *socket_path, const struct vmh_ipc_req *req, struct vmh_ipc_reply *rep,
	     FILE *err);
/* "vmhandoff: vmhandoffd answered: <status> (<reason>): <message>" */
void cli_report_status(FILE *err, const struct vmh_ipc_reply *rep);
/* Why vmh_ipc_call(path) returned r < 0, with what to check. */
void cli_report_call_error(FILE *err, const char *path, int r);

/* The status command against the daemon at socket_path; messages for
 * people go to err. Returns the exit code. */
int cli_status_run(const char *socket_path, bool json, FILE *out, FILE *err);

struct cli_move_opts {
	const char *vm;			/* the registry's name of the VM */
	const char *resource;		/* pacemaker's resource id (default: vm) */
	const char *node;
	bool wait, clear_after;
	unsigned timeout_s;
};
/* move VM NODE [--wait] [--timeout S] [--clear-after] [--resource RSC] */
int cli_move_run(const char *socket_path, const struct cli_move_opts *o, FILE *out, FILE *err);
/* drain NODE [--wait] [--timeout S] (drain true), undrain NODE (false) */
int cli_drain_run(const char *socket_path, const char *node, bool drain, bool wait,
		  unsigned timeout_s, FILE *out, FILE *err);

/* config VM [--push FILE]. Returns the exit code. */
int cli_config_run(const char *socket_path, const char *vm, const char *push_file, FILE *out,
		   FILE *err);

/* history VM [--json]: a HISTORY request, printed. Returns the exit code. */
int cli_history_run(const char *socket_path, const char *vm, bool json, FILE *out, FILE *err);
/* The printers of a HISTORY reply (OK) about vm: 0, or -1 if writing
 * failed. */
int cli_history_text(FILE *f, const char *vm, const struct vmh_ipc_reply *rep);
int cli_history_json(FILE *f, const char *vm, const struct vmh_ipc_reply *rep);
/* The activation gap of an entry: libvirt's downtime plus the
 * destination's resume delay; false when either is unknown. */
bool cli_history_gap(const struct vmh_hist_entry *e, double *gap_ms);

#endif
