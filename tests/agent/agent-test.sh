#!/bin/bash
# The agent against real daemons: two simulated hosts (network, mount, uts
# and pid namespaces, each with its own libvirtd, see cluster-tests/lab),
# a real QEMU guest (KVM, or TCG without /dev/kvm), every action run inside
# a host exactly as pacemaker-execd would run it.
#
# Covers: ocf-tester; start/stop/monitor/probe codes; libvirtd killed and
# hung; config missing; a live migration over the dedicated link with
# migrate_to/migrate_from as pacemaker runs them (and back, with
# remoteuri/migrateuri); a migration whose link is cut, cancelled with the
# VM still running on the source, well inside the op timeout.
#
# The hosts run no corosync and no vmhandoffd: every action runs with
# registry=false, so this tests the libvirt side of the agent (the handoff
# through the registry is tested by cluster-tests/ with real daemons).
set -u
export LAB_ID=${AGENT_TEST_LAB_ID:-4}
export LAB_QUIET=1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../../cluster-tests/lab/lab.sh
. "$repo/cluster-tests/lab/lab.sh"

RA=/usr/lib/ocf/resource.d/vmhandoff/VirtualDomain
# A sanitized build (make agent-check SANITIZE=...: VMH_AGENT is its front,
# VMH_SAN_LOG_DIR where its programs report) is judged by its reports too.
san_dir=${VMH_SAN_LOG_DIR:-}
# shellcheck source=../san-reports.sh
. "$repo/tests/san-reports.sh"
[ -z "$san_dir" ] || san_reports_reset "$san_dir" || { echo "not ok 1 - $san_dir"; exit 1; }
work=$(mktemp -d /var/tmp/vmh-agent-test.XXXXXX)
n=0 failed=0
cleanup() {
	lab_down >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # DESCRIPTION WANT GOT
	if [ "$2" = "$3" ]; then ok "$1 ($3)"; else not_ok "$1: got $3, expected $2"; fi
}

virt_type=kvm
[ -w /dev/kvm ] || { virt_type=qemu; echo "# /dev/kvm missing: guests run on TCG"; }

domain_xml() { # NAME MEM_MIB
	cat <<XML
<domain type='$virt_type'>
  <name>$1</name>
  <memory unit='MiB'>$2</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>
XML
}

# ra HOST ACTION [VAR=VALUE...]: run the agent in HOST as pacemaker-execd
# would (registry=false: no vmhandoffd here); prints its exit code, keeps
# its output in $work/last.log.
ra() {
	local host=$1 action=$2; shift 2
	lab_exec "$host" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin OCF_ROOT=/usr/lib/ocf \
		HA_RSCTMP=/run/resource-agents OCF_RESOURCE_INSTANCE=vm1 VMH_NO_SYSLOG=1 \
		OCF_RESKEY_registry=false \
		OCF_RESKEY_config="$work/vm1.xml" OCF_RESKEY_hypervisor=qemu:///system \
		OCF_RESKEY_CRM_meta_timeout=30000 OCF_RESKEY_CRM_meta_interval=10000 \
		OCF_RESKEY_autoset_utilization_cpu=false OCF_RESKEY_autoset_utilization_hv_memory=false \
		OCF_RESKEY_autoset_utilization_host_memory=false \
		"$@" "$RA" "$action" >"$work/last.log" 2>&1
	local rc=$?
	cat "$work/last.log" >>"$work/all.log"
	echo $rc
}
show_log() { sed 's/^/#   /' "$work/last.log"; }

libvirtd_pid() { lab_exec "$1" cat /run/libvirt/libvirtd.pid; }
qemu_running_in() { # HOST NAME -> 0 if a QEMU of NAME runs in HOST
	lab_exec "$1" sh -c "grep -l -a 'guest=[${2:0:1}]${2:1}' /proc/[0-9]*/cmdline 2>/dev/null | grep -q ."
}
dom_state() { lab_exec "$1" virsh -q -c qemu:///system domstate "$2" 2>/dev/null | head -1; }

lab_up 2 --no-cluster || { echo "not ok 1 - lab did not come up"; exit 1; }
domain_xml vm1 128 > "$work/vm1.xml"

# --- ocf-tester (registry=false: no vmhandoffd here) ----------------------
if lab_exec node1 ocf-tester -n vm1 -o config="$work/vm1.xml" -o force_stop=1 -o registry=false \
	-o autoset_utilization_cpu=false -o autoset_utilization_hv_memory=false \
	-o autoset_utilization_host_memory=false "$RA" >"$work/ocf-tester.log" 2>&1; then
	ok "ocf-tester passes"
else
	not_ok "ocf-tester"; sed 's/^/#   /' "$work/ocf-tester.log"
fi

# --- start / monitor / probe / stop ---------------------------------------
check "probe of a stopped VM" 7 "$(ra node1 monitor OCF_RESKEY_CRM_meta_interval=0)"
check "start" 0 "$(ra node1 start)"
check "domain runs after start" running "$(dom_state node1 vm1)"
check "monitor" 0 "$(ra node1 monitor)"
check "start again is idempotent" 0 "$(ra node1 start)"
check "probe on the other host" 7 "$(ra node2 monitor OCF_RESKEY_CRM_meta_interval=0)"
check "probe with the config missing on the running host is not 7" 0 \
	"$(ra node1 monitor OCF_RESKEY_CRM_meta_interval=0 OCF_RESKEY_config=$work/missing.xml)"

lab_exec node1 virsh -q -c qemu:///system suspend vm1 >/dev/null
check "monitor of a user-paused VM says degraded" 190 "$(ra node1 monitor)"
lab_exec node1 virsh -q -c qemu:///system resume vm1 >/dev/null

# --- libvirtd gone, then hung ----------------------------------------------
pid=$(libvirtd_pid node1)
lab_exec node1 kill -9 "$pid"
check "monitor with libvirtd killed: its QEMU runs, so running" 0 "$(ra node1 monitor)"
grep -q "QEMU process" "$work/last.log" && ok "the monitor says it looked at the QEMU process" || { not_ok "no QEMU process line"; show_log; }
lab_exec node1 setsid -f libvirtd -l -p /run/libvirt/libvirtd.pid -f /etc/libvirt/libvirtd.conf </dev/null >/dev/null 2>&1
lab_wait_for 30 "libvirtd back on node1" lab_exec node1 virsh -q -c qemu:///system version >/dev/null 2>&1
check "monitor after libvirtd restart" 0 "$(ra node1 monitor)"

pid=$(libvirtd_pid node1)
lab_exec node1 kill -STOP "$pid"
t0=$(date +%s%N)
rc=$(ra node1 monitor OCF_RESKEY_CRM_meta_timeout=8000)
t1=$(date +%s%N)
lab_exec node1 kill -CONT "$pid"
check "monitor with libvirtd hung: answers from the QEMU process" 0 "$rc"
ms=$(( (t1 - t0) / 1000000 ))
if [ "$ms" -lt 8000 ]; then ok "monitor with libvirtd hung returned before its 8 s timeout (${ms} ms)"
else not_ok "monitor with libvirtd hung took ${ms} ms, past its 8 s timeout"; show_log; fi

# --- live migration over the dedicated link --------------------------------
mig="OCF_RESKEY_migration_transport=tcp OCF_RESKEY_migration_network_suffix=-mig"
# shellcheck disable=SC2086
check "migrate_to node2 (suffix -mig: peer and data on the migration link)" 0 \
	"$(ra node1 migrate_to $mig OCF_RESKEY_CRM_meta_migrate_source=node1 OCF_RESKEY_CRM_meta_migrate_target=node2 OCF_RESKEY_CRM_meta_timeout=60000)"
grep -q "tcp://node2-mig" "$work/last.log" && ok "migration data went to node2-mig" || { not_ok "migration URI"; show_log; }
grep -q "migrated to node2 in" "$work/last.log" && ok "final migration stats logged: $(grep -o 'migrated to node2 in.*' "$work/last.log")" || { not_ok "no final stats"; show_log; }
# shellcheck disable=SC2086
check "migrate_from on node2" 0 "$(ra node2 migrate_from $mig OCF_RESKEY_CRM_meta_migrate_source=node1 OCF_RESKEY_CRM_meta_migrate_target=node2)"
check "monitor on node2" 0 "$(ra node2 monitor)"
check "monitor on node1 after the move" 7 "$(ra node1 monitor)"
if qemu_running_in node1 vm1; then not_ok "a QEMU of vm1 is left on node1"; else ok "no QEMU of vm1 left on node1"; fi

check "migrate back with remoteuri and migrateuri (%n)" 0 \
	"$(ra node2 migrate_to OCF_RESKEY_remoteuri='qemu+tcp://%n-mig/system' OCF_RESKEY_migrateuri='tcp://%n-mig:49200' OCF_RESKEY_CRM_meta_migrate_source=node2 OCF_RESKEY_CRM_meta_migrate_target=node1 OCF_RESKEY_CRM_meta_timeout=60000)"
grep -q "tcp://node1-mig:49200" "$work/last.log" && ok "migrateuri with %n used" || { not_ok "migrateuri"; show_log; }
check "migrate_from on node1" 0 "$(ra node1 migrate_from OCF_RESKEY_CRM_meta_migrate_source=node2 OCF_RESKEY_CRM_meta_migrate_target=node1)"

# migration_network: the target's address inside the dedicated link's CIDR,
# from the resolver. The lab's /etc/hosts (one file shared by the hosts)
# names only the ring address "nodeN"; list the migration addresses under
# the node names too, as an operator would.
for h in node1 node2; do echo "$(lab_mig_addr $h) $h" >> "$LAB_D/hosts"; done
cidr="$(lab_mig_addr node1 | cut -d. -f1-3).0/24"
check "migrate_to node2 with migration_network=$cidr" 0 \
	"$(ra node1 migrate_to OCF_RESKEY_migration_transport=tcp OCF_RESKEY_migration_network=$cidr OCF_RESKEY_CRM_meta_migrate_source=node1 OCF_RESKEY_CRM_meta_migrate_target=node2 OCF_RESKEY_CRM_meta_timeout=60000)"
grep -q "peer qemu+tcp://$(lab_mig_addr node2)/system, data tcp://$(lab_mig_addr node2)" "$work/last.log" &&
	ok "peer connection and data both went to node2's migration address" || { not_ok "migration_network URIs"; show_log; }
check "migrate_from on node2" 0 "$(ra node2 migrate_from OCF_RESKEY_CRM_meta_migrate_source=node1 OCF_RESKEY_CRM_meta_migrate_target=node2)"
check "migration_network with no address of the target in it: not configured" 6 \
	"$(ra node2 migrate_to OCF_RESKEY_migration_transport=tcp OCF_RESKEY_migration_network=198.19.200.0/24 OCF_RESKEY_CRM_meta_migrate_source=node2 OCF_RESKEY_CRM_meta_migrate_target=node1)"
check "migrate_to node1 with migration_network" 0 \
	"$(ra node2 migrate_to OCF_RESKEY_migration_transport=tcp OCF_RESKEY_migration_network=$cidr OCF_RESKEY_CRM_meta_migrate_source=node2 OCF_RESKEY_CRM_meta_migrate_target=node1 OCF_RESKEY_CRM_meta_timeout=60000)"
check "migrate_from on node1" 0 "$(ra node1 migrate_from OCF_RESKEY_CRM_meta_migrate_source=node2 OCF_RESKEY_CRM_meta_migrate_target=node1)"

# --- a migration whose link is cut -----------------------------------------
# The migration link is slowed so that the copy lasts, then cut under it
# once the memory copy is under way: when node1 has sent 300 KB more on
# its migration link than before (the peer connection's setup is a few KB).
lab_shape node2 mig 1mbit >/dev/null 2>&1 || lab_shape node1 mig 1mbit
mig_tx() { lab_exec node1 cat /sys/class/net/mig0/statistics/tx_bytes; }
tx0=$(mig_tx)
copy_under_way() { [ $(( $(mig_tx) - tx0 )) -gt 300000 ]; }
(
	lab_wait_for 30 "the memory copy to start" copy_under_way
	lab_link node2 mig down
) &
cutter=$!
t0=$(date +%s%N)
# shellcheck disable=SC2086
rc=$(ra node1 migrate_to $mig OCF_RESKEY_migration_abort_after=4 OCF_RESKEY_CRM_meta_migrate_source=node1 OCF_RESKEY_CRM_meta_migrate_target=node2 OCF_RESKEY_CRM_meta_timeout=60000)
t1=$(date +%s%N)
wait $cutter
cp "$work/last.log" "$work/cut.log"
check "migrate_to over a cut link fails" 1 "$rc"
ms=$(( (t1 - t0) / 1000000 ))
if [ "$ms" -lt 30000 ]; then ok "cancelled well inside the 60 s op timeout (${ms} ms)"
else not_ok "cancel took ${ms} ms"; sed 's/^/#   /' "$work/cut.log"; fi
grep -q "keeps running here" "$work/cut.log" && ok "the agent reports the VM still running on the source" || { not_ok "no 'keeps running' line"; sed 's/^/#   /' "$work/cut.log"; }
check "VM still runs on the source" running "$(dom_state node1 vm1)"
check "monitor on the source" 0 "$(ra node1 monitor)"
lab_link node2 mig up
lab_unshape node2 mig >/dev/null 2>&1; lab_unshape node1 mig >/dev/null 2>&1
# The target holds a paused incoming copy until libvirt's cleanup reaches
# it (the source's peer connection dies by keepalive); meanwhile a probe
# there must say "active", never 7.
target_clean() { ! lab_exec node2 virsh -q -c qemu:///system domstate vm1 >/dev/null 2>&1; }
t0=$(date +%s)
if lab_wait_for 120 "node2's incoming copy cleaned up" target_clean; then
	ok "the target's incoming copy was removed by libvirt after $(( $(date +%s) - t0 )) s"
else
	not_ok "the target's incoming copy is still there after 120 s"
fi
check "no copy runs on the target" 7 "$(ra node2 monitor)"

# --- stop --------------------------------------------------------------------
t0=$(date +%s)
check "graceful stop falls back to destroy inside the op timeout" 0 "$(ra node1 stop OCF_RESKEY_CRM_meta_timeout=12000)"
t1=$(date +%s)
[ $((t1 - t0)) -lt 12 ] && ok "stop took $((t1 - t0)) s of its 12 s" || not_ok "stop took $((t1 - t0)) s"
check "stop again: success, not 7" 0 "$(ra node1 stop)"
check "monitor after stop" 7 "$(ra node1 monitor)"
check "probe with the config missing and nothing running" 7 \
	"$(ra node1 monitor OCF_RESKEY_CRM_meta_interval=0 OCF_RESOURCE_INSTANCE=other OCF_RESKEY_config=$work/missing.xml)"

if [ -n "$san_dir" ]; then
	echo "# sanitized agent: $(readlink -f "$LAB_AGENT")"
	san_reports_check "$san_dir" "the agent over this run" "$work/all.log"
fi
echo "1..$n"
[ "$failed" -eq 0 ]
