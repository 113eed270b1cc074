/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * start: make the domain run here, from the config file, as a transient
 * domain (as VirtualDomain's "virsh create" does). Idempotent: a running
 * domain is success; one paused by a user is resumed (registry=false).
 * With registry=true the node claims the VM in vmhandoffd's registry
 * first, and leaves paused copies to vmhandoffd.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "ra.h"
#include "vmh_log.h"
#include "vmh_time.h"

/* start_resources: the libvirt networks and storage pools the domain
 * uses, started on conn (here at start, the target's before a migration)
 * if they are not. */
int ra_start_resources(struct ra *ra, virConnectPtr conn)
{
	static const char *const exprs[] = {
		"/domain/devices/interface[@type='network']/source/@network",
		"/domain/devices/disk[@type='volume']/source/@pool",
	};
	xmlDocPtr doc = xmlReadMemory(ra->dx.xml, (int)strlen(ra->dx.xml), "config.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;
	int r = 0;

	for (size_t e = 0; ctx && e < 2 && r == 0; e++) {
		xmlXPathObjectPtr obj = xmlXPathEvalExpression((const xmlChar *)exprs[e], ctx);

		for (int i = 0; obj && obj->nodesetval && i < obj->nodesetval->nodeNr; i++) {
			xmlChar *name = xmlNodeGetContent(obj->nodesetval->nodeTab[i]);
			const char *n = (const char *)name;

			if (e == 0) {
				virNetworkPtr net = virNetworkLookupByName(conn, n);

				if (!net || (virNetworkIsActive(net) == 0 && virNetworkCreate(net) < 0)) {
					ra_exit_reason("start_resources: network %s cannot be started: %s",
						       n, vmh_virt_error());
					r = -EIO;
				} else {
					vmh_log(VMH_LOG_DEBUG, "network %s is active", n);
				}
				if (net)
					virNetworkFree(net);
			} else {
				virStoragePoolPtr pool = virStoragePoolLookupByName(conn, n);

				if (!pool || (virStoragePoolIsActive(pool) == 0 &&
					      virStoragePoolCreate(pool, 0) < 0)) {
					ra_exit_reason("start_resources: storage pool %s cannot be started: %s",
						       n, vmh_virt_error());
					r = -EIO;
				}
				if (pool)
					virStoragePoolFree(pool);
			}
			xmlFree(name);
			if (r < 0)
				break;
		}
		xmlXPathFreeObject(obj);
	}
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return r;
}

/* A persistent definition of the same name would make the transient
 * create fail; VirtualDomain undefines it first, and so do we (keeping
 * NVRAM, which belongs to the guest). */
static int drop_inactive_definition(struct ra *ra)
{
	virDomainPtr dom = virDomainLookupByName(vmh_virt_conn(ra->virt), ra->dom_name);
	int r = 0;

	if (!dom)
		return 0;
	if (virDomainIsActive(dom) == 0 && virDomainIsPersistent(dom) == 1) {
		vmh_log(VMH_LOG_NOTICE, "%s: undefining its inactive persistent definition before start",
			ra->dom_name);
		if (virDomainUndefineFlags(dom, VIR_DOMAIN_UNDEFINE_KEEP_NVRAM) < 0 &&
		    virDomainUndefine(dom) < 0) {
			ra_exit_reason("%s: cannot undefine the inactive domain: %s", ra->dom_name,
				       vmh_virt_error());
			r = -EIO;
		}
	}
	virDomainFree(dom);
	return r;
}

static ra_rc restore_snapshot(struct ra *ra, const char *path)
{
	vmh_log(VMH_LOG_NOTICE, "%s: restoring from the state file %s", ra->dom_name, path);
	if (virDomainRestore(vmh_virt_conn(ra->virt), path) < 0) {
		ra_exit_reason("%s: restore from %s failed: %s", ra->dom_name, path, vmh_virt_error());
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	if (unlink(path) < 0)
		vmh_log_errno(VMH_LOG_WARNING, errno, "%s: restored, but cannot remove %s",
			      ra->dom_name, path);
	return PCMK_OCF_OK;
}

/* Time kept back from the op timeout for creating the domain and seeing
 * it run, while the claim may wait (for a lost owner's fencing): a third,
 * 5 s to 30 s. */
static int64_t create_reserve_ms(int64_t timeout_ms)
{
	return vmh_share_ms(timeout_ms, 3, 5000, 30000);
}

ra_rc ra_start(struct ra *ra)
{
	struct vmh_dom_status st;
	virDomainPtr dom;
	char snap[4096];

	if (ra->dx_err < 0) {
		bool installed = ra->dx_err != -EINVAL && ra->dx_err != -EFBIG;

		ra_exit_reason("config %s: %s%s", ra->p.config,
			       installed ? "" : "not a usable libvirt domain XML: ", ra->dx_why);
		return installed ? PCMK_OCF_NOT_INSTALLED : PCMK_OCF_NOT_CONFIGURED;
	}
	if (ra_virt(ra) < 0) {
		ra_exit_reason("%s: cannot start: no connection to the hypervisor", ra->dom_name);
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	if (vmh_virt_dom_status(ra->virt, ra->dom_name, &st) < 0) {
		ra_exit_reason("%s: cannot read its state: %s", ra->dom_name, vmh_virt_error());
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	ra_name_cache_store(ra);
	if (st.state == VMH_DOM_PAUSED &&
	    (st.reason == VIR_DOMAIN_PAUSED_MIGRATION || st.reason == VIR_DOMAIN_PAUSED_POSTCOPY)) {
		ra_exit_reason("%s is %s: not starting a second copy",
			       ra->dom_name, vmh_dom_paused_reason_name(st.reason));
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	if (st.state != VMH_DOM_RUNNING && st.state != VMH_DOM_SHUTTING_DOWN &&
	    st.state != VMH_DOM_PAUSED && st.state != VMH_DOM_MISSING &&
	    st.state != VMH_DOM_SHUTOFF) {
		ra_exit_reason("%s is %s: stop it before starting", ra->dom_name,
			       vmh_dom_state_name(st.state));
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	if (st.state == VMH_DOM_PAUSED && ra->p.registry) {
		/* Its memory may predate another node's run of the VM (paused
		 * on a quorum loss, then taken over): whether it may run again
		 * is vmhandoffd's decision, not a start's. */
		ra_exit_reason("%s is %s here: with registry=true only vmhandoffd resumes a paused "
			       "copy; resume it by hand if you paused it, or stop the resource to "
			       "discard it", ra->dom_name, vmh_dom_paused_reason_name(st.reason));
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	/* This node must own the VM before it runs here, whether created or
	 * restored. Also when it runs here already (start is idempotent): the
	 * owner's re-claim is idempotent too, and a refused claim means this
	 * copy runs without the registry's consent (vmhandoffd pauses it), so
	 * start fails. */
	if (ra->p.registry &&
	    (ra_registry_config(ra, ra_time_left_ms(ra, create_reserve_ms(ra->timeout_ms))) != PCMK_OCF_OK ||
	     ra_registry_claim(ra, ra_time_left_ms(ra, create_reserve_ms(ra->timeout_ms))) != PCMK_OCF_OK))
		return PCMK_OCF_UNKNOWN_ERROR;

	if (st.state == VMH_DOM_RUNNING || st.state == VMH_DOM_SHUTTING_DOWN) {
		vmh_log(VMH_LOG_NOTICE, "%s is already running", ra->dom_name);
		return PCMK_OCF_OK;
	}
	if (st.state == VMH_DOM_PAUSED) {
		vmh_log(VMH_LOG_NOTICE, "%s is %s: resuming it", ra->dom_name,
			vmh_dom_paused_reason_name(st.reason));
		dom = virDomainLookupByName(vmh_virt_conn(ra->virt), ra->dom_name);
		if (!dom || virDomainResume(dom) < 0) {
			ra_exit_reason("%s: resume failed: %s", ra->dom_name, vmh_virt_error());
			if (dom)
				virDomainFree(dom);
			return PCMK_OCF_UNKNOWN_ERROR;
		}
		virDomainFree(dom);
		return PCMK_OCF_OK;
	}

	if (ra->p.start_resources && ra_start_resources(ra, vmh_virt_conn(ra->virt)) < 0)
		return PCMK_OCF_UNKNOWN_ERROR;
	if (ra->p.snapshot) {
		snprintf(snap, sizeof(snap), "%s/%s.state", ra->p.snapshot, ra->dom_name);
		if (access(snap, F_OK) == 0)
			return restore_snapshot(ra, snap);
	}
	if (st.state == VMH_DOM_SHUTOFF && drop_inactive_definition(ra) < 0)
		return PCMK_OCF_UNKNOWN_ERROR;

	dom = virDomainCreateXML(vmh_virt_conn(ra->virt), ra->dx.xml, 0);
	if (!dom) {
		ra_exit_reason("%s: start failed: %s", ra->dom_name, vmh_virt_error());
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	virDomainFree(dom);
	/* virDomainCreateXML returns once QEMU's vCPUs run; confirm from
	 * libvirt's state rather than assume. */
	if (vmh_virt_wait(ra->virt, ra->dom_name, ra_state_running, ra->deadline_ms, &st) < 0) {
		ra_exit_reason("%s: started, but it is %s", ra->dom_name, vmh_dom_state_name(st.state));
		return PCMK_OCF_UNKNOWN_ERROR;
	}
	vmh_log(VMH_LOG_NOTICE, "%s started", ra->dom_name);
	return PCMK_OCF_OK;
}
