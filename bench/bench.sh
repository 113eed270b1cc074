#!/bin/bash
# bench.sh: `make bench`. Three contenders in the same run, on the same
# 3-host lab (cluster-tests/lab), the same canary guest and the same
# dedicated migration link:
#   raw        virsh migrate --live --p2p of a domain pacemaker does not know
#   heartbeat  ocf:heartbeat:VirtualDomain (Debian's resource-agents)
#   vmhandoff  ocf:vmhandoff:VirtualDomain, registry=true, vmhandoffd running
# Parts (BENCH_PARTS, in this order):
#   moves    activation gap, guest downtime, move wall time: BENCH_MOVES
#            moves per contender, round robin, idle BENCH_VM_MEM_MB guests
#   idle     vmhandoffd's RSS and CPU while nothing happens (BENCH_IDLE_S)
#   monitor  ms per monitor call with 1 and BENCH_MON_DOMS domains defined
#   drain    crm_standby of a host with BENCH_DRAIN_VMS guests, for each
#            migration-limit in BENCH_DRAIN_LIMITS, heartbeat vs vmhandoff
#   link     the migration link shaped to each of BENCH_LINK_RATES (tbf),
#            BENCH_LINK_MEM_MB guests dirtying a BENCH_LINK_WSS_MB working
#            set at BENCH_LINK_DIRTY_MBPS: throughput vs the shaped rate
# Then the report: bench/results/latest.md and bench/results/STAMP/
# (report.md, PNG plots, the data). See bench/README.md.
#
# Environment (defaults): BENCH_LAB_ID (6), BENCH_MOVES (30), BENCH_VM_MEM_MB
# (1024), BENCH_MON_RUNS (30), BENCH_MON_DOMS (50), BENCH_IDLE_S (180),
# BENCH_LINK_RATES ("1gbit 5gbit"), BENCH_LINK_MOVES (3), BENCH_LINK_MEM_MB
# (4096), BENCH_LINK_WSS_MB (1024), BENCH_LINK_DIRTY_MBPS (16),
# BENCH_DRAIN_VMS (8), BENCH_DRAIN_MEM_MB (512), BENCH_DRAIN_LIMITS ("1 4"),
# BENCH_PARTS ("moves idle monitor drain link"), BENCH_BUDGET_S (1680: moves stop
# after 20 rounds and link parts are skipped, with a note in the report,
# when the rest would not fit any more), BENCH_RESULTS
# (bench/results), BENCH_KEEP=1 (leave the lab up at the end).
set -u
here=$(cd "$(dirname "$0")" && pwd)
export LAB_ID=${BENCH_LAB_ID:-6}
unset LAB_DIR
CT_AGENT=vmhandoff
# shellcheck source=../cluster-tests/lib/ct.sh
. "$here/../cluster-tests/lib/ct.sh"

MOVES=${BENCH_MOVES:-30}
VM_MEM=${BENCH_VM_MEM_MB:-1024}
MON_RUNS=${BENCH_MON_RUNS:-30}
MON_DOMS=${BENCH_MON_DOMS:-50}
IDLE_S=${BENCH_IDLE_S:-180}
DRAIN_VMS=${BENCH_DRAIN_VMS:-8}
DRAIN_MEM=${BENCH_DRAIN_MEM_MB:-512}
DRAIN_LIMITS=${BENCH_DRAIN_LIMITS:-"1 4"}
LINK_RATES=${BENCH_LINK_RATES:-"1gbit 5gbit"}
LINK_MOVES=${BENCH_LINK_MOVES:-3}
LINK_MEM=${BENCH_LINK_MEM_MB:-4096}
LINK_WSS=${BENCH_LINK_WSS_MB:-1024}
LINK_DIRTY=${BENCH_LINK_DIRTY_MBPS:-16}
PARTS=${BENCH_PARTS:-"moves idle monitor drain link"}
BUDGET=${BENCH_BUDGET_S:-1680}
RESULTS=${BENCH_RESULTS:-$CT_REPO/bench/results}
CT_KEEP=${BENCH_KEEP:-0}
CT_VERBOSE=${CT_VERBOSE:-1}
INHOST=$here/lib/inhost.sh
SAMPLER=$here/lib/sample.py
HOSTS=(node1 node2 node3)

for v in MOVES VM_MEM MON_RUNS MON_DOMS IDLE_S DRAIN_VMS DRAIN_MEM LINK_MOVES LINK_MEM LINK_WSS LINK_DIRTY BUDGET; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "bench: BENCH_$v must be a number (is '${!v}')" >&2; exit 2; }
done
((MON_DOMS >= 1 && MON_DOMS <= 500)) || { echo "bench: BENCH_MON_DOMS must be 1..500" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench: needs root (network, mount and pid namespaces)" >&2; exit 1; }
for f in "$CT_COLLECT" "$CT_LVWATCH" "$CT_REPO/build/canary/canary.elf" "$CT_REPO/build/agent/vmhandoff-ra" \
    "$CT_REPO/build/helper/vmhandoffd" /usr/lib/ocf/resource.d/heartbeat/VirtualDomain; do
    [ -e "$f" ] || { echo "bench: $f is missing (make all; make deps)" >&2; exit 1; }
done
command -v gnuplot >/dev/null || echo "bench: NOTE: no gnuplot (make deps installs gnuplot-nox): the report will have no plots" >&2

out=$CT_REPO/build/bench
stamp=$(date +%Y%m%d-%H%M%S)
ct_begin "$out" || exit 1
# A private copy of every binary of this tree the run uses: the lab's hosts
# run the agent, vmhandoffd and the CLI from it, the guests boot its
# canary kernel, the observers are its collectors. A `make` in the tree
# while the bench runs (a shared working tree) then changes nothing here:
# seen once, the agent relinked under a running drain made a migrate_from
# fail with "Child process was unable to execute file".
snap=$(mktemp -d /var/tmp/vmh-bench-bin.XXXXXX) || exit 1
# (mktemp makes it 0700; pacemaker-controld runs the agent's meta-data as
# hacluster: "Failed to get metadata ...: Invalid argument" otherwise)
chmod 755 "$snap"
trap 'ct_teardown; rm -rf "$snap"' EXIT
# the agent as the lab installs it by default (a front that execs the
# full agent next to itself, or the full agent) and every executable next
# to it in build/agent/
agent_default=$LAB_AGENT
for f in "$(dirname "$agent_default")"/*; do
    [ -f "$f" ] && [ -x "$f" ] && { cp -p "$f" "$snap/" || exit 1; }
done
[ -x "$snap/$(basename "$agent_default")" ] || { echo "bench: no agent $agent_default (make all)" >&2; exit 1; }
for f in helper/vmhandoffd cli/vmhandoff canary/canary.elf canary/canary-collect tools/lvwatch; do
    cp -p "$CT_REPO/build/$f" "$snap/" || { echo "bench: cannot copy build/$f" >&2; exit 1; }
done
export VMH_AGENT=$snap/$(basename "$agent_default") VMH_HELPER=$snap/vmhandoffd VMH_CLI=$snap/vmhandoff
export CANARY_KERNEL=$snap/canary.elf
CT_COLLECT=$snap/canary-collect CT_LVWATCH=$snap/lvwatch
data=$out/data
rm -rf "$data"
mkdir -p "$data"
t_run=$(ct_now_ns)
CT_SC=bench

say() { echo "== $(date +%T) $*" >&2; ct_log "$*"; }
# an anomaly: into the report, as it happened
note() { echo "$*" >>"$data/notes.txt"; ct_log "NOTE: $*"; echo "bench: NOTE: $*" >&2; }
die() { note "aborted: $*"; finish 1; }

has_part() { [[ " $PARTS " == *" $1 "* ]]; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# the machine's 1-min load average at the start and end of each part
load_mark() { info_add "load_$1" "$(load1)"; }
# 0 if NEEDED more seconds would overrun the run's time budget
over_budget() { (($(ct_now_ns) / 1000000000 + $1 > t_run / 1000000000 + BUDGET)); }
# rough seconds the parts after the moves still need here
rest_estimate() {
    local n=60 l
    has_part idle && n=$((n + IDLE_S))
    has_part monitor && n=$((n + 90))
    has_part drain && for l in $DRAIN_LIMITS; do n=$((n + 140)); done
    echo "$n"
}

# ------------------------------------------------------------- facts ---

machine_info() {
    local f=$data/info.tsv
    {
        printf 'key\tvalue\n'
        printf 'stamp\t%s\n' "$stamp"
        printf 'date\t%s\n' "$(date -Is)"
        printf 'nproc\t%s\n' "$(nproc)"
        printf 'cpu\t%s\n' "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
        printf 'kernel\t%s\n' "$(uname -sr)"
        printf 'mem_total\t%s\n' "$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
        printf 'loadavg_start\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
        printf 'kvm\t%s\n' "$([ -w /dev/kvm ] && echo yes || echo "no (TCG)")"
        printf 'libvirt\t%s\n' "$(dpkg-query -W -f='${Version}' libvirt-daemon 2>/dev/null)"
        printf 'qemu\t%s\n' "$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null)"
        printf 'pacemaker\t%s\n' "$(dpkg-query -W -f='${Version}' pacemaker 2>/dev/null)"
        printf 'corosync\t%s\n' "$(dpkg-query -W -f='${Version}' corosync 2>/dev/null)"
        printf 'resource-agents\t%s\n' "$(dpkg-query -W -f='${Version}' resource-agents 2>/dev/null)"
        printf 'gnuplot\t%s\n' "$(dpkg-query -W -f='${Version}' gnuplot-nox 2>/dev/null)"
        printf 'vmhandoff\t%s\n' "$(git -C "$CT_REPO" describe --always --dirty 2>/dev/null || echo unknown)"
        printf 'agent_installed\t%s\n' "build/agent/$(basename "$VMH_AGENT")"
        printf 'agent_sha256\t%s\n' "$(sha256sum "$VMH_AGENT" | cut -c1-16)"
        [ -e "$snap/vmhandoff-ra" ] && [ "$VMH_AGENT" != "$snap/vmhandoff-ra" ] &&
            printf 'full_agent_sha256\t%s\n' "$(sha256sum "$snap/vmhandoff-ra" | cut -c1-16)"
        printf 'helper_sha256\t%s\n' "$(sha256sum "$snap/vmhandoffd" | cut -c1-16)"
        printf 'lab\t%s\n' "$LAB_ID"
        printf 'moves\t%s\n' "$MOVES"
        printf 'vm_mem_mb\t%s\n' "$VM_MEM"
        printf 'mon_runs\t%s\n' "$MON_RUNS"
        printf 'mon_doms\t%s\n' "$MON_DOMS"
        printf 'idle_s\t%s\n' "$IDLE_S"
        printf 'drain_vms\t%s\n' "$DRAIN_VMS"
        printf 'drain_mem_mb\t%s\n' "$DRAIN_MEM"
        printf 'drain_limits\t%s\n' "$DRAIN_LIMITS"
        printf 'link_rates\t%s\n' "$LINK_RATES"
        printf 'link_moves\t%s\n' "$LINK_MOVES"
        printf 'link_mem_mb\t%s\n' "$LINK_MEM"
        printf 'link_wss_mb\t%s\n' "$LINK_WSS"
        printf 'link_dirty_mbps\t%s\n' "$LINK_DIRTY"
        printf 'parts\t%s\n' "$PARTS"
    } >"$f"
}
info_add() { printf '%s\t%s\n' "$1" "$2" >>"$data/info.tsv"; }

# ------------------------------------------------------------- the VMs ---

# bench_define VM raw|heartbeat|vmhandoff MEM_MB: the canary's XML under
# $LAB_D/vms (visible in every host); for an agent, the pacemaker resource
# (stopped), with the harness's parameters (cluster-tests/lib/ct.sh,
# ct_vm_crm_args, the RECIPES.md settings); ours says registry=true.
bench_define() {
    local vm=$1 agent=$2 mem=$3 tcg=() extra=""
    [ "$CT_ACCEL" = tcg ] && tcg=(--tcg)
    # shellcheck disable=SC2086
    "$CT_CANARY_DOMAIN" "$vm" "${tcg[@]}" --mem-mb "$mem" ${CANARY_OPTS-} >"$LAB_D/vms/$vm.xml" || return 1
    [ "$agent" = raw ] && return 0
    [ "$agent" = vmhandoff ] && extra="registry=true"
    # shellcheck disable=SC2086
    ct_crm configure primitive "$vm" "ocf:$agent:VirtualDomain" \
        params config="$LAB_D/vms/$vm.xml" hypervisor=qemu:///system \
        migration_transport=tcp migration_network_suffix=-mig force_stop=true $extra \
        meta allow-migrate=true target-role=Stopped \
        op monitor interval=10s timeout=30s op migrate_to timeout=120s on-fail=block \
        op migrate_from timeout=60s op start timeout=90s op stop timeout=90s \
        >>"$CT_OUT/run.log" 2>&1
}

bench_stop_rsc() { # VM...: target-role=Stopped, wait until stopped
    local vm rc=0
    for vm in "$@"; do
        ct_crm crm_resource -r "$vm" --meta -p target-role -v Stopped >>"$CT_OUT/run.log" 2>&1 || rc=1
    done
    for vm in "$@"; do
        ct_poll 120 0.3 "$vm stopped" ct_is_stopped "$vm" || rc=1
    done
    return $rc
}

# the domain names libvirt has on HOST (running or defined)
bench_domains() { lab_exec "$1" virsh -q -c qemu:///system list --all --name 2>/dev/null | grep -c .; }

# ------------------------------------------------------ footprint ---

# "LABEL=PID" of the daemons of HOST (root-namespace pids, from the host's
# network namespace; only processes of this lab)
bench_daemon_pids() {
    local h p comm
    for h in "$@"; do
        for p in $(ip netns pids "$LAB_NSP$h" 2>/dev/null); do
            comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
            case $comm in
            vmhandoffd | pacemaker-exec* | libvirtd | corosync) echo "$h:$comm=$p" ;;
            esac
        done
    done
}
SAMPLER_PID=
sampler_start() { # FILE INTERVAL
    # shellcheck disable=SC2046
    python3 "$SAMPLER" --out "$1" --interval "$2" $(bench_daemon_pids "${HOSTS[@]}") \
        </dev/null >>"$CT_OUT/run.log" 2>&1 &
    SAMPLER_PID=$!
    CT_BG_PIDS+=("$SAMPLER_PID")
}
sampler_stop() {
    [ -n "$SAMPLER_PID" ] || return 0
    kill -TERM "$SAMPLER_PID" 2>/dev/null
    wait "$SAMPLER_PID" 2>/dev/null
    SAMPLER_PID=
}

# --------------------------------------------------------------- moves ---

declare -A LOC=()         # contender -> host its guest runs on (moves, idle, monitor)
declare -A VMOF=([raw]=vmraw [heartbeat]=vmhb [vmhandoff]=vmvh)
declare -A LLOC=()        # the same for the guests of the shaped link
declare -A LVMOF=([raw]=vmlraw [heartbeat]=vmlhb [vmhandoff]=vmlvh)
next_host() { # HOST -> the next one in node1 -> node2 -> node3 -> node1
    case $1 in node1) echo node2 ;; node2) echo node3 ;; *) echo node1 ;; esac
}

# move_one C R FILE LOCVAR VMVAR: one move of contender C's guest (VMVAR:
# the name of the array contender -> VM; LOCVAR: contender -> host), round
# R, to the next host; a line into FILE
move_one() {
    local c=$1 r=$2 file=$3 from to line t0 t1 st m0 r0 m1 r1 h
    local -n _loc=$4 _vmof=$5
    local vm=${_vmof[$c]}
    from=${_loc[$c]} to=$(next_host "${_loc[$c]}")
    m0=$(_ct_veth_rx "$from" mig) r0=$(_ct_veth_rx "$from" ring)
    if [ "$c" = raw ]; then
        line=$(lab_exec "$from" timeout -k 5 200 bash "$INHOST" virsh-move "$vm" "qemu+tcp://$to-mig/system")
    else
        h=$(ct_live_host)
        line=$(lab_exec "$h" timeout -k 5 200 bash "$INHOST" pcmk-move "$vm" "$to" 150 0.05)
    fi
    m1=$(_ct_veth_rx "$from" mig) r1=$(_ct_veth_rx "$from" ring)
    read -r t0 t1 st _ <<<"$line"
    [[ ${t0-} =~ ^[0-9]+$ && ${t1-} =~ ^[0-9]+$ ]] || { t0=0 t1=0 st="no-answer"; }
    printf '%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%d\n' "${MOVE_TAG:-idle}" "$c" "$vm" "$r" "$from" "$to" \
        "$t0" "$t1" $(((t1 - t0) / 1000)) "$st" $((m1 - m0)) $((r1 - r0)) >>"$file"
    ct_log "move $c $vm $from -> $to: $st $(((t1 - t0) / 1000000)) ms"
    if [ "$c" != raw ]; then
        ct_crm crm_resource --clear -r "$vm" >>"$CT_OUT/run.log" 2>&1
    fi
    if [ "$st" = ok ]; then
        _loc[$c]=$to
    else
        if [ "$c" = raw ]; then
            note "move $r of raw ($vm $from -> $to) failed: ${line#* * }"
            for h in "${HOSTS[@]}"; do
                [ "$(lab_exec "$h" virsh -q -c qemu:///system domstate "$vm" 2>/dev/null)" = running ] && _loc[$c]=$h
            done
        else
            note "move $r of $c ($vm $from -> $to) ended '$st': crm_mon says '$(ct_rsc_state "$vm")'; failed ops: $(ct_failed_ops "$vm" | tr '\n' ';')"
            bench_pcmk_errors "$t0" "$vm"
            ct_crm crm_resource --cleanup -r "$vm" >>"$CT_OUT/run.log" 2>&1
            ct_settle 120
            h=$(ct_where "$vm")
            [[ $h == node[0-9] ]] && _loc[$c]=$h
        fi
    fi
    # the next measurement starts with the cluster idle (not timed)
    [ "$c" = raw ] || ct_settle 120
}

# the three guests of the moves (and of idle and monitor), on node1
setup_move_vms() {
    local t
    [ "${#LOC[@]}" = 3 ] && return 0
    say "3 idle ${VM_MEM} MiB canaries on node1 (vmraw: not in pacemaker; vmhb: heartbeat; vmvh: vmhandoff)"
    bench_define vmraw raw "$VM_MEM" && bench_define vmhb heartbeat "$VM_MEM" &&
        bench_define vmvh vmhandoff "$VM_MEM" || die "could not define the VMs"
    t=$(ct_now_ns)
    lab_exec node1 virsh -q -c qemu:///system create "$LAB_D/vms/vmraw.xml" >>"$CT_OUT/run.log" 2>&1 ||
        die "virsh create vmraw on node1 failed"
    ct_vms_start "vmhb node1" "vmvh node1" || die "vmhb/vmvh did not start: $(ct_rsc_state vmhb); $(ct_rsc_state vmvh)"
    ct_wait_ticking vmraw node1 "$t" 90 || die "vmraw does not tick on node1"
    LOC=([raw]=node1 [heartbeat]=node1 [vmhandoff]=node1)
    ct_settle 120
}

move_header() {
    printf 'set\tcontender\tvm\tround\tfrom\tto\tt0_ns\tt1_ns\twall_us\tstatus\tmig_bytes\tring_bytes\n' >"$1"
}

phase_moves() {
    local r c i order
    setup_move_vms
    say "moves: $MOVES moves per contender, round robin"
    move_header "$data/moves.tsv"
    local cs=(raw heartbeat vmhandoff)
    T_MOVES0=$(ct_now_ns)
    for ((r = 1; r <= MOVES; r++)); do
        # the order rotates every round: no contender always follows the same one
        order=()
        for ((i = 0; i < 3; i++)); do order+=("${cs[$(((i + r) % 3))]}"); done
        for c in "${order[@]}"; do move_one "$c" "$r" "$data/moves.tsv" LOC VMOF; done
        ((r % 5 == 0)) && say "moves: round $r of $MOVES done"
        if ((r >= 20 && r < MOVES)) && over_budget "$(rest_estimate)"; then
            note "time budget (BENCH_BUDGET_S=$BUDGET): the moves stopped after $r rounds of $MOVES"
            break
        fi
    done
    ct_settle 120
    say "moves: invariant checker over the moves"
    ct_inv moves "$T_MOVES0" || note "invariant checker over the moves: $(tail -n 1 "$CT_OUT/inv/moves.txt")"
    python3 "$here/report.py" join-moves --moves "$data/moves.tsv" --inv "$CT_OUT/inv/moves.json" \
        --out "$data/moves-joined.tsv" >>"$CT_OUT/run.log" 2>&1 || note "join of the moves failed (see run.log)"
    cp "$CT_OUT/inv/moves.txt" "$data/inv-moves.txt" 2>/dev/null
}

# ---------------------------------------------------------------- idle ---

phase_idle() {
    local h doms=""
    setup_move_vms
    say "idle: vmhandoffd's RSS and CPU for ${IDLE_S}s, nothing moving (the running VMs are monitored every 10 s)"
    for h in "${HOSTS[@]}"; do
        doms+=" $h: $(lab_exec "$h" virsh -q list --name 2>/dev/null | grep . | tr '\n' ' ')"
    done
    info_add idle_vms "$doms"
    # shellcheck disable=SC2046
    python3 "$SAMPLER" --out "$data/footprint-idle.tsv" --interval 5 --duration "$IDLE_S" \
        $(bench_daemon_pids "${HOSTS[@]}") >>"$CT_OUT/run.log" 2>&1 || note "idle sampler failed"
}

# ------------------------------------------------------------- monitor ---

# the environment pacemaker-execd gives the agent for a recurring monitor
# of the resource (the resource's parameters as in the CIB)
mon_env() { # AGENT VARIANT VM
    local agent=$1 variant=$2 vm=$3
    echo "PATH=$LAB_PATH OCF_ROOT=/usr/lib/ocf HA_RSCTMP=/run/resource-agents" \
        "OCF_RA_VERSION_MAJOR=1 OCF_RA_VERSION_MINOR=1 OCF_RESOURCE_INSTANCE=$vm" \
        "OCF_RESOURCE_TYPE=VirtualDomain OCF_RESOURCE_PROVIDER=$agent" \
        "OCF_RESKEY_config=$LAB_D/vms/$vm.xml OCF_RESKEY_hypervisor=qemu:///system" \
        "OCF_RESKEY_migration_transport=tcp OCF_RESKEY_migration_network_suffix=-mig" \
        "OCF_RESKEY_force_stop=true OCF_RESKEY_CRM_meta_name=monitor" \
        "OCF_RESKEY_CRM_meta_interval=10000 OCF_RESKEY_CRM_meta_timeout=30000"
    [ "$agent" = vmhandoff ] && echo "OCF_RESKEY_registry=true"
    [ "$variant" = utiloff ] && echo "OCF_RESKEY_autoset_utilization_cpu=false" \
        "OCF_RESKEY_autoset_utilization_hv_memory=false OCF_RESKEY_autoset_utilization_host_memory=false"
}

mon_measure() { # HOST NDOMS VARIANT CONTENDER VM RUNS
    local h=$1 nd=$2 variant=$3 c=$4 vm=$5 runs=$6 res
    local -a cmd
    # shellcheck disable=SC2046
    case $c in
    raw) cmd=(env -i "PATH=$LAB_PATH" virsh -q -c qemu:///system domstate "$vm") ;;
    *) cmd=(env -i $(mon_env "$c" "$variant" "$vm") "/usr/lib/ocf/resource.d/$c/VirtualDomain" monitor) ;;
    esac
    res=$(lab_exec "$h" bash "$INHOST" loop "$runs" "${cmd[@]}")
    if [[ $res == *FAIL* ]]; then
        note "monitor of $c ($variant, $nd domains) failed: ${res##*$'\n'}"
        return 1
    fi
    awk -v c="$c" -v v="$variant" -v n="$nd" '{print c "\t" v "\t" n "\t" $1}' <<<"$res" >>"$data/monitor.tsv"
}

# the MON_DOMS-1 extra domains (shut off) on HOST: define | undefine, in
# one virsh session (one process, one connection: a second or two)
mon_extra() { # define|undefine HOST
    local i
    for ((i = 1; i < MON_DOMS; i++)); do
        if [ "$1" = define ]; then
            echo "define $LAB_D/vms/bmdef/$i.xml"
        else
            printf 'undefine bmdef%03d\n' "$i"
        fi
    done | lab_exec "$2" virsh -q -c qemu:///system >/dev/null 2>&1
}

phase_monitor() {
    local h nd variant c b blocks=3 per vm=vmvh i
    setup_move_vms
    h=$(ct_where vmvh)
    [[ $h == node[0-9] ]] || { note "monitor: vmvh does not run anywhere: skipped"; return 1; }
    say "monitor: one running domain (vmvh) on $h: the other guests go away first"
    [[ $(ct_rsc_state vmhb) == absent* ]] || bench_stop_rsc vmhb
    for i in "${HOSTS[@]}"; do
        lab_exec "$i" virsh -q -c qemu:///system destroy vmraw >/dev/null 2>&1
    done
    ct_settle 60
    mkdir -p "$LAB_D/vms/bmdef"
    for ((i = 1; i < MON_DOMS; i++)); do
        "$CT_CANARY_DOMAIN" "$(printf 'bmdef%03d' "$i")" --mem-mb 64 >"$LAB_D/vms/bmdef/$i.xml" || {
            note "monitor: canary-domain bmdef$i failed"
            return 1
        }
    done
    ((MON_RUNS < blocks)) && blocks=1
    per=$(((MON_RUNS + blocks - 1) / blocks))
    local nds=(1)
    ((MON_DOMS > 1)) && nds+=("$MON_DOMS")
    printf 'contender\tvariant\tdomains\tus\n' >"$data/monitor.tsv"
    say "monitor: $MON_RUNS calls per contender and figure, in $blocks blocks of $per; every block: 1 domain, then $MON_DOMS"
    # every block measures both domain counts (the extra domains are
    # defined and undefined again in between): the machine's load drifts
    for ((b = 0; b < blocks; b++)); do
        for nd in "${nds[@]}"; do
            ((nd > 1)) && mon_extra define "$h"
            ((b == 0)) && info_add "monitor_domains_$nd" "$(bench_domains "$h") defined on $h, $(lab_exec "$h" virsh -q list --name | grep -c .) running"
            for variant in configured utiloff; do
                for c in vmhandoff heartbeat raw; do
                    [ "$c" = raw ] && [ "$variant" = utiloff ] && continue
                    mon_measure "$h" "$nd" "$variant" "$c" "$vm" "$per" || break 3
                done
            done
            ((nd > 1)) && mon_extra undefine "$h"
        done
        say "monitor: block $((b + 1)) of $blocks done"
    done
    ((MON_DOMS > 1)) && mon_extra undefine "$h"
    [ "$(bench_domains "$h")" = 1 ] || note "monitor: $(bench_domains "$h") domains left on $h afterwards"
}

# ---------------------------------------------------------------- link ---

# Metric 5: the migration link shaped (tbf, both ends of every host's mig
# link) to each rate of LINK_RATES; a LINK_MEM_MB guest with a working set
# of LINK_WSS_MB it keeps dirtying at LINK_DIRTY MiB/s (far below the link
# rate: it converges); LINK_MOVES moves per contender and rate, round robin
phase_link() {
    local rate r c i t order h cs=(raw heartbeat vmhandoff)
    if over_budget $((LINK_MOVES * 3 * 20 + 120)); then
        note "time budget (BENCH_BUDGET_S=$BUDGET): the shaped-link part was skipped"
        return 0
    fi
    say "link: 3 guests of $LINK_MEM MiB (working set $LINK_WSS MiB dirtied at $LINK_DIRTY MiB/s) on node1"
    for vm in vmhb vmvh; do
        [[ $(ct_rsc_state "$vm") == absent* ]] || bench_stop_rsc "$vm"
    done
    for h in "${HOSTS[@]}"; do
        lab_exec "$h" virsh -q -c qemu:///system destroy vmraw >/dev/null 2>&1
    done
    local opts=(--mem-mb "$LINK_MEM" --wss-mb "$LINK_WSS" --dirty-mbps "$LINK_DIRTY")
    CANARY_OPTS="${opts[*]}" bench_define vmlraw raw "$LINK_MEM" &&
        CANARY_OPTS="${opts[*]}" bench_define vmlhb heartbeat "$LINK_MEM" &&
        CANARY_OPTS="${opts[*]}" bench_define vmlvh vmhandoff "$LINK_MEM" || { note "link: could not define the guests"; return 1; }
    t=$(ct_now_ns)
    lab_exec node1 virsh -q -c qemu:///system create "$LAB_D/vms/vmlraw.xml" >>"$CT_OUT/run.log" 2>&1 ||
        { note "link: virsh create vmlraw failed"; return 1; }
    ct_vms_start "vmlhb node1" "vmlvh node1" || { note "link: the guests did not start"; return 1; }
    ct_wait_ticking vmlraw node1 "$t" 90 || { note "link: vmlraw does not tick"; return 1; }
    LLOC=([raw]=node1 [heartbeat]=node1 [vmhandoff]=node1)
    ct_settle 120
    move_header "$data/link-moves.tsv"
    T_LINK0=$(ct_now_ns)
    for rate in $LINK_RATES; do
        if over_budget $((LINK_MOVES * 3 * 20 + 60)); then
            note "time budget (BENCH_BUDGET_S=$BUDGET): the shaped-link moves at $rate were skipped"
            continue
        fi
        for h in "${HOSTS[@]}"; do
            lab_shape "$h" mig "$rate" >>"$CT_OUT/run.log" 2>&1 || { note "link: lab_shape $h mig $rate failed"; continue 2; }
        done
        say "link: migration link shaped to $rate on every host: $LINK_MOVES moves per contender"
        for ((r = 1; r <= LINK_MOVES; r++)); do
            order=()
            for ((i = 0; i < 3; i++)); do order+=("${cs[$(((i + r) % 3))]}"); done
            for c in "${order[@]}"; do
                MOVE_TAG=$rate move_one "$c" "$r" "$data/link-moves.tsv" LLOC LVMOF
            done
        done
        for h in "${HOSTS[@]}"; do lab_unshape "$h" mig; done
    done
    ct_settle 120
    ct_inv link "$T_LINK0" || note "invariant checker over the shaped-link moves: $(tail -n 1 "$CT_OUT/inv/link.txt")"
    cp "$CT_OUT/inv/link.txt" "$data/inv-link.txt" 2>/dev/null
    python3 "$here/report.py" join-moves --moves "$data/link-moves.tsv" --inv "$CT_OUT/inv/link.json" \
        --out "$data/link-joined.tsv" >>"$CT_OUT/run.log" 2>&1 || note "join of the link moves failed (see run.log)"
    bench_stop_rsc vmlhb vmlvh || note "link: the guests did not stop"
    for h in "${HOSTS[@]}"; do
        lab_exec "$h" virsh -q -c qemu:///system destroy vmlraw >/dev/null 2>&1
    done
    ct_settle 120
}

# --------------------------------------------------------------- drain ---

drain_one() { # AGENT LIMIT
    local agent=$1 limit=$2 p=${3} vms=() pairs=() i t0 sc rc=0 fp
    for ((i = 1; i <= DRAIN_VMS; i++)); do vms+=("vmd$p$i"); pairs+=("vmd$p$i node1"); done
    sc=drain-$agent-l$limit
    say "drain: $agent, migration-limit=$limit: starting ${#vms[@]} guests of ${DRAIN_MEM} MiB on node1"
    ct_crm crm_attribute -t crm_config -n migration-limit -v "$limit" >>"$CT_OUT/run.log" 2>&1
    ct_vms_start "${pairs[@]}" || { note "$sc: the guests did not all start on node1"; rc=1; }
    ct_settle 120
    fp=$data/footprint-$sc.tsv
    sampler_start "$fp" 0.5
    sleep 1
    t0=$(ct_now_ns)
    local l0; l0=$(load1)
    say "drain: crm_standby node1 ($agent, migration-limit=$limit)"
    CT_SC=$sc ct_drain node1 "${vms[*]}" || { note "$sc: not every guest left node1 within 240 s"; rc=1; }
    local t1; t1=$(ct_now_ns)
    ct_settle 120
    sleep 1
    sampler_stop
    printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n' "$agent" "$limit" "${#vms[@]}" "$t0" "$t1" "$rc" "$fp" \
        "$l0" "$(load1)" >>"$data/drain.tsv"
    ct_inv "$sc" "$t0" || note "invariant checker over $sc: $(tail -n 1 "$CT_OUT/inv/$sc.txt")"
    cp "$CT_OUT/inv/$sc.txt" "$data/inv-$sc.txt" 2>/dev/null
    python3 "$here/report.py" join-drain --raw "$CT_STATE/moves.raw" --scenario "$sc" --agent "$agent" \
        --limit "$limit" --inv "$CT_OUT/inv/$sc.json" --out "$data/drain-moves.tsv" >>"$CT_OUT/run.log" 2>&1 ||
        note "join of $sc failed (see run.log)"
    ct_crm crm_standby --node node1 --update off >>"$CT_OUT/run.log" 2>&1
    if [ $rc != 0 ]; then
        # what pacemaker said about the guests that did not leave (the
        # drain's failed operations: into the report)
        for i in "${vms[@]}"; do
            local st; st=$(ct_rsc_state "$i")
            [[ $st == "Started node1 "* || $st == *failed=true* || $st == *blocked=true* ]] || continue
            note "$sc: $i: $st; failed ops: $(ct_failed_ops "$i" | tr '\n' ';')"
        done
        bench_pcmk_errors "$t0" "${vms[@]}"
    fi
    bench_stop_rsc_clean "${vms[@]}" || note "$sc: the guests did not all stop afterwards"
    ct_settle 120
    return $rc
}

# the exit reasons of failed operations of VMs since T0_NS (pacemaker's
# log of every host), as notes
bench_pcmk_errors() { # T0_NS VM...
    local t0=$1 h vm re
    shift
    re=$(printf '%s|' "$@"); re=${re%|}
    for h in "${HOSTS[@]}"; do
        grep -h -E "Result of (migrate_to|migrate_from|start|stop) operation for ($re) on .*: (error|Timed Out|insufficient|not installed|not configured|unknown)" \
            "$LAB_D/$h/log/pacemaker/pacemaker.log" 2>/dev/null
        grep -h -E "($re)_(migrate_to|migrate_from)_0@.* output \[" "$LAB_D/$h/log/pacemaker/pacemaker.log" 2>/dev/null
    done | awk -v t="$(date -d "@$((t0 / 1000000000))" +%T)" '$3 >= t' | sort -u | cut -c1-700 |
        while IFS= read -r line; do note "pacemaker log: $line"; done
}

# stop VMs, also those a failure left blocked (on-fail=block): cleanup
# makes pacemaker probe them again and then stop them
bench_stop_rsc_clean() {
    local vm
    for vm in "$@"; do
        ct_crm crm_resource -r "$vm" --meta -p target-role -v Stopped >>"$CT_OUT/run.log" 2>&1
    done
    for vm in "$@"; do
        case $(ct_rsc_state "$vm") in
        *failed=true* | *blocked=true*) ct_crm crm_resource --cleanup -r "$vm" >>"$CT_OUT/run.log" 2>&1 ;;
        esac
    done
    bench_stop_rsc "$@"
}

phase_drain() {
    local limit i
    say "drain: ${DRAIN_VMS} guests of ${DRAIN_MEM} MiB per agent, migration-limit $DRAIN_LIMITS"
    # nothing else under pacemaker runs during the drains
    for vm in vmhb vmvh vmlhb vmlvh; do
        [[ $(ct_rsc_state "$vm") == absent* ]] || bench_stop_rsc "$vm"
    done
    for i in "${HOSTS[@]}"; do
        lab_exec "$i" virsh -q -c qemu:///system destroy vmraw >/dev/null 2>&1
    done
    for ((i = 1; i <= DRAIN_VMS; i++)); do
        bench_define "vmdh$i" heartbeat "$DRAIN_MEM" && bench_define "vmdv$i" vmhandoff "$DRAIN_MEM" ||
            die "could not define the drain guests"
    done
    printf 'agent\tlimit\tvms\tt0_ns\tt1_ns\trc\tfootprint\tload_start\tload_end\n' >"$data/drain.tsv"
    for limit in $DRAIN_LIMITS; do
        drain_one heartbeat "$limit" h
        drain_one vmhandoff "$limit" v
    done
}

# ---------------------------------------------------------------- main ---

finish() {
    local rc=${1:-0}
    trap '' INT TERM HUP
    sampler_stop
    info_add seconds $((($(ct_now_ns) - t_run) / 1000000000))
    info_add loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"
    # the vmhandoff agent's and daemon's complaints, for the report
    # (ours: vmvh, vmlvh, vmdv*; pacemaker's warnings/errors about them and
    # the agent's own WARNING/ERROR lines, which execd logs at info level)
    for h in "${HOSTS[@]}"; do
        grep -h -E '[^a-z](vmvh|vmlvh|vmdv[0-9]+)[^a-z0-9]' "$LAB_D/$h/log/pacemaker/pacemaker.log" 2>/dev/null |
            grep -E '(\)[[:space:]]+(error|warning|crit):)|(\]: (ERROR|WARNING|CRIT):)'
        grep -h -E ': (ERROR|WARNING|CRIT):' "$LAB_D/$h/log/vmhandoffd.out" 2>/dev/null | sed "s/^/$h /"
    done >"$data/agent-log.txt" 2>/dev/null
    ct_teardown
    say "report"
    python3 "$here/report.py" render --data "$data" --results "$RESULTS" --stamp "$stamp" ||
        { echo "bench: the report failed" >&2; rc=1; }
    [ -e "$RESULTS/latest.md" ] && echo "bench: report: $RESULTS/latest.md (and $RESULTS/$stamp/)" >&2
    exit "$rc"
}

machine_info
say "bench: lab $LAB_ID, parts: $PARTS; logs in $out"
ct_up || die "the lab did not come up (see $out/run.log)"
info_add accel "$CT_ACCEL"
for p in moves idle monitor drain link; do
    if has_part $p; then
        load_mark "$p.start"
        "phase_$p"
        load_mark "$p.end"
    fi
done
finish 0
