#!/bin/bash
# deb-check.sh: the Debian packages, end to end. Prints TAP ("ok N - ...").
#
#   1. builds them (make deb, DEB_BUILD_OPTIONS=nocheck: the unit tests are
#      a suite of their own), or with DEB_CHECK_REUSE=1 takes those in
#      build/deb/ if they are there;
#   2. lintian: fails on any error or warning (info and pedantic tags are
#      shown as comments);
#   3. the contents (dpkg-deb -c) hold every expected file, the control
#      data the conffile, the dependencies and the maintainer scripts we
#      mean (enabled, not started on install, not restarted on upgrade);
#   4. make install, the packages and packaging/rpm/vmhandoff.spec install
#      the same files; the version is the same in debian/changelog, the
#      spec, the programs and the agent's meta-data; the man pages render
#      without warnings and name every option, key and parameter;
#   5. unpacks the packages (dpkg-deb -x, nothing touches this machine's
#      /usr or /etc) and runs the programs from there: meta-data,
#      validate-all, vmhandoffd --help/--version, the packaged configuration;
#   6. brings up ONE simulated host of lab 5 (cluster-tests/lab) whose
#      /usr/sbin/vmhandoffd, /usr/sbin/vmhandoff, OCF agent (the front) and
#      /usr/libexec/vmhandoff (the full agent) are the unpacked files
#      (lab.sh's VMH_HELPER, VMH_CLI, VMH_AGENT, VMH_RA_FULL_DIR): from here
#      on the front finds the full agent where the package puts it, by its
#      compiled-in path, not next to itself. vmhandoffd from the package
#      joins the host's corosync, `vmhandoff status` reaches it, pacemaker
#      lists and validates ocf:vmhandoff:VirtualDomain, and systemd-analyze
#      verifies the packaged unit there;
#   7. the smoke scenarios of the cluster tests from the installed files:
#      cluster-tests/cluster-check.sh --only s1,s12 on 3 such hosts of lab 5
#      (results in build/deb-check/cluster; its TAP lines are this suite's),
#      while a sampler in the root namespace notes the executable of every
#      agent, vmhandoffd and vmhandoff process of the lab: every one must be
#      an unpacked file (a full agent from build/ fails it), and full agents
#      must have run.
# Each lab is torn down at the end, on failure and on a signal too (its
# logs are kept in its state dir when something failed).
#
# Needs root for steps 6 and 7 (skipped otherwise) and the packages of
# packaging/install-deps.sh. About 4-5 minutes (step 7: 3-4).
# shellcheck disable=SC2016  # (the bash -c scripts take their arguments as $1...)
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
export LAB_ID=5
unset LAB_DIR
work=$repo/build/deb-check
# shellcheck source=cluster-tests/lab/lab.sh
. "$repo/cluster-tests/lab/lab.sh"

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; failed=1; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
say() { echo "# $*"; }
# check DESCRIPTION CMD...: ok if CMD succeeds; else not ok and its output
check() {
    local what=$1
    shift
    if "$@" >"$work/out" 2>&1; then
        ok "$what"
    else
        nok "$what"
        sed 's/^/#   /' "$work/out" | head -n 40
    fi
}

version=$(awk 'NR == 1 {gsub(/[()]/, "", $2); print $2}' packaging/debian/changelog)
arch=$(dpkg --print-architecture)
agent_deb=build/deb/vmhandoff-agent_${version}_${arch}.deb
daemon_deb=build/deb/vmhandoffd_${version}_${arch}.deb
changes=build/deb/vmhandoff_${version}_${arch}.changes

# ------------------------------------------------------------------ build ---
build() {
    if [ "${DEB_CHECK_REUSE:-0}" = 1 ] && [ -f "$agent_deb" ] && [ -f "$daemon_deb" ]; then
        ok "packages of $version taken from build/deb (DEB_CHECK_REUSE=1)"
        return 0
    fi
    local t0=$SECONDS
    if DEB_BUILD_OPTIONS="nocheck${DEB_BUILD_OPTIONS:+ $DEB_BUILD_OPTIONS}" \
        make --no-print-directory deb >"$work/build.log" 2>&1 &&
        [ -f "$agent_deb" ] && [ -f "$daemon_deb" ] && [ -f "$changes" ]; then
        ok "make deb builds vmhandoff-agent and vmhandoffd $version ($((SECONDS - t0)) s)"
    else
        nok "make deb builds vmhandoff-agent and vmhandoffd $version (log: $work/build.log)"
        tail -n 30 "$work/build.log" | sed 's/^/#   /'
        return 1
    fi
}

# ---------------------------------------------------------------- lintian ---
lint() {
    local rc
    lintian --fail-on error,warning --display-info --pedantic "$changes" \
        >"$work/lintian.log" 2>&1
    rc=$?
    grep -v '^running with root privileges' "$work/lintian.log" | sed 's/^/#   lintian: /'
    if [ $rc = 0 ] && ! grep -q '^[EW]: ' "$work/lintian.log"; then
        ok "lintian: no errors, no warnings ($(grep -c '^[IP]: ' "$work/lintian.log") info/pedantic tags)"
    else
        nok "lintian: $(grep -c '^E: ' "$work/lintian.log") errors, $(grep -c '^W: ' "$work/lintian.log") warnings (exit $rc)"
    fi
}

# ------------------------------------------------------- package contents ---
contents() {
    local deb=$1 mode f line
    shift
    dpkg-deb -c "$deb" >"$work/contents" || { nok "dpkg-deb -c $deb"; return; }
    for f in "$@"; do
        mode=${f%%:*} f=${f#*:}
        line=$(awk -v p="./$f" '$6 == p' "$work/contents")
        if [ -z "$line" ]; then
            nok "$(basename "$deb"): /$f is missing"
        elif [ "${line:0:10}" != "$mode" ]; then
            nok "$(basename "$deb"): /$f is ${line:0:10}, expected $mode"
        else
            ok "$(basename "$deb"): /$f ($mode)"
        fi
    done
}

control() {
    local f
    if ! dpkg-deb -e "$daemon_deb" "$work/ctl-daemon" || ! dpkg-deb -e "$agent_deb" "$work/ctl-agent"; then
        nok "dpkg-deb -e"
        return
    fi
    check "vmhandoffd: /etc/vmhandoff/vmhandoff.conf is a conffile" \
        grep -qx /etc/vmhandoff/vmhandoff.conf "$work/ctl-daemon/conffiles"
    local dd ad
    dd=$(dpkg-deb -f "$daemon_deb" Depends) ad=$(dpkg-deb -f "$agent_deb" Depends)
    say "vmhandoffd Depends: $dd"
    say "vmhandoff-agent Depends: $ad"
    check "vmhandoffd depends on corosync and the libraries it links (libcpg, libquorum, libcmap, libstonithd, libsystemd, libvirt)" \
        bash -c 'for l in corosync libcpg libquorum libcmap libstonithd libsystemd libvirt0 libc6; do
            grep -Eq "(^|, )$l" <<<"$1" || { echo "no $l in: $1"; exit 1; }; done' _ "$dd"
    check "vmhandoff-agent depends on libvirt, libxml2 and the dlopen()ed libcib" \
        bash -c 'for l in libvirt0 libxml2 libcib libc6; do
            grep -Eq "(^|, )$l" <<<"$1" || { echo "no $l in: $1"; exit 1; }; done' _ "$ad"
    check "vmhandoffd.service: enabled by postinst, never started, restarted or stopped on upgrade" \
        bash -c 'c=$1
            grep -q "deb-systemd-helper enable .vmhandoffd.service" "$c/postinst" || { echo "postinst does not enable"; exit 1; }
            ! grep -Eq "deb-systemd-invoke|systemctl .*(start|restart)" "$c/postinst" || { echo "postinst starts:"; cat "$c/postinst"; exit 1; }
            [ ! -e "$c/preinst" ] || ! grep -q "deb-systemd-invoke stop" "$c/preinst" || { echo "preinst stops"; exit 1; }
            grep -q "\"\$1\" = remove" "$c/prerm" && grep -q "deb-systemd-invoke stop .vmhandoffd.service" "$c/prerm" ||
                { echo "prerm does not stop on remove only:"; cat "$c/prerm"; exit 1; }' _ "$work/ctl-daemon"
}

# ---------------------------------------------- make install, rpm, debs ---
# one path per line, sorted: what `make install DESTDIR=... PREFIX=/usr`
# installs (files), what the .debs ship (man pages without .gz, the unit
# under /usr/lib, no /usr/share/doc), what the spec's %files say. make
# install runs in the packages' build tree (the very sources and programs
# they were made from, already built), or in the repo if that is gone.
src=$repo/build/deb/vmhandoff-$version
file_lists() {
    local inst=$work/install
    rm -rf "$inst"
    [ -f "$src/Makefile" ] || src=$repo
    if ! make --no-print-directory -C "$src" install DESTDIR="$inst" PREFIX=/usr >"$work/install.log" 2>&1; then
        nok "make install DESTDIR=... PREFIX=/usr (log: $work/install.log)"
        tail -n 20 "$work/install.log" | sed 's/^/#   /'
        return
    fi
    (cd "$inst" && find . ! -type d | sed 's|^\.||' | sort) >"$work/files.install"
    for d in "$agent_deb" "$daemon_deb"; do dpkg-deb -c "$d"; done |
        awk '$1 !~ /^d/ {print substr($6, 2)}' | grep -v '^/usr/share/doc/' |
        sed -e 's|^/lib/systemd/|/usr/lib/systemd/|' -e 's|\.gz$||' | sort >"$work/files.deb"
    sed -n '/^%files/,/^%changelog/p' "$src/packaging/rpm/vmhandoff.spec" |
        grep -Ev '^(%files|%changelog|%license|%doc|%dir|#|$)' |
        sed -e 's/^%config(noreplace) //' -e 's|%{_prefix}|/usr|' -e 's|%{_sbindir}|/usr/sbin|' \
            -e 's|%{_mandir}|/usr/share/man|' -e 's|%{_unitdir}|/usr/lib/systemd/system|' \
            -e 's|%{_sysconfdir}|/etc|' -e 's|%{_libexecdir}|/usr/libexec|' -e 's|\*$||' | sort >"$work/files.rpm"
    check "the packages ship exactly what make install installs" \
        diff -u "$work/files.install" "$work/files.deb"
    check "packaging/rpm/vmhandoff.spec %files list exactly what make install installs" \
        diff -u "$work/files.install" "$work/files.rpm"
    check "make install (PREFIX=/usr/local): ExecStart=/usr/local/sbin/vmhandoffd; an existing configuration is kept" \
        install_local
}
install_local() {
    local d=$work/install-local
    make --no-print-directory -C "$src" install DESTDIR="$d" PREFIX=/usr/local || return 1
    grep -x "ExecStart=.*" "$d/usr/local/lib/systemd/system/vmhandoffd.service"
    grep -qx "ExecStart=/usr/local/sbin/vmhandoffd" "$d/usr/local/lib/systemd/system/vmhandoffd.service" ||
        return 1
    echo "# the admin's" >"$d/etc/vmhandoff/vmhandoff.conf"
    make --no-print-directory -C "$src" install DESTDIR="$d" PREFIX=/usr/local || return 1
    grep -qx "# the admin's" "$d/etc/vmhandoff/vmhandoff.conf" || { echo "configuration replaced"; return 1; }
}

# ------------------------------------------------------ unpacked programs ---
root=$work/root
unpacked() {
    rm -rf "$root"
    mkdir -p "$root"
    if ! dpkg-deb -x "$agent_deb" "$root" || ! dpkg-deb -x "$daemon_deb" "$root"; then
        nok "dpkg-deb -x of both packages into $root"
        return 1
    fi
    ok "dpkg-deb -x of both packages into build/deb-check/root"
    local ra=$root/usr/lib/ocf/resource.d/vmhandoff/VirtualDomain
    # The packaged front execs the full agent at /usr/libexec/vmhandoff,
    # compiled in; unpacked under $root it finds it next to itself
    # instead, through this link (the one thing added to the unpacked tree).
    check "the packaged front runs the full agent from /usr/libexec/vmhandoff/vmhandoff-ra" \
        grep -q -a /usr/libexec/vmhandoff/vmhandoff-ra "$ra"
    ln -sf ../../../../libexec/vmhandoff/vmhandoff-ra "$root/usr/lib/ocf/resource.d/vmhandoff/vmhandoff-ra"
    local hd=$root/usr/sbin/vmhandoffd cli=$root/usr/sbin/vmhandoff
    check "every library of the packaged programs resolves (ldd)" \
        bash -c 'for b; do ldd "$b" | grep "not found" && exit 1; done; exit 0' _ "$ra" "$hd" "$cli"
    local spec_v md_v hd_v cli_v
    spec_v=$(awk '$1 == "Version:" {print $2}' packaging/rpm/vmhandoff.spec)
    hd_v=$("$hd" --version 2>&1) cli_v=$("$cli" --version 2>&1)
    md_v=$("$ra" meta-data 2>/dev/null | sed -n 's/.*<resource-agent name="VirtualDomain" version="\([^"]*\)".*/\1/p')
    check "one version: debian/changelog $version, spec $spec_v, '$hd_v', '$cli_v', meta-data $md_v" \
        test "$spec_v" = "$version" -a "$hd_v" = "vmhandoffd $version" -a \
        "$cli_v" = "vmhandoff $version" -a "$md_v" = "$version"
    check "packaged vmhandoffd --help names every option" \
        bash -c '"$1" --help | grep -q -- "--migration-network"' _ "$hd"
    check "packaged vmhandoff --help" bash -c '"$1" --help | grep -q "status \[--json\]"' _ "$cli"
    # the packaged configuration as the daemon reads it: the file is read
    # before the command line is checked, so a stray argument makes it stop
    # right after reading the file (without touching any state)
    check "vmhandoffd accepts the packaged /etc/vmhandoff/vmhandoff.conf" \
        bash -c 'out=$("$1" -c "$2" --state-dir /nonexistent/deb-check stray-argument 2>&1)
            [ $? = 1 ] && grep -q "unexpected argument .stray-argument." <<<"$out" ||
                { echo "$out"; exit 1; }' _ "$hd" "$root/etc/vmhandoff/vmhandoff.conf"
    check "packaged agent: meta-data is well-formed XML" \
        bash -c '"$1" meta-data | xmllint --noout -' _ "$ra"
    printf "<domain type='test'><name>debcheck</name><memory>8192</memory><os><type>hvm</type></os></domain>\n" \
        >"$work/debcheck.xml"
    check "packaged agent: validate-all -> 0 (libvirt test driver, registry=false)" \
        ra_env 0 "$ra" validate-all
    check "packaged agent: validate-all of an unknown parameter -> 6 (OCF_ERR_CONFIGURED)" \
        ra_env 6 "$ra" validate-all OCF_RESKEY_no_such_param=1
    mans
}
ra_env() { # WANT AGENT ACTION [VAR=VALUE...]
    local want=$1 ra=$2 action=$3 rc
    shift 3
    mkdir -p "$work/rsctmp"
    env -i PATH="$PATH" HA_RSCTMP="$work/rsctmp" VMH_NO_SYSLOG=1 OCF_ROOT=/usr/lib/ocf \
        OCF_RESOURCE_INSTANCE=debcheck OCF_RESKEY_config="$work/debcheck.xml" \
        OCF_RESKEY_hypervisor=test:///default OCF_RESKEY_registry=false \
        OCF_RESKEY_CRM_meta_timeout=10000 "$@" "$ra" "$action"
    rc=$?
    [ $rc = "$want" ] || { echo "exit $rc, expected $want"; return 1; }
}

mans() {
    local m name page=$root/usr/share/man
    for m in man8/vmhandoffd.8 man8/vmhandoff.8 man7/ocf_vmhandoff_VirtualDomain.7; do
        name=$(basename "$m")
        check "man page $name renders without warnings" \
            bash -c 'w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$1" 2>&1 >"$2")
                [ -z "$w" ] && [ -s "$2" ] || { echo "$w"; exit 1; }' _ "$page/$m.gz" "$work/$name.txt"
    done
    # every option of the daemon's --help in vmhandoffd(8)
    check "vmhandoffd(8) describes every option of vmhandoffd --help" \
        bash -c 'rc=0; for o in $("$1" --help | grep -oE -- "--[a-z][-a-z]*"); do
            grep -Eq -- "^ *(-[a-zA-Z], )?$o( |\$)" "$2" || { echo "$o not in vmhandoffd(8)"; rc=1; }; done; exit $rc' \
        _ "$root/usr/sbin/vmhandoffd" "$work/vmhandoffd.8.txt"
    check "every key of the packaged vmhandoff.conf is a key vmhandoffd knows" \
        bash -c 'rc=0; for k in $(sed -n "s/^#\{0,1\}\([a-z_]*\) = .*/\1/p" "$2"); do
            "$1" --help | grep -q "(file key: $k)" || { echo "$k unknown"; rc=1; }; done; exit $rc' \
        _ "$root/usr/sbin/vmhandoffd" "$root/etc/vmhandoff/vmhandoff.conf"
    check "ocf_vmhandoff_VirtualDomain(7) lists every parameter of the packaged agent's meta-data" \
        bash -c 'rc=0; for p in $("$1" meta-data | sed -n "s/.*<parameter name=\"\([^\"]*\)\".*/\1/p"); do
            grep -q "^ *$p (" "$2" || { echo "$p not in the man page"; rc=1; }; done; exit $rc' \
        _ "$root/usr/lib/ocf/resource.d/vmhandoff/VirtualDomain" "$work/ocf_vmhandoff_VirtualDomain.7.txt"
    check "vmhandoffd.service: Type=notify, ExecStart=/usr/sbin/vmhandoffd, After=corosync, Before=pacemaker, Restart=on-failure" \
        bash -c 'u=$1; for l in Type=notify ExecStart=/usr/sbin/vmhandoffd Restart=on-failure; do
            grep -qx "$l" "$u" || { echo "no $l"; exit 1; }; done
            grep -Eq "^After=.*corosync.service" "$u" && grep -Eq "^Before=.*pacemaker.service" "$u"' \
        _ "$root/lib/systemd/system/vmhandoffd.service"
}

# -------------------------------------------------------------- the lab ---
in_lab() {
    if [ "$(id -u)" != 0 ]; then
        skip "packages in a simulated host of lab $LAB_ID" "needs root"
        return 0
    fi
    [ -x "$root/usr/sbin/vmhandoffd" ] || { nok "lab: nothing unpacked"; return 1; }
    local rc t0=$SECONDS
    # in the hosts the full agent is where the package puts it: the front
    # must find it there (its compiled-in path), so not next to itself
    rm -f "$root/usr/lib/ocf/resource.d/vmhandoff/vmhandoff-ra"
    export VMH_AGENT=$root/usr/lib/ocf/resource.d/vmhandoff/VirtualDomain
    export VMH_HELPER=$root/usr/sbin/vmhandoffd VMH_CLI=$root/usr/sbin/vmhandoff
    export VMH_RA_FULL_DIR=$root/usr/libexec/vmhandoff
    export LAB_DC_DEADTIME=2s LAB_QUIET=1 LAB_HELPER=1
    touch "$work/lab.ours"      # from here on the lab is ours to tear down
    LAB_QUIET=1 lab_up 1 --timeout 90 >"$work/lab-up.log" 2>&1
    rc=$?
    if [ $rc = 2 ]; then
        rm -f "$work/lab.ours"  # refused: someone else's lab 5, not ours
        nok "lab $LAB_ID: one host with corosync, the packaged vmhandoffd and pacemaker (refused: $(tail -n 1 "$work/lab-up.log"))"
        say "a lab $LAB_ID left by an interrupted run goes with: LAB_ID=$LAB_ID cluster-tests/lab/labctl down"
        return 1
    elif [ $rc != 0 ]; then
        nok "lab $LAB_ID: one host with corosync, the packaged vmhandoffd and pacemaker"
        sed 's/^/#   /' "$work/lab-up.log" | tail -n 20
        tail -n 20 "$LAB_D/node1/log/vmhandoffd.out" 2>/dev/null | sed 's/^/#   vmhandoffd: /'
        return 1
    fi
    ok "lab $LAB_ID: one host with corosync, the packaged vmhandoffd and pacemaker ($((SECONDS - t0)) s)"
    check "the host's /usr/sbin/vmhandoffd, /usr/sbin/vmhandoff, OCF agent and /usr/libexec/vmhandoff/vmhandoff-ra are the unpacked files" \
        hosts_unpacked node1
    check "the running vmhandoffd is the packaged binary" \
        lab_exec node1 bash -c 'p=$(pgrep -x vmhandoffd) && [ "$(readlink /proc/$p/exe)" = "$1" ] ||
            { echo "pid ${p:-none}: $(readlink /proc/${p:-0}/exe 2>&1)"; exit 1; }' _ "$VMH_HELPER"
    check "vmhandoff status (packaged) reaches the packaged vmhandoffd: node1 joined, quorate, publishes $(lab_mig_addr node1)" \
        lab_wait_for 30 "vmhandoff status to show node1 joined" status_ok
    lab_exec node1 vmhandoff status 2>&1 | sed 's/^/#   /'
    check "vmhandoff status --json is one JSON object" status_json_ok
    check "pacemaker in the host lists ocf:vmhandoff:VirtualDomain and reads its meta-data" \
        pcmk_sees_agent
    check "crm_resource --validate of ocf:vmhandoff:VirtualDomain in the host -> ok" \
        lab_crm node1 crm_resource --validate --class ocf --provider vmhandoff --agent VirtualDomain \
            --option config="$work/debcheck.xml" --option hypervisor=test:///default \
            --option registry=false
    if lab_exec node1 sh -c 'command -v systemd-analyze' >/dev/null 2>&1; then
        check "systemd-analyze verify of the packaged vmhandoffd.service in the host" \
            lab_exec node1 env MANPATH="$root/usr/share/man" \
                systemd-analyze verify "$root/lib/systemd/system/vmhandoffd.service"
    else
        skip "systemd-analyze verify of the packaged unit" "no systemd-analyze"
    fi
}
hosts_unpacked() { # HOST...: the host's programs are the unpacked files
    local h
    for h; do
        lab_exec "$h" bash -c 'for p in /usr/sbin/vmhandoffd:"$1" /usr/sbin/vmhandoff:"$2" \
                /usr/lib/ocf/resource.d/vmhandoff/VirtualDomain:"$3" \
                /usr/libexec/vmhandoff/vmhandoff-ra:"$4"; do
            [ "$(readlink -f "${p%%:*}")" = "${p#*:}" ] || { echo "${p%%:*} -> $(readlink -f "${p%%:*}")"; exit 1; }
            done
            [ ! -e /usr/lib/ocf/resource.d/vmhandoff/vmhandoff-ra ] &&
                [ ! -e "$(dirname "$3")/vmhandoff-ra" ] || { echo "a full agent next to the front"; exit 1; }' \
            _ "$VMH_HELPER" "$VMH_CLI" "$VMH_AGENT" "$VMH_RA_FULL_DIR/vmhandoff-ra" || return 1
    done
}

# ------------------------------------------------------ the smoke run ---
# cluster-check.sh --only s1,s12 on 3 hosts of lab 5 that run the unpacked
# programs (in_lab's VMH_* environment), a sampler noting which executables
# ran meanwhile
smoke() {
    if [ "$(id -u)" != 0 ]; then
        skip "smoke scenarios s1, s12 on 3 hosts running the packages" "needs root"
        return 0
    fi
    [ -n "${VMH_RA_FULL_DIR-}" ] || { nok "smoke: the packages were not set up in a lab (step 6)"; return 1; }
    local cout=$work/cluster rc t0=$SECONDS sampler line
    teardown                    # step 6's one-host lab 5
    if _lab_exists; then
        nok "smoke: lab $LAB_ID is free for the smoke run (it is up: LAB_ID=$LAB_ID cluster-tests/lab/labctl down)"
        return 1
    fi
    touch "$work/lab.ours"
    mkdir -p "$cout"
    exe_sampler "$work/exe.txt" &
    sampler=$!
    CLUSTER_CHECK_OUT=$cout CLUSTER_CHECK_LAB_ID=$LAB_ID CT_VERBOSE=0 \
        cluster-tests/cluster-check.sh --only s1,s12 --keep >"$work/cluster.log" 2>&1
    rc=$?
    kill -TERM "$sampler" 2>/dev/null
    wait "$sampler"
    while IFS= read -r line; do
        case $line in
        "ok "*) ok "packaged smoke: ${line#ok [0-9]* - }" ;;
        "not ok "*) nok "packaged smoke: ${line#not ok [0-9]* - }" ;;
        esac
    done <"$work/cluster.log"
    if [ "$rc" = 0 ]; then
        ok "packaged smoke: cluster-check.sh --only s1,s12 on 3 hosts running the packages passed ($((SECONDS - t0)) s; $cout)"
    else
        nok "packaged smoke: cluster-check.sh --only s1,s12 on 3 hosts running the packages exited $rc ($cout)"
        grep -v '^\(not \)\{0,1\}ok ' "$work/cluster.log" | tail -n 15 | sed 's/^/#   /'
    fi
    check "packaged smoke: every host's programs are the unpacked files, no full agent next to the front" \
        hosts_unpacked node1 node2 node3
    check "packaged smoke: the running vmhandoffd of every host is the packaged binary" \
        lab_helpers_packaged
    # what ran: the full agents (execed by the packaged front through
    # /usr/libexec/vmhandoff), vmhandoffd, the CLI; never a file of build/
    sed 's/^/#   ran: /' "$work/exe.txt"
    check "packaged smoke: every agent, vmhandoffd and vmhandoff process of the lab ran an unpacked file, and full agents ran ($(awk -v ra="$VMH_RA_FULL_DIR/vmhandoff-ra" '$2 == ra {n += $1} END {print n + 0}' "$work/exe.txt") seen)" \
        exes_packaged "$work/exe.txt"
    teardown
}
lab_helpers_packaged() {
    local h pid exe
    for h in node1 node2 node3; do
        pid=$(lab_exec "$h" pgrep -x vmhandoffd | head -1)
        exe=$([ -n "$pid" ] && lab_exec "$h" readlink "/proc/$pid/exe")
        [ "$exe" = "$VMH_HELPER" ] || { echo "$h: vmhandoffd ${pid:-not running}: ${exe:-?}"; return 1; }
    done
}
# exes_packaged FILE: FILE ("COUNT EXE" lines) names only unpacked files,
# at least one full agent among them
exes_packaged() {
    awk -v root="$root/" -v ra="$VMH_RA_FULL_DIR/vmhandoff-ra" '
        { exe = $2; sub(/ \(deleted\)$/, "", exe) }
        substr(exe, 1, length(root)) != root { print "not unpacked: " $0; bad = 1 }
        exe == ra { full += $1 }
        END { if (!full) print "no full agent (" ra ") seen"; exit bad || !full }' "$1"
}
# exe_sampler FILE: until SIGTERM, the executable of every new process of
# lab $LAB_ID's hosts (network namespaces vmh$LAB_ID-node*) named like an
# agent (VirtualDomain, vmhandoff-ra), vmhandoffd or vmhandoff, sampled
# every 20 ms; then "COUNT EXE" lines into FILE. A full agent runs for
# tens of ms (a probe) to seconds (start, stop, migrate_to): seen. (The
# front execs the full agent in the same process: its own monitor
# answers last about a ms, and are rarely seen.)
exe_sampler() {
    exec python3 -c '
import os, signal, sys, time
out, lab = sys.argv[1], sys.argv[2]
names = {"VirtualDomain", "vmhandoff-ra", "vmhandoffd", "vmhandoff"}
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
seen, counts = set(), {}
while not stop:
    nets = set()
    for n in range(1, 10):
        try:
            nets.add(os.stat("/run/netns/vmh%s-node%d" % (lab, n)).st_ino)
        except OSError:
            pass
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            exe = os.readlink("/proc/%s/exe" % p)
            if os.path.basename(exe.replace(" (deleted)", "")) not in names:
                continue
            if os.stat("/proc/%s/ns/net" % p).st_ino not in nets:
                continue
        except OSError:
            continue
        if (p, exe) not in seen:
            seen.add((p, exe))
            counts[exe] = counts.get(exe, 0) + 1
    time.sleep(0.02)
with open(out, "w") as f:
    for exe, n in sorted(counts.items()):
        f.write("%d %s\n" % (n, exe))
' "$1" "$LAB_ID"
}

status_json_ok() {
    lab_exec node1 vmhandoff status --json >"$work/status.json" &&
        python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$work/status.json"
}
pcmk_sees_agent() {
    lab_crm node1 crm_resource --list-agents ocf:vmhandoff | grep -qx VirtualDomain || return 1
    lab_crm node1 crm_resource --show-metadata ocf:vmhandoff:VirtualDomain |
        grep -q '<resource-agent name="VirtualDomain"'
}
status_ok() {
    local out
    out=$(lab_exec node1 vmhandoff status 2>&1) || return 1
    grep -Eq '^Node: +node1 ' <<<"$out" && grep -Eq '^Corosync quorum: +yes' <<<"$out" &&
        grep -Eq '^Joined: +yes' <<<"$out" && grep -qF "$(lab_mig_addr node1)" <<<"$out"
}

teardown() {
    [ -e "$work/lab.ours" ] || return 0
    if [ "$failed" = 1 ]; then
        say "lab $LAB_ID down, logs kept in $LAB_D"
        LAB_QUIET=1 lab_down --keep-logs
    else
        LAB_QUIET=1 lab_down
    fi
    rm -f "$work/lab.ours"
}

main() {
    trap teardown EXIT
    local t0=$SECONDS
    rm -rf "$work"
    mkdir -p "$work"
    say "deb-check: vmhandoff $version ($arch), lab $LAB_ID, work dir build/deb-check"
    if build; then
        lint
        contents "$agent_deb" \
            "-rwxr-xr-x:usr/lib/ocf/resource.d/vmhandoff/VirtualDomain" \
            "-rwxr-xr-x:usr/libexec/vmhandoff/vmhandoff-ra" \
            "-rw-r--r--:usr/share/man/man7/ocf_vmhandoff_VirtualDomain.7.gz" \
            "-rw-r--r--:usr/share/doc/vmhandoff-agent/README.md.gz" \
            "-rw-r--r--:usr/share/doc/vmhandoff-agent/copyright"
        contents "$daemon_deb" \
            "-rwxr-xr-x:usr/sbin/vmhandoffd" \
            "-rwxr-xr-x:usr/sbin/vmhandoff" \
            "-rw-r--r--:lib/systemd/system/vmhandoffd.service" \
            "-rw-r--r--:etc/vmhandoff/vmhandoff.conf" \
            "-rw-r--r--:usr/share/man/man8/vmhandoffd.8.gz" \
            "-rw-r--r--:usr/share/man/man8/vmhandoff.8.gz" \
            "-rw-r--r--:usr/share/doc/vmhandoffd/README.md.gz" \
            "-rw-r--r--:usr/share/doc/vmhandoffd/README.Debian" \
            "-rw-r--r--:usr/share/doc/vmhandoffd/copyright"
        control
        file_lists
        unpacked && in_lab && smoke
    fi
    teardown
    say "deb-check: $n checks in $((SECONDS - t0)) s"
    echo "1..$n"
    exit "$failed"
}

# The checks run in a child; this shell only waits and, on a signal, kills
# the child's process tree and tears the lab down (bash 5.2 may lose a trap
# that arrives while it parses a command substitution: see lab.sh NOTE).
on_signal() {
    trap '' INT TERM HUP
    echo "# deb-check: interrupted (SIG$1)" >&2
    _lab_kill_tree "$child"
    wait "$child" 2>/dev/null
    if [ -e "$work/lab.ours" ]; then
        LAB_QUIET=1 lab_down --keep-logs
        rm -f "$work/lab.ours"
    fi
    exit 130
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP
main &
child=$!
wait "$child"
