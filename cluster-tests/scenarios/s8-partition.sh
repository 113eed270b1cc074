# shellcheck shell=bash
# s8-partition: a partition without a fence device (stonith-enabled=false,
# the resource with require_fencing=false), as many clusters run.
# The owner's cluster ring is cut: 2 hosts against 1.
# - pacemaker on the majority starts the VM at once (it has no fencing to
#   wait for), but the registry holds that claim until the isolated node's
#   own rule has paused it (quorum_loss_pause) plus a margin: NODE_EXPIRED;
# - the isolated owner's vmhandoffd pauses the VM when its partition has
#   had no quorum for quorum_loss_pause;
# - never two copies running; the VM runs once on the majority side;
# - the ring back: the isolated node rejoins and syncs; its copy never
#   runs again (pacemaker stops it); the registry is the same everywhere.
SC_TITLE="partition 2 vs 1 without fencing: quorum-loss pause, expiry, one copy"

sc_skip() {
    [ "$CT_AGENT" = vmhandoff ] || echo "the registry is vmhandoff's (agent $CT_AGENT)"
}

_s8_not_running() { ! ct_dom_is "$1" vmp running; }
_s8_started_elsewhere() { # ISOLATED: pacemaker of the majority shows vmp Started on another host
    local w
    w=$(_ct_crm_on "$2" crm_resource -r vmp --locate 2>/dev/null | grep -o 'running on: node[0-9]*' | cut -d' ' -f3 | sort -u)
    [ -n "$w" ] && [ "$w" != "$1" ] && [ "$(wc -l <<<"$w")" = 1 ] && ct_dom_is "$w" vmp running
}

_s8_expiry_reported() { # ISOLATED: a host of the majority reported it expired
    local h
    for h in $CT_HOSTS; do
        [ "$h" = "$1" ] && continue
        ct_helper_log_since "$h" "${sz[$h]}" "\\($1\\) has been out of the membership for [0-9]+ ms: reporting it expired" &&
            return 0
    done
    return 1
}

sc_main() {
    local bad=0 iso maj new t t_cut t_pause t_run sz_iso o h pause_s e_takeover reg vm
    local -a allow=(--allow-reboot vmp)
    local -A sz=()
    pause_s=${LAB_QUORUM_LOSS_PAUSE:-10}
    if [[ $(ct_rsc_state vmp) == absent* ]]; then
        ct_vm_define vmp --mem-mb 128 --wss-mb 8 --dirty-mbps 4 || { ct_fail "define vmp"; return 1; }
        ct_crm crm_resource -r vmp --set-parameter require_fencing -v false >>"$CT_OUT/run.log" 2>&1
    fi
    # freeze: pacemaker in the isolated partition leaves the VM alone, so
    # only vmhandoffd's quorum-loss pause keeps it from running twice
    ct_crm configure property stonith-enabled=false no-quorum-policy=freeze >>"$CT_OUT/run.log" 2>&1
    [ "$(ct_where vmp)" != - ] || ct_vm_start vmp node3 ||
        { ct_fail "vmp running on node3" "$(ct_rsc_state vmp)"; return 1; }
    iso=$(ct_where vmp)
    for maj in $CT_HOSTS; do [ "$maj" != "$iso" ] && break; done
    ct_poll 10 0.2 "registry agrees" ct_reg_agreed vmp "running:$iso"
    for h in $CT_HOSTS; do sz[$h]=$(ct_helper_log_size "$h"); done
    sz_iso=${sz[$iso]}

    t=$(ct_now_ns)
    t_cut=$(ct_now_ms)
    ct_log "cutting $iso's cluster ring (vmp runs there; stonith-enabled=false, require_fencing=false)"
    # other VMs leave the host to be isolated first (they keep
    # require_fencing=true, and without a fence device nobody may take
    # them over)
    for vm in $(ct_crm crm_resource --list-raw 2>/dev/null); do
        [ "$vm" != vmp ] && [ "$(ct_where "$vm")" = "$iso" ] && ct_move "$vm" "$maj" >/dev/null
    done
    ct_settle 60
    # any left on the isolated host keep require_fencing=true: without a
    # fence device nobody may take them over; pacemaker restarts them once
    # after the merge (freeze: multiple-active). Their reboots are allowed.
    for vm in $(ct_crm crm_resource --list-raw 2>/dev/null); do
        [ "$vm" != vmp ] && [ "$(ct_where "$vm")" = "$iso" ] && allow+=(--allow-reboot "$vm")
    done
    [ ${#allow[@]} -gt 2 ] && ct_log "bystanders on $iso (require_fencing=true): ${allow[*]:2}"
    lab_link "$iso" ring down

    # the isolated owner pauses its VM after quorum_loss_pause
    if ct_poll $((pause_s + 40)) 0.1 "vmp paused or gone on $iso" _s8_not_running "$iso"; then
        t_pause=$(ct_now_ms)
        ct_ok "$iso (isolated, no quorum) stopped running vmp after $(((t_pause - t_cut) / 1000)) s ($(ct_dom_state "$iso" vmp); quorum_loss_pause ${pause_s} s)"
    else
        ct_fail "$iso (isolated) stops running vmp" "$(ct_dom_state "$iso" vmp)" \
            "$(ct_helper_log_tail "$iso" "$sz_iso" vmp)"
        bad=$((bad + 1))
    fi
    if ct_helper_log_since "$iso" "$sz_iso" 'vmp: no quorum: pausing it in'; then
        ct_ok "$iso's vmhandoffd scheduled the quorum-loss pause of vmp"
    else
        ct_fail "$iso's vmhandoffd scheduled the quorum-loss pause" "$(ct_helper_log_tail "$iso" "$sz_iso")"
        bad=$((bad + 1))
    fi

    # the majority runs it once, after the expiry
    if ct_poll 150 0.5 "vmp Started on the majority side" _s8_started_elsewhere "$iso" "$maj"; then
        t_run=$(ct_now_ms)
        new=$(_ct_crm_on "$maj" crm_resource -r vmp --locate 2>/dev/null | grep -o 'running on: node[0-9]*' | cut -d' ' -f3)
        ct_ok "vmp runs on $new (majority) $(((t_run - t_cut) / 1000)) s after the cut"
    else
        ct_fail "vmp Started on the majority side" "$(_ct_crm_on "$maj" crm_mon -1 2>&1 | grep vmp)"
        bad=$((bad + 1))
        new=
    fi
    if [ -n "$new" ] && ct_helper_log_since "$new" "${sz[$new]}" "vmp: CLAIM waits for a departed node" &&
        _s8_expiry_reported "$iso"; then
        ct_ok "the majority's claim of vmp waited until $iso was reported expired (quorum_loss_pause + margin after it left)"
    else
        ct_fail "the majority's claim waited for the isolated owner's expiry" \
            "$(ct_helper_log_tail "${new:-$maj}" "${sz[${new:-$maj}]}" 'vmp|expir')"
        bad=$((bad + 1))
    fi
    o=$(ct_reg_owner "$maj" vmp)
    e_takeover=${o##*:}
    if [ -n "$new" ] && [ "${o%:*}" = "running:$new" ]; then
        ct_ok "the majority's registry names $new owner ($o)"
    else
        ct_fail "the majority's registry names the new owner" "$o"
        bad=$((bad + 1))
    fi

    # the ring back. The isolated pacemaker, frozen, still has vmp as
    # active (its last monitor saw the paused copy): after the merge the
    # DC may find vmp active twice and stop and start it once (the
    # registry destroys the stale copy as soon as it syncs). Either way:
    # one copy, and the registry agrees with pacemaker.
    lab_link "$iso" ring up
    if ct_poll 180 0.5 "all nodes online" ct_nodes_online && ct_settle 120 &&
        o=$(ct_where vmp) && [[ $o == node[0-9] ]] &&
        ct_poll 60 0.5 "registry agrees after the merge" ct_reg_agreed vmp "running:$o"; then
        ct_ok "ring back: $iso rejoined; vmp runs once, on $o, every registry names it ($(ct_reg_owner "$iso" vmp))"
    else
        ct_fail "ring back: $iso rejoined, vmp runs once and the registries agree" "$(ct_rsc_state vmp)" \
            "$(ct_reg_all_owners vmp)"
        bad=$((bad + 1))
    fi
    reg=$(ct_reg_owner "$maj" vmp)
    [ "${reg##*:}" -gt "${e_takeover:-0}" ] 2>/dev/null &&
        ct_log "note: after the merge pacemaker stopped and started vmp once (epoch $e_takeover -> ${reg##*:}): the frozen partition's last monitor had it active (multiple-active); with no-quorum-policy=stop (the default) it does not"
    if ct_helper_log_since "$iso" "$sz_iso" "vmp: (ownership moved to another node|quorum is back, and meanwhile the registry gave it to)"; then
        ct_ok "$iso's vmhandoffd destroyed its stale paused copy when it synced"
    else
        ct_fail "$iso's vmhandoffd destroyed its stale paused copy" "$(ct_helper_log_tail "$iso" "$sz_iso" vmp)"
        bad=$((bad + 1))
    fi
    for h in $CT_HOSTS; do
        [ "$h" = "$o" ] && continue
        if ct_dom_is "$h" vmp running; then
            ct_fail "after the merge vmp runs on $o only" "$h: running"
            bad=$((bad + 1))
        fi
    done
    ct_inv_check "partition without fencing: never two copies" s8-partition "$t" "${allow[@]}"
    ct_crm configure property stonith-enabled=true no-quorum-policy=stop >>"$CT_OUT/run.log" 2>&1
    [ $bad = 0 ]
}
