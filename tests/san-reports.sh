# shellcheck shell=bash
# Sourced by tests that run sanitized programs (make SANITIZE=...), which
# write their reports into SAN_LOG_DIR (lib/vmh_sanopts.c) wherever they
# run: pacemaker-execd's agents, vmhandoffd, the CLI as another user.
#
# san_reports_reset DIR: an empty report directory every user can write to
# (the CLI runs as hacluster and nobody in the permission checks).
san_reports_reset() {
    rm -rf "$1" && mkdir -p "$1" && chmod 1777 "$1"
}

# san_reports_check DIR WHAT [LOG...]: one TAP line per report found in
# DIR and per LOG (file or directory, searched recursively) holding a
# UBSan "runtime error:" (GCC's UBSan writes to stderr only), with the
# report's head as comments, or one "ok" when there is none; uses the
# caller's ok/not_ok. Returns 1 when there was a report.
san_reports_check() {
    local dir=$1 what=$2 f found=0
    shift 2
    for f in "$dir"/*; do
        [ -e "$f" ] || continue
        found=1
        not_ok "sanitizer report from $what: $(basename "$f")"
        head -n 30 "$f" | sed 's/^/#   /'
    done
    for f in $( (($#)) && grep -rlaE 'runtime error:|ERROR: [A-Za-z]+Sanitizer' "$@" 2>/dev/null); do
        found=1
        not_ok "sanitizer report from $what in $f"
        grep -aE -A8 'runtime error:|ERROR: [A-Za-z]+Sanitizer' "$f" | head -n 30 | sed 's/^/#   /'
    done
    [ $found = 0 ] && ok "no sanitizer report from $what${1:+ (report dir and logs)}"
    [ $found = 0 ]
}
