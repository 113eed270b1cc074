/*
 * canary.c - a guest whose liveness is observable with ms precision.
 *
 * Boot line on the debugcon port 0xe9:
 *   B <bootid-hex8> <name> wss=<MiB> wss_max=<MiB> tick_ms=<T> dirty_mbps=<D>
 * (followed by " mark=1" with mark=1, see mark_working_set), then one line
 * per tick: the sequence number in lowercase hex, from 0.
 *
 * Ticks come from PIT channel 0 (IRQ0); between interrupts the CPU halts.
 * The tick line is written from the interrupt handler, one outb per byte
 * (one VM exit each, so the line is as short as can be); the memory load
 * runs in the idle loop with interrupts on, so dirtying never delays a tick.
 * dirty_mbps is spread over the ticks; what the guest cannot dirty within a
 * second is dropped, not carried over.  With no working set (wss=0) the
 * boot line reports dirty_mbps=0.
 *
 * NOTE: the PIT counts at 1193182 Hz, so a period of T ms is really
 * round(1193.182 * T) PIT cycles: tick_ms=2 gives 1.99970 ms (-150 ppm).
 * Consumers must not turn seq into wall time over long spans.
 * NOTE: periods above 50 ms do not fit the 16-bit PIT divisor; the PIT then
 * runs at T/k ms and k interrupts make one tick.
 * NOTE: under KVM the in-kernel PIT re-injects ticks missed while the vCPU
 * could not run (kvm-pit lost_tick_policy=delay), so after a stall several
 * ticks arrive back to back (0 ms intervals) and the long-run mean stays at
 * the PIT period (measured 1999.7 us for tick_ms=2).  TCG's PIT drops
 * ticks when QEMU is late (measured mean 2.04-2.07 ms on a busy 2-CPU
 * machine).  Either way a stall shows as a time gap, never as a seq jump.
 * NOTE: the lab's "KVM" (kvm_pvm) runs this 32-bit guest through KVM's
 * instruction emulator, ~1.2-1.4 us per guest instruction.  Hence the tick
 * path is a handful of instructions (text counter incremented in place, no
 * 64-bit arithmetic, idle loop in boot.S), the dirtying loop is three
 * instructions per page, and no iret is used (boot.S).  Measured there:
 * idle canary at tick_ms=2 ~8% of a host CPU (one QEMU exit per debugcon
 * byte), dirtying ~6 us per page (50 MiB/s: +6-8%).  Under TCG: ~4-5%.
 */
#include <stdint.h>

#include "cmdline.h"
#include "mbinfo.h"
#include "x86.h"

#define PAGE_SIZE 4096u
#define MB (1024u * 1024u)
#define DIRTY_CHUNK 256u /* pages taken from the owed budget at a time */
#define PIT_MAX_SUB_MS 50u

void kmain(uint32_t magic, uint32_t info_addr);

extern char _end[];

/*
 * State shared with the interrupt handler.  The tick line is kept as text
 * and incremented in place: under the lab's kvm_pvm every guest instruction
 * is emulated (about 1 us each), so the tick path is counted in instructions.
 */
static char tick_line[20] = "0\n";
static uint32_t tick_len = 2;		/* digits + '\n' */
static uint32_t pit_per_tick = 1, pit_left = 1;
volatile uint32_t canary_dirty_owed;	/* pages owed, grows per tick */
static uint32_t dirty_q, dirty_r, dirty_racc, dirty_cap;

/* Working set, touched only by the idle loop (and kmain before). */
static uint32_t ws_base, ws_pages, ws_pos, ws_value, bootid;

static char *put_str(char *p, const char *s)
{
	while (*s != '\0')
		*p++ = *s++;
	return p;
}

static char *put_dec(char *p, uint32_t v)
{
	char tmp[10];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static char *put_hex8(char *p, uint32_t v)
{
	int shift;

	for (shift = 28; shift >= 0; shift -= 4)
		*p++ = "0123456789abcdef"[(v >> shift) & 0xf];
	return p;
}

/* seq + 1, in lowercase hex text; grows by one digit at 0xf..f. */
static void tick_line_increment(void)
{
	char *d = tick_line + tick_len - 2;

	for (;;) {
		if (*d != 'f') {
			*d = (char)(*d == '9' ? 'a' : *d + 1);
			return;
		}
		*d = '0';
		if (d == tick_line)
			break;
		d--;
	}
	for (d = tick_line + tick_len; d > tick_line; d--)
		d[0] = d[-1];
	tick_line[0] = '1';
	tick_len++;
}

void canary_tick(void)
{
	uint32_t b;

	if (--pit_left != 0)
		return;
	pit_left = pit_per_tick;

	x86_debugcon_write(tick_line, tick_len);
	tick_line_increment();

	if (dirty_q == 0 && dirty_r == 0)
		return;
	b = canary_dirty_owed + dirty_q;
	dirty_racc += dirty_r;
	if (dirty_racc >= 1000) {
		dirty_racc -= 1000;
		b++;
	}
	/* A guest that cannot keep up drops the excess instead of piling it. */
	canary_dirty_owed = b > dirty_cap ? dirty_cap : b;
}

static void dirty_pages(uint32_t n);

/* Called by the idle loop (boot.S) with interrupts on when budget is owed. */
void canary_idle_work(void)
{
	uint32_t n;

	x86_cli();
	n = canary_dirty_owed;
	if (n > DIRTY_CHUNK)
		n = DIRTY_CHUNK;
	canary_dirty_owed -= n;
	x86_sti();
	dirty_pages(n);
}

/*
 * Writes one word into each of the next n pages of the working set, page
 * by page, wrapping around.  One value per pass over the set: a page only
 * has to be written to count as dirty, and never zero, since QEMU migrates
 * zero pages almost for free.  Three instructions a page (mov, add, loop):
 * under kvm_pvm each costs about 1.4 us.
 */
static void dirty_pages(uint32_t n)
{
	while (n > 0) {
		uint32_t run = ws_pages - ws_pos;
		uint32_t p = ws_base + ws_pos * PAGE_SIZE;

		if (run > n)
			run = n;
		ws_pos += run;
		n -= run;
		__asm__ volatile("1:\tmovl %[v], (%[p])\n\t"
				 "addl %[step], %[p]\n\t"
				 "loop 1b"
				 : [p] "+r"(p), "+c"(run)
				 : [v] "r"(ws_value), [step] "i"(PAGE_SIZE)
				 : "memory");
		if (ws_pos == ws_pages) {
			ws_pos = 0;
			ws_value = (ws_value * 0x9e3779b1u + 0x7f4a7c15u) | 1u;
		}
	}
}

/*
 * mark=1: every page of the working set holds 128 text lines of 32 bytes,
 * "VMHANDOFF-PLAINTEXT-MARKER-pppp\n" (pppp: the page's number in the set,
 * 4 hex digits), so that a capture of the migration stream can tell guest
 * memory sent in the clear from ciphertext (cluster-tests/scenarios/
 * s13-tls.sh).  The dirtying loop only ever rewrites a page's first word:
 * the other 127 lines of every page stay intact.  Page 0 is written byte by
 * byte once; every other page is one rep movsl of page 0 plus 128 4-byte
 * stores: under kvm_pvm (every guest instruction emulated) 4 MiB take ~1 s
 * so, ~7.5 s with a plain C loop of 1024 word copies a page (measured).
 */
#define MARK_PREFIX "VMHANDOFF-PLAINTEXT-MARKER-"
#define MARK_LINE 32u	/* prefix (27), page number (4), '\n' */

static void copy_words(void *dst, const void *src, uint32_t n)
{
	__asm__ volatile("rep movsl"
			 : "+D"(dst), "+S"(src), "+c"(n)
			 :
			 : "memory");
}

static void mark_working_set(void)
{
	char *first = (char *)ws_base;
	uint32_t pg, off;

	for (off = 0; off < PAGE_SIZE; off += MARK_LINE) {
		char *p = put_str(first + off, MARK_PREFIX);

		p[4] = '\n';
	}
	for (pg = 0; pg < ws_pages; pg++) {
		char *page = first + pg * PAGE_SIZE, num[8];
		uint32_t w;

		if (pg != 0)
			copy_words(page, first, PAGE_SIZE / 4);
		put_hex8(num, pg);
		__builtin_memcpy(&w, num + 4, 4);
		for (off = sizeof(MARK_PREFIX) - 1; off < PAGE_SIZE; off += MARK_LINE)
			__builtin_memcpy(page + off, &w, 4);
	}
}

static uint32_t make_bootid(void)
{
	uint64_t x = x86_rdtsc();

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return (uint32_t)x;
}

/* Place and clamp the working set; returns the largest possible in MiB. */
static uint32_t setup_working_set(const struct mbinfo *mb, uint32_t want_mb)
{
	uint32_t max_mb = 0;

	ws_base = ((uint32_t)_end + MB - 1) & ~(MB - 1);
	if (mb->ram_end > ws_base)
		max_mb = (mb->ram_end - ws_base) / MB;
	ws_pages = (want_mb > max_mb ? max_mb : want_mb) * (MB / PAGE_SIZE);
	return max_mb;
}

static void setup_dirty_rate(uint32_t dirty_mbps, uint32_t tick_ms)
{
	/* pages per tick * 1000; <= 16000 * 256 * 1000 < 2^32 */
	uint32_t per_tick_x1000 = dirty_mbps * (MB / PAGE_SIZE) * tick_ms;

	if (ws_pages == 0)
		return;
	dirty_q = per_tick_x1000 / 1000;
	dirty_r = per_tick_x1000 % 1000;
	dirty_cap = dirty_mbps * (MB / PAGE_SIZE); /* one second's worth */
}

static void emit_boot_line(const struct canary_config *cfg, uint32_t max_mb)
{
	char line[192], *p = line;

	p = put_str(p, "B ");
	p = put_hex8(p, bootid);
	*p++ = ' ';
	p = put_str(p, cfg->name);
	p = put_str(p, " wss=");
	p = put_dec(p, ws_pages / (MB / PAGE_SIZE));
	p = put_str(p, " wss_max=");
	p = put_dec(p, max_mb);
	p = put_str(p, " tick_ms=");
	p = put_dec(p, cfg->tick_ms);
	p = put_str(p, " dirty_mbps=");
	p = put_dec(p, ws_pages != 0 ? cfg->dirty_mbps : 0);
	if (cfg->mark && ws_pages != 0)
		p = put_str(p, " mark=1");
	*p++ = '\n';
	x86_debugcon_write(line, (uint32_t)(p - line));
}

static void start_timer(uint32_t tick_ms)
{
	uint32_t k = (tick_ms + PIT_MAX_SUB_MS - 1) / PIT_MAX_SUB_MS;

	pit_per_tick = pit_left = k;
	x86_pic_init();
	x86_pit_start((X86_PIT_HZ * tick_ms / k + 500) / 1000);
}

void kmain(uint32_t magic, uint32_t info_addr)
{
	static struct mbinfo mb;
	static struct canary_config cfg;
	uint32_t max_mb;

	x86_idt_init();
	mbinfo_read(magic, info_addr, &mb);
	cmdline_parse(mb.cmdline, &cfg);
	bootid = make_bootid();
	ws_value = bootid | 1u;
	max_mb = setup_working_set(&mb, cfg.wss_mb);
	emit_boot_line(&cfg, max_mb);

	if (cfg.mark)
		mark_working_set();
	dirty_pages(ws_pages); /* the whole working set is non-zero from now */
	setup_dirty_rate(cfg.dirty_mbps, cfg.tick_ms);
	start_timer(cfg.tick_ms);
	x86_idle_loop();
}
