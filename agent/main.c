/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ocf:vmhandoff:VirtualDomain - entry point and action table.
 *
 * pacemaker-execd runs this program once per action with the resource's
 * parameters in OCF_RESKEY_* and the op timeout in
 * OCF_RESKEY_CRM_meta_timeout. The action runs on a worker thread; the
 * main thread is its watchdog: if the action has not answered shortly
 * before the op timeout (libvirtd hung, a peer vanished), the action's
 * fallback answers instead, from what can be known without libvirt, so
 * pacemaker gets a reasoned result rather than a timeout.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "ra.h"
#include "vmh_log.h"
#include "vmh_time.h"

extern char **environ;

/* ra-metadata/VirtualDomain.xml, embedded by agent/ra_metadata.S */
extern const char vmh_ra_metadata[];

enum param_policy {
	PARAMS_NONE,		/* meta-data, usage: no parameters needed */
	PARAMS_STRICT,		/* a bad parameter fails the action */
	PARAMS_LENIENT,		/* report the real state even with bad params */
};

struct action {
	const char *name;
	ra_rc (*run)(struct ra *ra);
	enum param_policy params;
	int64_t default_timeout_ms;	/* when pacemaker gives none */
	ra_rc (*fallback)(struct ra *ra, const char *why);
};

static ra_rc ra_meta_data(struct ra *ra);
static ra_rc ra_validate_all(struct ra *ra);
static ra_rc ra_usage(struct ra *ra);

static const struct action actions[] = {
	{ "start", ra_start, PARAMS_STRICT, 90000, NULL },
	{ "stop", ra_stop, PARAMS_LENIENT, 90000, ra_stop_fallback },
	{ "monitor", ra_monitor, PARAMS_LENIENT, 30000, ra_monitor_without_libvirt },
	{ "status", ra_monitor, PARAMS_LENIENT, 30000, ra_monitor_without_libvirt },
	{ "migrate_to", ra_migrate_to, PARAMS_STRICT, 120000, NULL },
	{ "migrate_from", ra_migrate_from, PARAMS_STRICT, 60000, NULL },
	{ "validate-all", ra_validate_all, PARAMS_STRICT, 5000, NULL },
	{ "reload-agent", ra_validate_all, PARAMS_STRICT, 5000, NULL },
	{ "meta-data", ra_meta_data, PARAMS_NONE, 5000, NULL },
	{ "usage", ra_usage, PARAMS_NONE, 5000, NULL },
	{ "help", ra_usage, PARAMS_NONE, 5000, NULL },
};

void ra_exit_reason(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vmh_log(VMH_LOG_ERR, "%s", msg);
	/* pacemaker-execd picks this line up as the OCF 1.1 exit reason */
	dprintf(STDERR_FILENO, "ocf-exit-reason:%s\n", msg);
}

int ra_virt(struct ra *ra)
{
	if (ra->virt)
		return 0;
	if (vmh_virt_open(ra->p.hypervisor, &ra->virt) < 0) {
		vmh_log(VMH_LOG_ERR, "cannot connect to the hypervisor %s: %s",
			ra->p.hypervisor ? ra->p.hypervisor : "(libvirt default URI)",
			vmh_virt_error());
		ra->virt = NULL;
		return -EIO;
	}
	return 0;
}

static ra_rc ra_meta_data(struct ra *ra)
{
	(void)ra;
	fputs(vmh_ra_metadata, stdout);
	return PCMK_OCF_OK;
}

static ra_rc ra_usage(struct ra *ra)
{
	(void)ra;
	printf("usage: VirtualDomain {start|stop|monitor|status|migrate_to|migrate_from|"
	       "meta-data|validate-all|reload-agent}\n");
	return PCMK_OCF_OK;
}

static ra_rc ra_validate_all(struct ra *ra)
{
	if (!ra->params_ok) {
		ra_exit_reason("invalid parameter %s", ra->perr.text);
		return PCMK_OCF_NOT_CONFIGURED;
	}
	if (ra->dx_err == -EINVAL || ra->dx_err == -EFBIG) {
		ra_exit_reason("config %s: not a usable libvirt domain XML: %s", ra->p.config,
			       ra->dx_why);
		return PCMK_OCF_NOT_CONFIGURED;
	}
	if (ra->dx_err < 0) {
		ra_exit_reason("config %s: cannot read it: %s", ra->p.config, ra->dx_why);
		return PCMK_OCF_NOT_INSTALLED;
	}
	return PCMK_OCF_OK;
}

static const struct action *find_action(const char *name)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(actions[i].name, name) == 0)
			return &actions[i];
	return NULL;
}

/* Answer a little before pacemaker's own timeout fires (a tenth of it,
 * 1 s to 5 s): a reasoned error beats a timeout (which for stop means
 * fencing). */
static int64_t watchdog_margin_ms(int64_t timeout_ms)
{
	return vmh_share_ms(timeout_ms, 10, 1000, 5000);
}

int64_t ra_time_left_ms(const struct ra *ra, int64_t reserve_ms)
{
	int64_t left = vmh_ms_left(ra->answer_by_ms) - reserve_ms;

	return left > 0 ? left : 0;
}

static void setup_context(struct ra *ra, const struct action *a)
{
	const char *s = getenv("OCF_RESKEY_CRM_meta_timeout");
	const char *interval = getenv("OCF_RESKEY_CRM_meta_interval");
	const char *rsctmp = getenv("HA_RSCTMP");
	unsigned v;

	ra->timeout_ms = a->default_timeout_ms;
	if (s && vmh_parse_uint(s, 1, 86400000, &v) == 0)
		ra->timeout_ms = v;
	ra->deadline_ms = vmh_now_ms() + ra->timeout_ms;
	ra->answer_by_ms = ra->deadline_ms - watchdog_margin_ms(ra->timeout_ms);
	ra->probe = strcmp(a->name, "monitor") == 0 &&
		    (!interval || strcmp(interval, "0") == 0);
	ra->proc_root = getenv("VMH_PROC_ROOT") ? getenv("VMH_PROC_ROOT") : "/proc";
	snprintf(ra->cache_dir, sizeof(ra->cache_dir), "%s/vmhandoff",
		 rsctmp && rsctmp[0] ? rsctmp : "/run/resource-agents");

	if (a->params == PARAMS_NONE)
		return;
	ra->params_ok = vmh_params_parse(&ra->p, environ, &ra->perr) == 0;
	if (!ra->params_ok && ra->perr.count == 0) {
		vmh_log(VMH_LOG_ERR, "out of memory parsing parameters");
		exit(PCMK_OCF_UNKNOWN_ERROR);
	}
	if (ra->p.config) {
		/* before the read: the fast monitor's ticket may name the
		 * file only as it was when its domain name was read */
		if (vmh_fastmon_config_id(ra->p.config, ra->config_id, sizeof(ra->config_id)) < 0)
			ra->config_id[0] = '\0';
		ra->dx_err = vmh_domxml_load(ra->p.config, &ra->dx);
		snprintf(ra->dx_why, sizeof(ra->dx_why), "%s", vmh_domxml_error());
		if (ra->dx_err == 0) {
			ra->dom_name = strdup(ra->dx.name);
			ra->dom_uuid = ra->dx.uuid ? strdup(ra->dx.uuid) : NULL;
		}
	} else {
		ra->dx_err = -EINVAL;
		snprintf(ra->dx_why, sizeof(ra->dx_why), "the parameter config is not set");
	}
}

/* --- the watchdog ------------------------------------------------------ */

struct run_state {
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	bool done;
	ra_rc rc;
	struct ra *ra;
	const struct action *a;
};

static void *action_thread(void *arg)
{
	struct run_state *rs = arg;
	ra_rc rc = rs->a->run(rs->ra);

	pthread_mutex_lock(&rs->lock);
	rs->rc = rc;
	rs->done = true;
	pthread_cond_signal(&rs->done_cond);
	pthread_mutex_unlock(&rs->lock);
	return NULL;
}

static ra_rc run_with_watchdog(struct ra *ra, const struct action *a)
{
	struct run_state rs = { .ra = ra, .a = a };
	int64_t until = ra->answer_by_ms;
	pthread_t tid;
	ra_rc rc;

	pthread_mutex_init(&rs.lock, NULL);
	pthread_cond_init(&rs.done_cond, NULL);
	if (pthread_create(&tid, NULL, action_thread, &rs) != 0)
		return a->run(ra);
	pthread_mutex_lock(&rs.lock);
	while (!rs.done) {
		int64_t left = vmh_ms_left(until);
		int64_t wall = vmh_wall_ms() + left;
		struct timespec ts = { .tv_sec = wall / 1000, .tv_nsec = (wall % 1000) * 1000000 };

		if (left == 0)
			break;
		pthread_cond_timedwait(&rs.done_cond, &rs.lock, &ts);
	}
	if (rs.done) {
		rc = rs.rc;
		pthread_mutex_unlock(&rs.lock);
		pthread_join(tid, NULL);
		return rc;
	}
	pthread_mutex_unlock(&rs.lock);
	/* The action is stuck, most likely in a libvirt call. Answer without
	 * libvirt and leave: exiting ends the stuck thread with us. */
	if (a->fallback) {
		char why[128];

		snprintf(why, sizeof(why), "%s did not finish within %lld ms", a->name,
			 (long long)(ra->timeout_ms - watchdog_margin_ms(ra->timeout_ms)));
		return a->fallback(ra, why);
	}
	ra_exit_reason("%s of %s did not finish within %lld ms (op timeout %lld ms): "
		       "the hypervisor did not answer in time", a->name,
		       ra->dom_name ? ra->dom_name : "domain",
		       (long long)(ra->timeout_ms - watchdog_margin_ms(ra->timeout_ms)),
		       (long long)ra->timeout_ms);
	return PCMK_OCF_UNKNOWN_ERROR;
}

int main(int argc, char **argv)
{
	struct ra ra = { 0 };
	const struct action *a;
	char tag[160];
	const char *debug = getenv("VMH_DEBUG");
	const char *trace = getenv("OCF_TRACE_RA");
	ra_rc rc;

	if (argc != 2) {
		ra_usage(&ra);
		return PCMK_OCF_INVALID_PARAM;	/* OCF_ERR_ARGS */
	}
	ra.action = argv[1];
	ra.rsc = getenv("OCF_RESOURCE_INSTANCE");
	snprintf(tag, sizeof(tag), "VirtualDomain(%s)", ra.rsc ? ra.rsc : "default");
	vmh_log_open(tag, getenv("VMH_NO_SYSLOG") == NULL,
		     (debug && *debug) || (trace && *trace) ||
		     (getenv("HA_debug") && strcmp(getenv("HA_debug"), "1") == 0));
	vmh_log_hook_libraries();
	LIBXML_TEST_VERSION

	a = find_action(ra.action);
	if (!a) {
		ra_usage(&ra);
		return PCMK_OCF_UNIMPLEMENT_FEATURE;
	}
	setup_context(&ra, a);
	if (a->params == PARAMS_LENIENT && !ra.params_ok)
		vmh_log(VMH_LOG_ERR, "invalid parameter %s (reporting the domain's real state anyway)",
			ra.perr.text);
	if (a->params == PARAMS_STRICT && !ra.params_ok && a->run != ra_validate_all) {
		ra_exit_reason("invalid parameter %s", ra.perr.text);
		rc = PCMK_OCF_NOT_CONFIGURED;
		goto out;
	}
	if (a->params == PARAMS_NONE)
		rc = a->run(&ra);
	else
		rc = run_with_watchdog(&ra, a);
out:
	vmh_log(VMH_LOG_DEBUG, "%s returns %d", ra.action, (int)rc);
	vmh_log_close();
	/* No teardown of the libvirt connection: the process ends here and a
	 * close could block on a dead libvirtd. */
	fflush(stdout);
	_exit(rc);
}
