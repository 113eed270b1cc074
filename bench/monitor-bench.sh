#!/bin/bash
# monitor cost: time per monitor call of ocf:vmhandoff:VirtualDomain next to
# ocf:heartbeat:VirtualDomain and a raw libvirt state query (virsh domstate,
# one process and one connection, the floor for any forked checker), all in
# the same run, on the same running guest in one simulated host.
# Prints ms per call (median and mean over RUNS calls) and the ratios.
set -u
RUNS=${RUNS:-30}
export LAB_ID=${BENCH_LAB_ID:-6} LAB_QUIET=1
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../cluster-tests/lab/lab.sh
. "$repo/cluster-tests/lab/lab.sh"
work=$(mktemp -d /var/tmp/vmh-bench.XXXXXX)
trap 'lab_down >/dev/null 2>&1; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

type=kvm; [ -w /dev/kvm ] || type=qemu
cat > "$work/vm.xml" <<XML
<domain type='$type'>
  <name>benchvm</name>
  <memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>
XML
lab_up 1 --no-cluster >/dev/null || { echo "bench: lab did not come up" >&2; exit 1; }

# one host without corosync, hence no vmhandoffd: registry=false
env_common="PATH=/usr/sbin:/usr/bin:/sbin:/bin OCF_ROOT=/usr/lib/ocf HA_RSCTMP=/run/resource-agents \
OCF_RESOURCE_INSTANCE=benchvm OCF_RESKEY_config=$work/vm.xml OCF_RESKEY_hypervisor=qemu:///system \
OCF_RESKEY_CRM_meta_timeout=30000 OCF_RESKEY_CRM_meta_interval=10000 VMH_NO_SYSLOG=1 \
OCF_RESKEY_autoset_utilization_cpu=false OCF_RESKEY_autoset_utilization_hv_memory=false \
OCF_RESKEY_autoset_utilization_host_memory=false OCF_RESKEY_registry=false"
# shellcheck disable=SC2086
lab_exec node1 env -i $env_common /usr/lib/ocf/resource.d/vmhandoff/VirtualDomain start >/dev/null 2>&1 ||
	{ echo "bench: cannot start the guest" >&2; exit 1; }

# The timing loop runs inside the host, so nsenter is not in the figures.
cat > "$work/loop.sh" <<'SH'
#!/bin/bash
# loop.sh RUNS CMD... : prints one duration in microseconds per run
runs=$1; shift
for ((i = 0; i < runs; i++)); do
	t0=$(date +%s%N); "$@" >/dev/null 2>&1; rc=$?; t1=$(date +%s%N)
	[ "$rc" -eq 0 ] || { echo "FAIL rc=$rc" ; exit 1; }
	echo $(( (t1 - t0) / 1000 ))
done
SH
chmod +x "$work/loop.sh"

measure() { # NAME CMD...
	local name=$1; shift
	# shellcheck disable=SC2086
	lab_exec node1 env -i $env_common "$work/loop.sh" "$RUNS" "$@" > "$work/$name.us" ||
		{ echo "bench: $name failed: $(tail -1 "$work/$name.us")" >&2; exit 1; }
}
measure vmhandoff /usr/lib/ocf/resource.d/vmhandoff/VirtualDomain monitor
measure heartbeat /usr/lib/ocf/resource.d/heartbeat/VirtualDomain monitor
measure libvirt virsh -q -c qemu:///system domstate benchvm

stat() { sort -n "$1" | awk '{a[NR]=$1; s+=$1} END {printf "%.2f %.2f", a[int((NR+1)/2)]/1000, s/NR/1000}'; }
read -r v_med v_mean <<< "$(stat "$work/vmhandoff.us")"
read -r h_med h_mean <<< "$(stat "$work/heartbeat.us")"
read -r l_med l_mean <<< "$(stat "$work/libvirt.us")"
printf '\nmonitor cost, %d calls each, one running %s guest (ms per call)\n' "$RUNS" "$type"
printf '%-34s %8s %8s\n' contender median mean
printf '%-34s %8s %8s\n' "ocf:vmhandoff:VirtualDomain" "$v_med" "$v_mean"
printf '%-34s %8s %8s\n' "ocf:heartbeat:VirtualDomain" "$h_med" "$h_mean"
printf '%-34s %8s %8s\n' "raw libvirt (virsh domstate)" "$l_med" "$l_mean"
awk -v v="$v_med" -v h="$h_med" -v l="$l_med" 'BEGIN {
	printf "ratio heartbeat/vmhandoff: %.1fx   vmhandoff/raw libvirt: %.2fx\n", h / v, v / l }'
