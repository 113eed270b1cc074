/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vmh_virt.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/virterror.h>

#include "vmh_log.h"
#include "vmh_time.h"

struct vmh_virt {
	virConnectPtr conn;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	unsigned long events;	/* lifecycle events seen, under lock */
};

static pthread_once_t loop_once = PTHREAD_ONCE_INIT;
static int loop_ok;

static void *event_loop(void *arg)
{
	(void)arg;
	for (;;)
		if (virEventRunDefaultImpl() < 0)
			vmh_log(VMH_LOG_DEBUG, "libvirt event loop: %s", vmh_virt_error());
	return NULL;
}

static void start_event_loop(void)
{
	pthread_attr_t attr;
	pthread_t tid;

	if (virEventRegisterDefaultImpl() < 0)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	loop_ok = pthread_create(&tid, &attr, event_loop, NULL) == 0;
	pthread_attr_destroy(&attr);
}

const char *vmh_virt_error(void)
{
	const char *msg = virGetLastErrorMessage();

	return msg ? msg : "unknown libvirt error";
}

int vmh_virt_error_code(void)
{
	return virGetLastErrorCode();
}

int vmh_virt_open(const char *uri, vmh_virt_t **out)
{
	vmh_virt_t *v;

	pthread_once(&loop_once, start_event_loop);
	if (!loop_ok) {
		vmh_log(VMH_LOG_ERR, "%s: cannot start the libvirt event loop", __func__);
		return -EIO;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->changed, NULL);
	v->conn = virConnectOpen(uri);
	if (!v->conn) {
		free(v);
		return -EIO;
	}
	if (virConnectSetKeepAlive(v->conn, 1, 3) < 0)
		vmh_log(virGetLastErrorCode() == VIR_ERR_NO_SUPPORT ? VMH_LOG_DEBUG : VMH_LOG_WARNING, "%s: no keepalive on %s: %s", __func__,
			uri ? uri : "default URI", vmh_virt_error());
	*out = v;
	return 0;
}

void vmh_virt_close(vmh_virt_t *v)
{
	if (!v)
		return;
	virConnectClose(v->conn);
	pthread_cond_destroy(&v->changed);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

virConnectPtr vmh_virt_conn(vmh_virt_t *v)
{
	return v->conn;
}

static enum vmh_dom_state map_state(int state)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
		return VMH_DOM_RUNNING;
	case VIR_DOMAIN_PAUSED:
		return VMH_DOM_PAUSED;
	case VIR_DOMAIN_SHUTDOWN:
		return VMH_DOM_SHUTTING_DOWN;
	case VIR_DOMAIN_SHUTOFF:
		return VMH_DOM_SHUTOFF;
	case VIR_DOMAIN_CRASHED:
		return VMH_DOM_CRASHED;
	case VIR_DOMAIN_PMSUSPENDED:
		return VMH_DOM_PMSUSPENDED;
	default:
		return VMH_DOM_UNKNOWN;
	}
}

int vmh_virt_dom_status_of(virDomainPtr dom, struct vmh_dom_status *st)
{
	int state, reason;

	memset(st, 0, sizeof(*st));
	if (virDomainGetState(dom, &state, &reason, 0) < 0) {
		if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN) {
			st->state = VMH_DOM_MISSING;
			return 0;
		}
		return -EIO;
	}
	st->state = map_state(state);
	st->reason = reason;
	return 0;
}

int vmh_virt_dom_status(vmh_virt_t *v, const char *name, struct vmh_dom_status *st)
{
	virDomainPtr dom = virDomainLookupByName(v->conn, name);
	int r;

	if (!dom) {
		memset(st, 0, sizeof(*st));
		if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN) {
			st->state = VMH_DOM_MISSING;
			return 0;
		}
		return -EIO;
	}
	r = vmh_virt_dom_status_of(dom, st);
	virDomainFree(dom);
	return r;
}

const char *vmh_dom_state_name(enum vmh_dom_state s)
{
	static const char *const names[] = {
		[VMH_DOM_MISSING] = "not defined",
		[VMH_DOM_SHUTOFF] = "shut off",
		[VMH_DOM_RUNNING] = "running",
		[VMH_DOM_PAUSED] = "paused",
		[VMH_DOM_SHUTTING_DOWN] = "shutting down",
		[VMH_DOM_CRASHED] = "crashed",
		[VMH_DOM_PMSUSPENDED] = "suspended by the guest",
		[VMH_DOM_UNKNOWN] = "in no state",
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *vmh_dom_paused_reason_name(int reason)
{
	switch (reason) {
	case VIR_DOMAIN_PAUSED_USER: return "paused by a user";
	case VIR_DOMAIN_PAUSED_MIGRATION: return "paused for migration";
	case VIR_DOMAIN_PAUSED_SAVE: return "paused while saving";
	case VIR_DOMAIN_PAUSED_DUMP: return "paused while dumping";
	case VIR_DOMAIN_PAUSED_IOERROR: return "paused on an I/O error";
	case VIR_DOMAIN_PAUSED_WATCHDOG: return "paused by its watchdog";
	case VIR_DOMAIN_PAUSED_FROM_SNAPSHOT: return "paused from a snapshot";
	case VIR_DOMAIN_PAUSED_SHUTTING_DOWN: return "paused while shutting down";
	case VIR_DOMAIN_PAUSED_SNAPSHOT: return "paused for a snapshot";
	case VIR_DOMAIN_PAUSED_CRASHED: return "paused after a guest crash";
	case VIR_DOMAIN_PAUSED_STARTING_UP: return "paused while starting up";
	case VIR_DOMAIN_PAUSED_POSTCOPY: return "paused in post-copy migration";
	case VIR_DOMAIN_PAUSED_POSTCOPY_FAILED: return "paused after a failed post-copy migration";
	default: return "paused for an unknown reason";
	}
}

static int lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event,
			int detail, void *opaque)
{
	vmh_virt_t *v = opaque;

	(void)conn, (void)dom, (void)event, (void)detail;
	pthread_mutex_lock(&v->lock);
	v->events++;
	pthread_cond_broadcast(&v->changed);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static void deadline_timespec(int64_t deadline_ms, struct timespec *ts)
{
	/* The condition variable waits on CLOCK_REALTIME; convert. */
	int64_t wall = vmh_wall_ms() + vmh_ms_left(deadline_ms);

	ts->tv_sec = wall / 1000;
	ts->tv_nsec = (wall % 1000) * 1000000;
}

int vmh_virt_wait(vmh_virt_t *v, const char *name,
		  bool (*done)(const struct vmh_dom_status *st),
		  int64_t deadline_ms, struct vmh_dom_status *st)
{
	int cb, r;

	/* Register before reading the state, so no change falls between. */
	cb = virConnectDomainEventRegisterAny(v->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
					      VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb), v, NULL);
	if (cb < 0)
		return -EIO;
	for (;;) {
		unsigned long seen;
		struct timespec ts;
		int64_t step;

		pthread_mutex_lock(&v->lock);
		seen = v->events;
		pthread_mutex_unlock(&v->lock);

		r = vmh_virt_dom_status(v, name, st);
		if (r < 0)
			break;
		if (done(st)) {
			r = 0;
			break;
		}
		if (vmh_ms_left(deadline_ms) == 0) {
			r = -ETIMEDOUT;
			break;
		}
		step = vmh_ms_left(deadline_ms);
		if (step > 1000)
			step = 1000;
		deadline_timespec(vmh_now_ms() + step, &ts);
		pthread_mutex_lock(&v->lock);
		while (v->events == seen &&
		       pthread_cond_timedwait(&v->changed, &v->lock, &ts) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&v->lock);
	}
	virConnectDomainEventDeregisterAny(v->conn, cb);
	return r;
}
