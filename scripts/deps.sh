#!/bin/sh
# Installs the Debian packages a make target needs; does nothing when they
# are all present.  Safe to run again and again.
#   scripts/deps.sh         build and tests
#   scripts/deps.sh fuzz    also the fuzzers (clang, libFuzzer)
set -e
PKGS="gcc make libc6-dev libyaml-dev libseccomp-dev musl-tools"
# libmnl-dev: rtnetlink for networked cVMs (src/cell/net.c); redis-server and
# redis-tools: the networked example and bench-net (runtime/posix/redis).
PKGS="$PKGS libmnl-dev redis-server redis-tools"
# duktape-dev ships duktape.c (/usr/share/duktape), built into runtime/posix/duktape.
PKGS="$PKGS duktape-dev"
# pkg-config (tests/cases/sdk.sh builds against the installed intravisor.pc):
# Debian's pkgconf provides it; any pkg-config already there will do.
command -v pkg-config >/dev/null 2>&1 || PKGS="$PKGS pkgconf"
[ "${1:-}" = fuzz ] && PKGS="$PKGS clang libclang-rt-14-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: need root to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
