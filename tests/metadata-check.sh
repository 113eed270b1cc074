#!/bin/bash
# The metadata the agent prints is the file in ra-metadata/ byte for byte,
# validates against resource-agents' OCF schema (metadata.rng) and against
# ra-api-1.dtd the way ocf-tester checks it, and advertises every action.
set -u
agent=$1
src=ra-metadata/VirtualDomain.xml
rng=/usr/share/resource-agents/metadata.rng
dtddir=/usr/share/resource-agents
n=0 fail=0
check() {
	local what=$1; shift
	n=$((n + 1))
	if "$@" >/tmp/vmh-meta.$$ 2>&1; then echo "ok $n - $what"
	else echo "not ok $n - $what"; sed 's/^/#   /' /tmp/vmh-meta.$$; fail=1; fi
	rm -f /tmp/vmh-meta.$$
}
printed=$(mktemp)
trap 'rm -f "$printed"' EXIT
"$agent" meta-data > "$printed"
check "meta-data prints ra-metadata/VirtualDomain.xml" cmp "$printed" "$src"
check "meta-data exits 0 without any environment" env -i "$agent" meta-data
# resource-agents' schema predates OCF 1.1's reloadable="1" on a parameter
# (pacemaker honours it): validated without it, and it is checked on its own
check "validates against $rng (less OCF 1.1's reloadable)" \
	sh -c "sed 's/ reloadable=\"1\"//' '$printed' | xmllint --noout --relaxng '$rng' -"
reloadable_ok() { # only parameters read by migrate_to/migrate_from alone
	local names
	names=$(xmllint --xpath '//parameter[@reloadable="1"]/@name' "$printed" | grep -o '"[^"]*"' | tr -d '"')
	[ -n "$names" ] && ! grep -Ev '^(migrat.*|remoteuri)$' <<<"$names"
}
check "reloadable only on the migration's parameters" reloadable_ok
check "validates against ra-api-1.dtd as ocf-tester does" \
	sh -c "cd $dtddir && xmllint --noout --valid - < '$printed'"
for a in start stop monitor status migrate_to migrate_from meta-data validate-all reload-agent; do
	check "advertises $a" sh -c "xmllint --xpath '//actions/action[@name=\"$a\"]/@timeout' '$printed'"
done
readme_matches() {
	diff <(python3 ra-metadata/params-table.py "$src") \
		<(sed -n '/<!-- params:begin -->/,/<!-- params:end -->/p' README.md | sed '1d;$d')
}
check "README's parameter table matches the metadata" readme_matches
exit $fail
