# shellcheck shell=bash
# s11-commit-window: a host lost between the end of the memory copy and
# the resume, at each end of the handoff (fencing on, require_fencing=true).
# The window is held open by stopping (SIGSTOP) vmhandoffd on the hosts
# that would otherwise decide it at once; the migration itself is
# libvirt's, unaffected.
# a) the source is lost after libvirt finished the migration (the
#    destination holds the complete, paused copy; the source's QEMU is
#    gone) and before anything is committed: the destination's commit
#    waits for the source's fencing; pacemaker meanwhile recovers its
#    dangling migration by stopping the destination's copy and starting
#    the VM again (a boot from disk), which the registry lets through once
#    the handoff is aborted; never two copies;
# b) the destination is lost after the commit, before it resumed (the
#    source's paused copy is already destroyed): the only copy is gone; the
#    VM is started again once, from its disk, after the destination is
#    fenced; never two copies.
SC_TITLE="a host lost between copy and resume, at either end: fencing decides, one copy"

sc_skip() {
    [ "$CT_AGENT" = vmhandoff ] || echo "the handoff is vmhandoff's (agent $CT_AGENT)"
}

_s11_pid() { lab_exec "$1" pgrep -x vmhandoffd 2>/dev/null; }
_s11_helper_stop() { local p; p=$(_s11_pid "$1") && lab_exec "$1" kill -STOP "$p"; }
_s11_helper_cont() { local p; p=$(_s11_pid "$1") && lab_exec "$1" kill -CONT "$p"; }
_s11_reason() { lab_exec "$1" virsh -q domstate --reason "$2" 2>/dev/null | head -1; }
# the incoming copy on HOST holds the complete state: paused, not "migrating"
_s11_incoming_done() { [[ $(_s11_reason "$1" "$2") == "paused (user)" ]]; }
_s11_migrated() { # SRC DST VM: libvirt finished: paused complete copy on DST, none on SRC
    _s11_incoming_done "$2" "$3" && ct_dom_is "$1" "$3" ""
}
_s11_owner_is() { # HOST VM STATE:OWNER as HOST's registry has it
    local o
    o=$(ct_reg_owner "$1" "$2")
    [ "${o%:*}" = "$3" ]
}
_s11_runs_on() { # VM HOST: libvirt runs it there and pacemaker says Started there
    ct_dom_is "$2" "$1" running && ct_is_started_on "$1" "$2"
}
_s11_running_once() { # VM -> host if it runs on exactly one host
    local h n=0 where=
    for h in $CT_HOSTS; do
        ct_dom_is "$h" "$1" running && { n=$((n + 1)); where=$h; }
    done
    [ $n = 1 ] && echo "$where"
}

# _s11_bystanders VM HOST -> "--allow-reboot V" for every other VM on HOST
# (lost with it: a boot elsewhere is all they can get)
_s11_bystanders() {
    local v
    for v in $(ct_vms); do
        [ "$v" != "$1" ] && [ "$(ct_where "$v")" = "$2" ] && printf -- '--allow-reboot %s ' "$v"
    done
    echo
}

# _s11_case a|b
_s11_case() {
    local c=$1 vm=vmw s d lost t ok=1 where allow=()
    s=$(ct_where "$vm")
    for d in $CT_HOSTS; do [ "$d" != "$s" ] && break; done
    t=$(ct_now_ns)
    # slow the copy down a little, so the stops land before it ends
    lab_shape "$s" mig 200mbit >>"$CT_OUT/run.log" 2>&1
    _s11_helper_stop "$d"
    ct_log "$c) $vm $s -> $d; vmhandoffd stopped on $d"
    ct_crm crm_resource --move -r "$vm" -N "$d" >>"$CT_OUT/run.log" 2>&1
    if [ "$c" = a ]; then
        # the source's helper must begin the handoff, then stop before
        # the agent's commit after the copy
        if ! ct_poll 30 0.05 "handoff begun" _s11_owner_is "$s" "$vm" "migrating:$s"; then
            ct_fail "a) the handoff $s -> $d begins" "$(ct_reg_owner "$s" "$vm")"
            _s11_helper_cont "$d"; lab_unshape "$s" mig
            return 1
        fi
        _s11_helper_stop "$s"
        ct_log "a) handoff begun; vmhandoffd stopped on $s too"

        # a: libvirt finishes the migration (the destination holds the
        # paused copy, the source's QEMU is gone: Finish and Confirm are
        # done), nobody can commit: lose the source. (Lost before
        # libvirt's Finish, the destination's libvirtd itself discards the
        # incoming copy: a restart from disk, as in b.)
        if ! ct_poll 90 0.1 "$vm complete and paused on $d, gone from $s" _s11_migrated "$s" "$d" "$vm"; then
            ct_fail "a) the migration $s -> $d completes into a paused copy" "$(_s11_reason "$d" "$vm")"
            _s11_helper_cont "$d"; _s11_helper_cont "$s"; lab_unshape "$s" mig
            return 1
        fi
        lost=$s
        read -ra allow <<<"$(_s11_bystanders "$vm" "$lost")"
        lab_poweroff "$s" >>"$CT_OUT/run.log" 2>&1
        _s11_helper_cont "$d"
        ct_log "a) $s powered off with the complete copy paused on $d, uncommitted; $d's vmhandoffd continued"
    else
        # b: the source's agent commits (its helper runs): the source copy
        # is destroyed, the destination cannot resume (helper stopped)
        if ! ct_poll 90 0.1 "$vm committed to $d" _s11_owner_is "$s" "$vm" "running:$d"; then
            ct_fail "b) the handoff $s -> $d is committed" "$(ct_reg_owner "$s" "$vm")"
            _s11_helper_cont "$d"; lab_unshape "$s" mig
            return 1
        fi
        ct_poll 10 0.1 "source copy gone" ct_dom_is "$s" "$vm" ""
        lost=$d
        read -ra allow <<<"$(_s11_bystanders "$vm" "$lost")"
        ct_log "b) committed to $d, source copy $(ct_dom_state "$s" "$vm" || true)gone, $d still paused: powering $d off"
        lab_poweroff "$d" >>"$CT_OUT/run.log" 2>&1
    fi
    lab_unshape "$s" mig >>"$CT_OUT/run.log" 2>&1
    # the move is over either way: left in place, its constraint would
    # send the VM back to the lost host as soon as that is up again
    ct_crm crm_resource --clear -r "$vm" >>"$CT_OUT/run.log" 2>&1
    [ ${#allow[@]} = 0 ] || ct_log "$c) also on $lost, so rebooted with it:${allow[*]//--allow-reboot/}"
    if ct_poll 240 0.5 "$lost fenced" ct_fenced_since "$lost" "$t"; then
        ct_ok "$c) $lost fenced by the cluster"
    else
        ct_fail "$c) $lost fenced by the cluster" "$(tail -3 "$LAB_D/fence.log" 2>/dev/null)"
        ok=0
    fi
    if ct_poll 240 0.5 "$vm running once" _s11_running_once "$vm" >/dev/null &&
        where=$(_s11_running_once "$vm") && ct_poll 120 0.5 "Started" ct_is_started_on "$vm" "$where"; then
        ct_ok "$c) $vm runs once again, on $where, $(( ($(ct_now_ns) - t) / 1000000000 )) s after the fault"
    else
        ct_fail "$c) $vm runs once again after $lost's fencing" "$(ct_rsc_state "$vm")" \
            "$(ct_helper_log_tail "$d" 0 "$vm")"
        ok=0
    fi
    ct_poll 240 0.5 "$lost back online" ct_nodes_online
    ct_settle 60
    # a) pacemaker recovers the dangling migration by stopping the
    # target's copy (the complete, paused one) and starting the VM again:
    # a boot from disk at either end
    ct_inv_check "$c) $([ "$c" = a ] && echo source || echo destination) lost in the commit window: never two copies, one boot from disk" \
        "s11-$c" "$t" --allow-reboot "$vm" "${allow[@]}" || ok=0
    [ $ok = 1 ]
}

sc_main() {
    local rc=0
    if [[ $(ct_rsc_state vmw) == absent* ]]; then
        ct_vm_define vmw --mem-mb 256 --wss-mb 32 --dirty-mbps 8 || { ct_fail "define vmw"; return 1; }
    fi
    [ "$(ct_where vmw)" != - ] || ct_vm_start vmw node1 ||
        { ct_fail "vmw running on node1" "$(ct_rsc_state vmw)"; return 1; }
    _s11_case a || rc=1
    ct_reset >/dev/null || { ct_fail "cluster back after a)"; return 1; }
    _s11_case b || rc=1
    return $rc
}
