#!/bin/bash
# demo.sh: vmhandoff on this machine, in a few minutes.
#
#   cluster-tests/demo.sh          (make demo)       run it, tear it down
#   KEEP=1 cluster-tests/demo.sh   (make demo KEEP=1) leave the cluster up
#   cluster-tests/demo.sh --down   (make demo-down)  remove a kept demo
#
# Brings up 3 simulated hosts (each with its own libvirtd, corosync and
# pacemaker, fenced by fence_labhost), puts two canary VMs under pacemaker
# with ocf:vmhandoff:VirtualDomain, moves one over the dedicated migration
# link (crm_resource --move), drains the host that then runs both
# (crm_standby), and prints per move: VM, from, to, wall time (command ->
# "Started on target" in crm_mon), activation gap (source paused -> target
# resumed, from libvirt's events), guest downtime (last guest tick on the
# source -> first on the target), the link the bytes went over, the bytes;
# then the invariant checker's verdict (never two copies running, no VM
# lost, no guest rebooted). Everything it made is torn down at the end, on
# failure and on Ctrl-C, unless KEEP=1.
# Environment: DEMO_LAB_ID (default 1), KEEP, DEMO_AGENT (vmhandoff |
# heartbeat, default vmhandoff).
set -u
here=$(cd "$(dirname "$0")" && pwd)
export LAB_ID=${DEMO_LAB_ID:-1}
unset LAB_DIR
CT_AGENT=${DEMO_AGENT:-vmhandoff}
# shellcheck source=lib/ct.sh
. "$here/lib/ct.sh"
out=$CT_REPO/build/demo

if [ "${1-}" = --down ]; then
    _lab_vars
    if ! _lab_exists; then
        echo "demo: no demo lab $LAB_ID is up"
        exit 0
    fi
    lab_down
    exit $?
fi

[ "$(id -u)" = 0 ] || { echo "demo: needs root (network, mount and pid namespaces)" >&2; exit 1; }
for f in "$CT_COLLECT" "$CT_LVWATCH" "$CT_REPO/build/canary/canary.elf" "$CT_REPO/build/agent/vmhandoff-ra"; do
    [ -e "$f" ] || { echo "demo: $f is missing: run make first" >&2; exit 1; }
done
CT_KEEP=${KEEP:-0}
CT_VERBOSE=1
_lab_vars
if _lab_exists; then
    echo "demo: a demo is up already (lab $LAB_ID, $LAB_D): 'make demo-down' first" >&2
    exit 1
fi
ct_begin "$out" || exit 1
CT_SC=demo
t_run=$(ct_now_ns)
say() { echo "== $*"; ct_log "$*" 2>/dev/null; }

fail() {
    echo "demo: FAILED: $*" >&2
    echo "demo: the log is $out/run.log" >&2
    exit 1
}

say "bringing up 3 hosts (lab $LAB_ID: network/mount/uts/pid namespaces; libvirtd, corosync, pacemaker in each)"
ct_up || fail "the lab did not come up"
if [ "$CT_ACCEL" = tcg ]; then
    say "NOTE: no usable /dev/kvm (or CT_ACCEL=tcg): the guests run on TCG (software emulation), slower"
else
    say "guests use KVM (/dev/kvm)"
fi
for h in $CT_HOSTS; do
    echo "   $h: cluster ring $(lab_ring_addr "$h"), dedicated migration link $(lab_mig_addr "$h") ($h-mig)"
done

say "two canary VMs under pacemaker (ocf:$CT_AGENT:VirtualDomain, 128 MiB, 8 MiB working set)"
ct_vm_define vm1 --mem-mb 128 --wss-mb 8 --dirty-mbps 4 || fail "define vm1"
ct_vm_define vm2 --mem-mb 128 --wss-mb 8 --dirty-mbps 4 || fail "define vm2"
ct_vms_start "vm1 node1" "vm2 node2" || fail "start the VMs: $(ct_rsc_state vm1); $(ct_rsc_state vm2)"
ct_settle 60
ct_crm crm_mon -1 | sed -n '/Full List of Resources/,$p;/Active Resources/,$p' | sed 's/^/   /'

say "crm_resource --move vm1 node2: a live migration over the dedicated link"
ct_move vm1 node2 || fail "vm1 did not reach node2: $(ct_rsc_state vm1)"
ct_settle 60

say "crm_standby node2 (runs vm1 and vm2): pacemaker drains it by live migration"
ct_drain node2 "vm1 vm2" || fail "the drain did not finish: $(ct_rsc_state vm1); $(ct_rsc_state vm2)"
ct_settle 60
ct_crm crm_standby --node node2 --update off >>"$CT_OUT/run.log" 2>&1
ct_settle 60
ct_crm crm_mon -1 | sed -n '/Node List/,$p' | sed 's/^/   /'

say "the invariant checker over the whole demo"
ct_inv demo "$t_run"
python3 "$CT_LIB_DIR/ct-report.py" --out "$out" --inv demo \
    --title "vmhandoff demo: ocf:$CT_AGENT:VirtualDomain on 3 hosts" \
    --seconds $((($(ct_now_ns) - t_run) / 1000000000)) | tee "$out/summary.txt"
verdict=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["result"])' "$out/inv/demo.json")
echo "(full report of the checker: $out/inv/demo.txt; logs: $out/logs after the teardown)"
if [ "$CT_KEEP" = 1 ]; then
    ct_teardown
    cat <<EOF

The cluster stays up (lab $LAB_ID). Look around (LAB_ID=$LAB_ID selects it):
   LAB_ID=$LAB_ID cluster-tests/lab/labctl exec node1 crm_mon -1
   LAB_ID=$LAB_ID cluster-tests/lab/labctl crm node1 configure show
   LAB_ID=$LAB_ID cluster-tests/lab/labctl crm node1 resource move vm1 node3
   LAB_ID=$LAB_ID cluster-tests/lab/labctl exec node3 virsh list
   LAB_ID=$LAB_ID cluster-tests/lab/labctl status
Observer logs: $LAB_D/obs/ (one canary collector and one lvwatch per host, still running).
Remove it with: make demo-down
EOF
fi
[ "$verdict" = pass ]
