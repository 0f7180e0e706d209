# TFORK hardening: what a template and its forks can reach of each other,
# and what they can make the monitor do (docs/SECURITY.md).  Forks are made
# by the monitor; each is pid 1 of its own pid namespace, in its own user
# namespace, with the template's file access and no more.

test_tfork_fork_reaches_no_sibling_by_signal_ownership_or_pid() {
	run_iv -y "$(NOWAIT=1 tfork_yaml a.yaml "plain" "sleep 600" "reach" "reach" "show")"
	expect_rc 0 && expect_out "[f2] tpl: reached others: 0" &&
	expect_out "[f3] tpl: reached others: 0" && expect_out "[f1] tpl: woke" &&
	expect_no_out "F_SETOWN on itself refused" && expect_out "[f4] tpl: global: 42"
}

test_tfork_fork_keeps_the_template_pid_and_thread_ids() {
	run_iv -y "$(tfork_yaml a.yaml "mt" "ids" "mt")"
	expect_rc 0 && expect_out "[f1] tpl: same pid as the template: yes" &&
	expect_out "[f2] tpl: threads running" && expect_out "[f2] tpl: thread state intact" &&
	expect_out "[f2] tpl: threads done"
}

test_tfork_thread_bomb_in_one_fork_leaves_siblings_their_budget() {
	run_iv -y "$(tfork_yaml a.yaml "plain" "threadbomb" "spawn" "show")"
	expect_rc 0 && expect_out_has "[f1] tpl: threads until refused: " &&
	expect_out "[f2] tpl: spawned: 8" && expect_out "[f3] tpl: global: 42"
	local n; n=$(grep -o 'threads until refused: [0-9]*' <<<"$OUT" | grep -o '[0-9]*$')
	[ "$n" -lt 100 ] || fail "a fork made $n threads: its budget is not its own"
}

test_tfork_template_with_unshared_shared_memory_is_refused() {
	run_iv -y "$(tfork_yaml a.yaml "shared" "show")"
	expect_rc 1 && expect_err "cannot freeze template 'tpl': it has shared memory at" &&
	expect_err "cVM 'f1' failed: template 'tpl' failed before it saved"
}

test_tfork_duplicated_console_is_the_forks_own() {
	run_iv -y "$(tfork_yaml a.yaml "dupconsole" "console5")"
	expect_rc 0 && expect_out "[f1] via fd 5" && expect_out "[f1] tpl: write to fd 5: 9" &&
	expect_no_out "[tpl] via fd 5"
}

test_tfork_fork_gets_no_more_file_access_than_the_template_had() {
	mkdir -p "$T/disk" && echo secret >"$T/disk/secret" && chmod 600 "$T/disk/secret" &&
	echo abc >"$T/disk/data.txt" && chmod 644 "$T/disk/data.txt"
	DISK=$T/disk run_iv -y "$(DISK=$T/disk tfork_yaml a.yaml "fds" "fds")"
	expect_rc 0 && expect_out "[tpl] tpl: opened: 1" &&
	expect_out "[f1] tpl: read O_PATH fd: -9" && expect_out "[f1] tpl: write read-only fd: -9" &&
	expect_out "[f1] tpl: read read-only fd: 3"
}

test_tfork_template_whose_main_thread_exited_fails_and_the_run_goes_on() {
	{ tfork_yaml a.yaml "leaderexit" "show" >/dev/null
	  cvm_entry after "$B/tests/escape.so" 0x30000000 'args: "alive"'; } >>/dev/null
	{ cat "$T/a.yaml"; cvm_entry after "$B/tests/escape.so" 0x30000000 'args: "alive"'; } >"$T/b.yaml"
	run_iv -y "$T/b.yaml"
	expect_rc 1 && expect_err "cannot freeze template 'tpl': its main thread has exited" &&
	expect_out "[after] escape alive: the monitor still serves cVMs" &&
	expect_no_out "saver thread returned"
}

test_tfork_template_without_the_stub_code_fails_to_freeze() {
	run_iv -y "$(tfork_yaml a.yaml "nogadget" "show")"
	expect_rc 1 && expect_out "[tpl] tpl: stub unmapped: 0" &&
	expect_err "cannot freeze template 'tpl'" && expect_no_out "[f1] tpl: global"
}

# The escape attempts again, from forks of a template (beside a sibling fork
# that must stay alive and unharmed).
test_tfork_escape_attempts_from_forks_are_contained() {
	local attempts="open_host_file leaked_fds identity peek_memory ptrace kill socket execve fork fork_bomb raise_rlimit hostcall_into_code"
	{ echo "cVMs:"
	  esc_cvm tpl 0x20000000 template "template: 1" "wait: -1"
	  printf -- '- name: victim\n  runtime: %s\n  args: "victim 1500"\n  resume: 1\n' "$ESC"
	  for a in $attempts; do
		printf -- '- name: f_%s\n  runtime: %s\n  args: "%s"\n  resume: 1\n  wait: -1\n' "$a" "$ESC" "$a"
	  done
	} | yaml a.yaml >/dev/null
	run_iv -a -y "$T/a.yaml"
	expect_rc 0 && esc_no_success && expect_out "[victim] escape victim: alive after 1500 ms" &&
	expect_out_has "[f_identity] escape identity: uid " &&
	expect_out_has " pid 1 ppid 0 nodename f_identity" || return 1
	for a in $attempts; do
		expect_out_has "[f_$a] escape $a: blocked" || return 1
	done
}

test_tfork_fork_with_the_longest_name_runs() {
	local long=f-$(printf "x%.0s" $(seq 1 61)) # the longest name, 63
	{ echo "cVMs:"
	  printf -- '- name: tpl\n  runtime: %s\n  args: "plain"\n  template: 1\n  wait: -1\n' "$TPL"
	  printf '  isolation:\n  - base: 0x10000000\n    size: 0x10000000\n    begin: 0x10000000\n    end: 0x20000000\n'
	  printf -- '- name: %s\n  runtime: %s\n  args: "show"\n  resume: 1\n' "$long" "$TPL"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[$long] tpl: global: 42"
}

test_tfork_template_saved_from_a_thread_forks_with_its_main_thread() {
	run_iv -y "$(tfork_yaml a.yaml "threadsave" "x" "y")"
	expect_rc 0 && expect_out "[f1] tpl: saved from a thread; main thread running: yes" &&
	expect_out "[f1] tpl: main thread is pid 1" &&
	expect_out "[f2] tpl: saved from a thread; main thread running: yes" &&
	expect_no_out "saver thread returned"
}

# A template thread asleep in the kernel (nanosleep) when the template saves
# sleeps on in the fork and returns 0, not EINTR.
test_tfork_native_sleep_of_a_template_thread_goes_on_in_forks() {
	run_iv -y "$(tfork_yaml a.yaml "nativesleep" "nativesleep")"
	expect_rc 0 && expect_out "[f1] tpl: the template thread's native sleep returned 0"
}
