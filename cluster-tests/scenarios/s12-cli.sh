# shellcheck shell=bash
# s12-cli: the operator's commands of `vmhandoff` on the real cluster.
# - `vmhandoff move VM NODE --wait --clear-after` on the source: pacemaker
#   migrates it live, the command follows the handoff (one line per
#   change, progress lines), ends 0 once the VM runs on NODE, and leaves no
#   move constraint;
# - `vmhandoff drain NODE --wait` from another host: every VM leaves the
#   node, the command lists each change and ends 0 when the node is empty;
#   `vmhandoff undrain NODE` takes it out of standby;
# - an unknown node is refused (exit 2) and changes nothing;
# - `vmhandoff history vm1` on the source, the target and the third host
#   shows that move: from, to, committed, the bytes and the activation gap
#   (the same figures on all three: the target shares them), as text and
#   as JSON that parses; an unknown VM is an error (exit 1).
SC_TITLE="vmhandoff move / drain / undrain / history: pacemaker's tools, followed through the registry"

sc_skip() {
    [ "$CT_AGENT" = vmhandoff ] || echo "the CLI follows vmhandoff's registry (agent $CT_AGENT)"
}

_s12_standby() { # HOST: crm_mon shows it in standby
    ct_mon_xml | grep -Eq "<node name=\"$1\"[^>]* standby=\"true\""
}

_s12_not_standby() { ! _s12_standby "$1"; }

# HOST FROM TO T_MS: HOST's `vmhandoff history vm1 --json` parses, and
# its last migration began at or after T_MS, FROM -> TO, committed, not
# learned late, with bytes > 0 and an activation gap > 0; prints
# "bytes gap_ms duration_ms" of it
_s12_history() {
    local json
    json=$(lab_exec "$1" vmhandoff history vm1 --json 2>&1) || return 1
    python3 -c '
import json, sys
h = json.loads(sys.argv[1])
m = h["migrations"][-1]
print(m["bytes"], m["activation_gap_ms"], m["duration_ms"])
sys.exit(0 if h["vm"] == "vm1" and m["start_ms"] >= int(sys.argv[4]) and
         m["from"]["name"] == sys.argv[2] and m["to"]["name"] == sys.argv[3] and
         m["outcome"] == "committed" and m["late"] is False and
         (m["bytes"] or 0) > 0 and (m["activation_gap_ms"] or 0) > 0 else 1)' \
        "$json" "$2" "$3" "$4"
}
_s12_history_ok() { _s12_history "$@" >/dev/null 2>&1; }
_s12_left() { # VM HOST: pacemaker runs VM on one other host
    local w
    w=$(ct_where "$1")
    [[ $w == node[0-9] ]] && [ "$w" != "$2" ]
}

sc_main() {
    local bad=0 from to other t out rc vms vm left h fig figs="" hbad=0
    ct_vm_ensure vm1 node1 || { ct_fail "vm1 running" "$(ct_rsc_state vm1)"; return 1; }
    ct_settle 30
    from=$(ct_where vm1)
    for to in $CT_HOSTS; do [ "$to" != "$from" ] && break; done
    for other in $CT_HOSTS; do [ "$other" != "$from" ] && [ "$other" != "$to" ] && break; done
    t=$(ct_now_ns)

    # --- move --wait --clear-after, on the source (it drives the copy)
    out=$(lab_exec "$from" vmhandoff move vm1 "$to" --wait --clear-after --timeout 120 2>&1)
    rc=$?
    printf '%s\n' "$out" >"$CT_OUT/s12-move.txt"
    if [ $rc = 0 ] && grep -q "vm1: moved to $to, live-migrated" <<<"$out" &&
        grep -q "vm1: migrating $from -> $to" <<<"$out" &&
        ct_poll 30 0.2 "pacemaker: vm1 Started on $to" ct_is_started_on vm1 "$to"; then
        ct_ok "vmhandoff move vm1 $to --wait: $(tail -1 <<<"$out")"
    else
        ct_fail "vmhandoff move vm1 $to --wait ends 0 with vm1 Started on $to" "rc $rc" "$(tail -4 <<<"$out")" \
            "$(ct_rsc_state vm1)"
        bad=$((bad + 1))
    fi
    if ct_crm cibadmin -Q -o constraints 2>/dev/null | grep -q 'cli-prefer-vm1'; then
        ct_fail "--clear-after removed the move constraint" "$(ct_crm cibadmin -Q -o constraints | grep cli-)"
        bad=$((bad + 1))
    else
        ct_ok "--clear-after: no move constraint left"
    fi

    # --- history: the move as every host saw it, with the target's figures
    for h in "$from" "$to" "$other"; do
        if ct_poll 10 0.5 "vmhandoff history vm1 on $h shows the move" \
            _s12_history_ok "$h" "$from" "$to" "$((t / 1000000))"; then
            fig=$(_s12_history "$h" "$from" "$to" "$((t / 1000000))")
            figs="$figs${figs:+, }$h: ${fig% *}"
            [ "${fig% *}" = "$(_s12_history "$from" "$from" "$to" "$((t / 1000000))" | cut -d' ' -f1-2)" ] ||
                hbad=1
        else
            hbad=1
            figs="$figs${figs:+, }$h: $(lab_exec "$h" vmhandoff history vm1 --json 2>&1 | tail -c 400)"
        fi
    done
    out=$(lab_exec "$other" vmhandoff history vm1 2>&1)
    printf '%s\n' "$out" >"$CT_OUT/s12-history.txt"
    grep -Eq "^  [0-9-]+ [0-9:]+ +$from +$to +[0-9.]+ s +[0-9.]+ ms +[0-9.]+ [KMG]?i?B +committed\$" <<<"$out" ||
        hbad=1
    if [ $hbad = 0 ]; then
        ct_ok "vmhandoff history vm1 on $from, $to, $other: $from -> $to committed, the same bytes and activation gap (ms) on each ($figs)"
    else
        ct_fail "vmhandoff history vm1 on every host shows $from -> $to committed with bytes and a gap, alike" \
            "$figs" "$(tail -3 <<<"$out")"
        bad=$((bad + 1))
    fi
    out=$(lab_exec "$other" vmhandoff history nosuchvm 2>&1)
    rc=$?
    if [ $rc = 1 ] && grep -q "nosuchvm: unknown VM" <<<"$out"; then
        ct_ok "vmhandoff history nosuchvm: exit 1 ($out)"
    else
        ct_fail "vmhandoff history of an unknown VM: exit 1, 'unknown VM'" "rc $rc: $out"
        bad=$((bad + 1))
    fi

    # --- an unknown node
    out=$(lab_exec "$other" vmhandoff move vm1 nosuchnode --wait 2>&1)
    rc=$?
    if [ $rc = 2 ] && grep -q "no such node" <<<"$out" && [ "$(ct_where vm1)" = "$to" ]; then
        ct_ok "vmhandoff move vm1 nosuchnode: refused, exit 2 ($out)"
    else
        ct_fail "vmhandoff move to an unknown node is refused with exit 2" "rc $rc: $out"
        bad=$((bad + 1))
    fi

    # --- drain --wait from another host, then undrain
    vms=$(for vm in $(ct_crm crm_resource --list-raw 2>/dev/null | grep -v fence); do
        [ "$(ct_where "$vm")" = "$to" ] && printf '%s ' "$vm"; done)
    out=$(lab_exec "$other" vmhandoff drain "$to" --wait --timeout 240 2>&1)
    rc=$?
    printf '%s\n' "$out" >"$CT_OUT/s12-drain.txt"
    left=
    for vm in $vms; do ct_poll 30 0.5 "$vm left $to" _s12_left "$vm" "$to" || left="$left $vm"; done
    if [ $rc = 0 ] && grep -q "$to: empty after" <<<"$out" && [ -z "$left" ]; then
        ct_ok "vmhandoff drain $to --wait: $vms-> $(grep -c ': running on ' <<<"$out") change line(s), $(tail -1 <<<"$out")"
    else
        ct_fail "vmhandoff drain $to --wait ends 0 with $to empty" "rc $rc" "$(tail -5 <<<"$out")" "still there:$left"
        bad=$((bad + 1))
    fi
    out=$(lab_exec "$other" vmhandoff undrain "$to" 2>&1)
    rc=$?
    if [ $rc = 0 ] && ct_poll 30 0.5 "$to out of standby" _s12_not_standby "$to"; then
        ct_ok "vmhandoff undrain $to: standby off"
    else
        ct_fail "vmhandoff undrain $to" "rc $rc: $out"
        bad=$((bad + 1))
    fi
    ct_settle 60
    ct_inv_check "CLI moves and drain: one copy, no reboot" s12-cli "$t"
    [ $bad = 0 ]
}
