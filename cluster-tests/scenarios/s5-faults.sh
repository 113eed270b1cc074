# shellcheck shell=bash
# s5-faults: faults during a live migration's memory copy, with a canary
# that dirties memory (vmf: 128 MiB, working set 64 MiB dirtied at
# 40 MiB/s) over a dedicated link shaped to 80 Mbit/s, so that the copy
# cannot converge and is still running when the fault strikes (after 16 MiB
# were sent):
#   a) the target's dedicated link is cut (lab_link T mig down);
#   b) the target host is powered off;
#   c) the source host is powered off.
# Expected, always: never two copies running; the VM ends running exactly
# once within a bounded time (after fencing where a host was lost). For a)
# and b) the VM keeps running on the source without a guest reboot and
# pacemaker ends with it Started there; for c) the guest's memory died with
# the source, a cold boot elsewhere is the only possible end.
#
# The resources carry the settings of cluster-tests/RECIPES.md (CT_RECIPE=1,
# the default): op migrate_to on-fail=block; after the failure the
# scenario does what the recipe tells an operator (or vmhandoffd) to do:
# remove the move constraint and `crm_resource --refresh` the VM.
SC_TITLE="faults during a migration: link cut, target lost, source lost"

CT_S5_RATE=${CT_S5_RATE:-80mbit}
CT_S5_AT_MIB=${CT_S5_AT_MIB:-16}

sc_main() {
    local rc=0
    if [[ $(ct_rsc_state vmf) == absent* ]]; then
        ct_vm_define vmf --mem-mb 128 --wss-mb 64 --dirty-mbps 40 || { ct_fail "define vmf"; return 1; }
    fi
    [ "$(ct_where vmf)" != - ] || ct_vm_start vmf node1 ||
        { ct_fail "vmf running on node1" "$(ct_rsc_state vmf)"; return 1; }
    # a CIB to replay the failure with crm_simulate (lib/recipe-sim.sh)
    ct_crm cibadmin -Q >"$CT_OUT/cib-s5.xml" 2>/dev/null
    _s5_case a "link" || rc=1
    ct_reset >/dev/null || { ct_fail "cluster back after a)"; return 1; }
    _s5_case b "target" || rc=1
    ct_reset >/dev/null || { ct_fail "cluster back after b)"; return 1; }
    _s5_case c "source" || rc=1
    return $rc
}

# _s5_case a|b|c WHAT
_s5_case() {
    local c=$1 what=$2 s tgt t t_fault lost p ok=1 st by allow=()
    s=$(ct_where vmf)
    [[ $s == node[0-9] ]] || { ct_fail "$c) vmf runs on one host" "$(ct_rsc_state vmf)"; return 1; }
    tgt=$(ct_next_host "$s")
    t=$(ct_now_ns)
    lab_shape "$s" mig "$CT_S5_RATE" >>"$CT_OUT/run.log" 2>&1
    ct_log "$c) vmf $s -> $tgt over $CT_S5_RATE; fault ($what) after ${CT_S5_AT_MIB} MiB"
    ct_crm crm_resource --move -r vmf -N "$tgt" >>"$CT_OUT/run.log" 2>&1
    if ! ct_poll 60 0.1 "vmf migration $s -> $tgt past ${CT_S5_AT_MIB} MiB" ct_mig_sent_at_least "$s" vmf "$CT_S5_AT_MIB"; then
        ct_fail "$c) migration $s -> $tgt under way when the fault strikes" "$(ct_rsc_state vmf)"
        lab_unshape "$s" mig
        ct_crm crm_resource --clear -r vmf >/dev/null 2>&1
        return 1
    fi
    # the other VMs on the host about to be lost die with it: they must be
    # started again, once each, elsewhere (a reboot is all they can get)
    by=""
    if [ $c != a ]; then
        local lh=$tgt vm
        [ $c = c ] && lh=$s
        for vm in $(ct_vms); do
            [ "$vm" != vmf ] && [ "$(ct_where "$vm")" = "$lh" ] && by+=" $vm"
        done
        by=${by# }
    fi
    t_fault=$(ct_now_ns)
    case $c in
    a) lost=""; lab_link "$tgt" mig down ;;
    b) lost=$tgt; LAB_QUIET=1 lab_poweroff "$tgt" >>"$CT_OUT/run.log" 2>&1 ;;
    c) lost=$s; LAB_QUIET=1 lab_poweroff "$s" >>"$CT_OUT/run.log" 2>&1 ;;
    esac
    ct_log "$c) fault injected: $what ($([ $c = a ] && echo "$tgt mig down" || echo "$lost powered off"))"

    if [ -n "$lost" ]; then
        # the cluster fences the lost host (a reboot: it comes back)
        if ct_poll 240 0.5 "$lost fenced and back online" ct_fenced_back "$lost" "$t_fault"; then
            ct_ok "$c) $lost fenced by the cluster (fence_labhost), back online"
        else
            ct_fail "$c) $lost fenced by the cluster (fence_labhost), back online" \
                "$(grep -s "$lost" "$LAB_D/fence.log" | tail -3)"
            ok=0
        fi
        ct_obs_wait "$lost"
    fi
    if [ $c = c ]; then
        # the source's copy is gone with it: one cold boot somewhere
        if ct_poll 240 0.5 "vmf Started somewhere" ct_started_healthy vmf &&
            ct_wait_ticking vmf "$(ct_where vmf)" "$t_fault" 90; then
            ct_ok "c) vmf Started again once, on $(ct_where vmf), the guest runs (ticks)"
        else
            ct_fail "c) vmf Started again once" "$(ct_rsc_state vmf)" "$(ct_failed_ops vmf)"
            ok=0
        fi
    else
        # the migrate_to fails; the VM must still run on the source
        if ct_poll 200 0.5 "vmf migrate_to failure recorded" ct_migrate_to_failed vmf "$s"; then
            ct_ok "$c) the migrate_to failed on $s: $(ct_migrate_to_reason vmf "$s")"
        else
            ct_fail "$c) the migrate_to failed" "$(ct_rsc_state vmf)"
            ok=0
        fi
        st=$(lab_exec "$s" timeout 10 virsh -q domstate vmf 2>&1 | head -1)
        if [ "$st" = running ] && [ -z "$(ct_lv_events vmf "$s" "$t" '^(STOPPED|STARTED)')" ]; then
            ct_ok "$c) vmf keeps running on $s, never stopped or restarted there (pacemaker: $(ct_rsc_state vmf | cut -d' ' -f1-4))"
        else
            ct_fail "$c) vmf keeps running on $s, never stopped or restarted there" "virsh domstate: $st" \
                "$(ct_lv_events vmf "$s" "$t" '^(STOPPED|STARTED)')" "$(ct_rsc_state vmf)"
            ok=0
        fi
    fi
    # repair: link back, no shaping, no move constraint; clean the failure
    [ $c = a ] && lab_link "$tgt" mig up
    for p in $CT_HOSTS; do lab_unshape "$p" mig; done
    ct_crm crm_resource --clear -r vmf >>"$CT_OUT/run.log" 2>&1
    local t_clean
    t_clean=$(ct_now_ns)
    ct_crm crm_resource --refresh -r vmf >>"$CT_OUT/run.log" 2>&1
    if [ $c != c ]; then
        if ct_poll 90 0.2 "vmf Started on $s" ct_is_started_on vmf "$s"; then
            ct_ok "$c) after refresh: vmf Started on $s, healthy"
        else
            ct_fail "$c) after refresh: vmf Started on $s, healthy" "$(ct_rsc_state vmf)"
            ok=0
        fi
        if ct_poll 30 0.5 "vmf monitored on $s" ct_monitor_since vmf "$s" "$t_clean"; then
            ct_ok "$c) the recurring monitor of vmf runs again on $s"
        else
            ct_fail "$c) the recurring monitor of vmf runs again on $s"
            ok=0
        fi
    else
        ct_poll 90 0.2 "vmf healthy" ct_started_healthy vmf
    fi
    if [ -n "$by" ]; then
        local vm bad=""
        if ct_poll 180 0.5 "every VM Started" ct_all_started; then
            for vm in $by; do
                ct_wait_ticking "$vm" "$(ct_where "$vm")" "$t_fault" 90 || bad+=" $vm"
                allow+=(--allow-reboot "$vm")
            done
        else
            bad=$by
        fi
        if [ -z "$bad" ]; then
            ct_ok "$c) the other VMs of $lost ($by) started again once each: $(for vm in $by; do printf '%s on %s ' "$vm" "$(ct_where "$vm")"; done)"
        else
            ct_fail "$c) the other VMs of $lost ($by) started again once each" \
                "$(for vm in $by; do ct_rsc_state "$vm"; done)"
            ok=0
        fi
    fi
    ct_settle 90
    if [ $c = c ]; then
        ct_inv_check "c) never two copies, vmf running once at the end" s5-$c "$t" --allow-reboot vmf "${allow[@]}"
    else
        ct_inv_check "$c) never two copies, no guest reboot of vmf, every VM running" s5-$c "$t" "${allow[@]}"
        local n
        n=$(ct_inv_query s5-$c 'len([m for m in migs if m["vm"] == "vmf"])')
        if [ "$n" = 0 ]; then
            ct_ok "$c) the checker saw vmf neither move nor restart"
        else
            ct_fail "$c) the checker saw vmf neither move nor restart" "$n moves, see $CT_OUT/inv/s5-$c.txt"
            ok=0
        fi
    fi
    [ $ok = 1 ]
}

