/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the domain XML reader (vmh_domxml), whose input is
 * the "config" parameter's file.
 *
 * Any input: no crash, no leak, no undefined behaviour, no runaway time
 * or memory (libFuzzer's -timeout and -rss_limit_mb); an accepted file
 * has a name that is safe in paths and log lines, and keeps the text
 * libvirt will get.
 */
#include <errno.h>
#include <string.h>

#include <libxml/parser.h>

#include "fuzz.h"
#include "vmh_domxml.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmlInitParser();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmh_domxml d;
	int r = vmh_domxml_parse((const char *)data, size, &d);

	if (r < 0) {
		if (r != -EINVAL && r != -EFBIG && r != -ENOMEM)
			fz_fail("vmh_domxml_parse returned %d", r);
		if (d.xml || d.name || d.uuid || d.emulator)
			fz_fail("vmh_domxml_parse failed (%d) but left memory behind", r);
		return 0;
	}
	if (r != 0 || !d.name || !d.name[0] || !d.xml)
		fz_fail("vmh_domxml_parse returned %d without name or text", r);
	for (const unsigned char *s = (const unsigned char *)d.name; *s; s++)
		if (*s < 0x20 || *s == 0x7f || *s == '/')
			fz_fail("accepted a name with byte 0x%02x", *s);
	if (strncmp(d.xml, (const char *)data, strlen(d.xml)) != 0 || strlen(d.xml) > size)
		fz_fail("the kept text differs from the file");
	vmh_domxml_free(&d);
	return 0;
}
