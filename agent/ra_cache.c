/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The agent's small per-resource memory in $HA_RSCTMP/vmhandoff (a tmpfs:
 * it lives as long as the node's current boot, like the domains it
 * describes): the domain name a resource last had, the utilization
 * values last written to the CIB, and the fast monitor's ticket. Files are
 * replaced atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ra.h"

extern char **environ;

static int cache_dir_create(struct ra *ra)
{
	char parent[sizeof(ra->cache_dir)];
	char *slash;

	if (mkdir(ra->cache_dir, 0700) == 0 || errno == EEXIST)
		return 0;
	/* $HA_RSCTMP itself may not exist yet (resource-agents' tmpfiles
	 * entry creates it, pacemaker does not). */
	snprintf(parent, sizeof(parent), "%s", ra->cache_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (mkdir(parent, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	return mkdir(ra->cache_dir, 0700) == 0 || errno == EEXIST ? 0 : -errno;
}

static void cache_path(struct ra *ra, const char *kind, char *path, size_t len)
{
	snprintf(path, len, "%s/%s.%s", ra->cache_dir, ra->rsc ? ra->rsc : "default", kind);
}

int ra_cache_read(struct ra *ra, const char *kind, char *buf, size_t len)
{
	char path[512];
	ssize_t n;
	int fd;

	cache_path(ra, kind, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	return 0;
}

int ra_cache_write(struct ra *ra, const char *kind, const char *text)
{
	char path[512], tmp[520];
	size_t len = strlen(text);
	int fd, r;

	r = cache_dir_create(ra);
	if (r < 0)
		return r;
	cache_path(ra, kind, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || close(fd) < 0) {
		unlink(tmp);
		return -EIO;
	}
	return rename(tmp, path) < 0 ? -errno : 0;
}

void ra_name_cache_store(struct ra *ra)
{
	char text[1024];
	char *old;

	if (!ra->dom_name || !ra->rsc)
		return;
	old = ra_name_cache_load(ra);
	if (old && strcmp(old, ra->dom_name) == 0) {
		free(old);
		return;	/* the common case: nothing to write */
	}
	free(old);
	snprintf(text, sizeof(text), "%s\n%s\n", ra->dom_name, ra->dom_uuid ? ra->dom_uuid : "");
	ra_cache_write(ra, "domain", text);
}

char *ra_name_cache_load(struct ra *ra)
{
	char text[1024], *nl, *uuid;

	if (ra_cache_read(ra, "domain", text, sizeof(text)) < 0)
		return NULL;
	nl = strchr(text, '\n');
	if (!nl || nl == text)
		return NULL;
	*nl = '\0';
	uuid = nl + 1;
	uuid[strcspn(uuid, "\n")] = '\0';
	if (!ra->dom_uuid && uuid[0])
		ra->dom_uuid = strdup(uuid);
	return strdup(text);
}

/*
 * The fast monitor's ticket (lib/vmh_fastmon.h). Written only for a call
 * the front may answer like: a recurring monitor that found the domain
 * running (the caller's part), valid parameters (the front would hide the
 * error the full agent logs about others), registry=true (the front needs
 * vmhandoffd), no monitor_scripts (the front runs none), the domain's name
 * read from the config file (not the name cache), and that file unchanged
 * since it was read. Rewritten only when it changes.
 */
void ra_fastmon_store(struct ra *ra)
{
	struct vmh_fastmon t = { 0 };
	char text[VMH_FASTMON_TEXT_MAX], old[VMH_FASTMON_TEXT_MAX], id[VMH_FASTMON_ID_MAX + 1];
	const char *sock = ra->p.registry_socket ? ra->p.registry_socket : VMH_IPC_DEFAULT_SOCKET;
	char *uri;
	int n;

	if (!ra->rsc || !ra->params_ok || !ra->p.registry || ra->p.monitor_scripts ||
	    ra->dx_err != 0 || !ra->dom_name || !ra->config_id[0] || !ra->virt)
		return;
	if (vmh_fastmon_config_id(ra->p.config, id, sizeof(id)) < 0 ||
	    strcmp(id, ra->config_id) != 0)
		return;
	uri = virConnectGetURI(vmh_virt_conn(ra->virt));
	if (!uri)
		return;
	n = snprintf(t.uri, sizeof(t.uri), "%s", uri);
	free(uri);
	t.params = vmh_fastmon_digest(environ);
	if (n < 0 || (size_t)n >= sizeof(t.uri) || t.params == 0 ||
	    snprintf(t.config, sizeof(t.config), "%s", ra->p.config) >= (int)sizeof(t.config) ||
	    snprintf(t.socket, sizeof(t.socket), "%s", sock) >= (int)sizeof(t.socket) ||
	    snprintf(t.domain, sizeof(t.domain), "%s", ra->dom_name) >= (int)sizeof(t.domain))
		return;
	memcpy(t.config_id, id, sizeof(id));
	ra_utilization_modes(&ra->p, t.util);
	if (vmh_fastmon_format(&t, text, sizeof(text)) < 0)
		return;
	if (ra_cache_read(ra, VMH_FASTMON_KIND, old, sizeof(old)) == 0 && strcmp(old, text) == 0)
		return;
	ra_cache_write(ra, VMH_FASTMON_KIND, text);
}
