/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rules for names that more than one module checks: a VM name and a
 * migration-link address (declared in vmh_registry.h: the registry's keys
 * and values), and which OCF_RESKEY_* keys belong to the cluster rather
 * than to the resource (vmh_params.h).
 *
 * NOTE A file of their own, with nothing but libc under it: the IPC codec
 * needs the first two, and a program that only speaks the local protocol
 * (the monitor's front, agent/front/) must link the codec without the
 * registry, and so without SHA-256 (GnuTLS) and libvirt.
 */
#include <string.h>

#include "vmh_params.h"
#include "vmh_registry.h"

bool vmh_reg_name_ok(const char *name, size_t len)
{
	if (!name || len == 0 || len > VMH_REG_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c > 0x7e || c == '/')
			return false;
	}
	return true;
}

bool vmh_reg_addr_ok(const char *addr, size_t len)
{
	static const char extra[] = ".:%_[]-";

	if (!addr || len == 0 || len > VMH_REG_ADDR_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)addr[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c && strchr(extra, c))))
			return false;
	}
	return true;
}

bool vmh_params_cluster_key(const char *key, size_t len)
{
	return (len >= 9 && strncmp(key, "CRM_meta_", 9) == 0) ||
	       (len == 15 && strncmp(key, "crm_feature_set", len) == 0);
}
