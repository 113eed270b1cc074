/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vmh_domxml.h"
#include "vmh_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

static char *xpath_string(xmlXPathContextPtr ctx, const char *expr)
{
	xmlXPathObjectPtr obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	char *out = NULL;

	if (obj && obj->type == XPATH_STRING && obj->stringval && obj->stringval[0])
		out = strdup((const char *)obj->stringval);
	xmlXPathFreeObject(obj);
	return out;
}

static unsigned long long memory_unit_kib(const char *unit)
{
	static const struct { const char *u; unsigned long long f; } units[] = {
		{ "b", 0 }, { "bytes", 0 }, { "KB", 1 }, { "k", 1 }, { "KiB", 1 },
		{ "MB", 1000 }, { "M", 1024 }, { "MiB", 1024 },
		{ "GB", 1000000 }, { "G", 1048576 }, { "GiB", 1048576 },
		{ "T", 1073741824ULL }, { "TiB", 1073741824ULL },
	};

	if (!unit)
		return 1;	/* libvirt's default unit is KiB */
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(unit, units[i].u) == 0)
			return units[i].f;
	return 1;
}

/* A domain name ends up in paths and log lines: refuse control characters
 * and '/', as libvirt itself does for '/'. */
static int name_ok(const char *name)
{
	for (const unsigned char *s = (const unsigned char *)name; *s; s++)
		if (*s < 0x20 || *s == 0x7f || *s == '/')
			return 0;
	return 1;
}

int vmh_domxml_parse(const char *xml, size_t len, struct vmh_domxml *out)
{
	xmlDocPtr doc;
	xmlXPathContextPtr ctx = NULL;
	char *text;
	int r = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (len > VMH_DOMXML_MAX_BYTES)
		return -EFBIG;
	/* NONET: never fetch anything; no NOENT: entities are not expanded. */
	doc = xmlReadMemory(xml, (int)len, "config.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return -EINVAL;
	if (!xmlDocGetRootElement(doc) ||
	    strcmp((const char *)xmlDocGetRootElement(doc)->name, "domain") != 0)
		goto out_doc;
	ctx = xmlXPathNewContext(doc);
	if (!ctx)
		goto out_doc;
	out->name = xpath_string(ctx, "string(/domain/name)");
	if (!out->name || !name_ok(out->name))
		goto out_ctx;
	out->uuid = xpath_string(ctx, "string(/domain/uuid)");
	out->emulator = xpath_string(ctx, "string(/domain/devices/emulator)");
	text = xpath_string(ctx, "string(/domain/vcpu)");
	if (text)
		out->vcpus = (unsigned)strtoul(text, NULL, 10);
	free(text);
	text = xpath_string(ctx, "string(/domain/memory)");
	if (text) {
		char *unit = xpath_string(ctx, "string(/domain/memory/@unit)");
		unsigned long long v = strtoull(text, NULL, 10);
		unsigned long long f = memory_unit_kib(unit);

		out->memory_kib = f ? v * f : v / 1024;
		free(unit);
	}
	free(text);
	out->xml = strndup(xml, len);
	if (!out->xml) {
		r = -ENOMEM;
		goto out_ctx;
	}
	r = 0;
out_ctx:
	xmlXPathFreeContext(ctx);
out_doc:
	xmlFreeDoc(doc);
	if (r < 0)
		vmh_domxml_free(out);
	return r;
}

int vmh_domxml_load(const char *path, struct vmh_domxml *out)
{
	char *buf;
	size_t len;
	int r;

	memset(out, 0, sizeof(*out));
	r = vmh_file_read(path, VMH_DOMXML_MAX_BYTES, &buf, &len);
	if (r < 0)
		return r;
	r = vmh_domxml_parse(buf, len, out);
	free(buf);
	return r;
}

void vmh_domxml_free(struct vmh_domxml *d)
{
	free(d->xml);
	free(d->name);
	free(d->uuid);
	free(d->emulator);
	memset(d, 0, sizeof(*d));
}
