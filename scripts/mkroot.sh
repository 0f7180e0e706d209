#!/usr/bin/env bash
# Makes a root directory for a cVM (its `disk:`) out of Debian's installed
# files, as they are installed on this machine:
#
#   scripts/mkroot.sh OUT PROGRAM... [--pkg PKG...]
#
# PROGRAM is a path or a name found in PATH.  The root gets each program, its
# ELF interpreter and every library it needs (as the host's ld.so resolves
# them), every file and symbolic link `dpkg -L PKG` lists for each PKG (and
# the libraries its ELF files need), the host's etc/ld.so.cache, an empty
# /tmp (mode 1777) and /work (mode 1777: any cVM may create files there, and
# they are its own), and empty /dev and /proc where a program cell mounts its
# devices and its processes (README "Programs").  Every path keeps its place and every symbolic link met
# on the way (/lib -> usr/lib, /lib64/ld-linux-x86-64.so.2 -> /lib/...) is
# made again as it is, so the root resolves paths as the host does.  Python's
# compiled modules (__pycache__/*.pyc that Debian's py3compile wrote at
# install time) come with the .py files they belong to.
#
# Nothing else is written.  The root is built in OUT.tmp and renamed to OUT,
# so OUT is either complete or absent; running again rebuilds it.
set -euo pipefail

die() { echo "mkroot: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: mkroot.sh OUT PROGRAM... [--pkg PKG...]"
OUT=$(realpath -m -- "$1"); shift
progs=() pkgs=()
while [ $# -gt 0 ]; do
	case $1 in
	--pkg) shift; while [ $# -gt 0 ] && [ "$1" != --pkg ]; do pkgs+=("$1"); shift; done ;;
	*) progs+=("$1"); shift ;;
	esac
done
[ ${#progs[@]} -gt 0 ] || [ ${#pkgs[@]} -gt 0 ] || die "no program and no package given"

TMP=$OUT.tmp
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT

declare -A real    # host path (parents resolved) -> its real path
declare -A links   # symbolic link (real parent) -> its target, to make in the root
declare -A files   # regular files (real paths) to copy

# resolve PATH: sets RES to PATH's real path, recording every symbolic link
# met on the way (not only the last) so that each is made again in the root.
# Links are recorded under their real parent directory.
resolve() {
	local p=$1 cur="" comp rest next t
	[ "${p:0:1}" = / ] || p=/$p
	rest=${p#/}
	while [ -n "$rest" ]; do
		comp=${rest%%/*}
		[ "$comp" = "$rest" ] && rest="" || rest=${rest#*/}
		case $comp in
		"" | .) continue ;;
		..) cur=${cur%/*}; continue ;;
		esac
		next=$cur/$comp
		if [ -n "${real[$next]+x}" ]; then
			cur=${real[$next]}
		elif [ -L "$next" ]; then
			depth=$((depth + 1)); [ $depth -le 40 ] || die "too many links in $1"
			t=$(readlink "$next")
			links[$next]=$t
			if [ "${t:0:1}" = / ]; then resolve "$t"; else resolve "$cur/$t"; fi
			depth=$((depth - 1))
			cur=$RES
			real[$next]=$cur
		else
			real[$next]=$next
			cur=$next
		fi
	done
	RES=${cur:-/}
}
depth=0

# add PATH: PATH (a file, or a link to one) goes into the root.
add() {
	resolve "$1"
	if [ -f "$RES" ]; then files[$RES]=1
	elif [ -d "$RES" ]; then :   # made when something is put in it
	else die "$1: no such file ($RES)"; fi
}

# needs FILE...: every library the ELF files among FILE need, and their
# interpreter, as `ldd` resolves them on this host.
needs() {
	[ $# -gt 0 ] || return 0
	# ldd prints "name => /path (addr)" or "/path (addr)"; static and
	# non-ELF files have none.
	{ LC_ALL=C ldd "$@" 2>/dev/null || true; } | awk '
		$2 == "=>" && $3 ~ /^\// { print $3; next }
		$1 ~ /^\// && $2 ~ /^\(0x/ { print $1 }
		$2 == "=>" && $3 == "not" { print "MISSING " $1 }' | sort -u
}

# interp FILE: its PT_INTERP path, as written in it (empty when none).
interp() {
	{ LC_ALL=C readelf -lW "$1" 2>/dev/null || true; } |
		sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p'
}

# debian_owned PATH...: each PATH is a file some installed Debian package
# ships (packages list /lib/... or /usr/lib/...: either form will do, with
# /usr merged, and so does the file a link leads to).
debian_owned() {
	local p r c
	local -A cand=() owned=()
	for p in "$@"; do
		r=$(realpath -e "$p")
		for c in "$p" "$r" "/usr$p" "${p#/usr}" "/usr$r" "${r#/usr}"; do cand[$c]=1; done
	done
	while IFS= read -r c; do owned[${c#*: }]=1; done < <(dpkg-query -S "${!cand[@]}" 2>/dev/null || true)
	for p in "$@"; do
		r=$(realpath -e "$p")
		for c in "$p" "$r" "/usr$p" "${p#/usr}" "/usr$r" "${r#/usr}"; do
			[ -n "${owned[$c]+x}" ] && continue 2
		done
		die "$p is not a file of any installed Debian package"
	done
}

# Names are looked up where Debian installs programs, not in the caller's
# PATH (which may lead to programs of other origins).
DEBIAN_PATH=/usr/sbin:/usr/bin:/sbin:/bin
elves=() check=()
for p in "${progs[@]}"; do
	case $p in
	/*) path=$p ;;
	*) path=$(PATH=$DEBIAN_PATH command -v "$p") || die "$p: not found in $DEBIAN_PATH" ;;
	esac
	[ -f "$path" ] || die "$path: not a file"
	[ "$(head -c4 "$path" | od -An -c | tr -d ' ')" = '177ELF' ] || die "$path: not an ELF file"
	add "$path"
	elves+=("$path")
	check+=("$path")
	i=$(interp "$path")
	[ -z "$i" ] || { add "$i"; check+=("$i"); }
done

for pkg in "${pkgs[@]}"; do
	list=$(dpkg -L "$pkg" 2>/dev/null) || die "$pkg: not an installed package"
	while IFS= read -r f; do
		# regular files and links only; directories come with what is in them
		[ -L "$f" ] || [ -f "$f" ] || continue
		add "$f"
		case $f in
		*.so | *.so.* | */bin/* | */sbin/*) elves+=("$f") ;;
		*.py)
			d=${f%/*} b=${f##*/}
			for c in "$d"/__pycache__/"${b%.py}".cpython-*.pyc; do
				[ -f "$c" ] && add "$c"
			done ;;
		esac
	done <<<"$list"
done

if [ ${#elves[@]} -gt 0 ]; then
	while IFS= read -r lib; do
		[ -n "$lib" ] || continue
		case $lib in MISSING*) die "a library is not installed: ${lib#MISSING }" ;; esac
		add "$lib"
		check+=("$lib")
	done < <(needs "${elves[@]}")
fi
debian_owned "${check[@]}"
[ -f /etc/ld.so.cache ] && add /etc/ld.so.cache

# Links first, then files: every parent is a real directory in the root,
# since links were recorded with their parents resolved.
for l in "${!links[@]}"; do
	mkdir -p "$TMP${l%/*}"
	ln -sfn "${links[$l]}" "$TMP$l"
done
if [ ${#files[@]} -gt 0 ]; then
	printf '%s\0' "${!files[@]}" | (cd / && xargs -0 cp -p --parents -t "$TMP")
fi

mkdir -p "$TMP/tmp" "$TMP/work" "$TMP/dev" "$TMP/proc"
chmod 1777 "$TMP/tmp" "$TMP/work"
chmod 0755 "$TMP"

rm -rf "$OUT"
mv "$TMP" "$OUT"
trap - EXIT
echo "mkroot: $OUT: ${#files[@]} files, ${#links[@]} links"
