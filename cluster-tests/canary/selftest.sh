#!/bin/bash
# selftest.sh - boots the canary under plain QEMU, live-migrates it between
# two local QEMU processes and checks what two collectors (hosts A and B)
# logged: boot line, ticks, `last` on A, `first` = last + 1 on B (A logs
# seq numbers in decimal, the default, B in hex with --hex).
# A third, TCG-only guest gets a garbage command line (and mark=1, which
# fills its clamped working set with text markers) and must still tick.
#
# Usage: cluster-tests/canary/selftest.sh        (from anywhere; ~10-20 s)
# Environment:
#   CANARY_BUILD   directory with canary.elf and canary-collect
#                  (default: <repo>/build/canary)
#   CANARY_ACCEL   kvm | tcg (default: kvm if /dev/kvm is usable, else tcg)
#   CANARY_TICK_MS tick period of the migrated guest (default 2)
#   CANARY_LOAD    extra guest cmdline (default "wss_mb=16 dirty_mbps=20")
#   CANARY_MEM_MB  guest RAM of the migrated guest (default 64)
#   CANARY_KEEP=1  keep the work directory (logs) and print its path
#
# NOTE: under the lab's kvm_pvm, SeaBIOS and the canary run through KVM's
# instruction emulator: a KVM boot takes ~6 s before the boot line, TCG
# about 0.2 s.  Timeouts below allow for that.
# NOTE: the guest-visible gap printed at the end is the time between the
# last tick line read on A and the first read on B: it includes QEMU's
# downtime, the destination's start and chardev latency.

set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${CANARY_BUILD:-$top/build/canary}
elf=$build/canary.elf
collect=$build/canary-collect
tick_ms=${CANARY_TICK_MS:-2}
load=${CANARY_LOAD:-wss_mb=16 dirty_mbps=20}
mem_mb=${CANARY_MEM_MB:-64}
if [ -n "${CANARY_ACCEL:-}" ]; then
	accel=$CANARY_ACCEL
elif [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	accel=kvm
else
	accel=tcg
fi

pids=()
work=$(mktemp -d /tmp/canary-selftest.XXXXXX) || exit 1
log=$work/events.log

# Signals only our own background jobs that are still running (jobs -pr):
# a pid bash has already reaped may belong to someone else by now.
live_pids() {
	local p r
	for p in "${pids[@]}"; do
		for r in $(jobs -pr); do
			[ "$p" = "$r" ] && echo "$p"
		done
	done
}

cleanup() {
	local p live
	live=$(live_pids)
	for p in $live; do
		kill -TERM "$p" 2>/dev/null
	done
	for _ in $(seq 1 40); do
		[ -z "$(live_pids)" ] && break
		sleep 0.05
	done
	for p in $(live_pids); do
		kill -KILL "$p" 2>/dev/null
	done
	for p in $live; do
		wait "$p" 2>/dev/null
	done
	if [ "${CANARY_KEEP:-0}" = 1 ]; then
		echo "selftest: kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "selftest: FAIL: $*" >&2
	echo "--- events.log" >&2
	cat "$log" >&2 2>/dev/null
	for f in "$work"/*.err; do
		[ -s "$f" ] && { echo "--- $f" >&2; cat "$f" >&2; }
	done
	exit 1
}

# wait_for SECONDS AWK-CONDITION: until a line of the log matches
# shellcheck disable=SC2016 # the awk conditions are single-quoted on purpose
wait_for() {
	local deadline=$((SECONDS + $1))
	while [ $SECONDS -le $deadline ]; do
		awk "$2 { found = 1 } END { exit !found }" "$log" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "timed out after $1 s waiting for: $2"
}

# qmp SOCKET COMMAND [ARGS-JSON]: prints the "return" member as JSON
qmp() {
	python3 - "$@" <<'EOF'
import json, socket, sys
path, cmd = sys.argv[1], sys.argv[2]
args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(path)
f = s.makefile("rw")
def call(c, a=None):
    m = {"execute": c}
    if a is not None:
        m["arguments"] = a
    f.write(json.dumps(m) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            return r
json.loads(f.readline())  # greeting
call("qmp_capabilities")
r = call(cmd, args)
if "error" in r:
    sys.exit("qmp %s: %s" % (cmd, r["error"]))
print(json.dumps(r["return"]))
EOF
}

qemu_start() { # NAME SOCKDIR ACCEL APPEND [EXTRA...]
	local name=$1 dir=$2 acc=$3 app=$4
	shift 4
	mkdir -p "$dir"
	qemu-system-x86_64 -machine pc -accel "$acc" -m "$mem_mb" -smp 1 \
		-display none -nodefaults -no-user-config -no-reboot \
		-kernel "$elf" -append "$app" \
		-chardev "socket,id=canary,path=$dir/$name.sock,server=on,wait=off" \
		-device isa-debugcon,iobase=0xe9,chardev=canary \
		"$@" >"$work/qemu-$name-$(basename "$dir").err" 2>&1 &
	pids+=($!)
}

if [ ! -x "$elf" ] || [ ! -x "$collect" ]; then
	fail "build first: make canary ($build)"
fi
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 not found"
command -v python3 >/dev/null || fail "python3 not found (QMP client)"

echo "selftest: accel=$accel tick_ms=$tick_ms load='$load' work=$work"

"$collect" --host A --dir "$work/a" --log "$log" 2>"$work/collect-a.err" &
collect_a=$!
pids+=("$collect_a")
"$collect" --host B --dir "$work/b" --log "$log" --hex 2>"$work/collect-b.err" &
collect_b=$!
pids+=("$collect_b")
sleep 0.2

# The collector's line handling, against a fake guest on a fake socket:
# a connection starting mid-line, lines split across reads, a seq jump, a
# stall, a reboot, a junk line, a partial line at EOF.
python3 - "$work/a/fake.sock" <<'EOF' || fail "fake guest"
import os, socket, sys, time
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(1)
srv.settimeout(5)
c, _ = srv.accept()
for chunk, pause in [(b"3\n1a4\n1", 0.002), (b"a5\n", 0.002), (b"1a7\n", 0.05),
                     (b"1a8\n", 0.002), (b"B 0000abcd fake wss=0 tick_ms=5\n0\n", 0.002),
                     (b"1\nhello\tworld\n2", 0.002)]:
    c.sendall(chunk)
    time.sleep(pause)
c.close()
srv.close()
os.unlink(path)
EOF
wait_for 5 '$2 == "A" && $3 == "fake" && $4 == "disconnect"'
# (gaps other than the 50 ms stall may come from a loaded machine)
got=$(awk '$3 == "fake" && ($4 != "gap" || $5 == "423") {
	$1 = ""; $2 = ""; $3 = ""; if ($4 == "gap" || $4 == "last") $6 = "T"
	sub(/^ +/, ""); print }' "$log" | paste -sd '|')
want='connect|first 419|seqjump 421 423|gap 423 T 424|boot 0000abcd fake wss=0 tick_ms=5|first 0|msg hello?world|last 1 T|disconnect'
[ "$got" = "$want" ] || fail "fake guest events:
  got:  $got
  want: $want"

# A garbage command line must not kill the guest; wss is clamped.
qemu_start junk "$work/a" tcg "=== name= tick_ms=x tick_ms=-1 wss_mb=99999999999 a=b==c name=$(printf 'x%.0s' $(seq 1 100)) dirty_mbps=1 mark=1 ,$(printf '\001\377')"
junk_qemu=${pids[-1]}

vm=st1
src_qmp=$work/src.qmp
dst_qmp=$work/dst.qmp
qemu_start $vm "$work/a" "$accel" "name=$vm tick_ms=$tick_ms $load" \
	-qmp "unix:$src_qmp,server=on,wait=off"
qemu_start $vm "$work/b" "$accel" "name=$vm tick_ms=$tick_ms $load" \
	-qmp "unix:$dst_qmp,server=on,wait=off" -incoming "unix:$work/mig.sock"
dst_qemu=${pids[-1]}

wait_for 10 '$2 == "A" && $3 == "junk" && $4 == "hb"'
kill -TERM "$junk_qemu"
wait_for 30 '$2 == "A" && $3 == "'$vm'" && $4 == "hb"'

t0=$(date +%s%N)
mig=$(qmp "$src_qmp" migrate "{\"uri\": \"unix:$work/mig.sock\"}") || fail "migrate: $mig"
status=
while [ $(( ($(date +%s%N) - t0) / 1000000000 )) -lt 20 ]; do
	info=$(qmp "$src_qmp" query-migrate) || fail "query-migrate"
	status=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("status", "?"))' "$info")
	case $status in completed|failed|cancelled) break ;; esac
	sleep 0.1
done
[ "$status" = completed ] || fail "migration status: $status ($info)"

wait_for 10 '$2 == "B" && $3 == "'$vm'" && $4 == "hb"'
qmp "$src_qmp" quit >/dev/null 2>&1
wait_for 5 '$2 == "A" && $3 == "'$vm'" && $4 == "last"'
kill -TERM "$dst_qemu"
wait_for 5 '$2 == "B" && $3 == "'$vm'" && $4 == "last"'
kill -TERM "$collect_a" "$collect_b"
wait "$collect_a" || fail "collector A exit status $?"
wait "$collect_b" || fail "collector B exit status $?"

python3 - "$log" "$vm" "$tick_ms" "$info" <<'EOF' || fail "log checks"
import json, sys
log, vm, tick_ms, info = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
ev = {}
for line in open(log):
    f = line.split()
    ev.setdefault((f[1], f[2]), []).append(f)
def one(host, name, what):
    l = [f for f in ev.get((host, name), []) if f[3] == what]
    if len(l) != 1:
        sys.exit("%s/%s: expected one %s, got %d" % (host, name, what, len(l)))
    return l[0]
def check(cond, msg):
    if not cond:
        sys.exit(msg)
# the garbage-cmdline guest
b = one("A", "junk", "boot")
check(b[5] == "x" * 63, "junk: last name=, cut to 63 chars, expected: %s" % b)
kv = dict(x.split("=") for x in b[6:])
check(kv["wss"] == kv["wss_max"] and int(kv["wss"]) > 0, "junk: wss not clamped: %s" % b)
check(kv["dirty_mbps"] == "1", "junk: dirty_mbps=1 expected: %s" % b)
check(kv["tick_ms"] == "2", "junk: tick_ms default expected: %s" % b)
check(kv.get("mark") == "1", "junk: mark=1 (working set marked) expected: %s" % b)
check(not [x for x in one("A", vm, "boot")[6:] if x.startswith("mark=")],
      "%s: boot line says mark without mark=1" % vm)
check(not [f for f in ev[("A", "junk")] if f[3] in ("msg", "seqjump")], "junk: unexpected events")
# the migrated guest
a, bb = ev[("A", vm)], ev[("B", vm)]
boot = one("A", vm, "boot")
check(boot[5] == vm and ("tick_ms=%d" % tick_ms) in boot, "boot line: %s" % boot)
check(one("A", vm, "first")[4] == "0", "A: first tick is not 0")
last = one("A", vm, "last")
first = one("B", vm, "first")
check(not [f for f in a + bb if f[3] in ("seqjump", "msg")], "seqjump/msg seen")
check([f[3] for f in bb if f[3] == "boot"] == [], "B: guest rebooted")
s_last, s_first = int(last[4], 10), int(first[4], 16)  # A decimal (default), B --hex
check(s_first == s_last + 1, "seq not consecutive across migration: A last %x, B first %x" % (s_last, s_first))
ticks_a = s_last
span_a = (int(last[5]) - int(one("A", vm, "first")[0])) / 1e9
rate = span_a / ticks_a * 1000
check(abs(rate - tick_ms) < 0.25 * tick_ms, "A: mean tick %.3f ms, expected %d" % (rate, tick_ms))
gap = (int(first[0]) - int(last[5])) / 1e6
ram = info.get("ram", {})
print("selftest: ticks on A %d over %.2f s (mean %.3f ms); A last %x, B first %x"
      % (ticks_a, span_a, rate, s_last, s_first))
print("selftest: guest-visible gap %.1f ms; QEMU downtime %s ms, total %s ms, "
      "%s MiB transferred, %s dirty-sync rounds"
      % (gap, info.get("downtime"), info.get("total-time"),
         ram.get("transferred", 0) >> 20, ram.get("dirty-sync-count")))
gaps = [f for f in a + bb if f[3] == "gap"]
print("selftest: %d in-stream gap events (> 3 ticks)" % len(gaps))
EOF
echo "selftest: PASS"
