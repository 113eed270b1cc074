/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vmh_uri.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vmh_cidr_parse(const char *text, struct vmh_cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	unsigned max;
	char *end;
	long prefix;

	if (!slash || (size_t)(slash - text) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, (size_t)(slash - text));
	buf[slash - text] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	if (!isdigit((unsigned char)slash[1]))
		return -EINVAL;
	errno = 0;
	prefix = strtol(slash + 1, &end, 10);
	if (errno || *end != '\0' || prefix < 0 || prefix > (long)max)
		return -EINVAL;
	out->prefix = (unsigned)prefix;
	return 0;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (0xffu << (8 - rest)) & 0xffu) == 0;
}

bool vmh_cidr_contains(const struct vmh_cidr *c, const struct sockaddr *sa)
{
	if (sa->sa_family != c->family)
		return false;
	if (c->family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		return prefix_equal((const unsigned char *)&in->sin_addr, c->addr, c->prefix);
	}
	return prefix_equal(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, c->addr, c->prefix);
}

bool vmh_uri_user_ok(const char *user)
{
	if (!user || !islower((unsigned char)user[0]))
		return false;
	for (const char *s = user + 1; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

char *vmh_uri_subst_node(const char *template, const char *node)
{
	size_t count = 0, nlen = strlen(node);
	const char *s;
	char *out, *o;

	for (s = template; (s = strstr(s, "%n")); s += 2)
		count++;
	out = malloc(strlen(template) + count * nlen + 1);
	if (!out)
		return NULL;
	for (s = template, o = out; *s;) {
		if (s[0] == '%' && s[1] == 'n') {
			memcpy(o, node, nlen);
			o += nlen;
			s += 2;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

char *vmh_uri_suffixed_host(const char *node, const char *suffix)
{
	size_t first = strcspn(node, ".");
	char *out;

	if (!suffix)
		suffix = "";
	if (asprintf(&out, "%.*s%s%s", (int)first, node, suffix, node + first) < 0)
		return NULL;
	return out;
}

static const char *bracket_open(const char *host)
{
	return strchr(host, ':') && host[0] != '[' ? "[" : "";
}

static const char *bracket_close(const char *host)
{
	return strchr(host, ':') && host[0] != '[' ? "]" : "";
}

char *vmh_uri_remote(const char *hypervisor, const char *transport,
		     const char *user, const char *host)
{
	const char *sep = strstr(hypervisor, "://");
	const char *authority, *path, *port;
	char *out;
	int r;

	if (!sep || sep == hypervisor)
		return NULL;
	authority = sep + 3;
	path = strchr(authority, '/');
	if (!path)
		return NULL;
	/* Keep an explicit port of the original URI, as VirtualDomain does. */
	port = memchr(authority, ':', (size_t)(path - authority));
	if (port && authority[0] == '[')
		port = NULL;
	if (port && strspn(port + 1, "0123456789") != (size_t)(path - port - 1))
		port = NULL;
	/* The scheme without any transport of its own ("qemu+ssh" -> "qemu")
	 * only when we add one. */
	size_t scheme_len = (size_t)(sep - hypervisor);
	if (transport && transport[0]) {
		const char *plus = memchr(hypervisor, '+', scheme_len);

		if (plus)
			scheme_len = (size_t)(plus - hypervisor);
	}
	r = asprintf(&out, "%.*s%s%s://%s%s%s%s%s%.*s%s",
		     (int)scheme_len, hypervisor,
		     transport && transport[0] ? "+" : "", transport ? transport : "",
		     user ? user : "", user ? "@" : "",
		     bracket_open(host), host, bracket_close(host),
		     port ? (int)(path - port) : 0, port ? port : "", path);
	return r < 0 ? NULL : out;
}

char *vmh_uri_migration(const char *host, unsigned port)
{
	char *out;
	int r;

	if (port)
		r = asprintf(&out, "tcp://%s%s%s:%u", bracket_open(host), host, bracket_close(host), port);
	else
		r = asprintf(&out, "tcp://%s%s%s", bracket_open(host), host, bracket_close(host));
	return r < 0 ? NULL : out;
}

int vmh_resolve_in_cidr(const char *node, const struct vmh_cidr *c,
			char *out, size_t outlen)
{
	struct addrinfo hints = { .ai_family = c->family, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	int r = -ENOENT;

	/* A literal address is its own answer. */
	if (getaddrinfo(node, NULL, &hints, &res) != 0)
		return -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		if (!vmh_cidr_contains(c, ai->ai_addr))
			continue;
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, out, (socklen_t)outlen,
				NULL, 0, NI_NUMERICHOST) == 0) {
			r = 0;
			break;
		}
	}
	freeaddrinfo(res);
	return r;
}
