#!/bin/bash
# san-cluster.sh: one cluster scenario with sanitized programs.
#
# The agent (front and full agent), vmhandoffd and the CLI of a
# SANITIZE=address,undefined build (build-san/) run a scenario of
# cluster-tests on a real 3-host cluster: s6-registry (claim, handoff,
# refusal, enforcement, a vmhandoffd restart, the permission checks as
# other users) exercises every one of them. Each sanitized program writes
# any report into SAN_LOG_DIR (compiled in, lib/vmh_sanopts.c), also when
# pacemaker-execd or the lab's init runs it; any report fails the suite.
# The lab is kept up after the scenario only long enough to show that the
# daemons that ran were the sanitized ones, then torn down (also on failure
# and on a signal).
#
#   tests/san-cluster.sh SAN_BUILD_DIR SAN_LOG_DIR [SCENARIOS]
#
# Environment: SAN_CLUSTER_LAB_ID (default 2).
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
san=$(cd "${1:?build dir}" && pwd) || exit 1
dir=${2:?sanitizer log dir}
only=${3:-s6}
export LAB_ID=${SAN_CLUSTER_LAB_ID:-2}
unset LAB_DIR
# shellcheck source=../cluster-tests/lab/lab.sh
. "$repo/cluster-tests/lab/lab.sh"
# shellcheck source=san-reports.sh
. "$repo/tests/san-reports.sh"
_lab_vars || exit 1

n=0 failed=0
_san_gone() { ! lab_exec "$1" pgrep -x vmhandoffd >/dev/null 2>&1; }
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }

export VMH_AGENT=$san/agent/VirtualDomain VMH_HELPER=$san/helper/vmhandoffd VMH_CLI=$san/cli/vmhandoff
for f in "$VMH_AGENT" "$san/agent/vmhandoff-ra" "$VMH_HELPER" "$VMH_CLI"; do
    nm "$f" 2>/dev/null | grep -q ' T __asan_default_options$' ||
        { not_ok "setup: $f is not a sanitized build with its report defaults"; exit 1; }
done
san_reports_reset "$dir" || { not_ok "setup: $dir"; exit 1; }

trap 'lab_down >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM

# the scenario's own TAP lines are this suite's, renumbered
out=$repo/build-san/cluster-check
mkdir -p "$out"
CLUSTER_CHECK_OUT=$out CLUSTER_CHECK_LAB_ID=$LAB_ID CT_VERBOSE=0 \
    "$repo/cluster-tests/cluster-check.sh" --only "$only" --keep >"$out/suite.log" 2>&1
rc=$?
while IFS= read -r line; do
    case $line in
    "ok "*) ok "sanitized: ${line#ok [0-9]* - }" ;;
    "not ok "*) not_ok "sanitized: ${line#not ok [0-9]* - }" ;;
    [0-9]*..[0-9]*) ;;
    *) echo "# $line" ;;
    esac
done <"$out/suite.log"
[ "$rc" = 0 ] || not_ok "cluster-check --only $only with sanitized programs exited $rc (see $out)"

# the daemons that ran were these (the agent and the CLI are the lab's
# links to the same build: checked in the hosts too)
bad=""
for h in node1 node2 node3; do
    pid=$(lab_exec "$h" pgrep -x vmhandoffd 2>/dev/null | head -1)
    exe=$( [ -n "$pid" ] && lab_exec "$h" readlink "/proc/$pid/exe")
    agent=$(lab_exec "$h" readlink -f /usr/lib/ocf/resource.d/vmhandoff/VirtualDomain)
    [ "$exe" = "$VMH_HELPER" ] && [ "$agent" = "$VMH_AGENT" ] || bad+=" $h:${exe:-none}:$agent"
done
if [ -z "$bad" ]; then
    ok "every host ran the sanitized vmhandoffd and agent ($san)"
else
    not_ok "every host ran the sanitized vmhandoffd and agent:$bad"
fi
# every vmhandoffd stopped as systemd stops it (SIGTERM), so that
# LeakSanitizer looks at its exit too (lab_down kills what is left)
for h in node1 node2 node3; do
    pid=$(lab_exec "$h" pgrep -x vmhandoffd 2>/dev/null | head -1)
    [ -n "$pid" ] || continue
    lab_exec "$h" kill -TERM "$pid"
    lab_wait_for 20 "vmhandoffd on $h to exit" _san_gone "$h" ||
        not_ok "vmhandoffd on $h exits on SIGTERM within 20 s"
done
# (stderr: pacemaker's log has the agent's, *.out vmhandoffd's)
logs=()
for h in node1 node2 node3; do
    cp -a "$LAB_D/$h/log/vmhandoffd.out" "$out/logs/$h/vmhandoffd-final.out" 2>/dev/null
    logs+=("$LAB_D/$h/log")
done
san_reports_check "$dir" "the agent, vmhandoffd or the CLI over $only and the lab's teardown" "${logs[@]}"
lab_down >/dev/null 2>&1
echo "1..$n"
[ "$failed" -eq 0 ]
