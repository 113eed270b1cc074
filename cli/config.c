/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmhandoff config VM [--push FILE]: the registry's domain XML of a VM
 * (what the next start on any node boots), or a new one for it.
 *
 * Without --push the XML goes to stdout as the registry holds it, so
 * `vmhandoff config vm1 > vm1.xml` round-trips; the VM's state and epoch
 * go to stderr. --push is accepted from the owner's node while the VM
 * runs, and from any node while it is stopped (or unknown: the registry
 * then knows it, stopped); a push of what the registry holds is a no-op.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vmh_file.h"

#define CLI_CONFIG_BUDGET_MS 10000

static const char *state_str(const struct vmh_ipc_reply *rep)
{
	return rep->has_vm_state ? cli_vm_state_str(rep->vm_state) : "unknown";
}

static int show(const char *socket_path, const char *vm, FILE *out, FILE *err)
{
	struct vmh_ipc_req req = { .type = VMH_IPC_CONFIG_GET, .budget_ms = CLI_CONFIG_BUDGET_MS };
	struct vmh_ipc_reply rep;
	int rc;

	snprintf(req.vm, sizeof(req.vm), "%s", vm);
	rc = cli_call(socket_path, &req, &rep, err);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (rep.status != VMH_IPC_OK) {
		fprintf(err, "vmhandoff: %s: %s%s%s\n", vm, vmh_ipc_status_str(rep.status),
			rep.message[0] ? ": " : "", rep.message);
		rc = CLI_EXIT_DAEMON;
	} else if (!rep.xml_len) {
		fprintf(err, "vmhandoff: %s: the registry holds no definition (%s, epoch %" PRIu64 ")\n",
			vm, state_str(&rep), rep.epoch);
		rc = CLI_EXIT_DAEMON;
	} else {
		fprintf(err, "%s: %s, epoch %" PRIu64 ", %zu bytes\n", vm, state_str(&rep), rep.epoch,
			rep.xml_len);
		if (fwrite(rep.xml, 1, rep.xml_len, out) != rep.xml_len || fflush(out) != 0)
			rc = CLI_EXIT_DAEMON;
	}
	vmh_ipc_reply_clear(&rep);
	return rc;
}

static int push(const char *socket_path, const char *vm, const char *file, FILE *out, FILE *err)
{
	struct vmh_ipc_req req = { .type = VMH_IPC_CONFIG_PUSH, .budget_ms = CLI_CONFIG_BUDGET_MS };
	struct vmh_ipc_reply rep;
	char *xml = NULL;
	size_t len = 0;
	int r, rc;

	r = vmh_file_read(file, VMH_REG_XML_MAX, &xml, &len);
	if (r < 0) {
		fprintf(err, "vmhandoff: %s: %s\n", file,
			r == -EFBIG ? "larger than the registry's 1 MiB" : strerror(-r));
		return CLI_EXIT_USAGE;
	}
	if (len == 0 || memchr(xml, '\0', len)) {
		fprintf(err, "vmhandoff: %s: %s\n", file, len ? "contains a NUL byte" : "is empty");
		free(xml);
		return CLI_EXIT_USAGE;
	}
	snprintf(req.vm, sizeof(req.vm), "%s", vm);
	req.xml = xml;
	req.xml_len = len;
	rc = cli_call(socket_path, &req, &rep, err);
	free(xml);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (rep.status == VMH_IPC_OK) {
		fprintf(out, "%s: %s (%s, epoch %" PRIu64 ")\n", vm,
			strcmp(rep.message, "already so") == 0 ? "the registry holds this definition already" :
			"definition pushed", state_str(&rep), rep.epoch);
	} else {
		fprintf(err, "vmhandoff: %s: push %s%s%s\n", vm, vmh_ipc_status_str(rep.status),
			rep.message[0] ? ": " : "", rep.message);
		rc = CLI_EXIT_DAEMON;
	}
	vmh_ipc_reply_clear(&rep);
	return rc;
}

int cli_config_run(const char *socket_path, const char *vm, const char *push_file, FILE *out,
		   FILE *err)
{
	if (!vmh_reg_name_ok(vm, strlen(vm))) {
		fprintf(err, "vmhandoff: '%s' is not a VM name the registry can hold\n", vm);
		return CLI_EXIT_USAGE;
	}
	return push_file ? push(socket_path, vm, push_file, out, err) : show(socket_path, vm, out, err);
}
