/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmhandoff move VM NODE / drain NODE / undrain NODE: pacemaker's own tools
 * make the change (crm_resource --move/--clear, crm_standby: the same
 * constraint and attribute an operator's command makes, run without a
 * shell), and with --wait the local vmhandoffd's registry shows how it
 * goes: one line per change of a VM's state or owner, the migration's
 * progress when this node drives it, and the result.
 *
 * Exit status: 0 done; 1 the move or drain did not complete (aborted,
 * timed out, a pacemaker tool failed); 2 bad command line (an unknown
 * node or VM); 3 vmhandoffd unreachable.
 */
#include <errno.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "vmh_time.h"

extern char **environ;

#define POLL_MS 200

/* Runs a pacemaker tool (argv[0] looked up in PATH), its output on err's
 * descriptor. Its exit status, or -1 if it could not run. */
static int run_tool(char *const argv[], FILE *err)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status, r;

	fflush(err);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fileno(err), STDOUT_FILENO);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		fprintf(err, "vmhandoff: cannot run %s: %s\n", argv[0], strerror(r));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* One STATUS; 0 with *st (free with cli_status_free and clear rep), or an
 * exit code after saying why. */
static int fetch(const char *socket_path, struct vmh_ipc_reply *rep, struct cli_status *st,
		 FILE *err)
{
	struct vmh_ipc_req req = { .type = VMH_IPC_STATUS, .budget_ms = CLI_STATUS_BUDGET_MS };
	int r = cli_call(socket_path, &req, rep, err);

	if (r != CLI_EXIT_OK)
		return r;
	if (rep->status != VMH_IPC_OK) {
		cli_report_status(err, rep);
	} else if (cli_status_init(st, rep) < 0) {
		fprintf(err, "vmhandoff: vmhandoffd's registry image does not decode\n");
	} else {
		return 0;
	}
	vmh_ipc_reply_clear(rep);
	return CLI_EXIT_DAEMON;
}

static const struct vmh_vm_info *find_vm(const struct cli_status *st, const char *vm)
{
	for (size_t i = 0; i < st->img.n_vms; i++)
		if (strcmp(st->img.vms[i].name, vm) == 0)
			return &st->img.vms[i];
	return NULL;
}

static uint32_t node_id(const struct cli_status *st, const char *name)
{
	for (size_t i = 0; i < st->n_rows; i++)
		if (st->rows[i].in_nodelist && strcmp(st->rows[i].name, name) == 0)
			return st->rows[i].nodeid;
	return 0;
}

/* "running on node2 (epoch 5)", "migrating node1 -> node2 (epoch 4)" */
static void describe(const struct cli_status *st, const struct vmh_vm_info *v, char *buf,
		     size_t len)
{
	if (!v)
		snprintf(buf, len, "not in the registry");
	else if (v->state == VMH_VM_RUNNING)
		snprintf(buf, len, "running on %s (epoch %" PRIu64 ")", cli_node_name(st, v->owner),
			 v->epoch);
	else if (v->state == VMH_VM_MIGRATING)
		snprintf(buf, len, "migrating %s -> %s (epoch %" PRIu64 ")",
			 cli_node_name(st, v->owner), cli_node_name(st, v->dst), v->epoch);
	else
		snprintf(buf, len, "stopped (epoch %" PRIu64 ")", v->epoch);
}

/* Elapsed seconds since t0 (ms), as "12.3 s". */
static double since_s(int64_t t0)
{
	return (double)(vmh_now_ms() - t0) / 1000.0;
}

/* Progress of vm's migration if this node drives it: printed as a bar on
 * a terminal, else as a line at most once a second. */
static void show_progress(const struct cli_status *st, const char *vm, bool tty,
			  int64_t *last_line, FILE *out)
{
	const struct vmh_ipc_progress *p = NULL;
	double pct;

	for (size_t i = 0; i < st->rep->n_progress; i++)
		if (strcmp(st->rep->progress[i].vm, vm) == 0)
			p = &st->rep->progress[i];
	if (!p || (pct = cli_progress_percent(p)) < 0)
		return;
	if (tty) {
		int filled = (int)(pct / 5);

		fprintf(out, "\r%s: [%.*s%*s] %5.1f%% %6.1f MiB/s dirty %" PRIu64 " pages/s iteration %" PRIu32 " ",
			vm, filled, "####################", 20 - filled, "", pct,
			(double)p->mem_bps / 1048576.0, p->dirty_rate, p->iteration);
	} else if (vmh_now_ms() - *last_line >= 1000) {
		*last_line = vmh_now_ms();
		fprintf(out, "%s: copied %.1f%% (%.1f of %.1f MiB, %.1f MiB remaining), %.1f MiB/s, "
			"dirty %" PRIu64 " pages/s, iteration %" PRIu32 "\n", vm, pct,
			(double)p->data_processed / 1048576.0, (double)p->data_total / 1048576.0,
			(double)p->data_remaining / 1048576.0, (double)p->mem_bps / 1048576.0,
			p->dirty_rate, p->iteration);
	}
	fflush(out);
}

int cli_move_run(const char *socket_path, const struct cli_move_opts *o, FILE *out, FILE *err)
{
	char *move[] = { "crm_resource", "--move", "--resource", (char *)o->resource,
			 "--node", (char *)o->node, NULL };
	char *clear[] = { "crm_resource", "--clear", "--resource", (char *)o->resource, NULL };
	char settle_timeout[32];
	char *settle[] = { "crm_resource", "--wait", "--timeout", settle_timeout, NULL };
	/* clearing the constraint before pacemaker is done with the move
	 * would let it plan the VM back (a restart the registry refuses, and
	 * a failed start): --clear-after waits, always */
	bool wait = o->wait || o->clear_after;
	bool tty = isatty(fileno(out)), moved = false;
	struct vmh_ipc_reply rep;
	struct cli_status st;
	char was[128] = "", now[128];
	int64_t t0 = vmh_now_ms(), deadline = t0 + (int64_t)o->timeout_s * 1000, last_line = 0;
	uint32_t target;
	int rc;

	rc = fetch(socket_path, &rep, &st, err);
	if (rc)
		return rc;
	target = node_id(&st, o->node);
	if (!target || !find_vm(&st, o->vm)) {
		fprintf(err, "vmhandoff: %s\n", !target ? "no such node in corosync's nodelist" :
			"the registry does not know this VM");
		cli_status_free(&st);
		vmh_ipc_reply_clear(&rep);
		return CLI_EXIT_USAGE;
	}
	describe(&st, find_vm(&st, o->vm), was, sizeof(was));
	cli_status_free(&st);
	vmh_ipc_reply_clear(&rep);
	fprintf(out, "%s: %s; moving it to %s\n", o->vm, was, o->node);
	if (run_tool(move, err) != 0) {
		fprintf(err, "vmhandoff: crm_resource --move of %s to %s failed\n", o->resource, o->node);
		return CLI_EXIT_DAEMON;
	}
	if (!wait)
		goto done;
	rc = CLI_EXIT_DAEMON;
	for (;;) {
		const struct vmh_vm_info *v;
		int r = fetch(socket_path, &rep, &st, err);

		if (r) {
			rc = r;
			break;
		}
		v = find_vm(&st, o->vm);
		describe(&st, v, now, sizeof(now));
		if (strcmp(now, was) != 0) {
			fprintf(out, "%s%s: %s (%.1f s)\n", tty ? "\n" : "", o->vm, now, since_s(t0));
			snprintf(was, sizeof(was), "%s", now);
		}
		if (v && v->state == VMH_VM_MIGRATING) {
			moved = true;
			show_progress(&st, o->vm, tty, &last_line, out);
		}
		if (v && v->state == VMH_VM_RUNNING && v->owner == target) {
			fprintf(out, "%s: moved to %s, %s %.1f s after the move command\n", o->vm, o->node,
				moved ? "live-migrated," : "running there", since_s(t0));
			rc = CLI_EXIT_OK;
		} else if (moved && v && v->state == VMH_VM_RUNNING) {
			fprintf(err, "vmhandoff: %s: the handoff to %s was aborted: %s\n", o->vm, o->node, now);
		} else if (vmh_now_ms() > deadline) {
			fprintf(err, "vmhandoff: %s: not on %s after %u s: %s\n", o->vm, o->node,
				o->timeout_s, now);
		} else {
			cli_status_free(&st);
			vmh_ipc_reply_clear(&rep);
			usleep(POLL_MS * 1000);
			continue;
		}
		cli_status_free(&st);
		vmh_ipc_reply_clear(&rep);
		break;
	}
done:
	if (o->clear_after && rc == CLI_EXIT_OK) {
		/* the registry has it on the target; pacemaker's migrate_from
		 * (and the transition) may still run: let them end first */
		int64_t left_s = (deadline - vmh_now_ms()) / 1000;

		snprintf(settle_timeout, sizeof(settle_timeout), "%llds",
			 (long long)(left_s > 5 ? left_s : 5));
		if (run_tool(settle, err) != 0) {
			fprintf(err, "vmhandoff: pacemaker did not settle within %s: the move constraint of %s is left in place (crm_resource --clear --resource %s)\n",
				settle_timeout, o->resource, o->resource);
			rc = CLI_EXIT_DAEMON;
		} else if (run_tool(clear, err) != 0) {
			fprintf(err, "vmhandoff: crm_resource --clear of %s failed\n", o->resource);
			rc = CLI_EXIT_DAEMON;
		}
	} else if (o->clear_after) {
		fprintf(err, "vmhandoff: the move did not complete: the move constraint of %s is left in place (crm_resource --clear --resource %s)\n",
			o->resource, o->resource);
	}
	fflush(out);
	return wait ? rc : CLI_EXIT_OK;
}

/* VMs the registry has on node (running there, or migrating from or to it). */
static size_t on_node(const struct cli_status *st, uint32_t node, char *names, size_t len)
{
	size_t n = 0, used = 0;

	names[0] = '\0';
	for (size_t i = 0; i < st->img.n_vms; i++) {
		const struct vmh_vm_info *v = &st->img.vms[i];

		if (v->state == VMH_VM_STOPPED || (v->owner != node && v->dst != node))
			continue;
		n++;
		if (used < len)
			used += (size_t)snprintf(names + used, len - used, "%s%s", used ? " " : "", v->name);
	}
	return n;
}

/* What was last printed of a VM during a drain. */
struct seen_vm {
	char name[VMH_REG_NAME_MAX + 1];
	char state[128];
};

static struct seen_vm *seen_find(struct seen_vm **seen, size_t *n, const char *name)
{
	struct seen_vm *grown;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*seen)[i].name, name) == 0)
			return &(*seen)[i];
	grown = realloc(*seen, (*n + 1) * sizeof(**seen));
	if (!grown)
		return NULL;
	*seen = grown;
	snprintf(grown[*n].name, sizeof(grown[*n].name), "%s", name);
	grown[*n].state[0] = '\0';
	return &grown[(*n)++];
}

int cli_drain_run(const char *socket_path, const char *node, bool drain, bool wait,
		  unsigned timeout_s, FILE *out, FILE *err)
{
	char *standby[] = { "crm_standby", "--node", (char *)node, "--update",
			    drain ? "on" : "off", NULL };
	int64_t t0 = vmh_now_ms(), deadline = t0 + (int64_t)timeout_s * 1000;
	struct vmh_ipc_reply rep;
	struct cli_status st;
	struct seen_vm *seen = NULL;
	size_t n_seen = 0;
	char names[512];
	size_t n_on;
	uint32_t id;
	int rc;

	rc = fetch(socket_path, &rep, &st, err);
	if (rc)
		return rc;
	id = node_id(&st, node);
	if (!id) {
		fprintf(err, "vmhandoff: %s: no such node in corosync's nodelist\n", node);
		cli_status_free(&st);
		vmh_ipc_reply_clear(&rep);
		return CLI_EXIT_USAGE;
	}
	/* separate statement: the argument order of a call is unspecified */
	n_on = on_node(&st, id, names, sizeof(names));
	fprintf(out, "%s: %s; %zu VM(s) on it: %s\n", node, drain ? "standby on" : "standby off",
		n_on, names[0] ? names : "-");
	/* what is on the node now is known: print changes only */
	for (size_t i = 0; i < st.img.n_vms; i++) {
		const struct vmh_vm_info *v = &st.img.vms[i];
		struct seen_vm *s;

		if ((v->owner == id || v->dst == id) && (s = seen_find(&seen, &n_seen, v->name)))
			describe(&st, v, s->state, sizeof(s->state));
	}
	cli_status_free(&st);
	vmh_ipc_reply_clear(&rep);
	if (run_tool(standby, err) != 0) {
		fprintf(err, "vmhandoff: crm_standby of %s failed\n", node);
		free(seen);
		return CLI_EXIT_DAEMON;
	}
	if (!drain || !wait) {
		free(seen);
		return CLI_EXIT_OK;
	}
	for (rc = CLI_EXIT_DAEMON;;) {
		int r = fetch(socket_path, &rep, &st, err);
		size_t left;

		if (r) {
			rc = r;
			break;
		}
		for (size_t i = 0; i < st.img.n_vms; i++) {
			const struct vmh_vm_info *v = &st.img.vms[i];
			struct seen_vm *s = NULL;
			char now[128];

			for (size_t k = 0; k < n_seen && !s; k++)
				if (strcmp(seen[k].name, v->name) == 0)
					s = &seen[k];
			/* only VMs that were or are on the node */
			if (!s && v->owner != id && v->dst != id)
				continue;
			if (!s && !(s = seen_find(&seen, &n_seen, v->name)))
				continue;
			describe(&st, v, now, sizeof(now));
			if (strcmp(now, s->state) != 0) {
				fprintf(out, "%s: %s (%.1f s)\n", v->name, now, since_s(t0));
				snprintf(s->state, sizeof(s->state), "%s", now);
			}
		}
		fflush(out);
		left = on_node(&st, id, names, sizeof(names));
		cli_status_free(&st);
		vmh_ipc_reply_clear(&rep);
		if (left == 0) {
			fprintf(out, "%s: empty after %.1f s\n", node, since_s(t0));
			rc = CLI_EXIT_OK;
			break;
		}
		if (vmh_now_ms() > deadline) {
			fprintf(err, "vmhandoff: %s: not empty after %u s; still on it: %s\n", node,
				timeout_s, names);
			break;
		}
		usleep(POLL_MS * 1000);
	}
	free(seen);
	return rc;
}
