/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vmh_sockkill.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct diag_req {
	struct nlmsghdr nlh;
	struct inet_diag_req_v2 r;
};

static int nl_send(int fd, uint16_t type, uint16_t flags, const struct inet_diag_req_v2 *r)
{
	struct diag_req req = {
		.nlh = { .nlmsg_len = sizeof(req), .nlmsg_type = type,
			 .nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags) },
		.r = *r,
	};
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/* Wait for the ack of one SOCK_DESTROY; 0 or -errno from the kernel. */
static int nl_ack(int fd)
{
	char buf[1024];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	struct nlmsghdr *h = (struct nlmsghdr *)buf;

	if (n < 0)
		return -errno;
	if (NLMSG_OK(h, (size_t)n) && h->nlmsg_type == NLMSG_ERROR)
		return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	return 0;
}

static int kill_family(int family, const void *addr, size_t alen,
		       unsigned port_lo, unsigned port_hi)
{
	struct inet_diag_req_v2 dump = {
		.sdiag_family = (uint8_t)family, .sdiag_protocol = IPPROTO_TCP,
		.idiag_states = (1u << TCP_ESTABLISHED) | (1u << TCP_SYN_SENT) |
				(1u << TCP_CLOSE_WAIT) | (1u << TCP_FIN_WAIT1),
	};
	struct inet_diag_sockid victims[64];
	size_t nvictims = 0;
	char buf[16384];
	bool done = false;
	int fd, r, killed = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	r = nl_send(fd, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, &dump);
	while (r == 0 && !done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			r = -errno;
			break;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			struct inet_diag_msg *m;
			unsigned port;

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			m = NLMSG_DATA(h);
			port = ntohs(m->id.idiag_dport);
			if (port >= port_lo && port <= port_hi &&
			    memcmp(m->id.idiag_dst, addr, alen) == 0 &&
			    nvictims < sizeof(victims) / sizeof(victims[0]))
				victims[nvictims++] = m->id;
		}
	}
	for (size_t i = 0; r == 0 && i < nvictims; i++) {
		struct inet_diag_req_v2 kill = dump;
		int k;

		kill.idiag_states = ~0u;
		kill.id = victims[i];
		k = nl_send(fd, SOCK_DESTROY, NLM_F_ACK, &kill);
		if (k == 0)
			k = nl_ack(fd);
		if (k == 0 || k == -ENOENT)
			killed += k == 0;
		else
			r = k;
	}
	close(fd);
	return r < 0 ? r : killed;
}

int vmh_sockkill_peer(const char *addr, unsigned port_lo, unsigned port_hi)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return kill_family(AF_INET, &a4, sizeof(a4), port_lo, port_hi);
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return kill_family(AF_INET6, &a6, sizeof(a6), port_lo, port_hi);
	return -EINVAL;
}
