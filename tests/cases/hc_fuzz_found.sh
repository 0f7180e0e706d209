# What the hostcall fuzzer (tests/cvm/hc_fuzz.c, `make fuzz-hostcall`)
# found in the monitor, as attacks; each was fixed and stays as a
# regression test.

# Found with flags "S" (huge nanosleeps cut short by SIGUSR1 from a second
# thread): every cVM's nanosleep fails with EAGAIN.  HC_NANOSLEEP puts a timer
# into the run's table (IV_MAX_TIMERS = 256, shared by all cVMs) and defers
# the answer; when a signal interrupts the pending call, the kernel drops the
# notification but the timer stays until its deadline (up to 100 years, see
# hc_basic.c).  256 interrupted sleeps filled the table for the rest of the
# run, even after that cVM had ended.  Fixed: deferred answers are kept per
# cVM, one per thread, dropped when the cVM ends (core/run.c).
test_hc_fuzz_regression_interrupted_sleeps_do_not_starve_other_cvms_of_nanosleep() {
	{ echo "cVMs:"
	  cvm_entry leak "$B/tests/hc_fuzz.so" 0x20000000 'args: "sleepleak 300"' "wait: -1"
	  cvm_entry watch "$B/tests/hc_fuzz.so" 0x30000000 'args: "watch 200"'
	} | yaml a.yaml >/dev/null
	run_iv -a -y "$T/a.yaml"
	expect_out "[leak] hc_fuzz sleepleak: 300 interrupted, 0 refused" &&
	expect_out_has "[watch] hc_fuzz watch: " && expect_out_has " rounds, all served" &&
	expect_rc 0
}
