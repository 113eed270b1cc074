#!/bin/bash
# OCF exit codes of every action, end to end through the agent binary,
# against libvirt's test driver (no daemon) and a fake /proc: the mapping
# from domain state to what pacemaker is told.
set -u
agent=$(realpath "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/proc-empty" "$tmp/proc-qemu/777" "$tmp/rsctmp"
printf '/usr/bin/qemu-system-x86_64\0-name\0guest=ghost,debug-threads=on\0' > "$tmp/proc-qemu/777/cmdline"

# A test-driver "node" with a running, a user-paused and an I/O-error-paused domain.
cat > "$tmp/node.xml" <<XML
<node>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>running</name><memory>8192</memory><os><type>hvm</type></os>
  </domain>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>paused</name><memory>8192</memory><os><type>hvm</type></os>
    <test:runstate>3</test:runstate>
  </domain>
  <network><name>default</name><bridge name='vmhtest0'/></network>
</node>
XML
for d in running paused ghost fresh; do
	printf "<domain type='test'><name>%s</name><memory>8192</memory><os><type>hvm</type></os></domain>\n" "$d" > "$tmp/$d.xml"
done
echo '<domain><name>broken' > "$tmp/broken.xml"
for net in default nosuchnet; do
	printf "<domain type='test'><name>net-%s</name><memory>8192</memory><os><type>hvm</type></os><devices><interface type='network'><source network='%s'/></interface></devices></domain>\n" "$net" "$net" > "$tmp/net-$net.xml"
done

n=0 fail=0
# expect RC DESCRIPTION ACTION [VAR=VALUE...]
expect() {
	local want=$1 what=$2 action=$3; shift 3
	local got out
	out=$(env -i PATH="$PATH" HA_RSCTMP="$tmp/rsctmp" VMH_NO_SYSLOG=1 \
		OCF_RESOURCE_INSTANCE=vm$n OCF_ROOT=/usr/lib/ocf \
		OCF_RESKEY_hypervisor="test://$tmp/node.xml" VMH_PROC_ROOT="$tmp/proc-empty" \
		OCF_RESKEY_CRM_meta_timeout=10000 "$@" "$agent" "$action" 2>&1)
	got=$?
	n=$((n + 1))
	if [ "$got" -eq "$want" ]; then
		echo "ok $n - $what: $action -> $got"
	else
		echo "not ok $n - $what: $action -> $got, expected $want"
		echo "$out" | sed 's/^/#   /'
		fail=1
	fi
}
cfg() { echo "OCF_RESKEY_config=$tmp/$1.xml"; }

expect 0 "running domain" monitor "$(cfg running)" OCF_RESKEY_CRM_meta_interval=10000
expect 0 "running domain, probe" monitor "$(cfg running)"
expect 190 "user-paused domain is active but degraded" monitor "$(cfg paused)" OCF_RESKEY_CRM_meta_interval=10000
expect 7 "undefined domain, no QEMU" monitor "$(cfg ghost)"
expect 1 "undefined in libvirt but its QEMU runs: never 7" monitor "$(cfg ghost)" VMH_PROC_ROOT="$tmp/proc-qemu"
expect 7 "config missing, no name known, no QEMU on the node" monitor "OCF_RESKEY_config=$tmp/none.xml"
expect 1 "config missing, no name known, a QEMU runs: cannot decide" monitor "OCF_RESKEY_config=$tmp/none.xml" VMH_PROC_ROOT="$tmp/proc-qemu"
expect 0 "libvirt unreachable, QEMU of the domain runs" monitor "$(cfg ghost)" \
	OCF_RESKEY_hypervisor="qemu+unix:///system?socket=$tmp/no.sock" VMH_PROC_ROOT="$tmp/proc-qemu"
expect 7 "libvirt unreachable, no QEMU of the domain" monitor "$(cfg ghost)" \
	OCF_RESKEY_hypervisor="qemu+unix:///system?socket=$tmp/no.sock"
expect 0 "monitor with a bad parameter still reports the real state" monitor "$(cfg running)" OCF_RESKEY_bogus=1
expect 0 "stop of a domain that is not there: success, never 7" stop "$(cfg ghost)"
expect 0 "stop of a running domain" stop "$(cfg running)"
expect 0 "stop with force_stop" stop "$(cfg running)" OCF_RESKEY_force_stop=1
expect 1 "stop, libvirt unreachable, name unknown, a QEMU runs" stop "OCF_RESKEY_config=$tmp/none.xml" \
	OCF_RESKEY_hypervisor="qemu+unix:///system?socket=$tmp/no.sock" VMH_PROC_ROOT="$tmp/proc-qemu"
expect 0 "start of a new domain" start "$(cfg fresh)"
expect 0 "start of a running domain is idempotent" start "$(cfg running)"
expect 0 "start resumes a user-paused domain" start "$(cfg paused)"
# The name of the domain is remembered per resource: a later probe with the
# config gone still checks the right domain.
expect 0 "start remembers the domain's name" start "$(cfg running)" OCF_RESOURCE_INSTANCE=cached
expect 0 "config gone, remembered name, domain runs: not 7" monitor "OCF_RESKEY_config=$tmp/none.xml" OCF_RESOURCE_INSTANCE=cached
expect 0 "start_resources: the domain's network exists" start "$(cfg net-default)" OCF_RESKEY_start_resources=true
expect 1 "start_resources: the domain's network does not exist" start "$(cfg net-nosuchnet)" OCF_RESKEY_start_resources=true
expect 6 "start with a bad parameter" start "$(cfg fresh)" OCF_RESKEY_migration_speed=fast
expect 5 "start with a missing config (this node)" start "OCF_RESKEY_config=$tmp/none.xml"
expect 6 "start with a config that is not a domain XML" start "$(cfg broken)"
expect 0 "validate-all" validate-all "$(cfg running)"
expect 6 "validate-all names an unknown parameter" validate-all "$(cfg running)" OCF_RESKEY_migrate_speed=10
expect 6 "validate-all rejects csync2 sync" validate-all "$(cfg running)" OCF_RESKEY_sync_config_on_stop=true
expect 5 "validate-all, config missing" validate-all "OCF_RESKEY_config=$tmp/none.xml"
expect 0 "reload-agent" reload-agent "$(cfg running)"
expect 1 "migrate_to without a target" migrate_to "$(cfg running)"
expect 1 "migrate_to of a domain not running here" migrate_to "$(cfg ghost)" OCF_RESKEY_CRM_meta_migrate_target=n2
expect 1 "migrate_from of a domain that did not arrive" migrate_from "$(cfg ghost)" OCF_RESKEY_CRM_meta_migrate_source=n1
expect 0 "migrate_from of a domain running here" migrate_from "$(cfg running)" OCF_RESKEY_CRM_meta_migrate_source=n1
expect 3 "unknown action" frobnicate "$(cfg running)"
expect 0 "meta-data" meta-data
exit $fail
