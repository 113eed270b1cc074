# shellcheck shell=bash
# s4-maintenance: `crm node maintenance` on a host running VMs; while it is
# in maintenance its pacemaker is restarted (what maintenance is for:
# upgrading the stack under running VMs); then `crm node ready`. Nothing
# may migrate, stop, start or pause, and pacemaker must end with every VM
# where it was, managed and healthy.
SC_TITLE="node maintenance (pacemaker restarted under it), then ready"

sc_main() {
    local t h vm vms="" before after ev rc=0 best=0 n c
    for vm in vm1 vm2 vm3 vm4; do
        [[ $(ct_rsc_state "$vm") == absent* ]] || vms+=" $vm"
    done
    if [ -z "$vms" ]; then
        ct_vm_ensure vm1 node1 || { ct_fail "vm1 running" "$(ct_rsc_state vm1)"; return 1; }
        vms=vm1
    fi
    # the host running the most VMs
    for c in $CT_HOSTS; do
        n=0
        for vm in $vms; do [ "$(ct_where "$vm")" = "$c" ] && n=$((n + 1)); done
        ((n > best)) && best=$n h=$c
    done
    [ -n "${h-}" ] || { ct_fail "a host runs VMs" "$(for vm in $vms; do ct_rsc_state "$vm"; done)"; return 1; }
    # Pacemaker 2.1.5: a restart of pacemaker on a host loses that host's
    # operation history, while the source of a VM's earlier migration to
    # it keeps its migrate_to record; the scheduler then reads a dangling
    # migration and "forces recovery" (a stop and start) of the VM, with
    # any agent. What this scenario tests starts from a clean history:
    # re-probe the VMs first (crm_resource --refresh, as an operator would
    # before such a restart; it stops and starts nothing).
    for vm in $vms; do
        ct_crm crm_resource --refresh -r "$vm" >>"$CT_OUT/run.log" 2>&1
    done
    ct_settle 60
    t=$(ct_now_ns)
    before=$(for vm in $vms; do echo "$vm $(ct_where "$vm")"; done)
    ct_log "maintenance of $h, running $best VM(s); placement: $(echo $before)"
    ct_crm node maintenance "$h" >>"$CT_OUT/run.log" 2>&1
    if ct_poll 30 0.2 "$h in maintenance, its VMs unmanaged" _s4_maint "$h" "$vms"; then
        ct_ok "maintenance: $h in maintenance, its $best VM(s) unmanaged"
    else
        ct_fail "maintenance: $h in maintenance, its $best VM(s) unmanaged" "$(for vm in $vms; do ct_rsc_state "$vm"; done)"
        rc=1
    fi
    if ct_pcmk_restart "$h" && ct_poll 60 0.2 "VMs probed on $h" _s4_back "$h" "$vms"; then
        ct_ok "maintenance: pacemaker restarted on $h, it probes its VMs as running"
    else
        ct_fail "maintenance: pacemaker restarted on $h, it probes its VMs as running" \
            "$(for vm in $vms; do ct_rsc_state "$vm"; done)"
        rc=1
    fi
    ct_crm node ready "$h" >>"$CT_OUT/run.log" 2>&1
    ct_poll 30 0.2 "$h out of maintenance" _s4_ready "$h"
    ct_settle 90
    after=$(for vm in $vms; do echo "$vm $(ct_where "$vm")"; done)
    local healthy=1
    for vm in $vms; do
        ct_is_started_on "$vm" "$(ct_where "$vm")" || healthy=0
    done
    if [ "$before" = "$after" ] && [ $healthy = 1 ]; then
        ct_ok "ready: every VM where it was, managed, healthy"
    else
        ct_fail "ready: every VM where it was, managed, healthy" "before: $(echo $before)" \
            "after: $(for vm in $vms; do ct_rsc_state "$vm"; done)"
        rc=1
    fi
    ev=""
    for c in $CT_HOSTS; do
        for vm in $vms; do
            ev+=$(ct_lv_events "$vm" "$c" "$t" '^(STOPPED|STARTED|SUSPENDED|RESUMED)')
        done
    done
    if [ -z "$ev" ]; then
        ct_ok "libvirt saw no stop, start, pause or resume of any VM"
    else
        ct_fail "libvirt saw no stop, start, pause or resume of any VM" "$ev"
        rc=1
    fi
    ct_inv_check "no migration, no reboot, none lost" s4-maintenance "$t"
    n=$(ct_inv_query s4-maintenance 'len(migs)')
    [ "$n" = 0 ] || { ct_fail "the checker saw no move" "$n moves"; rc=1; }
    return $rc
}

_s4_maint() {
    local h=$1 vm xml
    xml=$(ct_mon_xml) || return 1
    grep -Eq "<node name=\"$h\"[^>]* maintenance=\"true\"" <<<"$xml" || return 1
    for vm in $2; do
        [ "$(ct_where "$vm")" = "$h" ] || continue
        ct_rsc_state "$vm" "$xml" | grep -q 'managed=false' || return 1
    done
}
_s4_back() {
    local h=$1 vm xml
    xml=$(ct_mon_xml) || return 1
    for vm in $2; do
        grep -qx "$vm $h" <<<"$before" || continue
        [[ $(ct_rsc_state "$vm" "$xml") == "Started $h "* ]] || return 1
    done
}
_s4_ready() { ct_mon_xml | grep -Eq "<node name=\"$1\"[^>]* maintenance=\"false\""; }
