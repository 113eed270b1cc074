/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vmh_params.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/un.h>

#include <libvirt/libvirt.h>

#include "vmh_ipc.h"
#include "vmh_uri.h"

#define RESKEY "OCF_RESKEY_"

enum param_type { PT_STRING, PT_BOOL, PT_UINT };

struct param_def {
	const char *name;
	enum param_type type;
	size_t offset;
	const char *def;	/* default as text, NULL: none */
	unsigned min, max;	/* PT_UINT range */
};

#define STR(n, d) { #n, PT_STRING, offsetof(struct vmh_params, n), d, 0, 0 }
#define BOOL(n, d) { #n, PT_BOOL, offsetof(struct vmh_params, n), d, 0, 0 }
#define UINT(n, d, lo, hi) { #n, PT_UINT, offsetof(struct vmh_params, n), d, lo, hi }

/* Keep in step with ra-metadata/VirtualDomain.xml; tests/test_params.c
 * checks both directions. */
static const struct param_def param_defs[] = {
	STR(config, NULL),
	STR(hypervisor, NULL),
	BOOL(force_stop, "false"),
	STR(migration_transport, NULL),
	STR(migration_user, NULL),
	UINT(migration_downtime, "0", 0, 3600000),
	UINT(migration_speed, "0", 0, 1000000),
	STR(migration_network_suffix, NULL),
	STR(migrateuri, NULL),
	STR(migrate_options, NULL),
	STR(monitor_scripts, NULL),
	BOOL(autoset_utilization_cpu, "true"),
	BOOL(autoset_utilization_host_memory, "true"),
	BOOL(autoset_utilization_hv_memory, "true"),
	BOOL(unset_utilization_cpu, "false"),
	BOOL(unset_utilization_host_memory, "false"),
	BOOL(unset_utilization_hv_memory, "false"),
	UINT(migrateport, "0", 0, 65535),
	STR(remoteuri, NULL),
	BOOL(save_config_on_stop, "false"),
	BOOL(sync_config_on_stop, "false"),
	STR(snapshot, NULL),
	STR(backingfile, NULL),
	BOOL(stateless, "false"),
	STR(copyindirs, NULL),
	STR(shutdown_mode, NULL),
	BOOL(start_resources, "false"),
	STR(migration_network, NULL),
	UINT(migration_parallel, "0", 0, 255),
	BOOL(migration_auto_converge, "false"),
	STR(migration_compression, NULL),
	BOOL(migration_postcopy, "false"),
	BOOL(migration_tls, "false"),
	UINT(migration_abort_after, "10", 0, 86400),
	BOOL(registry, "true"),
	STR(registry_socket, VMH_IPC_DEFAULT_SOCKET),
	BOOL(require_fencing, "true"),
	BOOL(trace_ra, "false"),
	STR(trace_file, NULL),
};

#define N_PARAMS (sizeof(param_defs) / sizeof(param_defs[0]))

const char *vmh_param_name(size_t i)
{
	return i < N_PARAMS ? param_defs[i].name : NULL;
}

static void add_error(struct vmh_params_errors *errs, const char *name,
		      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add_error(struct vmh_params_errors *errs, const char *name,
		      const char *fmt, ...)
{
	size_t len = strlen(errs->text);
	va_list ap;

	if (errs->count == 0)
		snprintf(errs->first_name, sizeof(errs->first_name), "%s", name);
	errs->count++;
	if (len >= sizeof(errs->text) - 2)
		return;
	if (len > 0)
		errs->text[len++] = ';', errs->text[len++] = ' ', errs->text[len] = '\0';
	len += (size_t)snprintf(errs->text + len, sizeof(errs->text) - len, "%s: ", name);
	if (len >= sizeof(errs->text))
		return;
	va_start(ap, fmt);
	vsnprintf(errs->text + len, sizeof(errs->text) - len, fmt, ap);
	va_end(ap);
}

int vmh_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "yes", "y", "true", "on", NULL };
	static const char *const no[] = { "0", "no", "n", "false", "off", NULL };

	for (size_t i = 0; yes[i]; i++)
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, 0;
	for (size_t i = 0; no[i]; i++)
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, 0;
	return -EINVAL;
}

int vmh_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end != '\0')
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = (unsigned)v;
	return 0;
}

static const struct param_def *find_def(const char *name, size_t len)
{
	for (size_t i = 0; i < N_PARAMS; i++)
		if (strlen(param_defs[i].name) == len &&
		    strncmp(param_defs[i].name, name, len) == 0)
			return &param_defs[i];
	return NULL;
}

static int set_value(struct vmh_params *p, const struct param_def *d,
		     const char *value, struct vmh_params_errors *errs)
{
	void *field = (char *)p + d->offset;
	int r;

	switch (d->type) {
	case PT_STRING: {
		char **s = field;

		free(*s);
		*s = NULL;
		if (value[0] == '\0')
			return 0;
		*s = strdup(value);
		return *s ? 0 : -ENOMEM;
	}
	case PT_BOOL:
		if (value[0] == '\0')
			value = d->def;
		if (vmh_parse_bool(value, field) < 0)
			add_error(errs, d->name, "'%s' is not a boolean (use true or false)", value);
		return 0;
	case PT_UINT:
		if (value[0] == '\0')
			value = d->def;
		r = vmh_parse_uint(value, d->min, d->max, field);
		if (r == -ERANGE)
			add_error(errs, d->name, "%s is out of range [%u, %u]", value, d->min, d->max);
		else if (r < 0)
			add_error(errs, d->name, "'%s' is not a non-negative integer", value);
		return 0;
	}
	return 0;
}

/* Shell-free list of modes, as 'virsh shutdown --mode a,b' takes them. */
static void parse_shutdown_mode(struct vmh_params *p, struct vmh_params_errors *errs)
{
	static const struct { const char *name; unsigned flag; } modes[] = {
		{ "acpi", VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN },
		{ "agent", VIR_DOMAIN_SHUTDOWN_GUEST_AGENT },
		{ "initctl", VIR_DOMAIN_SHUTDOWN_INITCTL },
		{ "signal", VIR_DOMAIN_SHUTDOWN_SIGNAL },
		{ "paravirt", VIR_DOMAIN_SHUTDOWN_PARAVIRT },
	};
	const char *s = p->shutdown_mode;

	p->shutdown_flags = 0;
	while (s && *s) {
		size_t len = strcspn(s, ",");
		bool found = false;

		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			if (strlen(modes[i].name) == len && strncmp(s, modes[i].name, len) == 0) {
				p->shutdown_flags |= modes[i].flag;
				found = true;
			}
		}
		if (!found)
			add_error(errs, "shutdown_mode", "unknown mode '%.*s' (acpi, agent, initctl, signal, paravirt)",
				  (int)len, s);
		s += len;
		if (*s == ',')
			s++;
	}
}

/*
 * migrate_options held extra virsh options for VirtualDomain. We do not run
 * virsh; the options that map onto a libvirt migration flag are honoured,
 * any other is rejected by name.
 */
static int parse_migrate_options(struct vmh_params *p, struct vmh_params_errors *errs)
{
	static const struct { const char *opt; unsigned long flag; } flags[] = {
		{ "--live", VIR_MIGRATE_LIVE },
		{ "--p2p", VIR_MIGRATE_PEER2PEER },
		{ "--unsafe", VIR_MIGRATE_UNSAFE },
		{ "--compressed", VIR_MIGRATE_COMPRESSED },
		{ "--auto-converge", VIR_MIGRATE_AUTO_CONVERGE },
		{ "--abort-on-error", VIR_MIGRATE_ABORT_ON_ERROR },
		{ "--tls", VIR_MIGRATE_TLS },
		{ "--postcopy", VIR_MIGRATE_POSTCOPY },
		{ "--copy-storage-all", VIR_MIGRATE_NON_SHARED_DISK },
		{ "--copy-storage-inc", VIR_MIGRATE_NON_SHARED_INC },
		{ "--parallel", VIR_MIGRATE_PARALLEL },
	};
	const char *s = p->migrate_options;

	p->migrate_option_flags = 0;
	while (s && *s) {
		size_t len;
		bool found = false;

		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		len = strcspn(s, " \t\n");
		for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
			if (strlen(flags[i].opt) == len && strncmp(s, flags[i].opt, len) == 0) {
				p->migrate_option_flags |= flags[i].flag;
				found = true;
			}
		}
		if (!found && strncmp(s, "--migrateuri=", 13) == 0 && len > 13) {
			free(p->migrate_options_uri);
			p->migrate_options_uri = strndup(s + 13, len - 13);
			if (!p->migrate_options_uri)
				return -ENOMEM;
			found = true;
		}
		if (!found && strncmp(s, "--parallel-connections=", 23) == 0) {
			char num[16];

			snprintf(num, sizeof(num), "%.*s", (int)(len - 23), s + 23);
			if (vmh_parse_uint(num, 1, 255, &p->migrate_options_parallel) < 0)
				add_error(errs, "migrate_options", "bad --parallel-connections value '%s'", num);
			p->migrate_option_flags |= VIR_MIGRATE_PARALLEL;
			found = true;
		}
		if (!found)
			add_error(errs, "migrate_options", "option '%.*s' is not supported "
				  "(supported: --unsafe --compressed --auto-converge --abort-on-error --tls "
				  "--postcopy --copy-storage-all --copy-storage-inc --parallel "
				  "--parallel-connections=N --migrateuri=URI)", (int)len, s);
		s += len;
	}
	return 0;
}

static void check_string_chars(const char *name, const char *value, const char *allowed,
			       struct vmh_params_errors *errs)
{
	if (value && value[strspn(value, allowed)] != '\0')
		add_error(errs, name, "'%s' contains characters outside [%s]", value, allowed);
}

/*
 * registry_socket must fit a unix socket address. And with the registry,
 * the destination of a migration stays paused until vmhandoffd sees
 * HANDOFF_COMMIT delivered; post-copy runs the destination before the copy
 * ends, before anything could be committed: the two cannot go together.
 */
static void check_registry(const struct vmh_params *p, struct vmh_params_errors *errs)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

	if (p->registry_socket && (p->registry_socket[0] != '/' || strlen(p->registry_socket) > max))
		add_error(errs, "registry_socket", "'%s' is not an absolute path of at most %zu bytes",
			  p->registry_socket, max);
	if (!p->registry)
		return;
	if (p->migration_postcopy)
		add_error(errs, "migration_postcopy", "cannot be used with registry=true: the "
			  "destination must stay paused until the registry commits the handoff "
			  "(set migration_postcopy=false, or registry=false)");
	if (p->migrate_option_flags & VIR_MIGRATE_POSTCOPY)
		add_error(errs, "migrate_options", "--postcopy cannot be used with registry=true: "
			  "the destination must stay paused until the registry commits the handoff "
			  "(drop --postcopy, or set registry=false)");
}

static void check_values(struct vmh_params *p, struct vmh_params_errors *errs)
{
	if (!p->config)
		add_error(errs, "config", "is required (absolute path of the domain XML)");
	else if (p->config[0] != '/')
		add_error(errs, "config", "'%s' is not an absolute path", p->config);
	if (p->force_stop && p->snapshot)
		add_error(errs, "snapshot", "cannot be used together with force_stop");
	if (p->snapshot && p->snapshot[0] != '/')
		add_error(errs, "snapshot", "'%s' is not an absolute path", p->snapshot);
	if (p->sync_config_on_stop)
		add_error(errs, "sync_config_on_stop", "is not supported: it runs csync2; "
			  "vmhandoff replicates domain configs itself");
	if (p->backingfile)
		add_error(errs, "backingfile", "is not supported (copy-on-write images are "
			  "not created by this agent)");
	if (p->stateless)
		add_error(errs, "stateless", "is not supported (needs backingfile)");
	if (p->copyindirs)
		add_error(errs, "copyindirs", "is not supported (needs virt-copy-in and stateless)");
	check_string_chars("migration_transport", p->migration_transport,
			   "abcdefghijklmnopqrstuvwxyz0123456789+", errs);
	if (p->migration_user && !vmh_uri_user_ok(p->migration_user))
		add_error(errs, "migration_user", "'%s' is not a user name ([a-z][-a-z0-9]*)",
			  p->migration_user);
	check_string_chars("migration_network_suffix", p->migration_network_suffix,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_", errs);
	if (p->migration_network) {
		struct vmh_cidr c;

		if (vmh_cidr_parse(p->migration_network, &c) < 0)
			add_error(errs, "migration_network", "'%s' is not a CIDR (e.g. 198.18.1.0/24 or fd00::/64)",
				  p->migration_network);
	}
	if (p->migration_compression) {
		static const char *const methods[] = { "xbzrle", "mt", "zlib", "zstd", NULL };
		const char *s = p->migration_compression;

		while (*s) {
			size_t len = strcspn(s, ",");
			bool ok = false;

			for (size_t i = 0; methods[i]; i++)
				if (strlen(methods[i]) == len && strncmp(s, methods[i], len) == 0)
					ok = true;
			if (!ok)
				add_error(errs, "migration_compression", "unknown method '%.*s' (xbzrle, mt, zlib, zstd)",
					  (int)len, s);
			s += len;
			if (*s == ',')
				s++;
		}
	}
	check_registry(p, errs);
	if (p->migrateuri && strstr(p->migrateuri, "://") == NULL && strncmp(p->migrateuri, "tcp:", 4) != 0)
		add_error(errs, "migrateuri", "'%s' is not a URI (e.g. tcp://%%n-mig:49152)", p->migrateuri);
	/* libvirt's URIs all have a scheme ("qemu:///system", "test:///default") */
	if (p->hypervisor && strstr(p->hypervisor, ":/") == NULL)
		add_error(errs, "hypervisor", "'%s' is not a libvirt URI (e.g. qemu:///system)", p->hypervisor);
	if (p->remoteuri && strstr(p->remoteuri, "://") == NULL)
		add_error(errs, "remoteuri", "'%s' is not a libvirt URI (e.g. qemu+tcp://%%n/system)", p->remoteuri);
	if (p->monitor_scripts) {
		const char *s = p->monitor_scripts;

		while (*s) {
			size_t len;

			while (isspace((unsigned char)*s))
				s++;
			len = strcspn(s, " \t\n");
			if (len > 0 && s[0] != '/')
				add_error(errs, "monitor_scripts", "'%.*s' is not an absolute path", (int)len, s);
			s += len;
		}
	}
}

int vmh_params_parse(struct vmh_params *p, char *const *envp, struct vmh_params_errors *errs)
{
	size_t prefix = strlen(RESKEY);
	int r;

	memset(p, 0, sizeof(*p));
	memset(errs, 0, sizeof(*errs));

	/* Defaults first, so a parameter absent from the environment has its
	 * documented value. */
	for (size_t i = 0; i < N_PARAMS; i++)
		if (param_defs[i].def && set_value(p, &param_defs[i], param_defs[i].def, errs) < 0)
			return -ENOMEM;

	for (size_t i = 0; envp && envp[i]; i++) {
		const char *key, *eq;
		const struct param_def *d;

		if (strncmp(envp[i], RESKEY, prefix) != 0)
			continue;
		key = envp[i] + prefix;
		eq = strchr(key, '=');
		if (!eq || vmh_params_cluster_key(key, (size_t)(eq - key)))
			continue;
		d = find_def(key, (size_t)(eq - key));
		if (!d) {
			char name[64];

			snprintf(name, sizeof(name), "%.*s", (int)(eq - key), key);
			add_error(errs, name, "unknown parameter (not supported by ocf:vmhandoff:VirtualDomain)");
			continue;
		}
		if (set_value(p, d, eq + 1, errs) < 0)
			return -ENOMEM;
	}

	parse_shutdown_mode(p, errs);
	r = parse_migrate_options(p, errs);
	if (r < 0)
		return r;
	check_values(p, errs);
	return errs->count ? -EINVAL : 0;
}

void vmh_params_free(struct vmh_params *p)
{
	for (size_t i = 0; i < N_PARAMS; i++) {
		if (param_defs[i].type == PT_STRING) {
			char **s = (char **)((char *)p + param_defs[i].offset);

			free(*s);
			*s = NULL;
		}
	}
	free(p->migrate_options_uri);
	p->migrate_options_uri = NULL;
}
