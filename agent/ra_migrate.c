/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migrate_to / migrate_from: peer-to-peer live migration through libvirt's
 * C API, over the dedicated migration link.
 *
 * The migrate call runs on a thread of its own; this thread watches the
 * job: it logs progress, and cancels the migration when it stops making
 * progress (migration_abort_after) or when the op timeout comes close, so
 * that a cut link costs a failed migrate_to with the VM still running on
 * the source, not an op timeout followed by a destroy and a cold boot.
 *
 * With registry=true (vmhandoffd), the migration is a handoff: BEGIN in
 * the registry first (which also gives the target's migration-link
 * address), then the migration with VIR_MIGRATE_PAUSED, so that the
 * destination holds the complete state but stays paused until its
 * vmhandoffd sees HANDOFF_COMMIT delivered and resumes it; then COMMIT
 * (after success) or ABORT (after a failure or a cancel, on whose delivery
 * vmhandoffd resumes the source copy). migrate_from waits for the commit.
 * The agent never resumes either copy itself: whichever of the source's
 * and the destination's record is delivered first decides, everywhere.
 *
 * NOTE after a cancel, libvirt's source side still tells the target to
 * clean up (Finish) over the peer connection; with the link cut that RPC
 * waits for libvirtd's keepalive, and the migrate call returns only then.
 * We do not wait for it: once the job is cancelled and the domain runs
 * here, the answer is known, and the process exits with the call pending.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ra.h"
#include "vmh_log.h"
#include "vmh_time.h"
#include "vmh_sockkill.h"
#include "vmh_uri.h"
#include <netdb.h>

#define MiB (1024.0 * 1024.0)

struct migration {
	virDomainPtr dom;
	char *dconnuri;		/* libvirt peer URI of the target */
	char *miguri;		/* migration data URI, NULL: libvirt's choice */
	virTypedParameterPtr params;
	int nparams;
	unsigned long flags;
	int64_t settle_by;	/* cancel() gives up waiting at this time */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;		/* the migrate call returned */
	int result;
	char error[512];

	/* the latest job statistics, read by the poller thread: a query
	 * can block while QEMU is wedged (see cancel()) */
	struct progress {
		unsigned long long processed, remaining, dirty_bps, bps, iteration;
		bool active;
	} latest;
	int64_t progress_at;	/* when processed last grew, 0: not yet */

	/* from the JOB_COMPLETED event */
	bool have_final;
	unsigned long long final_elapsed_ms, final_downtime_ms, final_bytes, final_bps;
};

static void *migrate_thread(void *arg)
{
	struct migration *m = arg;
	int r = virDomainMigrateToURI3(m->dom, m->dconnuri, m->params, (unsigned)m->nparams,
				       (unsigned)m->flags);

	pthread_mutex_lock(&m->lock);
	m->result = r;
	if (r < 0)
		snprintf(m->error, sizeof(m->error), "%s", vmh_virt_error());
	m->done = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

static void job_completed_cb(virConnectPtr conn, virDomainPtr dom,
			     virTypedParameterPtr params, int nparams, void *opaque)
{
	struct migration *m = opaque;
	unsigned long long v;

	(void)conn, (void)dom;
	pthread_mutex_lock(&m->lock);
	m->have_final = true;
	if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_TIME_ELAPSED, &v) == 1)
		m->final_elapsed_ms = v;
	if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DOWNTIME, &v) == 1)
		m->final_downtime_ms = v;
	if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DATA_PROCESSED, &v) == 1)
		m->final_bytes = v;
	if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_MEMORY_BPS, &v) == 1)
		m->final_bps = v;
	pthread_mutex_unlock(&m->lock);
}

/* Did the user choose the migration link (or its URIs) by parameters? */
static bool link_configured(const struct vmh_params *p)
{
	return p->migrateuri || p->migrate_options_uri || p->migration_network_suffix ||
	       p->migration_network;
}

/* Where the migration goes: the peer URI and the data URI, by the rules
 * of VirtualDomain, except that migration_network (a CIDR) wins. link_addr
 * (the target's address published to the registry, NULL: none) counts as
 * migration_network's answer when the user configured no link. */
static ra_rc build_uris(struct ra *ra, const char *target, const char *link_addr,
			struct migration *m)
{
	const struct vmh_params *p = &ra->p;
	char *hypervisor = virConnectGetURI(vmh_virt_conn(ra->virt));
	char addr[64] = "";
	char *host = NULL;
	ra_rc rc = PCMK_OCF_UNKNOWN_ERROR;

	if (!hypervisor) {
		ra_exit_reason("cannot read the hypervisor URI: %s", vmh_virt_error());
		return rc;
	}
	if (p->migration_network) {
		struct vmh_cidr c;
		int r;

		vmh_cidr_parse(p->migration_network, &c);	/* checked by params */
		r = vmh_resolve_in_cidr(target, &c, addr, sizeof(addr));
		if (r < 0) {
			ra_exit_reason("migration_network %s: %s", p->migration_network,
				       r == -EHOSTUNREACH ? "the target node's name does not resolve"
							  : "no address of the target node lies in it");
			vmh_log(VMH_LOG_ERR, "target node was %s", target);
			rc = PCMK_OCF_NOT_CONFIGURED;
			goto out;
		}
		host = strdup(addr);
	} else if (link_addr && !link_configured(p)) {
		vmh_log(VMH_LOG_INFO, "%s: migrating over %s, the address %s published to the "
			"registry", ra->dom_name, link_addr, target);
		host = strdup(link_addr);
	} else {
		link_addr = NULL;
		host = vmh_uri_suffixed_host(target, p->migration_network_suffix);
	}
	if (!host)
		goto out;

	if (p->remoteuri) {
		m->dconnuri = vmh_uri_subst_node(p->remoteuri, target);
	} else {
		const char *user = p->migration_user && vmh_uri_user_ok(p->migration_user)
				   ? p->migration_user : NULL;

		m->dconnuri = vmh_uri_remote(hypervisor, p->migration_transport, user, host);
		if (!m->dconnuri) {
			ra_exit_reason("hypervisor URI %s cannot be turned towards %s", hypervisor, host);
			goto out;
		}
	}

	if (p->migrateuri)
		m->miguri = vmh_uri_subst_node(p->migrateuri, host);
	else if (p->migrate_options_uri)
		m->miguri = vmh_uri_subst_node(p->migrate_options_uri, host);
	else if (p->migration_network || p->migration_network_suffix || link_addr)
		m->miguri = vmh_uri_migration(host, p->migrateport);
	/* else: libvirt uses the target's migration_host / hostname */
	rc = PCMK_OCF_OK;
out:
	free(host);
	free(hypervisor);
	return rc;
}

static int build_params(struct ra *ra, struct migration *m)
{
	const struct vmh_params *p = &ra->p;
	int maxparams = 0;

	m->flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | p->migrate_option_flags;
	if (m->miguri &&
	    virTypedParamsAddString(&m->params, &m->nparams, &maxparams, VIR_MIGRATE_PARAM_URI,
				    m->miguri) < 0)
		return -ENOMEM;
	if (p->migration_speed &&
	    virTypedParamsAddULLong(&m->params, &m->nparams, &maxparams,
				    VIR_MIGRATE_PARAM_BANDWIDTH, p->migration_speed) < 0)
		return -ENOMEM;
	if (p->migration_parallel || p->migrate_options_parallel) {
		unsigned n = p->migration_parallel ? p->migration_parallel : p->migrate_options_parallel;

		m->flags |= VIR_MIGRATE_PARALLEL;
		if (virTypedParamsAddInt(&m->params, &m->nparams, &maxparams,
					 VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS, (int)n) < 0)
			return -ENOMEM;
	}
	if (p->migration_auto_converge)
		m->flags |= VIR_MIGRATE_AUTO_CONVERGE;
	if (p->migration_tls)
		m->flags |= VIR_MIGRATE_TLS;
	if (p->migration_postcopy)
		m->flags |= VIR_MIGRATE_POSTCOPY;	/* refused with registry=true */
	/* The destination stays paused: its vmhandoffd resumes it when the
	 * commit is delivered, never libvirt's Finish step. */
	if (p->registry)
		m->flags |= VIR_MIGRATE_PAUSED;
	if (p->migration_compression) {
		const char *s = p->migration_compression;

		m->flags |= VIR_MIGRATE_COMPRESSED;
		while (*s) {
			size_t len = strcspn(s, ",");
			char method[16];

			snprintf(method, sizeof(method), "%.*s", (int)len, s);
			if (virTypedParamsAddString(&m->params, &m->nparams, &maxparams,
						    VIR_MIGRATE_PARAM_COMPRESSION, method) < 0)
				return -ENOMEM;
			s += len;
			if (*s == ',')
				s++;
		}
	}
	return 0;
}

static void read_progress(virDomainPtr dom, struct progress *pr)
{
	virTypedParameterPtr params = NULL;
	int nparams = 0, type;
	unsigned long long v, page = 4096;

	memset(pr, 0, sizeof(*pr));
	if (virDomainGetJobStats(dom, &type, &params, &nparams, 0) < 0)
		return;
	pr->active = type == VIR_DOMAIN_JOB_UNBOUNDED || type == VIR_DOMAIN_JOB_BOUNDED;
	virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DATA_PROCESSED, &pr->processed);
	virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DATA_REMAINING, &pr->remaining);
	virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_MEMORY_BPS, &pr->bps);
	virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_MEMORY_ITERATION, &pr->iteration);
	virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE, &page);
	if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, &v) == 1)
		pr->dirty_bps = v * page;
	virTypedParamsFree(params, nparams);
}

/* Wait for the migrate call for up to ms; true if it returned. */
static bool wait_done(struct migration *m, int64_t ms)
{
	int64_t wall = vmh_wall_ms() + ms;
	struct timespec ts = { .tv_sec = wall / 1000, .tv_nsec = (wall % 1000) * 1000000 };
	bool done;

	pthread_mutex_lock(&m->lock);
	while (!m->done && pthread_cond_timedwait(&m->cond, &m->lock, &ts) != ETIMEDOUT)
		;
	done = m->done;
	pthread_mutex_unlock(&m->lock);
	return done;
}

static void *poller_thread(void *arg)
{
	struct migration *m = arg;

	for (;;) {
		struct progress pr;
		bool done;

		read_progress(m->dom, &pr);
		pthread_mutex_lock(&m->lock);
		if (pr.active && pr.processed > m->latest.processed)
			m->progress_at = vmh_now_ms();
		if (pr.active)
			m->latest = pr;
		else
			m->latest.active = false;
		done = m->done;
		pthread_mutex_unlock(&m->lock);
		if (done)
			return NULL;
		usleep(500000);
	}
}

static void *abort_thread(void *arg)
{
	if (virDomainAbortJob(arg) < 0)
		vmh_log(VMH_LOG_DEBUG, "abort job: %s", vmh_virt_error());
	return NULL;
}

/* The migration data's peer address and port range, from the data URI
 * (tcp://host[:port], tcp:host[:port]) or the target's name. */
static int stream_peer(const struct migration *m, const char *target, unsigned port,
		       char *addr, size_t addrlen, unsigned *lo, unsigned *hi)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char host[256];
	const char *h = target;

	*lo = 49152, *hi = 49215;	/* libvirt's migration_port_min/max */
	if (port)
		*lo = *hi = port;
	if (m->miguri) {
		const char *s = m->miguri + strcspn(m->miguri, ":") + 1;
		size_t len;

		s += strspn(s, "/");
		if (*s == '[') {
			s++;
			len = strcspn(s, "]");
		} else {
			len = strcspn(s, ":/");
		}
		snprintf(host, sizeof(host), "%.*s", (int)len, s);
		s += len + (s[len] == ']');
		if (*s == ':')
			*lo = *hi = (unsigned)strtoul(s + 1, NULL, 10);
		h = host;
	}
	if (getaddrinfo(h, NULL, &hints, &res) != 0)
		return -EHOSTUNREACH;
	getnameinfo(res->ai_addr, res->ai_addrlen, addr, (socklen_t)addrlen, NULL, 0, NI_NUMERICHOST);
	freeaddrinfo(res);
	return 0;
}

/* Cancel: ask libvirt, and if QEMU does not let go within a few seconds
 * (it holds its main lock while a final send blocks on a dead link), abort
 * the migration streams themselves. Returns once the domain runs here, or
 * the migration finished after all, or the time is up. */
static void cancel(struct ra *ra, struct migration *m, const char *target)
{
	int64_t until = vmh_now_ms() + 3000;
	pthread_attr_t attr;
	pthread_t tid;
	bool killed = false;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, abort_thread, m->dom) != 0)
		virDomainAbortJob(m->dom);
	pthread_attr_destroy(&attr);
	for (;;) {
		struct vmh_dom_status st;
		int64_t stop_at = m->settle_by;

		if (wait_done(m, 200))
			return;
		bool job_active;

		pthread_mutex_lock(&m->lock);
		job_active = m->latest.active;
		pthread_mutex_unlock(&m->lock);
		if (vmh_virt_dom_status(ra->virt, ra->dom_name, &st) == 0 &&
		    st.state == VMH_DOM_RUNNING && (!job_active || killed))
			return;
		if (!killed && vmh_now_ms() >= until) {
			char addr[64] = "";
			unsigned lo, hi;
			int n = -EHOSTUNREACH;

			if (stream_peer(m, target, ra->p.migrateport, addr, sizeof(addr), &lo, &hi) == 0)
				n = vmh_sockkill_peer(addr, lo, hi);
			if (n >= 0)
				vmh_log(VMH_LOG_WARNING, "%s: QEMU did not let go of the migration: "
					"aborted %d migration stream(s) to %s ports %u-%u", ra->dom_name,
					n, addr, lo, hi);
			else
				vmh_log_errno(VMH_LOG_ERR, -n, "%s: cannot abort the migration streams "
					      "to %s", ra->dom_name, addr[0] ? addr : target);
			killed = true;
			until = vmh_now_ms() + 10000;
		}
		if (killed && (vmh_now_ms() >= until || vmh_now_ms() >= stop_at))
			return;
		if (vmh_now_ms() >= stop_at)
			return;
	}
}


/* How long the setup (peer connection, the target's Prepare, the first
 * bytes) may take before the copy is judged stalled: a slow Prepare on a
 * loaded target is not a stalled copy, and is told apart in the logs. */
static int64_t setup_allowance_ms(unsigned abort_after_s)
{
	int64_t a = (int64_t)abort_after_s * 1000 * 3;

	return a > 20000 ? a : 20000;
}

/* Time kept back from the op timeout to cancel and confirm: a tenth,
 * 5 s to 15 s. */
static int64_t cancel_reserve_ms(int64_t timeout_ms)
{
	return vmh_share_ms(timeout_ms, 10, 5000, 15000);
}

/* registry=true: time kept back from the op timeout to settle the handoff
 * after a failed or cancelled migration (ABORT, then seeing the source run
 * again): a tenth, 3 s to 10 s. */
static int64_t handoff_reserve_ms(int64_t timeout_ms)
{
	return vmh_share_ms(timeout_ms, 10, 3000, 10000);
}

/* BEGIN is one record delivered in the registry: a tenth of the op, 2 s
 * to 10 s. */
static int64_t begin_budget_ms(struct ra *ra)
{
	int64_t share = vmh_share_ms(ra->timeout_ms, 10, 2000, 10000);
	int64_t left = ra_time_left_ms(ra, 0);

	return share < left ? share : left;
}

/* After a failed or cancelled migration: where is the domain now? */
static ra_rc report_failure(struct ra *ra, const char *target, const char *why)
{
	struct vmh_dom_status st;

	if (vmh_virt_dom_status(ra->virt, ra->dom_name, &st) < 0) {
		/* libvirtd died with the migration: say so, not "not defined" */
		ra_exit_reason("%s: migration to %s failed (%s); its state here cannot be read "
			       "(libvirt: %s)", ra->dom_name, target, why, vmh_virt_error());
	} else if (st.state == VMH_DOM_RUNNING) {
		ra_exit_reason("%s: migration to %s failed (%s); the domain keeps running here",
			       ra->dom_name, target, why);
	} else {
		ra_exit_reason("%s: migration to %s failed (%s); the domain is %s here",
			       ra->dom_name, target, why,
			       st.state == VMH_DOM_PAUSED ? vmh_dom_paused_reason_name(st.reason)
							  : vmh_dom_state_name(st.state));
	}
	return PCMK_OCF_UNKNOWN_ERROR;
}

static bool running_or_gone(const struct vmh_dom_status *st)
{
	return st->state == VMH_DOM_RUNNING || ra_state_gone(st);
}

/* How long a failed migration waits for its abort to be decided. */
#define RA_ABORT_WAIT_MS 5000

/*
 * registry=true, after the migrate call failed or was cancelled: ABORT.
 * Delivered, it makes vmhandoffd resume the source copy, which the agent
 * never does itself (a commit of the target may have been delivered
 * first); it waits a little for that, so that a probe right after sees
 * the domain running. Refused because the target's commit came first:
 * the target holds the whole state and runs, and the migration succeeded
 * after all. Otherwise the copies stay as they are, paused where they
 * are paused, until the registry decides.
 */
static ra_rc handoff_failed(struct ra *ra, const struct ra_handoff *h, const char *why)
{
	struct vmh_dom_status st = { .state = VMH_DOM_UNKNOWN };
	int64_t wait_ms, abort_ms;

	/* Bounded short: an abort refused for want of the target's fencing
	 * waits for pacemaker, which fences only after this action returns;
	 * vmhandoffd goes on asking on its own. */
	abort_ms = ra_time_left_ms(ra, 1000);
	if (abort_ms > RA_ABORT_WAIT_MS)
		abort_ms = RA_ABORT_WAIT_MS;
	switch (ra_registry_abort(ra, h, abort_ms)) {
	case RA_COMMIT_WON:
		vmh_log(VMH_LOG_NOTICE, "%s: migrated to %s after all (the migrate call said: %s)",
			ra->dom_name, h->target, why);
		return PCMK_OCF_OK;
	case RA_ABORTED:
		wait_ms = ra_time_left_ms(ra, 0);
		if (wait_ms > 3000)
			wait_ms = 3000;
		if (vmh_virt_wait(ra->virt, ra->dom_name, running_or_gone, vmh_now_ms() + wait_ms,
				  &st) < 0 && st.state == VMH_DOM_UNKNOWN)
			vmh_log(VMH_LOG_WARNING, "%s: cannot see whether vmhandoffd resumed it "
				"(libvirt: %s)", ra->dom_name, vmh_virt_error());
		else if (!running_or_gone(&st))
			vmh_log(VMH_LOG_WARNING, "%s: vmhandoffd has not resumed it within %lld ms "
				"(it is %s)", ra->dom_name, (long long)wait_ms,
				vmh_dom_state_name(st.state));
		break;
	case RA_UNDECIDED:
		break;
	}
	return report_failure(ra, h->target, why);
}

/* The end of a migrate call that failed (or was cancelled) for why. */
static ra_rc migration_failed(struct ra *ra, const struct ra_handoff *h, const char *target,
			      const char *why)
{
	return ra->p.registry ? handoff_failed(ra, h, why) : report_failure(ra, target, why);
}

ra_rc ra_migrate_to(struct ra *ra)
{
	const char *target = getenv("OCF_RESKEY_CRM_meta_migrate_target");
	struct migration m = { 0 };
	struct ra_handoff h = { .target = target };
	struct vmh_dom_status st;
	struct progress pr;
	int64_t start = vmh_now_ms(), last_log = 0;
	/* Cancel a migration not done by cancel_at; stop waiting for the
	 * cancel at settle_by. With the registry, keep time after that for
	 * the ABORT, before the watchdog answers for the action. */
	int64_t settle_by = ra->p.registry ? ra->answer_by_ms - handoff_reserve_ms(ra->timeout_ms)
					   : ra->deadline_ms - 1500;
	int64_t cancel_at = (ra->p.registry ? settle_by : ra->deadline_ms) -
			    cancel_reserve_ms(ra->timeout_ms);
	const char *cancelled = NULL;
	bool postcopy_started = false;
	bool handoff_open = false;	/* BEGIN delivered, no migrate call made */
	int cb = -1;
	pthread_t tid, poller;
	ra_rc rc;

	if (!target || !*target) {
		ra_exit_reason("migrate_to needs OCF_RESKEY_CRM_meta_migrate_target (set by pacemaker)");
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	if (ra->dx_err < 0) {
		ra_exit_reason("config %s cannot be used: %s", ra->p.config, ra->dx_why);
		return PCMK_OCF_NOT_INSTALLED;
	}
	if (ra_virt(ra) < 0)
		return PCMK_OCF_UNKNOWN_ERROR;
	m.dom = virDomainLookupByName(vmh_virt_conn(ra->virt), ra->dom_name);
	if (!m.dom || vmh_virt_dom_status_of(m.dom, &st) < 0 ||
	    (st.state != VMH_DOM_RUNNING && st.state != VMH_DOM_PAUSED)) {
		ra_exit_reason("%s: migrate_to: not active on this node", ra->dom_name);
		rc = PCMK_OCF_UNKNOWN_ERROR;
		goto out;
	}
	/* Nothing is migrated unless the registry records the handoff. */
	if (ra->p.registry) {
		rc = ra_registry_begin(ra, target, &h, begin_budget_ms(ra));
		if (rc != PCMK_OCF_OK)
			goto out;
		handoff_open = true;
	}
	m.settle_by = settle_by;
	rc = build_uris(ra, target, h.addr[0] ? h.addr : NULL, &m);
	if (rc != PCMK_OCF_OK)
		goto out;
	if (build_params(ra, &m) < 0) {
		ra_exit_reason("out of memory");
		rc = PCMK_OCF_UNKNOWN_ERROR;
		goto out;
	}
	if (ra->p.start_resources) {
		/* As VirtualDomain: the target must have the domain's networks
		 * and pools running before the domain arrives. The connection is
		 * bounded by the action's watchdog like every other call. */
		virConnectPtr remote = virConnectOpen(m.dconnuri);
		int r = remote ? ra_start_resources(ra, remote) : -EIO;

		if (!remote)
			ra_exit_reason("start_resources: cannot connect to %s: %s", m.dconnuri,
				       vmh_virt_error());
		if (remote)
			virConnectClose(remote);
		if (r < 0) {
			rc = PCMK_OCF_UNKNOWN_ERROR;
			goto out;
		}
	}
	/* Limits apply before a single page is copied, not seconds later. */
	if (ra->p.migration_downtime &&
	    virDomainMigrateSetMaxDowntime(m.dom, ra->p.migration_downtime, 0) < 0)
		vmh_log(VMH_LOG_WARNING, "%s: cannot set migration_downtime %u ms: %s", ra->dom_name,
			ra->p.migration_downtime, vmh_virt_error());
	if (ra->p.migration_speed &&
	    virDomainMigrateSetMaxSpeed(m.dom, ra->p.migration_speed, 0) < 0)
		vmh_log(VMH_LOG_WARNING, "%s: cannot set migration_speed %u MiB/s: %s", ra->dom_name,
			ra->p.migration_speed, vmh_virt_error());

	pthread_mutex_init(&m.lock, NULL);
	pthread_cond_init(&m.cond, NULL);
	cb = virConnectDomainEventRegisterAny(vmh_virt_conn(ra->virt), m.dom,
					      VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
					      VIR_DOMAIN_EVENT_CALLBACK(job_completed_cb), &m, NULL);
	vmh_log(VMH_LOG_NOTICE, "%s: live migration to %s: peer %s, data %s, flags 0x%lx",
		ra->dom_name, target, m.dconnuri, m.miguri ? m.miguri : "(libvirt's choice)", m.flags);
	if (pthread_create(&tid, NULL, migrate_thread, &m) != 0) {
		ra_exit_reason("cannot create a thread");
		rc = PCMK_OCF_UNKNOWN_ERROR;
		goto out;
	}
	handoff_open = false;	/* from here on the migration's outcome decides */

	m.progress_at = 0;
	if (pthread_create(&poller, NULL, poller_thread, &m) == 0)
		pthread_detach(poller);
	while (!wait_done(&m, 500)) {
		int64_t now = vmh_now_ms(), progress_at;

		pthread_mutex_lock(&m.lock);
		pr = m.latest;
		progress_at = m.progress_at;
		pthread_mutex_unlock(&m.lock);
		if (pr.active && now - last_log >= 2000) {
			vmh_log(VMH_LOG_INFO, "%s: migrating to %s: %.0f MiB sent, %.0f MiB remaining, "
				"dirtying %.1f MiB/s, sending %.1f MiB/s, iteration %llu", ra->dom_name,
				target, pr.processed / MiB, pr.remaining / MiB, pr.dirty_bps / MiB,
				pr.bps / MiB, pr.iteration);
			last_log = now;
		}
		if (ra->p.migration_postcopy && !postcopy_started && pr.iteration >= 2) {
			if (virDomainMigrateStartPostCopy(m.dom, 0) == 0) {
				vmh_log(VMH_LOG_NOTICE, "%s: switched to post-copy after %llu iterations",
					ra->dom_name, pr.iteration);
				postcopy_started = true;
			}
		}
		/* The no-progress window runs from the first byte copied. */
		if (!cancelled && ra->p.migration_abort_after && progress_at &&
		    now - progress_at > (int64_t)ra->p.migration_abort_after * 1000)
			cancelled = "no progress for migration_abort_after";
		if (!cancelled && ra->p.migration_abort_after && !progress_at &&
		    now - start > setup_allowance_ms(ra->p.migration_abort_after))
			cancelled = "the copy did not start (peer connection or the target's Prepare stalled)";
		if (!cancelled && now >= cancel_at)
			cancelled = "the op timeout is close";
		if (cancelled) {
			vmh_log(VMH_LOG_ERR, "%s: cancelling the migration to %s: %s (%.0f MiB sent, "
				"%.0f MiB remaining)", ra->dom_name, target, cancelled,
				pr.processed / MiB, pr.remaining / MiB);
			cancel(ra, &m, target);
			break;
		}
	}

	if (cancelled) {
		pthread_mutex_lock(&m.lock);
		bool done = m.done;
		int result = m.result;
		pthread_mutex_unlock(&m.lock);
		if (done && result == 0)
			goto succeeded;
		rc = migration_failed(ra, &h, target, cancelled);
		goto out;
	}
	if (m.result < 0) {
		rc = migration_failed(ra, &h, target, m.error);
		goto out;
	}
succeeded:
	pthread_mutex_lock(&m.lock);
	if (m.have_final)
		vmh_log(VMH_LOG_NOTICE, "%s: migrated to %s in %llu ms (downtime %llu ms, %.0f MiB, "
			"%.1f MiB/s)", ra->dom_name, target, m.final_elapsed_ms, m.final_downtime_ms,
			m.final_bytes / MiB, m.final_bps / MiB);
	else
		vmh_log(VMH_LOG_NOTICE, "%s: migrated to %s in %lld ms", ra->dom_name, target,
			(long long)(vmh_now_ms() - start));
	pthread_mutex_unlock(&m.lock);
	rc = ra->p.registry ? ra_registry_commit(ra, &h, ra_time_left_ms(ra, 0)) : PCMK_OCF_OK;
out:
	/* Begun, but failed before anything was migrated: undo the BEGIN
	 * (the domain never stopped running here). */
	if (handoff_open)
		ra_registry_abort(ra, &h, ra_time_left_ms(ra, 0));
	if (cb >= 0)
		virConnectDomainEventDeregisterAny(vmh_virt_conn(ra->virt), cb);
	/* m.dom, params and URIs are left to the process exit: the migrate
	 * thread may still use them (see the NOTE above). */
	return rc;
}

static bool settled_here(const struct vmh_dom_status *st)
{
	return st->state == VMH_DOM_RUNNING || ra_state_gone(st) ||
	       st->state == VMH_DOM_CRASHED ||
	       (st->state == VMH_DOM_PAUSED && st->reason != VIR_DOMAIN_PAUSED_MIGRATION &&
		st->reason != VIR_DOMAIN_PAUSED_POSTCOPY);
}

/*
 * registry=true: the domain arrived paused and runs once vmhandoffd has
 * seen the commit delivered and resumed it; the registry's word is the
 * answer (never resume it here: an abort may have been delivered first).
 * Then a single look at libvirt, which must agree.
 */
static ra_rc wait_handoff(struct ra *ra, const char *source, struct vmh_dom_status *st)
{
	/* keep a little for that look and the answer */
	if (ra_registry_wait_owner(ra, source, ra_time_left_ms(ra, 500)) != PCMK_OCF_OK)
		return PCMK_OCF_UNKNOWN_ERROR;
	if (vmh_virt_dom_status(ra->virt, ra->dom_name, st) < 0) {
		ra_exit_reason("%s: cannot read its state: %s", ra->dom_name, vmh_virt_error());
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	return PCMK_OCF_OK;
}

ra_rc ra_migrate_from(struct ra *ra)
{
	const char *source = getenv("OCF_RESKEY_CRM_meta_migrate_source");
	struct vmh_dom_status st = { .state = VMH_DOM_UNKNOWN };
	bool running;

	if (!ra->dom_name) {
		ra_exit_reason("config %s cannot be used: %s", ra->p.config, ra->dx_why);
		return PCMK_OCF_NOT_INSTALLED;
	}
	if (ra_virt(ra) < 0)
		return PCMK_OCF_UNKNOWN_ERROR;
	if (ra->p.registry) {
		if (wait_handoff(ra, source, &st) != PCMK_OCF_OK)
			return PCMK_OCF_UNKNOWN_ERROR;
		running = st.state == VMH_DOM_RUNNING;
	} else {
		running = vmh_virt_wait(ra->virt, ra->dom_name, settled_here, ra->deadline_ms,
					&st) == 0 && st.state == VMH_DOM_RUNNING;
	}
	if (!running) {
		ra_exit_reason("%s: migration from %s did not leave it running here (it is %s)",
			       ra->dom_name, source ? source : "?",
			       st.state == VMH_DOM_PAUSED ? vmh_dom_paused_reason_name(st.reason)
							  : vmh_dom_state_name(st.state));
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	ra_name_cache_store(ra);
	vmh_log(VMH_LOG_NOTICE, "%s: live migration from %s succeeded: running here", ra->dom_name,
		source ? source : "?");
	return PCMK_OCF_OK;
}
