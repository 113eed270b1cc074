#!/bin/bash
# hostile.sh: bad and hostile input to the real programs, case by case.
# Prints TAP. Each case: a clear error naming what is wrong, the right OCF
# code or exit status, no hang (every call is bounded by `timeout`), no
# crash, nothing created that the input asked a shell to create.
#
#   tests/hostile.sh AGENT VMHANDOFFD CLI
#
# A. the agent (libvirt's test driver, no daemon): domain names and
#    resource names with shell metacharacters and invalid UTF-8, a config
#    that is missing, a directory, a FIFO, huge, not well-formed, not a
#    domain; every integer and boolean parameter of the meta-data with
#    values of the wrong type or out of range.
# B. vmhandoffd's configuration file: missing, a directory, a FIFO, an
#    unknown key, a line without '=', values out of range.
# C. vmhandoffd's state file damaged (garbage, empty): reported at start,
#    naming the file, never used.
# D. vmhandoffd's socket (a live daemon without corosync, on the test
#    driver): garbage, a frame longer than the limit, an unknown request
#    type, a bad version, a truncated frame, a client that is neither root
#    nor in haclient; the daemon stays up and serves the next client.
# E. no shell: no C source calls system(), popen() or a shell; the
#    programs that run tools use execv*/posix_spawn with an argv.
# Malformed CPG messages are tests/unit/test_wire.c's and fuzz/fuzz_wire.c's
# (they need no daemon); malformed IPC frames are also in test_ipc.c.
set -u
agent=$(realpath "${1:?agent}")
daemon=$(realpath "${2:?vmhandoffd}")
cli=$(realpath "${3:?cli}")
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /var/tmp/vmh-hostile.XXXXXX)
daemon_pid=
cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
show() { sed 's/^/#   /' "$tmp/out" | head -n 12; }

# --- A. the agent ----------------------------------------------------------
mkdir -p "$tmp/cwd" "$tmp/rsctmp" "$tmp/proc" "$tmp/a"
cat >"$tmp/node.xml" <<'XML'
<node><domain type='test'><name>running</name><memory>8192</memory><os><type>hvm</type></os></domain></node>
XML
dom() { printf "<domain type='test'><name>%s</name><memory>8192</memory><os><type>hvm</type></os>%s</domain>\n" "$1" "${2:-}"; }
# shellcheck disable=SC2016  # the $(...) and `...` are the hostile part
meta_name='vm;touch pwned1 $(touch pwned2) `touch pwned3` &amp;&amp; touch pwned4 | &lt;x&gt; '"'"'q'"'"' "d"'
dom "$meta_name" >"$tmp/a/meta.xml"
dom ok >"$tmp/a/ok.xml"
dom 'a/b' >"$tmp/a/slash.xml"
dom "$(printf 'vm\tx')" >"$tmp/a/ctl.xml"
dom "$(printf 'vm\xff\xfe')" >"$tmp/a/utf8.xml"
dom big "<description>$(head -c 1200000 /dev/zero | tr '\0' x)</description>" >"$tmp/a/huge.xml"
echo '<domain><name>broken' >"$tmp/a/broken.xml"
echo '<vm><name>x</name></vm>' >"$tmp/a/notdomain.xml"
mkdir "$tmp/a/dir.xml"
mkfifo "$tmp/a/fifo.xml"

# ra RC PATTERN DESCRIPTION ACTION [VAR=VALUE...]: the agent as
# pacemaker-execd runs it (registry=false), bounded by 20 s
ra() {
	local want=$1 pattern=$2 what=$3 action=$4 got reason
	shift 4
	(cd "$tmp/cwd" && timeout 20 env -i PATH="$PATH" HA_RSCTMP="$tmp/rsctmp" VMH_NO_SYSLOG=1 \
		OCF_RESOURCE_INSTANCE="${INSTANCE:-vm1}" OCF_ROOT=/usr/lib/ocf \
		OCF_RESKEY_hypervisor="test://$tmp/node.xml" VMH_PROC_ROOT="$tmp/proc" \
		OCF_RESKEY_CRM_meta_timeout=10000 OCF_RESKEY_registry=false \
		OCF_RESKEY_config="$tmp/a/ok.xml" "$@" "$agent" "$action") >"$tmp/out" 2>&1
	got=$?
	reason=$(sed -n 's/^ocf-exit-reason://p' "$tmp/out" | tail -n 1)
	if [ "$got" = 124 ]; then
		not_ok "$what: $action did not end within 20 s"
	elif [ "$got" != "$want" ]; then
		not_ok "$what: $action -> $got, expected $want"
		show
	elif [ -n "$pattern" ] && ! grep -Eq -- "$pattern" <<<"$reason"; then
		not_ok "$what: $action -> $got, but the reason '$reason' does not match '$pattern'"
	else
		ok "$what: $action -> $got${reason:+ ($reason)}"
	fi
}
nothing_created() { # WHAT
	local made
	made=$(find "$tmp" -name 'pwned*' 2>/dev/null)
	if [ -z "$made" ] && [ -z "$(ls -A "$tmp/cwd")" ]; then
		ok "$1: no shell ran it (nothing created)"
	else
		not_ok "$1: created $made $(ls -A "$tmp/cwd")"
	fi
}

ra 0 "" "a domain name full of shell metacharacters" validate-all "OCF_RESKEY_config=$tmp/a/meta.xml"
ra 0 "" "a domain name full of shell metacharacters" start "OCF_RESKEY_config=$tmp/a/meta.xml"
ra 0 "" "a domain name full of shell metacharacters" stop "OCF_RESKEY_config=$tmp/a/meta.xml"
nothing_created "the metacharacter domain name"
# shellcheck disable=SC2016
INSTANCE='rsc;touch pwned5 $(touch pwned6)' ra 0 "" "a resource name with shell metacharacters" start
INSTANCE=$(printf 'rsc\xff\xfe') ra 0 "" "a resource name that is not UTF-8" start
INSTANCE='../../../escaped' ra 0 "" "a resource name with ../" start
nothing_created "the hostile resource names"
out=$(find "$tmp" -path "$tmp/rsctmp" -prune -o -name '*escaped*' -print)
if [ -z "$out" ]; then
	ok "a resource name with ../ writes nothing outside HA_RSCTMP"
else
	not_ok "a resource name with ../ wrote $out"
fi
ra 6 "holds a '/'" "a domain name with '/'" validate-all "OCF_RESKEY_config=$tmp/a/slash.xml"
ra 6 "control character" "a domain name with a control character" start "OCF_RESKEY_config=$tmp/a/ctl.xml"
ra 6 "not proper UTF-8" "a domain name that is not UTF-8" validate-all "OCF_RESKEY_config=$tmp/a/utf8.xml"
ra 6 "larger than the 1024 KiB" "a domain XML over 1 MiB" start "OCF_RESKEY_config=$tmp/a/huge.xml"
ra 6 "not well-formed XML \(line 2" "a domain XML cut short" validate-all "OCF_RESKEY_config=$tmp/a/broken.xml"
ra 6 "root element is not <domain>" "an XML that is not a domain" validate-all "OCF_RESKEY_config=$tmp/a/notdomain.xml"
ra 6 "a directory" "config is a directory" start "OCF_RESKEY_config=$tmp/a/dir.xml"
ra 6 "a FIFO" "config is a FIFO (must not block)" start "OCF_RESKEY_config=$tmp/a/fifo.xml"
ra 6 "a FIFO" "config is a FIFO (must not block)" validate-all "OCF_RESKEY_config=$tmp/a/fifo.xml"
ra 5 "No such file" "config is missing on this node" start "OCF_RESKEY_config=$tmp/a/none.xml"
ra 6 "config" "config is not set" validate-all OCF_RESKEY_config=

# every integer and boolean parameter of the meta-data, wrong values
params=$("$agent" meta-data | python3 -c '
import sys, xml.etree.ElementTree as ET
for p in ET.parse(sys.stdin).getroot().iter("parameter"):
    c = p.find("content")
    if c is not None and c.get("type") in ("integer", "boolean"):
        print(p.get("name"), c.get("type"))')
count=0
while read -r name type; do
	count=$((count + 1))
	if [ "$type" = integer ]; then
		bad=("abc" "12abc" "99999999999999999999999" "-99999999999999999999999" "0x" " ")
	else
		bad=("maybe" "2" "tru" "")
	fi
	for v in "${bad[@]}"; do
		[ -z "$v" ] && [ "$type" = boolean ] && continue	# empty = unset = default
		ra 6 "$name" "parameter $name ($type) = '$v'" validate-all "OCF_RESKEY_$name=$v"
	done
done <<<"$params"
[ "$count" -ge 20 ] && ok "the meta-data names $count integer and boolean parameters (all tried)" ||
	not_ok "the meta-data names only $count integer and boolean parameters"
ra 6 "migration_downtime" "parameter migration_downtime out of range" validate-all OCF_RESKEY_migration_downtime=-1
ra 6 "migration_abort_after" "parameter migration_abort_after out of range" validate-all OCF_RESKEY_migration_abort_after=-5
ra 6 "migrate_options" "migrate_options with an unknown option" validate-all "OCF_RESKEY_migrate_options=--live; rm -rf /"
ra 6 "hypervisor" "hypervisor not a URI" validate-all "OCF_RESKEY_hypervisor=\$(reboot)"

# --- B. vmhandoffd's configuration ------------------------------------------
mkdir -p "$tmp/d" "$tmp/d/conf.dir"
mkfifo "$tmp/d/conf.fifo"
printf 'bogus_key = 1\n' >"$tmp/d/unknown.conf"
printf 'quorum_loss_pause 3\n' >"$tmp/d/syntax.conf"
printf '# comment\nquorum_loss_pause = -3\n' >"$tmp/d/range.conf"
printf 'migration_network = 198.18.0.0/99\n' >"$tmp/d/cidr.conf"
printf 'state_dir = %s\n' "$(head -c 2000 /dev/zero | tr '\0' a)" >"$tmp/d/long.conf"
# daemon_conf STATUS PATTERN DESCRIPTION FILE
daemon_conf() {
	timeout 20 "$daemon" -c "$4" --state-dir "$tmp/d/state" --socket "$tmp/d/s.sock" \
		--libvirt-uri test:///default >"$tmp/out" 2>&1
	local got=$?
	if [ "$got" = 124 ]; then
		not_ok "vmhandoffd: $3: did not end within 20 s"
	elif [ "$got" = "$1" ] && grep -Eq -- "$2" "$tmp/out"; then
		ok "vmhandoffd: $3: exit $got ($(grep -E -- "$2" "$tmp/out" | head -1 | sed 's/^[^:]*: //'))"
	else
		not_ok "vmhandoffd: $3: exit $got, expected $1 and a line matching '$2'"
		show
	fi
}
daemon_conf 1 "cannot read the configuration .*missing.conf: No such file" "config file missing" "$tmp/d/missing.conf"
daemon_conf 1 "conf.dir: not a regular file" "config file is a directory" "$tmp/d/conf.dir"
daemon_conf 1 "conf.fifo: not a regular file" "config file is a FIFO (must not block)" "$tmp/d/conf.fifo"
daemon_conf 1 "unknown.conf:1: unknown key 'bogus_key'" "unknown key" "$tmp/d/unknown.conf"
daemon_conf 1 "syntax.conf:1: expected 'key = value'" "line without '='" "$tmp/d/syntax.conf"
daemon_conf 1 "range.conf:2: quorum_loss_pause" "value out of range" "$tmp/d/range.conf"
daemon_conf 1 "cidr.conf:1: migration_network" "not a CIDR" "$tmp/d/cidr.conf"
daemon_conf 1 "long.conf:1: line too long" "line too long" "$tmp/d/long.conf"

# --- C. a damaged state file ------------------------------------------------
printf 'migration_network = 198.18.0.0/24\n' >"$tmp/d/good.conf"
for kind in garbage empty; do
	rm -rf "$tmp/d/state" && mkdir -m 0700 "$tmp/d/state"
	case $kind in
	garbage) head -c 300 /dev/urandom >"$tmp/d/state/registry.state" ;;
	empty) : >"$tmp/d/state/registry.state" ;;
	esac
	cp "$tmp/d/state/registry.state" "$tmp/d/registry.state.orig"
	# no corosync here: the daemon runs on (it waits for corosync); 3 s
	timeout 3 "$daemon" -c "$tmp/d/good.conf" --state-dir "$tmp/d/state" --socket "$tmp/d/s.sock" \
		--libvirt-uri test:///default >"$tmp/out" 2>&1
	if grep -q "ERROR: the saved registry $tmp/d/state/registry.state is damaged" "$tmp/out" &&
		cmp -s "$tmp/d/state/registry.state" "$tmp/d/registry.state.orig"; then
		ok "state file $kind: reported at start naming the file, left as it was ($(grep -o 'damaged ([^)]*)' "$tmp/out"))"
	else
		not_ok "state file $kind: reported at start naming the file, left as it was"
		show
	fi
done

# --- D. the daemon's socket ----------------------------------------------------
rm -rf "$tmp/d/state" && mkdir -m 0700 "$tmp/d/state"
"$daemon" -c "$tmp/d/good.conf" --state-dir "$tmp/d/state" --socket "$tmp/d/run/s.sock" \
	--libvirt-uri test:///default >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do [ -S "$tmp/d/run/s.sock" ] && break; sleep 0.1; done
served() { timeout 10 "$cli" -s "$tmp/d/run/s.sock" status >/dev/null 2>&1; }
if served; then
	ok "vmhandoffd without corosync serves status on its socket"
else
	not_ok "vmhandoffd without corosync serves status on its socket"
	sed 's/^/#   /' "$tmp/daemon.log" | tail -5
fi
# raw SOCKET HEX_OR_SPEC: send bytes, read what comes back for at most 5 s
raw() {
	timeout 15 python3 - "$tmp/d/run/s.sock" "$1" <<'PY'
import socket, struct, sys
path, what = sys.argv[1], sys.argv[2]
frames = {
    "garbage": b"\xde\xad\xbe\xef" * 64,
    "oversized": struct.pack("<HHI", 1, 1, 0xFFFFFFF0) + b"x" * 4096,
    "unknown-type": struct.pack("<HHI", 0x7777, 1, 0),
    "bad-version": struct.pack("<HHI", 1, 0x99, 0),
    "truncated": struct.pack("<HHI", 1, 1, 100) + b"\x01\x00",
    "bad-field": struct.pack("<HHI", 1, 1, 8) + struct.pack("<HHI", 0xFFFF, 7, 0),
}
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(path)
try:
    s.sendall(frames[what])
    if what == "truncated":
        s.shutdown(socket.SHUT_WR)
    got = s.recv(65536)
    print("answered %d bytes" % len(got) if got else "closed")
except (socket.timeout, ConnectionResetError, BrokenPipeError) as e:
    print(type(e).__name__)
PY
}
for what in garbage oversized unknown-type bad-version truncated bad-field; do
	res=$(raw "$what")
	if kill -0 "$daemon_pid" 2>/dev/null && served && [ "$res" != socket.timeout ] && [ "$res" != timeout ]; then
		ok "a $what frame: the daemon $res, stays up and serves the next client"
	else
		not_ok "a $what frame: the daemon $res; alive: $(kill -0 "$daemon_pid" 2>/dev/null && echo yes || echo no)"
		tail -5 "$tmp/daemon.log" | sed 's/^/#   /'
	fi
done
chmod 0755 "$tmp" "$tmp/d" 2>/dev/null
out=$(timeout 10 setpriv --reuid=nobody --regid=nogroup --clear-groups \
	--inh-caps=+dac_override --ambient-caps=+dac_override "$cli" -s "$tmp/d/run/s.sock" status 2>&1)
if grep -q 'root or haclient only' <<<"$out" && served; then
	ok "a client neither root nor in haclient: refused by its credentials ($(head -1 <<<"$out"))"
else
	not_ok "a client neither root nor in haclient is refused by its credentials: $out"
fi
if grep -Eq 'malformed|too long|refus|unknown|version' "$tmp/daemon.log"; then
	ok "the daemon's log says what it refused: $(grep -Ec 'malformed|too long|refus|unknown|version' "$tmp/daemon.log") lines"
	grep -E 'malformed|too long|refus|unknown|version' "$tmp/daemon.log" | head -6 | sed 's/^/#   /'
else
	not_ok "the daemon's log says nothing of what it refused"
	sed 's/^/#   /' "$tmp/daemon.log" | tail -8
fi
kill "$daemon_pid" && wait "$daemon_pid" 2>/dev/null
daemon_pid=

# --- E. no shell -----------------------------------------------------------------
out=$(grep -nE '\b(system|popen)[[:space:]]*\(|"/bin/sh"|"sh",[[:space:]]*"-c"|execl[p]?[[:space:]]*\([^,]*sh"' \
	"$repo"/agent/*.c "$repo"/agent/front/*.c "$repo"/helper/*.c "$repo"/cli/*.c "$repo"/lib/*.c)
if [ -z "$out" ]; then
	ok "no C source calls system(), popen() or a shell"
else
	not_ok "a C source calls a shell: $out"
fi
echo "# the programs run other programs only here, each with an argv:"
grep -nE '\b(execv[pe]*|posix_spawnp?)[[:space:]]*\(' "$repo"/agent/*.c "$repo"/agent/front/*.c \
	"$repo"/helper/*.c "$repo"/cli/*.c "$repo"/lib/*.c | sed "s|$repo/|#   |"

echo "1..$n"
[ "$failed" -eq 0 ]
