# shellcheck shell=bash
# lab.sh: a lab of real cluster hosts on one machine, for vmhandoff's tests.
#
# Source it (functions prefixed lab_) or use the CLI ./labctl. Read
# /work/shared/LAB-NOTES.md for the facts this is built on.
#
# One host nodeN = network namespace vmh${LAB_ID}-nodeN + mount/uts/pid
# namespaces whose pid 1 is ./lab-init (SIGKILL of it = power off). Two veths
# per host, into the root-namespace bridges vmh${LAB_ID}ring (cluster ring,
# ring0 inside, 198.18.(2*LAB_ID).(10+N)/24) and vmh${LAB_ID}mig (migration
# link, mig0 inside, 198.18.(2*LAB_ID+1).(10+N)/24). The bridges carry no
# address. Each host runs its own libvirtd and (unless --no-cluster)
# corosync + pacemakerd; logs under $LAB_DIR/nodeN/log/. ./labfenced (root
# namespace) is the power switch behind the fence agent ./fence_labhost.
#
# Functions: lab_up N [--no-cluster] [--timeout S] (0 up, 1 failed part-way:
# call lab_down, 2 refused: lab exists/args/not root), lab_down
# [--keep-logs], lab_exec HOST CMD..., lab_crm HOST ARGS..., lab_host_pid
# HOST, lab_ring_addr HOST, lab_mig_addr HOST, lab_poweroff HOST,
# lab_poweron HOST [--no-pacemaker], lab_start_pacemaker HOST, lab_link HOST
# ring|mig up|down, lab_shape HOST ring|mig RATE [DELAY], lab_unshape HOST
# ring|mig, lab_wait_for TIMEOUT_S DESCRIPTION CMD..., lab_wait_online
# [TIMEOUT_S] [HOST], lab_status. Fence log: $LAB_DIR/fence.log.
#
# Environment: LAB_ID (0..9, default 0), LAB_DIR (default
# /var/tmp/vmhandoff-lab-$LAB_ID), VMH_AGENT (OCF agent shown in hosts as
# /usr/lib/ocf/resource.d/vmhandoff/VirtualDomain; default
# <repo>/build/agent/VirtualDomain, the front, which runs the full agent
# next to it, vmhandoff-ra), VMH_RA_FULL_DIR (a directory shown in the
# hosts as /usr/libexec/vmhandoff, where an installed front finds the full
# agent; default: none), LAB_TIMEOUT (up/poweron bound, 120 s),
# LAB_TOKEN (corosync totem token in ms; default: corosync's),
# LAB_DC_DEADTIME (e.g. 2s: seeded in the initial CIB; default: none, i.e.
# pacemaker's 20 s before the first DC election), LAB_LIBVIRT_LOG (libvirtd
# log level, default 3), LAB_LIBVIRT_FILTERS (libvirtd log_filters), LAB_QUIET=1,
# LAB_KEEP_LOGS=1 (lab_down keeps $LAB_DIR/**/log*).
#
# NOTE (quirks found and worked around on this machine: Debian 12 in a
# firecracker VM, kernel 6.18, 2 cores, no systemd):
# - The kernel has no sch_netem (nor fq/fq_codel/prio/cake) and no modules:
#   `shape` limits RATE with tbf on both ends of the link; a DELAY needs
#   netem and is refused with a clear error (netem is used where it exists).
# - A new mount namespace copies every nsfs mount (/run/netns/* of every lab
#   on the machine); with propagation private such a copy pins that network
#   namespace (and its veths) after `ip netns del`. lab-init therefore
#   detaches all nsfs mounts and everything under /run in the host before
#   mounting its private /run; lab.sh also deletes the root-side veths itself
#   instead of relying on the netns going away.
# - `ip netns add` turns /run/netns into a mount point the first time;
#   lab_down unmounts it again if this lab made it and it is empty.
# - br_netfilter is built in and bridge-nf-call-iptables=1: bridged lab
#   traffic traverses the root namespace's iptables FORWARD chain (policy
#   ACCEPT here). A DROP policy there would cut the lab's links.
# - veths get fixed, locally administered MACs (02:76:68:ID:N:LS, see
#   _lab_mac), not the kernel's random ones: a powered-on host would
#   otherwise come back with new MACs while its peers keep the old ones
#   cached (STALE) and cannot reach it for ~8 s.
# - IPv6 is disabled on the lab's root-side bridges/veths (so the root
#   namespace gets no link-local address on them) and inside the hosts.
# - The host's `unshare --fork --kill-child` is recorded the moment it is
#   forked (spawned from inside $(...), where job control is off, so that
#   setsid does not fork and $! is right), its init by its NSpid (last field
#   1) among `ip netns pids`. A host whose boot was cut short (labctl
#   killed) can then always be killed, even if its nsenter joined the netns
#   after lab_down had looked there (seen: a host left running in a deleted
#   netns). Recorded pids carry their start time, verified before any kill.
# - Daemons are started with `setsid -f` inside the host so that they are
#   reparented to the host's init (reaped there), are out of the caller's
#   session (a Ctrl-C of labctl does not reach them) and hold none of the
#   caller's fds (lab.sh closes fds > 2 first: a daemon holding a lock fd or
#   the pipe of a $(...) would hang the caller). The closing loop must not
#   carry a redirection (bash parks the redirected fd on a high fd, which
#   the loop would close: stderr lost).
# - The `unshare` parent of a powered-off host is reparented to pid 1
#   (process_api here, which reaps orphans with a delay): it may show as a
#   zombie for a few seconds after lab_down. Nothing else is left.
#   unshare also logs "sigprocmask unblock failed" into init.log when its
#   host is killed: harmless.
# - pacemaker starts from a seeded CIB (cibadmin --empty + CIB_file
#   crm_attribute) with stonith-enabled=false, so the very first scheduler
#   run already has it; no other cluster property is set unless
#   LAB_DC_DEADTIME is given (pacemaker waits dc-deadtime, 20 s by default,
#   for a DC before the first election: a 3-node `up` takes 23 s with the
#   default, 7 s with LAB_DC_DEADTIME=2s).
# - pacemakerd exits if corosync's IPC does not answer yet: lab.sh waits
#   for corosync-cmapctl in the host before starting pacemakerd.
# - Our hosts boot in a second, a real server in minutes; fencing must keep
#   the real order of events (see labfenced): the fence agent's off returns
#   once the peers' corosync saw the host leave (so the DC's own fencing
#   request for the lost node merges with it instead of a second fence),
#   and a rebooted host starts pacemakerd only when no fence of it is
#   pending any more (else its new controller gets "you were fenced" and
#   stops for good: "We were allegedly just fenced"). `stonith_admin
#   --history` lists pending operations only with --verbose.
# - bash 5.2 can fail to run a trap that arrives while it is parsing a
#   command substitution ("interrupt trap: line 2: unexpected EOF while
#   looking for matching `)'") and then carries on: a Ctrl-C of `labctl up`
#   was lost about once in 30 tries. labctl and selftest.sh therefore run
#   the work in a child and trap signals in a parent that only `wait`s.
# - libvirtd probes QEMU's capabilities at its first start (~2 s of CPU per
#   host); lab_up starts node1's libvirtd first and copies its cache to the
#   other hosts (same machine, same binaries).
# - The default network/pools of the machine's /etc/libvirt are not copied:
#   each host gets a minimal /etc/libvirt of its own (no network autostart,
#   hence no 192.168.122.0/24 and no dnsmasq). libvirtd logs harmless errors
#   about dnsmasq, D-Bus, DMI and dmidecode.

LAB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_REPO_DIR=$(cd "$LAB_LIB_DIR/../.." && pwd)
LAB_MAX_HOSTS=5
LAB_PY=/usr/bin/python3
LAB_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ---------------------------------------------------------------- basics ---

# (Re)compute the per-lab names from LAB_ID / LAB_DIR; called by every public
# function, so a caller may change LAB_ID after sourcing.
_lab_vars() {
    LAB_ID=${LAB_ID:-0}
    if ! [[ $LAB_ID =~ ^[0-9]$ ]]; then
        echo "lab: LAB_ID must be 0..9 (is '$LAB_ID')" >&2
        return 1
    fi
    LAB_D=${LAB_DIR:-/var/tmp/vmhandoff-lab-$LAB_ID}
    LAB_D=${LAB_D%/}
    LAB_NSP=vmh$LAB_ID-
    LAB_BR_RING=vmh${LAB_ID}ring
    LAB_BR_MIG=vmh${LAB_ID}mig
    LAB_AGENT=${VMH_AGENT:-$LAB_REPO_DIR/build/agent/VirtualDomain}
    LAB_HELPER_BIN=${VMH_HELPER:-$LAB_REPO_DIR/build/helper/vmhandoffd}
    LAB_CLI_BIN=${VMH_CLI:-$LAB_REPO_DIR/build/cli/vmhandoff}
    export LAB_ID
    return 0
}

_lab_log() { [ "${LAB_QUIET:-0}" = 1 ] || echo "lab: $*" >&2; }
_lab_err() { echo "lab: ERROR: $*" >&2; return 1; }

_lab_now_ms() { local t=${EPOCHREALTIME//[.,]/}; echo $((t / 1000)); }

# seconds ("12", "1.5") -> ms
_lab_s2ms() {
    local s=$1 i f
    [[ $s =~ ^([0-9]+)(\.([0-9]{1,3}))?[0-9]*$ ]] || { echo 0; return 1; }
    i=${BASH_REMATCH[1]} f=${BASH_REMATCH[3]}000
    echo $((10#$i * 1000 + 10#${f:0:3}))
}

_lab_hostnum() { # nodeN -> N (validated)
    if [[ ${1-} =~ ^node([1-9])$ ]] && ((BASH_REMATCH[1] <= LAB_MAX_HOSTS)); then
        echo "${BASH_REMATCH[1]}"
    else
        _lab_err "bad host name '${1-}' (node1..node$LAB_MAX_HOSTS)"
    fi
}
_lab_veth() { # HOST ring|mig -> root-side veth name (<= 15 chars)
    local n; n=$(_lab_hostnum "$1") || return 1
    case $2 in
    ring) echo "vmh${LAB_ID}n${n}r" ;;
    mig) echo "vmh${LAB_ID}n${n}m" ;;
    *) _lab_err "bad link '$2' (ring|mig)" ;;
    esac
}

# HOST ring|mig root|host -> the fixed MAC of that veth end: locally
# administered unicast 02:76:68:<LAB_ID>:<N>:<link><side> (link 1 ring,
# 2 mig; side 0 root-side veth, 1 the host's ring0/mig0). A real host keeps
# its MACs across a power cycle; random ones would leave its peers with a
# stale ARP entry (unreachable for ~8 s after lab_poweron).
_lab_mac() {
    local n l s
    n=$(_lab_hostnum "$1") || return 1
    case $2 in ring) l=1 ;; mig) l=2 ;; *) _lab_err "bad link '$2' (ring|mig)"; return 1 ;; esac
    case $3 in root) s=0 ;; host) s=1 ;; *) _lab_err "bad side '$3' (root|host)"; return 1 ;; esac
    printf '02:76:68:%02x:%02x:%x%x\n' "$LAB_ID" "$n" "$l" "$s"
}

lab_ring_addr() { # HOST -> address on the cluster ring (/24)
    _lab_vars || return 1
    local n; n=$(_lab_hostnum "$1") || return 1
    echo "198.18.$((2 * LAB_ID)).$((10 + n))"
}
lab_mig_addr() { # HOST -> address on the migration link (/24)
    _lab_vars || return 1
    local n; n=$(_lab_hostnum "$1") || return 1
    echo "198.18.$((2 * LAB_ID + 1)).$((10 + n))"
}

# start time (clock ticks since boot) of a pid, empty if gone/zombie
_lab_starttime() {
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    # shellcheck disable=SC2086
    set -- $st
    [ "$1" != Z ] && [ "$1" != X ] || return 1
    echo "${20}"
}
_lab_ppid() {
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    # shellcheck disable=SC2086
    set -- $st
    echo "$2"
}
# pidfile holds "PID STARTTIME"; print PID if that very process is alive
_lab_pidfile_alive() {
    local pid st cur
    [ -r "$1" ] || return 1
    read -r pid st 2>/dev/null <"$1" || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    cur=$(_lab_starttime "$pid") || return 1
    [ "$cur" = "$st" ] || return 1
    echo "$pid"
}

# all descendants of a pid (children first walk), for bounded kills of
# processes this library started
_lab_descendants() {
    local root=$1 f st p pp
    local -A kids=()
    for f in /proc/[0-9]*/stat; do
        st=$(<"$f") 2>/dev/null || continue
        p=${f#/proc/}; p=${p%/stat}
        st=${st##*) }
        # shellcheck disable=SC2086
        set -- $st
        pp=$2
        kids[$pp]+=" $p"
    done 2>/dev/null
    local queue=("$root") out=() cur c
    while ((${#queue[@]})); do
        cur=${queue[0]}; queue=("${queue[@]:1}")
        for c in ${kids[$cur]-}; do out+=("$c"); queue+=("$c"); done
    done
    echo "${out[@]}"
}
_lab_kill_tree() { # PID: SIGKILL PID and all its descendants
    # (stopped first, so that none of them forks behind our back)
    local d="" prev=x i
    [[ ${1-} =~ ^[0-9]+$ ]] || return 0
    kill -STOP "$1" 2>/dev/null || return 0
    for ((i = 0; i < 5; i++)); do
        [ "$d" = "$prev" ] && break
        prev=$d
        d=$(_lab_descendants "$1")
        # shellcheck disable=SC2086
        [ -n "$d" ] && kill -STOP $d 2>/dev/null
    done
    # shellcheck disable=SC2086
    kill -KILL "$1" $d 2>/dev/null
    return 0
}

# close every fd > 2 of the current (sub)shell: spawned daemons must hold
# none of the caller's fds (locks, pipes of $(...))
_lab_closefds() {
    # (no redirection on these loops: bash would park the redirected fd on
    # a high fd, which we would close, and lose stderr)
    local f n fds=()
    for f in "/proc/$BASHPID/fd/"*; do
        n=${f##*/}
        [[ $n =~ ^[0-9]+$ ]] && ((n > 2)) && fds+=("$n")
    done
    for n in "${fds[@]}"; do eval "exec $n>&-"; done
    return 0
}

# lab_wait_for TIMEOUT_S DESCRIPTION CMD...
# Poll CMD (a command or shell function; run in a subshell) until it
# succeeds. Each attempt is bounded by the remaining time (the attempt's
# process tree is killed when the deadline passes). On timeout print
# "timeout after TIMEOUT_S s waiting for: DESCRIPTION" and return 1.
lab_wait_for() {
    local timeout=$1 desc=$2 deadline pid rc nap=0.02
    shift 2
    deadline=$(($(_lab_now_ms) + $(_lab_s2ms "$timeout")))
    local tick
    while :; do
        ("$@") &
        pid=$!
        tick=0.005
        while kill -0 "$pid" 2>/dev/null; do
            if (($(_lab_now_ms) >= deadline)); then
                _lab_kill_tree "$pid"
                wait "$pid" 2>/dev/null
                _lab_err "timeout after ${timeout}s waiting for: $desc"
                return 1
            fi
            sleep "$tick"     # the attempt's end: polled, 5 ms .. 100 ms
            case $tick in 0.005) tick=0.01 ;; 0.01) tick=0.02 ;; 0.02) tick=0.05 ;; 0.05) tick=0.1 ;; esac
        done
        if wait "$pid"; then return 0; fi
        if (($(_lab_now_ms) >= deadline)); then
            _lab_err "timeout after ${timeout}s waiting for: $desc"
            return 1
        fi
        sleep "$nap"
        case $nap in 0.02) nap=0.05 ;; 0.05) nap=0.1 ;; 0.1) nap=0.2 ;; esac
    done
}

# ms left before $_LAB_DEADLINE, as seconds (>= 1) for lab_wait_for
_lab_left() {
    local left=$((_LAB_DEADLINE - $(_lab_now_ms)))
    ((left < 1000)) && left=1000
    echo "$((left / 1000)).$(printf %03d $((left % 1000)))"
}

# ------------------------------------------------------------- host state ---

# lab_host_pid HOST: pid (root namespace) of the host's init, fails if off
lab_host_pid() {
    _lab_vars || return 1
    _lab_hostnum "$1" >/dev/null || return 1
    _lab_pidfile_alive "$LAB_D/$1/init.pid" ||
        _lab_err "host $1 is not running (lab $LAB_ID)"
}

# lab_exec HOST CMD...: run CMD inside the host; exit code passed through
lab_exec() {
    local pid
    pid=$(lab_host_pid "$1") || return 1
    shift
    nsenter -t "$pid" -n -m -u -p -- "$@"
}

# lab_crm HOST ARGS...: a pacemaker CLI in the host. ARGS starting with a
# pacemaker tool name (crm_mon, cibadmin, stonith_admin, crm_resource, ...)
# run that tool; other ARGS go to crmsh: lab_crm node1 configure show
lab_crm() {
    local host=$1
    shift
    case ${1-} in
    crm | crm_* | cibadmin | stonith_admin | attrd_updater | crmadmin | iso8601)
        lab_exec "$host" env PATH="$LAB_PATH" "$@" ;;
    *) lab_exec "$host" env PATH="$LAB_PATH" crm "$@" ;;
    esac
}

# ----------------------------------------------------------- configuration ---

_lab_env_get() { # KEY -> value from $LAB_D/lab.env
    local k v
    while IFS='=' read -r k v; do
        [ "$k" = "$1" ] && { echo "$v"; return 0; }
    done <"$LAB_D/lab.env" 2>/dev/null
    return 1
}

_lab_write_common() { # N CLUSTER
    local n=$1 cluster=$2 i h
    {
        echo "LAB_N=$n"
        echo "LAB_CLUSTER=$cluster"
        echo "LAB_ID=$LAB_ID"
        echo "VMH_AGENT=$LAB_AGENT"
        echo "LAB_HELPER=${LAB_HELPER:-1}"
        echo "LAB_TOKEN=${LAB_TOKEN-}"
        echo "LAB_DC_DEADTIME=${LAB_DC_DEADTIME-}"
        echo "LAB_CREATED=$(date -Is)"
    } >"$LAB_D/lab.env"
    {
        echo "127.0.0.1 localhost"
        for ((i = 1; i <= n; i++)); do
            h=node$i
            echo "$(lab_ring_addr $h) $h"
            echo "$(lab_mig_addr $h) $h-mig"
        done
    } >"$LAB_D/hosts"
    # /usr/sbin/fence_labhost and /usr/lib/ocf/resource.d/vmhandoff inside
    # the hosts (overlays, see lab-init)
    mkdir -p "$LAB_D/overlay/sbin" "$LAB_D/overlay/ocf/vmhandoff"
    cat >"$LAB_D/overlay/sbin/fence_labhost" <<EOF
#!/bin/sh
# vmhandoff lab $LAB_ID: the fence agent, with this lab's state dir
LAB_DIR='$LAB_D'
export LAB_DIR
exec $LAB_PY -I '$LAB_LIB_DIR/fence_labhost' "\$@"
EOF
    chmod 755 "$LAB_D/overlay/sbin/fence_labhost"
    ln -sfn "$(realpath -m "$LAB_AGENT")" "$LAB_D/overlay/ocf/vmhandoff/VirtualDomain"
    # VMH_RA_FULL_DIR (e.g. a package's unpacked .../usr/libexec/vmhandoff):
    # the hosts' /usr/libexec/vmhandoff, where an installed front finds the
    # full agent (its compiled-in path); mounted by _lab_host_boot
    if [ -n "${VMH_RA_FULL_DIR-}" ]; then
        [ -x "$VMH_RA_FULL_DIR/vmhandoff-ra" ] ||
            _lab_err "no $VMH_RA_FULL_DIR/vmhandoff-ra (VMH_RA_FULL_DIR)" || return 1
        mkdir -p "$LAB_D/overlay/libexec"
        ln -sfn "$(realpath -m "$VMH_RA_FULL_DIR")" "$LAB_D/overlay/libexec/vmhandoff"
    fi
    # vmhandoffd and the CLI, as a package installs them
    if [ "$cluster" = 1 ] && [ "${LAB_HELPER:-1}" = 1 ]; then
        [ -x "$LAB_HELPER_BIN" ] && [ -x "$LAB_CLI_BIN" ] ||
            _lab_err "no $LAB_HELPER_BIN or $LAB_CLI_BIN (run make, or LAB_HELPER=0)" || return 1
        ln -sfn "$(realpath -m "$LAB_HELPER_BIN")" "$LAB_D/overlay/sbin/vmhandoffd"
        ln -sfn "$(realpath -m "$LAB_CLI_BIN")" "$LAB_D/overlay/sbin/vmhandoff"
    fi
    # the initial CIB of every host: stonith-enabled=false from the start
    if [ "$cluster" = 1 ]; then
        cibadmin --empty >"$LAB_D/cib-seed.xml" &&
            CIB_file="$LAB_D/cib-seed.xml" crm_attribute --type crm_config \
                --name stonith-enabled --update false ||
            _lab_err "could not make the seed CIB" || return 1
        # opt-in: a short dc-deadtime makes a fresh cluster form in a few
        # seconds instead of pacemaker's default 20 s wait for a DC
        if [ -n "${LAB_DC_DEADTIME-}" ]; then
            CIB_file="$LAB_D/cib-seed.xml" crm_attribute --type crm_config \
                --name dc-deadtime --update "$LAB_DC_DEADTIME" ||
                _lab_err "could not set dc-deadtime in the seed CIB" || return 1
        fi
    fi
}

_lab_host_prepare() { # HOST: state dirs and configs (kept across power cycles)
    local h=$1 hd=$LAB_D/$1 n i uuid mig
    n=$(_lab_hostnum "$h") || return 1
    mig=$(lab_mig_addr "$h")
    mkdir -p "$hd"/{etc/libvirt/qemu,lib/libvirt,log/libvirt,cache/libvirt} \
        "$hd"/{etc/corosync,lib/corosync,log/corosync,log/pacemaker} \
        "$hd"/{etc/vmhandoff,lib/vmhandoff} "$hd"/pki/qemu \
        "$hd"/lib/pacemaker/{cib,pengine,blackbox,cores} || return 1
    chown -R hacluster:haclient "$hd/lib/pacemaker" "$hd/log/pacemaker"
    chmod 750 "$hd"/lib/pacemaker/{cib,pengine,blackbox,cores}
    chmod 770 "$hd/log/pacemaker"
    # the configs are the host's identity: written once (lab_up), kept by
    # power cycles (a poweron with other LAB_TOKEN/... env changes nothing)
    [ -e "$hd/.configured" ] && return 0
    uuid=$(printf '564d4800-%04x-4%03x-8000-%012x' "$LAB_ID" "$n" "$n")
    cat >"$hd/etc/libvirt/libvirtd.conf" <<EOF
# vmhandoff lab $LAB_ID, host $h (written by lab.sh)
listen_tls = 0
listen_tcp = 1
listen_addr = "0.0.0.0"
tcp_port = "16509"
auth_tcp = "none"
auth_unix_ro = "none"
auth_unix_rw = "none"
unix_sock_group = "root"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
host_uuid = "$uuid"
log_outputs = "${LAB_LIBVIRT_LOG:-3}:file:/var/log/libvirt/libvirtd.log"
${LAB_LIBVIRT_FILTERS:+log_filters = \"$LAB_LIBVIRT_FILTERS\"}
EOF
    cat >"$hd/etc/libvirt/qemu.conf" <<EOF
# vmhandoff lab $LAB_ID, host $h (written by lab.sh)
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
stdio_handler = "file"
migration_address = "$mig"
migration_host = "$mig"
# migration_tls=true: QEMU's TLS certificates of this host (ca-cert.pem,
# server-*.pem, client-*.pem), put there by a test (s13-tls.sh); empty, and
# unused, otherwise (libvirt rejects a configured directory that is missing).
migrate_tls_x509_cert_dir = "$hd/pki/qemu"
migrate_tls_x509_verify = 1
EOF
    echo 'uri_default = "qemu:///system"' >"$hd/etc/libvirt/libvirt.conf"
    cat >"$hd/etc/vmhandoff/vmhandoff.conf" <<EOF
# vmhandoff lab $LAB_ID, host $h (written by lab.sh)
migration_network = ${mig%.*}.0/24
quorum_loss_pause = ${LAB_QUORUM_LOSS_PAUSE:-10}
EOF
    if [ "$(_lab_env_get LAB_CLUSTER)" = 1 ]; then
        local lab_n; lab_n=$(_lab_env_get LAB_N)
        {
            echo "# vmhandoff lab $LAB_ID, host $h (written by lab.sh)"
            echo "totem {"
            echo "    version: 2"
            echo "    cluster_name: vmhlab$LAB_ID"
            echo "    transport: knet"
            echo "    crypto_cipher: none"
            echo "    crypto_hash: none"
            [ -n "${LAB_TOKEN-}" ] && echo "    token: $LAB_TOKEN"
            echo "}"
            echo "nodelist {"
            for ((i = 1; i <= lab_n; i++)); do
                echo "    node {"
                echo "        name: node$i"
                echo "        nodeid: $i"
                echo "        ring0_addr: $(lab_ring_addr "node$i")"
                echo "    }"
            done
            echo "}"
            echo "quorum {"
            echo "    provider: corosync_votequorum"
            ((lab_n == 2)) && echo "    two_node: 1"
            echo "}"
            echo "logging {"
            echo "    to_stderr: no"
            echo "    to_syslog: no"
            echo "    to_logfile: yes"
            echo "    logfile: /var/log/corosync/corosync.log"
            echo "    timestamp: hires"
            echo "}"
        } >"$hd/etc/corosync/corosync.conf"
        if [ ! -e "$hd/lib/pacemaker/cib/cib.xml" ]; then
            install -o hacluster -g haclient -m 600 "$LAB_D/cib-seed.xml" \
                "$hd/lib/pacemaker/cib/cib.xml" || return 1
        fi
    fi
    touch "$hd/.configured"
}

_lab_bridges_up() {
    local br
    for br in "$LAB_BR_RING" "$LAB_BR_MIG"; do
        if ! ip link show dev "$br" >/dev/null 2>&1; then
            ip link add "$br" type bridge || return 1
        fi
        sysctl -q -w "net.ipv6.conf.$br.disable_ipv6=1" >/dev/null 2>&1
        ip link set dev "$br" up || return 1
    done
}

# -------------------------------------------------------------- power on ---

_lab_find_init() { # NETNS -> root-ns pid of the process that is pid 1 inside
    local p nspid
    for p in $(ip netns pids "$1" 2>/dev/null); do
        nspid=$(awk '/^NSpid:/ {print $NF, NF}' "/proc/$p/status" 2>/dev/null)
        [ "$nspid" = "1 3" ] && { echo "$p"; return 0; }
    done
    return 1
}

# create netns + links + init of HOST; returns when the init is ready
_lab_host_boot() {
    local h=$1 hd=$LAB_D/$1 ns=$LAB_NSP$1 link v inner addr br pid st ip bpid
    [ -e "/run/netns/$ns" ] && { _lab_err "netns $ns exists already"; return 1; }
    # `ip netns add` makes /run/netns a mount point the first time; if we
    # are the ones doing it, lab_down unmounts it again (when empty)
    mountpoint -q /run/netns 2>/dev/null || touch "$LAB_D/netns-mount.ours"
    ip netns add "$ns" || return 1
    nsenter --net="/run/netns/$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
    ip -n "$ns" link set lo up || return 1
    for link in ring mig; do
        v=$(_lab_veth "$h" $link) || return 1
        inner=${link}0
        if [ $link = ring ]; then
            addr=$(lab_ring_addr "$h") br=$LAB_BR_RING
        else
            addr=$(lab_mig_addr "$h") br=$LAB_BR_MIG
        fi
        ip link del "$v" >/dev/null 2>&1
        # fixed MACs (see _lab_mac): a power-cycled host comes back with
        # the MACs its peers have cached
        ip link add "$v" address "$(_lab_mac "$h" $link root)" type veth \
            peer name "$inner" address "$(_lab_mac "$h" $link host)" netns "$ns" || return 1
        sysctl -q -w "net.ipv6.conf.$v.disable_ipv6=1" >/dev/null 2>&1
        ip link set dev "$v" master "$br" up || return 1
        ip -n "$ns" addr add "$addr/24" dev "$inner" || return 1
        ip -n "$ns" link set dev "$inner" up || return 1
    done
    rm -f "$hd/init.ready" "$hd/init.pid" "$hd/boot.pid"
    mkdir -p "$hd/log"
    # The host's `unshare` is recorded (pid + start time) the moment it is
    # forked: lab_down must be able to kill a host whose boot was cut short
    # (its nsenter may join the netns only after lab_down looked there).
    # In a subshell job control is off, so setsid does not fork: $! is the
    # process that becomes unshare. --kill-child: if unshare dies, the
    # host's init (and with it the whole host) dies too.
    (
        (
            _lab_closefds
            exec setsid nsenter --net="/run/netns/$ns" -- \
                unshare --mount --uts --pid --fork --kill-child --mount-proc \
                --propagation private \
                -- /bin/bash "$LAB_LIB_DIR/lab-init" "$h" "$hd" "$LAB_D" "$LAB_LIB_DIR"
        ) </dev/null >>"$hd/log/init.log" 2>&1 &
        bpid=$!
        echo "$bpid $(_lab_starttime "$bpid")" >"$hd/boot.pid"
    ) || return 1
    # the init is pid 1 of the new pid namespace, inside our fresh netns
    lab_wait_for 10 "init of $h (see $hd/log/init.log)" _lab_find_init "$ns" >/dev/null ||
        return 1
    if ! pid=$(_lab_find_init "$ns") || ! st=$(_lab_starttime "$pid"); then
        _lab_err "init of $h vanished (see $hd/log/init.log)"
        return 1
    fi
    echo "$pid $st" >"$hd/init.pid"
    lab_wait_for 20 "init of $h to finish its mounts (see $hd/log/init.log)" \
        _lab_init_settled "$h" || return 1
    [ -e "$hd/init.ready" ] ||
        { _lab_err "init of $h failed (see $hd/log/init.log)"; return 1; }
    # VMH_RA_FULL_DIR (see _lab_write_common): a read-only overlay over the
    # real /usr/libexec in this host's mount namespace only (as lab-init's
    # over /usr/sbin), before any daemon of the host starts
    if [ -L "$LAB_D/overlay/libexec/vmhandoff" ]; then
        nsenter -t "$pid" -m -- mount -t overlay "overlay-$h-libexec" \
            -o "lowerdir=$LAB_D/overlay/libexec:/usr/libexec" /usr/libexec ||
            { _lab_err "could not mount /usr/libexec/vmhandoff in $h"; return 1; }
    fi
    ip=$(lab_ring_addr "$h")
    _lab_log "$h up: init pid $pid, ring $ip, mig $(lab_mig_addr "$h")"
}
# 0 when the init has finished its setup, or died (no point in waiting)
_lab_init_settled() {
    [ -e "$LAB_D/$1/init.ready" ] && return 0
    ! _lab_pidfile_alive "$LAB_D/$1/init.pid" >/dev/null
}

# _lab_spawn HOST NAME [VAR=VAL...] CMD...: start a daemon in HOST, detached
# (setsid -f: reparented to the host's init), clean environment, output to
# $LAB_DIR/HOST/log/NAME.out
_lab_spawn() {
    local h=$1 name=$2 pid
    shift 2
    pid=$(lab_host_pid "$h") || return 1
    (
        _lab_closefds
        exec nsenter -t "$pid" -n -m -u -p -- setsid -f \
            env -i PATH="$LAB_PATH" HOME=/root LANG=C.UTF-8 "$@"
    ) </dev/null >>"$LAB_D/$h/log/$name.out" 2>&1
}

_lab_start_libvirtd() {
    _lab_spawn "$1" libvirtd /usr/sbin/libvirtd -l -p /run/libvirt/libvirtd.pid \
        -f /etc/libvirt/libvirtd.conf
}
_lab_start_corosync() { _lab_spawn "$1" corosync /usr/sbin/corosync -f; }
# vmhandoffd between corosync and pacemaker, as its systemd unit orders it
_lab_helper_on() { [ "$(_lab_env_get LAB_HELPER)" = 1 ]; }
_lab_start_helper() {
    _lab_helper_on || return 0
    # its own config and state dir by flags (the socket is in the host's
    # private /run already)
    _lab_spawn "$1" vmhandoffd /usr/sbin/vmhandoffd \
        -c "$LAB_D/$1/etc/vmhandoff/vmhandoff.conf" --state-dir "$LAB_D/$1/lib/vmhandoff" &&
        lab_wait_for "$(_lab_left)" "vmhandoffd on $1 to answer (see $LAB_D/$1/log/vmhandoffd.out)" \
            _lab_helper_ok "$1"
}
_lab_helper_ok() { lab_exec "$1" vmhandoff status >/dev/null 2>&1; }

# lab_helper_start HOST: start vmhandoffd in HOST (after a kill)
lab_helper_start() {
    _lab_vars || return 1
    lab_host_pid "$1" >/dev/null || return 1
    _lab_start_helper "$1"
}
_lab_start_pacemaker() {
    _lab_spawn "$1" pacemakerd PCMK_logfile=/var/log/pacemaker/pacemaker.log \
        PCMK_logfacility=none PCMK_debug="${LAB_PCMK_DEBUG:-no}" /usr/sbin/pacemakerd
}
_lab_libvirt_ok() { lab_exec "$1" virsh -q -c qemu:///system version >/dev/null 2>&1; }
_lab_corosync_ok() {
    # its IPC answers (the ring may still be forming: pacemakerd copes)
    lab_exec "$1" corosync-cmapctl -g totem.cluster_name >/dev/null 2>&1
}

# nodes (of nodes 1..N) that crm_mon on HOST does not show online
_lab_offline_nodes() {
    local h=$1 n=$2 xml i off=()
    xml=$(lab_exec "$h" crm_mon -1 --output-as=xml 2>/dev/null) || xml=
    for ((i = 1; i <= n; i++)); do
        grep -Eq "<node name=\"node$i\"[^>]* online=\"true\"[^>]* pending=\"false\"" <<<"$xml" ||
            off+=("node$i")
    done
    echo "${off[*]}"
}
_lab_cluster_ok() { [ -z "$(_lab_offline_nodes "$1" "$2")" ]; }

# lab_wait_online [TIMEOUT_S] [HOST]: wait until crm_mon on HOST (default:
# node1) shows every node of the lab online (default timeout: LAB_TIMEOUT)
lab_wait_online() {
    _lab_vars || return 1
    local t=${1:-${LAB_TIMEOUT:-120}} h=${2:-node1} n
    n=$(_lab_env_get LAB_N) || { _lab_err "no lab $LAB_ID"; return 1; }
    lab_wait_for "$t" "all $n nodes online in crm_mon on $h" _lab_cluster_ok "$h" "$n" || {
        _lab_err "not online in crm_mon on $h: $(_lab_offline_nodes "$h" "$n")"
        return 1
    }
}

# ------------------------------------------------------------- lab_up ---

# 0 if anything of lab $LAB_ID exists (netns, state, bridge)
_lab_exists() {
    [ -n "$(ip netns list 2>/dev/null | awk -v p="^$LAB_NSP" '$1 ~ p')" ] ||
        [ -e "$LAB_D/lab.env" ] || ip link show dev "$LAB_BR_RING" >/dev/null 2>&1
}

# lab_up N [--no-cluster] [--timeout S]
# 0: up; 2: refused before creating anything (lab exists, bad args, not
# root...); 1: failed part-way (call lab_down; logs under $LAB_DIR)
lab_up() {
    _lab_vars || return 1
    local n="" cluster=1 timeout=${LAB_TIMEOUT:-120} t0
    while (($#)); do
        case $1 in
        --no-cluster) cluster=0 ;;
        --timeout) timeout=$2; shift ;;
        --timeout=*) timeout=${1#*=} ;;
        *) n=$1 ;;
        esac
        shift
    done
    if ! [[ $n =~ ^[1-9]$ ]] || ((n > LAB_MAX_HOSTS)); then
        _lab_err "usage: lab_up N [--no-cluster] [--timeout S]  (N = 1..$LAB_MAX_HOSTS)"
        return 2
    fi
    [ "$(id -u)" = 0 ] || { _lab_err "must run as root"; return 2; }
    local c
    for c in ip nsenter unshare setsid tc libvirtd virsh flock mountpoint $LAB_PY; do
        command -v "$c" >/dev/null || { _lab_err "missing command: $c"; return 2; }
    done
    if [ "$cluster" = 1 ]; then
        for c in corosync pacemakerd crm_mon cibadmin crm_attribute corosync-cmapctl; do
            command -v "$c" >/dev/null || { _lab_err "missing command: $c"; return 2; }
        done
    fi
    if _lab_exists; then
        _lab_err "lab $LAB_ID exists already ($LAB_D / netns ${LAB_NSP}*): run 'labctl down' first"
        return 2
    fi
    if [ -e "$LAB_D" ] && [ ! -e "$LAB_D/.vmhandoff-lab" ] &&
        [ -n "$(ls -A "$LAB_D" 2>/dev/null)" ]; then
        _lab_err "$LAB_D exists and is not a lab state dir; refusing to use it"
        return 2
    fi
    if [ ${#LAB_D} -gt 90 ]; then
        _lab_err "LAB_DIR path too long for a unix socket: $LAB_D"
        return 2
    fi
    if [ -c /dev/kvm ] && [ -w /dev/kvm ]; then
        _lab_log "/dev/kvm present: guests can use KVM"
    else
        _lab_log "NOTE: /dev/kvm missing or not usable: guests will use TCG (domain type 'qemu')"
    fi
    t0=$(_lab_now_ms)
    _LAB_DEADLINE=$((t0 + $(_lab_s2ms "$timeout")))
    mkdir -p "$LAB_D" && touch "$LAB_D/.vmhandoff-lab" || return 1
    rm -f "$LAB_D/.stopping"
    # while this runs, lab_down stops it first (e.g. `labctl up` killed
    # with SIGKILL, then `labctl down`)
    local me=$BASHPID    # (not inside the $(...): there it is the subshell's)
    echo "$me $(_lab_starttime "$me")" >"$LAB_D/up.pid"
    _lab_up_steps "$n" "$cluster" "$t0"
    local rc=$?
    rm -f "$LAB_D/up.pid"
    return $rc
}
_lab_up_steps() {
    local n=$1 cluster=$2 t0=$3 h i hosts=()
    _lab_write_common "$n" "$cluster" || return 1
    _lab_bridges_up || { _lab_err "could not create bridges"; return 1; }
    for ((i = 1; i <= n; i++)); do hosts+=("node$i"); done
    for h in "${hosts[@]}"; do
        _lab_host_prepare "$h" || return 1
        _lab_host_boot "$h" || { _lab_err "host $h did not boot"; return 1; }
        # libvirtd of node1 first: its QEMU capabilities cache (the probe
        # takes seconds of CPU per host) then seeds the others' (same
        # machine, same binaries)
        if [ "$h" = node1 ]; then _lab_start_libvirtd node1 || return 1; fi
    done
    _lab_start_fenced || return 1
    if [ "$cluster" = 1 ]; then
        for h in "${hosts[@]}"; do _lab_start_corosync "$h" || return 1; done
    fi
    if ((n > 1)); then
        lab_wait_for "$(_lab_left)" "libvirtd on node1 to answer (see $LAB_D/node1/log/libvirtd.out, $LAB_D/node1/log/libvirt/)" \
            _lab_libvirt_ok node1 || return 1
        for h in "${hosts[@]:1}"; do
            if [ -d "$LAB_D/node1/cache/libvirt/qemu/capabilities" ] &&
                [ ! -e "$LAB_D/$h/cache/libvirt/qemu/capabilities" ]; then
                mkdir -p "$LAB_D/$h/cache/libvirt/qemu" &&
                    cp -a "$LAB_D/node1/cache/libvirt/qemu/capabilities" \
                        "$LAB_D/$h/cache/libvirt/qemu/"
            fi
            _lab_start_libvirtd "$h" || return 1
        done
    fi
    if [ "$cluster" = 1 ]; then
        for h in "${hosts[@]}"; do
            lab_wait_for "$(_lab_left)" "corosync on $h (see $LAB_D/$h/log/corosync/)" \
                _lab_corosync_ok "$h" || return 1
            _lab_start_helper "$h" || return 1
            _lab_start_pacemaker "$h" || return 1
        done
    fi
    for h in "${hosts[@]}"; do
        lab_wait_for "$(_lab_left)" "libvirtd on $h to answer (see $LAB_D/$h/log/libvirtd.out, $LAB_D/$h/log/libvirt/)" \
            _lab_libvirt_ok "$h" || return 1
    done
    _lab_log "libvirtd answers on ${hosts[*]} after $(_lab_elapsed "$t0")"
    if [ "$cluster" = 1 ]; then
        if ! lab_wait_for "$(_lab_left)" "all $n nodes online in crm_mon on node1" \
            _lab_cluster_ok node1 "$n"; then
            _lab_err "not online in crm_mon on node1: $(_lab_offline_nodes node1 "$n") (logs: $LAB_D/node*/log/pacemaker/pacemaker.log)"
            return 1
        fi
        _lab_log "cluster of $n nodes online after $(_lab_elapsed "$t0")"
    fi
    _lab_log "lab $LAB_ID up: $n hosts in $(_lab_elapsed "$t0") (state: $LAB_D)"
}
_lab_elapsed() {
    local ms=$(($(_lab_now_ms) - $1))
    echo "$((ms / 1000)).$(printf %02d $((ms % 1000 / 10)))s"
}

# ------------------------------------------------------------ labfenced ---

_lab_start_fenced() {
    local pid
    rm -f "$LAB_D/labfenced.pid" "$LAB_D/labfenced.pidst"
    # plain & (its pid is known at once and recorded with its start time;
    # labfenced leaves the session itself with setsid())
    (
        _lab_closefds
        exec "$LAB_PY" -I "$LAB_LIB_DIR/labfenced" --lab-dir "$LAB_D" \
            --labctl "$LAB_LIB_DIR/labctl"
    ) </dev/null >>"$LAB_D/labfenced.log" 2>&1 &
    pid=$!
    disown "$pid" 2>/dev/null
    echo "$pid $(_lab_starttime "$pid")" >"$LAB_D/labfenced.pidst"
    lab_wait_for 10 "labfenced to listen (see $LAB_D/labfenced.log)" \
        test -S "$LAB_D/fence.sock" -a -s "$LAB_D/labfenced.pid" || return 1
}
_lab_stop_fenced() {
    local pid
    # labfenced.pidst (pid + start time, written by lab_up) or else
    # labfenced.pid (by labfenced itself), checked against the command
    # line: labfenced of this very lab dir
    if pid=$(_lab_pidfile_alive "$LAB_D/labfenced.pidst"); then
        # its children (a labctl poweron in flight) go too: down wins
        _lab_kill_tree "$pid"
    elif pid=$(cat "$LAB_D/labfenced.pid" 2>/dev/null) && [[ $pid =~ ^[0-9]+$ ]] &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "labfenced --lab-dir $LAB_D "; then
        _lab_kill_tree "$pid"
    fi
    # (without a pid file at all, labfenced leaves by itself within a
    # second once .stopping exists or fence.sock / the state dir is gone)
    rm -f "$LAB_D/fence.sock" "$LAB_D/labfenced.pid" "$LAB_D/labfenced.pidst"
}

# ----------------------------------------------------- power off / down ---

# kill everything of HOST, free its netns and veths; host dirs are kept
_lab_host_destroy() {
    local h=$1 ns=$LAB_NSP$1 pid pids v link bpid
    if pid=$(_lab_pidfile_alive "$LAB_D/$h/init.pid"); then
        kill -KILL "$pid" 2>/dev/null
    fi
    # the host's unshare (--kill-child: its init dies with it), also when
    # the init was never recorded or never reached the netns
    if bpid=$(_lab_pidfile_alive "$LAB_D/$h/boot.pid"); then
        kill -KILL "$bpid" 2>/dev/null
    fi
    if [ -e "/run/netns/$ns" ]; then
        # every process in our netns was started by the lab: init first
        # (kills the whole host; its unshare parent reaps it and exits),
        # then whatever is left (an unshare or nsenter of a crashed run)
        pid=$(_lab_find_init "$ns") && kill -KILL "$pid" 2>/dev/null
        if ! lab_wait_for 2 "processes of $h to exit" _lab_netns_empty "$ns" 2>/dev/null; then
            pids=$(ip netns pids "$ns" 2>/dev/null)
            # shellcheck disable=SC2086
            [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
            lab_wait_for 20 "processes of $h to exit" _lab_netns_kill "$ns" ||
                _lab_log "WARNING: processes left in $ns: $(ip netns pids "$ns" | tr '\n' ' ')"
        fi
    fi
    for pid in "$LAB_D/$h/init.pid" "$LAB_D/$h/boot.pid"; do
        if pid=$(_lab_pidfile_alive "$pid"); then
            lab_wait_for 10 "process $pid of $h to exit" _lab_pid_gone "$pid" ||
                _lab_log "WARNING: process $pid of $h still alive"
        fi
    done
    for link in ring mig; do
        v=$(_lab_veth "$h" $link) || continue
        ip link show dev "$v" >/dev/null 2>&1 && ip link del "$v" 2>/dev/null
    done
    [ -e "/run/netns/$ns" ] && ip netns del "$ns" 2>/dev/null
    rm -f "$LAB_D/$h/init.pid" "$LAB_D/$h/init.ready" "$LAB_D/$h/boot.pid"
    return 0
}
_lab_netns_empty() { [ -z "$(ip netns pids "$1" 2>/dev/null)" ]; }
_lab_netns_kill() { # SIGKILL what is left in the netns; 0 once it is empty
    local pids
    pids=$(ip netns pids "$1" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || { kill -KILL $pids 2>/dev/null; return 1; }
}
_lab_pid_gone() { ! _lab_starttime "$1" >/dev/null; }

_lab_lock() { # HOST: take the host's lock on fd _LAB_LOCK_FD (bounded)
    exec {_LAB_LOCK_FD}>>"$LAB_D/$1.lock" || return 1
    flock -w "${2:-150}" "$_LAB_LOCK_FD" || {
        exec {_LAB_LOCK_FD}>&-
        _lab_err "could not lock host $1"
        return 1
    }
}
_lab_unlock() { [ -n "${_LAB_LOCK_FD-}" ] && exec {_LAB_LOCK_FD}>&-; _LAB_LOCK_FD=; }

# lab_poweroff HOST: SIGKILL the host's init (every process of the host dies),
# then free its netns and veths so that it can be powered on again
lab_poweroff() {
    _lab_vars || return 1
    local h=$1 pid t0
    _lab_hostnum "$h" >/dev/null || return 1
    [ -e "$LAB_D/lab.env" ] || { _lab_err "no lab $LAB_ID ($LAB_D)"; return 1; }
    t0=$(_lab_now_ms)
    _lab_lock "$h" || return 1
    pid=$(_lab_pidfile_alive "$LAB_D/$h/init.pid") || pid=off
    _lab_host_destroy "$h"
    _lab_unlock
    _lab_log "$h powered off (init was $pid) in $(_lab_elapsed "$t0")"
}

# lab_poweron HOST: recreate the host with the same identity (addresses,
# state dirs, configs) and start its daemons; returns when its libvirtd
# answers and (cluster) corosync runs and pacemakerd is started
# (--no-pacemaker: all but pacemakerd, which lab_start_pacemaker starts
# later; labfenced uses it after a fence, see there)
lab_poweron() {
    _lab_vars || return 1
    local h=$1 n cluster t0 rc=0 pcmk=1
    [ "${2-}" = --no-pacemaker ] && pcmk=0
    n=$(_lab_hostnum "$h") || return 1
    [ -e "$LAB_D/lab.env" ] || { _lab_err "no lab $LAB_ID ($LAB_D)"; return 1; }
    (( n <= $(_lab_env_get LAB_N) )) || { _lab_err "lab $LAB_ID has no $h"; return 1; }
    cluster=$(_lab_env_get LAB_CLUSTER)
    t0=$(_lab_now_ms)
    _LAB_DEADLINE=$((t0 + $(_lab_s2ms "${LAB_TIMEOUT:-120}")))
    _lab_lock "$h" || return 1
    if [ -e "$LAB_D/.stopping" ]; then
        _lab_unlock; _lab_err "lab $LAB_ID is going down"; return 1
    fi
    if _lab_pidfile_alive "$LAB_D/$h/init.pid" >/dev/null; then
        _lab_unlock; _lab_log "$h is on already"; return 0
    fi
    _lab_host_destroy "$h"  # leftovers of a crash
    {
        _lab_bridges_up && _lab_host_prepare "$h" && _lab_host_boot "$h" &&
            _lab_start_libvirtd "$h" &&
            if [ "$cluster" = 1 ]; then
                _lab_start_corosync "$h" &&
                    lab_wait_for "$(_lab_left)" "corosync on $h" _lab_corosync_ok "$h" &&
                    _lab_start_helper "$h" &&
                    if [ $pcmk = 1 ]; then _lab_start_pacemaker "$h"; fi
            fi &&
            lab_wait_for "$(_lab_left)" "libvirtd on $h to answer" _lab_libvirt_ok "$h"
    } || rc=1
    _lab_unlock
    if [ $rc = 0 ]; then
        _lab_log "$h powered on in $(_lab_elapsed "$t0")"
    else
        _lab_err "power on of $h failed (logs: $LAB_D/$h/log/)"
    fi
    return $rc
}

# lab_start_pacemaker HOST: start pacemakerd in HOST (after
# lab_poweron --no-pacemaker)
lab_start_pacemaker() {
    _lab_vars || return 1
    [ "$(_lab_env_get LAB_CLUSTER)" = 1 ] || { _lab_err "lab $LAB_ID has no cluster"; return 1; }
    lab_host_pid "$1" >/dev/null || return 1
    if lab_exec "$1" pgrep -x pacemakerd >/dev/null 2>&1; then
        _lab_log "pacemakerd runs already on $1"
        return 0
    fi
    _lab_start_pacemaker "$1" && _lab_log "pacemakerd started on $1"
}

# lab_down: tear down everything of lab $LAB_ID; idempotent, also after a
# partial up or a crash. Touches only what the lab creates: netns
# vmh$ID-node*, veths vmh${ID}n*, bridges vmh${ID}ring/mig, the state dir
# (only if it carries the lab's marker), labfenced (pid + start time +
# cmdline checked). LAB_KEEP_LOGS=1 / --keep-logs keeps the logs.
lab_down() {
    _lab_vars || return 1
    local keep=${LAB_KEEP_LOGS:-0} ns h hosts=() v d
    [ "${1-}" = --keep-logs ] && keep=1
    [ -d "$LAB_D" ] && [ -e "$LAB_D/.vmhandoff-lab" ] && touch "$LAB_D/.stopping"
    # a lab_up still running (its labctl was killed): stop it first, unless
    # it is ourselves or one of our ancestors
    local upid a
    if upid=$(_lab_pidfile_alive "$LAB_D/up.pid"); then
        a=$BASHPID
        while [ -n "$a" ] && [ "$a" != 0 ] && [ "$a" != "$upid" ]; do
            a=$(_lab_ppid "$a") || a=
            [ "$a" = 1 ] && a=
        done
        [ "$a" = "$upid" ] || _lab_kill_tree "$upid"
    fi
    _lab_stop_fenced
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        [[ $ns =~ ^vmh${LAB_ID}-(node[0-9])$ ]] && hosts+=("${BASH_REMATCH[1]}")
    done
    for d in "$LAB_D"/node[0-9]; do
        [ -d "$d" ] && hosts+=("${d##*/}")
    done
    for h in $(printf '%s\n' "${hosts[@]}" | sort -u); do
        _lab_host_destroy "$h"
    done
    # (/sys/class/net of the root namespace: an `ip link` dump can come out
    # incomplete while other labs change their links)
    for v in /sys/class/net/vmh"$LAB_ID"n*; do
        v=${v##*/}
        [[ $v =~ ^vmh${LAB_ID}n[0-9][rm]$ ]] && ip link del "$v" 2>/dev/null
    done
    for v in "$LAB_BR_RING" "$LAB_BR_MIG"; do
        ip link show dev "$v" >/dev/null 2>&1 && ip link del "$v" 2>/dev/null
    done
    # the /run/netns mount point that `ip netns add` made for us, if still
    # unused (plain umount: fails, harmlessly, if anyone mounted a netns)
    if [ -e "$LAB_D/netns-mount.ours" ] && mountpoint -q /run/netns 2>/dev/null &&
        [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
        umount /run/netns 2>/dev/null
    fi
    if [ -e "$LAB_D/.vmhandoff-lab" ]; then
        if [ "$keep" = 1 ]; then
            find "$LAB_D" -mindepth 1 -depth ! -path "*/log/*" ! -path "*/log" \
                ! -name "*.log" ! -name .vmhandoff-lab -delete 2>/dev/null
            _lab_log "lab $LAB_ID down; logs kept in $LAB_D"
        else
            rm -rf --one-file-system "$LAB_D"
            _lab_log "lab $LAB_ID down"
        fi
    elif [ -d "$LAB_D" ]; then
        _lab_log "lab $LAB_ID down ($LAB_D has no lab marker: left alone)"
    else
        _lab_log "lab $LAB_ID down"
    fi
    return 0
}

# ------------------------------------------------------------ link faults ---

# lab_link HOST ring|mig up|down: the host's link at its root-side veth
lab_link() {
    _lab_vars || return 1
    local v
    v=$(_lab_veth "$1" "$2") || return 1
    case $3 in
    up | down) ip link set dev "$v" "$3" ;;
    *) _lab_err "usage: lab_link HOST ring|mig up|down" ;;
    esac
}

_lab_rate_bps() { # "200mbit" / "10MBps" / "1gbit" -> bits per second
    local r=${1,,} num unit
    [[ $r =~ ^([0-9]+)(\.[0-9]+)?(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)$ ]] || return 1
    num=${BASH_REMATCH[1]} unit=${BASH_REMATCH[3]}
    case $unit in
    bit) echo "$num" ;; kbit) echo $((num * 1000)) ;;
    mbit) echo $((num * 1000000)) ;; gbit) echo $((num * 1000000000)) ;;
    bps) echo $((num * 8)) ;; kbps) echo $((num * 8000)) ;;
    mbps) echo $((num * 8000000)) ;; gbps) echo $((num * 8000000000)) ;;
    esac
}

# lab_shape HOST ring|mig RATE [DELAY]: limit the link to RATE (tc units:
# 200mbit, 1gbit, 50mbps...) in each direction, plus DELAY (e.g. 5ms, each
# direction) where sch_netem exists. Both ends: root-side veth (to the host)
# and the host's ring0/mig0 (from the host).
lab_shape() {
    _lab_vars || return 1
    local h=$1 link=$2 rate=$3 delay=${4-} v inner ns bps burst dev
    v=$(_lab_veth "$h" "$link") || return 1
    [ -n "$rate" ] || { _lab_err "usage: lab_shape HOST ring|mig RATE [DELAY]"; return 1; }
    bps=$(_lab_rate_bps "$rate") || { _lab_err "bad rate '$rate' (e.g. 200mbit)"; return 1; }
    inner=${link}0 ns=$LAB_NSP$h
    burst=$((bps / 8 / 100))             # 10 ms worth, >= 64 KiB (GSO)
    ((burst < 65536)) && burst=65536
    for dev in "root:$v" "host:$inner"; do
        local -a tcn=(tc)
        [ "${dev%%:*}" = host ] && tcn=(tc -n "$ns")
        dev=${dev#*:}
        if "${tcn[@]}" qdisc replace dev "$dev" root netem rate "$rate" \
            ${delay:+delay "$delay"} limit 100000 2>/dev/null; then
            :
        elif [ -n "$delay" ]; then
            _lab_err "sch_netem is not available in this kernel: cannot add a delay (rate-only shaping works)"
            return 1
        else
            "${tcn[@]}" qdisc replace dev "$dev" root tbf rate "$rate" \
                burst "$burst" latency 100ms || return 1
        fi
    done
    _lab_log "$h $link shaped: $rate${delay:+, delay $delay}"
}
lab_unshape() {
    _lab_vars || return 1
    local h=$1 link=$2 v
    v=$(_lab_veth "$h" "$link") || return 1
    tc qdisc del dev "$v" root 2>/dev/null
    tc -n "$LAB_NSP$h" qdisc del dev "${link}0" root 2>/dev/null
    return 0
}

# -------------------------------------------------------------- status ---

lab_status() {
    _lab_vars || return 1
    local n cluster i h pid v state fpid lk
    if [ ! -e "$LAB_D/lab.env" ]; then
        echo "lab $LAB_ID: down (no $LAB_D/lab.env)"
        ip netns list 2>/dev/null | awk -v p="^$LAB_NSP" '$1 ~ p {print "  leftover netns " $1}'
        return 0
    fi
    n=$(_lab_env_get LAB_N) cluster=$(_lab_env_get LAB_CLUSTER)
    fpid=$(_lab_pidfile_alive "$LAB_D/labfenced.pidst") || fpid="not running"
    echo "lab $LAB_ID: $n hosts, cluster=$([ "$cluster" = 1 ] && echo yes || echo no), state $LAB_D"
    echo "  bridges $LAB_BR_RING $LAB_BR_MIG; labfenced: $fpid; agent: $(_lab_env_get VMH_AGENT)"
    for ((i = 1; i <= n; i++)); do
        h=node$i
        if pid=$(_lab_pidfile_alive "$LAB_D/$h/init.pid"); then state=on; else state=off pid=-; fi
        lk=""
        for v in ring mig; do
            local dev q
            dev=$(_lab_veth "$h" $v)
            if ip link show dev "$dev" >/dev/null 2>&1; then
                ip link show dev "$dev" | grep -q ',UP' && lk+=" $v:up" || lk+=" $v:DOWN"
                q=$(tc qdisc show dev "$dev" root 2>/dev/null | awk '/tbf|netem/ {print $2}')
                [ -n "$q" ] && lk+="($q)"
            else
                lk+=" $v:-"
            fi
        done
        printf '  %-6s %-4s init %-8s ring %-14s mig %-14s links%s\n' "$h" "$state" "$pid" \
            "$(lab_ring_addr $h)" "$(lab_mig_addr $h)" "$lk"
        if [ "$state" = on ]; then
            lab_exec "$h" ps -e -o pid=,comm= 2>/dev/null |
                awk '$2 ~ /^(libvirtd|corosync|pacemaker|qemu)/ {printf "%s%s(%s)", sep, $2, $1; sep=" "} END {print ""}' |
                sed 's/^/           running: /'
        fi
    done
}

# 0 if HOST is on (labfenced's status)
_lab_state() { _lab_vars && lab_host_pid "$1" >/dev/null 2>&1; }
