/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_fastmon: what lets a recurring monitor skip the full agent.
 *
 * The full agent (vmhandoff-ra) costs ~30 ms a call, ~18 of them loading
 * libvirt, libxml2 and GnuTLS. The program pacemaker runs is a front
 * (agent/front/, libc only) that answers one case itself, from
 * vmhandoffd's long-lived libvirt connection (DOMSTATE), and execs the
 * full agent, same argv and environment, for everything else.
 *
 * The front may only answer where the full agent would answer the same,
 * OK. It relies on a ticket the full agent writes after a recurring
 * monitor that found the domain running ("<rsc>.fastmon" in the agent's
 * cache dir, $HA_RSCTMP/vmhandoff): the full agent vouches there that,
 * with exactly these parameters (a digest of the resource's
 * OCF_RESKEY_*, which it found valid) and this config file (its stat
 * identity; the domain's name was read from it), the domain is "domain"
 * on the hypervisor "uri". The front answers OK only when the digest of
 * its own environment and the config file's identity are those of the
 * ticket, vmhandoffd's libvirt connection is that same URI and finds the
 * domain running, the registry allows it on this node, and the
 * utilization the full agent would compute from the domain's figures is
 * what it last wrote to the CIB ("<rsc>.utilization", else the full
 * agent has a CIB write to do).
 *
 * Only libc under this file: the front links it.
 */
#ifndef VMH_FASTMON_H
#define VMH_FASTMON_H

#include <stddef.h>
#include <stdint.h>

#include "vmh_ipc.h"
#include "vmh_registry.h"

/* The files, "<rsc>.<kind>" in the agent's cache dir. */
#define VMH_FASTMON_KIND "fastmon"
#define VMH_FASTMON_UTIL_KIND "utilization"
/* Where the agent's cache dir is when $HA_RSCTMP is unset or empty. */
#define VMH_FASTMON_DEFAULT_RSCTMP "/run/resource-agents"

#define VMH_FASTMON_TEXT_MAX 2048	/* a ticket's text */
#define VMH_FASTMON_ID_MAX 127		/* vmh_fastmon_config_id() */
#define VMH_FASTMON_PATH_MAX 511	/* config and socket paths */
#define VMH_FASTMON_UTIL_TEXT_MAX 80	/* vmh_fastmon_util_text() */

/* What a monitor does with one utilization attribute (cpu, host_memory,
 * hv_memory): autoset_utilization_X, unset_utilization_X, or neither. */
enum vmh_util_mode { VMH_UTIL_LEAVE, VMH_UTIL_SET, VMH_UTIL_REMOVE };
enum { VMH_UTIL_CPU, VMH_UTIL_HOST_MEM, VMH_UTIL_HV_MEM, VMH_UTIL_COUNT };

struct vmh_fastmon {
	uint64_t params;			/* vmh_fastmon_digest() */
	char config[VMH_FASTMON_PATH_MAX + 1];	/* the config parameter */
	char config_id[VMH_FASTMON_ID_MAX + 1];	/* its identity, before it was read */
	char uri[VMH_IPC_URI_MAX + 1];		/* the agent's libvirt connection */
	char socket[VMH_FASTMON_PATH_MAX + 1];	/* registry_socket */
	enum vmh_util_mode util[VMH_UTIL_COUNT];
	char domain[VMH_REG_NAME_MAX + 1];
};

/*
 * A digest (64-bit FNV-1a, not a defence against anyone who can write the
 * environment) of what decides the agent's parameters and connection:
 * every OCF_RESKEY_* entry of envp that is not the cluster's
 * (vmh_params_cluster_key) and LIBVIRT_DEFAULT_URI, whole "key=value"
 * entries in sorted order, so the environment's order does not matter.
 * 0 if there are more entries than it looks at (never a valid digest).
 */
uint64_t vmh_fastmon_digest(char *const *envp);

/* The identity of the file at path, from stat(): device, inode, size,
 * mtime and ctime (ns). A file replaced or written since has another.
 * 0, or -errno. */
int vmh_fastmon_config_id(const char *path, char *buf, size_t len);

/* A ticket as text and back. Format: 0 or -EINVAL (a field that cannot be
 * written: a newline, a bad domain name, an empty path) or -ENOSPC.
 * Parse: 0, or -EINVAL for anything but a ticket of this version. */
int vmh_fastmon_format(const struct vmh_fastmon *t, char *buf, size_t len);
int vmh_fastmon_parse(const char *text, struct vmh_fastmon *t);

/* "<rsctmp>/vmhandoff/<rsc>.<kind>" (rsctmp NULL or "":
 * VMH_FASTMON_DEFAULT_RSCTMP), as agent/ra_cache.c names its files.
 * 0 or -ENAMETOOLONG. */
int vmh_fastmon_path(const char *rsctmp, const char *rsc, const char *kind, char *buf,
		     size_t len);

/* The utilization a monitor wants for a domain with these figures
 * (virDomainInfo's nrVirtCpu and maxMem): per attribute, the value to set
 * (>0), -1 to remove it, 0 to leave it alone; and as the text the agent
 * keeps of what it last wrote ("<rsc>.utilization"). */
void vmh_fastmon_util_values(const enum vmh_util_mode mode[VMH_UTIL_COUNT], unsigned vcpus,
			     uint64_t max_mem_kib, long long v[VMH_UTIL_COUNT]);
void vmh_fastmon_util_text(const long long v[VMH_UTIL_COUNT], char *buf, size_t len);

#endif
