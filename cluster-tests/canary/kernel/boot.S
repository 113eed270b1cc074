/*
 * boot.S - multiboot v1 entry of the canary kernel: header, GDT, stack,
 * interrupt stubs.  Everything else is C (canary.c, x86.c, mbinfo.c).
 *
 * NOTE: no iret anywhere.  The "KVM" of the lab machines is kvm_pvm (PVM,
 * software virtualisation inside a VM), which runs a 32-bit guest through
 * KVM's instruction emulator ("batch emul" in dmesg); that emulator only
 * implements real-mode IRET, so a protected-mode iret stops the guest with
 * "KVM internal error. Suberror: 1 ... emulation failure".  Interrupts
 * return with IRET_SAME_RING (popf; ret) instead, valid here because the
 * canary never changes privilege level or CS.
 * NOTE: the multiboot spec leaves GDTR undefined at entry (QEMU's loader
 * leaves its own option-ROM GDT loaded), so we load ours before the first
 * interrupt can reload CS.  .bss is zeroed here although QEMU's loader
 * already zero-fills it: a different loader need not.
 */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* bit 0: align modules, bit 1: want mem info */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .data
	.align 8
gdt:
	.quad 0
	.quad 0x00CF9B000000FFFF	/* 0x08: flat 32-bit code, accessed */
	.quad 0x00CF93000000FFFF	/* 0x10: flat data, accessed */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.section .bss
	.align 16
stack_bottom:
	.skip 16384
stack_top:

	.section .text
	.globl _start
_start:
	cli
	cld
	mov %eax, %edx			/* multiboot magic */
	lgdt gdt_desc
	ljmp $0x08, $1f
1:	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	mov %ax, %ss
	mov $__bss_start, %edi		/* zero .bss (ebx, edx preserved) */
	mov $_end, %ecx
	sub %edi, %ecx
	xor %eax, %eax
	rep stosb
	mov $stack_top, %esp
	push %ebx			/* multiboot info (physical) */
	push %edx			/* magic */
	call kmain
2:	cli
	hlt
	jmp 2b

/*
 * iret without iret, for an interrupt taken at CPL 0 with CS unchanged:
 * [eip][cs][eflags] becomes [eflags][eip], then popf; ret.  An interrupt
 * arriving between popf and ret just nests one level deeper.
 */
.macro IRET_SAME_RING
	push %eax
	push %edx
	mov 8(%esp), %eax		/* eip */
	mov 16(%esp), %edx		/* eflags */
	mov %edx, 12(%esp)		/* cs slot <- eflags */
	mov %eax, 16(%esp)		/* eflags slot <- eip */
	pop %edx
	pop %eax
	add $4, %esp
	popfl
	ret
.endm

/*
 * The idle loop.  It holds nothing in registers, so an interrupt that hits
 * its hlt need not be returned from: the IRQ0 stub drops the frame and
 * jumps back here (fewest instructions per tick, see canary.c).
 */
	.globl x86_idle_loop
x86_idle_loop:
	cli
	cmpl $0, canary_dirty_owed
	jne 1f
	sti
	hlt
idle_after_hlt:
	jmp x86_idle_loop
1:	sti
	call canary_idle_work
	jmp x86_idle_loop

/* IRQ0 (PIT).  The PIC runs in auto-EOI mode: no EOI, no extra VM exit. */
	.globl x86_irq0_stub
x86_irq0_stub:
	cmpl $idle_after_hlt, (%esp)
	jne 1f
	add $12, %esp			/* from the idle hlt: forget the frame */
	call canary_tick
	jmp x86_idle_loop
1:	pushal
	cld
	call canary_tick
	popal
	IRET_SAME_RING

/* Spurious PIC interrupts, NMI and every vector nobody uses. */
	.globl x86_ignore_stub
x86_ignore_stub:
	IRET_SAME_RING

/* CPU exceptions: push a uniform frame {vec, err, eip, cs, eflags}. */
.macro EXC_NOERR vec
exc\vec:
	pushl $0
	pushl $\vec
	jmp exc_common
.endm
.macro EXC_ERR vec
exc\vec:
	pushl $\vec
	jmp exc_common
.endm

	EXC_NOERR 0
	EXC_NOERR 1
	EXC_NOERR 2
	EXC_NOERR 3
	EXC_NOERR 4
	EXC_NOERR 5
	EXC_NOERR 6
	EXC_NOERR 7
	EXC_ERR   8
	EXC_NOERR 9
	EXC_ERR   10
	EXC_ERR   11
	EXC_ERR   12
	EXC_ERR   13
	EXC_ERR   14
	EXC_NOERR 15
	EXC_NOERR 16
	EXC_ERR   17
	EXC_NOERR 18
	EXC_NOERR 19
	EXC_NOERR 20
	EXC_ERR   21
	EXC_NOERR 22
	EXC_NOERR 23
	EXC_NOERR 24
	EXC_NOERR 25
	EXC_NOERR 26
	EXC_NOERR 27
	EXC_NOERR 28
	EXC_ERR   29
	EXC_ERR   30
	EXC_NOERR 31

exc_common:
	cli
	cld
	push %esp			/* struct x86_fault_frame * */
	call x86_fault			/* does not return */
3:	cli
	hlt
	jmp 3b

	.section .rodata
	.align 4
	.globl x86_exc_stubs
x86_exc_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.long exc\v
	.endr

	.section .note.GNU-stack, "", @progbits
