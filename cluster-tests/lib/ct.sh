# shellcheck shell=bash
# ct.sh: the cluster-test harness shared by cluster-check.sh, demo.sh and
# the scenarios (cluster-tests/scenarios/*.sh). Source it; functions are
# prefixed ct_. It sits on cluster-tests/lab/lab.sh (the hosts) and drives
# pacemaker inside them exactly as an administrator would (crm_resource,
# crm_standby, crmsh), while observers record what really happens:
#
# - in every host, for the whole run, a canary collector (guest ticks) and
#   an lvwatch (libvirt events), logging into $LAB_D/obs/; a keeper process
#   in the root namespace starts them again in a host that was powered off
#   and on (fencing reboots hosts), before its pacemaker can start a VM;
# - after every step, cluster-tests/tools/invariants.py over the step's
#   time window: split activation, lost VM, unexpected reboot, and the
#   figures of every migration.
#
# Results go to $CT_OUT: run.log (everything), tap.txt, moves.tsv (one line
# per move: wall time from the command to "Started on target" in crm_mon,
# joined with the checker's activation gap, guest downtime, QEMU's bytes,
# and the bytes seen on each of the source's links), inv/*.txt|json (the
# checker's reports), logs/ (observer and pacemaker logs, copied at the end).
#
# Environment: LAB_ID (the lab to use), CT_AGENT (vmhandoff | heartbeat),
# CT_OUT, CT_RECIPE (1: the "failed migration costs no reboot" settings of
# RECIPES.md on every VM, the default; 0: the plain resource definition).
#
# NOTE (found while building this; see the report):
# - canary-collect used to write tick sequence numbers in hex unless
#   --decimal; invariants.py reads decimal.  Decimal is its default now
#   (--decimal, passed below, is a no-op kept for compatibility).
# - The canary ignores ACPI: a graceful stop of it can only end in a destroy
#   after most of the stop timeout (72 s of 90 s with this agent), so the
#   VMs here have force_stop=true.

CT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CT_TESTS_DIR=$(cd "$CT_LIB_DIR/.." && pwd)
CT_REPO=$(cd "$CT_TESTS_DIR/.." && pwd)
# shellcheck source=../lab/lab.sh
. "$CT_TESTS_DIR/lab/lab.sh"

CT_COLLECT=$CT_REPO/build/canary/canary-collect
CT_LVWATCH=$CT_REPO/build/tools/lvwatch
CT_INVARIANTS=$CT_TESTS_DIR/tools/invariants.py
CT_CANARY_DOMAIN=$CT_TESTS_DIR/canary/canary-domain
CT_HOSTS="node1 node2 node3"
CT_AGENT=${CT_AGENT:-vmhandoff}
CT_RECIPE=${CT_RECIPE:-1}
# the collectors' gap threshold: their default (3 ticks, 6 ms) turns this
# loaded 2-core machine's scheduling noise into ~60 gap events per second
# per VM (29138 in one 8-minute run), and invariants.py is quadratic in a
# VM's tick intervals (minutes of CPU per check). A stall of >= 20 ms is
# still one; the guest downtime of a migration does not depend on it (last
# tick on the source -> first on the target).
CT_GAP_MS=${CT_GAP_MS:-20}
CT_BG_PIDS=()
CT_TAP_N=0
CT_TAP_FAIL=0
CT_TORN_DOWN=0

# ------------------------------------------------------------ basics ---

ct_now_ns() { local t=${EPOCHREALTIME/[.,]/}; echo "${t}000"; }
ct_now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

ct_log() {
    local msg
    msg="$(date +%T.%3N) $*"
    echo "$msg" >>"$CT_OUT/run.log"
    [ "${CT_VERBOSE:-1}" = 1 ] && echo "# $msg" >&2
    return 0
}

# TAP: "ok N - scenario: what" / "not ok N - ..." on stdout and tap.txt
ct_tap() { # ok|not_ok TEXT [DETAIL...]
    local res=$1 text=$2 line
    shift 2
    CT_TAP_N=$((CT_TAP_N + 1))
    if [ "$res" = ok ]; then
        line="ok $CT_TAP_N - $text"
    elif [ "$res" = skip ]; then
        line="ok $CT_TAP_N - $text # SKIP $*"
    else
        line="not ok $CT_TAP_N - $text"
        CT_TAP_FAIL=$((CT_TAP_FAIL + 1))
        CT_SC_FAIL=$((${CT_SC_FAIL:-0} + 1))
    fi
    CT_SC_CHECKS=$((${CT_SC_CHECKS:-0} + 1))
    echo "$line"
    echo "$line" >>"$CT_OUT/tap.txt"
    echo "$(date +%T.%3N) $line" >>"$CT_OUT/run.log"
    if [ "$res" = not_ok ] && [ $# -gt 0 ]; then
        printf '%s\n' "$@" | sed 's/^/#   /' | tee -a "$CT_OUT/run.log"
    fi
    return 0
}
ct_ok() { ct_tap ok "$CT_SC: $1"; }
ct_fail() { local t=$1; shift; ct_tap not_ok "$CT_SC: $t" "$@"; }
ct_skip() { ct_tap skip "$CT_SC: $1" "$2"; }
# ct_poll TIMEOUT_S INTERVAL_S DESCRIPTION CMD...: poll CMD every
# INTERVAL until it succeeds; 1 on timeout (logged). Each attempt runs in
# the current shell (CMD must be quick: crm_mon, a file test...).
ct_poll() {
    local timeout=$1 iv=$2 desc=$3 deadline
    shift 3
    deadline=$(($(ct_now_ms) + $(_lab_s2ms "$timeout")))
    while :; do
        "$@" && return 0
        if (($(ct_now_ms) >= deadline)); then
            ct_log "timeout after ${timeout}s waiting for: $desc"
            return 1
        fi
        sleep "$iv"
    done
}

# a host for CLI commands: the last one whose crm_mon answered (see
# ct_mon_xml), else one that is on. CT_AVOID_HOST (a host whose pacemaker
# is being restarted) only if no other host is on.
ct_live_host() {
    local h last
    last=$(cat "$CT_STATE/live-host" 2>/dev/null)
    for h in $last ${CT_PREFER_HOST-} $CT_HOSTS; do
        [ "$h" = "${CT_AVOID_HOST-}" ] && continue
        _lab_pidfile_alive "$LAB_D/$h/init.pid" >/dev/null && { echo "$h"; return 0; }
    done
    echo "${CT_AVOID_HOST:-node1}"
}
# ct_crm ARGS...: as lab_crm (a pacemaker tool, or crmsh for other ARGS)
# on a live host, bounded by CT_CMD_TIMEOUT (60 s): a hung daemon must not
# hang the test
ct_crm() { _ct_crm_on "$(ct_live_host)" "$@"; }
_ct_crm_on() {
    local h=$1
    shift
    case ${1-} in
    crm | crm_* | cibadmin | stonith_admin | attrd_updater | crmadmin) ;;
    *) set -- crm "$@" ;;
    esac
    lab_exec "$h" timeout -k 5 "${CT_CMD_TIMEOUT:-60}" env PATH="$LAB_PATH" "$@"
}
# crm_mon's XML from the first host whose pacemaker answers
ct_mon_xml() {
    local h last xml
    last=$(cat "$CT_STATE/live-host" 2>/dev/null)
    for h in $last ${CT_PREFER_HOST-} $CT_HOSTS; do
        [ "$h" = "${CT_AVOID_HOST-}" ] && continue
        _lab_pidfile_alive "$LAB_D/$h/init.pid" >/dev/null || continue
        xml=$(CT_CMD_TIMEOUT=20 _ct_crm_on "$h" crm_mon -1 --output-as=xml 2>/dev/null) || continue
        [[ $xml == *'<current_dc present="true"'* ]] || continue
        [ "$h" = "$last" ] || echo "$h" >"$CT_STATE/live-host"
        echo "$xml"
        return 0
    done
    return 1
}

# ct_rsc_state VM [XML]: "ROLE NODES failed=.. blocked=.. managed=..
# pending=.." from crm_mon, NODES comma-separated ("-" if none)
ct_rsc_state() {
    local vm=$1 xml=${2-}
    [ -n "$xml" ] || xml=$(ct_mon_xml)
    if [ -z "$xml" ]; then
        echo "unknown - failed=? blocked=? managed=? pending="  # no crm_mon answered
        return 1
    fi
    awk -v vm="$vm" -f "$CT_LIB_DIR/rsc-state.awk" <<<"$xml"
}
# running (per pacemaker) on exactly NODE, healthy, nothing pending
ct_is_started_on() {
    local s
    s=$(ct_rsc_state "$1") || return 1
    [[ $s == "Started $2 failed=false blocked=false managed=true pending=" ]]
}
ct_is_stopped() {
    local s
    s=$(ct_rsc_state "$1") || return 1
    [[ $s == "Stopped - failed=false blocked=false managed=true pending=" ]]
}
ct_where() { # VM -> node it runs on per pacemaker ("-" if none / several: a,b)
    local s
    s=$(ct_rsc_state "$1")
    set -- $s
    echo "$2"
}

# nodes online per crm_mon
ct_nodes_online() {
    local xml n
    xml=$(ct_mon_xml) || return 1
    for n in $CT_HOSTS; do
        grep -Eq "<node name=\"$n\"[^>]* online=\"true\"[^>]* pending=\"false\"" <<<"$xml" || return 1
    done
}

# ct_settle TIMEOUT: the cluster has no pending action (crm_resource --wait)
ct_settle() {
    local t=${1:-120} h
    h=$(ct_live_host)
    if ! lab_exec "$h" env PATH="$LAB_PATH" timeout $((t + 5)) crm_resource --wait --timeout="${t}s" \
        >>"$CT_OUT/run.log" 2>&1; then
        ct_log "cluster did not settle within ${t}s (crm_resource --wait on $h)"
        return 1
    fi
}

# ---------------------------------------------------------- observers ---

# Every boot of a host is observed under a label of its own: "node2" for
# its first boot, "node2~2" after it was powered off and on again, ... (the
# label is the host name in the observers' lines and in their log names).
# invariants.py builds its libvirt view per host name: with one name for
# both lives of a host, the view of the dead host would run on until the
# new lvwatch's first line (see the report); with a label per boot the old
# log simply ends, which the checker reads as "host died".
ct_label() { cat "$CT_STATE/label-$1" 2>/dev/null || echo "$1"; }
# the observer log files of every boot of HOST (KIND: lvwatch | canary)
ct_obs_files() { # KIND HOST
    local f
    for f in "$CT_OBS/$1-$2.log" "$CT_OBS/$1-$2~"*.log; do
        [ -e "$f" ] && echo "$f"
    done
}

# ct_obs_start HOST LABEL: a canary collector and an lvwatch in HOST, their
# in-host pids in /run/ct/*.pid (the host's own /run)
ct_obs_start() {
    local h=$1 lbl=${2:-$1} pid
    pid=$(lab_host_pid "$h" 2>/dev/null) || return 1
    lab_exec "$h" mkdir -p /run/ct /run/canary || return 1
    (
        _lab_closefds
        exec nsenter -t "$pid" -n -m -u -p -- setsid -f env -i PATH="$LAB_PATH" LANG=C.UTF-8 \
            sh -c 'echo $$ >/run/ct/collect.pid; exec "$@"' sh \
            "$CT_COLLECT" --host "$lbl" --dir /run/canary --log "$CT_OBS/canary-$lbl.log" \
            --decimal --gap-ms "$CT_GAP_MS"
    ) </dev/null >>"$LAB_D/$h/log/ct-collect.out" 2>&1 || return 1
    (
        _lab_closefds
        exec nsenter -t "$pid" -n -m -u -p -- setsid -f env -i PATH="$LAB_PATH" LANG=C.UTF-8 \
            sh -c 'echo $$ >/run/ct/lvwatch.pid; exec "$@"' sh \
            "$CT_LVWATCH" --host "$lbl" --log "$CT_OBS/lvwatch-$lbl.log"
    ) </dev/null >>"$LAB_D/$h/log/ct-lvwatch.out" 2>&1 || return 1
}

# the keeper: starts the observers in every host whose init is new (first
# boot, or powered on again after a fence); runs in the background
_ct_keeper() {
    local h cur t lbl
    local -A seen=() boots=()
    trap 'exit 0' TERM INT
    while [ ! -e "$CT_STATE/keeper.stop" ]; do
        kill -0 "$CT_MAIN_PID" 2>/dev/null || exit 0
        for h in $CT_HOSTS; do
            [ -e "$LAB_D/$h/init.ready" ] || continue
            cur=$(cat "$LAB_D/$h/init.pid" 2>/dev/null) || continue
            [ "${seen[$h]-}" = "$cur" ] && continue
            _lab_pidfile_alive "$LAB_D/$h/init.pid" >/dev/null || continue
            t=$(ct_now_ns)
            boots[$h]=$((${boots[$h]:-0} + 1))
            lbl=$h
            ((boots[$h] > 1)) && lbl="$h~${boots[$h]}"
            if ct_obs_start "$h" "$lbl"; then
                echo "$lbl" >"$CT_STATE/label-$h"
                seen[$h]=$cur
                echo "$t $h $cur" >>"$CT_STATE/obs-starts"
            fi
        done
        sleep 0.1
    done
}
ct_keeper_start() {
    rm -f "$CT_STATE/keeper.stop"
    CT_MAIN_PID=$BASHPID
    _ct_keeper </dev/null >>"$CT_OUT/run.log" 2>&1 &
    CT_KEEPER_PID=$!
    CT_BG_PIDS+=("$CT_KEEPER_PID")
}
ct_keeper_stop() {
    [ -n "${CT_KEEPER_PID-}" ] || return 0
    touch "$CT_STATE/keeper.stop"
    kill -TERM "$CT_KEEPER_PID" 2>/dev/null
    wait "$CT_KEEPER_PID" 2>/dev/null
    CT_KEEPER_PID=
}

# observers of HOST are running and lvwatch has taken its snapshot since
# they were (re)started for the host's current init
_ct_obs_ready() {
    local h=$1 cur t
    cur=$(cat "$LAB_D/$h/init.pid" 2>/dev/null) || return 1
    t=$(awk -v h="$h" -v c="$cur" '$2 == h && ($3 " " $4) == c {t = $1} END {print t}' \
        "$CT_STATE/obs-starts" 2>/dev/null)
    [ -n "$t" ] || return 1
    awk -v t="$t" '$1 >= t && $4 == "SNAPSHOT" {f = 1} END {exit !f}' "$CT_OBS/lvwatch-$(ct_label "$h").log" 2>/dev/null
}
ct_obs_wait() { # [HOSTS...]
    local h hosts=("$@")
    ((${#hosts[@]})) || read -r -a hosts <<<"$CT_HOSTS"
    for h in "${hosts[@]}"; do
        ct_poll 30 0.1 "observers in $h" _ct_obs_ready "$h" || return 1
    done
}

# --------------------------------------------------------------- lab ---

# ct_begin OUTDIR: results dir, lock, traps (teardown on exit/interrupt)
ct_begin() {
    _lab_vars || return 1
    CT_OUT=$1
    CT_OBS=$LAB_D/obs
    mkdir -p "$CT_OUT" || return 1
    rm -rf "${CT_OUT:?}"/{run.log,tap.txt,moves.tsv,inv,logs,summary.txt,scenarios.tsv,state}
    mkdir -p "$CT_OUT/inv" "$CT_OUT/state"
    CT_STATE=$CT_OUT/state
    : >"$CT_OUT/tap.txt"
    printf 'scenario\tvm\tfrom\tto\ttool\tt_cmd_ns\tt_started_ns\twall_ms\tmig_rx_bytes\tring_rx_bytes\n' \
        >"$CT_STATE/moves.raw"
    CT_LOCK=/run/lock/vmhandoff-ct-$LAB_ID.lock
    mkdir -p /run/lock
    exec {CT_LOCK_FD}>>"$CT_LOCK" || return 1
    if ! flock -n "$CT_LOCK_FD"; then
        echo "ct: lab $LAB_ID is in use by another cluster test or demo (lock $CT_LOCK)" >&2
        exec {CT_LOCK_FD}>&-
        CT_LOCK_FD=
        return 1
    fi
    # observer logs an earlier run kept (lab_down --keep-logs keeps *.log)
    # would be read as this run's: a guest "rebooted" an hour ago
    rm -rf "${CT_OBS:?}"
    trap 'ct_teardown; exit 130' INT TERM HUP
    trap 'ct_teardown' EXIT
}

# ct_up: 3 hosts, the cluster, fencing, the observers
ct_up() {
    local t0 rc
    t0=$(ct_now_ms)
    if _lab_exists; then
        ct_log "lab $LAB_ID has leftovers of an earlier run: tearing them down"
        LAB_QUIET=1 lab_down >>"$CT_OUT/run.log" 2>&1
    fi
    # CT_ACCEL=tcg forces TCG (to try that path on a machine with KVM)
    if [ "${CT_ACCEL:-}" != tcg ] && [ -c /dev/kvm ] && [ -w /dev/kvm ]; then
        CT_ACCEL=kvm
    else
        CT_ACCEL=tcg
        ct_log "NOTE: /dev/kvm is missing or not usable (or CT_ACCEL=tcg): every guest runs on TCG (domain type 'qemu')"
    fi
    LAB_DC_DEADTIME=${LAB_DC_DEADTIME:-2s} lab_up 3 >>"$CT_OUT/run.log" 2>&1
    rc=$?
    if [ $rc != 0 ]; then
        ct_log "lab_up failed (see $CT_OUT/run.log)"
        return 1
    fi
    mkdir -p "$CT_OBS" "$LAB_D/vms"
    ct_keeper_start
    ct_obs_wait || return 1
    ct_log "lab $LAB_ID up with observers in $(( ($(ct_now_ms) - t0) / 1000 ))s ($LAB_D)"
    ct_cluster_config || return 1
}

# cluster-wide settings: fencing, stickiness, migration-limit
ct_cluster_config() {
    ct_crm configure primitive fence-lab stonith:fence_labhost \
        params pcmk_host_list=node1,node2,node3 pcmk_reboot_timeout=150s \
        op monitor interval=60s >>"$CT_OUT/run.log" 2>&1 || return 1
    # load-threshold: this shared 2-core machine runs at a load of 2-4;
    # pacemaker would throttle every node to one action at a time (its
    # "High CPU load detected"), hiding migration-limit
    ct_crm configure property stonith-enabled=true migration-limit=2 load-threshold=1000% \
        >>"$CT_OUT/run.log" 2>&1 || return 1
    ct_crm configure rsc_defaults resource-stickiness=100 >>"$CT_OUT/run.log" 2>&1 || return 1
    ct_poll 60 0.2 "fence-lab started" ct_fence_started || return 1
}
ct_fence_started() { ct_rsc_state fence-lab | grep -q '^Started '; }

ct_teardown() {
    [ "$CT_TORN_DOWN" = 1 ] && return 0
    CT_TORN_DOWN=1
    trap '' INT TERM HUP
    local p h
    ct_keeper_stop
    for p in "${CT_BG_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${CT_BG_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    if [ -d "$LAB_D" ] && [ -n "${CT_OUT-}" ]; then
        mkdir -p "$CT_OUT/logs"
        [ -d "$LAB_D/obs" ] && cp -a "$LAB_D/obs" "$CT_OUT/logs/" 2>/dev/null
        for h in $CT_HOSTS; do
            [ -d "$LAB_D/$h/log" ] || continue
            mkdir -p "$CT_OUT/logs/$h"
            cp -a "$LAB_D/$h/log/pacemaker" "$LAB_D/$h/log/"*.out "$CT_OUT/logs/$h/" 2>/dev/null
            cp -a "$LAB_D/$h/log/libvirt/qemu" "$LAB_D/$h/log/libvirt/libvirtd.log" "$CT_OUT/logs/$h/" 2>/dev/null
            cp -a "$LAB_D/$h/log/corosync" "$CT_OUT/logs/$h/" 2>/dev/null
        done
        cp -a "$LAB_D/fence.log" "$LAB_D/labfenced.log" "$CT_OUT/logs/" 2>/dev/null
    fi
    if [ "${CT_KEEP:-0}" = 1 ]; then
        ct_log "KEEP=1: lab $LAB_ID left running"
    else
        LAB_QUIET=1 lab_down >>"${CT_OUT:-/dev/null}/run.log" 2>&1 ||
            LAB_QUIET=1 lab_down >/dev/null 2>&1
    fi
    if [ -n "${CT_LOCK_FD-}" ]; then
        rm -f "$CT_LOCK"
        exec {CT_LOCK_FD}>&-
    fi
    return 0
}

# ----------------------------------------------------------- the VMs ---

# ct_vm_crm_args VM: the resource definition (crmsh syntax) for VM
ct_vm_crm_args() {
    local vm=$1 migto="op migrate_to timeout=120s" meta="meta allow-migrate=true"
    # RECIPES.md: a failed migrate_to blocks the resource (the VM keeps
    # running on the source) instead of "recovering" it by stop + start
    [ "$CT_RECIPE" = 1 ] && migto="op migrate_to timeout=120s on-fail=block"
    echo "primitive $vm ocf:$CT_AGENT:VirtualDomain" \
        "params config=$LAB_D/vms/$vm.xml hypervisor=qemu:///system" \
        "migration_transport=tcp migration_network_suffix=-mig force_stop=true" \
        "$meta target-role=Stopped" \
        "op monitor interval=10s timeout=30s $migto op migrate_from timeout=60s" \
        "op start timeout=90s op stop timeout=90s"
}

# ct_vm_define VM [canary-domain options]: the canary's XML (visible in all
# hosts under $LAB_D/vms) and the pacemaker resource, stopped
ct_vm_define() {
    local vm=$1 tcg=()
    shift
    [ "$CT_ACCEL" = tcg ] && tcg=(--tcg)
    "$CT_CANARY_DOMAIN" "$vm" "${tcg[@]}" "$@" >"$LAB_D/vms/$vm.xml" || return 1
    # shellcheck disable=SC2046
    ct_crm configure $(ct_vm_crm_args "$vm") >>"$CT_OUT/run.log" 2>&1 || return 1
}

# the canary of VM has ticked on HOST since TS_NS (boot line + ticks)
_ct_ticking_on() {
    # shellcheck disable=SC2046  # (log file names have no blanks)
    awk -v vm="$1" -v t="$3" '$1 >= t && $3 == vm && ($4 == "first" || $4 == "hb") {f = 1} END {exit !f}' \
        $(ct_obs_files canary "$2") /dev/null 2>/dev/null
}
ct_wait_ticking() { # VM HOST SINCE_NS [TIMEOUT]
    ct_poll "${4:-60}" 0.2 "$1 ticking on $2" _ct_ticking_on "$1" "$2" "$3"
}

# ct_vm_start VM NODE: start VM on NODE (a temporary location constraint
# places it; removed once it runs) and wait for its ticks
ct_vm_start() {
    local vm=$1 node=$2 t0
    t0=$(ct_now_ns)
    ct_crm cibadmin --create -o constraints \
        -X "<rsc_location id=\"ct-place-$vm\" rsc=\"$vm\" node=\"$node\" score=\"INFINITY\"/>" \
        >>"$CT_OUT/run.log" 2>&1 || return 1
    ct_crm crm_resource -r "$vm" --meta -p target-role -v Started >>"$CT_OUT/run.log" 2>&1 || return 1
    ct_poll 120 0.2 "$vm Started on $node" ct_is_started_on "$vm" "$node" || return 1
    ct_crm cibadmin --delete -o constraints -X "<rsc_location id=\"ct-place-$vm\"/>" \
        >>"$CT_OUT/run.log" 2>&1
    ct_wait_ticking "$vm" "$node" "$t0" 90 || return 1
    ct_log "$vm started on $node (ticking)"
}

# ct_vms_start "VM NODE" ...: several at once (boots overlap)
ct_vms_start() {
    local p vm node t0 rc=0 pairs=("$@")
    t0=$(ct_now_ns)
    for p in "${pairs[@]}"; do
        read -r vm node <<<"$p"
        ct_crm cibadmin --create -o constraints \
            -X "<rsc_location id=\"ct-place-$vm\" rsc=\"$vm\" node=\"$node\" score=\"INFINITY\"/>" \
            >>"$CT_OUT/run.log" 2>&1 || return 1
        ct_crm crm_resource -r "$vm" --meta -p target-role -v Started >>"$CT_OUT/run.log" 2>&1 || return 1
    done
    for p in "${pairs[@]}"; do
        read -r vm node <<<"$p"
        ct_poll 120 0.2 "$vm Started on $node" ct_is_started_on "$vm" "$node" || rc=1
        ct_crm cibadmin --delete -o constraints -X "<rsc_location id=\"ct-place-$vm\"/>" \
            >>"$CT_OUT/run.log" 2>&1
    done
    for p in "${pairs[@]}"; do
        read -r vm node <<<"$p"
        ct_wait_ticking "$vm" "$node" "$t0" 90 || rc=1
    done
    return $rc
}

# ct_vm_ensure VM NODE [canary options]: VM defined and running (started
# on NODE if it is not running anywhere); for scenarios run alone
ct_vm_ensure() {
    local vm=$1 node=$2
    shift 2
    if [[ $(ct_rsc_state "$vm") == absent* ]]; then
        (($#)) || set -- --mem-mb 128 --wss-mb 8 --dirty-mbps 4
        ct_vm_define "$vm" "$@" || return 1
    fi
    [ "$(ct_where "$vm")" != - ] || ct_vm_start "$vm" "$node"
}

# ------------------------------------------------------------ moves ---

# ct_drain HOST "VM...": crm_standby HOST on; wait until every VM runs on
# another host (healthy), noting when each got there; record one move per
# VM (tool "standby": wall time from the standby command; link bytes are
# those of the whole drain). 1 if not all left within 240 s.
ct_drain() {
    local h=$1 vms=$2 t vm s left xml mig0 ring0 mig1 ring1 deadline
    local -A done_at=()
    mig0=$(_ct_veth_rx "$h" mig) ring0=$(_ct_veth_rx "$h" ring)
    t=$(ct_now_ns)
    ct_log "standby $h (running$(for vm in $vms; do [ "$(ct_where "$vm")" = "$h" ] && printf ' %s' "$vm"; done))"
    ct_crm crm_standby --node "$h" --update on >>"$CT_OUT/run.log" 2>&1
    deadline=$(($(ct_now_ms) + 240000))
    while :; do
        left=0
        xml=$(ct_mon_xml)
        for vm in $vms; do
            [ -n "${done_at[$vm]-}" ] && continue
            s=$(ct_rsc_state "$vm" "$xml")
            if [[ $s =~ ^Started\ (node[0-9])\ failed=false\ blocked=false\ managed=true\ pending=$ ]] &&
                [ "${BASH_REMATCH[1]}" != "$h" ]; then
                done_at[$vm]="$(ct_now_ns) ${BASH_REMATCH[1]}"
            else
                left=$((left + 1))
            fi
        done
        ((left == 0)) && break
        (($(ct_now_ms) >= deadline)) && break
        sleep 0.1
    done
    mig1=$(_ct_veth_rx "$h" mig) ring1=$(_ct_veth_rx "$h" ring)
    for vm in $vms; do
        [ -n "${done_at[$vm]-}" ] || continue
        set -- ${done_at[$vm]}
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$CT_SC" "$vm" "$h" "$2" standby \
            "$t" "$1" $((($1 - t) / 1000000)) $((mig1 - mig0)) $((ring1 - ring0)) >>"$CT_STATE/moves.raw"
    done
    ct_log "drain of $h: $([ $left = 0 ] && echo "every VM left" || echo "$left VM(s) still there"); it sent $(((mig1 - mig0) / 1048576)) MiB on mig, $(((ring1 - ring0) / 1048576)) MiB on ring"
    ((left == 0))
}

_ct_veth_rx() { # HOST ring|mig -> rx bytes of its root-side veth (= what the host sent)
    local v
    v=$(_lab_veth "$1" "$2") || { echo 0; return; }
    cat "/sys/class/net/$v/statistics/rx_bytes" 2>/dev/null || echo 0
}

# ct_move VM TARGET [crm_resource|crmsh]: move VM, time it from the command
# to "Started on TARGET" (crm_mon), clear the move constraint, record it.
ct_move() {
    local vm=$1 to=$2 tool=${3:-crm_resource} from t0 t1 m0 r0 m1 r1 rc=0
    from=$(ct_where "$vm")
    m0=$(_ct_veth_rx "$from" mig) r0=$(_ct_veth_rx "$from" ring)
    t0=$(ct_now_ns)
    if [ "$tool" = crmsh ]; then
        ct_crm resource move "$vm" "$to" >>"$CT_OUT/run.log" 2>&1 || rc=1
    else
        ct_crm crm_resource --move -r "$vm" -N "$to" >>"$CT_OUT/run.log" 2>&1 || rc=1
    fi
    if [ $rc = 0 ]; then
        ct_poll 150 0.05 "$vm Started on $to" ct_is_started_on "$vm" "$to" || rc=1
    fi
    t1=$(ct_now_ns)
    m1=$(_ct_veth_rx "$from" mig) r1=$(_ct_veth_rx "$from" ring)
    if [ "$tool" = crmsh ]; then
        ct_crm resource clear "$vm" >>"$CT_OUT/run.log" 2>&1
    else
        ct_crm crm_resource --clear -r "$vm" >>"$CT_OUT/run.log" 2>&1
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$CT_SC" "$vm" "$from" "$to" "$tool" \
        "$t0" "$t1" $(((t1 - t0) / 1000000)) $((m1 - m0)) $((r1 - r0)) >>"$CT_STATE/moves.raw"
    ct_log "move $vm $from -> $to ($tool): $([ $rc = 0 ] && echo "Started on $to after $(((t1 - t0) / 1000000)) ms" || echo FAILED)"
    return $rc
}

# --------------------------------------------------- pacemaker restart ---

# ct_pcmk_restart HOST: SIGTERM to HOST's pacemakerd (a clean stop), wait
# until the cluster no longer counts its controller, start it again, wait
# until HOST is online. Resources it runs must be unmanaged (or the node in
# maintenance) if they are to stay.
ct_pcmk_restart() {
    local h=$1 pid rc=0
    CT_AVOID_HOST=$h
    rm -f "$CT_STATE/live-host"
    if ! pid=$(lab_exec "$h" pgrep -x pacemakerd); then
        ct_log "no pacemakerd in $h"
        CT_AVOID_HOST=
        return 1
    fi
    ct_log "stopping pacemaker on $h (pacemakerd pid $pid in the host)"
    lab_exec "$h" kill -TERM "$pid"
    ct_poll 120 0.2 "pacemaker stopped on $h" _ct_pcmk_gone "$h" &&
        ct_poll 60 0.2 "$h offline or pending" _ct_node_gone "$h" || rc=1
    ct_log "starting pacemaker on $h"
    lab_start_pacemaker "$h" >>"$CT_OUT/run.log" 2>&1 || rc=1
    ct_poll 120 0.5 "$h online again" ct_nodes_online || rc=1
    CT_AVOID_HOST=
    return $rc
}
_ct_pcmk_gone() { ! lab_exec "$1" pgrep -x pacemakerd >/dev/null 2>&1; }
# the cluster no longer counts HOST's controller (offline, or "pending"
# when HOST was the DC: its corosync still runs)
_ct_node_gone() {
    local x
    x=$(ct_mon_xml) || return 1
    ! grep -Eq "<node name=\"$1\"[^>]* online=\"true\"[^>]* pending=\"false\"" <<<"$x" &&
        grep -q "<node name=\"$1\"" <<<"$x"
}

# ------------------------------------------------- faults in a move ---
# Shared by the fault scenarios (s5, s10, s11) and the soak campaign.

ct_next_host() { # HOST -> the next host after it
    case $1 in node1) echo node2 ;; node2) echo node3 ;; *) echo node1 ;; esac
}
# the migration of VM out of HOST has sent at least MIB MiB
ct_mig_sent_at_least() { # HOST VM MIB
    local v
    v=$(lab_exec "$1" timeout 10 virsh -q domjobinfo "$2" 2>/dev/null | awk '/^Data processed:/ {
        v = $3; u = $4; if (u == "KiB") v /= 1024; else if (u == "GiB") v *= 1024; else if (u == "B") v /= 1048576
        print int(v) }')
    [ -n "$v" ] && ((v >= $3))
}
ct_mig_job_active() { # HOST VM: a migration job of VM runs there
    lab_exec "$1" timeout 10 virsh -q domjobinfo "$2" 2>/dev/null | grep -Eq '^Job type: +(Unbounded|Bounded)'
}
ct_migrate_to_failed() { ct_failed_ops "$1" | grep -q "^$1_migrate_to_0 $2"; } # VM HOST
ct_started_healthy() { # VM: Started on one host, not failed, managed
    [[ $(ct_rsc_state "$1") =~ ^Started\ node[0-9]\ failed=false\ blocked=false\ managed=true\ pending=$ ]]
}
# HOST was fenced (powered off by the fence agent, labfenced's log) after TS_NS
ct_fenced_since() { # HOST TS_NS
    awk -v h="$1" -v t="$(($2 / 1000000000))" '$3 == "off" && $4 == h && $5 == "ok" && int($2) >= t {f = 1} END {exit !f}' \
        "$LAB_D/fence.log" 2>/dev/null
}
ct_fenced_back() { ct_fenced_since "$1" "$2" && ct_nodes_online; } # HOST TS_NS: and the cluster is whole
# a recurring monitor of VM on HOST was (re)started after TS_NS (CIB history)
ct_monitor_since() { # VM HOST TS_NS
    local x lrc
    x=$(ct_crm cibadmin -Q --xpath "//node_state[@uname='$2']//lrm_resource[@id='$1']/lrm_rsc_op[@operation='monitor'][@interval='10000']" 2>/dev/null) || return 1
    lrc=$(grep -o 'last-rc-change="[0-9]*"' <<<"$x" | head -1 | cut -d'"' -f2)
    [ -n "$lrc" ] && ((lrc >= $3 / 1000000000 - 1))
}
# the agent's exit reason of the last failed migrate_to of VM on HOST, as
# pacemaker's controller logged it (pacemaker 2.1.5 leaves the CIB's
# exit-reason of a failed migrate_to empty: crm_mon shows none)
ct_migrate_to_reason() { # VM HOST [WIDTH]
    grep -h "Result of migrate_to operation for $1 on $2: " "$LAB_D/$2/log/pacemaker/pacemaker.log" 2>/dev/null |
        tail -n 1 | sed -n "s/.*operation for $1 on [^:]*: \(.*\) | CIB update.*/\1/p" | cut -c1-"${3:-160}"
}

# --------------------------------------------------- the registry ---

# ct_reg_q HOST PYEXPR: PYEXPR evaluated over `vmhandoff status --json` on
# HOST (d: the document, vm(name): the VM's entry or None)
ct_reg_q() {
    lab_exec "$1" vmhandoff status --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
def vm(name):
    return next((v for v in d["vms"] if v["name"] == name), None)
print(eval(sys.argv[1]))' "$2" 2>/dev/null
}

# "state:owner:epoch" of VM as HOST's registry has it (owner "-": none)
ct_reg_owner() { ct_reg_q "$1" "(lambda v: v['state'] + ':' + ((v['owner'] or {}).get('name') or '-') + ':' + str(v['epoch']) if v else 'unknown')(vm('$2'))"; }

# HOST=state:owner:epoch for every host
ct_reg_all_owners() {
    local h
    for h in $CT_HOSTS; do printf '%s=%s ' "$h" "$(ct_reg_owner "$h" "$1")"; done
}

# ct_reg_agreed VM STATE:OWNER: every host's registry has VM so, with the
# same epoch
ct_reg_agreed() {
    local vm=$1 want=$2 h o first=
    for h in $CT_HOSTS; do
        o=$(ct_reg_owner "$h" "$vm")
        [ "${o%:*}" = "$want" ] || return 1
        [ -z "$first" ] && first=$o
        [ "$o" = "$first" ] || return 1
    done
}

# vmhandoffd's log of HOST: its size, and whether it matches ERE past BYTES
ct_helper_log_size() { stat -c %s "$LAB_D/$1/log/vmhandoffd.out" 2>/dev/null || echo 0; }
ct_helper_log_since() { # HOST BYTES ERE
    tail -c +"$(($2 + 1))" "$LAB_D/$1/log/vmhandoffd.out" 2>/dev/null | grep -E -q "$3"
}
ct_helper_log_tail() { # HOST BYTES [ERE]: what was logged past BYTES (last 5 lines)
    tail -c +"$(($2 + 1))" "$LAB_D/$1/log/vmhandoffd.out" 2>/dev/null | grep -E "${3:-.}" | tail -5
}

# libvirt's state word of VM on HOST ("" if none)
ct_dom_state() { lab_exec "$1" virsh -q domstate "$2" 2>/dev/null | head -1 | tr -d ' ' || true; }
ct_dom_is() { [ "$(ct_dom_state "$1" "$2")" = "$3" ]; }

# ------------------------------------------------------- invariants ---

# ct_inv NAME SINCE_NS [invariants options]: the checker over
# [SINCE, now] of every observer log; report in inv/NAME.txt|.json
ct_inv() {
    local name=$1 since=$2 until rc
    shift 2
    ct_wait_guests_up "$since"
    until=$(ct_now_ns)
    python3 "$CT_INVARIANTS" --since "$since" --until "$until" --json "$CT_OUT/inv/$name.json" \
        "$@" "$CT_OBS" >"$CT_OUT/inv/$name.txt" 2>&1
    rc=$?
    ct_log "invariants $name: $(tail -n 1 "$CT_OUT/inv/$name.txt")"
    return $rc
}
# A guest (re)started since SINCE_NS is judged by the checker only once it
# runs: its canary says "boot" and ticks some seconds after libvirt's
# STARTED (SeaBIOS first). Wait (bounded) until every VM pacemaker runs has
# ticked on its host after its last STARTED there, so that a restart is
# never judged before the guest can testify to it.
ct_wait_guests_up() {
    local since=$1 vm h st xml
    xml=$(ct_mon_xml) || return 0
    for vm in $(grep -o '<resource id="vm[^"]*"' <<<"$xml" | cut -d'"' -f2 | sort -u); do
        h=$(ct_where "$vm")
        [[ $h == node[0-9] ]] || continue
        st=$(ct_lv_events "$vm" "$h" "$since" '^STARTED BOOTED' | tail -n 1 | cut -d' ' -f1)
        [ -n "$st" ] || continue
        ct_wait_ticking "$vm" "$h" "$st" 90 || ct_log "$vm: no tick on $h since its start at $st"
    done
    return 0
}

# ct_inv_check TEXT NAME SINCE [options]: ct_inv as a TAP line
ct_inv_check() {
    local text=$1 name=$2 since=$3
    shift 3
    if ct_inv "$name" "$since" "$@"; then
        ct_ok "$text (invariants: $(tail -n 1 "$CT_OUT/inv/$name.txt" | sed 's/^RESULT: //'))"
        return 0
    fi
    ct_fail "$text (invariants)" "report: $CT_OUT/inv/$name.txt" \
        "$(sed -n '/^== violations/,/^== warnings/p' "$CT_OUT/inv/$name.txt" | grep -v '^==' | head -8)"
    return 1
}

# ct_inv_query NAME PYTHON-EXPR: evaluate EXPR over the json report (r)
ct_inv_query() {
    python3 -c '
import json, sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[3])
from ct_report_lib import seq_step, seq_ok
r = json.load(open(sys.argv[1]))
migs = [m for v in r["vms"].values() for m in v["migrations"]]
for m in migs:  # host labels "node2~2" (a later boot of node2) -> "node2"
    m["src"], m["dst"] = m["src"].split("~")[0], m["dst"].split("~")[0]
print(eval(sys.argv[2]))' "$CT_OUT/inv/$1.json" "$2" "$CT_LIB_DIR"
}

# ct_live_moves NAME VM: "LIVE TOTAL" of VM's moves in the report NAME,
# LIVE = the target resumed a migrated copy (libvirt: RESUMED MIGRATED)
# and the guest's ticks went on consecutively (see seq_ok in ct_inv_query).
# (Not the checker's "kind": it calls a move a restart when the target
# host saw any reboot of the VM within 30 s, even an earlier, allowed one.)
# The migrated copy resumes as "RESUMED MIGRATED" when libvirt resumes it
# (heartbeat's agent, registry=false) and as "RESUMED UNPAUSED" when
# vmhandoffd resumes it on the commit (the migration ran with
# VIR_MIGRATE_PAUSED); either way the consecutive ticks prove it is the
# same running guest.
ct_live_moves() {
    ct_inv_query "$1" '"%d %d" % (len([m for m in migs if m["vm"] == "'"$2"'" and m["dst_resume_event"] in ("RESUMED MIGRATED", "RESUMED UNPAUSED") and seq_ok(m)]), len([m for m in migs if m["vm"] == "'"$2"'"]))'
}

# the VMs defined (resources vm*), from crm_mon
ct_vms() {
    ct_mon_xml | grep -o '<resource id="vm[^"]*"' | cut -d'"' -f2 | sort -u | tr '\n' ' '
}
# every VM Started on one host, healthy
ct_all_started() {
    local vm xml s
    xml=$(ct_mon_xml) || return 1
    for vm in $(grep -o '<resource id="vm[^"]*"' <<<"$xml" | cut -d'"' -f2 | sort -u); do
        s=$(ct_rsc_state "$vm" "$xml")
        [[ $s =~ ^Started\ node[0-9]\ failed=false\ blocked=false\ managed=true\ pending=$ ]] || return 1
    done
}

# ------------------------------------------------------------ facts ---

# lvwatch events of VM on HOST since TS_NS matching an ERE on "EVENT DETAIL"
ct_lv_events() { # VM HOST SINCE_NS ERE
    # shellcheck disable=SC2046  # (log file names have no blanks)
    awk -v vm="$1" -v t="$3" -v re="$4" '$1 >= t && $3 == vm && ($4 " " $5) ~ re' \
        $(ct_obs_files lvwatch "$2") /dev/null 2>/dev/null
}
# pacemaker's failed actions of VM, one per line "op node rc"
ct_failed_ops() {
    ct_mon_xml | awk -v vm="$1" '/<failure / && $0 ~ "op_key=\"" vm "_" {
        match($0, /op_key="[^"]*"/); k = substr($0, RSTART + 8, RLENGTH - 9)
        match($0, /node="[^"]*"/); n = substr($0, RSTART + 6, RLENGTH - 7)
        match($0, /exitreason="[^"]*"/); e = substr($0, RSTART + 12, RLENGTH - 13)
        print k, n, e }'
}

# put the cluster back into a known state between scenarios: every host
# on, all online, no standby/maintenance, no ct-/cli- constraints, no
# failures, observers running, nothing pending
ct_reset() {
    local h c
    for h in $CT_HOSTS; do
        if ! _lab_pidfile_alive "$LAB_D/$h/init.pid" >/dev/null; then
            ct_log "reset: $h is off: powering it on"
            LAB_QUIET=1 lab_poweron "$h" >>"$CT_OUT/run.log" 2>&1
        fi
    done
    ct_poll 180 0.5 "all nodes online" ct_nodes_online || return 1
    for h in $CT_HOSTS; do
        ct_crm crm_attribute -N "$h" -n standby -D >/dev/null 2>&1
        ct_crm crm_attribute -N "$h" -n maintenance -D >/dev/null 2>&1
    done
    for c in $(ct_crm cibadmin -Q -o constraints 2>/dev/null | grep -o 'id="\(cli\|ct\)-[^"]*"' | cut -d'"' -f2); do
        ct_crm cibadmin --delete -o constraints -X "<rsc_location id=\"$c\"/>" >/dev/null 2>&1
    done
    ct_crm crm_resource --cleanup >/dev/null 2>&1
    ct_obs_wait || return 1
    ct_settle 120
}
