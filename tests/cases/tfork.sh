# TFORK: templates, forks, their isolation, threads and files.

TPL=$B/tests/tpl.so

# tfork_yaml FILE TEMPLATE_ARGS FORK_ARGS... : a template and its forks, each
# fork waited for before the next (with NOWAIT set: all at once).
tfork_yaml() {
	local f=$1 targs=$2 i=1; shift 2
	{
		echo "cVMs:"
		printf -- '- name: tpl\n  runtime: %s\n  args: "%s"\n  template: 1\n  wait: -1\n' "$TPL" "$targs"
		[ -n "${DISK:-}" ] && printf '  disk: %s\n' "$DISK"
		printf '  isolation:\n  - base: 0x10000000\n    size: 0x10000000\n    begin: 0x10000000\n    end: 0x20000000\n'
		for a in "$@"; do
			printf -- '- name: f%d\n  runtime: %s\n  args: "%s"\n  resume: 1\n' $i "$TPL" "$a"
			[ -n "${NOWAIT:-}" ] || printf '  wait: -1\n'
			i=$((i + 1))
		done
	} | yaml "$f"
}

test_tfork_hello_world_template_and_two_forks() {
	run_iv -y runtime/baremetal/hello_world/hello_tfork.yaml
	expect_rc 0 &&
	expect_out "[hello] I am a template!" &&
	expect_no_out "[hello] hello world" &&
	expect_out "[hello-fork1] I am not a template!" &&
	expect_out "[hello-fork1] Hello world" &&
	expect_out "[hello-fork2] I am not a template!" &&
	expect_out "[hello-fork2] hello world, let's read cap 'test1' " &&
	expect_err "template 'hello' released after 2 fork(s)"
}

test_tfork_each_fork_gets_its_own_args_and_name() {
	run_iv -y "$(tfork_yaml a.yaml "plain" "show one" "show two")"
	expect_rc 0 && expect_out "[f1] tpl: fork args: show one" && expect_out "[f2] tpl: fork args: show two" &&
	expect_out "[tpl] tpl: template ready: plain" && expect_no_out "[tpl] tpl: fork args"
}

test_tfork_fork_writes_are_invisible_to_template_and_siblings() {
	run_iv -y "$(tfork_yaml a.yaml "plain" "write 7" "show" "write 9" "show")"
	expect_rc 0 &&
	expect_out "[f1] tpl: global before: 42" && expect_out "[f1] tpl: global now: 7" &&
	expect_out "[f2] tpl: global: 42" &&
	expect_out "[f3] tpl: global before: 42" && expect_out "[f4] tpl: global: 42"
}

test_tfork_many_forks_run_at_once() {
	{ echo "cVMs:"
	  printf -- '- name: tpl\n  runtime: %s\n  args: "plain"\n  template: 1\n  wait: -1\n  isolation:\n  - base: 0x10000000\n    size: 0x10000000\n    begin: 0x10000000\n    end: 0x20000000\n' "$TPL"
	  for i in $(seq 8); do printf -- '- name: f%d\n  runtime: %s\n  args: "mt-less %d"\n  resume: 1\n' $i "$TPL" $i; done
	} | yaml m.yaml >/dev/null
	run_iv -y "$T/m.yaml"
	expect_rc 0 || return 1
	local n
	n=$(grep -c "tpl: fork args: mt-less" <<<"$OUT")
	[ "$n" = 8 ] || { show; fail "expected 8 forks, saw $n"; }
	expect_err "released after 8 fork(s)"
}

test_tfork_multithreaded_template_threads_continue_in_forks() {
	run_iv -a -y "$(tfork_yaml a.yaml "mt" "mt" "mt")"
	expect_rc 0 &&
	expect_out "[f1] tpl: threads running" && expect_out "[f1] tpl: thread state intact" &&
	expect_out "[f1] tpl: threads see inspect 0" && expect_out "[f1] tpl: threads done" &&
	expect_out "[f2] tpl: threads running" && expect_out "[f2] tpl: threads done" &&
	expect_no_out "CORRUPT"
}

test_tfork_open_file_has_its_own_offset_in_each_fork() {
	mkdir -p "$T/disk" && printf '0123456789' >"$T/disk/data.txt" && chmod 644 "$T/disk/data.txt"
	DISK=$T/disk
	run_iv -y "$(tfork_yaml a.yaml "file" "file" "file")"
	expect_rc 0 &&
	expect_out "[f1] tpl: read: 345" && expect_out "[f2] tpl: read: 345"
}

test_tfork_template_crashing_before_save_fails_its_forks() {
	run_iv -y "$(tfork_yaml a.yaml "crash" "show")"
	expect_rc 1 &&
	expect_err "cVM 'tpl' killed by signal 11" &&
	expect_err "cVM 'f1' failed: template 'tpl' ended before it saved" &&
	expect_no_out "[f1]"
}

test_tfork_fork_zero_makes_save_a_no_op() {
	{ echo "cVMs:"
	  printf -- '- name: tpl\n  runtime: %s\n  args: "plain"\n  template: 1\n  fork: 0\n  wait: -1\n  isolation:\n  - base: 0x10000000\n    size: 0x10000000\n    begin: 0x10000000\n    end: 0x20000000\n' "$TPL"
	  printf -- '- name: f1\n  runtime: %s\n  resume: 1\n' "$TPL"; } | yaml z.yaml >/dev/null
	run_iv -y "$T/z.yaml"
	expect_rc 1 && expect_out "[tpl] tpl: fork args: plain" &&
	expect_err "cVM 'f1' failed: template 'tpl' has fork: 0"
}

test_tfork_resume_without_a_template_is_a_config_error() {
	printf 'cVMs:\n- name: f1\n  runtime: %s\n  resume: 1\n' "$TPL" | yaml r.yaml >/dev/null
	run_iv -y "$T/r.yaml"
	expect_rc 2 && expect_err "key 'resume': no template with runtime"
}

test_tfork_fork_must_keep_the_template_range() {
	{ echo "cVMs:"
	  printf -- '- name: tpl\n  runtime: %s\n  template: 1\n  isolation:\n  - base: 0x10000000\n    size: 0x10000000\n    begin: 0x10000000\n    end: 0x20000000\n' "$TPL"
	  printf -- '- name: f1\n  runtime: %s\n  resume: 1\n  isolation:\n  - base: 0x30000000\n    size: 0x10000000\n    begin: 0x30000000\n    end: 0x40000000\n' "$TPL"; } | yaml k.yaml >/dev/null
	run_iv -y "$T/k.yaml"
	expect_rc 2 && expect_err "must keep its template 'tpl''s range"
}

test_tfork_a_fork_cannot_fork_itself() {
	run_iv -y "$(tfork_yaml a.yaml "plain" "forkself" "show")"
	expect_rc 0 && expect_out "[f1] tpl: clone(SIGCHLD) in a fork: -1" &&
	expect_out "[f1] tpl: host_save in a fork: 0" &&
	expect_err "cVM 'f1': denied system call clone (56)" && expect_out "[f2] tpl: global: 42"
}

test_tfork_a_fork_cannot_signal_its_siblings_or_template() {
	{ echo "cVMs:"
	  printf -- '- name: tpl\n  runtime: %s\n  args: "plain"\n  template: 1\n  wait: -1\n  isolation:\n  - base: 0x10000000\n    size: 0x10000000\n    begin: 0x10000000\n    end: 0x20000000\n' "$TPL"
	  printf -- '- name: victim\n  runtime: %s\n  args: "sleep 400"\n  resume: 1\n' "$TPL"
	  printf -- '- name: killer\n  runtime: %s\n  args: "killsiblings"\n  resume: 1\n  wait: -1\n' "$TPL"
	  printf -- '- name: after\n  runtime: %s\n  args: "show"\n  resume: 1\n' "$TPL"; } | yaml k.yaml >/dev/null
	run_iv -y "$T/k.yaml"
	expect_rc 0 && expect_out "[killer] tpl: signals delivered to others: 0" &&
	expect_out "[killer] tpl: signal to itself (0): 0" &&
	expect_out "[victim] tpl: woke" && expect_out "[after] tpl: global: 42"
}

test_tfork_metrics_are_printed_and_written_as_json() {
	run_iv --metrics "$T/m.json" -y "$(tfork_yaml a.yaml "plain" "show")"
	expect_rc 0 &&
	expect_err "metrics 'tpl' (template, ms): load " &&
	expect_err "metrics 'f1' (fork, ms): fork " &&
	expect_err "metrics end-to-end " || return 1
	python3 - "$T/m.json" <<'PY' || fail "bad metrics JSON"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["end_to_end_ms"] > 0
by = {c["name"]: c for c in m["cvms"]}
t, f = by["tpl"], by["f1"]
assert t["kind"] == "template" and f["kind"] == "fork" and t["ok"] and f["ok"]
for k in ("load_ms", "sandbox_init_ms", "workload_prepare_ms", "snapshot_ms", "total_ms"):
    assert t[k] is not None and t[k] >= 0, k
assert t["fork_ms"] is None and f["load_ms"] is None
assert f["fork_ms"] > 0 and f["execute_ms"] >= 0 and f["total_ms"] >= f["fork_ms"]
PY
}
