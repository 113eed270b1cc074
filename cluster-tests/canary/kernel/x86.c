/*
 * x86.c - IDT, 8259 PIC in auto-EOI mode, 8254 PIT, fatal exceptions.
 *
 * NOTE: every vector has a handler (unused ones just iret) so that a stray
 * interrupt cannot escalate to a triple fault; exceptions print one line on
 * the debugcon (`E <vec> <err> <eip>`) and halt with interrupts off, which
 * the collector logs as `msg` and then sees as a stall.
 */
#include "x86.h"

struct idt_entry {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t zero;
	uint8_t type;
	uint16_t off_hi;
} __attribute__((packed));

struct idt_ptr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

_Static_assert(sizeof(struct idt_entry) == 8, "IDT entry size");

#define IDT_VECTORS 256
#define IRQ_BASE 0x20 /* PIC vectors 0x20..0x2f, clear of exceptions */
#define GATE_INTR32 0x8e
#define CODE_SEL 0x08

extern void x86_irq0_stub(void);
extern void x86_ignore_stub(void);
extern const uint32_t x86_exc_stubs[32];

static struct idt_entry idt[IDT_VECTORS] __attribute__((aligned(8)));

static void idt_set(unsigned vec, uint32_t handler)
{
	idt[vec].off_lo = handler & 0xffff;
	idt[vec].sel = CODE_SEL;
	idt[vec].zero = 0;
	idt[vec].type = GATE_INTR32;
	idt[vec].off_hi = handler >> 16;
}

void x86_idt_init(void)
{
	struct idt_ptr p;
	unsigned v;

	for (v = 0; v < IDT_VECTORS; v++)
		idt_set(v, (uint32_t)x86_ignore_stub);
	for (v = 0; v < 32; v++)
		idt_set(v, x86_exc_stubs[v]);
	idt_set(2, (uint32_t)x86_ignore_stub); /* NMI (QMP "nmi"): harmless */
	idt_set(IRQ_BASE, (uint32_t)x86_irq0_stub);

	p.limit = sizeof(idt) - 1;
	p.base = (uint32_t)idt;
	__asm__ volatile("lidt %0" : : "m"(p));
}

void x86_pic_init(void)
{
	x86_outb(0x21, 0xff); /* mask everything while reprogramming */
	x86_outb(0xa1, 0xff);
	x86_outb(0x20, 0x11); /* ICW1: edge, cascade, ICW4 follows */
	x86_outb(0xa0, 0x11);
	x86_outb(0x21, IRQ_BASE); /* ICW2: vector base */
	x86_outb(0xa1, IRQ_BASE + 8);
	x86_outb(0x21, 0x04); /* ICW3: slave on IRQ2 */
	x86_outb(0xa1, 0x02);
	x86_outb(0x21, 0x03); /* ICW4: 8086 mode, auto-EOI */
	x86_outb(0xa1, 0x03);
	x86_outb(0x21, 0xfe); /* only IRQ0 (PIT) */
	x86_outb(0xa1, 0xff);
}

void x86_pit_start(uint32_t divisor)
{
	if (divisor < 2)
		divisor = 2;
	if (divisor > 65535)
		divisor = 65535;
	x86_outb(0x43, 0x34); /* channel 0, lo/hi byte, mode 2, binary */
	x86_outb(0x40, divisor & 0xff);
	x86_outb(0x40, divisor >> 8);
}

/*
 * One outb per byte rather than `rep outsb`: KVM runs string I/O through its
 * instruction emulator, while a plain outb takes its fast PIO path; both
 * exit to QEMU once per byte.
 */
void x86_debugcon_write(const char *s, uint32_t n)
{
	while (n-- > 0)
		x86_outb(X86_DEBUGCON_PORT, (uint8_t)*s++);
}

static char *put_hex(char *p, uint32_t v)
{
	int shift;

	for (shift = 28; shift >= 0; shift -= 4)
		*p++ = "0123456789abcdef"[(v >> shift) & 0xf];
	return p;
}

void x86_fault(const struct x86_fault_frame *f)
{
	char line[32], *p = line;

	*p++ = 'E';
	*p++ = ' ';
	p = put_hex(p, f->vec);
	*p++ = ' ';
	p = put_hex(p, f->err);
	*p++ = ' ';
	p = put_hex(p, f->eip);
	*p++ = '\n';
	x86_debugcon_write(line, (uint32_t)(p - line));
	x86_halt_forever();
}
