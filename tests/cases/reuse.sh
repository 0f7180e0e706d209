# Forks reset in place (reuse: N, README "Reused forks"): a fork serves N
# runs, each with its own args, and each starts from the template's state.
# tests/posix/reuse.c probes what a run could leave for the next (memory,
# registers, threads, signals, files; for a program /tmp, /dev/shm, child
# processes and timers), and leaves all of it itself.

REUSE=$B/tests/posix/reuse

# reuse_yaml FILE RUNS [extra fork lines]: the reuse template (a cVM with a
# range), its selftest fork, and fork f1 with one "probe K" run per K.
reuse_yaml() {
	local f=$1 runs=$2 k list=""; shift 2
	for k in $(seq "$runs"); do list="$list${list:+, }\"probe $k\""; done
	{
		echo "cVMs:"
		printf -- '- name: tpl\n  runtime: %s\n  template: 1\n  wait: -1\n' "$REUSE"
		printf '  isolation:\n  - base: 0x20000000\n    size: 0x10000000\n    begin: 0x20000000\n    end: 0x30000000\n'
		printf -- '- {name: self, runtime: %s, resume: 1, args: selftest, wait: -1}\n' "$REUSE"
		printf -- '- name: f1\n  runtime: %s\n  resume: 1\n  reuse: %d\n  run_args: [%s]\n' \
			"$REUSE" "$runs" "$list"
		for l in "$@"; do printf '  %s\n' "$l"; done
	} | yaml "$f"
}

# Each run after the first finds nothing of the run before it; the
# selftest (leaving everything, then probing) shows the probes see it all.
test_reuse_runs_find_nothing_an_earlier_run_left() {
	run_iv -y "$(reuse_yaml a.yaml 4)"
	expect_rc 0 && expect_out "[self] reuse: selftest found 14" &&
	expect_out "[f1] reuse: run 1 clean" && expect_out "[f1] reuse: run 2 clean" &&
	expect_out "[f1] reuse: run 3 clean" && expect_out "[f1] reuse: run 4 clean" &&
	expect_no_out "[f1] reuse: LEFTOVER" &&
	expect_err "cVM 'f1' run 1 of 4 exited with status 0" &&
	expect_err "cVM 'f1' run 3 of 4 exited with status 0" &&
	expect_err "cVM 'f1' exited with status 0"
}

# The same for a program in its disk, with its own /tmp and /dev/shm.
test_reuse_program_runs_find_no_file_child_or_timer_of_an_earlier_run() {
	mkdir -p "$T/disk/bin" "$T/disk/tmp" "$T/disk/dev" "$T/disk/proc" &&
	chmod 1777 "$T/disk/tmp" && cp "$REUSE" "$T/disk/bin/" || return 1
	yaml p.yaml >/dev/null <<EOF
cVMs:
- {name: tpl, disk: $T/disk, runtime: /bin/reuse, template: 1, wait: -1}
- {name: self, runtime: /bin/reuse, resume: 1, args: selftest, wait: -1}
- {name: f1, runtime: /bin/reuse, resume: 1, reuse: 3, run_args: ["probe 1", "probe 2", "probe 3"]}
EOF
	run_iv -a -y "$T/p.yaml"
	expect_rc 0 && expect_out "[self] reuse: selftest found 20" &&
	expect_out "[f1] reuse: run 2 clean" && expect_out "[f1] reuse: run 3 clean" &&
	expect_no_out "[f1] reuse: LEFTOVER" || return 1
	[ -z "$(ls -A "$T/disk/tmp")" ] || fail "the disk's own /tmp was written"
}

# A program's run that installs a seccomp filter of its own cannot be
# undone: the fork ends there.
test_reuse_program_run_with_a_filter_of_its_own_ends_the_fork() {
	mkdir -p "$T/disk/bin" "$T/disk/tmp" && chmod 1777 "$T/disk/tmp" && cp "$REUSE" "$T/disk/bin/" ||
		return 1
	printf 'cVMs:\n- {name: tpl, disk: %s, runtime: /bin/reuse, template: 1, wait: -1}\n- {name: f1, runtime: /bin/reuse, resume: 1, reuse: 3, run_args: ["probe 1", filter, "probe 3"]}\n' \
		"$T/disk" | yaml p.yaml >/dev/null
	run_iv -y "$T/p.yaml"
	expect_rc 1 && expect_out "[f1] reuse: run 1 clean" && expect_out "[f1] reuse: filter: 0" &&
	expect_err "cVM 'f1' failed: cannot be reset for run 3 of 3: it installed a seccomp filter" &&
	expect_no_out "[f1] reuse: run 3"
}

test_reuse_each_run_gets_its_args_and_a_failing_run_fails_the_fork() {
	reuse_yaml a.yaml 3 >/dev/null
	sed -i 's/run_args: \[.*\]/run_args: ["probe 1", "fail 3", "probe 3"]/' "$T/a.yaml"
	run_iv -y "$T/a.yaml"
	expect_rc 1 && expect_out "[f1] reuse: run 1 clean" && expect_out "[f1] reuse: run 3 clean" &&
	expect_err "cVM 'f1' run 2 of 3 exited with status 3" &&
	expect_err "cVM 'f1' failed: run 2 of 3 exited with status 3" || return 1
	# without run_args, every run gets the fork's args
	tfork_yaml b.yaml "plain" "show" >/dev/null
	sed -i 's/^  resume: 1$/  resume: 1\n  reuse: 3/' "$T/b.yaml"
	run_iv -y "$T/b.yaml"
	expect_rc 0 && [ "$(grep -c '^\[f1\] tpl: global: 42$' <<<"$OUT")" = 3 ] ||
		{ show; fail "expected three runs of 'show'"; }
}

# A multithreaded template's threads keep their ids and their state (stack,
# FPU, lock) across resets; a run's write to memory is gone in the next.
test_reuse_template_threads_keep_ids_and_state_across_runs() {
	tfork_yaml a.yaml "mt" "x" >/dev/null
	sed -i 's/^  args: "x"$/  reuse: 4\n  run_args: ["ids", "write 5", "show", "mt"]/' "$T/a.yaml"
	run_iv -a -y "$T/a.yaml"
	expect_rc 0 && expect_out "[f1] tpl: same pid as the template: yes" &&
	expect_out "[f1] tpl: global now: 5" && expect_out "[f1] tpl: global: 42" &&
	expect_out "[f1] tpl: thread state intact" && expect_out "[f1] tpl: threads done" &&
	expect_no_out "CORRUPT"
}

# What cannot be given back ends the fork, saying why, and the run goes
# on: a template thread a run ended (libc's join), a fault, the stub gone.
test_reuse_fork_that_cannot_be_reset_ends_alone() {
	libc_fork_yaml a.yaml "$B/tests/posix/libc_fork" x >/dev/null
	sed -i 's/^  args: "x"$/  reuse: 3\n  run_args: [ids, join, ids]/' "$T/a.yaml"
	run_iv -y "$T/a.yaml"
	expect_rc 1 && expect_out "[f1] libc: joined both: 0 0" &&
	expect_err "cVM 'f1' failed: cannot be reset for run 3 of 3: thread 2 of the template has ended" &&
	expect_err "cVM 'f1': 1 of its 3 runs not made" || return 1
	reuse_yaml b.yaml 3 >/dev/null
	sed -i 's/run_args: \[.*\]/run_args: ["probe 1", segv, "probe 3"]/' "$T/b.yaml"
	{ cat "$T/b.yaml"; cvm_entry after "$B/tests/escape.so" 0x30000000 'args: "alive"'; } >"$T/c.yaml"
	run_iv -y "$T/c.yaml"
	expect_rc 1 && expect_err "cVM 'f1' killed by signal 11" &&
	expect_err "cVM 'f1': 1 of its 3 runs not made" &&
	expect_out "[after] escape alive: the monitor still serves cVMs" || return 1
	sed -i 's/segv/unmapstub/' "$T/c.yaml"
	run_iv -y "$T/c.yaml"
	expect_rc 1 && expect_out "[f1] reuse: stub unmapped: 0" &&
	expect_err "cVM 'f1' failed: cannot be reset for run 3 of 3" &&
	expect_out "[after] escape alive: the monitor still serves cVMs"
}

test_reuse_bad_keys_start_nothing() {
	reuse_yaml a.yaml 2 >/dev/null
	sed -i 's/^  reuse: 2$/  reuse: 3/' "$T/a.yaml"
	run_iv -y "$T/a.yaml"
	expect_rc 2 && expect_err "key 'run_args': 2 args for 3 runs ('reuse')" || return 1
	sed -i 's/^  reuse: 3$/  reuse: 0/' "$T/a.yaml"
	run_iv -y "$T/a.yaml"
	expect_rc 2 && expect_err "key 'reuse': expected 1 to 100000 runs, got '0'" || return 1
	sed -i 's/^  reuse: 0$/  reuse: 2\n  args: x/' "$T/a.yaml"
	run_iv -y "$T/a.yaml"
	expect_rc 2 && expect_err "key 'args': cVM 'f1' has 'run_args'" || return 1
	reuse_yaml b.yaml 2 >/dev/null
	sed -i 's/^  reuse: 2$//' "$T/b.yaml"
	run_iv -y "$T/b.yaml"
	expect_rc 2 && expect_err "key 'run_args': cVM 'f1' has no 'reuse'" || return 1
	reuse_yaml c.yaml 2 >/dev/null
	sed -i '0,/^  template: 1$/s//  template: 1\n  reuse: 2/' "$T/c.yaml"
	run_iv -y "$T/c.yaml"
	expect_rc 2 && expect_err "key 'reuse': cVM 'tpl' is not a fork" || return 1
	reuse_yaml d.yaml 2 >/dev/null
	sed -i '0,/^  template: 1$/s//  template: 1\n  fork_mode: clone/' "$T/d.yaml"
	run_iv -y "$T/d.yaml"
	expect_rc 2 && expect_err "key 'reuse': fork 'f1' is reset to its template's image, and template 'tpl' has fork_mode: clone"
}
