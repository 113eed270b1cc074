/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ocf:vmhandoff:VirtualDomain as pacemaker runs it: a front that answers
 * the common recurring monitor of a running domain itself, in about a
 * millisecond, and execs the full agent (vmhandoff-ra), with the same argv
 * and environment, for every other call. It links libc and the local
 * protocol's client only: loading libvirt, libxml2 and GnuTLS is most of
 * what a call of the full agent costs (~18 of ~30 ms here).
 *
 * It answers OCF_SUCCESS, and does nothing else (no log, no file written:
 * the full agent logs nothing on a healthy monitor either), only when
 * all of this holds:
 *   - the action is monitor, with an interval (not a probe);
 *   - no debug or trace switch is on (VMH_DEBUG, OCF_TRACE_RA, HA_debug=1:
 *     the full agent's debug log is wanted then);
 *   - the full agent left a ticket for this resource (lib/vmh_fastmon.h),
 *     after a recurring monitor of its own found the domain running, and
 *     the ticket holds for this call: the same parameters (digest of the
 *     environment's OCF_RESKEY_*) and the same config file (its stat
 *     identity; the domain's name was read from it);
 *   - vmhandoffd answers DOMSTATE for the domain within 500 ms,
 *     with a libvirt connection to the ticket's hypervisor URI: the
 *     domain is running, and the registry allows it on this node;
 *   - the utilization the full agent would compute from the domain's
 *     figures is what it last wrote to the CIB.
 *
 * Why that answer is the full agent's: its monitor answers OCF_SUCCESS for
 * a running domain, whatever else it does (a name cache write that is a
 * no-op, a utilization update that is a no-op when the figures are the
 * last written). What could make it answer otherwise is pinned by the
 * ticket: which domain (config, name), which hypervisor (URI), invalid
 * parameters (the ticket is written only for valid ones; the full monitor
 * reports the real state then too, but logs the error, so the front leaves
 * those calls to it), monitor_scripts and registry=false (no ticket). So
 * the parameter validation is the full agent's own: any parameter changed
 * since its last recurring monitor sends the call to it, and a start or a
 * validate-all with invalid parameters fails there as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmh_fastmon.h"
#include "vmh_ipc.h"

/* The full agent where make install puts it; the Makefile always says
 * (RA_FULL_DIR), this is for tools that compile the file alone. */
#ifndef VMH_RA_FULL_PATH
#define VMH_RA_FULL_PATH "/usr/libexec/vmhandoff/vmhandoff-ra"
#endif

/* A daemon that has not answered by then (it answers DOMSTATE at once
 * when it runs) is left to the full agent: the op timeout is seconds. */
#define FRONT_BUDGET_MS 400
#define FRONT_GRACE_MS 100

#define OCF_SUCCESS 0
#define OCF_ERR_INSTALLED 5

extern char **environ;

/* The full agent: next to this program (the build tree, the test lab),
 * else where make install put it. Never returns. */
static void __attribute__((noreturn)) full_agent(char **argv)
{
	char self[PATH_MAX], next[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(next, sizeof(next), "%s/vmhandoff-ra", self);
			execv(next, argv);
		}
	}
	execv(VMH_RA_FULL_PATH, argv);
	dprintf(STDERR_FILENO, "ocf-exit-reason:cannot run the agent %s: %s\n", VMH_RA_FULL_PATH,
		strerror(errno));
	_exit(OCF_ERR_INSTALLED);
}

static bool env_on(const char *name)
{
	const char *v = getenv(name);

	return v && *v;
}

/* monitor with an interval (pacemaker gives it in ms); unset or "0" is a
 * probe, anything unexpected goes to the full agent */
static bool recurring(void)
{
	const char *s = getenv("OCF_RESKEY_CRM_meta_interval");

	return s && s[0] >= '1' && s[0] <= '9' && strspn(s, "0123456789") == strlen(s);
}

/* A small file, whole, NUL-terminated. 0 or -errno. */
static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len);
	close(fd);
	if (n < 0 || (size_t)n >= len)
		return n < 0 ? -EIO : -EFBIG;
	buf[n] = '\0';
	return 0;
}

static bool ticket(const char *rsc, struct vmh_fastmon *t)
{
	char path[PATH_MAX], text[VMH_FASTMON_TEXT_MAX], id[VMH_FASTMON_ID_MAX + 1];

	return vmh_fastmon_path(getenv("HA_RSCTMP"), rsc, VMH_FASTMON_KIND, path,
				sizeof(path)) == 0 &&
	       read_small(path, text, sizeof(text)) == 0 && vmh_fastmon_parse(text, t) == 0 &&
	       t->params == vmh_fastmon_digest(environ) &&
	       vmh_fastmon_config_id(t->config, id, sizeof(id)) == 0 &&
	       strcmp(id, t->config_id) == 0;
}

/* The utilization the full agent would want is the one it last wrote. */
static bool utilization_written(const char *rsc, const struct vmh_fastmon *t,
				const struct vmh_ipc_reply *rep)
{
	char path[PATH_MAX], want[VMH_FASTMON_UTIL_TEXT_MAX], have[VMH_FASTMON_UTIL_TEXT_MAX];
	long long v[VMH_UTIL_COUNT];

	vmh_fastmon_util_values(t->util, rep->dom_vcpus, rep->dom_max_mem_kib, v);
	vmh_fastmon_util_text(v, want, sizeof(want));
	return vmh_fastmon_path(getenv("HA_RSCTMP"), rsc, VMH_FASTMON_UTIL_KIND, path,
				sizeof(path)) == 0 &&
	       read_small(path, have, sizeof(have)) == 0 && strcmp(want, have) == 0;
}

static bool fast_monitor(void)
{
	const char *rsc = getenv("OCF_RESOURCE_INSTANCE");
	const char *ha_debug = getenv("HA_debug");
	struct vmh_ipc_req req = { .type = VMH_IPC_DOMSTATE, .budget_ms = FRONT_BUDGET_MS };
	struct vmh_ipc_reply rep;
	struct vmh_fastmon t;
	bool ok;

	if (env_on("VMH_DEBUG") || env_on("OCF_TRACE_RA") || (ha_debug && strcmp(ha_debug, "1") == 0))
		return false;
	if (!recurring() || !rsc || !*rsc || !ticket(rsc, &t))
		return false;
	memcpy(req.vm, t.domain, sizeof(req.vm));
	if (vmh_ipc_call_grace(t.socket, &req, &rep, FRONT_GRACE_MS) < 0)
		return false;
	ok = rep.status == VMH_IPC_OK && rep.has_dom && rep.dom_state == VMH_IPC_DOM_RUNNING &&
	     rep.may_run && strcmp(rep.uri, t.uri) == 0 && utilization_written(rsc, &t, &rep);
	vmh_ipc_reply_clear(&rep);
	return ok;
}

int main(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "monitor") != 0 || !fast_monitor())
		full_agent(argv);
	return OCF_SUCCESS;
}
