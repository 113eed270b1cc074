# cluster-tests/canary/rules.mk - the canary guest and its collector.
# Included from the top-level Makefile; paths are relative to the repo top.
#
#   build/canary/canary.elf      multiboot kernel (32-bit, freestanding)
#   build/canary/canary-collect  debugcon stream collector (hosted C11)
#   canary                       both of the above
#   canary-check                 cluster-tests/canary/selftest.sh (~20 s)
#   canary-clean                 rm -rf build/canary
#
# The top-level Makefile wires these into its own targets, e.g.
#   all: canary     check: canary-check     clean: canary-clean
#
# NOTE: the kernel ignores the user's CFLAGS/LDFLAGS on purpose (hardening,
# sanitizer or -march flags would break a freestanding 32-bit image); it
# only takes $(CC) and CANARY_KERNEL_EXTRA_CFLAGS.

canary_saved_default_goal := $(.DEFAULT_GOAL)

CANARY_SRC := cluster-tests/canary
CANARY_OUT := build/canary

CANARY_KSRCS := $(addprefix $(CANARY_SRC)/kernel/,boot.S x86.c mbinfo.c cmdline.c canary.c)
CANARY_KOBJS := $(patsubst $(CANARY_SRC)/kernel/%,$(CANARY_OUT)/kernel/%.o,$(CANARY_KSRCS))
CANARY_KLDS := $(CANARY_SRC)/kernel/linker.ld

CANARY_KCFLAGS := -m32 -march=i686 -ffreestanding -fno-pic -fno-pie \
	-fno-stack-protector -nostdlib -mgeneral-regs-only \
	-fno-asynchronous-unwind-tables -fcf-protection=none -std=c11 -O2 -g \
	-Wall -Wextra -Wshadow -Wmissing-prototypes -MMD -MP \
	$(CANARY_KERNEL_EXTRA_CFLAGS)
CANARY_KLDFLAGS := -m32 -nostdlib -static -Wl,-melf_i386 \
	-Wl,--build-id=none -Wl,-z,max-page-size=0x1000 -Wl,-T,$(CANARY_KLDS)

CANARY_COLLECT_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Wshadow -Wformat=2 \
	-Wmissing-prototypes -fstack-protector-strong -D_FORTIFY_SOURCE=2 -MMD -MP
ifneq ($(SANITIZE),)
CANARY_COLLECT_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
endif

.PHONY: canary canary-check canary-clean

canary: $(CANARY_OUT)/canary.elf $(CANARY_OUT)/canary-collect

$(CANARY_OUT)/canary.elf: $(CANARY_KOBJS) $(CANARY_KLDS)
	$(CC) $(CANARY_KLDFLAGS) -o $@ $(CANARY_KOBJS)

$(CANARY_OUT)/kernel/%.S.o: $(CANARY_SRC)/kernel/%.S | $(CANARY_OUT)/kernel
	$(CC) $(CANARY_KCFLAGS) -c -o $@ $<

$(CANARY_OUT)/kernel/%.c.o: $(CANARY_SRC)/kernel/%.c | $(CANARY_OUT)/kernel
	$(CC) $(CANARY_KCFLAGS) -c -o $@ $<

$(CANARY_OUT)/canary-collect: $(CANARY_SRC)/collect.c | $(CANARY_OUT)
	$(CC) $(CANARY_COLLECT_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

$(CANARY_OUT) $(CANARY_OUT)/kernel:
	mkdir -p $@

canary-check: canary
	$(CANARY_SRC)/selftest.sh

canary-clean:
	rm -rf $(CANARY_OUT)

-include $(CANARY_KOBJS:.o=.d) $(CANARY_OUT)/canary-collect.d

.DEFAULT_GOAL := $(canary_saved_default_goal)
