# Cap streams, cap calls and MAKE_CALL between cVMs (README "Sharing
# between cVMs"): the seed's cap_stream tests (runtime/posix/cap_stream),
# and tests/posix/ipc.c (a libc program) with tests/cvm/ipc.c (a
# freestanding cVM) as peers of each other.

IPC=$B/tests/posix/ipc
IPCB=$B/tests/ipc.so

# ipc_prog NAME ARGS... [-- extra lines]: a program cVM running tests/posix/ipc
ipc_prog() {
	local n=$1; shift
	local a="ipc"
	while [ $# -gt 0 ] && [ "$1" != -- ]; do a="$a, \"$1\""; shift; done
	[ "${1:-}" = -- ] && shift
	printf -- '- name: %s\n  runtime: %s\n  args: [%s]\n' "$n" "$IPC" "$a"
	for l in "$@"; do printf '  %s\n' "$l"; done
}

# ipc_bare NAME BEGIN ARGS [extra lines]: a freestanding cVM running tests/cvm/ipc.c
ipc_bare() {
	local n=$1 b=$2 a=$3; shift 3
	cvm_entry "$n" "$IPCB" "$b" "args: \"$a\"" "$@"
}

expect_line_re() { grep -qE -- "$1" <<<"$OUT" || { show; fail "expected a stdout line matching: $1"; }; }

# The checksums the lines with "$1: " and "$2: " end with agree.
checksum_of() { sed -n "s/.*$1: .*checksum \(0x\)\{0,1\}0*\([0-9a-f]*\)\$/\2/p" <<<"$OUT"; }
same_checksum() {
	local s r
	s=$(checksum_of "$1") r=$(checksum_of "$2")
	[ -n "$s" ] && [ "$s" = "$r" ] || { show; fail "checksums differ: '$s' '$r'"; }
}

test_stream_seed_single_thread_lands_text_for_ptr() {
	run_iv -y runtime/posix/cap_stream/cap_stream-single.yaml
	expect_rc 0 && expect_out "[cap_stream_test] Testing CF_STREAMs, single thread" &&
	expect_line_re "^\[cap_stream_test\] RECV:	clear \(''\) and publish ptr\(0x[0-9a-f]+\) with key 'key1' via /cap/ch1 $" &&
	expect_line_re "^\[cap_stream_test\] SEND:	sending ptr \(0x[0-9a-f]+\) with 'text for ptr' via /cap/ch2 \([0-9]+\)$" &&
	expect_line_re "^\[cap_stream_test\] RECV:	Check ptr \(0x[0-9a-f]+\) after wait: 'text for ptr'$"
}

test_stream_seed_receiver_and_sender_threads_in_one_cvm() {
	run_iv -y runtime/posix/cap_stream/cap_stream-threads.yaml
	expect_rc 0 || return 1
	for i in $(seq 0 19); do expect_out "[cap_stream_test] $i:	recv = 'send $i'" || return 1; done
}

test_stream_seed_two_cvms_print_n_recv_send_n() {
	run_iv -y runtime/posix/cap_stream/cap_stream-dual.yaml
	expect_rc 0 || return 1
	for i in $(seq 0 19); do expect_out "[recv] $i:	recv = 'send $i'" || return 1; done
	[ "$(grep -c "recv = " <<<"$OUT")" = 20 ] || fail "not 20 messages"
}

test_stream_integrity_random_sizes_between_programs_checksums_agree() {
	{ echo "cVMs:"
	  ipc_prog recv irecv k1 300
	  ipc_prog send isend k1 300 12345
	} | yaml a.yaml >/dev/null
	run_iv -a -y "$T/a.yaml"
	expect_rc 0 && expect_out_has "[recv] irecv k1: 300 messages, " &&
	expect_out_has "each intact" && same_checksum "isend k1" "irecv k1" &&
	expect_out "[recv] irecv k1: then: Broken pipe"
}

test_stream_integrity_between_baremetal_and_program_both_ways() {
	{ echo "cVMs:"
	  ipc_bare brecv 0x20000000 "brecv b1 200"
	  ipc_prog psend isend b1 200 77 262144
	  ipc_bare bsend 0x30000000 "bsend p1 200 78"
	  ipc_prog precv irecv p1 200
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out_has "[brecv] brecv b1: 200 messages, " &&
	expect_out_has "[precv] irecv p1: 200 messages, " &&
	same_checksum "isend b1" "brecv b1" && same_checksum "bsend p1" "irecv p1"
}

test_stream_writer_dying_mid_copy_fails_that_message_only() {
	{ echo "cVMs:"
	  ipc_prog recv irecv k1 50
	  ipc_prog send isend-crash k1 10
	} | yaml a.yaml >/dev/null
	run_iv -a -y "$T/a.yaml"
	expect_err "cVM 'send' killed by signal 11" &&
	expect_out "[recv] irecv k1: message 10: I/O error" &&
	expect_err "cVM 'recv' exited with status 1" && expect_no_out "still alive" && expect_no_err "Sanitizer"
}

test_stream_receiver_dying_gives_its_writer_epipe() {
	{ echo "cVMs:"
	  ipc_prog recv irecv-crash k1 10
	  ipc_prog send isend-all k1
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_err "cVM 'recv' killed by signal 6" &&
	expect_line_re "^\[send\] isend-all k1: 1[01] written, then: Broken pipe$" &&
	expect_err "cVM 'send' exited with status 0"
}

test_call_random_arguments_between_programs_and_baremetal() {
	{ echo "cVMs:"
	  ipc_prog pcallee callee pc
	  ipc_bare bcaller 0x20000000 "bcaller pc 200 6"
	  ipc_bare bcallee 0x30000000 "bcallee bc"
	  ipc_prog pcaller caller bc 200 5
	} | yaml a.yaml >/dev/null
	run_iv -a -y "$T/a.yaml"
	expect_rc 0 && expect_out "[bcaller] bcaller pc: 200 calls, each answered right" &&
	expect_out "[pcaller] caller bc: 200 calls, each answered right" &&
	expect_out "[pcaller] caller bc: quit: done" && expect_out "[pcallee] callee: quit" &&
	expect_out "[bcallee] bcallee: quit"
}

test_call_callers_on_many_threads_take_turns() {
	{ echo "cVMs:"
	  ipc_prog callee callee svc
	  ipc_prog many calls-many svc 4
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[many] calls-many svc: 800 of 800 calls answered right"
}

test_call_callee_crashing_fails_the_call_and_the_caller_survives() {
	{ echo "cVMs:"
	  ipc_prog callee callee svc crash
	  ipc_prog caller caller-once svc crash
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_err "cVM 'callee' killed by signal" &&
	expect_out "[caller] caller-once svc: crash: Broken pipe (value -1), the caller lives on" &&
	expect_err "cVM 'caller' exited with status 0"
}

test_call_callee_not_returning_in_call_timeout_fails_the_call() {
	{ echo "cVMs:"
	  ipc_prog callee callee svc hang
	  ipc_prog caller caller-once svc hello quit -- "call_timeout: 100"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 &&
	expect_out "[caller] caller-once svc: hello: Operation timed out (value -1), the caller lives on" &&
	expect_out "[caller] caller-once svc: then quit: answered" && expect_out "[callee] callee: quit"
}

test_call_timeout_config_is_checked() {
	{ echo "cVMs:"
	  ipc_prog caller makecall -- "call_timeout: 0"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 2 && expect_err "key 'call_timeout': expected 1..3600000 ms, got 0"
}

test_make_call_returns_the_value_of_a_function_run_on_another_thread() {
	{ echo "cVMs:"
	  ipc_prog p makecall
	  ipc_bare b 0x20000000 "bmakecall"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[p] makecall: 42 from another thread" &&
	expect_out "[b] bmakecall: 42 from another thread"
}

test_ipc_between_forks_of_a_template_each_fork_its_own() {
	{ echo "cVMs:"
	  ipc_prog t tpl -- "template: 1" "wait: -1"
	  for i in 1 2; do
		printf -- '- name: recv%s\n  runtime: %s\n  resume: 1\n  args: "irecv s%s 40"\n' $i "$IPC" $i
		printf -- '- name: send%s\n  runtime: %s\n  resume: 1\n  args: "isend s%s 40 %s"\n' $i "$IPC" $i $((i * 11))
	  done
	  printf -- '- name: callee\n  runtime: %s\n  resume: 1\n  args: "callee c1"\n' "$IPC"
	  printf -- '- name: caller\n  runtime: %s\n  resume: 1\n  args: "caller c1 50 3"\n' "$IPC"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && same_checksum "isend s1" "irecv s1" && same_checksum "isend s2" "irecv s2" &&
	expect_out_has "[recv1] irecv s1: 40 messages" && expect_out_has "[recv2] irecv s2: 40 messages" &&
	expect_out "[caller] caller c1: 50 calls, each answered right" &&
	expect_err "template 't' released after 6 fork(s)"
}

test_ipc_template_holding_a_stream_cannot_save() {
	{ echo "cVMs:"
	  ipc_prog t adv-save s1 -- "template: 1" "wait: -1"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_out "[t] adv-save s1: advertised: 0" &&
	expect_err "cannot freeze template 't'" && expect_err "is not a cap file: forks would share it"
}

test_ipc_probe_of_a_stream_or_call_not_granted_behaves_as_missing() {
	mkdir -p "$T/disk/cap" "$T/disk/bin" && cp "$IPC" "$T/disk/bin/ipc" || return 1
	{ printf -- '---\ncapfiles:\n- name: flag\n  size: 16\n---\ncVMs:\n'
	  ipc_prog recv recv-flag k flag send,nosy -- "disk: $T/disk"
	  ipc_prog snoop probe k stream flag -- "disk: $T/disk" "caps: [flag]" "wait: -1"
	  ipc_prog outsider probe k stream flag -- "disk: $T/disk" "wait: -1"
	  ipc_prog nosy probe k call flag -- "disk: $T/disk" "wait: -1"
	  ipc_prog send isend k 1 5 -- "disk: $T/disk" "caps: [k]"
	} | sed "s|runtime: $IPC|runtime: /bin/ipc|" | yaml a.yaml >/dev/null
	run_iv -a -y "$T/a.yaml"
	expect_rc 0 && expect_out "[snoop] probe stream k: No such file or directory" &&
	expect_err "MON: cVM 'snoop' may not probe stream 'k': not in its caps" &&
	expect_out "[outsider] probe stream k: No such file or directory" &&
	expect_err "MON: cVM 'outsider' may not probe stream 'k': its advertiser allows only send,nosy" &&
	expect_out "[nosy] probe call k: Invalid argument" &&
	expect_out "[recv] recv-flag k: a message"
}

test_ipc_advertising_a_key_that_exists_fails() {
	{ printf -- '---\ncapfiles:\n- name: test1\n  size: 16\n---\ncVMs:\n'
	  ipc_prog a callee test1
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_out "[a] callee test1: advertise: File exists"
}
