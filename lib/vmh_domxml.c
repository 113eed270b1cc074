/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vmh_domxml.h"
#include "vmh_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
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
static char last_error[256];

static int fail(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return r;
}

const char *vmh_domxml_error(void)
{
	return last_error;
}

/* libvirt refuses '/' in a name (it becomes a file name) and we refuse
 * control characters (they would forge log lines); anything else, shell
 * metacharacters included, is only ever passed as one argument. */
static int name_check(const char *name)
{
	if (!name || !*name)
		return fail(-EINVAL, "no <domain> with a <name>");
	for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
		if (*s == '/')
			return fail(-EINVAL, "the domain <name> holds a '/' (libvirt refuses it)");
		if (*s < 0x20 || *s == 0x7f)
			return fail(-EINVAL, "the domain <name> holds a control character (0x%02x)", *s);
	}
	return 0;
}

int vmh_domxml_parse(const char *xml, size_t len, struct vmh_domxml *out)
{
	xmlDocPtr doc;
	xmlXPathContextPtr ctx = NULL;
	char *text;
	int r = -EINVAL;

	memset(out, 0, sizeof(*out));
	last_error[0] = '\0';
	if (len > VMH_DOMXML_MAX_BYTES)
		return fail(-EFBIG, "%zu bytes, more than the %u KiB a domain XML may have", len,
			    VMH_DOMXML_MAX_BYTES >> 10);
	/* NONET: never fetch anything; no NOENT: entities are not expanded. */
	xmlResetLastError();
	doc = xmlReadMemory(xml, (int)len, "config.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlGetLastError();
		size_t n;

		if (!e || !e->message)
			return fail(-EINVAL, "not well-formed XML");
		fail(-EINVAL, "not well-formed XML (line %d: %s", e->line, e->message);
		/* libxml2's message ends in a newline; close the parenthesis */
		n = strcspn(last_error, "\n");
		snprintf(last_error + n, sizeof(last_error) - n, ")");
		return -EINVAL;
	}
	if (!xmlDocGetRootElement(doc) ||
	    strcmp((const char *)xmlDocGetRootElement(doc)->name, "domain") != 0) {
		fail(-EINVAL, "not a libvirt domain XML (the root element is not <domain>)");
		goto out_doc;
	}
	ctx = xmlXPathNewContext(doc);
	if (!ctx)
		goto out_doc;
	out->name = xpath_string(ctx, "string(/domain/name)");
	if (name_check(out->name) < 0)
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
		r = fail(-ENOMEM, "out of memory");
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
	if (r == -EINVAL) {
		struct stat st;

		return fail(r, "not a regular file (%s)",
			    stat(path, &st) < 0 ? "gone" : S_ISDIR(st.st_mode) ? "a directory" :
			    S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket" :
			    "a device");
	}
	if (r == -EFBIG)
		return fail(r, "larger than the %u KiB a domain XML may have", VMH_DOMXML_MAX_BYTES >> 10);
	if (r < 0)
		return fail(r, "%s", strerror(-r));
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
