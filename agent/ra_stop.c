/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stop: graceful shutdown within the op timeout, keeping back enough of it
 * for a destroy; already stopped is success (0, never 7). When libvirtd
 * does not answer, the domain's QEMU process is ended directly: a stop
 * that cannot stop gets the node fenced, which is worse. With
 * registry=true, the VM is then released in vmhandoffd's registry.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "ra.h"
#include "vmh_log.h"
#include "vmh_qemuproc.h"
#include "vmh_time.h"

/* Time kept back from the op timeout for destroy: a fifth, 5 s to 30 s. */
static int64_t destroy_reserve_ms(int64_t timeout_ms)
{
	return vmh_share_ms(timeout_ms, 5, 5000, 30000);
}

ra_rc ra_stop_without_libvirt(struct ra *ra, const char *why)
{
	pid_t pid = 0;
	int n;

	if (!ra->dom_name) {
		n = vmh_qemuproc_any(ra->proc_root);
		if (n == 0) {
			vmh_log(VMH_LOG_NOTICE, "%s; no QEMU runs on this node: stopped", why);
			return PCMK_OCF_OK;
		}
		ra_exit_reason("%s, and the domain's name is unknown: cannot stop it", why);
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	for (int round = 0; round < 50; round++) {
		n = vmh_qemuproc_find(ra->proc_root, ra->dom_name, ra->dom_uuid, &pid);
		if (n == 0) {
			vmh_log(VMH_LOG_NOTICE, "%s: %s; its QEMU process is gone: stopped",
				ra->dom_name, why);
			return PCMK_OCF_OK;
		}
		if (n < 0)
			break;
		if (round == 0)
			vmh_log(VMH_LOG_WARNING, "%s: %s; killing its QEMU process %ld",
				ra->dom_name, why, (long)pid);
		kill(pid, SIGKILL);
		usleep(20000);	/* bounded: 50 rounds, 1 s in all */
	}
	ra_exit_reason("%s: %s, and its QEMU process could not be ended", ra->dom_name, why);
	return PCMK_OCF_UNKNOWN_ERROR;
}

/* save_config_on_stop: the running definition back to the config file,
 * atomically, if it differs. */
static void save_config(struct ra *ra, virDomainPtr dom)
{
	char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
	char tmp[4200];
	int fd;
	size_t len;

	if (!xml) {
		vmh_log(VMH_LOG_WARNING, "%s: cannot read its XML to save it: %s", ra->dom_name,
			vmh_virt_error());
		return;
	}
	len = strlen(xml);
	if (ra->dx.xml && strcmp(ra->dx.xml, xml) == 0) {
		free(xml);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.vmhandoff-tmp", ra->p.config);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, xml, len) != (ssize_t)len || fsync(fd) < 0 ||
	    close(fd) < 0 || rename(tmp, ra->p.config) < 0) {
		vmh_log_errno(VMH_LOG_WARNING, errno, "%s: cannot save its config to %s",
			      ra->dom_name, ra->p.config);
		unlink(tmp);
	} else {
		vmh_log(VMH_LOG_NOTICE, "%s: saved its configuration to %s", ra->dom_name,
			ra->p.config);
	}
	free(xml);
}

static ra_rc destroy(struct ra *ra, virDomainPtr dom)
{
	struct vmh_dom_status st;

	vmh_log(VMH_LOG_NOTICE, "%s: destroying it", ra->dom_name);
	if (virDomainDestroy(dom) < 0 && vmh_virt_error_code() != VIR_ERR_NO_DOMAIN &&
	    vmh_virt_error_code() != VIR_ERR_OPERATION_INVALID) {
		ra_exit_reason("%s: destroy failed: %s", ra->dom_name, vmh_virt_error());
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	if (vmh_virt_wait(ra->virt, ra->dom_name, ra_state_gone, ra->deadline_ms, &st) < 0) {
		ra_exit_reason("%s: still %s after destroy", ra->dom_name, vmh_dom_state_name(st.state));
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	vmh_log(VMH_LOG_NOTICE, "%s stopped (destroyed)", ra->dom_name);
	return PCMK_OCF_OK;
}

/* Time kept back for the registry's RELEASE once the domain is gone
 * (registry=true): a twentieth, 1 s to 5 s. */
static int64_t release_reserve_ms(const struct ra *ra)
{
	return ra->p.registry ? vmh_share_ms(ra->timeout_ms, 20, 1000, 5000) : 0;
}

static ra_rc stop_domain(struct ra *ra)
{
	struct vmh_dom_status st;
	virDomainPtr dom;
	ra_rc rc;

	if (!ra->dom_name)
		ra->dom_name = ra_name_cache_load(ra);
	if (!ra->dom_name)
		return ra_stop_without_libvirt(ra, "config unreadable and no name remembered");
	if (ra_virt(ra) < 0)
		return ra_stop_without_libvirt(ra, "libvirt does not answer");
	dom = virDomainLookupByName(vmh_virt_conn(ra->virt), ra->dom_name);
	if (!dom) {
		if (vmh_virt_error_code() != VIR_ERR_NO_DOMAIN)
			return ra_stop_without_libvirt(ra, vmh_virt_error());
		return ra_stop_without_libvirt(ra, "libvirt knows no such domain");
	}
	if (vmh_virt_dom_status_of(dom, &st) < 0) {
		virDomainFree(dom);
		return ra_stop_without_libvirt(ra, vmh_virt_error());
	}
	if (ra_state_gone(&st)) {
		virDomainFree(dom);
		return ra_stop_without_libvirt(ra, "already stopped in libvirt");
	}

	if (ra->p.save_config_on_stop)
		save_config(ra, dom);
	if (ra->p.force_stop) {
		rc = destroy(ra, dom);
		goto out;
	}
	if (ra->p.snapshot && st.state != VMH_DOM_CRASHED) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s.state", ra->p.snapshot, ra->dom_name);
		vmh_log(VMH_LOG_NOTICE, "%s: saving its state to %s", ra->dom_name, path);
		if (virDomainSave(dom, path) == 0) {
			vmh_log(VMH_LOG_NOTICE, "%s stopped (state saved)", ra->dom_name);
			rc = PCMK_OCF_OK;
			goto out;
		}
		vmh_log(VMH_LOG_ERR, "%s: saving its state failed: %s", ra->dom_name, vmh_virt_error());
	}

	if (st.state == VMH_DOM_RUNNING || st.state == VMH_DOM_SHUTTING_DOWN) {
		int64_t shutdown_deadline = ra->deadline_ms - destroy_reserve_ms(ra->timeout_ms) -
					    release_reserve_ms(ra);

		vmh_log(VMH_LOG_NOTICE, "%s: graceful shutdown (%s), up to %lld s", ra->dom_name,
			ra->p.shutdown_mode ? ra->p.shutdown_mode : "hypervisor default",
			(long long)(vmh_ms_left(shutdown_deadline) / 1000));
		if (virDomainShutdownFlags(dom, ra->p.shutdown_flags) < 0) {
			vmh_log(VMH_LOG_WARNING, "%s: shutdown request failed: %s", ra->dom_name,
				vmh_virt_error());
		} else if (vmh_virt_wait(ra->virt, ra->dom_name, ra_state_gone, shutdown_deadline,
					 &st) == 0) {
			vmh_log(VMH_LOG_NOTICE, "%s stopped (graceful shutdown)", ra->dom_name);
			rc = PCMK_OCF_OK;
			goto out;
		} else {
			vmh_log(VMH_LOG_WARNING, "%s did not shut down in time (still %s)",
				ra->dom_name, vmh_dom_state_name(st.state));
		}
	}
	rc = destroy(ra, dom);
out:
	virDomainFree(dom);
	return rc;
}

/*
 * registry=true: the registry hears that the VM is stopped only once its
 * domain is gone here (released earlier, another node could start it
 * while this copy still runs). A stop that failed releases nothing: the
 * copy may still run.
 */
ra_rc ra_stop(struct ra *ra)
{
	ra_rc rc = stop_domain(ra);

	if (rc == PCMK_OCF_OK && ra->p.registry)
		ra_registry_release(ra, ra_time_left_ms(ra, 0));
	return rc;
}

/* The watchdog's answer for a stuck stop (main thread, past answer_by):
 * end the QEMU process, then release with what is left of the op. */
ra_rc ra_stop_fallback(struct ra *ra, const char *why)
{
	ra_rc rc = ra_stop_without_libvirt(ra, why);

	if (rc == PCMK_OCF_OK && ra->p.registry)
		ra_registry_release(ra, vmh_ms_left(ra->deadline_ms) / 2);
	return rc;
}
