# shellcheck shell=bash
# s10-libvirtd: libvirtd dies during a live migration, and a migrate_to
# runs into its op timeout. The dirtying canary of s5 (vmf: 128 MiB, 64 MiB
# dirtied at 40 MiB/s) is migrated over a dedicated link shaped to
# 80 Mbit/s, where its copy cannot converge; once 16 MiB were sent:
#   a) the source's libvirtd is killed (SIGKILL, by its pid inside the
#      host) and started again (as lab.sh starts it);
#   b) the same on the target;
#   c) no fault, but vmf's migrate_to has an op timeout of 20 s
#      (CT_S10_TIMEOUT), which the copy cannot finish in.
# The source host stays healthy in all three (its QEMU is never touched),
# so what must hold, always: never two copies running; vmf ends running
# exactly once, on the source, with no guest reboot; the migrate_to fails
# (answered by the agent: not a pacemaker op timeout); after what
# RECIPES.md tells the operator (op migrate_to on-fail=block, then clear +
# refresh) pacemaker has vmf Started on the source and monitors it again;
# no copy of vmf is left on the target, running or paused; with vmhandoffd,
# every registry names the source owner again, and `vmhandoff history vmf`
# on every host shows that handoff aborted.
SC_TITLE="libvirtd killed during a migration (source, target); migrate_to op timeout"

CT_S10_RATE=${CT_S10_RATE:-80mbit}
CT_S10_AT_MIB=${CT_S10_AT_MIB:-16}
CT_S10_TIMEOUT=${CT_S10_TIMEOUT:-20s}
CT_S10_DOWN_S=${CT_S10_DOWN_S:-2}

sc_main() {
    local rc=0
    if [[ $(ct_rsc_state vmf) == absent* ]]; then
        # the same VM as s5's (s5 uses it as it finds it)
        ct_vm_define vmf --mem-mb 128 --wss-mb 64 --dirty-mbps 40 || { ct_fail "define vmf"; return 1; }
    fi
    [ "$(ct_where vmf)" != - ] || ct_vm_start vmf node1 ||
        { ct_fail "vmf running on node1" "$(ct_rsc_state vmf)"; return 1; }
    _s10_case a source || rc=1
    ct_reset >/dev/null || { ct_fail "cluster back after a)"; return 1; }
    _s10_case b target || rc=1
    ct_reset >/dev/null || { ct_fail "cluster back after b)"; return 1; }
    _s10_case c timeout || rc=1
    # File-name order runs s10 right after s1: s2-s4 were made for a
    # cluster without vmf (placement, load). When s5, which starts vmf
    # itself, is still to come in this run (cluster-check's --only list,
    # or all), stop vmf again; alone, leave it running (the whole-run
    # check wants every VM that ran to run at the end).
    if _s10_s5_follows; then
        ct_crm crm_resource -r vmf --meta -p target-role -v Stopped >>"$CT_OUT/run.log" 2>&1
        if ct_poll 120 0.5 "vmf stopped" ct_is_stopped vmf; then
            ct_log "vmf stopped for the scenarios before s5 (s5 starts it again)"
        else
            ct_fail "vmf stopped again for the scenarios that follow (s5 starts it)" "$(ct_rsc_state vmf)"
            rc=1
        fi
    fi
    return $rc
}

# cluster-check.sh's --only list (its variable "only": empty for all) has s5
_s10_s5_follows() {
    [ -z "${only-x}" ] || [[ ,${only-}, == *,s5,* || ,${only-}, == *,s5-faults,* ]]
}

# _s10_case a|b|c WHAT
_s10_case() {
    local c=$1 what=$2 s tgt t t_fault h pid op_id st f ok=1 t_clean
    s=$(ct_where vmf)
    [[ $s == node[0-9] ]] || { ct_fail "$c) vmf runs on one host" "$(ct_rsc_state vmf)"; return 1; }
    tgt=$(ct_next_host "$s")
    t=$(ct_now_ns)
    if [ $c = c ]; then
        op_id=$(_s10_op_id)
        if [ -z "$op_id" ] || ! ct_crm cibadmin --modify -o resources \
            -X "<op id=\"$op_id\" timeout=\"$CT_S10_TIMEOUT\"/>" >>"$CT_OUT/run.log" 2>&1; then
            ct_fail "c) vmf's migrate_to op timeout set to $CT_S10_TIMEOUT" "op id: '$op_id'"
            return 1
        fi
        ct_settle 60
    fi
    lab_shape "$s" mig "$CT_S10_RATE" >>"$CT_OUT/run.log" 2>&1
    ct_log "$c) vmf $s -> $tgt over $CT_S10_RATE; $what after ${CT_S10_AT_MIB} MiB"
    ct_crm crm_resource --move -r vmf -N "$tgt" >>"$CT_OUT/run.log" 2>&1
    if ! ct_poll 60 0.1 "vmf migration $s -> $tgt past ${CT_S10_AT_MIB} MiB" ct_mig_sent_at_least "$s" vmf "$CT_S10_AT_MIB"; then
        ct_fail "$c) migration $s -> $tgt under way" "$(ct_rsc_state vmf)"
        ok=0
    else
        t_fault=$(ct_now_ns)
        case $c in
        a | b)
            h=$s
            [ $c = b ] && h=$tgt
            if pid=$(lab_exec "$h" pgrep -x libvirtd) && lab_exec "$h" kill -KILL "$pid" &&
                ct_poll 10 0.05 "libvirtd on $h gone" _s10_libvirtd_gone "$h"; then
                ct_log "$c) libvirtd (pid $pid in $h) killed $(((t_fault - t) / 1000000)) ms after the move"
                sleep "$CT_S10_DOWN_S"
                _lab_start_libvirtd "$h" >>"$CT_OUT/run.log" 2>&1
                if ct_poll 60 0.2 "libvirtd on $h answers" _lab_libvirt_ok "$h"; then
                    ct_ok "$c) libvirtd on the $what ($h) killed during the copy and started again"
                else
                    ct_fail "$c) libvirtd on the $what ($h) started again" "$(tail -3 "$LAB_D/$h/log/libvirtd.out")"
                    ok=0
                fi
            else
                ct_fail "$c) libvirtd on the $what ($h) killed during the copy" "pid: '${pid-}'"
                ok=0
            fi
            ;;
        c) ct_log "c) copy under way with a migrate_to timeout of $CT_S10_TIMEOUT" ;;
        esac
        # the migrate_to fails, answered by the agent before its timeout
        if ct_poll 150 0.5 "vmf migrate_to failure recorded" ct_migrate_to_failed vmf "$s"; then
            # status "complete": the agent answered (not "Timed Out": a
            # hang to the op timeout; nor an agent that crashed)
            f=$(_s10_failure "$s")
            if [ "$(_s10_attr "$f" status)" = complete ]; then
                ct_ok "$c) the migrate_to failed on $s, answered before its op timeout ($(_s10_attr "$f" exec) ms): $(ct_migrate_to_reason vmf "$s" 200)"
            else
                ct_fail "$c) the migrate_to failed on $s, answered before its op timeout" "$f" "$(ct_migrate_to_reason vmf "$s" 200)"
                ok=0
            fi
        else
            ct_fail "$c) the migrate_to failed" "$(ct_rsc_state vmf)" "$(ct_failed_ops vmf)"
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
        if ct_poll 30 0.5 "no copy of vmf on $tgt" _s10_no_copy "$tgt"; then
            ct_ok "$c) no copy of vmf left on $tgt"
        else
            ct_fail "$c) no copy of vmf left on $tgt" "virsh domstate on $tgt: $(lab_exec "$tgt" timeout 10 virsh domstate vmf --reason 2>&1 | head -1)"
            ok=0
        fi
    fi
    # repair as the recipe says: no shaping, no move constraint, refresh
    for h in $CT_HOSTS; do lab_unshape "$h" mig; done
    if [ $c = c ] && [ -n "${op_id-}" ]; then
        ct_crm cibadmin --modify -o resources -X "<op id=\"$op_id\" timeout=\"120s\"/>" >>"$CT_OUT/run.log" 2>&1 ||
            ct_log "c) could not set vmf's migrate_to timeout back to 120s"
    fi
    ct_crm crm_resource --clear -r vmf >>"$CT_OUT/run.log" 2>&1
    t_clean=$(ct_now_ns)
    ct_crm crm_resource --refresh -r vmf >>"$CT_OUT/run.log" 2>&1
    if ct_poll 90 0.2 "vmf Started on $s" ct_is_started_on vmf "$s"; then
        ct_ok "$c) after clear + refresh: vmf Started on $s, healthy"
    else
        ct_fail "$c) after clear + refresh: vmf Started on $s, healthy" "$(ct_rsc_state vmf)" "$(ct_failed_ops vmf)"
        ok=0
    fi
    if ct_poll 30 0.5 "vmf monitored on $s" ct_monitor_since vmf "$s" "$t_clean"; then
        ct_ok "$c) the recurring monitor of vmf runs again on $s"
    else
        ct_fail "$c) the recurring monitor of vmf runs again on $s"
        ok=0
    fi
    if [ "$CT_AGENT" = vmhandoff ]; then
        if ct_poll 30 0.5 "registries name $s" ct_reg_agreed vmf "running:$s"; then
            ct_ok "$c) every registry names $s owner of vmf ($(ct_reg_owner "$s" vmf))"
        else
            ct_fail "$c) every registry names $s owner of vmf" "$(ct_reg_all_owners vmf)"
            ok=0
        fi
        if ct_poll 10 0.5 "history: $s -> $tgt aborted" _s10_history_aborted "$s" "$tgt" "$t"; then
            ct_ok "$c) vmhandoff history vmf on every host: the handoff $s -> $tgt aborted"
        else
            ct_fail "$c) vmhandoff history vmf on every host: the handoff $s -> $tgt aborted" \
                "$(for h in $CT_HOSTS; do lab_exec "$h" vmhandoff history vmf 2>&1 | tail -1; done)"
            ok=0
        fi
    fi
    ct_settle 90
    ct_inv_check "$c) never two copies, no guest reboot of vmf, every VM running" s10-$c "$t" || ok=0
    local n
    n=$(ct_inv_query s10-$c 'len([m for m in migs if m["vm"] == "vmf"])')
    if [ "$n" = 0 ]; then
        ct_ok "$c) the checker saw vmf neither move nor restart"
    else
        ct_fail "$c) the checker saw vmf neither move nor restart" "$n moves, see $CT_OUT/inv/s10-$c.txt"
        ok=0
    fi
    [ $ok = 1 ]
}

_s10_libvirtd_gone() { ! lab_exec "$1" pgrep -x libvirtd >/dev/null 2>&1; }
# SRC TGT T_NS: on every host, vmf's last migration in `vmhandoff history
# --json` began after T_NS, SRC -> TGT, and was aborted
_s10_history_aborted() {
    local h
    for h in $CT_HOSTS; do
        lab_exec "$h" vmhandoff history vmf --json 2>/dev/null | python3 -c '
import json, sys
m = json.load(sys.stdin)["migrations"][-1]
sys.exit(0 if m["start_ms"] >= int(sys.argv[3]) // 1000000 and m["from"]["name"] == sys.argv[1]
         and m["to"]["name"] == sys.argv[2] and m["outcome"] == "aborted" else 1)' "$1" "$2" "$3" ||
            return 1
    done
}
# no domain vmf on HOST, or it is shut off (libvirt answers)
_s10_no_copy() {
    local st
    _lab_libvirt_ok "$1" || return 1
    st=$(lab_exec "$1" timeout 10 virsh -q domstate vmf 2>/dev/null | head -1 | tr -d ' ')
    [ -z "$st" ] || [ "$st" = shutoff ]
}
_s10_op_id() { # the id of vmf's migrate_to op in the CIB
    ct_crm cibadmin -Q --xpath "//primitive[@id='vmf']/operations/op[@name='migrate_to']" 2>/dev/null |
        grep -o ' id="[^"]*"' | head -1 | cut -d'"' -f2
}
# crm_mon's <failure> element of vmf's migrate_to on HOST
_s10_failure() { ct_mon_xml | grep '<failure ' | grep "op_key=\"vmf_migrate_to_0\"" | grep "node=\"$1\"" | head -1; }
_s10_attr() { grep -o " $2=\"[^\"]*\"" <<<"$1" | head -1 | cut -d'"' -f2; }
