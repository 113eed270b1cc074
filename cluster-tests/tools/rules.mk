# cluster-tests/tools/rules.mk - the cluster-test tools, a fragment included
# from the top-level Makefile (all paths relative to the repository top).
#
#   build/tools/lvwatch        libvirt event logger, one per simulated host
#   build/tools/lvwdrive       test helper: drives domains through a URI
#   build/tools/lvw_fmt_test   unit test of lvwatch's line format
#   tools                      all of the above
#   check-tools                cluster-tests/tools/selftest.sh (~10 s, root)
#   clean-tools                rm -rf build/tools
#
# The top-level Makefile wires these into its own targets, e.g.
#   all: tools     check: check-tools (or selftest.sh via its suite runner)
#   clean: clean-tools
#
# Compiled with the top level's $(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) plus
# libvirt's pkg-config flags and the warnings below.  $(HARDEN_CFLAGS),
# $(HARDEN_LDFLAGS) and $(SAN_FLAGS) are the top level's hardening and
# SANITIZE=... flags: used when it defines them, empty otherwise.  Every
# variable here starts with TOOLS_ so as not to clash with the includer.

tools_saved_default_goal := $(.DEFAULT_GOAL)

TOOLS_DIR := cluster-tests/tools
TOOLS_OUT := build/tools
TOOLS_LIBVIRT_CFLAGS := $(shell pkg-config --cflags libvirt)
TOOLS_LIBVIRT_LIBS := $(shell pkg-config --libs libvirt)
TOOLS_CFLAGS := -std=c11 -Wall -Wextra -Wshadow -Wformat=2 \
	-Wmissing-prototypes -Wstrict-prototypes -Wpointer-arith -Wundef -Wvla \
	$(HARDEN_CFLAGS) $(SAN_FLAGS) $(TOOLS_LIBVIRT_CFLAGS) -MMD -MP
TOOLS_LDFLAGS := $(HARDEN_LDFLAGS) $(SAN_FLAGS)

TOOLS_OBJS := $(addprefix $(TOOLS_OUT)/,lvwatch.o lvw_fmt.o lvwdrive.o \
	lvw_fmt_test.o)
TOOLS_PROGS := $(addprefix $(TOOLS_OUT)/,lvwatch lvwdrive lvw_fmt_test)

.PHONY: tools check-tools clean-tools

tools: $(TOOLS_PROGS)

$(TOOLS_OUT):
	mkdir -p $@

# A static pattern rule: it wins over any generic build/%.o rule of the
# includer, and names exactly the objects it builds.
$(TOOLS_OBJS): $(TOOLS_OUT)/%.o: $(TOOLS_DIR)/%.c | $(TOOLS_OUT)
	$(CC) $(CPPFLAGS) $(TOOLS_CFLAGS) $(CFLAGS) -c -o $@ $<

$(TOOLS_OUT)/lvwatch: $(TOOLS_OUT)/lvwatch.o $(TOOLS_OUT)/lvw_fmt.o
	$(CC) $(CFLAGS) $(TOOLS_LDFLAGS) $(LDFLAGS) -o $@ $^ $(TOOLS_LIBVIRT_LIBS)

$(TOOLS_OUT)/lvw_fmt_test: $(TOOLS_OUT)/lvw_fmt_test.o $(TOOLS_OUT)/lvw_fmt.o
	$(CC) $(CFLAGS) $(TOOLS_LDFLAGS) $(LDFLAGS) -o $@ $^ $(TOOLS_LIBVIRT_LIBS)

$(TOOLS_OUT)/lvwdrive: $(TOOLS_OUT)/lvwdrive.o
	$(CC) $(CFLAGS) $(TOOLS_LDFLAGS) $(LDFLAGS) -o $@ $^ $(TOOLS_LIBVIRT_LIBS)

check-tools: tools
	$(TOOLS_DIR)/selftest.sh $(TOOLS_OUT)

clean-tools:
	rm -rf $(TOOLS_OUT)

-include $(TOOLS_OBJS:.o=.d)

# Included before the includer's first target, "tools" would become the
# default goal: put back whatever it was.
.DEFAULT_GOAL := $(tools_saved_default_goal)
