/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmhandoffd's configuration: /etc/vmhandoff/vmhandoff.conf, then the
 * command line on top (so each simulated host of a test can run its own).
 *
 * File: "key = value" lines, '#' starts a comment, blank lines ignored.
 * An unknown key, a bad value or a line without '=' is an error naming
 * the file, the line and the key: a daemon that guards against split
 * activation must not start on a configuration it half understood.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hd.h"
#include "vmh_log.h"

enum hd_key_kind { K_STRING, K_SECONDS, K_BOOL, K_CIDR };

struct hd_key {
	const char *name;	/* in the file */
	const char *flag;	/* on the command line */
	enum hd_key_kind kind;
	size_t offset;
	const char *help;
};

#define OFF(f) offsetof(struct hd_config, f)
static const struct hd_key keys[] = {
	{ "state_dir", "state-dir", K_STRING, OFF(state_dir),
	  "directory of the registry's state file" },
	{ "socket", "socket", K_STRING, OFF(socket_path),
	  "unix socket of the agent and the CLI" },
	{ "libvirt_uri", "libvirt-uri", K_STRING, OFF(libvirt_uri),
	  "libvirt connection" },
	{ "migration_network", "migration-network", K_CIDR, OFF(migration_network),
	  "CIDR of the dedicated migration link; this node publishes its address in it" },
	{ "quorum_loss_pause", "quorum-loss-pause", K_SECONDS, OFF(quorum_loss_pause_ms),
	  "seconds after losing quorum until the VMs here are paused" },
	{ "watchdog_timeout", "watchdog-timeout", K_SECONDS, OFF(watchdog_timeout_ms),
	  "seconds of the node's watchdog (sbd) after which a hung node has reset" },
	{ "expiry_margin", "expiry-margin", K_SECONDS, OFF(expiry_margin_ms),
	  "extra seconds before a lost node's VMs may be taken over without fencing" },
	{ "debug", "debug", K_BOOL, OFF(debug), "log debug messages" },
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const struct hd_key *key_by_name(const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int parse_seconds(const char *text, unsigned *ms)
{
	char *end;
	double s;

	errno = 0;
	s = strtod(text, &end);
	if (errno || end == text || *end || s < 0 || s > 86400)
		return -1;
	*ms = (unsigned)(s * 1000.0 + 0.5);
	return 0;
}

static int parse_bool(const char *text, bool *b)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*b = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*b = false;
			return 0;
		}
	}
	return -1;
}

/* where: "file:line" or "--flag", for the error message */
static int set_key(struct hd_config *cfg, const struct hd_key *k, const char *value,
		   const char *where)
{
	void *field = (char *)cfg + k->offset;

	switch (k->kind) {
	case K_CIDR:
		if (*value && vmh_cidr_parse(value, &cfg->mig_cidr) < 0) {
			vmh_log(VMH_LOG_ERR, "%s: %s: '%s' is not a network in CIDR notation (e.g. 198.18.1.0/24)",
				where, k->name, value);
			return -1;
		}
		/* keep the text too */
		/* fall through */
	case K_STRING: {
		char **s = field;
		char *copy;

		if (k->kind == K_STRING && !*value) {
			vmh_log(VMH_LOG_ERR, "%s: %s must not be empty", where, k->name);
			return -1;
		}
		copy = *value ? strdup(value) : NULL;
		if (*value && !copy) {
			vmh_log(VMH_LOG_ERR, "out of memory");
			return -1;
		}
		free(*s);
		*s = copy;
		return 0;
	}
	case K_SECONDS:
		if (parse_seconds(value, field) < 0) {
			vmh_log(VMH_LOG_ERR, "%s: %s: '%s' is not a number of seconds (0 to 86400)",
				where, k->name, value);
			return -1;
		}
		return 0;
	case K_BOOL:
		if (parse_bool(value, field) < 0) {
			vmh_log(VMH_LOG_ERR, "%s: %s: '%s' is not a boolean (yes/no)",
				where, k->name, value);
			return -1;
		}
		return 0;
	}
	return -1;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int load_file(struct hd_config *cfg, const char *path, bool must_exist)
{
	char line[1024], where[PATH_MAX + 32];
	unsigned lineno = 0;
	int rc = 0;
	struct stat st;
	FILE *f;
	/* O_NONBLOCK: a FIFO in its place must not hang the start (it is
	 * refused as not a regular file) */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0) {
		if (errno == ENOENT && !must_exist) {
			vmh_log(VMH_LOG_NOTICE, "no %s: using the defaults", path);
			return 0;
		}
		vmh_log_errno(VMH_LOG_ERR, errno, "cannot read the configuration %s", path);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(f = fdopen(fd, "r"))) {
		vmh_log(VMH_LOG_ERR, "cannot read the configuration %s: not a regular file", path);
		close(fd);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *hash, *eq, *key, *value;
		const struct hd_key *k;

		lineno++;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		if (!strchr(line, '\n') && !feof(f)) {
			vmh_log(VMH_LOG_ERR, "%s: line too long", where);
			rc = -1;
			break;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		key = trim(line);
		if (!*key)
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			vmh_log(VMH_LOG_ERR, "%s: expected 'key = value', got '%s'", where, key);
			rc = -1;
			break;
		}
		*eq = '\0';
		value = trim(eq + 1);
		key = trim(key);
		k = key_by_name(key);
		if (!k) {
			vmh_log(VMH_LOG_ERR, "%s: unknown key '%s'", where, key);
			rc = -1;
			break;
		}
		if (set_key(cfg, k, value, where) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		vmh_log_errno(VMH_LOG_ERR, errno, "error reading %s", path);
		rc = -1;
	}
	fclose(f);
	return rc;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: vmhandoffd [-c FILE] [--KEY VALUE]...\n"
		     "The vmhandoff helper daemon: the replicated VM owner registry.\n\n"
		     "  -c, --config FILE   configuration file (default %s)\n", HD_DEFAULT_CONFIG);
	for (size_t i = 0; i < N_KEYS; i++)
		fprintf(out, "  --%-18s %s (file key: %s)\n", keys[i].flag, keys[i].help, keys[i].name);
	fprintf(out, "  -h, --help          this text\n"
		     "  -V, --version       print the version\n");
}

static int set_defaults(struct hd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->state_dir = strdup(HD_DEFAULT_STATE_DIR);
	cfg->socket_path = strdup(VMH_IPC_DEFAULT_SOCKET);
	cfg->libvirt_uri = strdup("qemu:///system");
	cfg->quorum_loss_pause_ms = 10000;
	cfg->watchdog_timeout_ms = 0;
	cfg->expiry_margin_ms = 5000;
	if (!cfg->state_dir || !cfg->socket_path || !cfg->libvirt_uri) {
		vmh_log(VMH_LOG_ERR, "out of memory");
		return -1;
	}
	return 0;
}

/* Returns 0; 1 when the caller should exit 0 (--help, --version); -1. */
int hd_config_load(struct hd_config *cfg, int argc, char **argv)
{
	struct option opts[N_KEYS + 4];
	const char *config = HD_DEFAULT_CONFIG;
	bool explicit_config = false;
	int c, idx;

	if (set_defaults(cfg) < 0)
		return -1;
	for (size_t i = 0; i < N_KEYS; i++)
		opts[i] = (struct option){ keys[i].flag, required_argument, NULL, 1000 + (int)i };
	opts[N_KEYS] = (struct option){ "config", required_argument, NULL, 'c' };
	opts[N_KEYS + 1] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[N_KEYS + 2] = (struct option){ "version", no_argument, NULL, 'V' };
	opts[N_KEYS + 3] = (struct option){ NULL, 0, NULL, 0 };

	/* first pass: where is the file (flags then override it) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:hV", opts, &idx)) != -1) {
		if (c == 'c') {
			config = optarg;
			explicit_config = true;
		} else if (c == 'h') {
			usage(stdout);
			return 1;
		} else if (c == 'V') {
			printf("vmhandoffd 0.1\n");
			return 1;
		} else if (c == '?') {
			vmh_log(VMH_LOG_ERR, "unknown or incomplete option '%s' (see --help)",
				argv[optind - 1]);
			return -1;
		}
	}
	cfg->config_file = strdup(config);
	if (!cfg->config_file || load_file(cfg, config, explicit_config) < 0)
		return -1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:hV", opts, &idx)) != -1) {
		if (c >= 1000) {
			char where[64];

			snprintf(where, sizeof(where), "--%s", keys[c - 1000].flag);
			if (set_key(cfg, &keys[c - 1000], optarg, where) < 0)
				return -1;
		}
	}
	if (optind < argc) {
		vmh_log(VMH_LOG_ERR, "unexpected argument '%s' (see --help)", argv[optind]);
		return -1;
	}
	if (cfg->quorum_loss_pause_ms == 0)
		vmh_log(VMH_LOG_WARNING, "quorum_loss_pause = 0: a VM pauses at the first blip of the cluster ring");
	return 0;
}

void hd_config_free(struct hd_config *cfg)
{
	free(cfg->config_file);
	free(cfg->state_dir);
	free(cfg->socket_path);
	free(cfg->libvirt_uri);
	free(cfg->migration_network);
	memset(cfg, 0, sizeof(*cfg));
}
