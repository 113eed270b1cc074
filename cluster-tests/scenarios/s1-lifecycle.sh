# shellcheck shell=bash
# s1-lifecycle: start, stop, start again; the probe after a pacemaker
# restart on the VM's host must find the VM running and leave it alone
# (no restart: the tick stream continues, no new boot); crm_resource
# --cleanup and --refresh (re-probe everywhere) change nothing either.
#
# The pacemaker restart is done the way an administrator does it without
# moving the VM away: the resource is unmanaged first (a plain stop of
# pacemaker would otherwise migrate the VM off the node), pacemakerd gets
# SIGTERM, is started again, the node rejoins and probes every resource;
# then the resource is managed again. The probe's answer decides whether
# pacemaker restarts the VM.
SC_TITLE="start, stop, probe after a pacemaker restart, cleanup"

sc_main() {
    local t h s
    ct_vm_define vm1 --mem-mb 128 --wss-mb 8 --dirty-mbps 4 || { ct_fail "define vm1"; return 1; }

    # --- start
    t=$(ct_now_ns)
    if ct_vm_start vm1 node1; then
        ct_ok "start: vm1 Started on node1, the canary ticks"
    else
        ct_fail "start: vm1 Started on node1, the canary ticks" "$(ct_rsc_state vm1)"
        return 1
    fi
    ct_inv_check "start: one copy, booted once" s1-start "$t"

    # --- stop
    t=$(ct_now_ns)
    ct_crm crm_resource -r vm1 --meta -p target-role -v Stopped >>"$CT_OUT/run.log" 2>&1
    if ct_poll 120 0.2 "vm1 stopped" ct_is_stopped vm1; then
        ct_ok "stop: vm1 Stopped in crm_mon"
    else
        ct_fail "stop: vm1 Stopped in crm_mon" "$(ct_rsc_state vm1)"
    fi
    ct_inv_check "stop: no copy left running" s1-stop "$t" --expect-stopped vm1

    # --- start again (a new boot is the point here)
    t=$(ct_now_ns)
    if ct_vm_start vm1 node2; then
        ct_ok "start again: vm1 Started on node2, ticking"
    else
        ct_fail "start again: vm1 Started on node2, ticking" "$(ct_rsc_state vm1)"
        return 1
    fi
    ct_inv_check "start again: one copy" s1-restart "$t" --allow-reboot vm1

    # --- probe after a pacemaker restart on the VM's host
    t=$(ct_now_ns)
    h=node2
    ct_crm crm_resource -r vm1 --meta -p is-managed -v false >>"$CT_OUT/run.log" 2>&1
    ct_poll 30 0.2 "vm1 unmanaged" _s1_unmanaged || { ct_fail "probe: vm1 unmanaged"; return 1; }
    ct_pcmk_restart "$h" || ct_fail "probe: pacemaker restarted on $h" "see $CT_OUT/run.log"
    if ct_poll 60 0.2 "vm1 probed on $h" _s1_probed_running "$h"; then
        ct_ok "probe: after the pacemaker restart on $h, pacemaker sees vm1 running there"
    else
        ct_fail "probe: after the pacemaker restart on $h, pacemaker sees vm1 running there" "$(ct_rsc_state vm1)"
    fi
    ct_crm crm_resource -r vm1 --meta -d is-managed >>"$CT_OUT/run.log" 2>&1
    ct_settle 60
    if ct_poll 30 0.2 "vm1 managed, Started on $h" ct_is_started_on vm1 "$h"; then
        ct_ok "probe: managed again, vm1 stays Started on $h"
    else
        ct_fail "probe: managed again, vm1 stays Started on $h" "$(ct_rsc_state vm1)"
    fi
    s=$(ct_lv_events vm1 "$h" "$t" '^(STOPPED|STARTED|SUSPENDED)')
    if [ -z "$s" ]; then
        ct_ok "probe: libvirt saw no stop, start or pause of vm1 on $h"
    else
        ct_fail "probe: libvirt saw no stop, start or pause of vm1 on $h" "$s"
    fi
    ct_inv_check "probe: not restarted, ticks continue" s1-probe "$t"

    # --- cleanup and refresh
    t=$(ct_now_ns)
    ct_crm crm_resource --cleanup -r vm1 >>"$CT_OUT/run.log" 2>&1
    ct_crm crm_resource --refresh -r vm1 >>"$CT_OUT/run.log" 2>&1
    ct_settle 60
    if ct_is_started_on vm1 "$h" && [ -z "$(ct_lv_events vm1 "$h" "$t" '^(STOPPED|STARTED|SUSPENDED)')" ]; then
        ct_ok "cleanup/refresh: vm1 re-probed, still Started on $h, untouched"
    else
        ct_fail "cleanup/refresh: vm1 re-probed, still Started on $h, untouched" "$(ct_rsc_state vm1)"
    fi
    ct_inv_check "cleanup/refresh: not restarted" s1-cleanup "$t"
}

_s1_unmanaged() { ct_rsc_state vm1 | grep -q 'managed=false'; }
_s1_probed_running() {
    local s
    s=$(ct_rsc_state vm1)
    [[ $s == "Started $1 "* ]]
}
