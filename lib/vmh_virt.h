/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_virt: a libvirt connection that cannot hang forever.
 *
 * NOTE libvirt's keepalive only works while an event loop runs, and a call
 * on a connection whose peer stopped answering blocks until the keepalive
 * declares it dead. So every connection made here registers libvirt's
 * default event implementation and runs it in a thread of its own, and sets
 * keepalive (1 s interval, 3 misses). Lifecycle events for the waits below
 * arrive on that thread too.
 */
#ifndef VMH_VIRT_H
#define VMH_VIRT_H

#include <stdbool.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

typedef struct vmh_virt vmh_virt_t;

enum vmh_dom_state {
	VMH_DOM_MISSING,	/* libvirt knows no such domain */
	VMH_DOM_SHUTOFF,	/* defined, not running */
	VMH_DOM_RUNNING,	/* running or blocked */
	VMH_DOM_PAUSED,
	VMH_DOM_SHUTTING_DOWN,
	VMH_DOM_CRASHED,
	VMH_DOM_PMSUSPENDED,
	VMH_DOM_UNKNOWN,	/* VIR_DOMAIN_NOSTATE */
};

struct vmh_dom_status {
	enum vmh_dom_state state;
	int reason;		/* libvirt's reason for state */
};

/* uri NULL: libvirt's default. 0 or -EIO (vmh_virt_error() says why). */
int vmh_virt_open(const char *uri, vmh_virt_t **out);
void vmh_virt_close(vmh_virt_t *v);
virConnectPtr vmh_virt_conn(vmh_virt_t *v);

/* libvirt's last error message on this thread, never NULL. */
const char *vmh_virt_error(void);
/* libvirt's last error code on this thread (virErrorNumber). */
int vmh_virt_error_code(void);

/* 0 with st filled (state MISSING if there is no such domain), or -EIO. */
int vmh_virt_dom_status(vmh_virt_t *v, const char *name, struct vmh_dom_status *st);
int vmh_virt_dom_status_of(virDomainPtr dom, struct vmh_dom_status *st);

/* "running", "paused (user)", "paused (I/O error)", ... */
const char *vmh_dom_state_name(enum vmh_dom_state s);
const char *vmh_dom_paused_reason_name(int reason);

/*
 * Wait until done(status) holds for the domain called name, or until
 * deadline_ms (vmh_now_ms clock). Woken by libvirt lifecycle events; the
 * state is read again on each event (and once a second, in case an event
 * was lost with a reconnecting libvirtd). Returns 0, -ETIMEDOUT, or -EIO.
 * *st holds the last state seen.
 */
int vmh_virt_wait(vmh_virt_t *v, const char *name,
		  bool (*done)(const struct vmh_dom_status *st),
		  int64_t deadline_ms, struct vmh_dom_status *st);

#endif
