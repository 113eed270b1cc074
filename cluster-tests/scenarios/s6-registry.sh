# shellcheck shell=bash
# s6-registry: vmhandoffd's owner registry on the real cluster.
# - every host's vmhandoffd joined the CPG group, the registry is quorate,
#   each published its address in the migration network;
# - the registry names pacemaker's node as the owner of a running VM, the
#   same owner and epoch on every host;
# - a move hands the VM over: the target's vmhandoffd resumes it on the
#   delivery of the commit, the owner follows, the epoch grows;
# - a start of the running VM on another host (the agent run by hand, as
#   a confused pacemaker would) is refused by the registry: no second copy;
# - enforcement: a copy of a managed VM started behind pacemaker's back
#   (libvirt directly) on a node that does not own it is paused at once;
# - a restart of vmhandoffd keeps the registry (state file + sync) and
#   leaves the guest running;
# - files and permissions: state dir 0700 root, nothing in it readable by
#   others, socket 0660 root:haclient in a 0750 root:haclient directory,
#   nothing world-writable; a user outside haclient cannot connect, and
#   even with the file permission bypassed (CAP_DAC_OVERRIDE) is refused
#   by its credentials; hacluster (in haclient) is served.
SC_TITLE="the owner registry: claim, handoff, refusal, enforcement, restart, permissions"

sc_skip() {
    [ "$CT_AGENT" = vmhandoff ] || echo "the registry is vmhandoff's (agent $CT_AGENT)"
}

sc_main() {
    local h bad=0 t from to o0 o1 e0 e1 other rc out pid sz
    # --- the registry itself
    for h in $CT_HOSTS; do
        if ct_poll 30 0.5 "registry on $h" ct_reg_q "$h" "d['joined'] and d['registry_quorate'] and not d['syncing'] or exit(1)" >/dev/null; then :; fi
    done
    out=$(for h in $CT_HOSTS; do ct_reg_q "$h" "'%s:%s:%s:%s' % (d['self']['name'], d['registry_quorate'], sum(n['member'] for n in d['nodes']), ','.join(sorted(n['address'] or '-' for n in d['nodes'])))"; done | sort -u)
    if [ "$(echo "$out" | wc -l)" = 3 ] && ! grep -q -e False -e ':-' -e ',-' <<<"$out" &&
        [ "$(echo "$out" | cut -d: -f4 | sort -u | wc -l)" = 1 ] &&
        [ "$(echo "$out" | cut -d: -f3 | sort -u)" = 3 ]; then
        ct_ok "vmhandoffd on every host: joined, registry quorate, 3 members, addresses published ($(echo "$out" | head -1 | cut -d: -f4))"
    else
        ct_fail "vmhandoffd on every host: joined, registry quorate, 3 members, addresses published" "$out"
        bad=$((bad + 1))
    fi

    _s6_permissions node1 || bad=$((bad + 1))

    # --- the owner is pacemaker's node, on every host alike
    ct_vm_ensure vm1 node1 || { ct_fail "vm1 running" "$(ct_rsc_state vm1)"; return 1; }
    from=$(ct_where vm1)
    if ct_poll 10 0.2 "registry agrees" ct_reg_agreed vm1 "running:$from"; then
        ct_ok "the registry names $from (pacemaker's node) owner of vm1, on every host alike: $(ct_reg_owner node1 vm1)"
    else
        ct_fail "the registry names $from owner of vm1 on every host" "$(ct_reg_all_owners vm1)"
        bad=$((bad + 1))
    fi

    # --- a move hands it over
    o0=$(ct_reg_owner "$from" vm1)
    e0=${o0##*:}
    for to in $CT_HOSTS; do [ "$to" != "$from" ] && break; done
    sz=$(ct_helper_log_size "$to")
    t=$(ct_now_ns)
    if ct_move vm1 "$to"; then
        ct_ok "move vm1 $from -> $to: Started on $to"
    else
        ct_fail "move vm1 $from -> $to: Started on $to" "$(ct_rsc_state vm1)" "$(ct_failed_ops vm1)"
        bad=$((bad + 1))
    fi
    o1=$(ct_reg_owner "$to" vm1)
    e1=${o1##*:}
    if ct_poll 10 0.2 "registry follows" ct_reg_agreed vm1 "running:$to" && [ "${e1:-0}" -gt "${e0:-0}" ]; then
        ct_ok "the registry follows the move: owner $to, epoch $e0 -> $e1, on every host"
    else
        ct_fail "the registry follows the move (owner $to, epoch grows)" "before $o0, now $(ct_reg_all_owners vm1)"
        bad=$((bad + 1))
    fi
    if ct_helper_log_since "$to" "$sz" 'vm1: resumed \(handoff committed to this node\)'; then
        ct_ok "$to's vmhandoffd resumed vm1 on the delivery of the commit"
    else
        ct_fail "$to's vmhandoffd resumed vm1 on the delivery of the commit" \
            "$(tail -c +"$((sz + 1))" "$LAB_D/$to/log/vmhandoffd.out" | grep vm1 | tail -5)"
        bad=$((bad + 1))
    fi
    ct_settle 30
    ct_inv_check "handoff: one copy at any instant, no reboot" s6-move "$t"

    # --- a migration parameter changed on the running VM: reloaded, the
    # guest untouched (reloadable="1": pacemaker runs reload-agent)
    t=$(ct_now_ns)
    ct_crm crm_resource -r vm1 --set-parameter migration_downtime -v 300 >>"$CT_OUT/run.log" 2>&1
    ct_settle 30
    if ct_started_healthy vm1 && [ "$(ct_where vm1)" = "$to" ] &&
        lab_exec "$to" grep -q 'vm1_reload-agent_0' /var/log/pacemaker/pacemaker.log; then
        ct_ok "migration_downtime changed on the running vm1: pacemaker ran reload-agent on $to"
    else
        ct_fail "migration_downtime changed on the running vm1: pacemaker runs reload-agent" \
            "$(ct_rsc_state vm1)" "$(lab_exec "$to" grep 'vm1_' /var/log/pacemaker/pacemaker.log | tail -3)"
        bad=$((bad + 1))
    fi
    ct_inv_check "the reload: vm1 neither stopped nor rebooted" s6-reload "$t" || bad=$((bad + 1))
    ct_crm crm_resource -r vm1 --delete-parameter migration_downtime >>"$CT_OUT/run.log" 2>&1
    ct_settle 30

    # --- a start on another host while it runs: refused, no second copy
    for other in $CT_HOSTS; do [ "$other" != "$to" ] && break; done
    t=$(ct_now_ns)
    out=$(lab_exec "$other" env OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=vm1 \
        OCF_RESKEY_config="$LAB_D/vms/vm1.xml" OCF_RESKEY_hypervisor=qemu:///system \
        OCF_RESKEY_CRM_meta_timeout=30000 \
        /usr/lib/ocf/resource.d/vmhandoff/VirtualDomain start 2>&1)
    rc=$?
    if [ $rc = 1 ] && grep -q "owner $to" <<<"$out" && ! ct_dom_is "$other" vm1 running &&
        [ -z "$(ct_lv_events vm1 "$other" "$t" 'STARTED|RESUMED')" ]; then
        ct_ok "a start of vm1 on $other while $to runs it: refused (rc 1: $(grep -o 'registry refused[^"]*' <<<"$out" | head -1)), no copy started"
    else
        ct_fail "a start of vm1 on $other while $to runs it is refused" "rc $rc" "$(tail -3 <<<"$out")" \
            "libvirt on $other: $(ct_dom_state "$other" vm1)"
        bad=$((bad + 1))
    fi

    # --- enforcement: stopped in the registry, started behind its back
    t=$(ct_now_ns)
    ct_crm crm_resource -r vm1 --meta -p target-role -v Stopped >>"$CT_OUT/run.log" 2>&1
    if ct_poll 90 0.2 "vm1 stopped" ct_is_stopped vm1 &&
        ct_poll 10 0.2 "registry: stopped" ct_reg_agreed vm1 "stopped:-"; then
        ct_ok "stop: vm1 released in the registry ($(ct_reg_owner node1 vm1))"
    else
        ct_fail "stop: vm1 released in the registry" "$(ct_rsc_state vm1)" "$(ct_reg_all_owners vm1)"
        bad=$((bad + 1))
    fi
    sz=$(ct_helper_log_size "$other")
    lab_exec "$other" virsh -q create "$LAB_D/vms/vm1.xml" >>"$CT_OUT/run.log" 2>&1
    if ct_poll 10 0.1 "rogue vm1 paused" ct_dom_is "$other" vm1 paused &&
        ct_helper_log_since "$other" "$sz" "vm1 is running on this node, but the registry does not allow it"; then
        ct_ok "vm1 started behind pacemaker's back on $other: paused by vmhandoffd at once"
    else
        ct_fail "vm1 started behind pacemaker's back on $other is paused" \
            "libvirt: $(ct_dom_state "$other" vm1)" "$(tail -c +"$((sz + 1))" "$LAB_D/$other/log/vmhandoffd.out" | tail -3)"
        bad=$((bad + 1))
    fi
    lab_exec "$other" virsh -q destroy vm1 >>"$CT_OUT/run.log" 2>&1
    ct_poll 10 0.2 "rogue vm1 gone" ct_dom_is "$other" vm1 ""

    # --- a restart of vmhandoffd keeps the registry, the guest runs on
    ct_vm_start vm1 "$to" || { ct_fail "vm1 started again on $to" "$(ct_rsc_state vm1)"; return 1; }
    o0=$(ct_reg_owner "$to" vm1)
    pid=$(lab_exec "$to" pgrep -x vmhandoffd)
    t=$(ct_now_ns)
    lab_exec "$to" kill -TERM "$pid"
    ct_poll 10 0.2 "vmhandoffd on $to gone" _s6_no_helper "$to"
    if lab_helper_start "$to" && ct_poll 20 0.5 "registry synced on $to" ct_reg_agreed vm1 "running:$to"; then
        o1=$(ct_reg_owner "$to" vm1)
        if [ "${o1##*:}" -ge "${o0##*:}" ] && ct_dom_is "$to" vm1 running; then
            ct_ok "vmhandoffd restarted on $to: registry kept ($o0 -> $o1), vm1 ran on"
        else
            ct_fail "vmhandoffd restarted on $to: registry kept, vm1 ran on" "$o0 -> $o1" "$(ct_dom_state "$to" vm1)"
            bad=$((bad + 1))
        fi
    else
        ct_fail "vmhandoffd restarted on $to and synced" "$(ct_reg_all_owners vm1)" \
            "$(tail -5 "$LAB_D/$to/log/vmhandoffd.out")"
        bad=$((bad + 1))
    fi
    ct_inv_check "restart of the helper: one copy, no reboot" s6-restart "$t"
    [ $bad = 0 ]
}

_s6_no_helper() { ! lab_exec "$1" pgrep -x vmhandoffd >/dev/null 2>&1; }

# The daemon's files and who may talk to it, on HOST (the lab runs it with
# --state-dir $LAB_D/HOST/lib/vmhandoff and the default socket).
_s6_permissions() {
    local h=$1 bad=0 sock=/run/vmhandoff/vmhandoffd.sock dir got out rc
    dir=$LAB_D/$h/lib/vmhandoff
    got=$(lab_exec "$h" stat -c '%a %U' "$dir")
    out=$(lab_exec "$h" find "$dir" -mindepth 1 -perm /o=rwx,g=w -printf '%m %p\n')
    if [ "$got" = "700 root" ] && [ -z "$out" ] && lab_exec "$h" test -s "$dir/registry.state"; then
        ct_ok "state dir $got, nothing in it open to others"
    else
        ct_fail "state dir 0700 root, nothing in it open to others" "$got" "$out" \
            "$(lab_exec "$h" ls -la "$dir")"
        bad=$((bad + 1))
    fi
    got="$(lab_exec "$h" stat -c '%a %U:%G %F' "$sock"); $(lab_exec "$h" stat -c '%a %U:%G' "${sock%/*}")"
    if [ "$got" = "660 root:haclient socket; 750 root:haclient" ]; then
        ct_ok "socket 0660 root:haclient in a 0750 root:haclient directory"
    else
        ct_fail "socket 0660 root:haclient in a 0750 root:haclient directory" "$got"
        bad=$((bad + 1))
    fi
    out=$(lab_exec "$h" find "$dir" "${sock%/*}" /usr/sbin/vmhandoffd /usr/sbin/vmhandoff \
        -perm -o=w ! -type l -printf '%m %p\n' 2>&1)
    if [ -z "$out" ]; then
        ct_ok "nothing world-writable (state dir, socket dir, programs)"
    else
        ct_fail "nothing world-writable" "$out"
        bad=$((bad + 1))
    fi
    # nobody: the socket's mode stops it
    out=$(lab_exec "$h" setpriv --reuid=nobody --regid=nogroup --clear-groups vmhandoff status 2>&1)
    rc=$?
    if [ $rc != 0 ] && grep -qi 'permission denied' <<<"$out"; then
        ct_ok "a user outside haclient cannot connect (exit $rc: $(head -1 <<<"$out"))"
    else
        ct_fail "a user outside haclient cannot connect" "exit $rc" "$(head -3 <<<"$out")"
        bad=$((bad + 1))
    fi
    # nobody with the file permission bypassed: the daemon's credential check
    out=$(lab_exec "$h" setpriv --reuid=nobody --regid=nogroup --clear-groups \
        --inh-caps=+dac_override --ambient-caps=+dac_override vmhandoff status 2>&1)
    rc=$?
    if [ $rc != 0 ] && grep -q 'root or haclient only' <<<"$out"; then
        ct_ok "a user outside haclient past the socket's mode is refused by its credentials (exit $rc)"
    else
        ct_fail "a user outside haclient past the socket's mode is refused by its credentials" \
            "exit $rc" "$(head -3 <<<"$out")"
        bad=$((bad + 1))
    fi
    out=$(lab_exec "$h" setpriv --reuid=hacluster --regid=haclient --init-groups vmhandoff status 2>&1)
    rc=$?
    if [ $rc = 0 ] && grep -q "$h" <<<"$out"; then
        ct_ok "hacluster (haclient) is served"
    else
        ct_fail "hacluster (haclient) is served" "exit $rc" "$(head -3 <<<"$out")"
        bad=$((bad + 1))
    fi
    [ $bad = 0 ]
}
