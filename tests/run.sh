#!/usr/bin/env bash
# The test runner: every tests/cases/*.sh defines test_* functions; each runs
# in its own subshell and passes when it returns 0.  Ends with the line
# "N passed, N failed" and exits non-zero on any failure.
#   bash tests/run.sh [PATTERN...]   only the tests whose name contains one
#                                    of the patterns (none: every test)
# IV_FORK_MODE=map|clone in the environment is how forks are made for
# templates whose config does not say (README "Forks"); `make test` runs
# the fork tests ($FORK_TESTS in the Makefile) under both, and the tests of
# baremetal cVMs ($POOL_TESTS) again with their cells made ahead (IV_POOL=2).
#
# Helpers for cases:
#   run_iv [-a] YAML...     run the monitor (-a: the ASan/UBSan build) with a
#                           20 s timeout; sets $OUT (stdout), $ERR (stderr), $RC
#   expect_out TEXT         $OUT contains the line TEXT (fixed string)
#   expect_err TEXT         $ERR contains TEXT (fixed string)
#   expect_rc N             $RC is N
#   yaml NAME <<EOF         write a config into the test's scratch dir; prints its path
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/build
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99
SCRATCH=$(mktemp -d /tmp/iv-tests-XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT

fail() { echo "    $*" >&2; return 1; }

run_iv() {
	local bin=$B/intravisor
	if [ "${1:-}" = -a ]; then bin=$B/asan/intravisor; shift; fi
	OUT=$(timeout -k 5 20 "$bin" "$@" 2>"$T/stderr")
	RC=$?
	ERR=$(cat "$T/stderr")
	return 0
}

show() { echo "    --- stdout:" >&2; echo "$OUT" | sed 's/^/    | /' >&2; echo "    --- stderr:" >&2; echo "$ERR" | sed 's/^/    | /' >&2; }
expect_out() { grep -qxF -- "$1" <<<"$OUT" || { show; fail "expected stdout line: $1"; }; }
expect_out_has() { grep -qF -- "$1" <<<"$OUT" || { show; fail "expected stdout to contain: $1"; }; }
expect_no_out() { ! grep -qF -- "$1" <<<"$OUT" || { show; fail "did not expect in stdout: $1"; }; }
expect_err() { grep -qF -- "$1" <<<"$ERR" || { show; fail "expected stderr to contain: $1"; }; }
expect_no_err() { ! grep -qF -- "$1" <<<"$ERR" || { show; fail "did not expect in stderr: $1"; }; }
expect_rc() { [ "$RC" = "$1" ] || { show; fail "expected exit status $1, got $RC"; }; }
yaml() { cat >"$T/$1"; echo "$T/$1"; }

# A cVM entry for configs: yaml_cvm NAME RUNTIME BEGIN [extra lines...]
cvm_entry() {
	local name=$1 rt=$2 begin=$3; shift 3
	printf -- '- name: %s\n  runtime: %s\n  isolation:\n  - base: %s\n    size: 0x1000000\n    begin: %s\n    end: %s\n' \
		"$name" "$rt" "$begin" "$begin" "$(printf '0x%x' $((begin + 0x1000000)))"
	for l in "$@"; do printf '  %s\n' "$l"; done
}

for f in tests/cases/*.sh; do . "$f"; done

pass=0 failn=0
selected() {
	local p
	[ $# -eq 1 ] && return 0
	for p in "${@:2}"; do [[ $1 == *$p* ]] && return 0; done
	return 1
}
run_one() { # run_one LABEL TEST (its scratch directory: $SCRATCH/[LABEL-]TEST)
	T=$SCRATCH/${1:+${1//[^a-z]/}-}$2; mkdir -p "$T"
	if ( set +e; $2 ) 2>"$T/log"; then
		pass=$((pass + 1)); echo "ok   $1$2"
	else
		failn=$((failn + 1)); echo "FAIL $1$2"; sed 's/^/  /' "$T/log"
	fi
}
tests=$(declare -F | awk '{print $3}' | grep '^test_')
for t in $tests; do
	selected "$t" "$@" && run_one "" "$t"
done
# again LABEL VAR=VALUE PATTERN...: those tests once more with VAR=VALUE
# in their environment, counted in the same total.
# matches TEST PATTERN...: the test's name contains one of the patterns
matches() {
	local t=$1 p; shift
	for p in "$@"; do [[ $t == *$p* ]] && return 0; done
	return 1
}
again() {
	local label=$1 var=${2%%=*} val=${2#*=} t; shift 2
	[ $# -gt 0 ] || return 0
	echo "-- again, with $var=$val:"
	for t in $tests; do
		if matches "$t" "$@" && selected "$t" "${ARGS[@]}"; then
			export "$var=$val"
			run_one "$label" "$t"
			unset "$var"
		fi
	done
}
ARGS=("$@")
# IV_AGAIN_CLONE="PATTERN...": forks made by clone() (IV_FORK_MODE=clone);
# IV_AGAIN_POOL="PATTERN...": cells made ahead (IV_POOL=2).
# shellcheck disable=SC2086
again "[clone] " IV_FORK_MODE=clone ${IV_AGAIN_CLONE:-}
# shellcheck disable=SC2086
again "[pool] " IV_POOL=2 ${IV_AGAIN_POOL:-}
echo "$pass passed, $failn failed"
[ "$failn" = 0 ]
