/*
 * x86.h - the little hardware the canary touches: port I/O, IDT, 8259 PIC,
 * 8254 PIT, the debugcon port and the TSC.
 */
#ifndef CANARY_X86_H
#define CANARY_X86_H

#include <stdint.h>

#define X86_DEBUGCON_PORT 0xe9
#define X86_PIT_HZ 1193182u

/* Frame pushed by the exception stubs in boot.S. */
struct x86_fault_frame {
	uint32_t vec;
	uint32_t err;
	uint32_t eip;
	uint32_t cs;
	uint32_t eflags;
};

static inline void x86_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t x86_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void x86_cli(void)
{
	__asm__ volatile("cli" : : : "memory");
}

static inline void x86_sti(void)
{
	__asm__ volatile("sti" : : : "memory");
}

/* sti's one-instruction shadow makes "sti; hlt" race-free. */
static inline void x86_sti_hlt(void)
{
	__asm__ volatile("sti; hlt" : : : "memory");
}

static inline __attribute__((noreturn)) void x86_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" : : : "memory");
}

void x86_debugcon_write(const char *s, uint32_t n);
void x86_idt_init(void);
void x86_pic_init(void);
/* Program PIT channel 0 as a rate generator with this divisor (1..65535). */
void x86_pit_start(uint32_t divisor);

/*
 * The idle loop (boot.S): halts until an interrupt, calls canary_idle_work
 * whenever canary.c owes work.  Never returns.
 */
void x86_idle_loop(void) __attribute__((noreturn));

/* Implemented by the canary proper, called from boot.S. */
void canary_tick(void);		/* IRQ0, interrupts off */
void canary_idle_work(void);	/* idle loop, interrupts on */
extern volatile uint32_t canary_dirty_owed; /* pages; idle loop works while > 0 */
void x86_fault(const struct x86_fault_frame *f) __attribute__((noreturn));

#endif
