#!/bin/sh
# Installs the Debian packages a make target needs; does nothing when they
# are all present.  Safe to run again and again.
#   scripts/deps.sh         build and tests
#   scripts/deps.sh fuzz    also the fuzzers (clang, libFuzzer)
#   scripts/deps.sh model   also what scripts/mnist_model.py needs to make
#                           the mnist model again (python3-sklearn, python3-onnx)
set -e
PKGS="gcc make libc6-dev libyaml-dev libseccomp-dev musl-tools"
# libmnl-dev: rtnetlink for networked cVMs (src/cell/net.c); redis-server and
# redis-tools: the networked example and bench-net (runtime/posix/redis).
PKGS="$PKGS libmnl-dev redis-server redis-tools"
# duktape-dev ships duktape.c (/usr/share/duktape), built into runtime/posix/duktape.
PKGS="$PKGS duktape-dev"
# The real programs (runtime/posix/{busybox,python,lua,sqlite}) and what
# builds their roots (binutils' readelf) and fetches Debian sources for the
# static Lua and speedtest1 (dpkg-dev's dpkg-source, xz-utils, the keyring).
PKGS="$PKGS busybox-static python3 lua5.4 liblua5.4-dev sqlite3 libsqlite3-dev"
PKGS="$PKGS binutils dpkg-dev xz-utils debian-archive-keyring"
# runtime/posix/mnist: protobuf-c (libprotobuf-c.a, protoc-c) and onnx.proto
# (/usr/include/onnx/onnx.proto, from libonnx-dev).
PKGS="$PKGS libprotobuf-c-dev protobuf-c-compiler libonnx-dev"
# pkg-config (tests/cases/sdk.sh builds against the installed intravisor.pc):
# Debian's pkgconf provides it; any pkg-config already there will do.
command -v pkg-config >/dev/null 2>&1 || PKGS="$PKGS pkgconf"
[ "${1:-}" = fuzz ] && PKGS="$PKGS clang libclang-rt-14-dev"
[ "${1:-}" = model ] && PKGS="$PKGS python3-sklearn python3-onnx"
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
