/*
 * mbinfo.c - multiboot v1 information: memory map and command line.
 *
 * NOTE: QEMU's -kernel multiboot loader puts the info block, the command
 * line ("<kernel path> <-append text>") and the e820 copy right after the
 * kernel image, i.e. inside what later becomes the working set; everything
 * is copied out here before the working set is touched.  Paging is off, so
 * reading a garbage pointer cannot fault: it just yields garbage, which the
 * command-line parser tolerates.
 */
#include "mbinfo.h"

#define MB_BOOT_MAGIC 0x2BADB002u
#define MBI_FLAG_MEM (1u << 0)
#define MBI_FLAG_CMDLINE (1u << 2)
#define MBI_FLAG_MMAP (1u << 6)
#define MMAP_MAX_BYTES 4096u
#define E820_RAM 1u
#define ONE_MB 0x100000ull
#define ADDR_LIMIT 0xfffff000ull /* no paging: 32-bit physical only */

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower;
	uint32_t mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;
} __attribute__((packed));

struct mb_mmap_entry {
	uint32_t size; /* of the rest of the entry */
	uint64_t base;
	uint64_t len;
	uint32_t type;
} __attribute__((packed));

_Static_assert(sizeof(struct mb_info) == 52, "multiboot info layout");
_Static_assert(sizeof(struct mb_mmap_entry) == 24, "multiboot mmap layout");

static uint32_t ram_end_from_mmap(uint32_t addr, uint32_t length)
{
	uint32_t off = 0;
	uint64_t best = 0;

	if (length > MMAP_MAX_BYTES)
		length = MMAP_MAX_BYTES;
	while (off + sizeof(struct mb_mmap_entry) <= length) {
		const volatile struct mb_mmap_entry *e =
			(const volatile struct mb_mmap_entry *)(addr + off);
		uint32_t size = e->size;
		uint64_t base = e->base, end = e->base + e->len;

		if (size < 20 || size > 256)
			break;
		if (e->type == E820_RAM && base <= ONE_MB && end > ONE_MB)
			best = end;
		off += size + 4;
	}
	if (best > ADDR_LIMIT)
		best = ADDR_LIMIT;
	return (uint32_t)best;
}

void mbinfo_read(uint32_t magic, uint32_t info_addr, struct mbinfo *mb)
{
	const volatile struct mb_info *mbi;
	uint32_t flags;

	mb->ram_end = 0;
	mb->cmdline[0] = '\0';
	if (magic != MB_BOOT_MAGIC || info_addr == 0)
		return;

	mbi = (const volatile struct mb_info *)info_addr;
	flags = mbi->flags;
	if (flags & MBI_FLAG_MMAP)
		mb->ram_end = ram_end_from_mmap(mbi->mmap_addr, mbi->mmap_length);
	if (mb->ram_end == 0 && (flags & MBI_FLAG_MEM)) {
		uint64_t end = ONE_MB + (uint64_t)mbi->mem_upper * 1024;

		mb->ram_end = (uint32_t)(end > ADDR_LIMIT ? ADDR_LIMIT : end);
	}
	if ((flags & MBI_FLAG_CMDLINE) && mbi->cmdline != 0) {
		const volatile char *s = (const volatile char *)mbi->cmdline;
		uint32_t i;

		for (i = 0; i < MBINFO_CMDLINE_MAX - 1 && s[i] != '\0'; i++)
			mb->cmdline[i] = s[i];
		mb->cmdline[i] = '\0';
	}
}
