/*
 * cmdline.c - `key=value` words of the kernel command line.
 *
 * NOTE: QEMU's multiboot loader prefixes the -append text with the kernel's
 * path, so the first word is usually a path: it has no '=' and is ignored
 * like any other unknown word.
 */
#include "cmdline.h"

static int is_sep(char c)
{
	return (unsigned char)c <= ' ' || (unsigned char)c >= 0x7f;
}

static int name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	       c == ':' || c == '@' || c == '+';
}

static int key_is(const char *k, uint32_t klen, const char *want)
{
	uint32_t i;

	for (i = 0; i < klen; i++)
		if (want[i] == '\0' || want[i] != k[i])
			return 0;
	return want[klen] == '\0';
}

/* Returns 0 and *out, or -1 if v[0..n) is not a decimal number. */
static int parse_u32(const char *v, uint32_t n, uint32_t *out)
{
	uint32_t i, acc = 0;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		uint32_t d;

		if (v[i] < '0' || v[i] > '9')
			return -1;
		d = (uint32_t)(v[i] - '0');
		acc = acc > (0xffffffffu - d) / 10 ? 0xffffffffu : acc * 10 + d;
	}
	*out = acc;
	return 0;
}

static void set_name(struct canary_config *cfg, const char *v, uint32_t n)
{
	uint32_t i;

	if (n == 0)
		return;
	if (n > CMDLINE_NAME_MAX - 1)
		n = CMDLINE_NAME_MAX - 1;
	for (i = 0; i < n; i++)
		cfg->name[i] = (char)(name_char_ok(v[i]) ? v[i] : '_');
	cfg->name[n] = '\0';
}

static void apply(struct canary_config *cfg, const char *w, uint32_t n)
{
	uint32_t klen, x;
	const char *v;

	for (klen = 0; klen < n && w[klen] != '='; klen++)
		;
	if (klen == n || klen == 0)
		return;
	v = w + klen + 1;
	n -= klen + 1;

	if (key_is(w, klen, "name")) {
		set_name(cfg, v, n);
	} else if (key_is(w, klen, "tick_ms")) {
		if (parse_u32(v, n, &x) == 0 && x > 0)
			cfg->tick_ms = x > CMDLINE_TICK_MS_MAX ? CMDLINE_TICK_MS_MAX : x;
	} else if (key_is(w, klen, "wss_mb")) {
		if (parse_u32(v, n, &x) == 0)
			cfg->wss_mb = x;
	} else if (key_is(w, klen, "dirty_mbps")) {
		if (parse_u32(v, n, &x) == 0)
			cfg->dirty_mbps = x > CMDLINE_DIRTY_MBPS_MAX ? CMDLINE_DIRTY_MBPS_MAX : x;
	} else if (key_is(w, klen, "mark")) {
		if (parse_u32(v, n, &x) == 0)
			cfg->mark = x != 0;
	}
}

void cmdline_parse(const char *s, struct canary_config *cfg)
{
	cfg->name[0] = 'c';
	cfg->name[1] = 'a';
	cfg->name[2] = 'n';
	cfg->name[3] = 'a';
	cfg->name[4] = 'r';
	cfg->name[5] = 'y';
	cfg->name[6] = '\0';
	cfg->tick_ms = CMDLINE_TICK_MS_DEFAULT;
	cfg->wss_mb = 0;
	cfg->dirty_mbps = 0;
	cfg->mark = 0;

	while (*s != '\0') {
		const char *w;

		while (*s != '\0' && is_sep(*s))
			s++;
		w = s;
		while (*s != '\0' && !is_sep(*s))
			s++;
		if (s > w)
			apply(cfg, w, (uint32_t)(s - w));
	}
}
