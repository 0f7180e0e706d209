# Escape attempts from inside a cVM (tests/cvm/escape.c): each is contained,
# reported clearly, and the monitor survives to serve other cVMs.
#
# escape.c prints "escape NAME: blocked (...)" and exits 0 when an attempt
# failed as it must, "escape NAME: SUCCEEDED ..." and exits 1 when it got
# through.  What contains each attempt:
#   seccomp denial  - calls outside src/cell/policy.c's allowlist reach the
#                     monitor, which answers -EPERM and logs "denied system call"
#   seccomp errno   - clone3 answers ENOSYS in the filter itself (no log)
#   seccomp badarch - i386 (int 0x80) and x32 calls kill the cell (SIGSYS)
#   namespace       - the cell's root is its disk or an empty read-only dir
#                     (no /proc, /sys, /dev), its pid namespace holds only it
#   kernel          - the cell's uid has no capabilities; clone flags checked
#   rlimit          - RLIMIT_NPROC 64 (threads), RLIMIT_NOFILE 64,
#                     RLIMIT_AS = size + 64 MiB
#   page protection - its code is r-x; hostcalls use process_vm_writev, which
#                     honours the cell's page protections
#   bounds check    - hostcall pointers must lie in [begin, end) (mem.c)

ESC=$B/tests/escape.so

# esc_cvm NAME BEGIN ARGS [extra lines...]: one 16 MiB cVM running escape.so
esc_cvm() {
	local name=$1 begin=$2 args=$3; shift 3
	cvm_entry "$name" "$ESC" "$begin" "args: \"$args\"" "$@"
}

# esc_attack FILE NAME ARGS: the attacker (waited for), then a cVM that shows
# the monitor still serves others.
esc_attack() {
	{ echo "cVMs:"
	  esc_cvm "$2" 0x20000000 "$3" "wait: -1"
	  esc_cvm after 0x30000000 alive
	} | yaml "$1"
}

# esc_beside FILE NAME ARGS: a victim that sleeps 1.5 s, and the attacker
# running at the same time.
esc_beside() {
	{ echo "cVMs:"
	  esc_cvm victim 0x20000000 "victim 1500"
	  esc_cvm "$2" 0x30000000 "$3"
	} | yaml "$1"
}

esc_survived() {
	expect_out "[after] escape alive: the monitor still serves cVMs" &&
	expect_err "cVM 'after' exited with status 0"
}

# The victim was alive before and after the attack, and ended normally.
esc_victim_ok() {
	local attacker=$1
	expect_out "[victim] escape victim: started" &&
	expect_out "[victim] escape victim: alive after 1500 ms" &&
	expect_err "cVM 'victim' exited with status 0" &&
	expect_err "cVM '$attacker' exited with status 0" || return 1
	# the attack ended while the victim was still sleeping
	local a v
	a=$(grep -nF "[$attacker] escape " <<<"$OUT" | grep -F ': blocked' | cut -d: -f1)
	v=$(grep -nF "[victim] escape victim: alive" <<<"$OUT" | cut -d: -f1)
	[ -n "$a" ] && [ -n "$v" ] && [ "$a" -lt "$v" ] ||
		{ show; fail "the attack did not run while the victim was alive"; }
}

esc_no_success() {
	expect_no_out "SUCCEEDED" && expect_no_out "UNEXPECTED"
}

# ---- the filesystem ----

test_escape_open_host_file_from_empty_root() {
	run_iv -a -y "$(esc_attack a.yaml open open_host_file)"
	expect_rc 0 && esc_no_success &&
	expect_out "[open] escape open_host_file: openat /etc/passwd -> errno 2" &&
	expect_out "[open] escape open_host_file: openat /proc/self/maps -> errno 2" &&
	expect_out "[open] escape open_host_file: openat ../../etc/passwd -> errno 2" &&
	expect_out "[open] escape open_host_file: openat /dev/null -> errno 2" &&
	expect_out "[open] escape open_host_file: root has 0 entries" &&
	expect_out "[open] escape open_host_file: blocked (errno 2)" &&
	expect_err "cVM 'open' exited with status 0" &&
	expect_no_err "denied system call openat" && esc_survived
}

test_escape_write_to_empty_root() {
	run_iv -y "$(esc_attack a.yaml wr write_root)"
	expect_rc 0 && esc_no_success &&
	expect_out "[wr] escape write_root: openat /x O_CREAT -> errno 30" &&
	expect_out "[wr] escape write_root: mkdirat /d -> errno 30" &&
	expect_out "[wr] escape write_root: blocked (errno 30, 21)" && esc_survived
}

test_escape_open_host_file_from_disk() {
	local disk=$T/disk marker="disk-marker-$$-$RANDOM"
	mkdir -p "$disk" && chmod 755 "$disk" || return 1
	echo "$marker" >"$disk/hello.txt"
	ln -s /etc/passwd "$disk/passwd"
	ln -s ../../../.. "$disk/up"
	local ino
	ino=$(stat -c %i "$disk")
	{ echo "cVMs:"
	  esc_cvm dsk 0x20000000 "disk $marker $ino" "disk: $disk" "wait: -1"
	  esc_cvm after 0x30000000 alive
	} | yaml a.yaml >/dev/null
	run_iv -a -y "$T/a.yaml"
	expect_rc 0 && esc_no_success &&
	expect_out "[dsk] escape disk: /hello.txt says: $marker" &&
	expect_out "[dsk] escape disk: root inode $ino matches the disk" &&
	expect_out "[dsk] escape disk: ../../../hello.txt is the same file" &&
	expect_out "[dsk] escape disk: root entry hello.txt" &&
	expect_out "[dsk] escape disk: openat /etc/passwd -> errno 2" &&
	expect_out "[dsk] escape disk: openat ../../etc/passwd -> errno 2" &&
	expect_out "[dsk] escape disk: openat /passwd (symlink to /etc/passwd) -> errno 2" &&
	expect_out "[dsk] escape disk: openat /up/etc/passwd (symlink up ../../../..) -> errno 2" &&
	expect_out "[dsk] escape disk: openat /proc/self/maps -> errno 2" &&
	expect_out "[dsk] escape disk: openat /hello.txt O_WRONLY -> errno 13" &&
	expect_out "[dsk] escape disk: openat /new O_CREAT -> errno 13" &&
	expect_out "[dsk] escape disk: blocked (errno 2, 13)" &&
	expect_err "cVM 'dsk' exited with status 0" && esc_survived || return 1
	# the root holds exactly the disk's three entries
	[ "$(grep -cF '[dsk] escape disk: root entry ' <<<"$OUT")" = 3 ] ||
		{ show; fail "the root is not exactly the disk"; return 1; }
	[ ! -e "$disk/new" ] || fail "the cVM created a file on its disk"
}

test_escape_no_leaked_descriptors() {
	run_iv -y "$(esc_attack a.yaml fds leaked_fds)"
	expect_rc 0 && esc_no_success &&
	expect_out "[fds] escape leaked_fds: open fds: 0 1 2" &&
	expect_out "[fds] escape leaked_fds: blocked (errno 9)" && esc_survived
}

test_escape_identity_is_unprivileged_and_alone() {
	run_iv -y "$(esc_attack a.yaml ident identity)"
	expect_rc 0 && esc_no_success &&
	expect_out_has "pid 1 ppid 0 nodename ident" || return 1
	local uid
	uid=$(sed -n 's/^\[ident\] escape identity: uid \([0-9]*\) .*/\1/p' <<<"$OUT")
	[ -n "$uid" ] && [ "$uid" -ge 200000 ] || { show; fail "cVM uid '$uid' is not >= 200000"; }
}

# ---- other processes: memory, ptrace, signals ----

test_escape_read_other_memory() {
	run_iv -a -y "$(esc_beside a.yaml peek "peek_memory 0x20000000")"
	expect_rc 0 && esc_no_success &&
	expect_out "[peek] escape peek_memory: process_vm_readv pids 1..400: 400 tries, 0 succeeded, errno 1" &&
	expect_out "[peek] escape peek_memory: process_vm_writev pid 1 -> errno 1" &&
	expect_out "[peek] escape peek_memory: openat /proc/PID/mem pids 1..400: 400 tries, 0 succeeded, errno 2" &&
	expect_out "[peek] escape peek_memory: openat /proc/self/mem -> errno 2" &&
	expect_out "[peek] escape peek_memory: pidfd_open pid 1 -> errno 1" &&
	expect_out "[peek] escape peek_memory: blocked (errno 1, 2)" &&
	expect_err "cVM 'peek': denied system call process_vm_readv (310)" &&
	[ "$(grep -c "denied system call process_vm_readv" <<<"$ERR")" = 1 ] &&
	esc_victim_ok peek
}

test_escape_ptrace() {
	run_iv -y "$(esc_beside a.yaml ptr ptrace)"
	expect_rc 0 && esc_no_success &&
	expect_out "[ptr] escape ptrace: ptrace PTRACE_TRACEME -> errno 1" &&
	expect_out "[ptr] escape ptrace: ptrace ATTACH and SEIZE pids 1..400: 800 tries, 0 succeeded, errno 1" &&
	expect_out "[ptr] escape ptrace: blocked (errno 1)" &&
	expect_err "cVM 'ptr': denied system call ptrace (101)" &&
	esc_victim_ok ptr
}

test_escape_kill_other_processes() {
	run_iv -a -y "$(esc_beside a.yaml killer kill)"
	expect_rc 0 && esc_no_success &&
	expect_out "[killer] escape kill: kill(-1, SIGKILL) -> errno 1" &&
	expect_out "[killer] escape kill: kill(0, SIGKILL) -> errno 1" &&
	expect_out "[killer] escape kill: kill(1, SIGKILL) -> errno 1" &&
	expect_out "[killer] escape kill: kill(PID, SIGKILL) pids 2..400: 399 tries, 0 succeeded, errno 1" &&
	expect_out "[killer] escape kill: tkill and tgkill(PID, SIGKILL) pids 2..400: 798 tries, 0 succeeded, errno 3" &&
	expect_out "[killer] escape kill: pidfd_send_signal -> errno 1" &&
	expect_out "[killer] escape kill: blocked (errno 1, 3)" &&
	expect_err "cVM 'killer': denied system call kill (62)" &&
	esc_victim_ok killer
}

# ---- system calls outside the allowlist ----

test_escape_network_socket() {
	run_iv -a -y "$(esc_attack a.yaml net socket)"
	expect_rc 0 && esc_no_success &&
	expect_out "[net] escape socket: socket(AF_INET, SOCK_STREAM) -> errno 1" &&
	expect_out "[net] escape socket: socket(AF_INET6, SOCK_DGRAM) -> errno 1" &&
	expect_out "[net] escape socket: socket(AF_UNIX, SOCK_STREAM) -> errno 1" &&
	expect_out "[net] escape socket: socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) -> errno 1" &&
	expect_out "[net] escape socket: socketpair(AF_UNIX) -> errno 1" &&
	expect_out "[net] escape socket: blocked (errno 1)" &&
	expect_err "cVM 'net': denied system call socket (41)" &&
	expect_err "cVM 'net': denied system call socketpair (53)" && esc_survived
}

test_escape_execve_shell() {
	run_iv -y "$(esc_attack a.yaml exe execve)"
	expect_rc 0 && esc_no_success &&
	expect_out "[exe] escape execve: execve /bin/sh -> errno 1" &&
	expect_out "[exe] escape execve: execveat /bin/sh -> errno 1" &&
	expect_out "[exe] escape execve: blocked (errno 1)" &&
	expect_err "cVM 'exe': denied system call execve (59)" &&
	expect_err "cVM 'exe': denied system call execveat (322)" && esc_survived
}

# NAME:LOGGED-NAME:NR - each runs in a cVM of its own (the monitor reports
# the first 8 denials of each cVM).
ESC_SYSCALLS="mount:mount:165 umount2:umount2:166 pivot_root:pivot_root:155 chroot:chroot:161
reboot:reboot:169 init_module:init_module:175 finit_module:finit_module:313
delete_module:delete_module:176 kexec_load:kexec_load:246 unshare:unshare:272 setns:setns:308
keyctl:keyctl:250 add_key:add_key:248 bpf:bpf:321 io_uring_setup:io_uring_setup:425
userfaultfd:userfaultfd:323 perf_event_open:perf_event_open:298
open_by_handle_at:open_by_handle_at:304 name_to_handle_at:name_to_handle_at:303
setuid:setuid:105 setresuid:setresuid:117 prctl:prctl:157 seccomp:seccomp:317
personality:personality:135 iopl:iopl:172 ioperm:ioperm:173
settimeofday:settimeofday:164 syslog:syslog:103 mknodat:mknodat:259 memfd_create:memfd_create:319
pidfd_open:pidfd_open:434 pidfd_getfd:pidfd_getfd:438 fsopen:fsopen:430 open_tree:open_tree:428
setrlimit:setrlimit:160 fchmodat:fchmodat:268 linkat:linkat:265 symlinkat:symlinkat:266
renameat2:renameat2:316 fchownat:fchownat:260 kcmp:kcmp:312 move_mount:move_mount:429
ioctl_tiocsti:ioctl:16 nr_minus_1:?:-1
nr_huge:?:1073741808"

# capset, sethostname: allowed, and refused by the kernel: no cell has a capability.
test_escape_capability_calls_fail_for_lack_of_capabilities() {
	{ echo "cVMs:"
	  esc_cvm s_capset 0x20000000 "syscall capset"
	  esc_cvm s_sethostname 0x21000000 "syscall sethostname"
	} | yaml s.yaml >/dev/null
	run_iv -y "$T/s.yaml"
	expect_rc 0 && esc_no_success &&
	expect_out "[s_sethostname] escape syscall sethostname: blocked (errno 1)" &&
	expect_out_has "[s_capset] escape syscall capset: blocked (errno "
}

test_escape_raw_syscalls_outside_the_allowlist() {
	local i=0 e name
	{ echo "cVMs:"
	  for e in $ESC_SYSCALLS; do
		name=${e%%:*}
		esc_cvm "s_$name" "$(printf '0x%x' $((0x20000000 + i * 0x1000000)))" "syscall $name"
		i=$((i + 1))
	  done
	  esc_cvm after "$(printf '0x%x' $((0x20000000 + i * 0x1000000)))" alive
	} | yaml s.yaml >/dev/null
	run_iv -y "$T/s.yaml"
	expect_rc 0 && esc_no_success && esc_survived || return 1
	local logged nr
	for e in $ESC_SYSCALLS; do
		name=${e%%:*}; nr=${e##*:}; logged=${e#*:}; logged=${logged%%:*}
		# (a refused ioctl is answered as one the file does not know)
		local eno=1; [ "$logged" = ioctl ] && eno=25
		expect_out "[s_$name] escape syscall $name: $name -> errno $eno" &&
		expect_out "[s_$name] escape syscall $name: blocked (errno $eno)" &&
		expect_err "cVM 's_$name': denied system call $logged ($nr)" &&
		expect_err "cVM 's_$name' exited with status 0" || return 1
	done
}

test_escape_foreign_syscall_abis_kill_the_cvm() {
	{ echo "cVMs:"
	  esc_cvm int80 0x20000000 int80 "wait: -1"
	  esc_cvm x32 0x21000000 x32 "wait: -1"
	  esc_cvm after 0x30000000 alive
	} | yaml a.yaml >/dev/null
	run_iv -a -y "$T/a.yaml"
	expect_rc 1 && esc_no_success &&
	expect_err "cVM 'int80' killed by signal 31 (Bad system call)" &&
	expect_err "cVM 'x32' killed by signal 31 (Bad system call)" && esc_survived
}

# ---- processes and threads ----

test_escape_fork_vfork_clone() {
	run_iv -y "$(esc_attack a.yaml frk fork)"
	expect_rc 0 && esc_no_success &&
	expect_out "[frk] escape fork: fork -> errno 1" &&
	expect_out "[frk] escape fork: vfork -> errno 1" &&
	expect_out "[frk] escape fork: clone(SIGCHLD) -> errno 1" &&
	expect_out "[frk] escape fork: clone(CLONE_VM|SIGCHLD) -> errno 1" &&
	expect_out "[frk] escape fork: clone(CLONE_THREAD|CLONE_VM|CLONE_SIGHAND|CLONE_NEWUSER) -> errno 22" &&
	expect_out "[frk] escape fork: clone3 -> errno 38" &&
	expect_out "[frk] escape fork: blocked (errno 1, 22, 38)" &&
	expect_err "cVM 'frk': denied system call fork (57)" &&
	expect_err "cVM 'frk': denied system call vfork (58)" &&
	expect_err "cVM 'frk': denied system call clone (56)" &&
	expect_no_err "denied system call clone3" && esc_survived
}

test_escape_fork_bomb() {
	run_iv -a -y "$(esc_attack a.yaml bomb fork_bomb)"
	expect_rc 0 && esc_no_success &&
	expect_out "[bomb] escape fork_bomb: fork x 1000: 1000 tries, 0 succeeded, errno 1" &&
	expect_out "[bomb] escape fork_bomb: clone(SIGCHLD) x 1000: 1000 tries, 0 succeeded, errno 1" &&
	expect_out "[bomb] escape fork_bomb: blocked (errno 1)" &&
	expect_err "cVM 'bomb': denied system call fork (57)" &&
	[ "$(grep -c "denied system call" <<<"$ERR")" = 2 ] &&
	expect_err "cVM 'bomb' exited with status 0" && esc_survived
}

test_escape_thread_bomb_is_capped_by_nproc() {
	# two bombs at once (each cVM has a uid, so a limit, of its own), then one more cVM
	{ echo "cVMs:"
	  esc_cvm tb1 0x20000000 thread_bomb
	  esc_cvm tb2 0x21000000 thread_bomb "wait: -1"
	  esc_cvm after 0x30000000 alive
	} | yaml a.yaml >/dev/null
	run_iv -a -y "$T/a.yaml"
	expect_rc 0 && esc_no_success && esc_survived || return 1
	local c n
	for c in tb1 tb2; do
		expect_out_has "[$c] escape thread_bomb: started " &&
		expect_out_has " threads under RLIMIT_NPROC 64" &&
		expect_err "cVM '$c' exited with status 0" || return 1
		n=$(sed -n "s/^\[$c\] escape thread_bomb: blocked (errno 11) after \([0-9]*\) threads$/\1/p" <<<"$OUT")
		[ -n "$n" ] && [ "$n" -ge 1 ] && [ "$n" -le 63 ] ||
			{ show; fail "$c: not capped with EAGAIN below RLIMIT_NPROC 64 (got '$n')"; return 1; }
	done
}

test_escape_raise_rlimits() {
	run_iv -y "$(esc_attack a.yaml rl raise_rlimit)"
	expect_rc 0 && esc_no_success &&
	expect_out "[rl] escape raise_rlimit: prlimit64(0, RLIMIT_AS, unlimited) -> errno 1" &&
	expect_out "[rl] escape raise_rlimit: prlimit64(0, RLIMIT_NPROC, unlimited) -> errno 1" &&
	expect_out "[rl] escape raise_rlimit: prlimit64(1<<32, RLIMIT_AS, unlimited) -> errno 1" &&
	expect_out "[rl] escape raise_rlimit: blocked (errno 1)" &&
	expect_err "cVM 'rl': denied system call prlimit64 (302)" &&
	expect_err "cVM 'rl': denied system call setrlimit (160)" && esc_survived
}

test_escape_fd_bomb_is_capped_by_nofile() {
	run_iv -y "$(esc_attack a.yaml fdb fd_bomb)"
	expect_rc 0 && esc_no_success && esc_survived || return 1
	local n
	n=$(sed -n 's/^\[fdb\] escape fd_bomb: blocked (errno 24) after \([0-9]*\) pipes$/\1/p' <<<"$OUT")
	[ -n "$n" ] && [ "$n" -le 31 ] || { show; fail "not capped with EMFILE by RLIMIT_NOFILE 64 (got '$n')"; }
}

# ---- the console ----

test_escape_console_forgery_stays_labelled() {
	{ echo "cVMs:"
	  esc_cvm forge 0x20000000 console_forge "wait: -1"
	  esc_cvm after 0x30000000 alive
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && esc_survived &&
	expect_out "[forge] escape console_forge: blocked (every line is labelled)" &&
	expect_no_err "cVM 'victim'" &&
	expect_err "[forge] MON: cVM 'forge' said this on fd 2" || return 1
	# every line of the console carries its cVM's label, whatever the cVM
	# wrote; its stderr too, where the monitor's own lines are
	local bad
	bad=$(grep -v -e '^\[forge\] ' -e '^\[after\] ' <<<"$OUT")
	[ -z "$bad" ] || { show; fail "unlabelled console lines: $bad"; return 1; }
	! grep -q "^MON: cVM 'forge' said" <<<"$ERR" || { show; fail "a forged monitor line on stderr"; return 1; }
	! grep -qx '\[victim\].*' <<<"$OUT" || { show; fail "a line poses as cVM 'victim'"; }
}

# One cVM writing its console (natively, fd 1) as fast as it can must not
# stall the monitor's handling of the others: the victim ends after 200 ms
# and must be reaped and reported then, not when the flood stops.
test_escape_console_flood_does_not_stall_the_monitor() {
	{ echo "cVMs:"
	  esc_cvm flood 0x20000000 "console_flood 1500 1"
	  esc_cvm victim 0x30000000 "victim 200"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	# drop the flood's (empty) lines: they are megabytes
	OUT=$(grep -v '^\[flood\] $' <<<"$OUT")
	expect_rc 0 && expect_out "[victim] escape victim: alive after 200 ms" &&
	expect_out_has "[flood] escape console_flood: wrote " || return 1
	local ms
	ms=$(sed -n "s/^MON: cVM 'victim' exited with status 0 (host_exit) after \([0-9]*\)\..*/\1/p" <<<"$ERR")
	[ -n "$ms" ] && [ "$ms" -lt 1000 ] ||
		{ show; fail "the victim (200 ms) was reported after ${ms:-?} ms: the flood stalled the monitor"; }
}

# ---- memory ----

# esc_mem_yaml FILE ATTEMPT: the attempt in a 16 MiB and in a 64 MiB cVM, then after
esc_mem_yaml() {
	{ echo "cVMs:"
	  esc_cvm m16 0x20000000 "$2" "wait: -1"
	  printf -- '- name: m64\n  runtime: %s\n  args: "%s"\n  wait: -1\n  isolation:\n  - base: 0x40000000\n    size: 0x4000000\n    begin: 0x40000000\n    end: 0x44000000\n' "$ESC" "$2"
	  esc_cvm after 0x30000000 alive
	} | yaml "$1"
}

# esc_mem_check ATTEMPT: each cVM was refused with ENOMEM below size + 64 MiB
esc_mem_check() {
	local c size n
	for c in m16:16 m64:64; do
		size=${c#*:}; c=${c%%:*}
		expect_out "[$c] escape $1: RLIMIT_AS $((size + 64)) MiB" &&
		expect_err "cVM '$c' exited with status 0" || return 1
		n=$(sed -n "s/^\[$c\] escape $1: blocked (errno 12) after \([0-9]*\) MiB$/\1/p" <<<"$OUT")
		[ -n "$n" ] && [ "$n" -lt $((size + 64)) ] ||
			{ show; fail "$c: $1 not refused with ENOMEM below $((size + 64)) MiB (got '$n')"; return 1; }
	done
}

test_escape_mmap_past_memory_size() {
	run_iv -a -y "$(esc_mem_yaml a.yaml mmap_bomb)"
	expect_rc 0 && esc_no_success &&
	expect_out "[m16] escape mmap_bomb: mmap 1 GiB PROT_NONE MAP_NORESERVE -> errno 12" &&
	esc_mem_check mmap_bomb && esc_survived
}

test_escape_brk_past_memory_size() {
	run_iv -y "$(esc_mem_yaml a.yaml brk_bomb)"
	expect_rc 0 && esc_no_success && esc_mem_check brk_bomb && esc_survived
}

# Cap files are host memory: the monitor copies an advertised region into a
# memfd of its own, which stays when the cVM unmaps it or advertises the same
# pages again under another key.  Contained would be: the cVM cannot make
# the monitor hold more than its own memory limit, and cannot use up the
# run's cap file table (MAX_CAPS) that other cVMs need.
test_escape_cap_file_advertise_holds_host_memory() {
	{ echo "cVMs:"
	  esc_cvm bomb 0x20000000 "cap_adv_bomb 0x20000000" "wait: -1"
	  esc_cvm advv 0x30000000 adv_victim "wait: -1"
	  esc_cvm after 0x40000000 alive
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	esc_survived &&
	expect_out_has "[bomb] escape cap_adv_bomb: blocked" &&
	expect_err "cVM 'bomb' exited with status 0" &&
	expect_out "[advv] escape adv_victim: advertising a page -> 0" &&
	expect_rc 0
}

test_escape_write_own_code_segfaults() {
	run_iv -a -y "$(esc_attack a.yaml wc write_code)"
	expect_rc 1 && esc_no_success || return 1
	local addr
	addr=$(sed -n 's/^\[wc\] escape write_code: writing to cvm_main at \(0x[0-9a-f]*\)$/\1/p' <<<"$OUT")
	[ -n "$addr" ] || { show; fail "no address printed"; return 1; }
	expect_err "cVM 'wc' killed by signal 11 (Segmentation fault) at address $addr" &&
	esc_survived
}

test_escape_mprotect_own_code_is_allowed() {
	# Its own memory: the cVM may make its code writable (no W^X inside a cVM).
	run_iv -y "$(esc_attack a.yaml mp mprotect_code)"
	expect_rc 0 &&
	expect_out "[mp] escape mprotect_code: allowed: mprotect of its own code to RWX and a store into it (own memory, not an escape)" &&
	expect_err "cVM 'mp' exited with status 0" && esc_survived
}

test_escape_hostcall_into_readonly_code() {
	run_iv -a -y "$(esc_attack a.yaml hc hostcall_into_code)"
	expect_rc 0 && esc_no_success &&
	expect_out "[hc] escape hostcall_into_code: get_arg into cvm_main's code (r-x) -> errno 14" &&
	expect_out "[hc] escape hostcall_into_code: gettimeofday into cvm_main's code (r-x) -> errno 14" &&
	expect_out "[hc] escape hostcall_into_code: the code is unchanged" &&
	expect_out "[hc] escape hostcall_into_code: write from a PROT_NONE page -> errno 14" &&
	expect_out "[hc] escape hostcall_into_code: get_arg into a PROT_NONE page -> errno 14" &&
	expect_out "[hc] escape hostcall_into_code: get_arg into a read-only page -> errno 14" &&
	expect_out "[hc] escape hostcall_into_code: the read-only page is unchanged" &&
	expect_out "[hc] escape hostcall_into_code: blocked (errno 14)" && esc_survived
}

test_escape_hostcall_pointers_outside_the_cvm() {
	{ printf 'capfiles:\n- name: t\n  size: 0x20\n  data: "cap data"\n'
	  echo "cVMs:"
	  esc_cvm ptr 0x20000000 "hostcall_ptr 0x20000000 0x21000000" "wait: -1"
	  esc_cvm after 0x30000000 alive
	} | yaml a.yaml >/dev/null
	run_iv -a -y "$T/a.yaml"
	expect_rc 0 && esc_no_success &&
	expect_out "[ptr] escape hostcall_ptr: write(0x1fffffff, 0x2) -> -14" &&
	expect_out "[ptr] escape hostcall_ptr: write(0x20ffffff, 0x2) -> -14" &&
	expect_out "[ptr] escape hostcall_ptr: write(0x21000000, 0x1) -> -14" &&
	expect_out "[ptr] escape hostcall_ptr: write(0xffffffffffff0000, 0x20000) -> -14" &&
	expect_out "[ptr] escape hostcall_ptr: write(0xfffffffffffff000, 0x1000) -> -14" &&
	expect_out "[ptr] escape hostcall_ptr: write(0x20000000, 0xffffffffffffffff) -> -22" &&
	expect_out "[ptr] escape hostcall_ptr: write(0x20000000, 0x100001) -> -22" &&
	expect_out "[ptr] escape hostcall_ptr: write(0x20800000, 0x10) -> -14" &&
	expect_out "[ptr] escape hostcall_ptr: get_arg(0x20fffff8, 0x10) -> -14" &&
	expect_out "[ptr] escape hostcall_ptr: nanosleep(0xfffffffffffffff8, 0x0) -> -14" &&
	expect_out "[ptr] escape hostcall_ptr: cap_file_adv(0x20fff000, 0x100000000) -> -14" &&
	expect_out "[ptr] escape hostcall_ptr: read into(0xffffffffffff0000, 0x20) -> -14" &&
	expect_out "[ptr] escape hostcall_ptr: write_file from(0x1ffffff0, 0x20) -> -14" &&
	expect_out "[ptr] escape hostcall_ptr: the monitor still answers" &&
	expect_out "[ptr] escape hostcall_ptr: blocked (errno 14, 22)" &&
	expect_err "cVM 'ptr' exited with status 0" && esc_survived || return 1
	[ "$(grep -c '^\[ptr\] escape hostcall_ptr: .* -> -' <<<"$OUT")" -ge 39 ] ||
		{ show; fail "fewer hostcalls tried than expected"; }
}

# ---- everything at once ----

test_escape_all_attempts_at_once() {
	local attempts="open_host_file write_root leaked_fds identity peek_memory ptrace kill socket
		execve fork fork_bomb thread_bomb fd_bomb raise_rlimit mmap_bomb brk_bomb mprotect_code
		hostcall_into_code write_code int80 x32 console_forge"
	local i=0 a
	{ echo "cVMs:"
	  esc_cvm victim 0x10000000 "victim 1500"
	  for a in $attempts; do
		esc_cvm "$a" "$(printf '0x%x' $((0x20000000 + i * 0x1000000)))" "$a"
		i=$((i + 1))
	  done
	  esc_cvm ptr "$(printf '0x%x' $((0x20000000 + i * 0x1000000)))" \
		"hostcall_ptr $(printf '0x%x 0x%x' $((0x20000000 + i * 0x1000000)) $((0x21000000 + i * 0x1000000)))" "wait: -1"
	  esc_cvm after 0x60000000 alive
	} | yaml a.yaml >/dev/null
	run_iv -a -y "$T/a.yaml"
	# write_code, int80 and x32 die by signal: the monitor's status is 1
	expect_rc 1 && esc_no_success && esc_survived &&
	expect_out "[victim] escape victim: alive after 1500 ms" &&
	expect_err "cVM 'victim' exited with status 0" &&
	expect_err "cVM 'write_code' killed by signal 11 (Segmentation fault) at address 0x" &&
	expect_err "cVM 'int80' killed by signal 31 (Bad system call)" &&
	expect_err "cVM 'x32' killed by signal 31 (Bad system call)" || return 1
	for a in $attempts ptr; do
		case $a in write_code | int80 | x32 | mprotect_code | console_forge) continue ;; esac
		expect_out_has "[$a] escape " &&
		grep -q "^\[$a\] escape [a-z_]*: blocked" <<<"$OUT" ||
			{ show; fail "$a: no 'blocked' result"; return 1; }
		expect_err "cVM '$a' exited with status 0" || return 1
	done
}

# ---- the monitor's own resources ----

test_escape_interrupted_sleeps_fill_no_table() {
	{ echo "cVMs:"
	  esc_cvm victim 0x20000000 "victim 1500"
	  esc_cvm sleeper 0x30000000 "sleep_interrupt 300"
	} | yaml a.yaml >/dev/null
	run_iv -a -y "$T/a.yaml"
	expect_rc 0 && esc_no_success && esc_victim_ok sleeper &&
	expect_out "[sleeper] escape sleep_interrupt: sleeps cut short: 300, then a 10 ms sleep -> 0"
}

test_escape_cap_file_io_is_bounded_per_call() {
	{ printf -- '---\ncapfiles:\n- name: big\n  size: 0x4000000\n---\n'; echo "cVMs:"
	  esc_cvm writer 0x20000000 "long_write big" "wait: -1"
	  esc_cvm after 0x30000000 alive
	} | yaml a.yaml >/dev/null
	run_iv -a -y "$T/a.yaml"
	expect_rc 0 && esc_no_success && esc_survived &&
	expect_out "[writer] escape long_write: one write_file of 64 MiB -> 1048576"
}
