/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_fastmon: the ticket of the monitor's fast path (see vmh_fastmon.h).
 *
 * A ticket is a few lines of text, one field each, in a fixed order:
 *
 *   vmhandoff-fastmon 1
 *   params 5d1a0c33e0a9d2f1
 *   config /etc/libvirt/vms/vm1.xml
 *   config_id 2049:1835:1733:1700000000.123456789:1700000000.123456789
 *   uri qemu:///system
 *   socket /run/vmhandoff/vmhandoffd.sock
 *   utilization set set set
 *   domain vm1
 *
 * Anything else, a field missing or out of order included, is not a
 * ticket: the front then leaves the call to the full agent.
 */
#include "vmh_fastmon.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vmh_params.h"

#define MAGIC "vmhandoff-fastmon 1"
#define RESKEY "OCF_RESKEY_"
/* Entries the digest looks at; a resource has about 40 parameters. */
#define DIGEST_MAX_ENTRIES 256

static const char *const util_words[] = {
	[VMH_UTIL_LEAVE] = "leave", [VMH_UTIL_SET] = "set", [VMH_UTIL_REMOVE] = "remove",
};

static bool digest_entry(const char *e)
{
	const char *key, *eq;

	if (strncmp(e, "LIBVIRT_DEFAULT_URI=", 20) == 0)
		return true;
	if (strncmp(e, RESKEY, strlen(RESKEY)) != 0)
		return false;
	key = e + strlen(RESKEY);
	eq = strchr(key, '=');
	return eq && !vmh_params_cluster_key(key, (size_t)(eq - key));
}

uint64_t vmh_fastmon_digest(char *const *envp)
{
	const char *e[DIGEST_MAX_ENTRIES];
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a 64 */
	size_t n = 0;

	for (size_t i = 0; envp && envp[i]; i++) {
		size_t j;

		if (!digest_entry(envp[i]))
			continue;
		if (n == DIGEST_MAX_ENTRIES)
			return 0;
		/* insertion sort: a few dozen entries */
		for (j = n; j > 0 && strcmp(e[j - 1], envp[i]) > 0; j--)
			e[j] = e[j - 1];
		e[j] = envp[i];
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		/* each entry with its NUL, so "a=bc","d" and "a=b","cd" differ */
		for (const unsigned char *p = (const unsigned char *)e[i];; p++) {
			h = (h ^ *p) * 0x100000001b3ull;
			if (!*p)
				break;
		}
	}
	return h ? h : 1;
}

int vmh_fastmon_config_id(const char *path, char *buf, size_t len)
{
	struct stat st;
	int n;

	if (!path || stat(path, &st) < 0)
		return path ? -errno : -EINVAL;
	n = snprintf(buf, len, "%ju:%ju:%jd:%jd.%09ld:%jd.%09ld", (uintmax_t)st.st_dev,
		     (uintmax_t)st.st_ino, (intmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
		     st.st_mtim.tv_nsec, (intmax_t)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* A value that fits on one line of a ticket. */
static bool one_line(const char *s)
{
	return s[0] != '\0' && strchr(s, '\n') == NULL;
}

int vmh_fastmon_format(const struct vmh_fastmon *t, char *buf, size_t len)
{
	int n;

	if (!one_line(t->config) || !one_line(t->config_id) || !one_line(t->uri) ||
	    !one_line(t->socket) || !vmh_reg_name_ok(t->domain, strlen(t->domain)) ||
	    t->params == 0)
		return -EINVAL;
	for (int i = 0; i < VMH_UTIL_COUNT; i++)
		if ((unsigned)t->util[i] > VMH_UTIL_REMOVE)
			return -EINVAL;
	n = snprintf(buf, len,
		     MAGIC "\nparams %016" PRIx64 "\nconfig %s\nconfig_id %s\nuri %s\nsocket %s\n"
		     "utilization %s %s %s\ndomain %s\n",
		     t->params, t->config, t->config_id, t->uri, t->socket,
		     util_words[t->util[0]], util_words[t->util[1]], util_words[t->util[2]],
		     t->domain);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/* The value of the line at *text that starts with "key ", into out
 * (size bytes); *text moves past the line. false if it is not there. */
static bool take_line(const char **text, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	const char *v = *text, *nl;

	if (strncmp(v, key, klen) != 0 || v[klen] != ' ')
		return false;
	v += klen + 1;
	nl = strchr(v, '\n');
	if (!nl || nl == v || (size_t)(nl - v) >= size)
		return false;
	memcpy(out, v, (size_t)(nl - v));
	out[nl - v] = '\0';
	*text = nl + 1;
	return true;
}

static bool parse_util(const char *s, enum vmh_util_mode mode[VMH_UTIL_COUNT])
{
	for (int i = 0; i < VMH_UTIL_COUNT; i++) {
		size_t len = strcspn(s, " ");
		bool found = false;

		for (int m = VMH_UTIL_LEAVE; m <= VMH_UTIL_REMOVE; m++) {
			if (strlen(util_words[m]) == len && strncmp(s, util_words[m], len) == 0) {
				mode[i] = (enum vmh_util_mode)m;
				found = true;
			}
		}
		if (!found || (i < VMH_UTIL_COUNT - 1 && s[len] != ' '))
			return false;
		s += len + (i < VMH_UTIL_COUNT - 1);
	}
	return *s == '\0';
}

int vmh_fastmon_parse(const char *text, struct vmh_fastmon *t)
{
	char params[32], util[64];
	char *end;

	memset(t, 0, sizeof(*t));
	if (strncmp(text, MAGIC "\n", strlen(MAGIC) + 1) != 0)
		return -EINVAL;
	text += strlen(MAGIC) + 1;
	if (!take_line(&text, "params", params, sizeof(params)) ||
	    !take_line(&text, "config", t->config, sizeof(t->config)) ||
	    !take_line(&text, "config_id", t->config_id, sizeof(t->config_id)) ||
	    !take_line(&text, "uri", t->uri, sizeof(t->uri)) ||
	    !take_line(&text, "socket", t->socket, sizeof(t->socket)) ||
	    !take_line(&text, "utilization", util, sizeof(util)) ||
	    !take_line(&text, "domain", t->domain, sizeof(t->domain)) || *text != '\0')
		goto bad;
	if (strlen(params) != 16 || strspn(params, "0123456789abcdef") != 16)
		goto bad;
	t->params = strtoull(params, &end, 16);
	if (t->params == 0 || !parse_util(util, t->util) ||
	    !vmh_reg_name_ok(t->domain, strlen(t->domain)))
		goto bad;
	return 0;
bad:
	memset(t, 0, sizeof(*t));
	return -EINVAL;
}

int vmh_fastmon_path(const char *rsctmp, const char *rsc, const char *kind, char *buf,
		     size_t len)
{
	int n = snprintf(buf, len, "%s/vmhandoff/%s.%s",
			 rsctmp && rsctmp[0] ? rsctmp : VMH_FASTMON_DEFAULT_RSCTMP, rsc, kind);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void vmh_fastmon_util_values(const enum vmh_util_mode mode[VMH_UTIL_COUNT], unsigned vcpus,
			     uint64_t max_mem_kib, long long v[VMH_UTIL_COUNT])
{
	/* cpu: vCPUs; host_memory and hv_memory: the maximum, in MiB */
	const long long set[VMH_UTIL_COUNT] = { (long long)vcpus, (long long)(max_mem_kib / 1024),
						(long long)(max_mem_kib / 1024) };

	for (int i = 0; i < VMH_UTIL_COUNT; i++)
		v[i] = mode[i] == VMH_UTIL_SET ? set[i] : mode[i] == VMH_UTIL_REMOVE ? -1 : 0;
}

void vmh_fastmon_util_text(const long long v[VMH_UTIL_COUNT], char *buf, size_t len)
{
	snprintf(buf, len, "%lld %lld %lld\n", v[0], v[1], v[2]);
}
