# Forks of libc programs (musl and glibc, static) that libc cannot tell from
# the template: the same pid and thread ids, template threads that can be
# joined, signals to itself and its threads, abort() by SIGABRT.  The
# template saves with one raw hostcall (tests/posix/libc_fork.c).

libc_fork_yaml() { # libc_fork_yaml FILE RUNTIME FORK_ARGS...
	local f=$1 rt=$2 i=1; shift 2
	{
		echo "cVMs:"
		printf -- '- name: tpl\n  runtime: %s\n  template: 1\n  wait: -1\n' "$rt"
		printf '  isolation:\n  - base: 0x20000000\n    size: 0x10000000\n    begin: 0x20000000\n    end: 0x30000000\n'
		for a in "$@"; do
			printf -- '- name: f%d\n  runtime: %s\n  args: "%s"\n  resume: 1\n  wait: -1\n' $i "$rt" "$a"
			i=$((i + 1))
		done
	} | yaml "$f"
}

libc_fork_check() { # libc_fork_check RUNTIME
	run_iv -a -y "$(libc_fork_yaml a.yaml "$1" ids join raise)"
	expect_rc 0 && expect_out "[f1] libc: pid same: yes" &&
	expect_out "[f1] libc: thread ids same: yes" && expect_out "[f2] libc: joined both: 0 0" &&
	expect_out "[f3] libc: raise 0 handled 1; pthread_kill 0 handled 1" || return 1
	run_iv -y "$(libc_fork_yaml b.yaml "$1" abort)"
	expect_rc 1 && expect_err "cVM 'f1' killed by signal 6 (Aborted)"
}

test_libc_forks_of_a_musl_template_keep_ids_join_signal_and_abort() {
	libc_fork_check "$B/tests/posix/libc_fork"
}

test_libc_forks_of_a_glibc_template_keep_ids_join_signal_and_abort() {
	libc_fork_check "$B/tests/glibc/libc_fork"
}
