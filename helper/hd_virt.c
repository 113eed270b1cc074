/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmhandoffd's libvirt side: one connection on the daemon's event loop,
 * lifecycle events into the registry (hd_reg_dom_*), and the three things
 * the registry makes us do to a domain: pause, resume, destroy.
 *
 * The connection has keepalive on; when libvirtd goes away a timer
 * reconnects every second, and a sweep after each reconnect catches up on
 * the events that were lost meanwhile.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "hd.h"
#include "vmh_log.h"
#include "vmh_virt.h"

static void virt_retry_cb(int timer, void *opaque);
static void domrefs_drop(struct hd *hd, virDomainPtr dom);
static void domrefs_clear(struct hd *hd);

void hd_virt_schedule_retry(struct hd *hd)
{
	if (hd->virt_retry_timer < 0)
		hd->virt_retry_timer = virEventAddTimeout(1000, virt_retry_cb, hd, NULL);
}

static int lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct hd *hd = opaque;
	const char *name = virDomainGetName(dom);

	(void)conn;
	domrefs_drop(hd, dom);
	if (!name)
		return 0;
	vmh_log(VMH_LOG_DEBUG, "%s: libvirt event %d detail %d", name, event, detail);
	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
	case VIR_DOMAIN_EVENT_RESUMED:
		if (hd_virt_state(hd, name) == VIR_DOMAIN_RUNNING)
			hd_reg_dom_running(hd, name);
		break;
	case VIR_DOMAIN_EVENT_SUSPENDED:
		/* the end of an incoming migration with VIR_MIGRATE_PAUSED */
		if (detail == VIR_DOMAIN_EVENT_SUSPENDED_PAUSED) {
			hd_hist_ready(hd, name);
			hd_reg_dom_paused_incoming(hd, name);
		}
		break;
	case VIR_DOMAIN_EVENT_STOPPED:
		hd_reg_dom_gone(hd, name, detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED);
		break;
	case VIR_DOMAIN_EVENT_DEFINED:
		hd_define_event(hd, name);
		break;
	default:
		break;
	}
	return 0;
}

static void close_cb(virConnectPtr conn, int reason, void *opaque)
{
	struct hd *hd = opaque;

	(void)conn;
	vmh_log(VMH_LOG_WARNING, "libvirt connection closed (reason %d): reconnecting", reason);
	/* unref outside libvirt's callback */
	hd_virt_schedule_retry(hd);
}

int hd_virt_connect(struct hd *hd)
{
	virConnectPtr conn = virConnectOpen(hd->cfg.libvirt_uri);

	if (!conn) {
		vmh_log(VMH_LOG_DEBUG, "libvirt %s: %s", hd->cfg.libvirt_uri, vmh_virt_error());
		return -1;
	}
	if (virConnectSetKeepAlive(conn, 5, 3) < 0)
		vmh_log(VMH_LOG_WARNING, "libvirt keepalive: %s", vmh_virt_error());
	hd->lifecycle_cb = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
							    VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb),
							    hd, NULL);
	if (hd->lifecycle_cb < 0 ||
	    virConnectRegisterCloseCallback(conn, close_cb, hd, NULL) < 0) {
		vmh_log(VMH_LOG_ERR, "libvirt events: %s", vmh_virt_error());
		virConnectClose(conn);
		return -1;
	}
	hd->conn = conn;
	hd->conn_uri = virConnectGetURI(conn);
	vmh_log(VMH_LOG_NOTICE, "connected to libvirt (%s)", hd->cfg.libvirt_uri);
	hd_reg_sweep(hd);
	return 0;
}

void hd_virt_disconnect(struct hd *hd)
{
	if (!hd->conn)
		return;
	domrefs_clear(hd);
	if (hd->lifecycle_cb >= 0)
		virConnectDomainEventDeregisterAny(hd->conn, hd->lifecycle_cb);
	virConnectUnregisterCloseCallback(hd->conn, close_cb);
	virConnectClose(hd->conn);
	hd->conn = NULL;
	free(hd->conn_uri);
	hd->conn_uri = NULL;
	hd->lifecycle_cb = -1;
}

static void virt_retry_cb(int timer, void *opaque)
{
	struct hd *hd = opaque;

	virEventRemoveTimeout(timer);
	hd->virt_retry_timer = -1;
	if (hd->conn && virConnectIsAlive(hd->conn) == 1)
		return;
	hd_virt_disconnect(hd);
	if (hd_virt_connect(hd) < 0)
		hd_virt_schedule_retry(hd);
}

static virDomainPtr lookup(struct hd *hd, const char *vm)
{
	if (!hd->conn)
		return NULL;
	return virDomainLookupByName(hd->conn, vm);
}

int hd_virt_state_reason(struct hd *hd, const char *vm, int *reason)
{
	virDomainPtr dom;
	int state = -1, r;

	if (!hd->conn)
		return -2;
	dom = lookup(hd, vm);
	if (!dom)
		return vmh_virt_error_code() == VIR_ERR_NO_DOMAIN ? -1 : -2;
	r = virDomainGetState(dom, &state, reason, 0);
	virDomainFree(dom);
	if (r < 0)
		return vmh_virt_error_code() == VIR_ERR_NO_DOMAIN ? -1 : -2;
	return state;
}

int hd_virt_state(struct hd *hd, const char *vm)
{
	int reason;

	return hd_virt_state_reason(hd, vm, &reason);
}

enum dom_action { A_PAUSE, A_RESUME, A_DESTROY };

static int act(struct hd *hd, const char *vm, enum dom_action a, const char *why)
{
	static const char *const verb[] = { "paused", "resumed", "destroyed" };
	virDomainPtr dom = lookup(hd, vm);
	int state = -1, reason, r = 0;
	bool done = false;

	if (!dom) {
		bool none = hd->conn && vmh_virt_error_code() == VIR_ERR_NO_DOMAIN;

		/* with libvirt gone, the sweep after the reconnect catches up */
		vmh_log(a == A_DESTROY && none ? VMH_LOG_DEBUG : VMH_LOG_WARNING,
			"%s: not %s (%s): %s", vm, verb[a], why,
			none ? "no such domain here" :
			hd->conn ? vmh_virt_error() : "no libvirt connection");
		return a == A_DESTROY && none ? 0 : -1;
	}
	/* the state first, also before a resume: a cheap query, where a
	 * resume of a domain that is not paused would wait (up to libvirt's
	 * 30 s) for the state-change lock a running migration job holds */
	if (virDomainGetState(dom, &state, &reason, 0) < 0)
		state = -1;
	switch (a) {
	case A_PAUSE:
		done = state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_BLOCKED;
		if (done)
			r = virDomainSuspend(dom);
		break;
	case A_RESUME:
		done = state == VIR_DOMAIN_PAUSED;
		if (done)
			r = virDomainResume(dom);
		break;
	case A_DESTROY:
		done = true;
		r = virDomainDestroy(dom);
		/* gone between the lookup and the destroy (libvirt ends a
		 * migration's source itself): what was asked for */
		if (r < 0 && (vmh_virt_error_code() == VIR_ERR_NO_DOMAIN ||
			      vmh_virt_error_code() == VIR_ERR_OPERATION_INVALID)) {
			r = 0;
			done = false;
		}
		break;
	}
	if (r < 0)
		vmh_log(VMH_LOG_ERR, "%s: could not be %s (%s): %s", vm, verb[a], why, vmh_virt_error());
	else if (done)
		vmh_log(VMH_LOG_NOTICE, "%s: %s (%s)", vm, verb[a], why);
	else
		vmh_log(VMH_LOG_DEBUG, "%s: already %s (%s)", vm,
			a == A_DESTROY ? "gone" : a == A_PAUSE ? "not running" : "not paused", why);
	virDomainFree(dom);
	return r < 0 ? -1 : done ? 1 : 0;
}

int hd_virt_pause(struct hd *hd, const char *vm, const char *why)
{
	return act(hd, vm, A_PAUSE, why);
}

int hd_virt_resume(struct hd *hd, const char *vm, const char *why)
{
	return act(hd, vm, A_RESUME, why);
}

int hd_virt_destroy(struct hd *hd, const char *vm, const char *why)
{
	return act(hd, vm, A_DESTROY, why);
}

int hd_virt_active(struct hd *hd, char ***names, size_t *n)
{
	virDomainPtr *doms = NULL;
	int count;
	char **out;

	*names = NULL;
	*n = 0;
	if (!hd->conn)
		return -1;
	count = virConnectListAllDomains(hd->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (count < 0)
		return -1;
	out = calloc((size_t)count + 1, sizeof(*out));
	for (int i = 0; i < count; i++) {
		if (out) {
			const char *name = virDomainGetName(doms[i]);

			if (name && (out[*n] = strdup(name)))
				(*n)++;
		}
		virDomainFree(doms[i]);
	}
	free(doms);
	*names = out;
	return out ? 0 : -1;
}

int hd_virt_inactive_xml(struct hd *hd, const char *vm, char **xml)
{
	virDomainPtr dom = lookup(hd, vm);
	int persistent;

	*xml = NULL;
	if (!dom)
		return hd->conn && vmh_virt_error_code() == VIR_ERR_NO_DOMAIN ? -1 : -2;
	persistent = virDomainIsPersistent(dom);
	if (persistent == 1)
		*xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
	if (persistent == 1 && !*xml)
		vmh_log(VMH_LOG_WARNING, "%s: cannot read its definition: %s", vm, vmh_virt_error());
	virDomainFree(dom);
	if (persistent == 0)
		return -1;
	return *xml ? 0 : -2;
}

int hd_virt_progress(struct hd *hd, const char *vm, struct vmh_ipc_progress *p)
{
	virTypedParameterPtr params = NULL;
	int nparams = 0, type = 0, r;
	virDomainPtr dom = lookup(hd, vm);
	unsigned long long v;

	if (!dom)
		return -1;
	r = virDomainGetJobStats(dom, &type, &params, &nparams, 0);
	virDomainFree(dom);
	if (r < 0 || type == VIR_DOMAIN_JOB_NONE) {
		virTypedParamsFree(params, nparams);
		return -1;
	}
	memset(p, 0, sizeof(*p));
	snprintf(p->vm, sizeof(p->vm), "%s", vm);
#define GET(key, field) \
	if (virTypedParamsGetULLong(params, nparams, key, &v) == 1) \
		p->field = v
	GET(VIR_DOMAIN_JOB_TIME_ELAPSED, elapsed_ms);
	GET(VIR_DOMAIN_JOB_DATA_TOTAL, data_total);
	GET(VIR_DOMAIN_JOB_DATA_PROCESSED, data_processed);
	GET(VIR_DOMAIN_JOB_DATA_REMAINING, data_remaining);
	GET(VIR_DOMAIN_JOB_MEMORY_BPS, mem_bps);
	GET(VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, dirty_rate);
	GET(VIR_DOMAIN_JOB_DOWNTIME, downtime_ms);
	if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_MEMORY_ITERATION, &v) == 1)
		p->iteration = (uint32_t)v;
#undef GET
	virTypedParamsFree(params, nparams);
	return 0;
}

int hd_virt_job_completed(struct hd *hd, const char *vm, struct hd_job_figures *f)
{
	virTypedParameterPtr params = NULL;
	int nparams = 0, type = 0, op = 0, r;
	virDomainPtr dom = lookup(hd, vm);
	unsigned long long v;

	memset(f, 0, sizeof(*f));
	if (!dom)
		return -1;
	r = virDomainGetJobStats(dom, &type, &params, &nparams, VIR_DOMAIN_JOB_STATS_COMPLETED);
	virDomainFree(dom);
	/* only the incoming migration's job (an older libvirt does not say
	 * which operation it was: taken as it is) */
	if (r < 0 || type != VIR_DOMAIN_JOB_COMPLETED ||
	    (virTypedParamsGetInt(params, nparams, VIR_DOMAIN_JOB_OPERATION, &op) == 1 &&
	     op != VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN)) {
		virTypedParamsFree(params, nparams);
		return -1;
	}
	if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DATA_PROCESSED, &v) == 1) {
		f->has_bytes = true;
		f->bytes = v;
	}
	if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_TIME_ELAPSED, &v) == 1) {
		f->has_job = true;
		f->job_ms = v;
	}
	if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DOWNTIME, &v) == 1) {
		f->has_downtime = true;
		f->downtime_ms = v;
	}
	virTypedParamsFree(params, nparams);
	return 0;
}

static_assert(VIR_DOMAIN_PMSUSPENDED == VMH_IPC_DOM_STATE_MAX, "the last virDomainState");
static_assert(VIR_DOMAIN_RUNNING == VMH_IPC_DOM_RUNNING, "running, as the front knows it");

/* --- DOMSTATE ------------------------------------------------------------ */

/*
 * The handles of the domains DOMSTATE was asked about, by name: the
 * monitor's front asks every few seconds about the same few names, and a
 * lookup is a libvirt call as dear as the one that answers. A handle names
 * its domain by UUID, so it is dropped at any lifecycle event of that UUID
 * or name (undefined, renamed, stopped: the next domain of the name may be
 * another one), when a call finds no such domain, and with the connection.
 */
#define HD_DOMREFS_MAX 256

struct hd_domref {
	struct hd_domref *next;
	char vm[VMH_REG_NAME_MAX + 1];
	unsigned char uuid[VIR_UUID_BUFLEN];
	virDomainPtr dom;
};

static void domref_free(struct hd *hd, struct hd_domref **at)
{
	struct hd_domref *r = *at;

	*at = r->next;
	virDomainFree(r->dom);
	free(r);
	hd->n_domrefs--;
}

static void domrefs_clear(struct hd *hd)
{
	while (hd->domrefs)
		domref_free(hd, &hd->domrefs);
}

/* (name and UUID copied first: dom may be one of the handles freed) */
static void domrefs_drop(struct hd *hd, virDomainPtr dom)
{
	const char *n = virDomainGetName(dom);
	char name[VMH_REG_NAME_MAX + 2] = "";
	unsigned char uuid[VIR_UUID_BUFLEN];
	bool have_uuid = virDomainGetUUID(dom, uuid) == 0;

	if (n)
		snprintf(name, sizeof(name), "%s", n);
	for (struct hd_domref **at = &hd->domrefs; *at;) {
		if ((name[0] && strcmp((*at)->vm, name) == 0) ||
		    (have_uuid && memcmp((*at)->uuid, uuid, sizeof(uuid)) == 0))
			domref_free(hd, at);
		else
			at = &(*at)->next;
	}
}

/* vm's handle, the kept one (*kept) or looked up; NULL: no such domain,
 * or libvirt failed (vmh_virt_error_code says which) */
static virDomainPtr domref_get(struct hd *hd, const char *vm, bool *kept)
{
	struct hd_domref *r;
	virDomainPtr dom;

	for (r = hd->domrefs; r; r = r->next) {
		if (strcmp(r->vm, vm) == 0) {
			*kept = true;
			return r->dom;
		}
	}
	*kept = false;
	dom = lookup(hd, vm);
	if (!dom)
		return NULL;
	if (hd->n_domrefs >= HD_DOMREFS_MAX)
		domrefs_clear(hd);
	r = calloc(1, sizeof(*r));
	if (!r || virDomainGetUUID(dom, r->uuid) < 0) {
		free(r);
		return dom;	/* used once, not kept: the caller frees it */
	}
	snprintf(r->vm, sizeof(r->vm), "%s", vm);
	r->dom = dom;
	r->next = hd->domrefs;
	hd->domrefs = r;
	hd->n_domrefs++;
	return dom;
}

/* Done with a handle from domref_get: a kept one stays (unless it failed:
 * then it goes too), any other is freed. */
static void domref_put(struct hd *hd, virDomainPtr dom, bool failed)
{
	for (struct hd_domref **at = &hd->domrefs; *at; at = &(*at)->next) {
		if ((*at)->dom == dom) {
			if (failed)
				domref_free(hd, at);
			return;
		}
	}
	virDomainFree(dom);
}

/* libvirt's last error, as a reply message may carry it (printable ASCII) */
static void error_message(struct vmh_ipc_reply *rep, const char *what)
{
	size_t len;

	snprintf(rep->message, sizeof(rep->message), "%s: %s", what, vmh_virt_error());
	len = strlen(rep->message);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)rep->message[i] < 0x20 || (unsigned char)rep->message[i] > 0x7e)
			rep->message[i] = '?';
}

/* The state and the figures of vm: 0, -1 no such domain, -2 libvirt
 * failed. *kept: the answer came from a kept handle. */
static int domstate_of(struct hd *hd, const char *vm, bool *kept, virDomainInfo *info,
		       int *reason)
{
	virDomainPtr dom = domref_get(hd, vm, kept);
	int r, state;

	if (!dom)
		return vmh_virt_error_code() == VIR_ERR_NO_DOMAIN ? -1 : -2;
	/* the state and the figures, from the call the agent's utilization
	 * takes them from; the reason only where it says something (a
	 * running domain's is its history: booted, migrated, unpaused) */
	r = virDomainGetInfo(dom, info);
	*reason = 0;
	if (r == 0 && info->state != VIR_DOMAIN_RUNNING &&
	    virDomainGetState(dom, &state, reason, 0) == 0)
		info->state = (unsigned char)state;
	if (r < 0)
		r = vmh_virt_error_code() == VIR_ERR_NO_DOMAIN ? -1 : -2;
	domref_put(hd, dom, r < 0);
	return r;
}

/*
 * One libvirt call for a running domain whose handle is kept (virDomainGetInfo),
 * two otherwise (and a lookup for a name not asked about before). A kept
 * handle that finds no domain is looked up again once: the name may have
 * a new domain.
 */
void hd_virt_domstate(struct hd *hd, const char *vm, struct vmh_ipc_reply *rep)
{
	virDomainInfo info = { 0 };
	int reason = 0, r;
	bool kept;

	rep->status = VMH_IPC_E_INTERNAL;
	if (!hd->conn) {
		snprintf(rep->message, sizeof(rep->message), "vmhandoffd has no libvirt connection");
		return;
	}
	if (hd->conn_uri && strlen(hd->conn_uri) < sizeof(rep->uri))
		memcpy(rep->uri, hd->conn_uri, strlen(hd->conn_uri) + 1);
	r = domstate_of(hd, vm, &kept, &info, &reason);
	if (r == -1 && kept)	/* dropped now: looked up again */
		r = domstate_of(hd, vm, &kept, &info, &reason);
	if (r == -1) {
		rep->status = VMH_IPC_OK;	/* no such domain */
		return;
	}
	if (r < 0) {
		error_message(rep, "libvirt");
		return;
	}
	if (info.state > VMH_IPC_DOM_STATE_MAX) {
		snprintf(rep->message, sizeof(rep->message), "%s: unknown domain state %u", vm,
			 info.state);
		return;
	}
	rep->status = VMH_IPC_OK;
	rep->has_dom = true;
	rep->dom_state = info.state;
	rep->dom_reason = reason > 0 ? (uint32_t)reason : 0;
	rep->dom_vcpus = info.nrVirtCpu;
	rep->dom_max_mem_kib = info.maxMem;
}
