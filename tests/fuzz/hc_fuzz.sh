#!/usr/bin/env bash
# `make fuzz-hostcall`: the hostcall fuzzer cVM (tests/cvm/hc_fuzz.c) under
# the ASan/UBSan monitor for SECONDS, in rounds with fresh seeds.
#
#   tests/fuzz/hc_fuzz.sh SECONDS [FIRST_SEED] [ROUND_MS]
#
# A round is one monitor run: a checker ("watch") and three fuzzers with the
# next seeds and rotating flags; every fourth round a template that fuzzes
# before host_save (every other one with a second thread still calling as it
# freezes), two forks that fuzz and a sibling fork that checks; then the
# template's image is restored in a second run, where it fuzzes again.
# HC_FUZZ_FLAGS (space-separated, "-" for none) replaces the flag rotation.
# A round fails when the monitor exits non-zero (99: a sanitizer report),
# hangs, a checker was not served, or a fuzzer did not end with "done" or
# reported an anomaly; its config and output are kept in build/fuzz/hc/.
# Ends with the totals and exits 1 if any round failed.
set -u
cd "$(dirname "$0")/../.."
B=$PWD/build
SECONDS_TOTAL=${1:?usage: $0 SECONDS [FIRST_SEED] [ROUND_MS]}
SEED=${2:-1}
MS=${3:-3000}
read -r -a FLAGS <<<"${HC_FUZZ_FLAGS:-- m s ms x mx msx}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99
OUTDIR=$B/fuzz/hc
WORK=$(mktemp -d /tmp/iv-hc-fuzz-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUTDIR"

FZ=$B/tests/hc_fuzz.so

# entry NAME BEGIN ARGS [extra lines...]: a 16 MiB cVM running hc_fuzz.so
entry() {
	local name=$1 begin=$2 args=$3; shift 3
	printf -- '- name: %s\n  runtime: %s\n  args: "%s"\n' "$name" "$FZ" "$args"
	printf '  isolation:\n  - base: %s\n    size: 0x1000000\n    begin: %s\n    end: %s\n' \
		"$begin" "$begin" "$(printf '0x%x' $((begin + 0x1000000)))"
	for l in "$@"; do printf '  %s\n' "$l"; done
}

fork() { printf -- '- name: %s\n  runtime: %s\n  args: "%s"\n  resume: 1\n' "$1" "$FZ" "$2"; }

flag() { local f=${FLAGS[$(($1 % ${#FLAGS[@]}))]}; [ "$f" = - ] && f=; echo "$f"; }

head_yaml() {
	printf -- '---\ncapfiles:\n- name: test1\n  size: 0x20\n  data: "Hello world"\n---\ncVMs:\n'
	entry watch 0x10000000 "watch $((MS + 1000))"
}

plain_round() {
	local s=$1
	head_yaml
	entry fz1 0x20000000 "$s $MS $(flag $s)"
	entry fz2 0x21000000 "$((s + 1)) $MS $(flag $((s + 1)))"
	entry fz3 0x22000000 "$((s + 2)) $MS $(flag $((s + 2)))"
}

template_round() {
	local s=$1 m=$2
	head_yaml
	# every other template has a second thread that is calling as it freezes
	entry tpl 0x20000000 "$s $MS t${m}n" "template: 1" "wait: -1" "snapshot_path: $d/img"
	fork sib "watch $MS"
	fork f1 "$((s + 1)) $MS $(flag $((s + 1)))"
	fork f2 "$((s + 2)) $MS $(flag $((s + 2)))"
}

# The template's image, restored in a run of its own.
restore_round() {
	local s=$1
	head_yaml
	entry r1 0x20000000 "$s $MS $(flag "$s")" "resume: 1" "snapshot_path: $d/img"
}

# check DIR FUZZERS...: why the round in DIR failed, or nothing.
check() {
	local d=$1 rc f w; shift
	rc=$(cat "$d/rc")
	[ "$rc" = 0 ] || { echo "monitor exit status $rc"; return; }
	grep -aq "AddressSanitizer\|runtime error" "$d/err" && { echo "sanitizer report"; return; }
	for w in watch "$@"; do
		case $w in
		watch | sib)
			grep -aqE "^\[$w\] hc_fuzz watch: [0-9]+ rounds, all served$" "$d/out" ||
				{ echo "checker $w not served"; return; } ;;
		*)
			grep -aqE "^\[$w\] hc_fuzz: [0-9]+ calls, [0-9]+ distinct numbers, done$" "$d/out" ||
				{ echo "fuzzer $w did not finish"; return; }
			grep -aqE "^\[$w\] hc_fuzz: .* 0 anomalies$" "$d/out" ||
				{ echo "fuzzer $w reported anomalies"; return; } ;;
		esac
	done
}

# run NAME FUZZERS...: runs the config $d/NAME.yaml; prints its calls, then
# why it failed (nothing if it did not); keeps a failed run.
run() {
	local name=$1 why n; shift
	timeout -k 5 $((MS / 1000 + 30)) "$B/asan/intravisor" -y "$d/$name.yaml" >"$d/out" 2>"$d/err"
	echo $? >"$d/rc"
	why=$(check "$d" "$@")
	n=$(grep -aoE "^\[[a-z0-9]+\] hc_fuzz: [0-9]+ calls" "$d/out" | awk '{s += $3} END {print s + 0}')
	echo "$n $why"
	if [ -n "$why" ]; then
		mkdir -p "$OUTDIR/seed-$SEED"
		cp "$d/$name.yaml" "$d/out" "$d/err" "$d/rc" "$OUTDIR/seed-$SEED/"
	fi
}

rounds=0 failed=0 calls=0 first=$SEED
end=$((SECONDS + SECONDS_TOTAL))
while [ $SECONDS -lt $end ]; do
	d=$WORK/r$rounds
	mkdir -p "$d"
	rm -rf "$OUTDIR/seed-$SEED"
	if [ $((rounds % 4)) = 3 ]; then
		template_round "$SEED" "$([ $((rounds / 4 % 2)) = 1 ] && echo m)" >"$d/a.yaml"
		restore_round $((SEED + 3)) >"$d/b.yaml"
		r=$(run a sib f1 f2)
		[ "${r#* }" = "" ] && r2=$(run b r1) && r="$((${r%% *} + ${r2%% *})) ${r2#* }"
		last=$((SEED + 3))
	else
		plain_round "$SEED" >"$d/a.yaml"
		r=$(run a fz1 fz2 fz3)
		last=$((SEED + 2))
	fi
	n=${r%% *} why=${r#* }
	calls=$((calls + n))
	if [ -n "$why" ]; then
		failed=$((failed + 1))
		echo "round $rounds seeds $SEED-$last: FAILED: $why (kept in $OUTDIR/seed-$SEED)"
	else
		echo "round $rounds seeds $SEED-$last: $n calls, ok"
	fi
	rm -rf "$d"
	rounds=$((rounds + 1))
	SEED=$((last + 1))
done
echo "hc_fuzz: $rounds rounds, seeds $first-$((SEED - 1)), $calls calls, $failed failed rounds"
[ "$failed" = 0 ]
