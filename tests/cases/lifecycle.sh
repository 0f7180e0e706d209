# How cVMs end, how the monitor reports it, and wait semantics.

LIFE=$B/tests/life.so

life_yaml() { # life_yaml FILE ARGS [ARGS...]: one cVM per ARGS, 16 MiB apart
	local f=$1 i=0 begin; shift
	{ echo "cVMs:"; for a in "$@"; do
		begin=$(printf '0x%x' $((0x20000000 + i * 0x1000000)))
		cvm_entry "c$i" "$LIFE" "$begin" "args: \"$a\""
		i=$((i + 1))
	done; } | yaml "$f"
}

test_exit_code_from_host_exit_is_reported() {
	run_iv -y "$(life_yaml a.yaml "exit 7")"
	expect_rc 7 && expect_out "[c0] life: exit 7" && expect_err "cVM 'c0' exited with status 7 (host_exit)"
}

test_native_exit_group_is_reported() {
	run_iv -y "$(life_yaml a.yaml "native 3")"
	expect_rc 3 && expect_err "cVM 'c0' exited with status 3 after"
}

test_returning_entry_function_ends_the_cvm_with_its_value() {
	run_iv -y "$(life_yaml a.yaml "return 0")"
	expect_rc 0 && expect_err "cVM 'c0' exited with status 0 (host_exit)"
}

test_crash_reports_signal_and_faulting_address() {
	run_iv -y "$(life_yaml a.yaml "crash" "sleep 200")"
	expect_rc 1 &&
	expect_err "cVM 'c0' killed by signal 11 (Segmentation fault) at address 0x1234" &&
	expect_out "[c1] life: woke" && expect_err "cVM 'c1' exited with status 0"
}

test_crash_under_asan_monitor_is_reported() {
	run_iv -a -y "$(life_yaml a.yaml "crash")"
	expect_rc 139 && expect_err "at address 0x1234"
}

test_partial_line_is_flushed_at_exit() {
	run_iv -y "$(life_yaml a.yaml "partial")"
	expect_rc 0 && expect_out "[c0] no newline at the end"
}

test_cvms_run_concurrently_without_wait() {
	# c0 sleeps 400 ms; c1 (deployed right after) ends first.
	run_iv -y "$(life_yaml a.yaml "sleep 400" "exit 0")"
	expect_rc 0 || return 1
	local first
	first=$(grep -o "cVM 'c[01]' exited" <<<"$ERR" | head -1)
	[ "$first" = "cVM 'c1' exited" ] || { show; fail "c1 should end before c0"; }
}

test_wait_minus_one_waits_for_the_end_before_the_next() {
	{ echo "cVMs:"
	  cvm_entry c0 "$LIFE" 0x20000000 'args: "sleep 300"' 'wait: -1'
	  cvm_entry c1 "$LIFE" 0x21000000 'args: "exit 0"'; } | yaml w.yaml >/dev/null
	run_iv -y "$T/w.yaml"
	expect_rc 0 || return 1
	local order
	order=$(grep -oE "\[c[01]\] life: (woke|exit 0)" <<<"$OUT" | tr '\n' ,)
	[ "$order" = "[c0] life: woke,[c1] life: exit 0," ] || { show; fail "order was $order"; }
}

test_wait_n_sleeps_before_the_next() {
	{ echo "cVMs:"
	  cvm_entry c0 "$LIFE" 0x20000000 'args: "exit 0"' 'wait: 1'
	  cvm_entry c1 "$LIFE" 0x21000000 'args: "exit 0"'; } | yaml w.yaml >/dev/null
	local t0 t1
	t0=$(date +%s%N)
	run_iv -y "$T/w.yaml"
	t1=$(date +%s%N)
	expect_rc 0 && expect_out "[c1] life: exit 0" || return 1
	[ $(((t1 - t0) / 1000000)) -ge 1000 ] || fail "the second cVM came before 1 s"
}

test_sigterm_ends_every_cell_and_leaves_no_process() {
	life_yaml s.yaml "spin" "spin" >/dev/null
	"$B/intravisor" -y "$T/s.yaml" >"$T/out" 2>"$T/err" &
	local mon=$! i
	for i in $(seq 50); do grep -q "c1\] life: spin" "$T/out" 2>/dev/null && break; sleep 0.1; done
	local cells
	cells=$(pgrep -P $mon | tr '\n' ' ')
	[ -n "$cells" ] || { cat "$T/err" >&2; fail "no cells found"; return 1; }
	kill -TERM $mon
	wait $mon
	local rc=$?
	[ $rc = 143 ] || fail "monitor status $rc, expected 143"
	for c in $cells; do ! kill -0 "$c" 2>/dev/null || fail "cell $c outlived the monitor"; done
	grep -q "signal 15: ending every cVM" "$T/err" || fail "no report of the signal"
}

test_monitor_killed_takes_its_cells_along() {
	life_yaml s.yaml "spin" >/dev/null
	"$B/intravisor" -y "$T/s.yaml" >"$T/out" 2>"$T/err" &
	local mon=$! i
	for i in $(seq 50); do grep -q "life: spin" "$T/out" 2>/dev/null && break; sleep 0.1; done
	local cells
	cells=$(pgrep -P $mon)
	[ -n "$cells" ] || { fail "no cells found"; return 1; }
	kill -KILL $mon
	wait $mon 2>/dev/null
	sleep 0.2
	for c in $cells; do
		# a zombie waiting for its new parent to reap it is dead
		case $(ps -o stat= -p "$c") in ""|Z*) ;; *) fail "cell $c outlived a killed monitor";; esac
	done
}

test_cap_file_written_by_one_cvm_is_read_by_another() {
	run_iv -y runtime/baremetal/hello_multi/hello_multi.yaml
	expect_rc 0 && expect_out "[reader] read: written by writer" && expect_out "[writer] wrote the cap file"
}

test_hc_test_exercises_every_hostcall() {
	run_iv -a -y runtime/baremetal/hc_test/hc_test.yaml
	expect_rc 0 && expect_out "[hc_test] hc_test: all passed" && expect_no_out "FAIL"
}
