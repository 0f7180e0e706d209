# Programs: cVMs without an isolation range, started by exec inside their
# disk (README "Programs").  Debian's busybox-static and the host's own
# dynamic binaries (copied with their libraries into a disk), and
# tests/posix/attack.c for escape attempts from the program, its child
# processes and its forks.

ATTACK=$B/tests/posix/attack

# pm_disk DIR: a disk with busybox (and its applets), attack, /dev and /tmp
pm_disk() {
	local d=$1
	mkdir -p "$d/bin" "$d/dev" "$d/proc" "$d/tmp" "$d/work" &&
	cp /bin/busybox "$ATTACK" "$d/bin/" &&
	for a in sh cat wc ls head tr sleep echo; do ln -sf busybox "$d/bin/$a"; done &&
	chmod 1777 "$d/tmp" && chmod 777 "$d/work"
}

# pm_copy DIR BINARY...: each binary with its interpreter and libraries (ldd)
pm_copy() {
	local d=$1 b l; shift
	for b in "$@"; do
		mkdir -p "$d$(dirname "$b")" && cp -L "$b" "$d$b" || return 1
		for l in $(ldd "$b" | grep -o '/[^ ]*'); do
			mkdir -p "$d$(dirname "$l")" && cp -L "$l" "$d$l" || return 1
		done
	done
}

# pm_yaml FILE NAME SHELL-COMMAND [extra lines]: busybox sh -c COMMAND in $T/disk
pm_yaml() {
	local f=$1 n=$2 cmd=$3; shift 3
	{ echo "cVMs:"; pm_entry "$n" "$cmd" "$@"; } | yaml "$f"
}

pm_entry() {
	local n=$1 cmd=$2; shift 2
	printf -- '- name: %s\n  disk: %s\n  runtime: /bin/busybox\n  args: [sh, -c, "%s"]\n' \
		"$n" "$T/disk" "$cmd"
	for l in "$@"; do printf '  %s\n' "$l"; done
}

test_program_busybox_static_runs_a_pipe_and_external_commands_in_its_disk() {
	pm_disk "$T/disk" || return 1
	echo "from the disk" >"$T/disk/work/note"
	run_iv -y "$(pm_yaml a.yaml sh 'echo hello | tr a-z A-Z; cat /work/note | wc -c; ls /; echo oops >&2')"
	expect_rc 0 && expect_out "[sh] HELLO" && expect_out "[sh] 14" && expect_out "[sh] bin" &&
	expect_out "[sh] work" && expect_no_out "oops" && expect_err "[sh] oops"
}

test_program_exit_status_is_the_monitors_for_one_cvm() {
	pm_disk "$T/disk" || return 1
	run_iv -y "$(pm_yaml a.yaml sh 'exit 7')"
	expect_rc 7 && expect_err "cVM 'sh' exited with status 7"
}

test_program_dynamic_gets_its_interpreter_and_libraries_from_its_disk() {
	pm_copy "$T/disk" /bin/ls || return 1
	yaml a.yaml >/dev/null <<EOF
cVMs:
- name: ls
  disk: $T/disk
  runtime: /bin/ls
  args: [ls, /]
EOF
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[ls] bin" && expect_out "[ls] lib" &&
	expect_err "cVM 'ls': its disk has no /dev /proc /tmp directory: the program gets none" || return 1
	# the loader given as the runtime, with the program as its argument
	local ld; ld=$(readelf -l /bin/ls | sed -n 's/.*interpreter: \(.*\)]/\1/p')
	sed -i "s|runtime: /bin/ls|runtime: $ld|; s|args: \[ls, /\]|args: [ld.so, /bin/ls, /]|" "$T/a.yaml"
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[ls] bin"
}

test_program_missing_library_or_interpreter_starts_nothing() {
	pm_copy "$T/disk" /bin/ls || return 1
	printf 'cVMs:\n- name: ls\n  disk: %s\n  runtime: /bin/ls\n' "$T/disk" | yaml a.yaml >/dev/null
	rm "$T/disk/lib/x86_64-linux-gnu/libselinux.so.1"
	run_iv -y "$T/a.yaml"
	expect_rc 2 && expect_err "cVM 'ls': library libselinux.so.1 (needed by /bin/ls) is not in the disk" &&
	expect_no_err "exited" || return 1
	rm -f "$T/disk"/lib64/ld-linux-x86-64.so.2
	run_iv -y "$T/a.yaml"
	expect_rc 2 && expect_err "cVM 'ls': interpreter /lib64/ld-linux-x86-64.so.2 (of /bin/ls) is not in the disk"
}

test_program_runtime_path_is_resolved_inside_the_disk() {
	pm_disk "$T/disk" || return 1
	mkdir -p "$T/disk/dir" && mkfifo "$T/disk/fifo"
	printf 'cVMs:\n- name: p\n  disk: %s\n  runtime: /dir\n' "$T/disk" | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 2 && expect_err "runtime /dir is a directory, not a program" || return 1
	printf 'cVMs:\n- name: p\n  disk: %s\n  runtime: /fifo\n' "$T/disk" | yaml b.yaml >/dev/null
	run_iv -y "$T/b.yaml"
	expect_rc 2 && expect_err "runtime /fifo is a FIFO, not a program" || return 1
	# /bin/true exists on the host, not in the disk
	printf 'cVMs:\n- name: p\n  disk: %s\n  runtime: /bin/true\n' "$T/disk" | yaml c.yaml >/dev/null
	run_iv -y "$T/c.yaml"
	expect_rc 2 && expect_err "runtime /bin/true is not in the disk"
}

test_program_args_with_an_unterminated_quote_start_nothing() {
	pm_disk "$T/disk" || return 1
	printf 'cVMs:\n- name: p\n  disk: %s\n  runtime: /bin/busybox\n  args: "sh -c '"'"'echo"\n' "$T/disk" | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 2 && expect_err "unterminated" && expect_no_err "exited"
}

test_program_proc_shows_its_own_processes_only() {
	pm_disk "$T/disk" || return 1
	run_iv -y "$(pm_yaml a.yaml p 'ls /proc; readlink /proc/self/exe; cat /proc/meminfo || echo no meminfo')"
	expect_rc 0 && expect_out "[p] 1" && expect_out "[p] self" && expect_out "[p] /bin/busybox" &&
	expect_out "[p] no meminfo" && expect_no_out "[p] sys"
}

test_program_dev_has_the_usual_devices_and_no_terminal() {
	pm_disk "$T/disk" || return 1
	run_iv -y "$(pm_yaml a.yaml d 'ls /dev; echo x > /dev/null && echo null ok; head -c 5 /dev/urandom | wc -c; head -c 3 /dev/zero | wc -c; echo y > /dev/tty || echo no tty')"
	expect_rc 0 && expect_out "[d] null ok" && expect_out "[d] 5" && expect_out "[d] 3" &&
	expect_out "[d] no tty" && expect_out "[d] shm" && expect_no_out "[d] tty"
}

test_program_tmp_is_a_private_tmpfs_of_each_cvm() {
	pm_disk "$T/disk" || return 1
	{ echo "cVMs:"
	  pm_entry one 'echo mine > /tmp/f; sleep 1; cat /tmp/f; ls /tmp' "wait: 0"
	  pm_entry two 'ls /tmp; echo theirs > /tmp/f; cat /tmp/f'
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[one] mine" && expect_out "[two] theirs" &&
	expect_no_out "[two] f" || return 1
	[ -z "$(ls "$T/disk/tmp")" ] || fail "the disk's own /tmp was written"
}

test_program_children_are_confined_as_the_first_process() {
	pm_disk "$T/disk" || return 1
	{ echo "cVMs:"
	  pm_entry victim 'sleep 2; echo alive' "wait: 0"
	  pm_entry a '/bin/attack signals; /bin/attack calls; /bin/attack files; /bin/attack syscalls; /bin/attack proc; echo end'
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[victim] alive" && expect_no_out "ESCAPED" &&
	expect_out "[a] attack proc: mounted, 2 process(es) there, 2 mem file(s) readable" &&
	expect_out "[a] attack syscalls: blocked" && expect_out "[a] attack mount: errno 1" &&
	expect_out "[a] attack signals: pid 2 sees 1 other pid(s), killed 0" &&
	expect_out "[a] attack calls: blocked" && expect_out "[a] attack files: blocked" &&
	expect_out "[a] attack socket_unix: errno 1" && expect_out "[a] attack tiocsti: errno 25" &&
	expect_out "[a] attack unshare_user: errno 1" && expect_out "[a] attack ptrace: errno 1" &&
	expect_out "[a] attack open /proc/kcore: errno 2" &&
	expect_out "[a] attack open /proc/1/root/../../etc/passwd: errno 2" &&
	expect_err "cVM 'a': denied system call socket (41)" &&
	expect_err "cVM 'a': denied system call ptrace (101)"
}

test_program_fork_bomb_in_children_is_bounded_and_others_run() {
	pm_disk "$T/disk" || return 1
	{ echo "cVMs:"
	  pm_entry bomb '/bin/attack bomb; echo after'
	  pm_entry after 'echo alive'
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_out "[bomb] after" && expect_out "[after] alive" || return 1
	local made; made=$(sed -n 's/.*attack bomb: made \([0-9]*\) process.*/\1/p' <<<"$OUT")
	[ -n "$made" ] && [ "$made" -lt 64 ] || fail "made $made processes"
}

test_program_processes_share_its_memory_limit() {
	pm_disk "$T/disk" || return 1
	run_iv -y "$(pm_yaml a.yaml hog '/bin/attack hog 40 & /bin/attack hog 40 & wait; echo two of 40 done; /bin/attack hog 60 & /bin/attack hog 60 & wait; echo done' 'memory: 100M')"
	expect_rc 0 && expect_out "[hog] done" || return 1
	# 80 MiB fit in 100 MiB; 120 MiB do not: one of the two is killed
	[ "$(grep -c 'attack hog: blocked' <<<"$OUT")" = 3 ] || { show; fail "expected 3 hogs to finish"; }
}

test_program_template_with_a_child_process_is_refused() {
	pm_disk "$T/disk" || return 1
	{ echo "cVMs:"
	  pm_entry tpl 'sleep 5 & exec /bin/attack template' "template: 1" "wait: -1"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_err "it has 1 child process: a template must be one process"
}

test_program_host_save_from_a_child_process_is_refused() {
	pm_disk "$T/disk" || return 1
	{ echo "cVMs:"
	  pm_entry tpl '/bin/attack template; echo sh goes on' "template: 1" "wait: -1"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_out "[tpl] attack template: save -> -1 errno 1" && expect_out "[tpl] sh goes on" &&
	expect_err "cVM 'tpl': host_save from a child process refused"
}

# A program template (attack itself saves); its forks attack, in themselves
# and in child processes they make, while a sibling fork sleeps.
test_program_forks_and_their_children_are_confined() {
	pm_disk "$T/disk" || return 1
	yaml a.yaml >/dev/null <<EOF
cVMs:
- name: tpl
  disk: $T/disk
  runtime: /bin/attack
  args: [attack, template]
  template: 1
  wait: -1
- {name: f1, runtime: /bin/attack, args: "signals", resume: 1, wait: 0}
- {name: f2, runtime: /bin/attack, args: "child calls", resume: 1, wait: 0}
- {name: f3, runtime: /bin/attack, args: "child signals", resume: 1, wait: 0}
- {name: f4, runtime: /bin/attack, args: "child save", resume: 1, wait: 0}
- {name: f5, runtime: /bin/attack, args: "child files", resume: 1, wait: 0}
- {name: f6, runtime: /bin/attack, args: "child syscalls", resume: 1, wait: 0}
- {name: f7, runtime: /bin/attack, args: "child proc", resume: 1}
EOF
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_no_out "ESCAPED" &&
	expect_out "[f1] attack signals: pid 1 sees 0 other pid(s), killed 0" &&
	expect_out "[f2] attack calls: blocked" && expect_out "[f2] attack child calls: child ended with 0" &&
	expect_out "[f3] attack signals: pid 2 sees 1 other pid(s), killed 0" &&
	expect_out "[f4] attack save: host_save -> 0 errno 0" &&
	expect_out "[f5] attack files: blocked" && expect_out "[f6] attack syscalls: blocked" &&
	expect_out "[f7] attack proc: mounted, 2 process(es) there, 2 mem file(s) readable" &&
	expect_err "template 'tpl' released after 7 fork(s)"
}

test_program_interpreter_leading_out_of_the_disk_or_not_x86_64_starts_nothing() {
	pm_copy "$T/disk" /bin/ls || return 1
	printf 'cVMs:\n- name: ls\n  disk: %s\n  runtime: /bin/ls\n' "$T/disk" | yaml a.yaml >/dev/null
	rm -f "$T/disk"/lib64/ld-linux-x86-64.so.2
	ln -s ../../../../../../../../lib64/ld-linux-x86-64.so.2 "$T/disk/lib64/ld-linux-x86-64.so.2"
	run_iv -y "$T/a.yaml"
	expect_rc 2 && expect_err "interpreter /lib64/ld-linux-x86-64.so.2 (of /bin/ls) leads out of the disk" &&
	expect_no_err "exited" || return 1
	# an aarch64 ELF header where the interpreter should be
	rm -f "$T/disk"/lib64/ld-linux-x86-64.so.2
	printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000\003\000\267\000' >"$T/disk/lib64/ld-linux-x86-64.so.2"
	head -c 200 /dev/zero >>"$T/disk/lib64/ld-linux-x86-64.so.2"
	chmod 755 "$T/disk/lib64/ld-linux-x86-64.so.2"
	run_iv -y "$T/a.yaml"
	expect_rc 2 && expect_err "interpreter /lib64/ld-linux-x86-64.so.2 (of /bin/ls) is an ELF for aarch64" &&
	expect_no_err "exited"
}

test_program_processes_end_with_the_cvm() {
	pm_disk "$T/disk" || return 1
	run_iv -y "$(pm_yaml a.yaml p 'sleep 30 & sleep 30 & echo started')"
	expect_rc 0 && expect_out "[p] started" && expect_err "cVM 'p' exited with status 0" || return 1
	# the monitor did not wait for the sleepers, and none is left
	! pgrep -f "^sleep 30$" -u "$(build/intravisor --ids -y "$T/a.yaml" | awk '{print $2}')" >/dev/null ||
		fail "a sleeper outlived its cVM"
}
