#!/bin/bash
# OCF exit codes of every action, end to end through the agent binary,
# against libvirt's test driver (no daemon) and a fake /proc: the mapping
# from domain state to what pacemaker is told. Then the monitor's front
# (tests/ocf-codes.sh AGENT [FRONT], FRONT by default VirtualDomain next to
# AGENT): when it answers a monitor itself, and that it hands every other
# call to the full agent.
set -u
agent=$(realpath "$1")
front=$(realpath -m "${2:-$(dirname "$agent")/VirtualDomain}")
tmp=$(mktemp -d)
fake_pid=
trap 'stop_fake; rm -rf "$tmp"' EXIT
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
# No vmhandoffd runs here: the cases run with registry=false (the libvirt
# side, as before the registry) unless they set registry themselves; the
# ones with registry=true point registry_socket at a path where no daemon
# listens.
nodaemon="OCF_RESKEY_registry_socket=$tmp/no-daemon.sock"
# expect_reason RC PATTERN DESCRIPTION ACTION [VAR=VALUE...]: the exit code,
# and the last OCF exit reason matching PATTERN (grep -E) unless it is "".
expect_reason() {
	local want=$1 pattern=$2 what=$3 action=$4; shift 4
	local got out reason
	out=$(env -i PATH="$PATH" HA_RSCTMP="$tmp/rsctmp" VMH_NO_SYSLOG=1 \
		OCF_RESOURCE_INSTANCE=vm$n OCF_ROOT=/usr/lib/ocf \
		OCF_RESKEY_hypervisor="test://$tmp/node.xml" VMH_PROC_ROOT="$tmp/proc-empty" \
		OCF_RESKEY_CRM_meta_timeout=10000 OCF_RESKEY_registry=false \
		"$@" "${RA_PROG:-$agent}" "$action" 2>&1)
	got=$?
	printf '%s\n' "$out" > "$tmp/out"
	reason=$(echo "$out" | sed -n 's/^ocf-exit-reason://p' | tail -n 1)
	n=$((n + 1))
	if [ "$got" -ne "$want" ]; then
		echo "not ok $n - $what: $action -> $got, expected $want"
		echo "$out" | sed 's/^/#   /'
		fail=1
	elif [ -n "$pattern" ] && ! echo "$reason" | grep -Eq -- "$pattern"; then
		echo "not ok $n - $what: $action -> $got, but the exit reason does not match '$pattern'"
		echo "$out" | sed 's/^/#   /'
		fail=1
	else
		echo "ok $n - $what: $action -> $got${pattern:+ (reason: $reason)}"
	fi
}
# expect RC DESCRIPTION ACTION [VAR=VALUE...]
expect() {
	local want=$1 what=$2 action=$3; shift 3
	expect_reason "$want" "" "$what" "$action" "$@"
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

# registry=true with no vmhandoffd: nothing is started or migrated without
# the registry, and the reason names the socket; stop still succeeds.
expect_reason 1 "vmhandoffd not reachable at $tmp/no-daemon.sock.*registry=false" \
	"registry, no daemon: start of a new domain fails" start "$(cfg fresh)" OCF_RESKEY_registry=true "$nodaemon"
expect_reason 1 "vmhandoffd not reachable at $tmp/no-daemon.sock" \
	"registry, no daemon: start of a running domain fails too" start "$(cfg running)" \
	OCF_RESKEY_registry=true "$nodaemon"
expect_reason 1 "vmhandoffd not reachable at $tmp/no-daemon.sock" \
	"registry is the default" start "$(cfg fresh)" OCF_RESKEY_registry= "$nodaemon"
expect_reason 1 "vmhandoffd not reachable at $tmp/no-daemon.sock.*keeps running here" \
	"registry, no daemon: migrate_to does not migrate" migrate_to "$(cfg running)" \
	OCF_RESKEY_registry=true "$nodaemon" OCF_RESKEY_CRM_meta_migrate_target=n2
expect_reason 1 "vmhandoffd not reachable at $tmp/no-daemon.sock" \
	"registry, no daemon: migrate_from fails" migrate_from "$(cfg running)" \
	OCF_RESKEY_registry=true "$nodaemon" OCF_RESKEY_CRM_meta_migrate_source=n1
expect_reason 0 "" "registry, no daemon: stop succeeds (release only warned about)" stop \
	"$(cfg running)" OCF_RESKEY_registry=true "$nodaemon"
expect_reason 0 "" "registry, no daemon: stop of a domain that is not there" stop "$(cfg ghost)" \
	OCF_RESKEY_registry=true "$nodaemon"
expect_reason 6 "migration_postcopy.*registry=true" "registry=true refuses migration_postcopy" \
	validate-all "$(cfg running)" OCF_RESKEY_migration_postcopy=true OCF_RESKEY_registry=true
expect_reason 6 "migration_postcopy.*registry=true" "registry (default) refuses postcopy at start" \
	start "$(cfg fresh)" OCF_RESKEY_migration_postcopy=true OCF_RESKEY_registry=
expect_reason 6 "migrate_options.*--postcopy.*registry=true" "registry=true refuses --postcopy" \
	migrate_to "$(cfg running)" OCF_RESKEY_migrate_options=--postcopy OCF_RESKEY_registry=true \
	OCF_RESKEY_CRM_meta_migrate_target=n2
expect 0 "registry=false allows migration_postcopy" validate-all "$(cfg running)" \
	OCF_RESKEY_migration_postcopy=true
expect 6 "registry_socket must be an absolute path" validate-all "$(cfg running)" \
	OCF_RESKEY_registry_socket=vmhandoffd.sock

# --- registry=true against a scripted vmhandoffd -----------------------------
# The agent's reaction to each answer of the registry. The fake daemon
# answers each request type as told (JSON: type -> reply fields; reasons
# and states by number: R_STATE 9, R_OWNER_PRESENT 12; RUNNING 1,
# MIGRATING 2; status E_REJECTED 1, E_TIMEOUT 2) and logs the requests in
# $tmp/requests. The test driver cannot migrate: every migrate call fails.
cat > "$tmp/fake-vmhandoffd.py" <<'PY'
# A fake vmhandoffd for the agent's OCF-code tests: answers each request
# type as the scenario says (JSON: type name -> reply fields) and logs the
# requests it got, one line each. Frame format: lib/vmh_ipc.h.
import json, os, socket, struct, sys, time

path, scenario, log = sys.argv[1:4]
replies = json.loads(scenario)
names = {1: "STATUS", 2: "CLAIM", 3: "RELEASE", 4: "BEGIN", 5: "COMMIT", 6: "ABORT",
         7: "WAIT_OWNER", 8: "QUERY", 9: "CONFIG_GET", 10: "CONFIG_PUSH", 11: "DOMSTATE"}
# reply tags: name -> (tag, struct format or "str")
tags = {"status": (7, "<I"), "reason": (8, "<I"), "message": (9, "str"),
        "epoch": (10, "<Q"), "vm_state": (11, "<B"), "owner": (12, "<I"),
        "nodeid": (14, "<I"), "addr": (15, "str"), "xml": (4, "str"),
        "may_run": (16, "<B"), "dom_state": (23, "<B"), "dom_reason": (24, "<I"),
        "vcpus": (25, "<I"), "max_mem": (26, "<Q"), "uri": (27, "str")}

def recv_all(c, n):
    buf = b""
    while len(buf) < n:
        chunk = c.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf

def fields(body):
    out, i = {}, 0
    while i + 8 <= len(body):
        tag, _, ln = struct.unpack_from("<HHI", body, i)
        out[tag] = body[i + 8:i + 8 + ln]
        i += 8 + ln
    return out

def reply(rtype, spec):
    body = b""
    for key, value in spec.items():
        if key == "delay_ms":
            continue
        tag, fmt = tags[key]
        v = value.encode() if fmt == "str" else struct.pack(fmt, value)
        body += struct.pack("<HHI", tag, 0, len(v)) + v
    return struct.pack("<HHI", rtype | 0x80, 1, len(body)) + body

srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path + ".tmp")
os.rename(path + ".tmp", path)
srv.listen(8)
while True:
    c, _ = srv.accept()
    with c:
        hdr = recv_all(c, 8)
        if not hdr:
            continue
        rtype, _, ln = struct.unpack("<HHI", hdr)
        f = fields(recv_all(c, ln) or b"")
        name = names.get(rtype, "?")
        with open(log, "a") as lf:
            lf.write("%s vm=%s node=%s fencing=%d uuid=%s xml=%d budget=%d\n" % (
                name, f.get(1, b"").decode(), f.get(2, b"").decode(),
                f.get(5, b"\0")[0], f.get(3, b"").hex(), len(f.get(4, b"")),
                struct.unpack("<I", f.get(6, b"\0\0\0\0"))[0]))
        # a registry that knows no VM unless the scenario says otherwise
        spec = replies.get(name, {"status": 7 if name == "CONFIG_GET" else 0})
        time.sleep(spec.get("delay_ms", 0) / 1000.0)
        c.sendall(reply(rtype, spec))
PY
stop_fake() {
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
	fake_pid=
}
fake() { # SCENARIO
	stop_fake
	rm -f "$tmp/fake.sock" "$tmp/requests"
	touch "$tmp/requests"
	python3 "$tmp/fake-vmhandoffd.py" "$tmp/fake.sock" "$1" "$tmp/requests" &
	fake_pid=$!
	for _ in $(seq 50); do [ -S "$tmp/fake.sock" ] && return; sleep 0.1; done
}
# requests WANT DESCRIPTION: the request types the daemon got, in order,
# and each line of them matches the grep -E patterns after WANT (if any)
requests() {
	local want=$1 what=$2 got; shift 2
	got=$(cut -d' ' -f1 "$tmp/requests" | xargs)
	n=$((n + 1))
	if [ "$got" != "$want" ]; then
		echo "not ok $n - $what: requests '$got', expected '$want'"; fail=1; return
	fi
	for pattern in "$@"; do
		if ! grep -Eq -- "$pattern" "$tmp/requests"; then
			echo "not ok $n - $what: no request matches '$pattern'"
			sed 's/^/#   /' "$tmp/requests"; fail=1; return
		fi
	done
	echo "ok $n - $what: $got"
}
# check DESCRIPTION CMD...: one more test line, ok if CMD succeeds
check() {
	local what=$1; shift
	n=$((n + 1))
	if "$@"; then echo "ok $n - $what"; else echo "not ok $n - $what"; fail=1; fi
}
reg="OCF_RESKEY_registry=true OCF_RESKEY_registry_socket=$tmp/fake.sock"
to_n2="OCF_RESKEY_CRM_meta_migrate_target=n2 OCF_RESKEY_CRM_meta_timeout=60000"
begun='"BEGIN": {"status": 0, "nodeid": 2, "addr": "198.18.255.254", "vm_state": 2, "owner": 1}'

fake '{"CLAIM": {"status": 0, "epoch": 1, "vm_state": 1}}'
# shellcheck disable=SC2086
expect 0 "claim granted: start" start "$(cfg fresh)" $reg
requests "CONFIG_GET CLAIM" "start claims the VM with its config, fencing required" \
	"^CLAIM vm=fresh .*fencing=1 .*xml=[1-9]"
fake '{"CLAIM": {"status": 0}}'
# shellcheck disable=SC2086
expect 0 "claim granted, require_fencing=false" start "$(cfg fresh)" $reg OCF_RESKEY_require_fencing=false
requests "CONFIG_GET CLAIM" "the claim says fencing is not required" "^CLAIM vm=fresh .*fencing=0 "
# shellcheck disable=SC2086
expect 0 "claim granted: start of a running domain (re-claim)" start "$(cfg running)" $reg
# config ownership: the registry's definition wins over the file
regxml=$(printf "<domain type='test'><name>fresh</name><memory>16384</memory><os><type>hvm</type></os></domain>")
fake "{\"CONFIG_GET\": {\"status\": 0, \"epoch\": 4, \"vm_state\": 0, \"xml\": \"$regxml\"}}"
# shellcheck disable=SC2086
expect 0 "the registry holds a definition: start uses it" start "$(cfg fresh)" $reg
requests "CONFIG_GET CLAIM" "the claim does not overwrite the registry's definition" \
	"^CLAIM vm=fresh .*xml=0 "
n=$((n + 1))
if grep -q "using the registry's definition (epoch 4" "$tmp/out"; then
	echo "ok $n - the start says it uses the registry's definition, not the differing file"
else
	echo "not ok $n - no log line about the registry's definition"; sed 's/^/#   /' "$tmp/out"; fail=1
fi
fake "{\"CONFIG_GET\": {\"status\": 0, \"epoch\": 4, \"xml\": \"<domain type='nosuchtype'><name>fresh</name><os><type>hvm</type></os></domain>\"}}"
# shellcheck disable=SC2086
expect_reason 1 "fresh: start failed" "libvirt gets the registry's definition (one it refuses)" \
	start "$(cfg fresh)" $reg
fake "{\"CONFIG_GET\": {\"status\": 0, \"epoch\": 4, \"xml\": \"<domain type='test'><name>other</name></domain>\"}}"
# shellcheck disable=SC2086
expect_reason 1 "registry's definition \(epoch 4\) names another domain, other" \
	"the registry's definition names another domain: start fails" start "$(cfg fresh)" $reg
requests "CONFIG_GET" "nothing claimed with a definition of another name"
fake "{\"CONFIG_GET\": {\"status\": 0, \"epoch\": 4, \"xml\": \"<domain><name>fresh\"}}"
# shellcheck disable=SC2086
expect_reason 1 "is not a usable domain XML" "the registry's definition is broken: start fails" \
	start "$(cfg fresh)" $reg
fake '{"CONFIG_GET": {"status": 10, "message": "out of memory"}}'
# shellcheck disable=SC2086
expect_reason 1 "cannot read its definition from the registry" \
	"the registry cannot say: start fails" start "$(cfg fresh)" $reg

fake '{"CLAIM": {"status": 1, "reason": 12, "message": "owner n2 is still a member"}}'
# shellcheck disable=SC2086
expect_reason 1 "registry refused the claim of fresh: owner n2 is still a member \(owner still a member\)" \
	"claim refused: start fails" start "$(cfg fresh)" $reg
# shellcheck disable=SC2086
expect_reason 1 "registry refused the claim of running" \
	"claim refused while the domain runs here: start fails" start "$(cfg running)" $reg
fake '{}'
# shellcheck disable=SC2086
expect_reason 1 "only vmhandoffd resumes" "registry=true: start does not resume a paused copy" \
	start "$(cfg paused)" $reg
requests "" "a paused copy is not claimed either"
fake '{"CLAIM": {"status": 8, "message": "another request for busy is in flight"}}'
# shellcheck disable=SC2086
expect_reason 1 "busy" "claim busy the whole time: asked again until the budget, then start fails" \
	start "$(cfg fresh)" $reg
n=$((n + 1))
if [ "$(grep -c '^CLAIM' "$tmp/requests")" -ge 3 ]; then
	echo "ok $n - a busy claim is asked again ($(grep -c '^CLAIM' "$tmp/requests") claims)"
else
	echo "not ok $n - a busy claim is asked again"; sed 's/^/#   /' "$tmp/requests"; fail=1
fi
fake '{"CLAIM": {"status": 1, "reason": 12, "vm_state": 2, "owner": 1, "message": "owner still a member; migrating n1 -> n2"}}'
# shellcheck disable=SC2086
expect_reason 1 "migrating n1 -> n2" "claim of a VM in an undecided handoff: asked again, then fails" \
	start "$(cfg fresh)" $reg
n=$((n + 1))
if [ "$(grep -c '^CLAIM' "$tmp/requests")" -ge 3 ]; then
	echo "ok $n - a claim refused during a handoff is asked again"
else
	echo "not ok $n - a claim refused during a handoff is asked again"; sed 's/^/#   /' "$tmp/requests"; fail=1
fi
fake '{"CLAIM": {"status": 2, "message": "record not delivered within the budget; outcome unknown"}}'
# shellcheck disable=SC2086
expect_reason 1 "claim.*timed out" "claim timed out: start fails" start "$(cfg fresh)" $reg

fake '{"RELEASE": {"status": 0, "vm_state": 0}}'
# shellcheck disable=SC2086
expect 0 "stop releases the VM" stop "$(cfg running)" $reg
requests "RELEASE" "stop releases once the domain is gone" "^RELEASE vm=running "
# shellcheck disable=SC2086
expect 0 "stop of a domain that is not there releases too" stop "$(cfg ghost)" $reg
fake '{"RELEASE": {"status": 1, "reason": 9, "vm_state": 1, "owner": 2}}'
# shellcheck disable=SC2086
expect 0 "release refused (another owner): stop still succeeds" stop "$(cfg running)" $reg

fake "{$begun, \"ABORT\": {\"status\": 0, \"vm_state\": 1, \"owner\": 1}}"
# shellcheck disable=SC2086
expect_reason 1 "migration to n2 failed.*keeps running here" \
	"handoff begun, migrate call failed, abort delivered" migrate_to "$(cfg running)" $reg $to_n2
requests "BEGIN ABORT" "BEGIN names the target; ABORT after the failure" "^BEGIN vm=running node=n2 "
n=$((n + 1))
if grep -q "data tcp://198.18.255.254, flags 0x23" "$tmp/out"; then
	echo "ok $n - migrated (tried) to the registry's address, live, p2p and paused"
else
	echo "not ok $n - the migration did not use the registry's address and VIR_MIGRATE_PAUSED"
	sed 's/^/#   /' "$tmp/out"; fail=1
fi
fake "{$begun, \"ABORT\": {\"status\": 1, \"reason\": 9, \"vm_state\": 1, \"owner\": 2}}"
# shellcheck disable=SC2086
expect 0 "abort refused because the target's commit won: migrated" migrate_to "$(cfg running)" $reg $to_n2
fake "{$begun, \"ABORT\": {\"status\": 1, \"reason\": 9, \"vm_state\": 1, \"owner\": 3}}"
# shellcheck disable=SC2086
expect 1 "abort refused, VM owned by a third node: failure" migrate_to "$(cfg running)" $reg $to_n2
fake "{$begun, \"ABORT\": {\"status\": 2}}"
# shellcheck disable=SC2086
expect 1 "abort timed out: failure, copies left to the registry" migrate_to "$(cfg running)" $reg $to_n2
fake "{$begun, \"ABORT\": {\"status\": 0}}"
# shellcheck disable=SC2086
expect 1 "user-configured link wins over the registry's address" migrate_to "$(cfg running)" $reg $to_n2 \
	OCF_RESKEY_migration_network_suffix=-mig
n=$((n + 1))
if grep -q "data tcp://n2-mig," "$tmp/out"; then echo "ok $n - migration_network_suffix used"
else echo "not ok $n - migration_network_suffix not used"; sed 's/^/#   /' "$tmp/out"; fail=1; fi
fake '{"BEGIN": {"status": 1, "reason": 9, "message": "the VM is stopped in the registry"}}'
# shellcheck disable=SC2086
expect_reason 1 "did not begin the handoff to n2.*stopped in the registry.*keeps running here" \
	"handoff refused: no migration" migrate_to "$(cfg running)" $reg $to_n2
requests "BEGIN" "nothing after a refused BEGIN"
n=$((n + 1))
if grep -q "live migration to" "$tmp/out"; then
	echo "not ok $n - a migration was tried without the registry's BEGIN"; fail=1
else echo "ok $n - no migration without the registry's BEGIN"; fi
fake '{"BEGIN": {"status": 2}, "ABORT": {"status": 1, "reason": 9}}'
# shellcheck disable=SC2086
expect 1 "handoff timed out: no migration" migrate_to "$(cfg running)" $reg $to_n2
requests "BEGIN ABORT" "a BEGIN that timed out is undone by an ABORT"

fake '{"WAIT_OWNER": {"status": 0, "vm_state": 1, "owner": 2}}'
# shellcheck disable=SC2086
expect 0 "commit delivered: migrate_from" migrate_from "$(cfg running)" $reg OCF_RESKEY_CRM_meta_migrate_source=n1
requests "WAIT_OWNER" "migrate_from waits for the registry" "^WAIT_OWNER vm=running "
# shellcheck disable=SC2086
expect 1 "registry says owner, libvirt says not running: failure" migrate_from "$(cfg ghost)" $reg \
	OCF_RESKEY_CRM_meta_migrate_source=n1
fake '{"WAIT_OWNER": {"status": 1, "reason": 9, "message": "the registry did not hand the VM to this node"}}'
# shellcheck disable=SC2086
expect_reason 1 "handoff from n1 was aborted" "handoff aborted: migrate_from fails" migrate_from \
	"$(cfg running)" $reg OCF_RESKEY_CRM_meta_migrate_source=n1
fake '{"WAIT_OWNER": {"status": 2}}'
# shellcheck disable=SC2086
expect_reason 1 "did not commit the handoff from n1 in time" "no commit in time: migrate_from fails" \
	migrate_from "$(cfg running)" $reg OCF_RESKEY_CRM_meta_migrate_source=n1

# --- the monitor's front ------------------------------------------------------
# A copy of the front next to a stand-in for the full agent that notes each
# call in $tmp/full-runs and execs the real one: which calls the front
# answered itself, and which it handed over.
mkdir -p "$tmp/ra"
if [ -x "$front" ]; then
	cp "$front" "$tmp/ra/VirtualDomain"
else
	n=$((n + 1)); echo "not ok $n - front: $front is missing (make all)"; fail=1
fi
cat > "$tmp/ra/vmhandoff-ra" <<SH
#!/bin/sh
echo "\$1" >> "$tmp/full-runs"
exec "$agent" "\$@"
SH
chmod +x "$tmp/ra/vmhandoff-ra"
fm_env="OCF_RESOURCE_INSTANCE=fm $(cfg running) $reg OCF_RESKEY_CRM_meta_interval=10000"
ticket=$tmp/rsctmp/vmhandoff/fm.fastmon
util=$tmp/rsctmp/vmhandoff/fm.utilization
# front RC DESCRIPTION fast|full ACTION [VAR=VALUE...]: the front's exit code,
# whether the full agent ran, and, when it did, that its code is the full
# agent's own for the same call (run once more, directly)
front() {
	local want=$1 what=$2 how=$3 action=$4 runs direct; shift 4
	rm -f "$tmp/full-runs"
	# shellcheck disable=SC2086
	RA_PROG="$tmp/ra/VirtualDomain" expect "$want" "front: $what" "$action" $fm_env "$@"
	runs=$(xargs 2>/dev/null < "$tmp/full-runs")
	n=$((n + 1))
	# (expect leaves the output plus a newline in $tmp/out)
	if [ "$how" = fast ] && [ -z "$runs" ] && [ "$(wc -c < "$tmp/out")" -le 1 ]; then
		echo "ok $n - front: $what: answered without the full agent, silently"
	elif [ "$how" = fast ]; then
		echo "not ok $n - front: $what: full agent ran ($runs) or output"; sed 's/^/#   /' "$tmp/out"; fail=1
	elif [ "$runs" != "$action" ]; then
		echo "not ok $n - front: $what: the full agent ran '$runs', expected '$action'"; fail=1
	else
		# shellcheck disable=SC2086
		direct=$(env -i PATH="$PATH" HA_RSCTMP="$tmp/rsctmp" VMH_NO_SYSLOG=1 \
			OCF_ROOT=/usr/lib/ocf OCF_RESKEY_hypervisor="test://$tmp/node.xml" \
			VMH_PROC_ROOT="$tmp/proc-empty" OCF_RESKEY_CRM_meta_timeout=10000 \
			OCF_RESKEY_registry=false $fm_env "$@" "$agent" "$action" >/dev/null 2>&1; echo $?)
		if [ "$direct" = "$want" ]; then
			echo "ok $n - front: $what: handed to the full agent, which answers $direct too"
		else
			echo "not ok $n - front: $what: the full agent alone answers $direct"; fail=1
		fi
	fi
}
fake '{}'
front 0 "no ticket yet: the full agent's monitor" full monitor
requests "" "no ticket, no DOMSTATE"
check "the full agent's recurring monitor of a running domain leaves a ticket" \
	grep -q '^domain running$' "$ticket"
uri=$(sed -n 's/^uri //p' "$ticket")
up="\"status\": 0, \"vm_state\": 1, \"owner\": 1, \"may_run\": 1, \"uri\": \"$uri\""
dom="\"dom_state\": 1, \"dom_reason\": 1, \"vcpus\": 1, \"max_mem\": 8192"
# no CIB here: the utilization the full agent would have written
echo "1 8 8" > "$util"
fake "{\"DOMSTATE\": {$up, $dom}}"
front 0 "running, allowed, figures written: answered" fast monitor
requests "DOMSTATE" "the front asks vmhandoffd for the domain" "^DOMSTATE vm=running .*budget=400$"
front 0 "probe" full monitor OCF_RESKEY_CRM_meta_interval=0
front 0 "probe (no interval)" full monitor OCF_RESKEY_CRM_meta_interval=
front 0 "status" full status
front 0 "debug on" full monitor VMH_DEBUG=1
front 0 "a parameter changed" full monitor OCF_RESKEY_force_stop=true
front 0 "... and the same again: the full agent's new ticket" fast monitor OCF_RESKEY_force_stop=true
front 0 "an unknown parameter" full monitor OCF_RESKEY_bogus=1
check "... whose error the full agent logs" grep -q "invalid parameter bogus" "$tmp/out"
front 0 "monitor_scripts set" full monitor OCF_RESKEY_monitor_scripts=/bin/true
front 0 "... and again: no ticket with monitor_scripts" full monitor OCF_RESKEY_monitor_scripts=/bin/true
front 0 "registry=false" full monitor OCF_RESKEY_registry=false
front 0 "... and again: no ticket without the registry" full monitor OCF_RESKEY_registry=false
front 0 "back to the first parameters: one ticket per resource" full monitor
front 0 "... and again" fast monitor
sleep 0.01; touch "$tmp/running.xml"
front 0 "the config file changed" full monitor
front 0 "... read again by the full agent" fast monitor
rm -f "$ticket"
front 0 "ticket gone" full monitor
front 0 "... written again" fast monitor
echo "1 8 16" > "$util"
front 0 "utilization changed since it was written" full monitor
echo "1 8 8" > "$util"
fake "{\"DOMSTATE\": {$up, $dom, \"max_mem\": 16384}}"
front 0 "the domain's memory changed" full monitor
for state in "3:paused" "5:shut off" "0:no state" "4:shutting down"; do
	fake "{\"DOMSTATE\": {$up, $dom, \"dom_state\": ${state%%:*}}}"
	front 0 "domain ${state#*:} here" full monitor
done
fake "{\"DOMSTATE\": {$up}}"
front 0 "no such domain here" full monitor
fake "{\"DOMSTATE\": {$up, $dom, \"may_run\": 0}}"
front 0 "the registry does not allow it here" full monitor
fake "{\"DOMSTATE\": {$up, $dom, \"uri\": \"qemu:///system\"}}"
front 0 "vmhandoffd's libvirt is another hypervisor" full monitor
fake "{\"DOMSTATE\": {$up, $dom, \"status\": 10, \"message\": \"libvirt: error\"}}"
front 0 "vmhandoffd cannot ask libvirt" full monitor
fake "{\"DOMSTATE\": {$up, $dom, \"dom_state\": 200}}"
front 0 "a malformed reply" full monitor
fake "{\"DOMSTATE\": {$up, $dom, \"delay_ms\": 3000}}"
t0=${EPOCHREALTIME/[.,]/}
front 0 "vmhandoffd slow" full monitor
t1=${EPOCHREALTIME/[.,]/}
check "... handed over after the front's 500 ms ($(( (t1 - t0) / 1000 )) ms with the full agent's run)" \
	test $(( (t1 - t0) / 1000 )) -lt 2500
stop_fake
front 0 "vmhandoffd not running" full monitor
front 7 "a domain not defined, probe" full monitor "$(cfg ghost)" OCF_RESKEY_CRM_meta_interval=0
front 190 "a user-paused domain" full monitor "$(cfg paused)"
front 6 "validate-all with a bad parameter" full validate-all OCF_RESKEY_migration_speed=fast
front 0 "meta-data" full meta-data
rm -f "$tmp/full-runs"
env -i PATH="$PATH" "$tmp/ra/VirtualDomain" > "$tmp/out" 2>&1
rc=$?
check "front without an action: the full agent's usage ($rc)" \
	sh -c "[ $rc = 2 ] && grep -q usage '$tmp/out' && grep -qx '' '$tmp/full-runs'"

expect 3 "unknown action" frobnicate "$(cfg running)"
expect 0 "meta-data" meta-data
exit $fail
