#!/bin/bash
# cluster-check.sh: every cluster scenario (cluster-tests/scenarios/s*.sh)
# against ONE 3-host cluster of the lab (cluster-tests/lab), with the
# observers of lib/ct.sh in every host and the invariant checker after
# every step. Prints TAP ("ok N - scenario: what"), then a table per
# scenario and one per move; exits 1 if any check failed.
#
#   cluster-tests/cluster-check.sh [--agent vmhandoff|heartbeat]
#                                  [--only s1,s3,...] [--keep]
#
# --agent heartbeat runs the same scenarios against Debian's
# ocf:heartbeat:VirtualDomain, for comparison (results in
# build/cluster-check-heartbeat). --keep leaves the lab up at the end
# (cluster-tests/lab/labctl with LAB_ID=... to look around; labctl down).
# Environment: CLUSTER_CHECK_LAB_ID (default 3), CLUSTER_CHECK_OUT (the
# results directory, default as above), CT_RECIPE (1, default:
# the RECIPES.md settings on every VM; 0: plain resources), CT_VERBOSE
# (1, default: progress as "# ..." lines on stderr).
set -u
here=$(cd "$(dirname "$0")" && pwd)
export LAB_ID=${CLUSTER_CHECK_LAB_ID:-3}
unset LAB_DIR
# shellcheck source=lib/ct.sh
. "$here/lib/ct.sh"

only=""
while (($#)); do
    case $1 in
    --agent) CT_AGENT=$2; shift ;;
    --agent=*) CT_AGENT=${1#*=} ;;
    --only) only=$2; shift ;;
    --only=*) only=${1#*=} ;;
    --keep) CT_KEEP=1 ;;
    -h | --help) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "cluster-check: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
case $CT_AGENT in
vmhandoff | heartbeat) ;;
*) echo "cluster-check: --agent vmhandoff|heartbeat" >&2; exit 2 ;;
esac
export CT_AGENT

out=$CT_REPO/build/cluster-check
[ "$CT_AGENT" = heartbeat ] && out=$CT_REPO/build/cluster-check-heartbeat
out=${CLUSTER_CHECK_OUT:-$out}
for f in "$CT_COLLECT" "$CT_LVWATCH" "$CT_REPO/build/canary/canary.elf" "$CT_REPO/build/agent/vmhandoff-ra"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "not ok 1 - setup: $f is missing (make all)"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "not ok 1 - setup: cluster-check needs root"; exit 1; }

ct_begin "$out" || { echo "not ok 1 - setup: lab $LAB_ID is busy"; exit 1; }
t_run=$(ct_now_ns)
echo "# cluster-check: ocf:$CT_AGENT:VirtualDomain, lab $LAB_ID, results in $out"
CT_SC=setup
if ct_up; then
    ct_ok "3-host cluster with fencing (fence_labhost), observers in every host ($CT_ACCEL)"
else
    ct_fail "3-host cluster with fencing (fence_labhost), observers in every host" "see $out/run.log"
    echo "1..$CT_TAP_N"
    exit 1
fi
printf 'scenario\tresult\tchecks\tfailed\tseconds\tt0_ns\tt1_ns\ttitle\n' >"$CT_STATE/scenarios.tsv"

for f in "$here"/scenarios/s[0-9]*.sh; do
    name=$(basename "$f" .sh)
    if [ -n "$only" ] && ! [[ ,$only, == *",${name%%-*},"* || ,$only, == *",$name,"* ]]; then
        continue
    fi
    unset -f sc_main sc_skip
    SC_TITLE=$name
    # shellcheck disable=SC1090
    . "$f"
    CT_SC=$name CT_SC_CHECKS=0 CT_SC_FAIL=0
    t0=$(ct_now_ns)
    ct_log "=== $name: $SC_TITLE"
    reason=""
    if declare -F sc_skip >/dev/null; then reason=$(sc_skip); fi
    if [ -n "$reason" ]; then
        ct_skip "$SC_TITLE" "$reason"
        result=skip
    else
        if ! ct_reset; then
            ct_fail "cluster back in a known state before the scenario" "see $out/run.log"
        else
            sc_main
            rc=$?
            if [ $rc != 0 ] && [ "$CT_SC_FAIL" = 0 ]; then
                ct_fail "scenario ended early (status $rc)" "see $out/run.log"
            fi
        fi
        result=PASS
        [ "$CT_SC_FAIL" = 0 ] || result=FAIL
    fi
    t1=$(ct_now_ns)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$result" "$CT_SC_CHECKS" "$CT_SC_FAIL" \
        $(((t1 - t0) / 1000000000)) "$t0" "$t1" "$SC_TITLE" >>"$CT_STATE/scenarios.tsv"
done

# the whole run, once more, in one window: the figures of every move, and
# never two copies / no VM lost across scenario boundaries (reboots were
# judged step by step above, where it is known which ones are intended)
CT_SC=all
allow=()
for vm in $(ct_vms); do allow+=(--allow-reboot "$vm"); done
ct_inv_check "whole run: never two copies, no VM lost" all "$t_run" "${allow[@]}"
python3 "$CT_LIB_DIR/ct-report.py" --out "$out" --title "cluster-check: ocf:$CT_AGENT:VirtualDomain" \
    --seconds $((($(ct_now_ns) - t_run) / 1000000000)) | tee "$out/summary.txt" | sed 's/^/# /'
echo "1..$CT_TAP_N"
ct_teardown
echo "# cluster-check: $((CT_TAP_N - CT_TAP_FAIL)) passed, $CT_TAP_FAIL failed in $((($(ct_now_ns) - t_run) / 1000000000)) s; results in $out"
[ "$CT_TAP_FAIL" = 0 ]
