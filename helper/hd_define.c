/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Config ownership: the registry holds each VM's domain XML, and a start
 * anywhere uses it (the agent asks with CONFIG_GET). When the owner's
 * libvirt reports a (re)definition of a VM it runs (`virsh edit`,
 * virDomainDefineXML), this pushes the new persistent definition as a
 * CONFIG record, so the next start on any node boots what was defined,
 * with no shared filesystem.
 *
 * The push is not done inside libvirt's callback but from the tick: a
 * define while a record of the same VM is in flight (a handoff, a claim)
 * waits for it; the XML is read when it is sent, so two defines in a row
 * push the last one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hd.h"
#include "vmh_log.h"
#include "vmh_time.h"

/* A define stays due this long while records of its VM are in flight or
 * the registry syncs; then it is dropped, with an error in the log. */
#define HD_DEFINE_PATIENCE_MS (10 * 60 * 1000)

void hd_define_event(struct hd *hd, const char *vm)
{
	struct vmh_vm_info v;

	if (!hd->reg || vmh_reg_vm(hd->reg, vm, &v) < 0)
		return;		/* not a VM of the registry */
	hd_reg_kick(hd);
	if (hd_mark_add(&hd->defined, vm, vmh_now_ms() + HD_DEFINE_PATIENCE_MS) < 0)
		vmh_log(VMH_LOG_ERR, "%s: defined here, but out of memory: the registry keeps "
			"its old definition", vm);
	else
		hd_define_push(hd);
}

/* Sends vm's persistent definition if this node may. true: done with it
 * (sent, unchanged, or not ours to push); false: try again later. */
static bool push_one(struct hd *hd, const char *vm)
{
	struct vmh_vm_info v;
	char *xml = NULL;
	size_t len;
	int r;

	if (vmh_reg_vm(hd->reg, vm, &v) < 0)
		return true;
	if (v.state == VMH_VM_MIGRATING || hd_reg_busy(hd, vm))
		return false;	/* after the handoff or the record in flight */
	if (v.state != VMH_VM_RUNNING || v.owner != hd->self) {
		vmh_log(VMH_LOG_NOTICE, "%s was defined on this node, which does not run it (%s): "
			"not pushed to the registry; push a definition with "
			"'vmhandoff config %s --push FILE'", vm,
			v.state == VMH_VM_RUNNING ? "another node owns it" : "it is stopped", vm);
		return true;
	}
	r = hd_virt_inactive_xml(hd, vm, &xml);
	if (r == -1)
		return true;	/* undefined again meanwhile */
	if (r < 0)
		return false;
	len = strlen(xml);
	if (len > VMH_REG_XML_MAX) {
		vmh_log(VMH_LOG_ERR, "%s: its new definition has %zu bytes, over the registry's %u: "
			"not pushed; the registry keeps the old one", vm, len, VMH_REG_XML_MAX);
	} else if (hd_reg_same_xml(&v, xml, len)) {
		vmh_log(VMH_LOG_DEBUG, "%s: defined, unchanged from the registry's", vm);
	} else if (hd_reg_internal_xml(hd, VMH_MSG_CONFIG, vm, xml, len) < 0) {
		free(xml);
		return false;
	} else {
		vmh_log(VMH_LOG_NOTICE, "%s: defined on its owner: pushing the new definition "
			"(%zu bytes, epoch %" PRIu64 ") to the registry", vm, len, v.epoch);
	}
	free(xml);
	return true;
}

void hd_define_push(struct hd *hd)
{
	int64_t now = vmh_now_ms();
	struct hd_mark *m, *next;

	if (!hd->reg || !vmh_reg_in_config(hd->reg) || vmh_reg_syncing(hd->reg) ||
	    !vmh_reg_quorate(hd->reg))
		return;
	for (m = hd->defined; m; m = next) {
		next = m->next;
		if (push_one(hd, m->vm)) {
			hd_mark_drop(&hd->defined, m->vm);
		} else if (now > m->until) {
			vmh_log(VMH_LOG_ERR, "%s: its definition could not be pushed for %d s: the "
				"registry keeps the old one; define it again",
				m->vm, HD_DEFINE_PATIENCE_MS / 1000);
			hd_mark_drop(&hd->defined, m->vm);
		}
	}
}
