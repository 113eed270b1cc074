/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_params: the resource parameters (OCF_RESKEY_*), parsed and checked
 * once, from the environment pacemaker-execd gives the agent.
 *
 * The names and meanings are those of ocf:heartbeat:VirtualDomain, so a
 * resource switches provider with no other change; the migration_* tuning
 * parameters are new. A parameter we do not implement is rejected with its
 * name, never ignored: an operator who sets it expects it to do something.
 */
#ifndef VMH_PARAMS_H
#define VMH_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

/* Domain shutdown modes, as virDomainShutdownFlags takes them. */
#define VMH_SHUTDOWN_MODES_MAX 5

struct vmh_params {
	/* VirtualDomain's parameters */
	char *config;
	char *hypervisor;		/* NULL: libvirt's default URI */
	bool force_stop;
	char *migration_transport;
	char *migration_user;
	unsigned migration_downtime;	/* ms, 0: libvirt's default */
	unsigned migration_speed;	/* MiB/s, 0: unlimited */
	char *migration_network_suffix;
	char *migrateuri;
	char *migrate_options;
	char *monitor_scripts;
	bool autoset_utilization_cpu;
	bool autoset_utilization_host_memory;
	bool autoset_utilization_hv_memory;
	bool unset_utilization_cpu;
	bool unset_utilization_host_memory;
	bool unset_utilization_hv_memory;
	unsigned migrateport;		/* 0: libvirt picks one */
	char *remoteuri;
	bool save_config_on_stop;
	bool sync_config_on_stop;	/* only false is accepted */
	char *snapshot;
	char *backingfile;		/* only empty is accepted */
	bool stateless;			/* only false is accepted */
	char *copyindirs;		/* only empty is accepted */
	char *shutdown_mode;
	bool start_resources;

	/* vmhandoff's own */
	char *migration_network;	/* CIDR of the dedicated link */
	unsigned migration_parallel;	/* multifd connections, 0: off */
	bool migration_auto_converge;
	char *migration_compression;	/* comma list of libvirt methods */
	bool migration_postcopy;
	bool migration_tls;
	unsigned migration_abort_after;	/* s without progress, 0: never */
	bool registry;			/* own the VM through vmhandoffd */
	char *registry_socket;		/* vmhandoffd's unix socket */
	bool require_fencing;		/* CLAIM: wait for the lost owner's fencing */

	/* resource-agents' generic tracing switch */
	bool trace_ra;
	char *trace_file;

	/* derived from the above by vmh_params_parse */
	unsigned shutdown_flags;	/* virDomainShutdownFlagValues */
	unsigned long migrate_option_flags; /* virDomainMigrateFlags from migrate_options */
	char *migrate_options_uri;	/* --migrateuri= in migrate_options */
	unsigned migrate_options_parallel; /* --parallel-connections= */
};

/* Every problem found, one per line, "name: reason". */
struct vmh_params_errors {
	char text[2048];
	unsigned count;
	char first_name[64];	/* the parameter of the first problem */
};

/*
 * Fill *p from envp (an environ-style array). Returns 0, or -EINVAL with
 * every problem described in *errs (the parsed values are still usable for
 * the parameters that were fine, so stop and monitor can proceed).
 * -ENOMEM on allocation failure.
 */
int vmh_params_parse(struct vmh_params *p, char *const *envp,
		     struct vmh_params_errors *errs);
void vmh_params_free(struct vmh_params *p);

/* Strict boolean: 1/yes/y/true/on and 0/no/n/false/off, any case. */
int vmh_parse_bool(const char *s, bool *out);
/* Decimal, no sign, no trailing junk, within [min, max]. */
int vmh_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);

/* Is the OCF_RESKEY_ key (len bytes, the part after the prefix) one that
 * pacemaker (or ocf-tester) sets itself, CRM_meta_* and crm_feature_set,
 * never a user: not a parameter, not ours to judge. (lib/vmh_names.c) */
bool vmh_params_cluster_key(const char *key, size_t len);

/* The i-th parameter the agent knows, NULL past the last (for tests). */
const char *vmh_param_name(size_t i);

#endif
