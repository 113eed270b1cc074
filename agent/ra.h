/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The resource agent's shared context. Every action gets one struct ra,
 * filled by main.c from the environment pacemaker-execd provides.
 *
 * OCF exit codes appear in agent/ only: lib/ returns 0 / -errno and the
 * action functions here decide what pacemaker is told.
 */
#ifndef VMH_RA_H
#define VMH_RA_H

#include <stdbool.h>
#include <stdint.h>

#include <crm/common/results.h>	/* enum ocf_exitcode, PCMK_OCF_* */

#include "vmh_domxml.h"
#include "vmh_fastmon.h"
#include "vmh_params.h"
#include "vmh_registry.h"
#include "vmh_virt.h"

struct ra {
	const char *action;
	const char *rsc;		/* OCF_RESOURCE_INSTANCE */
	struct vmh_params p;
	struct vmh_params_errors perr;
	bool params_ok;

	struct vmh_domxml dx;		/* the config file, if readable; at start
					 * replaced by the registry's definition */
	bool dx_from_registry;		/* dx is the registry's */
	int dx_err;			/* 0, or -errno of loading it */
	char dx_why[256];		/* what was wrong with it, for people */
	char config_id[VMH_FASTMON_ID_MAX + 1];	/* the config file's identity
					 * before it was read, "" unknown */
	char *dom_name;			/* from dx, or the name cache */
	char *dom_uuid;

	vmh_virt_t *virt;		/* opened on first use */
	int64_t timeout_ms;		/* OCF_RESKEY_CRM_meta_timeout */
	int64_t deadline_ms;		/* when we must have answered */
	int64_t answer_by_ms;		/* from then on the watchdog answers */
	bool probe;			/* monitor with interval 0 */
	const char *proc_root;		/* /proc; VMH_PROC_ROOT in tests */
	char cache_dir[256];		/* $HA_RSCTMP/vmhandoff */
};

typedef enum ocf_exitcode ra_rc;

/* Connect to the hypervisor on first use. 0 or -EIO (logged). */
int ra_virt(struct ra *ra);

/* Milliseconds the action may still use, keeping reserve_ms back, before
 * the watchdog answers for it; never negative. */
int64_t ra_time_left_ms(const struct ra *ra, int64_t reserve_ms);

/* Log at error level and emit the OCF exit reason pacemaker shows. */
void ra_exit_reason(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Small per-resource files in cache_dir ($HA_RSCTMP/vmhandoff),
 * "<rsc>.<kind>": read into buf (NUL-terminated) / replace atomically.
 * 0 or -errno. */
int ra_cache_read(struct ra *ra, const char *kind, char *buf, size_t len);
int ra_cache_write(struct ra *ra, const char *kind, const char *text);

/* Remember / recall the domain name for this resource, so that a probe
 * with an unreadable config still knows what to look for. */
void ra_name_cache_store(struct ra *ra);
char *ra_name_cache_load(struct ra *ra);

/* After a recurring monitor found the domain running: the ticket that
 * lets the front answer the next ones itself (lib/vmh_fastmon.h), if
 * this call is one it may answer like. */
void ra_fastmon_store(struct ra *ra);

/* Actions (ra_*.c). */
ra_rc ra_monitor(struct ra *ra);
ra_rc ra_start(struct ra *ra);
ra_rc ra_stop(struct ra *ra);
ra_rc ra_migrate_to(struct ra *ra);
ra_rc ra_migrate_from(struct ra *ra);
ra_rc ra_utilization_update(struct ra *ra);
/* What a monitor does with each utilization attribute. */
void ra_utilization_modes(const struct vmh_params *p, enum vmh_util_mode mode[VMH_UTIL_COUNT]);

/* What an action answers when its time is up and libvirt still has not
 * answered (run on the watchdog thread: no libvirt calls). */
ra_rc ra_monitor_without_libvirt(struct ra *ra, const char *why);
ra_rc ra_stop_without_libvirt(struct ra *ra, const char *why);
ra_rc ra_stop_fallback(struct ra *ra, const char *why);	/* the above, then RELEASE */

/* Start the networks and storage pools the domain uses on conn;
 * 0 or -EIO (logged with an exit reason). */
int ra_start_resources(struct ra *ra, virConnectPtr conn);

/*
 * vmhandoffd's owner registry (ra_registry.c), used when the registry
 * parameter is true. Each call is one request to the local daemon and
 * uses at most budget_ms; each logs what the registry answered, naming
 * the VM, and says why on failure (with an exit reason where the action
 * fails because of it).
 */
/* start, before the claim: the registry's definition of the VM, if it
 * holds one, replaces the config file's in ra->dx (logged when they
 * differ). OK (also when the registry holds none), or
 * PCMK_OCF_UNKNOWN_ERROR (daemon unreachable, a definition of another
 * name). */
ra_rc ra_registry_config(struct ra *ra, int64_t budget_ms);
/* start: this node owns the VM. OK, or PCMK_OCF_UNKNOWN_ERROR. The claim
 * carries the config file's XML only when the registry holds none. */
ra_rc ra_registry_claim(struct ra *ra, int64_t budget_ms);
/* stop, after the domain is gone. A failure is only a warning. */
void ra_registry_release(struct ra *ra, int64_t budget_ms);

/* A handoff in progress (migrate_to). */
struct ra_handoff {
	const char *target;		/* pacemaker's node name */
	uint32_t target_id;		/* its corosync nodeid, from BEGIN */
	char addr[VMH_REG_ADDR_MAX + 1];	/* its migration-link address, "" none */
};
/* Before the migration. OK, or PCMK_OCF_UNKNOWN_ERROR: do not migrate. */
ra_rc ra_registry_begin(struct ra *ra, const char *target, struct ra_handoff *h,
			int64_t budget_ms);
/* After the migrate call succeeded. OK: the VM is the target's now. */
ra_rc ra_registry_commit(struct ra *ra, const struct ra_handoff *h, int64_t budget_ms);
enum ra_abort_result {
	RA_ABORTED,		/* delivered: vmhandoffd resumes the source copy */
	RA_COMMIT_WON,		/* the target's commit came first: migrated */
	RA_UNDECIDED,		/* refused otherwise, timed out or not asked */
};
/* After the migrate call failed or was cancelled. */
enum ra_abort_result ra_registry_abort(struct ra *ra, const struct ra_handoff *h,
				       int64_t budget_ms);
/* migrate_from: wait until the registry names this node the owner and
 * vmhandoffd has resumed the domain. OK, or PCMK_OCF_UNKNOWN_ERROR. */
ra_rc ra_registry_wait_owner(struct ra *ra, const char *source, int64_t budget_ms);

/* Domain state helpers shared by actions. */
bool ra_state_running(const struct vmh_dom_status *st);
bool ra_state_gone(const struct vmh_dom_status *st);

#endif
