# tests/hardening.mk - static analysis, fuzzing and the sanitized unit
# tests. Included from the top-level Makefile (paths relative to the
# repository top; it uses the top level's variables: WARN, PKG_CFLAGS,
# PKG_LIBS, HELPER_CFLAGS, LIB_SRCS, UNIT_SRCS, ...).
#
#   make lint             cppcheck, gcc -fanalyzer and clang-tidy over every C
#                         source; one TAP line per tool (tests/lint/report)
#   make lint-cppcheck | lint-gcc | lint-tidy       one tool
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="wire ipc"] [FUZZ_JOBS=1]
#                         each libFuzzer target for FUZZ_SECONDS from its
#                         committed seeds (fuzz/corpus/<t>/), then a replay
#                         of the seeds and of fuzz/regressions/<t>/; a crash
#                         found is copied to fuzz/regressions/<t>/ (commit
#                         it with the fix). One TAP line per target.
#   make fuzz-replay      only the replay (no new inputs)
#   make fuzz-seeds       regenerate fuzz/corpus/ from the real encoders
#                         (fuzz/gen_seeds.c: the corpus is its output, add
#                         seeds there; rerun it when a format changes)
#   make fuzz-coverage    line coverage of the seeds + regressions + the
#                         inputs found so far (build/fuzz/work/), per target
#   make san-unit         the unit tests built with SANITIZE=address,undefined
#                         (into build-san/) and run; a sanitizer report fails
#   make san-cluster [SAN_CLUSTER_SCENARIOS=s6]
#                         the agent, vmhandoffd and the CLI built so, run by
#                         a real 3-host cluster through those scenarios
#                         (tests/san-cluster.sh); a report fails it
#   make agent-check SANITIZE=address,undefined
#                         the agent tests with the sanitized agent
#
# Tools (Debian 12): cppcheck, clang, clang-tidy, libclang-rt-dev (libFuzzer),
# llvm (llvm-cov, for fuzz-coverage only): packaging/install-deps.sh.
# Build products: build/lint/, build/fuzz/ (a fuzz target's own corpus,
# the inputs it found, is kept in build/fuzz/work/<t>/ between runs).

hardening_saved_default_goal := $(.DEFAULT_GOAL)

.PHONY: lint lint-cppcheck lint-gcc lint-tidy fuzz fuzz-build fuzz-replay fuzz-seeds \
	fuzz-coverage san-unit san-unit-run san-cluster san-programs

# ---- lint ---------------------------------------------------------------

CPPCHECK ?= cppcheck
CLANG_TIDY ?= clang-tidy
LINT_CC ?= gcc
LINT_OUT := build/lint
LINT_REPORT := tests/lint/report

CANARY_KERNEL_C := $(filter %.c,$(CANARY_KSRCS))
FUZZ_SRCS := $(wildcard fuzz/*.c)
LINT_SRCS := $(LIB_SRCS) $(AGENT_SRCS) $(FRONT_SRCS) $(HELPER_SRCS) $(CLI_SRCS) $(UNIT_SRCS) $(FUZZ_SRCS) \
	$(wildcard cluster-tests/tools/*.c) cluster-tests/canary/collect.c $(CANARY_KERNEL_C)

# The flags each source is built with, less dependency files, sanitizers
# and _FORTIFY_SOURCE (which wants -O and is a build flag, not an analysis
# one).
LINT_DROP := -MMD -MP -D_FORTIFY_SOURCE=% -fsanitize=% -fno-omit-frame-pointer
LINT_BASE := -std=c11 -D_GNU_SOURCE -DLIBCIB_SONAME='"$(LIBCIB_SONAME)"' -pthread -Ilib $(WARN) \
	$(PKG_CFLAGS)
lint_flags = $(filter-out $(LINT_DROP),$(strip \
	$(if $(filter helper/%,$1),$(LINT_BASE) $(HELPER_CFLAGS), \
	$(if $(filter agent/front/%,$1),$(LINT_BASE) -DVMH_RA_FULL_PATH='"$(RA_FULL_PATH)"', \
	$(if $(filter tests/unit/%,$1),$(LINT_BASE) -DVMH_METADATA_PATH='"$(METADATA)"', \
	$(if $(filter fuzz/%,$1),$(LINT_BASE) -Ifuzz -Itests/unit, \
	$(if $(filter cluster-tests/tools/%,$1),$(TOOLS_CFLAGS), \
	$(if $(filter cluster-tests/canary/kernel/%,$1),$(CANARY_KCFLAGS), \
	$(if $(filter cluster-tests/canary/%,$1),$(CANARY_COLLECT_CFLAGS), \
	$(LINT_BASE))))))))))

LINT_GCC_LOGS := $(LINT_SRCS:%=$(LINT_OUT)/gcc/%.log)
LINT_TIDY_LOGS := $(LINT_SRCS:%=$(LINT_OUT)/tidy/%.log)

lint:
	@rc=0; \
	$(MAKE) --no-print-directory lint-cppcheck LINT_N=1 || rc=1; \
	$(MAKE) --no-print-directory lint-gcc LINT_N=2 || rc=1; \
	$(MAKE) --no-print-directory lint-tidy LINT_N=3 || rc=1; \
	exit $$rc

# A tool that fails to run leaves a log that says so, dated 1970 so that
# the next run tries again; the report counts it as a finding.
LINT_TOOL_FAILED = { echo "$<:0:0: error: $1 exited with status $$rc [tool-failure]" >> $@.tmp; \
	touch -d @0 $@.tmp; }

# cppcheck is quick on the whole tree; it reads its own suppressions. It
# does not read the system headers: the one libxml2 macro statement the
# code uses is spelled out for it.
lint-cppcheck:
	@mkdir -p $(LINT_OUT)
	@echo "cppcheck: $(words $(LINT_SRCS)) files"
	@$(CPPCHECK) -q --std=c11 --library=posix --library=gnu -D_GNU_SOURCE -D__linux__ \
		-D__x86_64__ '-DLIBXML_TEST_VERSION=xmlCheckVersion(0);' -Ilib -Ifuzz -Itests/unit \
		--enable=warning,style,performance,portability --inline-suppr \
		--suppressions-list=tests/lint/cppcheck-suppressions.txt -j2 \
		--template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
		$(LINT_SRCS) > $(LINT_OUT)/cppcheck.log 2>&1; rc=$$?; \
	[ $$rc -eq 0 ] || echo "cppcheck:0:0: error: cppcheck exited with status $$rc [tool-failure]" \
		>> $(LINT_OUT)/cppcheck.log
	@$(LINT_REPORT) cppcheck $(or $(LINT_N),1) $(LINT_OUT)/cppcheck.log

lint-gcc: $(LINT_GCC_LOGS)
	@$(LINT_REPORT) gcc-analyzer $(or $(LINT_N),1) $^

lint-tidy: $(LINT_TIDY_LOGS)
	@$(LINT_REPORT) clang-tidy $(or $(LINT_N),1) $^

# gcc at -O0 (what -fanalyzer is meant for), with every warning of the
# build; its dependency file serves the clang-tidy log of the same source.
$(LINT_OUT)/gcc/%.log: %
	@mkdir -p $(@D) $(dir $(LINT_OUT)/dep/$*)
	@echo "gcc -fanalyzer $<"
	@$(LINT_CC) $(call lint_flags,$<) -O0 -fanalyzer -fdiagnostics-plain-output \
		-MMD -MP -MF $(LINT_OUT)/dep/$*.d -MT '$@ $(LINT_OUT)/tidy/$*.log' \
		-c -o /dev/null $< > $@.tmp 2>&1; rc=$$?; \
	[ $$rc -eq 0 ] || $(call LINT_TOOL_FAILED,gcc); mv $@.tmp $@

# clang-tidy reads /.clang-tidy (the checks, each exclusion explained).
$(LINT_OUT)/tidy/%.log: % .clang-tidy
	@mkdir -p $(@D)
	@echo "clang-tidy $<"
	@$(CLANG_TIDY) --quiet $< -- $(call lint_flags,$<) > $@.tmp 2>&1; rc=$$?; \
	[ $$rc -eq 0 ] || $(call LINT_TOOL_FAILED,clang-tidy); mv $@.tmp $@

-include $(LINT_SRCS:%=$(LINT_OUT)/dep/%.d)

# ---- fuzzing ------------------------------------------------------------

FUZZ_CC ?= clang
FUZZ_OUT := build/fuzz
FUZZ_TARGETS ?= wire ipc registry params domxml
FUZZ_SECONDS ?= 60
# How many targets run at once (one process each, under nice).
FUZZ_JOBS ?= 1
# What `make check` gives the fuzz suite: 5 targets x 20 s, two at a time.
CHECK_FUZZ_SECONDS ?= 20
CHECK_FUZZ_JOBS ?= 2
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -DLIBCIB_SONAME='"$(LIBCIB_SONAME)"' -pthread -Ilib -Ifuzz \
	-Itests/unit -g -O1 $(WARN) $(PKG_CFLAGS) $(FUZZ_SAN) -MMD -MP
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_OUT)/%.o)
FUZZ_LIB := $(FUZZ_OUT)/libvmhandoff-fuzz.a
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_OUT)/fuzz_%)

fuzz-build: $(FUZZ_BINS)

# The library with coverage feedback for libFuzzer, but no main.
$(FUZZ_OUT)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_OUT)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(FUZZ_LIB)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(PKG_LIBS)

fuzz: fuzz-build
	FUZZ_JOBS=$(FUZZ_JOBS) tests/fuzz-run $(FUZZ_OUT) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-replay: fuzz-build
	FUZZ_JOBS=$(FUZZ_JOBS) tests/fuzz-run $(FUZZ_OUT) 0 $(FUZZ_TARGETS)

# The seed generator runs the real encoders (and the registry harness):
# an ordinary build of the library sources.
$(FUZZ_OUT)/gen-seeds: fuzz/gen_seeds.c $(LIB_SRCS)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -DLIBCIB_SONAME='"$(LIBCIB_SONAME)"' -pthread -Ilib \
		-Itests/unit -O1 -g $(WARN) $(PKG_CFLAGS) -o $@ $< $(LIB_SRCS) $(PKG_LIBS)

fuzz-seeds: $(FUZZ_OUT)/gen-seeds
	rm -rf $(FUZZ_OUT)/seeds
	$(FUZZ_OUT)/gen-seeds $(FUZZ_OUT)/seeds
	for t in $(FUZZ_TARGETS); do \
		rm -rf fuzz/corpus/$$t && cp -r $(FUZZ_OUT)/seeds/$$t fuzz/corpus/$$t; done

# Source coverage: the same targets built with clang's coverage mapping,
# run once over every input there is; llvm-cov reports the library files.
FUZZ_COV_OUT := $(FUZZ_OUT)/cov
LLVM_PROFDATA ?= llvm-profdata
LLVM_COV ?= llvm-cov
fuzz_cov_files_wire := lib/vmh_wire.c lib/vmh_bytes.h
fuzz_cov_files_ipc := lib/vmh_ipc.c lib/vmh_ipc_reply.c lib/vmh_ipc_int.h
fuzz_cov_files_registry := lib/vmh_registry.c lib/vmh_regimage.c lib/vmh_regsync.c
fuzz_cov_files_params := lib/vmh_params.c
fuzz_cov_files_domxml := lib/vmh_domxml.c

$(FUZZ_COV_OUT)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(LIB_SRCS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(filter-out $(FUZZ_SAN) -MMD -MP,$(FUZZ_CFLAGS)) -fsanitize=fuzzer \
		-fprofile-instr-generate -fcoverage-mapping -o $@ $< $(LIB_SRCS) $(PKG_LIBS)

fuzz-coverage: $(FUZZ_TARGETS:%=$(FUZZ_COV_OUT)/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
		dirs=$$(for d in fuzz/corpus/$$t fuzz/regressions/$$t $(FUZZ_OUT)/work/$$t; do \
			[ -d $$d ] && echo $$d; done); \
		rm -f $(FUZZ_COV_OUT)/$$t.profraw; \
		LLVM_PROFILE_FILE=$(FUZZ_COV_OUT)/$$t.profraw nice -n 10 $(FUZZ_COV_OUT)/fuzz_$$t \
			-runs=0 $$dirs > $(FUZZ_COV_OUT)/$$t.log 2>&1 || true; \
		$(LLVM_PROFDATA) merge -sparse -o $(FUZZ_COV_OUT)/$$t.profdata \
			$(FUZZ_COV_OUT)/$$t.profraw || exit 1; \
		echo "== $$t"; \
		case $$t in wire) f="$(fuzz_cov_files_wire)";; ipc) f="$(fuzz_cov_files_ipc)";; \
		registry) f="$(fuzz_cov_files_registry)";; params) f="$(fuzz_cov_files_params)";; \
		*) f="$(fuzz_cov_files_domxml)";; esac; \
		$(LLVM_COV) report $(FUZZ_COV_OUT)/fuzz_$$t -instr-profile=$(FUZZ_COV_OUT)/$$t.profdata \
			$$f | sed 's/^/  /'; \
	done

-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_BINS:=.d)

# ---- the unit tests under ASan and UBSan ----------------------------------

# A sub-make with SANITIZE set builds into build-san/. UBSan stops at its
# first report (halt_on_error), LeakSanitizer runs at each exit: either
# fails the test binary, which tests/run-unit.sh reports. It drops the
# binaries' stderr, so ASan writes its reports to files, and a failing
# binary is run once more to show what the sanitizers said (GCC's UBSan
# next to ASan ignores log_path).
SAN_UNIT_SANITIZE ?= address,undefined

san-unit:
	@$(MAKE) --no-print-directory -s -j2 SANITIZE=$(SAN_UNIT_SANITIZE) san-unit-run

san-unit-run: $(UNIT_BINS)
	@rep=$(B)/san-reports; rm -rf $$rep; mkdir -p $$rep; \
	export ASAN_OPTIONS=log_path=$$rep/asan:detect_leaks=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1; \
	rc=0; tests/run-unit.sh $(UNIT_BINS) || rc=1; \
	if [ $$rc -ne 0 ]; then for t in $(UNIT_BINS); do \
		ASAN_OPTIONS=detect_leaks=1 $$t > /dev/null 2> $$rep/$$(basename $$t).stderr && continue; \
		echo "# $$t failed; what the sanitizers said ($$rep/$$(basename $$t).stderr):"; \
		grep -E -A12 'runtime error|ERROR: [A-Za-z]+Sanitizer' $$rep/$$(basename $$t).stderr | \
			head -40 | sed 's/^/#   /'; done; fi; \
	for f in $$rep/asan.*; do \
		[ -e "$$f" ] || continue; rc=1; \
		echo "# sanitizer report $$f:"; head -40 "$$f" | sed 's/^/#   /'; \
		echo "not ok 0 - sanitizer report in $$f"; done; \
	exit $$rc

# ---- one cluster scenario with sanitized programs ----------------------

# The lab takes the sanitized programs (build-san/) in place of build/'s;
# it still needs build/'s canary and observers (all).
SAN_CLUSTER_SCENARIOS ?= s6

san-programs: $(RA_BIN) $(FRONT_BIN) $(HELPER_BIN) $(CLI_BIN)

san-cluster: all
	@$(MAKE) --no-print-directory -s -j2 SANITIZE=$(SAN_UNIT_SANITIZE) san-programs
	tests/san-cluster.sh build-san $(SAN_LOG_DIR) $(SAN_CLUSTER_SCENARIOS)

.DEFAULT_GOAL := $(hardening_saved_default_goal)
