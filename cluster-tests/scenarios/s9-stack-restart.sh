# shellcheck shell=bash
# s9-stack-restart: the whole cluster stack restarted under the running
# VMs (maintenance-mode): pacemaker and corosync stopped on every host,
# vmhandoffd too on node1 (it starts again from its state file), left
# running on the others (they lose corosync and reconnect).
# - without corosync every vmhandoffd counts as "not quorate": the VMs it
#   owns are paused after quorum_loss_pause, none is destroyed;
# - corosync back: the daemons reconnect, node1's restarts from disk; every
#   registry has the same owners and epochs as before (nothing lost);
#   each VM is resumed on its owner (nothing was decided meanwhile);
# - maintenance off: nothing moves, nothing restarts; the checker: one
#   copy of each VM at any instant, no guest reboot.
SC_TITLE="whole-cluster stack restart: the registry keeps everything, VMs pause and resume"

sc_skip() {
    [ "$CT_AGENT" = vmhandoff ] || echo "the registry is vmhandoff's (agent $CT_AGENT)"
}

_s9_gone() { ! lab_exec "$1" pgrep -x "$2" >/dev/null 2>&1; }
_s9_stop() { # HOST PROGRAM: SIGTERM to the host's PROGRAM (by pid), wait until gone
    local pid
    pid=$(lab_exec "$1" pgrep -x "$2" 2>/dev/null) || return 0
    lab_exec "$1" kill -TERM $pid
    ct_poll 60 0.2 "$2 on $1 gone" _s9_gone "$1" "$2"
}
_s9_registry_view() { # HOST: "vm=state:owner:epoch ..." of every VM, sorted
    ct_reg_q "$1" "' '.join(sorted('%s=%s:%s:%s' % (v['name'], v['state'], (v['owner'] or {}).get('name') or '-', v['epoch']) for v in d['vms']))"
}
_s9_all_views_are() { # VIEW: every host's registry shows VIEW
    local h
    for h in $CT_HOSTS; do [ "$(_s9_registry_view "$h")" = "$1" ] || return 1; done
}
_s9_all_synced() { # every registry joined, quorate, 3 members, not syncing
    local h
    for h in $CT_HOSTS; do
        [ "$(ct_reg_q "$h" "d['joined'] and d['registry_quorate'] and not d['syncing'] and sum(n['member'] for n in d['nodes']) == 3")" = True ] ||
            return 1
    done
}
_s9_running_where() { # "vm@host ..." of the running domains (libvirt), sorted
    local h vm
    for h in $CT_HOSTS; do
        for vm in $(lab_exec "$h" virsh -q list --name 2>/dev/null); do
            ct_dom_is "$h" "$vm" running && echo "$vm@$h"
        done
    done | sort | xargs
}
_s9_all_paused() { # "vm@host ...": each of them paused
    local p
    for p in $1; do ct_dom_is "${p#*@}" "${p%@*}" paused || return 1; done
}

_s9_unmanaged() { # "vm@host ...": each unmanaged in crm_mon
    local p xml
    xml=$(ct_mon_xml) || return 1
    for p in $1; do ct_rsc_state "${p%@*}" "$xml" | grep -q 'managed=false' || return 1; done
}

sc_main() {
    local bad=0 h t view running
    local -A sz=()
    ct_vm_ensure vm1 node1 || { ct_fail "vm1 running" "$(ct_rsc_state vm1)"; return 1; }
    ct_settle 60
    view=$(_s9_registry_view node1)
    running=$(_s9_running_where)
    if ! _s9_all_views_are "$view" || [ -z "$running" ]; then
        ct_fail "before: registries agree and VMs run" "$view" "$running"
        return 1
    fi
    ct_log "before: registry $view; running $running"
    for h in $CT_HOSTS; do sz[$h]=$(ct_helper_log_size "$h"); done

    t=$(ct_now_ns)
    ct_crm crm_attribute --type crm_config --name maintenance-mode --update true >>"$CT_OUT/run.log" 2>&1
    ct_poll 30 0.5 "VMs unmanaged" _s9_unmanaged "$running" ||
        { ct_fail "maintenance-mode: the VMs unmanaged" "$(ct_mon_xml | grep -c 'managed=\"false\"')"; return 1; }
    for h in $CT_HOSTS; do _s9_stop "$h" pacemakerd; done
    _s9_stop node1 vmhandoffd
    for h in $CT_HOSTS; do _s9_stop "$h" corosync; done
    # node1's starts again while corosync is down: from its state file only
    lab_helper_start node1 >>"$CT_OUT/run.log" 2>&1
    ct_log "cluster stack down on every host (vmhandoffd restarted on node1 without corosync, running on the others)"
    if ct_poll 60 0.2 "VMs paused without corosync" _s9_all_paused "$running"; then
        ct_ok "without corosync every VM was paused by its owner's vmhandoffd ($running; node1's from its state file), none destroyed"
    else
        ct_fail "without corosync the VMs are paused, not destroyed" \
            "$(for p in $running; do printf '%s=%s ' "$p" "$(ct_dom_state "${p#*@}" "${p%@*}")"; done)"
        bad=$((bad + 1))
    fi

    for h in $CT_HOSTS; do _lab_start_corosync "$h"; done
    for h in $CT_HOSTS; do lab_wait_for 60 "corosync on $h" _lab_corosync_ok "$h" >/dev/null; done
    if ct_poll 90 0.5 "registries joined and synced" _s9_all_synced && _s9_all_views_are "$view"; then
        ct_ok "corosync back: every vmhandoffd joined and synced, quorate; every registry as before ($view)"
    else
        ct_fail "every registry as before the restart" "before: $view" \
            "$(for h in $CT_HOSTS; do printf '%s: %s; ' "$h" "$(_s9_registry_view "$h")"; done)"
        bad=$((bad + 1))
    fi
    for h in $CT_HOSTS; do
        [ "$h" = node1 ] && continue	# restarted while corosync was down
        if ct_helper_log_since "$h" "${sz[$h]}" "lost the corosync connection" &&
            ct_helper_log_since "$h" "${sz[$h]}" "corosync quorum regained"; then
            ct_ok "$h's vmhandoffd lost corosync, reconnected and synced"
        else
            ct_fail "$h's vmhandoffd reconnected to corosync" "$(ct_helper_log_tail "$h" "${sz[$h]}")"
            bad=$((bad + 1))
        fi
    done
    if ct_poll 60 0.2 "VMs resumed" [ "$(_s9_running_where)" = "$running" ]; then
        ct_ok "every VM resumed on its owner ($running)"
    else
        ct_fail "every VM resumed on its owner" "before: $running" "now: $(_s9_running_where)"
        bad=$((bad + 1))
    fi

    for h in $CT_HOSTS; do lab_start_pacemaker "$h" >>"$CT_OUT/run.log" 2>&1; done
    ct_poll 180 0.5 "all nodes online" ct_nodes_online ||
        { ct_fail "pacemaker back on every host" "$(ct_crm crm_mon -1 2>&1 | head -20)"; bad=$((bad + 1)); }
    ct_crm crm_attribute --type crm_config --name maintenance-mode --update false >>"$CT_OUT/run.log" 2>&1
    ct_settle 120
    if [ "$(_s9_running_where)" = "$running" ] && _s9_all_views_are "$view"; then
        ct_ok "maintenance off: nothing moved or restarted ($running; registry $view)"
    else
        ct_fail "maintenance off: nothing moved or restarted" "before: $running / $view" \
            "now: $(_s9_running_where) / $(_s9_registry_view node1)"
        bad=$((bad + 1))
    fi
    ct_inv_check "stack restart: one copy of each VM at any instant, no reboot" s9-restart "$t"
    [ $bad = 0 ]
}
