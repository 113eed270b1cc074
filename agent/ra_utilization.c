/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Utilization attributes (cpu, host_memory, hv_memory) from the domain, as
 * VirtualDomain sets them with crm_resource -z -p, but without forking and
 * without touching the CIB on every monitor: the values last written are
 * remembered in the agent's cache dir, and the CIB is written only when
 * they change. Same ids as crm_resource uses ("<rsc>-utilization" and
 * "<rsc>-utilization-<name>"), so an existing set is updated in place.
 *
 * NOTE libcib is loaded with dlopen, only when a value changed: loading
 * pacemaker's libraries costs about 8 ms per process here, on every
 * monitor, for a CIB write that happens once in a resource's life.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <crm/cib.h>
#include <dlfcn.h>
#include <libxml/tree.h>

#include "ra.h"
#include "vmh_fastmon.h"
#include "vmh_log.h"

#define U_COUNT VMH_UTIL_COUNT
static const char *const util_names[U_COUNT] = { "cpu", "host_memory", "hv_memory" };

/* -1: remove the attribute; 0: leave it alone; >0: set it to this value
 * (vmh_fastmon_util_values: the monitor's front computes it the same) */
struct util_want {
	long long v[U_COUNT];
};

void ra_utilization_modes(const struct vmh_params *p, enum vmh_util_mode mode[VMH_UTIL_COUNT])
{
	const bool autoset[U_COUNT] = { p->autoset_utilization_cpu,
					p->autoset_utilization_host_memory,
					p->autoset_utilization_hv_memory };
	const bool unset[U_COUNT] = { p->unset_utilization_cpu, p->unset_utilization_host_memory,
				      p->unset_utilization_hv_memory };

	for (int i = 0; i < U_COUNT; i++)
		mode[i] = autoset[i] ? VMH_UTIL_SET : unset[i] ? VMH_UTIL_REMOVE : VMH_UTIL_LEAVE;
}

static xmlNode *nvpair_xml(struct ra *ra, int i, long long value, xmlNode **set_out)
{
	char id[256], val[32];
	xmlNode *prim = xmlNewNode(NULL, (const xmlChar *)"primitive");
	xmlNode *set, *nv;

	xmlNewProp(prim, (const xmlChar *)"id", (const xmlChar *)ra->rsc);
	set = xmlNewChild(prim, NULL, (const xmlChar *)"utilization", NULL);
	snprintf(id, sizeof(id), "%s-utilization", ra->rsc);
	xmlNewProp(set, (const xmlChar *)"id", (const xmlChar *)id);
	nv = xmlNewChild(set, NULL, (const xmlChar *)"nvpair", NULL);
	snprintf(id, sizeof(id), "%s-utilization-%s", ra->rsc, util_names[i]);
	xmlNewProp(nv, (const xmlChar *)"id", (const xmlChar *)id);
	xmlNewProp(nv, (const xmlChar *)"name", (const xmlChar *)util_names[i]);
	if (value > 0) {
		snprintf(val, sizeof(val), "%lld", value);
		xmlNewProp(nv, (const xmlChar *)"value", (const xmlChar *)val);
	}
	*set_out = nv;
	return prim;
}

ra_rc ra_utilization_update(struct ra *ra)
{
	enum vmh_util_mode mode[U_COUNT];
	struct util_want w = { { 0, 0, 0 } };
	char want[VMH_FASTMON_UTIL_TEXT_MAX], have[VMH_FASTMON_UTIL_TEXT_MAX];
	virDomainInfo info;
	virDomainPtr dom;
	cib_t *(*new_fn)(void);
	void (*delete_fn)(cib_t *);
	void *lib;
	cib_t *cib;
	int r;

	if (!ra->rsc || !ra->virt)
		return PCMK_OCF_OK;
	dom = virDomainLookupByName(vmh_virt_conn(ra->virt), ra->dom_name);
	if (!dom)
		return PCMK_OCF_OK;
	r = virDomainGetInfo(dom, &info);
	virDomainFree(dom);
	if (r < 0)
		return PCMK_OCF_OK;
	ra_utilization_modes(&ra->p, mode);
	vmh_fastmon_util_values(mode, info.nrVirtCpu, info.maxMem, w.v);
	vmh_fastmon_util_text(w.v, want, sizeof(want));
	if (ra_cache_read(ra, VMH_FASTMON_UTIL_KIND, have, sizeof(have)) == 0 &&
	    strcmp(want, have) == 0)
		return PCMK_OCF_OK;

	lib = dlopen(LIBCIB_SONAME, RTLD_NOW | RTLD_LOCAL);
	new_fn = lib ? (cib_t *(*)(void))dlsym(lib, "cib_new") : NULL;
	delete_fn = lib ? (void (*)(cib_t *))dlsym(lib, "cib_delete") : NULL;
	if (!new_fn || !delete_fn) {
		vmh_log(VMH_LOG_WARNING, "utilization: cannot load %s: %s", LIBCIB_SONAME, dlerror());
		return PCMK_OCF_OK;
	}
	cib = new_fn();
	if (!cib || cib->cmds->signon(cib, "vmhandoff-ra", cib_command) != pcmk_ok) {
		vmh_log(VMH_LOG_DEBUG, "utilization: the CIB is not reachable; trying next monitor");
		if (cib)
			delete_fn(cib);
		return PCMK_OCF_OK;
	}
	r = pcmk_ok;
	for (int i = 0; i < U_COUNT && r == pcmk_ok; i++) {
		xmlNode *nv, *xml;

		if (w.v[i] == 0)
			continue;
		xml = nvpair_xml(ra, i, w.v[i], &nv);
		if (w.v[i] > 0)
			r = cib->cmds->modify(cib, "resources", xml, cib_sync_call);
		else
			r = cib->cmds->remove(cib, "resources", nv, cib_sync_call);
		if (w.v[i] < 0 && r == -ENXIO)
			r = pcmk_ok;	/* nothing to remove */
		xmlFreeNode(xml);
	}
	cib->cmds->signoff(cib);
	delete_fn(cib);
	if (r != pcmk_ok) {
		vmh_log(VMH_LOG_WARNING, "utilization: updating the CIB failed: error %d", r);
		return PCMK_OCF_OK;
	}
	vmh_log(VMH_LOG_INFO, "utilization of %s: cpu=%lld host_memory=%lld hv_memory=%lld",
		ra->rsc, w.v[0], w.v[1], w.v[2]);
	ra_cache_write(ra, VMH_FASTMON_UTIL_KIND, want);
	return PCMK_OCF_OK;
}
