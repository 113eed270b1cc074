# bench/rules.mk - `make bench`, a fragment included from the top-level
# Makefile (paths relative to the repo top). See bench/README.md.
#
#   bench        raw libvirt vs ocf:heartbeat:VirtualDomain vs
#                ocf:vmhandoff:VirtualDomain on one 3-host lab (lab 6):
#                activation gap, guest downtime, move wall time, monitor
#                cost, drain, vmhandoffd's footprint; report in
#                bench/results/latest.md (+ bench/results/STAMP/), ~18-25 min.
#                BENCH_MOVES=3 BENCH_MON_RUNS=6 BENCH_IDLE_S=20 ... for a
#                quick run of the harness (the variables: bench/bench.sh).
#
# Root, /dev/kvm (or TCG), gnuplot for the plots (make deps). Not part of
# `make check`: timings are never asserted.

bench_saved_default_goal := $(.DEFAULT_GOAL)

.PHONY: bench

bench: all
	bench/bench.sh

.DEFAULT_GOAL := $(bench_saved_default_goal)
