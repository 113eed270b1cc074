/*
 * mbinfo.h - what the canary takes from the multiboot v1 information:
 * the usable RAM above 1 MiB and the command line (copied).
 */
#ifndef CANARY_MBINFO_H
#define CANARY_MBINFO_H

#include <stdint.h>

#define MBINFO_CMDLINE_MAX 512

struct mbinfo {
	uint32_t ram_end;	/* end of the usable RAM region holding 1 MiB; 0 = unknown */
	char cmdline[MBINFO_CMDLINE_MAX]; /* NUL-terminated, possibly empty */
};

/* Fills *mb from the loader's info; tolerates a wrong magic or bad pointers. */
void mbinfo_read(uint32_t magic, uint32_t info_addr, struct mbinfo *mb);

#endif
