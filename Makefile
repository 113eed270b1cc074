# vmhandoff - plain Makefile (see README.md for the targets).
#
# User CFLAGS/LDFLAGS/CPPFLAGS are respected; warnings, hardening and the
# library flags from pkg-config are added on top. SANITIZE=address,undefined
# builds everything with those sanitizers.

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
OCF_RA_DIR ?= $(PREFIX)/lib/ocf/resource.d/vmhandoff
# the full agent; what pacemaker runs (OCF_RA_DIR) is its front
LIBEXECDIR ?= $(PREFIX)/libexec
RA_FULL_DIR ?= $(LIBEXECDIR)/vmhandoff
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
# not $(PREFIX)/etc: vmhandoffd's default /etc/vmhandoff/vmhandoff.conf is compiled in
SYSCONFDIR ?= /etc
DESTDIR ?=

CC ?= cc
CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config

# libvirt: the hypervisor API; libxml-2.0: domain XML; gnutls: SHA-256 of
# registry records and state files (already linked by libvirt); pacemaker (headers
# only): OCF codes and the CIB API, whose library is dlopen()ed only when a
# utilization attribute changes (see agent/ra_utilization.c).
PKGS := libvirt libxml-2.0 gnutls
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) pacemaker-cib 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -ldl
# vmhandoffd only: libcpg (the registry's agreed-order messages), libquorum
# (corosync's quorum), libcmap (the node list: ids, names), and
# pacemaker-fencing (libstonithd: the fencing history that allows a
# takeover from a lost node), libsystemd (sd_notify: Type=notify).
HELPER_PKGS := libcpg libquorum libcmap pacemaker-fencing libsystemd
HELPER_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(HELPER_PKGS) 2>/dev/null)
HELPER_LIBS := $(shell $(PKG_CONFIG) --libs $(HELPER_PKGS) 2>/dev/null)
LIBCIB_SONAME := $(shell objdump -p $$($(PKG_CONFIG) --variable=libdir pacemaker-cib)/libcib.so 2>/dev/null | awk '/SONAME/ {print $$2}')

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes \
	-Wstrict-prototypes -Wpointer-arith -Wundef -Wvla
HARDEN_CFLAGS := -fstack-protector-strong -fPIE -D_FORTIFY_SOURCE=2
HARDEN_LDFLAGS := -pie -Wl,-z,relro -Wl,-z,now
# where the programs of a sanitized build report (lib/vmh_sanopts.c)
SAN_LOG_DIR ?= /var/tmp/vmhandoff-san
ifneq ($(SANITIZE),)
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
HARDEN_CFLAGS := -fPIE
SAN_DEFS := -DVMH_SAN_LOG_DIR='"$(SAN_LOG_DIR)"'
endif

VMH_CFLAGS := -std=c11 -D_GNU_SOURCE -DLIBCIB_SONAME='"$(LIBCIB_SONAME)"' -pthread -Ilib $(WARN) $(HARDEN_CFLAGS) \
	$(SAN_FLAGS) $(SAN_DEFS) $(PKG_CFLAGS) -MMD -MP
VMH_LDFLAGS := -pthread $(HARDEN_LDFLAGS) $(SAN_FLAGS)

B := build$(if $(SANITIZE),-san)
LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
# a sanitized program links its report defaults itself (lib/vmh_sanopts.c)
SAN_OPTS_OBJ := $(if $(SANITIZE),$(B)/lib/vmh_sanopts.o)
LIBVMH := $(B)/libvmhandoff.a
AGENT_SRCS := $(wildcard agent/*.c)
AGENT_OBJS := $(AGENT_SRCS:%.c=$(B)/%.o) $(B)/agent/ra_metadata.o
RA_BIN := $(B)/agent/vmhandoff-ra
# The monitor's front (agent/front/): libc and the IPC client only, never
# libvirt; it finds the full agent next to itself, else in RA_FULL_DIR.
FRONT_SRCS := $(wildcard agent/front/*.c)
FRONT_OBJS := $(FRONT_SRCS:%.c=$(B)/%.o)
FRONT_LIB_OBJS := $(addprefix $(B)/lib/,vmh_fastmon.o vmh_ipc.o vmh_ipc_reply.o \
	vmh_ipc_client.o vmh_names.o vmh_time.o)
FRONT_BIN := $(B)/agent/VirtualDomain
# FRONT_LDFLAGS=-static-pie spares each call the dynamic loader (a few
# tenths of a ms), at the price of a static libc (lintian: an error)
FRONT_LDFLAGS ?=
HELPER_SRCS := $(wildcard helper/*.c)
HELPER_OBJS := $(HELPER_SRCS:%.c=$(B)/%.o)
HELPER_BIN := $(B)/helper/vmhandoffd
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(CLI_SRCS:%.c=$(B)/%.o)
CLI_BIN := $(B)/cli/vmhandoff
METADATA := ra-metadata/VirtualDomain.xml
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)

.PHONY: all check deps unit-check metadata-check agent-check cluster-check \
	install clean bench demo demo-down cluster-soak FORCE

all: $(RA_BIN) $(FRONT_BIN) $(HELPER_BIN) $(CLI_BIN) canary tools

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(VMH_CFLAGS) $(CFLAGS) -c -o $@ $<

$(HELPER_OBJS): VMH_CFLAGS += $(HELPER_CFLAGS)

$(B)/agent/ra_metadata.o: agent/ra_metadata.S $(METADATA)
	@mkdir -p $(@D)
	$(CC) -DVMH_METADATA_FILE='"$(METADATA)"' -c -o $@ $<

$(LIBVMH): $(LIB_OBJS)
	$(AR) rcs $@ $^

$(RA_BIN): $(AGENT_OBJS) $(LIBVMH)
	$(CC) $(CFLAGS) $(VMH_LDFLAGS) $(LDFLAGS) -o $@ $(AGENT_OBJS) $(SAN_OPTS_OBJ) $(LIBVMH) $(PKG_LIBS)

# the full agent's installed path, compiled into the front; the stamp
# changes only when the path does (so `make install PREFIX=...` rebuilds
# the front with its own)
RA_FULL_PATH := $(RA_FULL_DIR)/vmhandoff-ra
$(B)/agent/front/ra_path.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(RA_FULL_PATH)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(FRONT_OBJS): $(B)/agent/front/ra_path.stamp
$(FRONT_OBJS): VMH_CFLAGS += -DVMH_RA_FULL_PATH='"$(RA_FULL_PATH)"'

$(FRONT_BIN): $(FRONT_OBJS) $(FRONT_LIB_OBJS) $(SAN_OPTS_OBJ)
	$(CC) $(CFLAGS) $(VMH_LDFLAGS) $(LDFLAGS) $(FRONT_LDFLAGS) -o $@ $(FRONT_OBJS) $(FRONT_LIB_OBJS) \
		$(SAN_OPTS_OBJ)

$(HELPER_BIN): $(HELPER_OBJS) $(LIBVMH)
	$(CC) $(CFLAGS) $(VMH_LDFLAGS) $(LDFLAGS) -o $@ $(HELPER_OBJS) $(SAN_OPTS_OBJ) $(LIBVMH) $(PKG_LIBS) \
		$(HELPER_LIBS)

$(CLI_BIN): $(CLI_OBJS) $(LIBVMH)
	$(CC) $(CFLAGS) $(VMH_LDFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJS) $(SAN_OPTS_OBJ) $(LIBVMH) $(PKG_LIBS)

$(B)/tests/%: tests/unit/%.c $(LIBVMH)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(VMH_CFLAGS) -DVMH_METADATA_PATH='"$(METADATA)"' $(CFLAGS) \
		$(VMH_LDFLAGS) $(LDFLAGS) -o $@ $< \
		$(LIBVMH) $(PKG_LIBS) -lcmocka

include cluster-tests/canary/rules.mk
include cluster-tests/tools/rules.mk
-include cluster-tests/rules.mk
-include tests/hardening.mk
-include bench/rules.mk
-include packaging/rules.mk

# --- tests ---------------------------------------------------------------
# Every suite reports TAP-like "ok"/"not ok" lines into $(B)/results/;
# tests/summarize prints the table and the closing "N passed, N failed".

RUN_SUITE := tests/run-suite $(B)/results

deps:
	packaging/install-deps.sh

metadata-check: $(RA_BIN)
	$(RUN_SUITE) metadata tests/metadata-check.sh $(RA_BIN)

unit-check: $(UNIT_BINS)
	$(RUN_SUITE) unit tests/run-unit.sh $(UNIT_BINS)

# the agent of this build ($(B)); a sanitized one is judged by its reports too
agent-check: all
	VMH_AGENT=$(CURDIR)/$(FRONT_BIN) $(if $(SANITIZE),VMH_SAN_LOG_DIR=$(SAN_LOG_DIR)) \
		$(RUN_SUITE) agent tests/agent/agent-test.sh

check: deps
	rm -rf $(B)/results
	$(MAKE) all $(UNIT_BINS)
	-$(MAKE) metadata-check
	-$(MAKE) unit-check
	-$(RUN_SUITE) san-unit $(MAKE) --no-print-directory san-unit
	-$(RUN_SUITE) lint $(MAKE) --no-print-directory -j2 lint
	-$(RUN_SUITE) fuzz $(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS) \
		FUZZ_JOBS=$(CHECK_FUZZ_JOBS)
	-$(RUN_SUITE) ocf-codes tests/ocf-codes.sh $(RA_BIN)
	-$(RUN_SUITE) hostile tests/hostile.sh $(RA_BIN) $(HELPER_BIN) $(CLI_BIN)
	-$(RUN_SUITE) tools-selftest sh -c 'cluster-tests/tools/selftest.sh $(TOOLS_OUT)'
	-$(RUN_SUITE) canary-selftest cluster-tests/canary/selftest.sh
	-$(RUN_SUITE) lab-selftest cluster-tests/lab/selftest.sh
	-$(MAKE) agent-check
	-$(RUN_SUITE) san-cluster $(MAKE) --no-print-directory san-cluster
	-$(RUN_SUITE) deb tests/deb-check.sh
	-$(RUN_SUITE) doc-recipes cluster-tests/doc-recipes.sh
	-$(RUN_SUITE) cluster cluster-tests/cluster-check.sh
	tests/summarize $(B)/results

# (packaging/rpm/vmhandoff.spec's %files and packaging/debian/*.install
# list what this installs; tests/deb-check.sh compares them)
install: $(RA_BIN) $(FRONT_BIN) $(HELPER_BIN) $(CLI_BIN) $(MAN_PAGES)
	install -d $(DESTDIR)$(OCF_RA_DIR) $(DESTDIR)$(RA_FULL_DIR) $(DESTDIR)$(SBINDIR)
	install -m 0755 $(FRONT_BIN) $(DESTDIR)$(OCF_RA_DIR)/VirtualDomain
	install -m 0755 $(RA_BIN) $(DESTDIR)$(RA_FULL_DIR)/vmhandoff-ra
	install -m 0755 $(HELPER_BIN) $(DESTDIR)$(SBINDIR)/vmhandoffd
	install -m 0755 $(CLI_BIN) $(DESTDIR)$(SBINDIR)/vmhandoff
	install -d $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/vmhandoff
	install -m 0644 $(filter %.7,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man7
	install -m 0644 $(filter %.8,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man8
	sed 's|^ExecStart=/usr/sbin/|ExecStart=$(SBINDIR)/|' packaging/vmhandoffd.service \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/vmhandoffd.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/vmhandoffd.service
	# an existing configuration is the admin's: never replaced
	test -e $(DESTDIR)$(SYSCONFDIR)/vmhandoff/vmhandoff.conf || \
		install -m 0644 packaging/vmhandoff.conf $(DESTDIR)$(SYSCONFDIR)/vmhandoff/vmhandoff.conf

clean: canary-clean clean-tools
	rm -rf $(B)

-include $(LIB_OBJS:.o=.d) $(AGENT_OBJS:.o=.d) $(HELPER_OBJS:.o=.d) $(CLI_OBJS:.o=.d) \
	$(FRONT_OBJS:.o=.d)
