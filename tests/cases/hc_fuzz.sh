# The hostcall fuzzer (tests/cvm/hc_fuzz.c): cVMs that make random
# hostcalls with random arguments (plain, forks of a fuzzing template, a
# restored image), under the ASan/UBSan monitor, beside cVMs that must still
# be served: a checker ("watch": 10 ms sleeps, inspect, get_arg, each
# checked), escape.so's victim (one long sleep) and, after the fuzzers, a cVM
# that starts and ends.  `make fuzz-hostcall` runs the same
# fuzzer for longer with rotating seeds (tests/fuzz/hc_fuzz.sh).

HCF=$B/tests/hc_fuzz.so

# hcf_cvm NAME BEGIN ARGS [extra lines...]: a 16 MiB cVM running hc_fuzz.so
hcf_cvm() {
	local name=$1 begin=$2 args=$3; shift 3
	cvm_entry "$name" "$HCF" "$begin" "args: \"$args\"" "$@"
}

# The cap file the fuzzer's strings name, then the cVMs.
hcf_head() {
	printf -- '---\ncapfiles:\n- name: test1\n  size: 0x20\n  data: "Hello world"\n---\ncVMs:\n'
}

# The checkers, started before the fuzzers.
hcf_checkers() {
	hcf_cvm watch 0x10000000 "watch 3000"
	cvm_entry victim "$B/tests/escape.so" 0x11000000 'args: "victim 3000"'
}

# The monitor stayed clean, every checker was served and each fuzzer NAME
# ended its run with no anomaly (its summary says so: "ANOMALY" alone may
# be a fuzzer writing its own string constants to the console).
hcf_ok() {
	expect_rc 0 && expect_no_err "AddressSanitizer" && expect_no_err "runtime error" &&
	expect_out_has "[watch] hc_fuzz watch: " && expect_out_has " rounds, all served" &&
	expect_err "cVM 'watch' exited with status 0" &&
	expect_out "[victim] escape victim: alive after 3000 ms" &&
	expect_err "cVM 'victim' exited with status 0" &&
	expect_out "[after] escape alive: the monitor still serves cVMs" || return 1
	local f w d
	for f in "$@"; do
		expect_out_has "[$f] hc_fuzz: " && expect_out_has " distinct numbers, done" &&
		grep -qE "^\[$f\] hc_fuzz: [0-9]+ calls, [0-9]+ distinct numbers, done$" <<<"$OUT" &&
		grep -qE "^\[$f\] hc_fuzz: .* 0 anomalies$" <<<"$OUT" &&
		expect_err "cVM '$f' exited with status 0 (host_exit)" || { show; fail "fuzzer $f"; return 1; }
		# the checker was served while this fuzzer ran
		d=$(grep -naE "^\[$f\] hc_fuzz: [0-9]+ calls" <<<"$OUT" | cut -d: -f1)
		w=$(grep -naF "[watch] hc_fuzz watch:" <<<"$OUT" | cut -d: -f1)
		[ "$d" -lt "$w" ] || { show; fail "the checker ended before fuzzer $f"; return 1; }
	done
}

test_hc_fuzz_random_hostcalls_from_three_cvms_leave_others_served() {
	{ hcf_head
	  hcf_checkers
	  hcf_cvm fz1 0x20000000 "1 2000"
	  hcf_cvm fz2 0x21000000 "2 2000 m"
	  hcf_cvm fz3 0x22000000 "3 2000 s" "wait: -1"
	  cvm_entry after "$B/tests/escape.so" 0x30000000 'args: "alive"'
	} | yaml a.yaml >/dev/null
	run_iv -a -y "$T/a.yaml"
	hcf_ok fz1 fz2 fz3
}

test_hc_fuzz_template_and_its_forks_fuzz_and_others_stay_served() {
	{ hcf_head
	  hcf_checkers
	  hcf_cvm tpl 0x20000000 "4 800 tm" "template: 1" "wait: -1"
	  printf -- '- name: %s\n  runtime: %s\n  args: "%s"\n  resume: 1\n' \
		f1 "$HCF" "5 1600" f2 "$HCF" "6 1600 ms"
	  echo "  wait: -1"
	  cvm_entry after "$B/tests/escape.so" 0x30000000 'args: "alive"'
	} | yaml t.yaml >/dev/null
	run_iv -a -y "$T/t.yaml"
	grep -qE '^\[tpl\] hc_fuzz: template made [1-9][0-9]* calls before host_save$' <<<"$OUT" ||
		{ show; fail "the template did not fuzz before host_save"; return 1; }
	expect_err "template 'tpl' released after 2 fork(s)" && hcf_ok f1 f2
}

test_hc_fuzz_restored_image_fuzzes_and_others_stay_served() {
	{ hcf_head
	  hcf_cvm tpl 0x20000000 "7 400 tmn" "template: 1" "snapshot_path: $T/img"
	} | yaml t.yaml >/dev/null
	run_iv -a -y "$T/t.yaml"
	expect_rc 0 && expect_no_err "AddressSanitizer" || return 1
	{ hcf_head
	  hcf_checkers
	  hcf_cvm r1 0x20000000 "8 1600 ms" "resume: 1" "snapshot_path: $T/img" "wait: -1"
	  cvm_entry after "$B/tests/escape.so" 0x30000000 'args: "alive"'
	} | yaml r.yaml >/dev/null
	run_iv -a -y "$T/r.yaml"
	hcf_ok r1
}
