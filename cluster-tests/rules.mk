# cluster-tests/rules.mk - the cluster scenarios and the demo, a fragment
# included from the top-level Makefile (paths relative to the repo top).
#
#   cluster-check            every scenario of cluster-tests/scenarios/ on one
#                            3-host cluster (lab 3), TAP + tables, ~4-7 min
#   cluster-check AGENT=heartbeat
#                            the same against ocf:heartbeat:VirtualDomain
#                            (results in build/cluster-check-heartbeat;
#                            CLUSTER_CHECK_AGENT=heartbeat says the same)
#   demo                     3 hosts, 2 VMs, a move and a drain, the table;
#                            KEEP=1 leaves the cluster up (lab 1)
#   demo-down                removes a demo kept with KEEP=1
#   cluster-soak [RUNS=N]    a randomized campaign of N runs (default 20) on
#                            one 3-host cluster (lab 8, SOAK_LAB_ID): moves,
#                            drains, faults during a migration; the checker
#                            after each run; SOAK_SEED=S replays a campaign;
#                            not part of `make check` (20-75 s per run here);
#                            results in build/cluster-soak
#
# To run it as a suite of `make check` (TAP lines counted by tests/summarize):
#   -$(RUN_SUITE) cluster cluster-tests/cluster-check.sh
# (root, /dev/kvm or TCG; 4-7 minutes on the 2-core test machine).
# CLUSTER_CHECK_LAB_ID / DEMO_LAB_ID choose other labs.

cluster_tests_saved_default_goal := $(.DEFAULT_GOAL)

.PHONY: cluster-check demo demo-down cluster-soak

CLUSTER_CHECK_AGENT ?= $(AGENT)

cluster-check: all
	cluster-tests/cluster-check.sh $(if $(CLUSTER_CHECK_AGENT),--agent $(CLUSTER_CHECK_AGENT))

cluster-soak: all
	RUNS=$(or $(RUNS),20) cluster-tests/soak.sh

demo: all
	KEEP=$(KEEP) cluster-tests/demo.sh

demo-down:
	cluster-tests/demo.sh --down

.DEFAULT_GOAL := $(cluster_tests_saved_default_goal)
