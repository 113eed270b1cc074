# shellcheck shell=bash
# s3-drain: a host running 4 VMs is put in standby (crm_standby) with the
# cluster property migration-limit=2: every VM leaves by live migration,
# never more than 2 at a time out of the host (pacemaker's own log), none
# restarts; then the host leaves standby and nothing moves back
# (resource-stickiness).
SC_TITLE="drain a host of 4 VMs (standby, migration-limit=2), then unstandby"

sc_main() {
    local h t t_on vm vms="vm1 vm2 vm3 vm4" rc=0 left where placed n
    ct_vm_ensure vm1 node1 || { ct_fail "vm1 running" "$(ct_rsc_state vm1)"; return 1; }
    h=$(ct_where vm1)
    for vm in vm2 vm3 vm4; do
        if [[ $(ct_rsc_state "$vm") == absent* ]]; then
            ct_vm_define "$vm" --mem-mb 128 --wss-mb 8 --dirty-mbps 4 || { ct_fail "define $vm"; return 1; }
        fi
    done
    placed=()
    for vm in vm2 vm3 vm4; do
        where=$(ct_where "$vm")
        if [ "$where" = - ]; then
            placed+=("$vm $h")
        elif [ "$where" != "$h" ]; then
            ct_move "$vm" "$h" || { ct_fail "$vm moved to $h" "$(ct_rsc_state "$vm")"; return 1; }
        fi
    done
    if ((${#placed[@]})) && ! ct_vms_start "${placed[@]}"; then
        ct_fail "vm1..vm4 running on $h" "$(for vm in $vms; do ct_rsc_state "$vm"; done)"
        return 1
    fi
    ct_ok "vm1..vm4 running on $h"
    ct_settle 60

    # --- standby
    t=$(ct_now_ns)
    if ct_drain "$h" "$vms"; then
        ct_ok "standby: all 4 VMs Started on other hosts"
    else
        ct_fail "standby: all 4 VMs Started on other hosts" "$(for vm in $vms; do ct_rsc_state "$vm"; done)"
        rc=1
    fi
    ct_settle 60
    ct_inv_check "standby: no split, no reboot, none lost" s3-standby "$t"
    n=""
    for vm in $vms; do n+="$vm:$(ct_live_moves s3-standby "$vm" | tr ' ' /) "; done
    if [ "$n" = "vm1:1/1 vm2:1/1 vm3:1/1 vm4:1/1 " ]; then
        ct_ok "standby: each VM left $h by one live migration (live/moves: $n)"
    else
        ct_fail "standby: each VM left $h by one live migration" "live/moves: $n"
        rc=1
    fi
    local conc
    conc=$(_s3_max_concurrent_migrate_to "$h" "$t")
    if [[ $conc =~ ^[12]\  ]]; then
        ct_ok "standby: at most 2 migrations at a time out of $h (pacemaker log: max $conc)"
    else
        ct_fail "standby: at most 2 migrations at a time out of $h (pacemaker log)" "max concurrency: $conc"
        rc=1
    fi

    # --- unstandby: nothing moves back
    t_on=$(ct_now_ns)
    local before after
    before=$(for vm in $vms; do echo "$vm $(ct_where "$vm")"; done)
    ct_crm crm_standby --node "$h" --update off >>"$CT_OUT/run.log" 2>&1
    ct_poll 30 0.2 "$h out of standby" _s3_not_standby "$h"
    ct_settle 60
    after=$(for vm in $vms; do echo "$vm $(ct_where "$vm")"; done)
    if [ "$before" = "$after" ]; then
        ct_ok "unstandby: $h back, every VM stays where it is"
    else
        ct_fail "unstandby: $h back, every VM stays where it is" "before: $(echo $before)" "after: $(echo $after)"
        rc=1
    fi
    ct_inv_check "unstandby: no split, no reboot, none lost" s3-unstandby "$t_on"
    return $rc
}

_s3_not_standby() { ct_mon_xml | grep -Eq "<node name=\"$1\"[^>]* standby=\"false\""; }

# the most migrate_to of this host's executor running at once since TS_NS,
# from pacemaker's log: "max N (VM VM ...)"
_s3_max_concurrent_migrate_to() {
    python3 - "$LAB_D/$1/log/pacemaker/pacemaker.log" "$2" <<'EOF'
import datetime, re, sys
path, since = sys.argv[1], int(sys.argv[2]) / 1e9
year = datetime.datetime.now().year
start = re.compile(r"^(\w+ +\d+ [\d:.]+) .*Requesting local execution of migrate_to operation for (\S+) on")
end = re.compile(r"^(\w+ +\d+ [\d:.]+) .*Result of migrate_to operation for (\S+) on")
running, best, best_set = set(), 0, []
for line in open(path, errors="replace"):
    for rx, add in ((start, True), (end, False)):
        m = rx.match(line)
        if not m:
            continue
        ts = datetime.datetime.strptime("%d %s" % (year, m.group(1)), "%Y %b %d %H:%M:%S.%f").timestamp()
        if ts < since:
            continue
        (running.add if add else running.discard)(m.group(2))
        if len(running) > best:
            best, best_set = len(running), sorted(running)
print("%d (%s)" % (best, " ".join(best_set)))
EOF
}
