/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_sockkill: abort TCP connections to a peer, through the kernel's
 * sock_diag SOCK_DESTROY (what `ss -K` does), without a shell.
 *
 * Why: a QEMU whose migration stream is blocked on a dead link while it
 * finishes a migration holds its main lock; neither libvirt's job queries
 * nor its cancel get through until TCP gives up (many minutes). Aborting
 * the stream's socket makes QEMU's write fail, the migration fails, and
 * the source runs on.
 */
#ifndef VMH_SOCKKILL_H
#define VMH_SOCKKILL_H

/* Destroy every TCP connection of this network namespace whose remote
 * address is addr (numeric IPv4/IPv6) and remote port lies in
 * [port_lo, port_hi]. Returns how many were destroyed, or -errno
 * (-EOPNOTSUPP: kernel without CONFIG_INET_DIAG_DESTROY). */
int vmh_sockkill_peer(const char *addr, unsigned port_lo, unsigned port_hi);

#endif
