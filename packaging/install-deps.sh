#!/bin/bash
# Installs every Debian package the build and the tests need. Idempotent:
# does nothing (not even apt-get update) when all are present.
set -eu
packages=(
	# build
	gcc make pkg-config gcc-multilib libc6-dev
	libvirt-dev libxml2-dev libgnutls28-dev pacemaker-dev libcmocka-dev
	libcpg-dev libquorum-dev libcmap-dev libcorosync-common-dev libqb-dev
	libsystemd-dev
	# packages and man pages (make deb, make man; tests/deb-check.sh)
	debhelper dpkg-dev lintian man-db
	# metadata validation, ocf-tester, the reference agent
	libxml2-utils resource-agents
	# the simulated hosts of the agent and cluster tests
	libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
	qemu-system-x86 corosync pacemaker pacemaker-cli-utils crmsh
	iproute2 psmisc util-linux procps python3
	# cluster-tests/doc-recipes.sh: README.md's pcs recipe, run as written
	pcs
	# cluster-tests/scenarios/s13-tls.sh: certificates (certtool), the
	# capture on the migration link (dumpcap, tshark; wireshark-common asks
	# a debconf question: answered by DEBIAN_FRONTEND=noninteractive below)
	gnutls-bin tshark
	# make lint, make fuzz (libFuzzer is in libclang-rt-dev; llvm-cov for
	# make fuzz-coverage only)
	cppcheck clang clang-tidy libclang-rt-dev llvm
	# make bench: the report's plots
	gnuplot-nox
)
missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#packages[@]} packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
