/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * monitor / status / probe.
 *
 * The rule this file exists for: "not running" (7) is said only when it is
 * known. A QEMU process for the domain means running, whatever libvirt or
 * the config file say; an unreadable config or an unreachable libvirtd
 * during a probe is not proof of anything (VirtualDomain answers 7 there,
 * a known way to get a VM started twice).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ra.h"
#include "vmh_log.h"
#include "vmh_qemuproc.h"
#include "vmh_time.h"

extern char **environ;

bool ra_state_running(const struct vmh_dom_status *st)
{
	return st->state == VMH_DOM_RUNNING;
}

bool ra_state_gone(const struct vmh_dom_status *st)
{
	return st->state == VMH_DOM_MISSING || st->state == VMH_DOM_SHUTOFF;
}

/* Nothing identifies the domain (no readable config, no cached name). */
static ra_rc answer_unidentified(struct ra *ra, const char *why)
{
	int n = vmh_qemuproc_any(ra->proc_root);

	if (n == 0) {
		vmh_log(VMH_LOG_NOTICE, "%s; no QEMU process runs on this node, so the domain "
			"is not running here", why);
		return PCMK_OCF_NOT_RUNNING;
	}
	ra_exit_reason("%s, and %s: cannot tell whether the domain runs here", why,
		       n < 0 ? "/proc cannot be read" : "QEMU processes run on this node");
	return PCMK_OCF_UNKNOWN_ERROR;
}

ra_rc ra_monitor_without_libvirt(struct ra *ra, const char *why)
{
	pid_t pid = 0;
	int n;

	if (!ra->dom_name)
		return answer_unidentified(ra, why);
	n = vmh_qemuproc_find(ra->proc_root, ra->dom_name, ra->dom_uuid, &pid);
	if (n > 0) {
		vmh_log(VMH_LOG_WARNING, "%s: %s; its QEMU process %ld runs: reporting it running",
			ra->dom_name, why, (long)pid);
		return PCMK_OCF_OK;
	}
	if (n == 0) {
		vmh_log(VMH_LOG_NOTICE, "%s: %s; no QEMU process of it exists: not running",
			ra->dom_name, why);
		return PCMK_OCF_NOT_RUNNING;
	}
	ra_exit_reason("%s: %s, and %s cannot be read: state unknown", ra->dom_name, why,
		       ra->proc_root);
	return PCMK_OCF_UNKNOWN_ERROR;
}

/* Run each monitor script (absolute paths, no shell); the first failure
 * fails the monitor with the script's output as the reason. */
static ra_rc run_monitor_scripts(struct ra *ra)
{
	const char *s = ra->p.monitor_scripts;

	while (s && *s) {
		char path[4096], out[512];
		size_t len, got = 0;
		int pipefd[2], status;
		posix_spawn_file_actions_t fa;
		char *argv[2] = { path, NULL };
		pid_t pid;

		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		len = strcspn(s, " \t\n");
		if (len == 0)
			break;
		snprintf(path, sizeof(path), "%.*s", (int)len, s);
		s += len;
		if (pipe2(pipefd, O_CLOEXEC) < 0)
			return PCMK_OCF_UNKNOWN_ERROR;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
		posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
		if (posix_spawn(&pid, path, &fa, NULL, argv, environ) != 0) {
			posix_spawn_file_actions_destroy(&fa);
			close(pipefd[0]);
			close(pipefd[1]);
			ra_exit_reason("monitor script %s cannot be run", path);
			return PCMK_OCF_UNKNOWN_ERROR;
		}
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[1]);
		for (;;) {
			struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
			int64_t left = vmh_ms_left(ra->deadline_ms);
			ssize_t n;
			char sink[256];

			if (poll(&pfd, 1, left > 1000 ? 1000 : (int)left) == 0) {
				if (vmh_ms_left(ra->deadline_ms) == 0)
					break;
				continue;
			}
			n = read(pipefd[0], got < sizeof(out) - 1 ? out + got : sink,
				 got < sizeof(out) - 1 ? sizeof(out) - 1 - got : sizeof(sink));
			if (n <= 0)
				break;
			if (got < sizeof(out) - 1)
				got += (size_t)n;
		}
		close(pipefd[0]);
		out[got] = '\0';
		if (vmh_ms_left(ra->deadline_ms) == 0)
			kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			out[strcspn(out, "\n")] = '\0';
			ra_exit_reason("monitor script %s for domain %s returned %d: %s", path,
				       ra->dom_name, WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
			return PCMK_OCF_UNKNOWN_ERROR;
		}
		vmh_log(VMH_LOG_DEBUG, "monitor script %s: ok", path);
	}
	return PCMK_OCF_OK;
}

static ra_rc answer_paused(struct ra *ra, const struct vmh_dom_status *st)
{
	const char *why = vmh_dom_paused_reason_name(st->reason);

	switch (st->reason) {
	case VIR_DOMAIN_PAUSED_MIGRATION:
	case VIR_DOMAIN_PAUSED_POSTCOPY:
	case VIR_DOMAIN_PAUSED_STARTING_UP:
		/* A migration or a start in progress: active here, as expected. */
		vmh_log(VMH_LOG_INFO, "%s is %s", ra->dom_name, why);
		return PCMK_OCF_OK;
	case VIR_DOMAIN_PAUSED_USER:
	case VIR_DOMAIN_PAUSED_SAVE:
	case VIR_DOMAIN_PAUSED_DUMP:
	case VIR_DOMAIN_PAUSED_SNAPSHOT:
	case VIR_DOMAIN_PAUSED_FROM_SNAPSHOT:
	case VIR_DOMAIN_PAUSED_UNKNOWN:
		/* Active, not failed, but not serving either: say so. A
		 * restart would throw the guest's state away, so this is not
		 * a failure for pacemaker to recover. */
		vmh_log(VMH_LOG_WARNING, "%s is %s: reporting it active but degraded",
			ra->dom_name, why);
		return PCMK_OCF_DEGRADED;
	default:
		ra_exit_reason("%s is %s", ra->dom_name, why);
		return PCMK_OCF_UNKNOWN_ERROR;
	}
}

ra_rc ra_monitor(struct ra *ra)
{
	struct vmh_dom_status st;
	pid_t pid = 0;
	ra_rc rc;
	int n;

	if (!ra->dom_name) {
		char why[512];

		ra->dom_name = ra_name_cache_load(ra);
		snprintf(why, sizeof(why), "config %s %s%s",
			 ra->p.config ? ra->p.config : "(not set)",
			 ra->dx_err == -ENOENT ? "does not exist" : "cannot be used: ",
			 ra->dx_err == -ENOENT ? "" : ra->dx_why);
		if (!ra->dom_name)
			return answer_unidentified(ra, why);
		vmh_log(VMH_LOG_WARNING, "%s; checking domain %s, the name this resource last had",
			why, ra->dom_name);
	}
	if (ra_virt(ra) < 0)
		return ra_monitor_without_libvirt(ra, "libvirt does not answer");
	if (vmh_virt_dom_status(ra->virt, ra->dom_name, &st) < 0) {
		char why[512];

		snprintf(why, sizeof(why), "libvirt failed: %s", vmh_virt_error());
		return ra_monitor_without_libvirt(ra, why);
	}

	switch (st.state) {
	case VMH_DOM_RUNNING:
	case VMH_DOM_SHUTTING_DOWN:
		rc = PCMK_OCF_OK;
		break;
	case VMH_DOM_PAUSED:
		rc = answer_paused(ra, &st);
		break;
	case VMH_DOM_PMSUSPENDED:
		vmh_log(VMH_LOG_WARNING, "%s is suspended by its guest: active but degraded",
			ra->dom_name);
		rc = PCMK_OCF_DEGRADED;
		break;
	case VMH_DOM_CRASHED:
		ra_exit_reason("%s crashed", ra->dom_name);
		return PCMK_OCF_UNKNOWN_ERROR;
	case VMH_DOM_MISSING:
	case VMH_DOM_SHUTOFF:
		n = vmh_qemuproc_find(ra->proc_root, ra->dom_name, ra->dom_uuid, &pid);
		if (n > 0) {
			ra_exit_reason("libvirt reports %s %s, but its QEMU process %ld runs",
				       ra->dom_name, vmh_dom_state_name(st.state), (long)pid);
			return PCMK_OCF_UNKNOWN_ERROR;
		}
		vmh_log(VMH_LOG_DEBUG, "%s is %s", ra->dom_name, vmh_dom_state_name(st.state));
		return PCMK_OCF_NOT_RUNNING;
	case VMH_DOM_UNKNOWN:
	default:
		return ra_monitor_without_libvirt(ra, "libvirt reports no state");
	}

	ra_name_cache_store(ra);
	if (st.state == VMH_DOM_RUNNING) {
		ra_rc scripts = run_monitor_scripts(ra);

		if (scripts != PCMK_OCF_OK)
			return scripts;
	}
	if (!ra->probe) {
		ra_utilization_update(ra);
		if (st.state == VMH_DOM_RUNNING)
			ra_fastmon_store(ra);
	}
	return rc;
}
