#!/bin/bash
# soak.sh: a randomized campaign on ONE 3-host cluster of the lab (lab 8 by
# default): RUNS runs, each a random action, the cluster put back in a
# known state after each, and the invariant checker over each run's window.
#
#   cluster-tests/soak.sh [--runs N] [--seed S] [--keep]      (make cluster-soak RUNS=N)
#
# The VMs: canaries of 128 MiB, vm1 vm2 vm3 (working set 8 MiB dirtied at
# 4 MiB/s) and vmf (64 MiB dirtied at 40 MiB/s: over the source's dedicated
# link shaped to SOAK_RATE, 80 Mbit/s, its copy cannot converge, so a fault
# injected "during the copy" always finds it under way; unshaped it moves
# in a few seconds like the others). Each run picks, uniformly:
#   move   a random VM to a random other host (crm_resource --move, then
#          --clear once it is Started there);
#   drain  a random host: crm_standby on, wait until it runs no VM, off;
#   fault  vmf migrated from its host S to a random other host T over the
#          shaped link; a random 0..SOAK_MAX_DELAY_MS ms after the copy
#          started (1 MiB sent), one fault, uniformly among
#            link    T's dedicated link cut,
#            target  T powered off,
#            source  S powered off,
#            ring    the cluster ring of S or T (at random) cut: 2 vs 1,
#                    the majority fences the isolated host;
#          then what s5-faults expects: a lost host is fenced and back;
#          while S lives, the migrate_to fails and vmf keeps running on S
#          (RECIPES.md: on-fail=block, then clear + refresh, Started on S);
#          S lost: vmf is started again once elsewhere.
# After each run: links up and unshaped, ct_reset (hosts on, no standby,
# no constraints, cleanup, settled), every VM Started; then the checker
# over the run's window, allowing the reboots that fault made inevitable:
# vmf when its source was powered off or fenced, and any VM that ran on a
# host powered off or fenced ("bystanders"). Any other reboot, a split
# activation or a lost VM is a violation.
#
# Prints TAP lines per check, then a summary: runs, actions, faults by
# kind, split activations, lost VMs, guest reboots by cause (expected /
# unexpected), other failed checks. Exit 0: all held; 1: a violation or a
# failed check; 2: the lab could not be set up or the cluster could not be
# restored after a run (the campaign stopped there).
#
# Environment: SOAK_LAB_ID (8), RUNS (20), SOAK_SEED (printed; the same seed
# replays the same choices, which pick among the VMs and hosts as the
# cluster has placed them), SOAK_ACTIONS ("move drain fault"), SOAK_FAULTS
# ("link target source ring"), SOAK_RATE (80mbit), SOAK_MAX_DELAY_MS
# (8000), CT_VERBOSE, CT_KEEP=1 / --keep (leave the lab up). Results:
# build/cluster-soak/ (run.log, tap.txt, soak.tsv, summary.txt, inv/,
# logs/ of every host).
set -u
here=$(cd "$(dirname "$0")" && pwd)
export LAB_ID=${SOAK_LAB_ID:-8}
unset LAB_DIR
# shellcheck source=lib/ct.sh
. "$here/lib/ct.sh"

SOAK_RUNS=${RUNS:-20}
SOAK_SEED=${SOAK_SEED:-}
while (($#)); do
    case $1 in
    --runs) SOAK_RUNS=$2; shift ;;
    --runs=*) SOAK_RUNS=${1#*=} ;;
    --seed) SOAK_SEED=$2; shift ;;
    --seed=*) SOAK_SEED=${1#*=} ;;
    --keep) CT_KEEP=1 ;;
    -h | --help) sed -n '2,48s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "soak: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[[ $SOAK_RUNS =~ ^[0-9]+$ ]] || { echo "soak: RUNS must be a number" >&2; exit 2; }
[ -n "$SOAK_SEED" ] || SOAK_SEED=$(( $(date +%s%N) % 2147483647 ))
[[ $SOAK_SEED =~ ^[0-9]+$ ]] || { echo "soak: SOAK_SEED must be a number" >&2; exit 2; }
SOAK_ACTIONS=${SOAK_ACTIONS:-move drain fault}
SOAK_FAULTS=${SOAK_FAULTS:-link target source ring}
SOAK_RATE=${SOAK_RATE:-80mbit}
SOAK_MAX_DELAY_MS=${SOAK_MAX_DELAY_MS:-8000}
SOAK_VMS="vm1 vm2 vm3 vmf"
export CT_AGENT=${CT_AGENT:-vmhandoff}

# ------------------------------------------------------------ random ---
# A generator of our own (not bash's RANDOM, which anything sourced could
# draw from): the same seed gives the same sequence of choices.
SOAK_STATE=$((SOAK_SEED % 2147483648))
_soak_rand() { # N -> SOAK_R in [0, N)
    SOAK_STATE=$(((SOAK_STATE * 1103515245 + 12345) % 2147483648))
    SOAK_R=$(((SOAK_STATE >> 8) % $1))
}
_soak_pick() { # WORDS... -> SOAK_P, one of them
    local a=("$@")
    _soak_rand ${#a[@]}
    SOAK_P=${a[$SOAK_R]}
}

# ------------------------------------------------------------ helpers ---

declare -A SOAK_CAUSE=()   # VM -> why a reboot of it is expected in this run
declare -A N_ACTION=() N_FAULT=() N_REBOOT=()
N_SPLIT=0 N_LOST=0 N_UNEXPECTED=0 N_EXPECTED=0 N_RUNS=0 N_INV_FAIL=0

_soak_note() { ct_log "$CT_SC: $*"; }
_soak_others() { # HOST -> the other hosts
    local h
    for h in $CT_HOSTS; do [ "$h" != "$1" ] && printf '%s ' "$h"; done
}
_soak_vms_on() { # HOST [EXCEPT]: the VMs pacemaker has there
    local vm xml
    xml=$(ct_mon_xml) || return 0
    for vm in $SOAK_VMS; do
        [ "$vm" = "${2-}" ] && continue
        [ "$(ct_rsc_state "$vm" "$xml" | cut -d' ' -f2)" = "$1" ] && printf '%s ' "$vm"
    done
}

# put the cluster back: links up, no shaping, no move constraint, then
# ct_reset; every VM Started (healthy) on one host
_soak_restore() {
    local h
    for h in $CT_HOSTS; do
        lab_link "$h" ring up 2>/dev/null
        lab_link "$h" mig up 2>/dev/null
        lab_unshape "$h" mig
    done
    ct_crm crm_resource --clear -r vmf >/dev/null 2>&1
    ct_reset || return 1
    ct_poll 180 0.5 "every VM Started" ct_all_started
}

# ------------------------------------------------------------ actions ---

_soak_move() {
    local vm from to
    _soak_pick $SOAK_VMS
    vm=$SOAK_P
    from=$(ct_where "$vm")
    if [[ $from != node[0-9] ]]; then
        ct_fail "move: $vm runs on one host before the move" "$(ct_rsc_state "$vm")"
        return 1
    fi
    # shellcheck disable=SC2046
    _soak_pick $(_soak_others "$from")
    to=$SOAK_P
    SOAK_WHAT="move $vm $from->$to"
    _soak_note "$SOAK_WHAT"
    if ct_move "$vm" "$to"; then
        ct_ok "move $vm $from -> $to: Started on $to"
    else
        ct_fail "move $vm $from -> $to: Started on $to" "$(ct_rsc_state "$vm")" "$(ct_failed_ops "$vm")"
    fi
}

_soak_drain() {
    local h on
    _soak_pick $CT_HOSTS
    h=$SOAK_P
    on=$(_soak_vms_on "$h")
    SOAK_WHAT="drain $h (${on% })"
    _soak_note "$SOAK_WHAT"
    if ct_drain "$h" "$SOAK_VMS"; then
        ct_ok "drain $h: every VM (${on% }) Started elsewhere"
    else
        ct_fail "drain $h: every VM (${on% }) Started elsewhere" \
            "$(for vm in $SOAK_VMS; do ct_rsc_state "$vm"; done)"
    fi
    ct_crm crm_standby --node "$h" --update off >>"$CT_OUT/run.log" 2>&1
    ct_settle 90
}

# _soak_fault KIND: vmf migrated over the shaped link, the fault injected
# a random moment into the copy, then what must follow
_soak_fault() {
    local kind=$1 s tgt lost="" iso="" delay t t_fault st vm by="" what
    s=$(ct_where vmf)
    if [[ $s != node[0-9] ]]; then
        ct_fail "fault $kind: vmf runs on one host before the migration" "$(ct_rsc_state vmf)"
        return 1
    fi
    # shellcheck disable=SC2046
    _soak_pick $(_soak_others "$s")
    tgt=$SOAK_P
    _soak_rand $((SOAK_MAX_DELAY_MS + 1))
    delay=$SOAK_R
    case $kind in
    link) what="$tgt mig link cut" ;;
    target) lost=$tgt what="target $tgt powered off" ;;
    source) lost=$s what="source $s powered off" ;;
    ring)
        _soak_pick "$s" "$tgt"
        iso=$SOAK_P lost=$SOAK_P
        what="ring of $iso cut ($([ "$iso" = "$s" ] && echo source || echo target), 2 vs 1)"
        ;;
    esac
    SOAK_WHAT="fault $kind: vmf $s->$tgt, $what ${delay} ms into the copy"
    _soak_note "$SOAK_WHAT"
    t=$(ct_now_ns)
    lab_shape "$s" mig "$SOAK_RATE" >>"$CT_OUT/run.log" 2>&1
    ct_crm crm_resource --move -r vmf -N "$tgt" >>"$CT_OUT/run.log" 2>&1
    if ! ct_poll 60 0.1 "vmf migration $s -> $tgt under way" ct_mig_sent_at_least "$s" vmf 1; then
        ct_fail "fault $kind: migration of vmf $s -> $tgt under way" "$(ct_rsc_state vmf)"
        return 1
    fi
    sleep "$((delay / 1000)).$(printf %03d $((delay % 1000)))"
    if ct_mig_job_active "$s" vmf; then
        _soak_note "the copy is still under way ($(lab_exec "$s" timeout 10 virsh -q domjobinfo vmf 2>/dev/null | awk '/^Data processed:/ {print $3 " " $4}') sent)"
    else
        _soak_note "NOTE: no migration job of vmf on $s any more when the fault strikes: $(ct_rsc_state vmf)"
    fi
    # what dies with a lost host: its VMs (a reboot is all they can get),
    # and vmf itself if the host is its source
    if [ -n "$lost" ]; then
        by=$(_soak_vms_on "$lost" vmf)
        for vm in $by; do
            if [ "$kind" = ring ]; then SOAK_CAUSE[$vm]="its host fenced after a ring cut (bystander)"
            else SOAK_CAUSE[$vm]="its host powered off (bystander)"; fi
        done
        if [ "$lost" = "$s" ]; then
            if [ "$kind" = ring ]; then SOAK_CAUSE[vmf]="source fenced after a ring cut"
            else SOAK_CAUSE[vmf]="source powered off"; fi
        fi
    fi
    t_fault=$(ct_now_ns)
    case $kind in
    link) lab_link "$tgt" mig down ;;
    target | source) LAB_QUIET=1 lab_poweroff "$lost" >>"$CT_OUT/run.log" 2>&1 ;;
    ring) lab_link "$iso" ring down ;;
    esac
    N_FAULT[$kind]=$((${N_FAULT[$kind]:-0} + 1))
    _soak_note "fault injected: $what"

    if [ -n "$lost" ]; then
        if ct_poll 240 0.5 "$lost fenced and back online" ct_fenced_back "$lost" "$t_fault"; then
            ct_ok "fault $kind: $lost fenced by the cluster, back online"
        else
            ct_fail "fault $kind: $lost fenced by the cluster, back online" \
                "$(grep -s "$lost" "$LAB_D/fence.log" | tail -3)"
        fi
        ct_obs_wait "$lost"
    fi
    if [ "$lost" = "$s" ]; then
        # the source's copy died with it (unless the copy had finished and
        # the handoff committed before the fence): vmf runs once, somewhere
        if ct_poll 240 0.5 "vmf Started somewhere" ct_started_healthy vmf &&
            ct_wait_ticking vmf "$(ct_where vmf)" "$t_fault" 90; then
            ct_ok "fault $kind: vmf Started again, on $(ct_where vmf), the guest runs"
        else
            ct_fail "fault $kind: vmf Started again" "$(ct_rsc_state vmf)" "$(ct_failed_ops vmf)"
        fi
    else
        if ct_poll 200 0.5 "vmf migrate_to failure recorded" ct_migrate_to_failed vmf "$s"; then
            ct_ok "fault $kind: the migrate_to failed on $s: $(ct_migrate_to_reason vmf "$s")"
        else
            ct_fail "fault $kind: the migrate_to failed on $s" "$(ct_rsc_state vmf)"
        fi
        st=$(lab_exec "$s" timeout 10 virsh -q domstate vmf 2>&1 | head -1)
        if [ "$st" = running ] && [ -z "$(ct_lv_events vmf "$s" "$t" '^(STOPPED|STARTED)')" ]; then
            ct_ok "fault $kind: vmf keeps running on $s, never stopped or restarted there"
        else
            ct_fail "fault $kind: vmf keeps running on $s, never stopped or restarted there" \
                "virsh domstate: $st" "$(ct_lv_events vmf "$s" "$t" '^(STOPPED|STARTED)')" "$(ct_rsc_state vmf)"
        fi
    fi
    # the recipe: links back, no move constraint, refresh
    lab_link "$tgt" mig up 2>/dev/null
    [ -n "$iso" ] && lab_link "$iso" ring up 2>/dev/null
    for vm in $CT_HOSTS; do lab_unshape "$vm" mig; done
    ct_crm crm_resource --clear -r vmf >>"$CT_OUT/run.log" 2>&1
    ct_crm crm_resource --refresh -r vmf >>"$CT_OUT/run.log" 2>&1
    if [ "$lost" != "$s" ]; then
        if ct_poll 90 0.2 "vmf Started on $s" ct_is_started_on vmf "$s"; then
            ct_ok "fault $kind: after clear + refresh vmf Started on $s, healthy"
        else
            ct_fail "fault $kind: after clear + refresh vmf Started on $s, healthy" "$(ct_rsc_state vmf)"
        fi
    fi
    if [ -n "$by" ]; then
        if ct_poll 180 0.5 "every VM Started" ct_all_started; then
            ct_ok "fault $kind: the VMs of $lost (${by% }) Started again: $(for vm in $by; do printf '%s on %s ' "$vm" "$(ct_where "$vm")"; done)"
        else
            ct_fail "fault $kind: the VMs of $lost (${by% }) Started again" "$(for vm in $by; do ct_rsc_state "$vm"; done)"
        fi
    fi
}

# counts of the checker's report of this run: "split N lost N" and one
# line "reboot VM allowed|unexpected" per reboot
_soak_count() { # NAME
    python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
v = r["violations"]
print("split %d lost %d" % (sum(1 for x in v if x["kind"] == "SPLIT_ACTIVATION"),
                            sum(1 for x in v if x["kind"] == "VM_LOST")))
for x in v + r["warnings"]:
    if x["kind"] in ("UNEXPECTED_REBOOT", "ALLOWED_REBOOT"):
        print("reboot %s %s" % (x["vm"], "allowed" if x["kind"] == "ALLOWED_REBOOT" else "unexpected"))
' "$CT_OUT/inv/$1.json" 2>/dev/null
}

# ------------------------------------------------------------ the run ---

out=$CT_REPO/build/cluster-soak
for f in "$CT_COLLECT" "$CT_LVWATCH" "$CT_REPO/build/canary/canary.elf" "$CT_REPO/build/agent/vmhandoff-ra"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "soak: $f is missing (make all)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "soak: needs root" >&2; exit 2; }
ct_begin "$out" || { echo "soak: lab $LAB_ID is busy" >&2; exit 2; }
t_all=$(ct_now_ns)
echo "# cluster-soak: $SOAK_RUNS runs, SOAK_SEED=$SOAK_SEED, lab $LAB_ID, ocf:$CT_AGENT:VirtualDomain; results in $out"
ct_log "soak: SOAK_SEED=$SOAK_SEED RUNS=$SOAK_RUNS actions ($SOAK_ACTIONS) faults ($SOAK_FAULTS) rate $SOAK_RATE max delay ${SOAK_MAX_DELAY_MS} ms"
CT_SC=setup
if ! ct_up; then
    ct_fail "3-host cluster with fencing, observers in every host" "see $out/run.log"
    echo "soak: the lab did not come up (see $out/run.log)" >&2
    exit 2
fi
for vm in vm1 vm2 vm3; do
    ct_vm_define "$vm" --mem-mb 128 --wss-mb 8 --dirty-mbps 4 || { ct_fail "define $vm"; exit 2; }
done
ct_vm_define vmf --mem-mb 128 --wss-mb 64 --dirty-mbps 40 || { ct_fail "define vmf"; exit 2; }
if ct_vms_start "vm1 node1" "vm2 node2" "vm3 node3" "vmf node1"; then
    ct_ok "3-host cluster ($CT_ACCEL), vm1 vm2 vm3 vmf running"
else
    ct_fail "vm1 vm2 vm3 vmf running" "$(for vm in $SOAK_VMS; do ct_rsc_state "$vm"; done)"
    exit 2
fi
ct_settle 60
printf 'run\taction\twhat\tseconds\tinvariants\tsplit\tlost\treboots_expected\treboots_unexpected\tfailed_checks\n' >"$out/soak.tsv"

aborted=0
for ((i = 1; i <= SOAK_RUNS; i++)); do
    CT_SC=$(printf 'run%02d' "$i")
    SOAK_CAUSE=()
    SOAK_WHAT=""
    fail0=$CT_TAP_FAIL
    t=$(ct_now_ns)
    # shellcheck disable=SC2086
    _soak_pick $SOAK_ACTIONS
    action=$SOAK_P
    if [ "$action" = fault ]; then
        # shellcheck disable=SC2086
        _soak_pick $SOAK_FAULTS
        action="fault-$SOAK_P"
    fi
    N_ACTION[${action%%-*}]=$((${N_ACTION[${action%%-*}]:-0} + 1))
    ct_log "=== $CT_SC: $action"
    case $action in
    move) _soak_move ;;
    drain) _soak_drain ;;
    fault-*) _soak_fault "${action#fault-}" ;;
    esac
    if ! _soak_restore; then
        ct_fail "cluster back in a known state after the run" \
            "$(for vm in $SOAK_VMS; do ct_rsc_state "$vm"; done)"
        aborted=1
    fi
    allow=()
    for vm in "${!SOAK_CAUSE[@]}"; do allow+=(--allow-reboot "$vm"); done
    inv=PASS
    ct_inv_check "$SOAK_WHAT: never two copies, none lost, no unexpected reboot" "$CT_SC" "$t" "${allow[@]}" ||
        { inv=FAIL; N_INV_FAIL=$((N_INV_FAIL + 1)); }
    split=0 lost=0 rexp=0 runexp=0
    while read -r k a b c; do
        case $k in
        split) split=$a lost=$c ;;
        reboot)
            if [ "$b" = allowed ]; then
                rexp=$((rexp + 1))
                cause=${SOAK_CAUSE[$a]:-?}
                N_REBOOT["expected: ${cause}"]=$((${N_REBOOT["expected: ${cause}"]:-0} + 1))
            else
                runexp=$((runexp + 1))
                N_REBOOT["unexpected: $a in a $action run"]=$((${N_REBOOT["unexpected: $a in a $action run"]:-0} + 1))
            fi
            ;;
        esac
    done < <(_soak_count "$CT_SC")
    N_SPLIT=$((N_SPLIT + split)) N_LOST=$((N_LOST + lost))
    N_EXPECTED=$((N_EXPECTED + rexp)) N_UNEXPECTED=$((N_UNEXPECTED + runexp))
    N_RUNS=$i
    secs=$((($(ct_now_ns) - t) / 1000000000))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$CT_SC" "$action" "$SOAK_WHAT" "$secs" "$inv" \
        "$split" "$lost" "$rexp" "$runexp" "$((CT_TAP_FAIL - fail0))" >>"$out/soak.tsv"
    echo "# $CT_SC: $SOAK_WHAT: ${secs}s, invariants $inv (split $split, lost $lost, reboots expected $rexp unexpected $runexp), failed checks $((CT_TAP_FAIL - fail0))"
    ((aborted)) && break
done

other=$((CT_TAP_FAIL - N_INV_FAIL))
{
    echo "cluster-soak: lab $LAB_ID, SOAK_SEED=$SOAK_SEED, $N_RUNS of $SOAK_RUNS runs in $((($(ct_now_ns) - t_all) / 1000000000)) s$( ((aborted)) && echo " (STOPPED: the cluster could not be restored)")"
    printf 'runs: %d (move %d, drain %d, fault %d)\n' "$N_RUNS" "${N_ACTION[move]:-0}" "${N_ACTION[drain]:-0}" "${N_ACTION[fault]:-0}"
    printf 'faults injected: link %d, target %d, source %d, ring %d\n' "${N_FAULT[link]:-0}" \
        "${N_FAULT[target]:-0}" "${N_FAULT[source]:-0}" "${N_FAULT[ring]:-0}"
    echo "split activations: $N_SPLIT"
    echo "lost VMs: $N_LOST"
    echo "guest reboots: $((N_EXPECTED + N_UNEXPECTED)) (expected $N_EXPECTED, unexpected $N_UNEXPECTED)"
    for k in "${!N_REBOOT[@]}"; do echo "  $k: ${N_REBOOT[$k]}"; done | sort
    echo "other failed checks: $other (see $out/tap.txt)"
    if ((N_SPLIT + N_LOST + N_UNEXPECTED > 0 || CT_TAP_FAIL > 0 || aborted)); then
        echo "RESULT: FAIL"
    else
        echo "RESULT: PASS"
    fi
} | tee "$out/summary.txt"
echo "1..$CT_TAP_N"
ct_teardown
((aborted)) && exit 2
((N_SPLIT + N_LOST + N_UNEXPECTED > 0 || CT_TAP_FAIL > 0)) && exit 1
exit 0
