/*
 * cmdline.h - the canary's settings and their kernel command-line parser.
 */
#ifndef CANARY_CMDLINE_H
#define CANARY_CMDLINE_H

#include <stdint.h>

#define CMDLINE_NAME_MAX 64

struct canary_config {
	char name[CMDLINE_NAME_MAX]; /* [A-Za-z0-9._:@+-], never empty */
	uint32_t tick_ms;	/* 1..CMDLINE_TICK_MS_MAX */
	uint32_t wss_mb;	/* requested; clamped later to the RAM there is */
	uint32_t dirty_mbps;	/* 0..CMDLINE_DIRTY_MBPS_MAX */
	uint32_t mark;		/* 1: working set filled with text markers */
};

#define CMDLINE_TICK_MS_DEFAULT 2
#define CMDLINE_TICK_MS_MAX 1000
#define CMDLINE_DIRTY_MBPS_MAX 16000 /* keeps pages*tick_ms in 32 bits */

/*
 * Sets defaults, then applies the `key=value` words of s that it knows
 * (name, tick_ms, wss_mb, dirty_mbps, mark).  Unknown keys, words without '=',
 * non-numeric or empty values are ignored; numbers saturate.
 */
void cmdline_parse(const char *s, struct canary_config *cfg);

#endif
