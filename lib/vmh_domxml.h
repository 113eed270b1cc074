/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_domxml: what the agent needs to know from a domain XML file (the
 * "config" parameter) before libvirt sees it: the name that identifies the
 * domain, its UUID and emulator (to find its QEMU without libvirt), and
 * the vCPU and memory figures for pacemaker's utilization attributes.
 */
#ifndef VMH_DOMXML_H
#define VMH_DOMXML_H

#include <stddef.h>

/* larger is rejected, not read: the registry holds each VM's definition
 * and takes at most VMH_REG_XML_MAX (1 MiB) */
#define VMH_DOMXML_MAX_BYTES (1u << 20)

struct vmh_domxml {
	char *xml;		/* the file's text, as given to libvirt */
	char *name;
	char *uuid;		/* NULL if the file has none */
	char *emulator;		/* NULL if the file has none */
	unsigned vcpus;		/* 0 if absent */
	unsigned long long memory_kib;	/* <memory>, 0 if absent */
};

/* 0; -ENOENT/-EACCES/... reading; -EFBIG too large; -EINVAL not a regular
 * file, not well-formed, not a domain XML or no usable <name>. */
int vmh_domxml_load(const char *path, struct vmh_domxml *out);
int vmh_domxml_parse(const char *xml, size_t len, struct vmh_domxml *out);
/* What was wrong with the last file or text that failed to load or parse,
 * for an operator: "not well-formed XML (line 3: ...)", "the <name> holds
 * a '/'", ... (a static buffer, valid until the next load or parse). */
const char *vmh_domxml_error(void);
void vmh_domxml_free(struct vmh_domxml *d);

#endif
