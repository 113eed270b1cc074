#!/bin/bash
# selftest.sh [TEST...]: self test of the vmhandoff lab (part of make check).
#
# Tests (default: migrate fence):
#   migrate    up 2 --no-cluster; a trivial domain live-migrated peer-to-peer
#              node1 -> node2 over the migration link; down; nothing left
#   fence      up 3 (cluster); all online; stonith resource fence_labhost,
#              stonith-enabled=true; stonith_admin --reboot node3 from node1:
#              node3 powered off, back on, rejoins; down; nothing left
#   interrupt  SIGINT to `labctl up` in the middle, then SIGKILL to another
#              `labctl up` + `labctl down`: nothing left either time
#
# Runs lab LAB_ID (default 9 here, so as not to collide with a lab 0 of a
# developer; it refuses to run if that lab exists). On failure the lab is
# torn down with its logs kept (path printed). Exit 0 = all passed,
# 1 = a test failed, 2 = could not run (lab exists), 77 = skipped (not root).
# LAB_TCG=1 uses a TCG guest even where /dev/kvm exists. The fence test uses
# LAB_DC_DEADTIME=2s and LAB_TOKEN=1000 unless set (a faster cluster).

# shellcheck disable=SC2317,SC2119,SC2030,SC2031  # (trap handlers; lab_down without args; run_tests in a subshell)
if [ -z "${LAB_ID-}" ]; then
    LAB_ID=9
    unset LAB_DIR     # a LAB_DIR in the environment belongs to another lab
fi
export LAB_ID
HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=lab.sh
. "$HERE/lab.sh"
_lab_vars || exit 2
LABCTL=$HERE/labctl

tests=("$@")
((${#tests[@]})) || tests=(migrate fence)

T0=$(_lab_now_ms)
created=0
failed=0
LAB_PIDS=()

say() { echo "selftest [$(_lab_elapsed "$T0")]: $*" >&2; }
fail() {
    say "FAIL: $*"
    failed=1
    return 1
}

teardown() {
    if [ "$created" = 1 ]; then
        if [ "$failed" = 1 ]; then
            LAB_KEEP_LOGS=1 lab_down >/dev/null 2>&1
            say "lab $LAB_ID torn down; logs kept in $LAB_D (remove with: rm -rf $LAB_D)"
        else
            LAB_QUIET=1 lab_down
        fi
        created=0
    fi
}
on_exit() {
    local rc=$?
    [ "$rc" != 0 ] && failed=1
    teardown
}

if [ "$(id -u)" != 0 ]; then
    echo "selftest: SKIP: the lab needs root" >&2
    exit 77
fi

# the lab must not exist: never tear down somebody else's lab
if _lab_exists; then
    echo "selftest: lab $LAB_ID exists ($LAB_D, netns ${LAB_NSP}*): run 'LAB_ID=$LAB_ID $LABCTL down' or pick another LAB_ID" >&2
    exit 2
fi

# remember every process of the lab (root-namespace pids + start times)
snapshot_pids() {
    local ns p
    LAB_PIDS=()
    for ns in $(ip netns list | awk -v p="^$LAB_NSP" '$1 ~ p {print $1}'); do
        for p in $(ip netns pids "$ns"); do
            LAB_PIDS+=("$p:$(_lab_starttime "$p")")
        done
    done
    p=$(_lab_pidfile_alive "$LAB_D/labfenced.pidst") && LAB_PIDS+=("$p:$(_lab_starttime "$p")")
}

# nothing of the lab is left: netns, links, bridges, mounts, state, processes
check_clean() {
    local what=$1 left=() e p st
    [ -n "$(ip netns list | awk -v p="^$LAB_NSP" '$1 ~ p')" ] &&
        left+=("netns: $(ip netns list | awk -v p="^$LAB_NSP" '$1 ~ p {printf "%s ", $1}')")
    e=""
    for p in /sys/class/net/vmh"$LAB_ID"*; do
        [[ ${p##*/} =~ ^vmh${LAB_ID}(n[0-9][rm]|ring|mig)$ ]] && e+="${p##*/} "
    done
    [ -n "$e" ] && left+=("links: $e")
    e=$(grep -E "$LAB_D|/run/netns/$LAB_NSP" /proc/mounts | awk '{print $2}' | tr '\n' ' ')
    [ -n "$e" ] && left+=("mounts: $e")
    [ -e "$LAB_D" ] && left+=("state dir $LAB_D")
    for e in "${LAB_PIDS[@]}"; do
        p=${e%%:*} st=${e#*:}
        [ -n "$st" ] && [ "$(_lab_starttime "$p" 2>/dev/null)" = "$st" ] &&
            left+=("process $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-80))")
    done
    # any live process referring to the lab dir (labfenced, unshare) or
    # living in a mount namespace of the lab's hosts (their bind mounts)
    for p in /proc/[0-9]*; do
        { grep -qaF "$LAB_D" "$p/cmdline" || grep -qF "$LAB_D/" "$p/mountinfo"; } 2>/dev/null &&
            _lab_starttime "${p#/proc/}" >/dev/null &&
            left+=("process ${p#/proc/} ($(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-80))")
    done
    if ((${#left[@]})); then
        fail "after $what, left behind: ${left[*]}"
        return 1
    fi
    say "after $what: nothing left (netns, veths, bridges, mounts, processes, state)"
}

lab_teardown_and_check() {
    snapshot_pids
    created=0
    LAB_QUIET=1 lab_down || { created=1; fail "lab_down failed"; return 1; }
    check_clean "$1" || { created=1; return 1; }
}

# ------------------------------------------------------------- migrate ---
test_migrate() {
    local t dtype xml dom=selftest-vm b0r b0m b1r b1m
    say "migrate: lab_up 2 --no-cluster"
    t=$(_lab_now_ms)
    created=1
    lab_up 2 --no-cluster || { fail "lab_up 2 --no-cluster"; return 1; }
    say "migrate: up in $(_lab_elapsed "$t")"
    if [ -c /dev/kvm ] && [ -w /dev/kvm ] && [ "${LAB_TCG:-0}" != 1 ]; then
        dtype=kvm
    else
        dtype=qemu   # TCG
    fi
    xml=$LAB_D/$dom.xml
    cat >"$xml" <<EOF
<domain type='$dtype'>
  <name>$dom</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <on_crash>destroy</on_crash>
  <devices><memballoon model='none'/></devices>
</domain>
EOF
    lab_exec node1 virsh -q define "$xml" >/dev/null || { fail "define on node1"; return 1; }
    lab_exec node1 virsh -q start "$dom" >/dev/null || { fail "start on node1"; return 1; }
    [ "$(lab_exec node1 virsh domstate "$dom" | head -1)" = running ] ||
        { fail "$dom not running on node1"; return 1; }
    b0r=$(cat "/sys/class/net/$(_lab_veth node2 ring)/statistics/tx_bytes")
    b0m=$(cat "/sys/class/net/$(_lab_veth node2 mig)/statistics/tx_bytes")
    t=$(_lab_now_ms)
    lab_exec node1 timeout 60 virsh migrate --live --p2p --persistent --undefinesource \
        "$dom" "qemu+tcp://$(lab_mig_addr node2)/system" ||
        { fail "virsh migrate node1 -> node2"; return 1; }
    say "migrate: $dtype domain migrated node1 -> node2 in $(_lab_elapsed "$t")"
    b1r=$(cat "/sys/class/net/$(_lab_veth node2 ring)/statistics/tx_bytes")
    b1m=$(cat "/sys/class/net/$(_lab_veth node2 mig)/statistics/tx_bytes")
    [ "$(lab_exec node2 virsh domstate "$dom" 2>/dev/null | head -1)" = running ] ||
        { fail "$dom not running on node2 after migration"; return 1; }
    if lab_exec node1 virsh -q list --all --name | grep -qx "$dom"; then
        fail "$dom still on node1 after migration"
        return 1
    fi
    say "migrate: running on node2, gone from node1; to node2: migration link $((b1m - b0m)) bytes, ring $((b1r - b0r)) bytes"
    (((b1m - b0m) > 100000 && (b1r - b0r) * 10 < (b1m - b0m))) ||
        { fail "migration traffic did not go over the migration link"; return 1; }
    lab_teardown_and_check "migrate test"
}

# --------------------------------------------------------------- fence ---
test_fence() {
    local t old new
    say "fence: lab_up 3 (dc-deadtime ${LAB_DC_DEADTIME:-2s}, corosync token ${LAB_TOKEN:-1000} ms)"
    t=$(_lab_now_ms)
    created=1
    LAB_DC_DEADTIME=${LAB_DC_DEADTIME:-2s} LAB_TOKEN=${LAB_TOKEN:-1000} lab_up 3 ||
        { fail "lab_up 3"; return 1; }
    say "fence: 3 nodes online in $(_lab_elapsed "$t")"
    lab_crm node1 configure primitive fence-lab stonith:fence_labhost \
        params pcmk_host_list="node1 node2 node3" op monitor interval=30s 2>&1 |
        grep -v 'Blind faith' >&2
    lab_crm node1 crm_attribute -t crm_config -n stonith-enabled -v true ||
        { fail "stonith-enabled=true"; return 1; }
    fence_started() {
        lab_exec node1 crm_mon -1 --output-as=xml 2>/dev/null |
            grep -Eq '<resource id="fence-lab"[^>]* role="Started"[^>]* failed="false"'
    }
    lab_wait_for 60 "fence-lab Started" fence_started || { fail "fence-lab not started"; return 1; }
    old=$(lab_host_pid node3)
    t=$(_lab_now_ms)
    lab_exec node1 stonith_admin --reboot node3 --timeout 90 ||
        { fail "stonith_admin --reboot node3"; return 1; }
    say "fence: stonith_admin --reboot node3 returned after $(_lab_elapsed "$t")"
    grep -q " off node3 ok " "$LAB_D/fence.log" ||
        { fail "no 'off node3' in fence.log"; return 1; }
    grep -q " on node3 ok " "$LAB_D/fence.log" ||
        { fail "no 'on node3' in fence.log"; return 1; }
    new=$(lab_host_pid node3) || { fail "node3 not powered on again"; return 1; }
    if [ "$new" = "$old" ] || _lab_starttime "$old" >/dev/null; then
        fail "node3 init $old still alive: not powered off"
        return 1
    fi
    lab_wait_for 60 "node3 back online in crm_mon on node1" _lab_cluster_ok node1 3 ||
        { fail "node3 did not rejoin: offline: $(_lab_offline_nodes node1 3)"; return 1; }
    say "fence: node3 was powered off (init $old) and on (init $new), rejoined $(_lab_elapsed "$t") after the request"
    sed 's/^/    fence.log: /' "$LAB_D/fence.log" >&2
    lab_exec node1 stonith_admin --history node3 2>/dev/null | grep -q "reboot of node3 successful" ||
        { fail "fencing history of node3 shows no successful reboot"; return 1; }
    lab_teardown_and_check "fence test"
}

# ----------------------------------------------------------- interrupt ---
test_interrupt() {
    local pid sig
    for sig in INT KILL; do
        say "interrupt: labctl up 2 --no-cluster, SIG$sig once node1's libvirtd runs"
        created=1
        # (env --default-signal: an async command of a non-interactive shell
        # starts with SIGINT ignored, and bash cannot trap an ignored signal)
        LAB_QUIET=1 env --default-signal=INT "$LABCTL" up 2 --no-cluster \
            </dev/null >/dev/null 2>&1 &
        pid=$!
        lab_wait_for 30 "node1 libvirtd started by labctl up" \
            bash -c "[ -s '$LAB_D/node1/init.pid' ] && '$LABCTL' exec node1 pgrep -x libvirtd" \
            >/dev/null || { kill -KILL "$pid"; fail "labctl up did not start node1"; return 1; }
        snapshot_pids
        kill -"$sig" "$pid"
        wait "$pid" 2>/dev/null
        say "interrupt: labctl up ended with status $?"
        if [ "$sig" = KILL ]; then
            LAB_QUIET=1 "$LABCTL" down || { fail "labctl down after SIGKILL"; return 1; }
        fi
        check_clean "SIG$sig of labctl up$([ "$sig" = KILL ] && echo " + labctl down")" || return 1
        created=0
    done
}

run_tests() {
    trap on_exit EXIT
    local t
    for t in "${tests[@]}"; do
        case $t in
        migrate | fence | interrupt)
            "test_$t" || break ;;
        *) fail "unknown test '$t'"; break ;;
        esac
    done
    teardown
    if [ "$failed" = 0 ]; then
        say "PASS (${tests[*]})"
        exit 0
    fi
    say "FAILED"
    exit 1
}

# The tests run in a child; this shell only waits and, on a signal, kills
# the child's process tree and tears the lab down (bash 5.2 may lose a trap
# that arrives while it parses a command substitution: see lab.sh NOTE).
on_signal() {
    trap '' INT TERM HUP
    say "interrupted (SIG$1): tearing down lab $LAB_ID"
    _lab_kill_tree "$child"
    wait "$child" 2>/dev/null
    LAB_QUIET=1 lab_down
    exit 130
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP
run_tests &
child=$!
wait "$child"
