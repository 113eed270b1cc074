/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_uri: where a migration goes. Builds the libvirt peer URI (dconnuri)
 * and the migration data URI the way ocf:heartbeat:VirtualDomain does from
 * remoteuri / migration_transport / migration_user /
 * migration_network_suffix / migrateuri / migrateport, and, new, from the
 * target's address inside the dedicated link's CIDR (migration_network).
 * Pure string and address work: no libvirt, no logging.
 */
#ifndef VMH_URI_H
#define VMH_URI_H

#include <stdbool.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct vmh_cidr {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

int vmh_cidr_parse(const char *text, struct vmh_cidr *out);
bool vmh_cidr_contains(const struct vmh_cidr *c, const struct sockaddr *sa);

/* VirtualDomain's rule for migration_user: ^[a-z][-a-z0-9]*$ */
bool vmh_uri_user_ok(const char *user);

/* template with every "%n" replaced by node. Caller frees. NULL: ENOMEM. */
char *vmh_uri_subst_node(const char *template, const char *node);

/* node with suffix inserted before the first '.', so that an FQDN
 * "n1.example.com" + "-mig" gives "n1-mig.example.com". Caller frees. */
char *vmh_uri_suffixed_host(const char *node, const char *suffix);

/*
 * The hypervisor URI turned towards another host: "qemu:///system" with
 * transport "tcp", user "root", host "n2" gives
 * "qemu+tcp://root@n2/system"; a port in the original is kept. host may be
 * an IPv6 literal (bracketed here). user/transport may be NULL.
 * Returns NULL if hypervisor has no "scheme://.../path" form or on ENOMEM.
 */
char *vmh_uri_remote(const char *hypervisor, const char *transport,
		     const char *user, const char *host);

/* "tcp://host[:port]" (IPv6 literal bracketed); port 0: omitted. */
char *vmh_uri_migration(const char *host, unsigned port);

/*
 * The address of node inside the CIDR, as text, from the resolver
 * (getaddrinfo: /etc/hosts or DNS). Returns 0, -ENOENT if no address of
 * node lies in the CIDR, -EHOSTUNREACH if node does not resolve.
 */
int vmh_resolve_in_cidr(const char *node, const struct vmh_cidr *c,
			char *out, size_t outlen);

#endif
