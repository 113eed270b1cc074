/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_qemuproc: find a domain's QEMU process without libvirt, by reading
 * /proc/PID/cmdline (no ps, no shell). Used when libvirtd does not answer:
 * a VM whose QEMU process exists is not "stopped", whatever else we know.
 */
#ifndef VMH_QEMUPROC_H
#define VMH_QEMUPROC_H

#include <stdbool.h>
#include <sys/types.h>

/* True if argv (cmdline, NUL-separated, len bytes) is a QEMU running the
 * domain called name (libvirt passes "-name guest=NAME,..."; ',' in NAME
 * doubled) or, if uuid is non-NULL, with "-uuid UUID". */
bool vmh_qemuproc_cmdline_matches(const char *cmdline, size_t len,
				  const char *name, const char *uuid);

/* Scan proc_root ("/proc" outside tests). Returns the number of matching
 * processes (0 or more) and the first pid in *pid, or -errno if proc_root
 * cannot be read. */
int vmh_qemuproc_find(const char *proc_root, const char *name,
		      const char *uuid, pid_t *pid);

/* Any QEMU at all? (for a probe that does not know the domain's name) */
int vmh_qemuproc_any(const char *proc_root);

#endif
