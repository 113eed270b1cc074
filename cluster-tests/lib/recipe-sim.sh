#!/bin/bash
# recipe-sim.sh CIB.xml [VM SOURCE TARGET]: what pacemaker's scheduler does
# after a failed live migration, under each candidate setting, with
# crm_simulate on a CIB saved from a real cluster (cluster-check saves one
# as build/cluster-check/cib-s5.xml; default VM vmf, SOURCE = where it
# runs in that CIB, TARGET = the next node). The evidence behind
# cluster-tests/RECIPES.md; needs only pacemaker's CLI, no cluster.
#
# Each variant: the VM's migrate_to settings are reset to plain
# (no on-fail, no failure-timeout, no multiple-active, no
# migration-threshold), the variant's settings applied, a move
# constraint to TARGET added, then transitions are simulated in a row:
#   1. the migration, with migrate_to failing (rc=1) on SOURCE;
#   2..: what the cluster does next (optionally after an injected event);
# and the VM's line of crm_mon after each. A "stop VM on SOURCE" in any
# transition after the failure is the guest's reboot (the only copy runs
# there).
set -u
cib=${1:?usage: recipe-sim.sh CIB.xml [VM SOURCE TARGET]}
vm=${2:-vmf}
work=$(mktemp -d /tmp/recipe-sim.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$cib" "$work/base.xml"
export CIB_file=$work/base.xml
src=${3:-$(crm_resource --locate -r "$vm" 2>/dev/null | sed -n 's/.*is running on: \([^ ]*\).*/\1/p' | head -1)}
unset CIB_file
[ -n "$src" ] || { echo "recipe-sim: $vm runs nowhere in $cib" >&2; exit 2; }
case ${4-} in
"") case $src in node1) tgt=node2 ;; node2) tgt=node3 ;; *) tgt=node1 ;; esac ;;
*) tgt=$4 ;;
esac
echo "recipe-sim: $vm on $src, moved to $tgt, migrate_to fails (rc=1) on $src"

# plain: the resource as the brief defines it (crmsh's op ids)
plain() {
    cibadmin -R -X "<op id=\"$vm-migrate_to-0\" name=\"migrate_to\" interval=\"0\" timeout=\"120s\"/>" || return 1
    for m in failure-timeout multiple-active migration-threshold; do
        crm_resource -r "$vm" --meta -d "$m" >/dev/null 2>&1
    done
    return 0
}
onfail() { cibadmin -M -X "<op id=\"$vm-migrate_to-0\" on-fail=\"$1\"/>"; }
meta() { crm_resource -r "$vm" --meta -p "$1" -v "$2" >/dev/null; }

# variant NAME "SETUP" STEP...: STEP = extra crm_simulate arguments for the
# transitions after the failing one ("" = nothing happens meanwhile,
# CLEANUP = crm_resource --clear and --cleanup, see _cleanup)
variant() {
    local name=$1 setup=$2 i=1 f
    shift 2
    f=$work/$name
    cp "$work/base.xml" "$f-0.xml"
    (
        export CIB_file=$f-0.xml
        crm_resource --clear -r "$vm" >/dev/null 2>&1
        plain && eval "$setup" && crm_resource --move -r "$vm" -N "$tgt" >/dev/null 2>&1
    ) || { echo "== $name: setup failed"; return; }
    echo "== $name: $setup"
    _sim "$f" 1 --op-fail "${vm}_migrate_to_0@$src=1"
    for step in "$@"; do
        i=$((i + 1))
        if [ "$step" = KEEPMOVE_CLEANUP ]; then
            CT_KEEP_MOVE=1 _cleanup "$f-$((i - 1)).xml"
            step=""
        elif [ "$step" = CLEANUP ]; then
            _cleanup "$f-$((i - 1)).xml"
            step=""
        fi
        # shellcheck disable=SC2086
        _sim "$f" $i $step
    done
}
# what `crm_resource --clear` + `crm_resource --cleanup -r VM` do to the
# CIB, as far as the scheduler can tell (crm_resource refuses to clean up a
# CIB_file): the move constraint, the failed migrate_to and VM's fail
# counts on SOURCE go. (The real cleanup deletes VM's whole history on
# SOURCE and re-probes it there: "running". A probe injected by
# crm_simulate carries a digest that does not match the resource, and the
# scheduler then restarts VM "due to resource definition change"; keeping
# the real start/monitor entries gives the scheduler the same picture.)
_cleanup() {
    (
        export CIB_file=$1
        [ -n "${CT_KEEP_MOVE-}" ] || crm_resource --clear -r "$vm" >/dev/null 2>&1
        local r="//node_state[@uname='$src']/lrm/lrm_resources/lrm_resource[@id='$vm']"
        cibadmin -D -A "$r/lrm_rsc_op[@operation='migrate_to']" >/dev/null 2>&1
        cibadmin -D -A "$r/lrm_rsc_op[@id='${vm}_last_failure_0']" >/dev/null 2>&1
        cibadmin -D -A "//node_state[@uname='$src']/transient_attributes//nvpair[contains(@name,'-$vm#')]" \
            >/dev/null 2>&1
    )
}
_sim() { # FILEPREFIX N ARGS...: one transition, its actions for VM, VM's state after
    local f=$1 n=$2 acts state
    shift 2
    crm_simulate -x "$f-$((n - 1)).xml" -S -O "$f-$n.xml" "$@" >"$f-$n.out" 2>&1
    acts=$(sed -n '/^Executing Cluster Transition/,/^Revised Cluster Status/p' "$f-$n.out" |
        grep -E "(Resource action|Pseudo action|Fencing).*($vm|node)" | grep -v "monitor=" |
        sed 's/^ *\* //; s/  */ /g' | paste -sd ';' -)
    state=$(sed -n '/^Revised Cluster Status/,$p' "$f-$n.out" | grep -E "^ +\* ${vm}[[:space:]]" |
        sed 's/^ *\* //; s/[[:space:]][[:space:]]*/ /g')
    printf '   %d. %-44s -> %s\n' "$n" "${*:-(no event)}" "${acts:-no action}"
    printf '      %s\n' "${state:-$vm: not shown}"
}

variant default "true" ""
variant on-fail=block "onfail block" "" "--op-inject ${vm}_monitor_0@$tgt=7"
variant "block, then clear + cleanup (RECIPES.md)" "onfail block" "" CLEANUP ""
variant "block, cleanup but the move constraint kept" "onfail block" "" KEEPMOVE_CLEANUP ""
variant "block, target fenced" "onfail block" "--node-fail $tgt" "--node-up $tgt"
variant on-fail=ignore "onfail ignore" "--op-fail ${vm}_migrate_from_0@$tgt=1" ""
variant multiple-active=stop_unexpected "meta multiple-active stop_unexpected" ""
variant multiple-active=block "meta multiple-active block" ""
variant "block, migration-threshold=1" "onfail block; meta migration-threshold 1" ""
later=$(date -u -d "+10 min" +%Y-%m-%dT%H:%M:%SZ)
variant "block, failure-timeout=60s, 10 min later" "onfail block; meta failure-timeout 60s" "-t $later"
variant "default, target fenced" "true" "--node-fail $tgt"
