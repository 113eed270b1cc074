#!/bin/sh
# selftest.sh [BUILD_DIR]: the cluster-test tools' own tests, for `make check`.
#
#   lvw_fmt_test      lvwatch's line format (C, no daemon)
#   test_lvwatch      lvwatch against libvirt's test driver: in-process, and in
#                     a real libvirtd that the test starts in private mount and
#                     network namespaces, kills, restarts and stops (needs root)
#   test_invariants   invariants.py on synthetic logs, with mutation checks
#
# BUILD_DIR holds the built tools (default build/tools: run `make tools`).
# Non-interactive; prints each suite's output (TAP lines, one per test, for
# tests/run-suite) and a closing "selftest: N passed, N failed" over all
# tests; exits 1 if anything failed, 2 if the tools are not built.
#
# NOTE /usr/bin/python3 on purpose: a python3 earlier in PATH (pyenv, venv)
# is not what the project promises to run on (Debian's, stdlib only).

set -u

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build/tools}
python=/usr/bin/python3

if [ ! -x "$build/lvwatch" ] || [ ! -x "$build/lvw_fmt_test" ] || [ ! -x "$build/lvwdrive" ]; then
    echo "selftest: tools not built in $build (run: make tools)" >&2
    exit 2
fi
TOOLS_BUILD=$(cd "$build" && pwd)
PYTHONDONTWRITEBYTECODE=1
export TOOLS_BUILD PYTHONDONTWRITEBYTECODE

passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# Each suite prints TAP lines ("ok N - name" / "not ok N - name"); a suite
# that exits non-zero without a "not ok" line gets one, so a crash never
# looks green.
run() {
    name=$1
    shift
    echo "== $name"
    "$@" </dev/null >"$out" 2>&1
    rc=$?
    cat "$out"
    p=$(grep -c '^ok [0-9]' "$out")
    f=$(grep -c '^not ok [0-9]' "$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "not ok 0 - $name exited with status $rc"
        f=1
    fi
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        echo "not ok 0 - $name ran no test"
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
}

run lvw_fmt_test "$TOOLS_BUILD/lvw_fmt_test"
run test_lvwatch "$python" "$here/test_lvwatch.py"
run test_invariants "$python" "$here/test_invariants.py"

echo "selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
