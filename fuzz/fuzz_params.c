/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the OCF parameter parser (vmh_params).
 *
 * The input is an environment, one entry per line: "name=value" stands
 * for OCF_RESKEY_name=value, a line starting with '@' is taken as it is
 * (other variables, CRM_meta_*, entries without '='). Any environment: no
 * crash, no leak, no undefined behaviour; the error report is a bounded
 * string; -EINVAL exactly when it counts problems; and vmh_params_free()
 * leaves nothing behind.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "vmh_params.h"

#define MAX_ENV 64
#define RESKEY "OCF_RESKEY_"

static void check_bounded(const char *what, const char *s, size_t size)
{
	if (strnlen(s, size) == size)
		fz_fail("%s is not NUL-terminated", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *env[MAX_ENV + 1];
	size_t n = 0, pos = 0;
	struct vmh_params p;
	struct vmh_params_errors errs;
	int r;

	while (pos < size && n < MAX_ENV) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t len = nl ? (size_t)(nl - (data + pos)) : size - pos;
		bool raw = len > 0 && data[pos] == '@';
		size_t skip = raw ? 1 : 0, plen = raw ? 0 : strlen(RESKEY);
		char *e = malloc(plen + len - skip + 1);

		if (!e)
			abort();
		memcpy(e, RESKEY, plen);
		memcpy(e + plen, data + pos + skip, len - skip);
		e[plen + len - skip] = '\0';	/* a NUL inside ends the entry early */
		env[n++] = e;
		pos += len + 1;
	}
	env[n] = NULL;

	r = vmh_params_parse(&p, env, &errs);
	if (r != 0 && r != -EINVAL && r != -ENOMEM)
		fz_fail("vmh_params_parse returned %d", r);
	check_bounded("errs.text", errs.text, sizeof(errs.text));
	check_bounded("errs.first_name", errs.first_name, sizeof(errs.first_name));
	if (r != -ENOMEM && (r == -EINVAL) != (errs.count > 0))
		fz_fail("vmh_params_parse returned %d with %u problems", r, errs.count);
	if (r == 0 && (!p.config || p.config[0] != '/'))
		fz_fail("accepted parameters without an absolute config path");
	vmh_params_free(&p);
	vmh_params_free(&p);	/* idempotent: it NULLs what it frees */

	/* The scalar parsers on their own, on the first entry's value. */
	if (n > 0) {
		const char *eq = strchr(env[0], '=');
		const char *s = eq ? eq + 1 : env[0];
		bool b;
		unsigned u;

		(void)vmh_parse_bool(s, &b);
		if (vmh_parse_uint(s, 10, 65535, &u) == 0 && (u < 10 || u > 65535))
			fz_fail("vmh_parse_uint: %u out of [10, 65535]", u);
	}
	for (size_t i = 0; i < n; i++)
		free(env[i]);
	return 0;
}
