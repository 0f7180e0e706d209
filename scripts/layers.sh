#!/usr/bin/env bash
# Checks that the monitor's layers call and include only downwards:
#   front (src/front) > features (src/features/*) > core (src/core)
#   > mechanisms (src/cell, src/loader) > base (src/base)
# and that a feature calls or includes another feature only if that one is
# registered before it in main() (the order features build on each other).
# Calls are read from the built objects (nm: each undefined symbol is
# matched to the object that defines it); includes from the sources.
# Prints every arrow that breaks the rule and exits 1 if there is one.
set -u
cd "$(dirname "$0")/.."
B=${1:-build}

# The features in registration order, from main().
order=$(grep -o 'iv_feature_register(&iv_feature_[a-z_]*)' src/front/main.c |
	sed 's/.*iv_feature_//; s/)//')

rank() { # rank FILE -> layer number, higher is higher; a feature's is 40 + its place
	case $1 in
	src/front/*) echo 50 ;;
	src/features/*)
		local name=${1#src/features/}; name=${name%%/*} i=0
		for f in $order; do
			[ "$f" = "$name" ] && { echo $((40 - 10 + i)); return; }
			i=$((i + 1))
		done
		echo 29 ;; # a feature main() does not register: below every other
	src/core/* | src/include/iv.h) echo 20 ;;
	src/cell/* | src/loader/* | src/include/iv_cell.h | src/include/plan.h | src/include/seccomp_compat.h) echo 10 ;;
	src/base/* | src/include/iv_base.h) echo 0 ;;
	*) echo -1 ;;
	esac
}

bad=0
objs=$( (cd "$B" && find src -name '*.o') | sort | while read -r o; do
	[ -f "${o%.o}.c" ] && echo "$o" # (objects of sources that no longer exist are stale)
done)
[ -n "$objs" ] || { echo "layers: no objects under $B/src (build first)" >&2; exit 2; }

# symbol -> the source that defines it
declare -A def
for o in $objs; do
	src=${o%.o}.c
	while read -r sym; do def[$sym]=$src; done < <(nm --defined-only -g "$B/$o" | awk '{print $3}')
done

ncalls=0
for o in $objs; do
	src=${o%.o}.c
	r=$(rank "$src")
	while read -r sym; do
		to=${def[$sym]:-}
		[ -n "$to" ] && [ "$to" != "$src" ] || continue
		ncalls=$((ncalls + 1))
		t=$(rank "$to")
		# same layer: core, mechanisms and base files call each other;
		# features only those registered before them
		if [ "$t" -gt "$r" ] || { [ "$t" = "$r" ] && [ "$r" -ge 30 ] && [ "$r" -lt 50 ]; }; then
			echo "layers: $src uses $sym of $to (up or across)"
			bad=1
		fi
	done < <(nm -u "$B/$o" | awk '{print $2}')
done

nincl=0
for src in $(find src -name '*.c' -o -name '*.h' | grep -v '^src/cell/stub' | sort); do
	r=$(rank "$src")
	while read -r inc; do
		case $inc in
		*/*) h=src/features/$inc ;;
		*) h=src/include/$inc ;;
		esac
		[ -f "$h" ] || continue # sdk and system headers
		[ "$h" = "$src" ] && continue
		nincl=$((nincl + 1))
		t=$(rank "$h")
		if [ "$t" -gt "$r" ] || { [ "$t" = "$r" ] && [ "$r" -ge 30 ] && [ "$r" -lt 50 ] &&
			[ "${h%/*}" != "${src%/*}" ]; }; then
			echo "layers: $src includes $h (up or across)"
			bad=1
		fi
	done < <(sed -n 's/^#include "\(.*\)"/\1/p' "$src")
done

echo "layers: $ncalls cross-file calls and $nincl includes checked; features in order: $(echo $order)"
exit $bad
