# shellcheck shell=bash
# s2-moves: crm_resource --move / --clear between every ordered pair of
# hosts (node1->node2->node3->node1, then back node1->node3->node2->node1),
# then one move with crmsh (crm resource move / clear). Every move must be
# a live migration: Started on the target in crm_mon, no guest reboot,
# the tick sequence consecutive across hosts, one copy at any instant.
SC_TITLE="moves between every pair of hosts, one with crmsh"

sc_main() {
    local t from to n=0 bad=0 tool kinds
    t=$(ct_now_ns)
    ct_vm_ensure vm1 node1 || { ct_fail "vm1 running before the moves" "$(ct_rsc_state vm1)"; return 1; }
    from=$(ct_where vm1)
    # start the round from node1
    if [ "$from" != node1 ]; then
        ct_move vm1 node1 || { ct_fail "vm1 moved to node1 first" "$(ct_rsc_state vm1)"; return 1; }
        t=$(ct_now_ns)
    fi
    for to in node2 node3 node1 node3 node2 node1 crmsh:node3; do
        tool=crm_resource
        [ "${to%%:*}" = crmsh ] && tool=crmsh to=${to#crmsh:}
        from=$(ct_where vm1)
        n=$((n + 1))
        if ct_move vm1 "$to" "$tool"; then
            ct_ok "move $n ($tool): vm1 $from -> $to, Started on $to"
        else
            ct_fail "move $n ($tool): vm1 $from -> $to, Started on $to" "$(ct_rsc_state vm1)" \
                "$(ct_failed_ops vm1)"
            bad=$((bad + 1))
            ct_crm crm_resource --cleanup -r vm1 >/dev/null 2>&1
            ct_settle 60
        fi
    done
    ct_settle 60
    ct_inv_check "no split, no reboot, ticks consecutive across hosts" s2-moves "$t"
    # every move a live migration: the target resumed the migrated copy and
    # the guest's ticks went on (no reboot), as many as commands
    kinds=$(ct_live_moves s2-moves vm1)
    if [ "$kinds" = "$n $n" ]; then
        ct_ok "all $n moves were live migrations (migrated copy resumed, ticks continued: $kinds)"
    else
        ct_fail "all $n moves were live migrations" "live, moves seen by the checker: ${kinds:-nothing}"
    fi
    # the tick sequence went on across every move: first seq on the target
    # = last on the source + 1 (+ 2 only with the evidence of a tick line
    # cut by the pause, see lib/ct_report_lib.py)
    local seqs
    seqs=$(ct_inv_query s2-moves '" ".join("%s->%s:%s%s" % (m["src"], m["dst"], seq_step(m), "" if seq_step(m) == 1 else "(line cut by the pause)" if seq_ok(m) else "(BAD)") for m in migs if m["vm"] == "vm1")')
    if [ -n "$seqs" ] && [[ $seqs != *BAD* ]] && [[ $seqs != *None* ]]; then
        ct_ok "tick seq consecutive across hosts (first on target - last on source: $seqs)"
    else
        ct_fail "tick seq consecutive across hosts" "${seqs:-no moves}"
    fi
    [ $bad = 0 ]
}
