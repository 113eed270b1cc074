#!/bin/bash
# Runs the cmocka unit test binaries given as arguments, in TAP form,
# numbering their results as one stream.
set -u
n=0 rc=0
for t in "$@"; do
	out=$(CMOCKA_MESSAGE_OUTPUT=tap "$t" 2>/dev/null); r=$?
	[ $r -ne 0 ] && rc=1
	while IFS= read -r line; do
		case $line in
		"ok "*|"not ok "*)
			n=$((n + 1))
			status=${line%% [0-9]*}
			what=${line#* - }
			echo "$status $n - $(basename "$t"): $what";;
		"#"*) echo "$line";;
		esac
	done <<< "$out"
	if [ $r -ne 0 ] && ! grep -q '^not ok' <<< "$out"; then
		n=$((n + 1)); echo "not ok $n - $(basename "$t") crashed (status $r)"
	fi
done
exit $rc
