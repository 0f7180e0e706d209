# Nested cVMs (README "Nested cVMs"): the seed's two_layers example, an
# outer cVM serving files to its inner from its own memory, hostcalls
# 700-702, and attacks: an inner reaching into its outer, an inner handing
# its outer pointers that are not its own, outers that crash or never
# answer, and every config the nesting refuses.  tests/cvm/nest.c is both
# layers (the outer's args say what to do).

NEST=$B/tests/nest.so

# nest_pair ARGS [inner lines...]: the outer in [0x10000000, 0x30000000)
# with its image at 0x20000000, the inner in [0x10000000, 0x20000000).
nest_pair() {
	local a=$1; shift
	printf 'cVMs:\n- name: outer\n  runtime: %s\n  args: "%s"\n' "$NEST" "$a"
	printf '  isolation:\n  - {base: 0x20000000, size: 0x20000000, begin: 0x10000000, end: 0x30000000}\n'
	printf -- '- name: inner\n  runtime: %s\n  callback_out: outer\n' "$NEST"
	printf '  isolation:\n  - {base: 0x10000000, size: 0x10000000, begin: 0x10000000, end: 0x20000000}\n'
	for l in "$@"; do printf '  %s\n' "$l"; done
}

# No process of the config's cVMs is left (by their uids).
nest_nothing_left() {
	local y=$1 uid left=
	for uid in $("$B/intravisor" --ids -y "$y" | awk '{print $2}'); do
		left+=$(pgrep -u "$uid" | tr '\n' ' ')
	done
	[ -z "$left" ] || fail "left behind: $left"
}

test_nested_two_layers_example_prints_outer_then_inner_line() {
	run_iv -y runtime/baremetal/two_layers/two_layers.yaml
	expect_rc 0 || return 1
	[ "$OUT" = "[outer] hello outer layer
[outer] hello world from inner" ] || { show; fail "expected the outer's line, then the inner's"; return 1; }
	expect_err "cVM 'inner' exited with status 0 (host_exit)" &&
	expect_err "cVM 'outer' exited with status 0 (host_exit)"
}

test_nested_outer_serves_files_from_its_memory_checksums_agree() {
	local y
	y=$(nest_pair "files 400" | yaml files.yaml)
	run_iv -y "$y"
	expect_rc 0 || return 1
	local w s
	w=$(sed -n 's/^\[outer\] inner: wrote \([0-9]*\) bytes, checksum \(0x[0-9a-f]*\)$/\1 \2/p' <<<"$OUT")
	s=$(sed -n 's/^\[outer\] outer: stored \([0-9]*\) bytes, checksum \(0x[0-9a-f]*\)$/\1 \2/p' <<<"$OUT")
	[ -n "$w" ] && [ "$w" = "$s" ] || { show; fail "written '$w' and stored '$s' differ"; }
}

test_nested_files_service_under_asan_monitor() {
	[ -x "$B/asan/intravisor" ] || { fail "no ASan build (make test builds it)"; return 1; }
	local y
	y=$(nest_pair "files 50" | yaml files.yaml)
	run_iv -a -y "$y"
	expect_rc 0 && expect_out_has "[outer] outer: stored " && expect_no_err "Sanitizer"
}

test_nested_hostcalls_700_to_702_tell_each_side_its_place() {
	local y
	y=$(nest_pair probe | yaml probe.yaml)
	run_iv -y "$y"
	expect_rc 0 &&
	expect_out "[outer] outer: sc_caps 0, inner 0 [0x10000000, 0x20000000) 0, inner 1 -22, handler_prb(outer) -2" &&
	expect_out "[outer] inner: sc_caps 1, handler_prb(outer) 0, handler_prb(nest.so) 0, handler_prb(nobody) -2, get_my_inner -2, save -1"
}

test_nested_inner_reading_its_outers_memory_dies_and_the_outer_lives_on() {
	local y
	y=$(nest_pair "poke $((0x20000000))" | yaml poke.yaml)
	run_iv -y "$y"
	expect_rc 1 &&
	expect_out "[outer] inner: reading the outer's memory" &&
	expect_err "cVM 'inner' killed by signal 11 (Segmentation fault) at address 0x20000000" &&
	expect_err "cVM 'outer' exited with status 0 (host_exit)"
}

test_nested_handler_refuses_inner_pointers_into_the_outer() {
	local y
	y=$(nest_pair badptr | yaml badptr.yaml)
	run_iv -y "$y"
	expect_rc 0 &&
	expect_out "[outer] inner: write of the outer's memory -14, write wrapping around -14, open of the outer's memory -14"
}

test_nested_outer_crashing_fails_the_inners_call_with_eio() {
	local y
	y=$(nest_pair crash | yaml crash.yaml)
	run_iv -y "$y"
	expect_rc 1 &&
	expect_err "cVM 'outer' killed by signal 11" &&
	expect_err "cVM 'inner': outer 'outer' ended before answering hostcall 42 (unknown): Input/output error" &&
	expect_err "cVM 'inner' exited with status 0 (host_exit)" &&
	nest_nothing_left "$y"
}

test_nested_outer_never_answering_times_the_inners_call_out() {
	local y
	y=$(nest_pair hang "call_timeout: 300" | yaml hang.yaml)
	run_iv -y "$y"
	expect_rc 0 &&
	expect_err "cVM 'inner': outer 'outer' did not answer hostcall 42 (unknown) in time: Connection timed out" &&
	expect_err "cVM 'inner' exited with status 0 (host_exit)" &&
	expect_err "cVM 'outer' exited with status 0 (host_exit)" &&
	nest_nothing_left "$y"
}

test_nested_outer_answering_with_the_monitors_own_codes_gives_einval() {
	# (IV_HC_DEFER from an outer would have left the inner's call unanswered)
	local y
	y=$(nest_pair forge "call_timeout: 2000" | yaml forge.yaml)
	run_iv -y "$y"
	expect_rc 0 && expect_err "answered hostcall 42 (unknown) with no errno: Invalid argument" &&
		expect_err "cVM 'inner' exited with status 0 (host_exit)"
}

test_nested_slow_outer_times_out_and_the_inner_prints_the_error() {
	local y
	y=$(nest_pair slow "call_timeout: 300" | yaml slow.yaml)
	run_iv -y "$y"
	expect_rc 0 && expect_out "[outer] inner: call 42 -> -110"
}

test_nested_monitor_stopped_mid_call_ends_both() {
	local y pid
	y=$(nest_pair hang | yaml stop.yaml)
	"$B/intravisor" -y "$y" >"$T/out" 2>"$T/err" &
	pid=$!
	for _ in $(seq 100); do grep -q . "$T/err" 2>/dev/null && break; sleep 0.05; done
	sleep 0.3
	kill -TERM "$pid"
	wait "$pid"
	RC=$? OUT=$(cat "$T/out") ERR=$(cat "$T/err")
	expect_rc 143 && expect_err "signal 15: ending every cVM" && nest_nothing_left "$y"
}

# ---- configs the nesting refuses: one line each, nothing started ----

NEST_HELLO=$B/runtime/hello_world/libhello.so

# nest_bad EXPECTED-STDERR-PART: the config on stdin is refused with it.
nest_bad() {
	local y
	y=$(yaml bad.yaml)
	run_iv -y "$y"
	[ "$RC" != 0 ] || { show; fail "expected a refusal: $1"; return 1; }
	expect_err "$y:$1" || return 1
	[ -z "$OUT" ] || { show; fail "expected no cVM output"; return 1; }
	[ "$(grep -c '' <<<"$ERR")" = 1 ] || { show; fail "expected exactly one line on stderr"; }
}

o_iso='  isolation:\n  - {base: 0x20000000, size: 0x20000000, begin: 0x10000000, end: 0x30000000}\n'
i_iso='  isolation:\n  - {base: 0x10000000, size: 0x10000000, begin: 0x10000000, end: 0x20000000}\n'

test_nested_bad_configs_are_refused_in_one_line_each() {
	printf "cVMs:\n- name: inner\n  runtime: $NEST\n  callback_out: nobody\n$i_iso" |
		nest_bad "4: key 'callback_out': cVM 'inner': no cVM is named 'nobody'" || return 1
	printf "cVMs:\n- name: inner\n  runtime: $NEST\n  callback_out: inner\n$i_iso" |
		nest_bad "4: key 'callback_out': cVM 'inner' cannot serve its own hostcalls" || return 1
	printf "cVMs:\n- name: a\n  runtime: $NEST\n  callback_out: b\n$i_iso- name: b\n  runtime: $NEST\n  callback_out: a\n$i_iso" |
		nest_bad "4: key 'callback_out': cVM 'a' and cVM 'b' serve each other's hostcalls (a cycle)" || return 1
	printf "cVMs:\n- name: o\n  runtime: $NEST_HELLO\n$o_iso- name: inner\n  runtime: $NEST\n  callback_out: o\n$i_iso" |
		nest_bad "8: key 'callback_out': cVM 'o' ('$NEST_HELLO') exports no function 'syscall_handler'" || return 1
	printf "cVMs:\n- name: o\n  runtime: $NEST\n$o_iso- name: inner\n  runtime: $NEST\n  callback_out: o\n  isolation:\n  - {base: 0x30000000, size: 0x1000000, begin: 0x30000000, end: 0x31000000}\n" |
		nest_bad "6: key 'isolation': inner cVM 'inner' range [0x30000000, 0x31000000) does not lie inside outer cVM 'o'" || return 1
	printf "cVMs:\n- name: o\n  runtime: $NEST\n  isolation:\n  - {base: 0x10000000, size: 0x20000000, begin: 0x10000000, end: 0x30000000}\n- name: inner\n  runtime: $NEST\n  callback_out: o\n$i_iso" |
		nest_bad "6: key 'isolation': inner cVM 'inner' range [0x10000000, 0x20000000) reaches outer cVM 'o''s image at 0x10000000" || return 1
	printf "cVMs:\n- name: o\n  runtime: $NEST\n  callback_in: other\n$o_iso- name: inner\n  runtime: $NEST\n  callback_out: o\n$i_iso- name: other\n  runtime: $NEST_HELLO\n  isolation:\n  - {base: 0x40000000, size: 0x1000000, begin: 0x40000000, end: 0x41000000}\n" |
		nest_bad "4: key 'callback_in': cVM 'o': 'other' is not one of its inners" || return 1
	printf "cVMs:\n- name: o\n  runtime: $NEST\n$o_iso- name: inner\n  runtime: $NEST\n  callback_out: o\n" |
		nest_bad "6: key 'isolation': cVM 'inner' is nested in cVM 'o': nesting is not supported with programs" || return 1
	printf "cVMs:\n- name: o\n  runtime: $NEST\n  template: 1\n$o_iso- name: inner\n  runtime: $NEST\n  callback_out: o\n$i_iso" |
		nest_bad "2: key 'template': cVM 'inner' is nested in cVM 'o': nesting is not supported with template" || return 1
	printf "cVMs:\n- name: o\n  runtime: $NEST\n$o_iso- name: inner\n  runtime: $NEST\n  callback_out: o\n  resume: 1\n$i_iso" |
		nest_bad "6: key 'resume': cVM 'inner' is nested in cVM 'o': nesting is not supported with resume" || return 1
	printf "cVMs:\n- name: o\n  runtime: $NEST\n  wait: -1\n$o_iso- name: inner\n  runtime: $NEST\n  callback_out: o\n$i_iso" |
		nest_bad "2: key 'wait': cVM 'o' has wait: -1 and its inner 'inner' comes after it" || return 1
	printf "cVMs:\n- name: o\n  runtime: $NEST\n$o_iso- name: inner\n  runtime: $NEST\n  callback_out: nest.so\n$i_iso" |
		nest_bad "8: key 'callback_out': cVM 'inner': 'nest.so' is the runtime of more than one cVM" || return 1
	printf "cVMs:\n- name: a\n  runtime: $NEST\n  isolation:\n  - {base: 0x50000000, size: 0x10000000, begin: 0x10000000, end: 0x20000000}\n" |
		nest_bad "5: key 'base': 0x50000000 does not lie in [begin, end)"
}

# The inner deployed first: its first hostcall is posted before its outer's
# handler thread exists, which must take it up when it starts.
test_nested_inner_deployed_before_its_outer_is_served() {
	local y
	y=$({ printf 'cVMs:\n- name: inner\n  runtime: %s\n  callback_out: outer\n' "$NEST"
	      printf '  isolation:\n  - {base: 0x10000000, size: 0x10000000, begin: 0x10000000, end: 0x20000000}\n'
	      printf -- '- name: outer\n  runtime: %s\n  args: "files 20"\n' "$NEST"
	      printf '  isolation:\n  - {base: 0x20000000, size: 0x20000000, begin: 0x10000000, end: 0x30000000}\n'
	    } | yaml first.yaml)
	run_iv -y "$y"
	expect_rc 0 && expect_out_has "[outer] inner: wrote " && expect_no_err "did not answer"
}
