#!/bin/bash
# inhost.sh: the timed parts of the benchmark, run INSIDE one simulated host
# (bench.sh starts it with lab_exec), so that neither nsenter nor anything
# of the root namespace is inside a measured interval. Times are
# CLOCK_REALTIME (bash's EPOCHREALTIME, microseconds): the same clock as the
# observers' lines (lvwatch, canary collectors), so they can be joined.
#
#   inhost.sh pcmk-move VM TARGET [TIMEOUT_S] [POLL_S]
#       crm_resource --move VM to TARGET, then poll crm_mon until VM is
#       Started on TARGET alone, not failed, not blocked, managed, nothing
#       pending (the harness's ct_is_started_on); prints
#       "T0_NS T1_NS ok|timeout|move-failed". The move constraint is left
#       for the caller to clear (outside the timed interval).
#   inhost.sh virsh-move VM TARGET_URI
#       virsh migrate --live --p2p VM TARGET_URI; prints "T0_NS T1_NS ok|failed"
#   inhost.sh loop RUNS CMD...
#       runs CMD RUNS times (stdout/stderr discarded); prints one duration
#       in microseconds per run; exit 1 (and "FAIL rc=N") on a non-zero rc
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

now_us() { echo "${EPOCHREALTIME/[.,]/}"; }

# crm_mon XML -> "ROLE NODES failed=.. blocked=.. managed=.. pending=.."
# (the same program as cluster-tests/lib/ct.sh's ct_rsc_state)
rsc_state() {
    awk -v vm="$1" -f "$(dirname "${BASH_SOURCE[0]}")/../../cluster-tests/lib/rsc-state.awk"
}

pcmk_move() {
    local vm=$1 to=$2 timeout=${3:-150} poll=${4:-0.05} t0 t1 deadline s
    local want="Started $to failed=false blocked=false managed=true pending="
    t0=$(now_us)
    if ! crm_resource --move -r "$vm" -N "$to" >/dev/null 2>&1; then
        echo "${t0}000 $(now_us)000 move-failed"
        return 1
    fi
    deadline=$((t0 + timeout * 1000000))
    while :; do
        s=$(crm_mon -1 --output-as=xml 2>/dev/null | rsc_state "$vm")
        t1=$(now_us)
        if [ "$s" = "$want" ]; then
            echo "${t0}000 ${t1}000 ok"
            return 0
        fi
        if ((t1 >= deadline)); then
            echo "${t0}000 ${t1}000 timeout"
            return 1
        fi
        sleep "$poll"
    done
}

virsh_move() {
    local vm=$1 uri=$2 t0 t1 rc
    t0=$(now_us)
    virsh -q -c qemu:///system migrate --live --p2p "$vm" "$uri" >/dev/null 2>/run/bench-virsh.err
    rc=$?
    t1=$(now_us)
    if [ $rc = 0 ]; then
        echo "${t0}000 ${t1}000 ok"
    else
        echo "${t0}000 ${t1}000 failed $(tr '\n' ' ' </run/bench-virsh.err | tr -s ' \t' '__')"
    fi
    return $rc
}

loop() {
    local runs=$1 i t0 t1 rc
    shift
    for ((i = 0; i < runs; i++)); do
        t0=$(now_us)
        "$@" >/dev/null 2>&1
        rc=$?
        t1=$(now_us)
        [ "$rc" -eq 0 ] || { echo "FAIL rc=$rc"; return 1; }
        echo $((t1 - t0))
    done
}

cmd=${1-}
shift
case $cmd in
pcmk-move) pcmk_move "$@" ;;
virsh-move) virsh_move "$@" ;;
loop) loop "$@" ;;
*) echo "usage: inhost.sh pcmk-move|virsh-move|loop ..." >&2; exit 2 ;;
esac
