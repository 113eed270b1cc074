#!/bin/bash
# doc-recipes.sh: the docs' shell recipes, run as written on a real cluster,
# so that the docs cannot rot. Prints TAP ("ok N - ...").
#
#   cluster-tests/doc-recipes.sh [--lint] [--keep]
#
# 1. Every fenced block of README.md, cluster-tests/RECIPES.md (and
#    docs/*.md, if any) has, on the line right before it, either
#    <!-- recipe: NAME --> (run here) or <!-- not-run: REASON -->; every
#    recipe has a setup and a check below, and every check here a recipe
#    (lib/doc_recipes.py lint). --lint stops there (no root needed).
# 2. One 3-host cluster of lab 1 (lib/ct.sh: fencing, canary collectors
#    and lvwatch in every host), shared by all recipes in the order of
#    PLAN. Each recipe runs inside a host (lab_exec) as an operator types
#    it: command by command, each must exit 0, and the cluster settles
#    between two (crm_resource --wait; every guest started meanwhile
#    ticks). Then its effect is checked (what the primitive holds, where
#    the VM runs, that a move was live and nothing rebooted: the
#    invariant checker over the recipe's window...).
#
# The docs' names are the lab's: hosts node1..node3; vm1 (and vm2) are
# canary guests whose domain XML this test writes to /etc/libvirt/vms/ in
# every host; the docs' migration network 198.18.1.0/24 becomes the
# lab's (198.18.3.0/24 for lab 1), and each node's migration address is
# listed under its node name in the hosts' /etc/hosts, as README.md asks
# for migration_network. The pcs recipe's vm1 runs as vm2 (the crmsh
# recipe's vm1 runs meanwhile), the switch's as vm3 (a VM vmhandoffd has
# never seen: it pauses a VM it knows that something else starts). After
# each recipe, pacemaker must show no failed action (then a cleanup keeps
# one recipe's failure out of the next). An interactive `crm configure edit` runs
# under script(1) with an editor that makes the change its comment names
# ("A" -> "B"). The lab is torn down at the end, on failure and on a
# signal; --keep leaves it up (LAB_ID=1 cluster-tests/lab/labctl down).
#
# Environment: DOC_RECIPES_LAB_ID (default 1), DOC_RECIPES_OUT (results,
# default build/doc-recipes: run.log, tap.txt, recipes/NAME.N.out, inv/,
# logs/). Needs root and `make all`; about 4-6 minutes here.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export LAB_ID=${DOC_RECIPES_LAB_ID:-1}
unset LAB_DIR
# shellcheck source=lib/ct.sh
. "$here/lib/ct.sh"

PY=$here/lib/doc_recipes.py
out=${DOC_RECIPES_OUT:-$CT_REPO/build/doc-recipes}
docs=("$CT_REPO/README.md" "$CT_REPO/cluster-tests/RECIPES.md")
for f in "$CT_REPO"/docs/*.md; do [ -e "$f" ] && docs+=("$f"); done

# The recipes, in the order they run: NAME HOST [doc_recipes.py mapping].
# Each has rr_setup_NAME (may be absent) and rr_check_NAME below.
PLAN=(
    "crmsh node1"
    "pcs node1 -w vm1=vm2"
    "cli node2"
    "failed-migration node1"
    "switch node1 -w vm1=vm3"
    "recipes-primitive node1"
    "recipes-failed-migration node1"
)
RR_CWD=/etc/libvirt/vms         # where the recipes run (vm1.xml is there)

lint_only=0
while (($#)); do
    case $1 in
    --lint) lint_only=1 ;;
    --keep) CT_KEEP=1 ;;
    -h | --help) sed -n '2,36s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "doc-recipes: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

# ---------------------------------------------------------------- lint ---

declare -A RR_WHERE=()          # recipe NAME -> "FILE LINE"
rr_lint() {
    local f rel rc r k n_r n_n line kind text name plan=() missing="" stale=""
    for f in "${docs[@]}"; do
        rel=${f#"$CT_REPO"/}
        python3 "$PY" lint "$f" >"$CT_OUT/lint.txt" 2>&1
        rc=$?
        n_r=0 n_n=0
        while read -r _ line kind text; do
            case $kind in
            recipe) n_r=$((n_r + 1)); RR_WHERE[$text]="$f $line" ;;
            not-run) n_n=$((n_n + 1)) ;;
            esac
        done < <(grep -v '^ERROR ' "$CT_OUT/lint.txt")
        if [ $rc = 0 ]; then
            ct_ok "$rel: every fenced block is tagged ($n_r recipes, $n_n not-run)"
        else
            ct_fail "$rel: every fenced block is tagged <!-- recipe: NAME --> or <!-- not-run: REASON -->" \
                "$(grep '^ERROR ' "$CT_OUT/lint.txt" | sed "s|$CT_REPO/||")"
        fi
    done
    for r in "${PLAN[@]}"; do
        name=${r%% *}
        plan+=("$name")
        [ -n "${RR_WHERE[$name]-}" ] || missing+=" $name"
        declare -F "rr_check_${name//-/_}" >/dev/null || missing+=" $name(no rr_check_${name//-/_})"
    done
    for k in "${!RR_WHERE[@]}"; do
        [[ " ${plan[*]} " == *" $k "* ]] || stale+=" $k"
    done
    if [ -z "$missing$stale" ]; then
        ct_ok "the ${#plan[@]} recipes of the docs are the ${#plan[@]} this test runs and checks"
    else
        ct_fail "every recipe of the docs is run and checked here, every recipe here is in the docs" \
            "${stale:+in the docs, not run here (add it to PLAN with rr_check_NAME):$stale}" \
            "${missing:+run here, not in the docs (or no check):$missing}"
    fi
}

# ------------------------------------------------------------- running ---

RR_DIR=""                       # recipes/ in the results
RR_MIGPFX=""                    # the lab's migration network, "198.18.N."
# rr_exec HOST CMD: one command of a recipe in HOST, as root in RR_CWD
rr_exec() {
    local h=$1 c=$2 a b ed
    if [[ $c == *"configure edit"* ]]; then
        # interactive: crmsh wants a terminal (script(1)) and an editor,
        # which makes the change the command's comment names: "A" -> "B"
        if ! [[ $c =~ \#.*\"([^\"]+)\"\ *-\>\ *\"([^\"]+)\" ]]; then
            echo "doc-recipes: an interactive edit needs the change in its comment: \"A\" -> \"B\""
            return 1
        fi
        a=${BASH_REMATCH[1]} b=${BASH_REMATCH[2]} ed=$RR_DIR/editor
        # shellcheck disable=SC2016  # ($1: the editor's argument, the file)
        printf '#!/bin/bash\n# the change the recipe names: %q -> %q\nexec python3 -c %q %q %q "$1"\n' \
            "$a" "$b" 'import sys; a, b, p = sys.argv[1:4]; s = open(p).read()
open(p, "w").write(s.replace(a, b, 1)); sys.exit(a not in s)' "$a" "$b" >"$ed"
        chmod 755 "$ed"
        lab_exec "$h" timeout -k 5 300 env -i PATH="$LAB_PATH" HOME=/root LANG=C.UTF-8 TERM=dumb \
            EDITOR="$ed" script -qec "cd $RR_CWD && $c" /dev/null
        return
    fi
    lab_exec "$h" timeout -k 5 300 env -i PATH="$LAB_PATH" HOME=/root LANG=C.UTF-8 \
        bash -c "cd $RR_CWD && $c"
}

# rr_cmds NAME [mapping...]: the recipe's commands (mapped) into RR_CMDS
rr_cmds() {
    local name=$1 file
    shift
    file=${RR_WHERE[$name]% *}
    RR_CMDS=()
    mapfile -d '' RR_CMDS < <(python3 "$PY" commands "$file" "$name" "$@" -s "198.18.1.=$RR_MIGPFX")
    ((${#RR_CMDS[@]}))
}

# rr_run NAME HOST [mapping...]: every command of the recipe in HOST
rr_run() {
    local name=$1 h=$2 i=0 rc c t0 where note=""
    shift 2
    where=${RR_WHERE[$name]#"$CT_REPO"/}
    where=${where/ /:}
    (($#)) && note=" (${*//-w /}: the docs' names mapped)"
    rr_cmds "$name" "$@" || { ct_fail "$where: no commands in the recipe"; return 1; }
    for c in "${RR_CMDS[@]}"; do
        i=$((i + 1))
        ct_log "$name: $h# $c"
        t0=$(ct_now_ns)
        rr_exec "$h" "$c" >"$RR_DIR/$name.$i.out" 2>&1
        rc=$?
        sed 's/^/    | /' "$RR_DIR/$name.$i.out" >>"$CT_OUT/run.log"
        if [ $rc != 0 ]; then
            ct_fail "$where: command $i of ${#RR_CMDS[@]} on $h exits 0$note" "exit $rc: $c" \
                "$(tail -n 8 "$RR_DIR/$name.$i.out")"
            return 1
        fi
        # the cluster settles, and every guest started meanwhile runs,
        # before the next command (an operator waits for that too)
        if ! ct_settle 180; then
            ct_fail "$where: the cluster settles after command $i ($c)"
            return 1
        fi
        ct_wait_guests_up "$t0"
    done
    ct_ok "$where: ${#RR_CMDS[@]} command(s) on $h, each exits 0$note"
}

# ------------------------------------------------------- check helpers ---

# rr_out COMMAND: the output file of the recipe's command COMMAND (its text
# without the comment); fails (naming it) if the recipe has no such command
rr_out() {
    local i c
    for i in "${!RR_CMDS[@]}"; do
        c=${RR_CMDS[$i]%%#*}
        c=${c%"${c##*[![:space:]]}"}
        [ "$c" = "$1" ] && { echo "$RR_DIR/$CT_SC.$((i + 1)).out"; return 0; }
    done
    ct_fail "the recipe has the command '$1'"
    echo /dev/null
    return 1
}

rr_xpath() { ct_crm cibadmin -Q --xpath "$1" 2>/dev/null; }
# the recipe's definition command (crm configure primitive / pcs resource
# create) against what the CIB holds for VM
rr_check_definition() { # VM
    local vm=$1 c def=""
    for c in "${RR_CMDS[@]}"; do
        [[ $c == "crm configure primitive "* || $c == "pcs resource create "* ]] && def=$c
    done
    rr_xpath "//primitive[@id='$vm']" >"$RR_DIR/$CT_SC.cib.xml"
    if python3 "$PY" primitive "$def" "$RR_DIR/$CT_SC.cib.xml" >"$RR_DIR/$CT_SC.diff" 2>&1; then
        ct_ok "$vm in the CIB: the agent, every parameter, meta attribute and op attribute of the recipe"
    else
        ct_fail "$vm in the CIB is what the recipe says" "$(cat "$RR_DIR/$CT_SC.diff")"
    fi
}
# the docs' two promises for every VM: live migration, and a failed
# migrate_to that blocks instead of recovering by a reboot
rr_check_claims() { # VM
    local vm=$1 am of
    am=$(rr_xpath "//primitive[@id='$vm']/meta_attributes/nvpair[@name='allow-migrate']" |
        grep -o 'value="[^"]*"')
    of=$(rr_xpath "//primitive[@id='$vm']/operations/op[@name='migrate_to']" | grep -o 'on-fail="[^"]*"')
    if [ "$am" = 'value="true"' ] && [ "$of" = 'on-fail="block"' ]; then
        ct_ok "$vm: allow-migrate=true, migrate_to on-fail=block"
    else
        ct_fail "$vm: allow-migrate=true, migrate_to on-fail=block" "allow-migrate ${am:-unset}, ${of:-no on-fail}"
    fi
}
rr_started_on() { # VM HOST TEXT
    if ct_poll 60 0.5 "$1 Started on $2" ct_is_started_on "$1" "$2"; then
        ct_ok "$3"
    else
        ct_fail "$3" "$(ct_rsc_state "$1")"
    fi
}
rr_no_constraints() { # VM: no cli- constraint of VM is left
    local c
    c=$(ct_crm cibadmin -Q -o constraints 2>/dev/null | grep -E "id=\"cli-[^\"]*\".*rsc=\"$1\"|rsc=\"$1\".*id=\"cli-")
    if [ -z "$c" ]; then
        ct_ok "no move constraint of $1 is left"
    else
        ct_fail "no move constraint of $1 is left" "$c"
    fi
}
rr_attr() { # crm_config|rsc_defaults NAME -> its value
    ct_crm crm_attribute --type "$1" --name "$2" --query --quiet 2>/dev/null
}
rr_check_attr() { # TYPE NAME VALUE
    local v
    v=$(rr_attr "$1" "$2")
    if [ "$v" = "$3" ]; then
        ct_ok "$1 $2=$3"
    else
        ct_fail "$1 $2=$3" "is '${v:-unset}'"
    fi
}
# the checker over the recipe's window; "LIVE TOTAL" moves of each VM
rr_check_moves() { # SINCE_NS "VM=LIVE/TOTAL..." [checker options]
    local since=$1 want=$2 vm lt got bad=""
    shift 2
    ct_inv_check "never two copies, no VM lost, no guest rebooted" "$CT_SC" "$since" "$@" || return 1
    for vm in $want; do
        lt=${vm#*=} vm=${vm%%=*}
        got=$(ct_live_moves "$CT_SC" "$vm")
        [ "$got" = "${lt/\// }" ] || bad+=" $vm: $got (live, total) where ${lt/\// } was expected;"
    done
    if [ -z "$bad" ]; then
        ct_ok "moves: $want (live/total), each a live migration (libvirt resumed the migrated copy, the guest's ticks went on)"
    else
        ct_fail "moves: $want (live/total)" "$bad"
    fi
}

# after each recipe: pacemaker shows no failed action (of any resource)
rr_check_no_failures() {
    local f
    f=$(ct_mon_xml | grep '<failure ' | grep -o 'op_key="[^"]*"\|node="[^"]*"\|exitreason="[^"]*"' |
        paste -d' ' - - - )
    if [ -z "$f" ]; then
        ct_ok "pacemaker shows no failed action"
    else
        ct_fail "pacemaker shows no failed action" "$f"
    fi
}

# rr_vm_remove VM: stop and delete VM (between recipes that define it).
# The canary ignores ACPI, so a graceful stop would last most of the stop
# timeout (72 of 90 s): with 10 s, 5 s of shutdown and the destroy.
rr_vm_remove() {
    local vm=$1 id
    id=$(rr_xpath "//primitive[@id='$vm']/operations/op[@name='stop']" | grep -o ' id="[^"]*"' | head -1 |
        cut -d'"' -f2)
    [ -n "$id" ] && ct_crm cibadmin -M -X "<op id=\"$id\" timeout=\"10s\"/>" >>"$CT_OUT/run.log" 2>&1
    ct_crm crm_resource -r "$vm" --meta -p target-role -v Stopped >>"$CT_OUT/run.log" 2>&1
    ct_poll 60 0.5 "$vm stopped" ct_is_stopped "$vm" &&
        ct_crm configure delete "$vm" >>"$CT_OUT/run.log" 2>&1 &&
        ct_crm crm_resource --cleanup >>"$CT_OUT/run.log" 2>&1 &&
        ct_settle 60 && [[ $(ct_rsc_state "$vm") == absent* ]] && ct_log "$vm removed" && return 0
    ct_fail "$vm stopped and removed before the next recipe" "$(ct_rsc_state "$vm")"
    return 1
}

# a move of VM to the next host fails: its migration link is down, the
# migrate_to fails, pacemaker blocks the VM (on-fail=block); the link
# comes back. Sets RR_SRC, RR_T.
rr_fail_a_migration() { # VM
    local vm=$1 tgt
    RR_T=$(ct_now_ns)
    RR_SRC=$(ct_where "$vm")
    [[ $RR_SRC == node[0-9] ]] || { ct_fail "setup: $vm runs on one host" "$(ct_rsc_state "$vm")"; return 1; }
    tgt=$(ct_next_host "$RR_SRC")
    lab_link "$tgt" mig down
    ct_crm crm_resource --move -r "$vm" -N "$tgt" >>"$CT_OUT/run.log" 2>&1
    if ct_poll 120 0.5 "$vm blocked" _rr_blocked "$vm"; then
        lab_link "$tgt" mig up
        if ct_dom_is "$RR_SRC" "$vm" running; then
            ct_ok "setup: a move of $vm to $tgt with $tgt's migration link down: migrate_to failed, $vm blocked, running on $RR_SRC"
            return 0
        fi
    fi
    lab_link "$tgt" mig up
    ct_fail "setup: a move of $vm to $tgt with $tgt's migration link down blocks it, running on $RR_SRC" \
        "$(ct_rsc_state "$vm")" "libvirt on $RR_SRC: $(ct_dom_state "$RR_SRC" "$vm")"
    return 1
}
_rr_blocked() { [[ $(ct_rsc_state "$1") == *" blocked=true "* ]] && ct_migrate_to_failed "$1" "$RR_SRC"; }
# after clear + cleanup: the VM runs on where it was, untouched
rr_check_recovered() { # VM
    local vm=$1 f
    rr_started_on "$vm" "$RR_SRC" "$vm Started on $RR_SRC (the source), not failed, not blocked"
    rr_no_constraints "$vm"
    f=$(ct_failed_ops "$vm")
    if [ -z "$f" ]; then ct_ok "no failed action of $vm is left"; else ct_fail "no failed action of $vm is left" "$f"; fi
    if ct_poll 40 0.5 "monitor of $vm again" ct_monitor_since "$vm" "$RR_SRC" "$RR_T"; then
        ct_ok "the recurring monitor of $vm runs again on $RR_SRC"
    else
        ct_fail "the recurring monitor of $vm runs again on $RR_SRC"
    fi
    f=$(ct_reg_owner "$RR_SRC" "$vm")
    if [[ $f == running:$RR_SRC:* ]]; then
        ct_ok "the registry: $vm running, owned by $RR_SRC ($f)"
    else
        ct_fail "the registry: $vm running, owned by $RR_SRC" "$f"
    fi
    rr_check_moves "$RR_T" "$vm=0/0"
}

# -------------------------------------------------------------- recipes ---

rr_prefer_node1() { # VM: a preference (50) for node1 places it there first
    ct_crm cibadmin --create -o constraints \
        -X "<rsc_location id=\"ct-prefer-$1\" rsc-pattern=\"^$1\$\" node=\"node1\" score=\"50\"/>" \
        >>"$CT_OUT/run.log" 2>&1
}

# (the preferences stay: a VM with a preferred node is common, and what
# the later recipes do must cope with it)
rr_setup_crmsh() { rr_prefer_node1 vm1; }
rr_check_crmsh() {
    rr_check_definition vm1
    rr_check_claims vm1
    rr_check_attr crm_config migration-limit 2
    rr_check_attr rsc_defaults resource-stickiness 100
    rr_started_on vm1 node2 "vm1 Started on node2 after crm resource move"
    rr_no_constraints vm1
    rr_check_moves "$RR_T" "vm1=1/1"
}

rr_setup_pcs() { rr_prefer_node1 vm2; }
rr_check_pcs() {
    rr_check_definition vm2
    rr_check_claims vm2
    rr_check_attr rsc_defaults resource-stickiness 100
    rr_started_on vm2 node2 "vm2 Started on node2 after pcs resource move"
    rr_no_constraints vm2
    rr_check_moves "$RR_T" "vm2=1/1"
}

# vm1 on node1 (the crmsh recipe left it on node2), vm2 on node2
rr_setup_cli() {
    ct_move vm1 node1 || { ct_fail "setup: vm1 moved back to node1" "$(ct_rsc_state vm1)"; return 1; }
    RR_T=$(ct_now_ns)
}
rr_check_cli() {
    local vm bad="" x o
    if o=$(rr_out "vmhandoff status") && grep -Eq '^ +vm1 +running' "$o" && grep -Eq '^ +vm2 +running' "$o"; then
        ct_ok "vmhandoff status lists vm1 and vm2 running"
    else
        ct_fail "vmhandoff status lists vm1 and vm2 running" "$(cat "$o")"
    fi
    if o=$(rr_out "vmhandoff status --json") && python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
names = sorted(v["name"] for v in d["vms"])
sys.exit(names != ["vm1", "vm2"])' "$o" 2>/dev/null; then
        ct_ok "vmhandoff status --json: one JSON object, vms vm1 and vm2"
    else
        ct_fail "vmhandoff status --json: one JSON object, vms vm1 and vm2" "$(head -c 400 "$o")"
    fi
    if o=$(rr_out "vmhandoff move vm1 node2 --wait --clear-after") &&
        grep -q "vm1: moved to node2, live-migrated" "$o"; then
        ct_ok "vmhandoff move: $(grep 'vm1: moved to' "$o")"
    else
        ct_fail "vmhandoff move vm1 node2 --wait reports vm1 live-migrated to node2" "$(tail -3 "$o")"
    fi
    if o=$(rr_out "vmhandoff config vm1") && [ "$(grep -c '<name>vm1</name>' "$o")" = 1 ]; then
        ct_ok "vmhandoff config vm1 prints vm1's domain XML"
    else
        ct_fail "vmhandoff config vm1 prints vm1's domain XML" "$(head -5 "$o")"
    fi
    rr_out "vmhandoff config vm1 --push vm1.xml" >/dev/null &&
        ct_ok "vmhandoff config vm1 --push vm1.xml on vm1's node: accepted"
    if o=$(rr_out "vmhandoff drain node2 --wait") && grep -q "node2: empty after" "$o"; then
        ct_ok "vmhandoff drain node2 --wait: $(grep 'node2: empty after' "$o")"
    else
        ct_fail "vmhandoff drain node2 --wait ends with node2 empty" "$(tail -3 "$o")"
    fi
    if rr_out "vmhandoff undrain node2" >/dev/null &&
        ct_mon_xml | grep -Eq '<node name="node2"[^>]* standby="false"'; then
        ct_ok "vmhandoff undrain node2: node2 out of standby"
    else
        ct_fail "vmhandoff undrain node2: node2 out of standby"
    fi
    if o=$(rr_out "vmhandoff history vm1") && grep -Eq 'node1 +node2 .*committed' "$o" &&
        grep -Eq 'node2 +node[13] .*committed' "$o"; then
        ct_ok "vmhandoff history vm1 lists the move to node2 and the drain's move off it, committed"
    else
        ct_fail "vmhandoff history vm1 lists the move to node2 and the drain's move off it, committed" \
            "$(cat "$o")"
    fi
    for vm in vm1 vm2; do
        x=$(ct_where "$vm")
        [[ $x == node[13] ]] && ct_started_healthy "$vm" || bad+=" $vm: $(ct_rsc_state "$vm")"
    done
    if [ -z "$bad" ]; then
        ct_ok "vm1 and vm2 run, healthy, on node1 or node3 (node2 was drained)"
    else
        ct_fail "vm1 and vm2 run, healthy, on node1 or node3 (node2 was drained)" "$bad"
    fi
    rr_no_constraints vm1
    rr_check_moves "$RR_T" "vm1=2/2 vm2=1/1"
}

rr_setup_failed_migration() { rr_fail_a_migration vm1; }
rr_check_failed_migration() { rr_check_recovered vm1; }

# vm3 defined with ocf:heartbeat:VirtualDomain and running (force_stop:
# the canary ignores ACPI, and heartbeat's agent would wait 85 s)
rr_setup_switch() {
    rr_vm_remove vm2 || return 1
    rr_prefer_node1 vm3
    RR_T=$(ct_now_ns)
    if ! ct_crm configure primitive vm3 ocf:heartbeat:VirtualDomain \
        params config=$RR_CWD/vm3.xml hypervisor=qemu:///system migration_transport=tcp \
        migration_network_suffix=-mig force_stop=true meta allow-migrate=true \
        op monitor interval=10s timeout=30s op start timeout=90s op stop timeout=90s \
        op migrate_to timeout=120s on-fail=block op migrate_from timeout=60s >>"$CT_OUT/run.log" 2>&1 ||
        ! ct_poll 120 0.5 "vm3 Started on node1" ct_is_started_on vm3 node1 ||
        ! ct_wait_ticking vm3 node1 "$RR_T" 90; then
        ct_fail "setup: vm3 (ocf:heartbeat:VirtualDomain) running on node1" "$(ct_rsc_state vm3)"
        return 1
    fi
    _rr_params vm3 >"$RR_DIR/switch.params-before"
    ct_ok "setup: vm3 with ocf:heartbeat:VirtualDomain running on node1"
    RR_T=$(ct_now_ns)
}
_rr_params() { rr_xpath "//primitive[@id='$1']/instance_attributes" | grep -o 'name="[^"]*" value="[^"]*"' | sort; }
rr_check_switch() {
    local a s b
    a=$(rr_xpath "//primitive[@id='vm3']" | head -1 | grep -o 'class="[^"]*"\|provider="[^"]*"\|type="[^"]*"' |
        sort | tr '\n' ' ')
    if [ "$a" = 'class="ocf" provider="vmhandoff" type="VirtualDomain" ' ]; then
        ct_ok "vm3 is ocf:vmhandoff:VirtualDomain"
    else
        ct_fail "vm3 is ocf:vmhandoff:VirtualDomain" "$a"
    fi
    if _rr_params vm3 | diff "$RR_DIR/switch.params-before" - >"$RR_DIR/switch.params-diff"; then
        ct_ok "vm3 kept every parameter ($(wc -l <"$RR_DIR/switch.params-before"))"
    else
        ct_fail "vm3 kept every parameter" "$(cat "$RR_DIR/switch.params-diff")"
    fi
    rr_started_on vm3 node1 "vm3 Started on node1"
    s=$(ct_reg_owner node1 vm3)
    if [[ $s == running:node1:* ]]; then
        ct_ok "the registry: vm3 claimed by node1 at its start with the new agent ($s)"
    else
        ct_fail "the registry: vm3 running, owned by node1" "$s"
    fi
    # what the README says happens: one stop with the old agent, one start
    b=$(ct_lv_events vm3 node1 "$RR_T" '^STARTED' | wc -l)
    s=$(ct_lv_events vm3 node1 "$RR_T" '^STOPPED' | wc -l)
    if [ "$b" = 1 ] && [ "$s" = 1 ]; then
        ct_ok "as the README says, the guest restarted once (libvirt: one stop, one start on node1)"
    else
        ct_fail "as the README says, the guest restarted once" "libvirt on node1: $s stop(s), $b start(s)"
    fi
    ct_wait_ticking vm3 node1 "$RR_T" 90 || ct_fail "vm3 ticks again on node1"
}

rr_setup_recipes_primitive() { rr_vm_remove vm3 && rr_vm_remove vm1 && RR_T=$(ct_now_ns); }
rr_check_recipes_primitive() {
    rr_check_definition vm1
    rr_check_claims vm1
    rr_started_on vm1 node1 "vm1 Started (on node1, its preference)"
    if ct_wait_ticking vm1 node1 "$RR_T" 90; then ct_ok "vm1 ticks on node1"; else ct_fail "vm1 ticks on node1"; fi
}

rr_setup_recipes_failed_migration() { rr_fail_a_migration vm1; }
rr_check_recipes_failed_migration() { rr_check_recovered vm1; }

# ------------------------------------------------------------------ main ---

# the cluster the recipes expect: the docs' names, the docs' prerequisites
rr_lab_setup() {
    local h n opts=(--mem-mb 128 --kernel "$out/bin/canary.elf")
    [ "$CT_ACCEL" = tcg ] && opts+=(--tcg)
    RR_MIGPFX=$(lab_mig_addr node1)
    RR_MIGPFX=${RR_MIGPFX%.*}.
    # migration_network: each node's migration address under its node name
    for h in $CT_HOSTS; do echo "$(lab_mig_addr "$h") $h"; done >>"$LAB_D/hosts" || return 1
    for h in $CT_HOSTS; do
        mkdir -p "$LAB_D/$h/etc/libvirt/vms" || return 1
        for n in vm1 vm2 vm3; do
            "$CT_CANARY_DOMAIN" "$n" "${opts[@]}" >"$LAB_D/$h/etc/libvirt/vms/$n.xml" || return 1
        done
    done
    # the recipes set these themselves (ct_up's defaults would hide that)
    ct_crm crm_attribute --type crm_config --name migration-limit --delete >>"$CT_OUT/run.log" 2>&1
    ct_crm crm_attribute --type rsc_defaults --name resource-stickiness --delete >>"$CT_OUT/run.log" 2>&1
    [ -z "$(rr_attr crm_config migration-limit)" ] && [ -z "$(rr_attr rsc_defaults resource-stickiness)" ]
}

rr_done() { echo "1..$CT_TAP_N"; [ "$CT_TAP_FAIL" = 0 ]; exit; }

main() {
    local r name h t0 t_all f map
    CT_OUT=$out
    mkdir -p "$CT_OUT" || exit 1
    : >"$CT_OUT/run.log"
    : >"$CT_OUT/tap.txt"
    if [ "$lint_only" = 1 ] || [ "$(id -u)" != 0 ]; then
        CT_SC=lint
        rr_lint
        [ "$lint_only" = 1 ] || ct_skip "the recipes on a 3-host cluster" "needs root"
        rr_done
    fi
    CT_SC=setup
    _lab_vars || exit 1
    if _lab_exists; then
        ct_fail "lab $LAB_ID is free" "it is up: a demo kept with KEEP=1 (make demo-down), or LAB_ID=$LAB_ID cluster-tests/lab/labctl down"
        rr_done
    fi
    ct_begin "$out" || { ct_fail "lab $LAB_ID is not in use by another cluster test"; rr_done; }
    touch "$out/lab.ours"
    CT_SC=lint
    rr_lint
    CT_SC=setup
    # the programs of this build, copied: the hosts run these for the
    # whole run even if build/ is rebuilt meanwhile (a front that cannot
    # find its full agent for a moment fails a stop: the host is fenced)
    rm -rf "${out:?}/bin"
    mkdir -p "$out/bin"
    for f in agent/VirtualDomain agent/vmhandoff-ra helper/vmhandoffd cli/vmhandoff canary/canary.elf; do
        cp -p "$CT_REPO/build/$f" "$out/bin/" || { ct_fail "build/$f is there (make all)"; rr_done; }
    done
    for f in "$CT_COLLECT" "$CT_LVWATCH"; do
        [ -x "$f" ] || { ct_fail "$f is there (make all)"; rr_done; }
    done
    export VMH_AGENT=$out/bin/VirtualDomain VMH_HELPER=$out/bin/vmhandoffd VMH_CLI=$out/bin/vmhandoff
    t_all=$(ct_now_ns)
    if ct_up && rr_lab_setup; then
        ct_ok "3-host cluster of lab $LAB_ID ($CT_ACCEL), the docs' names and prerequisites in the hosts ($(( ($(ct_now_ns) - t_all) / 1000000000 )) s)"
    else
        ct_fail "3-host cluster of lab $LAB_ID with the docs' names and prerequisites" "see $out/run.log"
        rr_done
    fi
    RR_DIR=$out/recipes
    rm -rf "$RR_DIR"
    mkdir -p "$RR_DIR"
    for r in "${PLAN[@]}"; do
        read -r name h _ <<<"$r"
        read -r -a map <<<"${r#"$name $h"}"
        CT_SC=$name
        t0=$(ct_now_ns)
        RR_T=$t0
        ct_log "=== recipe $name (${RR_WHERE[$name]#"$CT_REPO"/}) on $h"
        if declare -F "rr_setup_${name//-/_}" >/dev/null && ! "rr_setup_${name//-/_}"; then
            ct_fail "setup failed: recipe not run" "see $out/run.log"
            continue
        fi
        if rr_run "$name" "$h" "${map[@]}"; then
            "rr_check_${name//-/_}"
            rr_check_no_failures
        fi
        # one recipe's failure must not fail the next
        ct_crm crm_resource --cleanup >>"$CT_OUT/run.log" 2>&1
        ct_settle 60
        ct_log "=== recipe $name: $(( ($(ct_now_ns) - t0) / 1000000000 )) s"
    done
    CT_SC=all
    echo "1..$CT_TAP_N"
    ct_teardown
    rm -f "$out/lab.ours"
    echo "# doc-recipes: $((CT_TAP_N - CT_TAP_FAIL)) passed, $CT_TAP_FAIL failed in $(( ($(ct_now_ns) - t_all) / 1000000000 )) s; results in $out"
    [ "$CT_TAP_FAIL" = 0 ]
}

# The work runs in a child; this shell only waits and, on a signal, kills
# the child's process tree and tears the lab down (bash 5.2 may lose a trap
# that arrives while it parses a command substitution: see lab.sh NOTE).
on_signal() {
    trap '' INT TERM HUP
    echo "# doc-recipes: interrupted (SIG$1)" >&2
    _lab_kill_tree "$child"
    wait "$child" 2>/dev/null
    if [ -e "$out/lab.ours" ] && [ "${CT_KEEP:-0}" != 1 ]; then
        LAB_QUIET=1 lab_down --keep-logs
        rm -f "$out/lab.ours"
    fi
    exit 130
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP
main &
child=$!
wait "$child"
