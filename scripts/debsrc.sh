#!/bin/sh
# Fetches and unpacks the Debian source package of an installed binary
# package, at the installed version when the archive still has it:
#
#   scripts/debsrc.sh BINPKG DIR
#
# DIR/src is the unpacked source tree (Debian's patches applied).  apt-get
# runs with a sources list, package lists and cache of its own under DIR,
# so the system's apt configuration and state are left as they are; the
# archive is deb.debian.org, suite bookworm (and its updates and security
# suites), checked with Debian's archive keyring.
set -eu
[ $# = 2 ] || { echo "usage: debsrc.sh BINPKG DIR" >&2; exit 2; }
pkg=$1 dir=$2
src=$(dpkg-query -W -f='${source:Package}' "$pkg") || { echo "debsrc: $pkg is not installed" >&2; exit 1; }
ver=$(dpkg-query -W -f='${source:Version}' "$pkg")
rm -rf "$dir" && mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/get"
dir=$(cd "$dir" && pwd)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$dir/apt/sources.list" <<EOF
deb-src [signed-by=$keyring] http://deb.debian.org/debian bookworm bookworm-updates main
deb-src [signed-by=$keyring] http://deb.debian.org/debian-security bookworm-security main
EOF
apt() {
	apt-get -q -o Dir::Etc::SourceList="$dir/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$dir/apt/lists" -o Dir::Cache="$dir/apt/cache" \
		-o Debug::NoLocking=1 "$@"
}
apt update >"$dir/apt/update.log" 2>&1 || { cat "$dir/apt/update.log" >&2; exit 1; }
# The installed version if the archive has it, else the suite's.
cd "$dir/get"
apt source --only-source "$src=$ver" >"$dir/apt/source.log" 2>&1 ||
	apt source --only-source "$src" >>"$dir/apt/source.log" 2>&1 ||
	{ cat "$dir/apt/source.log" >&2; exit 1; }
tree=$(find . -mindepth 1 -maxdepth 1 -type d | head -1)
[ -n "$tree" ] || { echo "debsrc: no source tree unpacked for $src" >&2; exit 1; }
mv "$tree" "$dir/src"
# The package lists (tens of MB) are not needed once the source is here.
rm -rf "$dir/apt/lists" "$dir/apt/cache"
echo "debsrc: $src $(sed -n 's/^Version: //p' "$dir"/get/*.dsc | head -1) in $dir/src"
