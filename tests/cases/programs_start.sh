# How a program is started: its args, environment, working directory,
# stdin, its stdout and stderr, its exit status; its identity and disk.
# The cVMs run tests/posix/start.c, which prints what it was given.

PS_PROG=$B/tests/posix/start

# ps_yaml FILE [extra lines...]: one cVM 'p' running the start program.
ps_yaml() {
	local f=$1; shift
	{ echo "cVMs:"; cvm_entry p "$PS_PROG" 0x20000000 "$@"; } | yaml "$f"
}

# expect_streams OUTLINE ERRLINE: the line OUTLINE is on stdout only,
# ERRLINE on stderr only, and no line of either holds both texts (but the
# program's own report of its args).
expect_streams() {
	grep -qxF -- "$1" <<<"$OUT" && ! grep -qxF -- "$1" <<<"$ERR" ||
		{ show; fail "expected on stdout only: $1"; return 1; }
	grep -qxF -- "$2" <<<"$ERR" && ! grep -qxF -- "$2" <<<"$OUT" ||
		{ show; fail "expected on stderr only: $2"; return 1; }
	local a=${1#\[*\] } b=${2#\[*\] }
	! grep -F -- "$a" <<<"$OUT"$'\n'"$ERR" | grep -v "start: " | grep -qF -- "$b" ||
		{ show; fail "merged: $a and $b"; }
}

# ---- stdout and stderr ----

test_programs_start_stdout_and_stderr_stay_apart_labelled() {
	run_iv -y "$(ps_yaml a.yaml 'args: "/start out=to-out err=to-err out=again-out"')"
	expect_rc 0 && expect_out "[p] again-out" && expect_streams "[p] to-out" "[p] to-err"
}

# Each stream keeps its own unfinished line: what the program left without
# a newline on one never joins the other's text.
test_programs_start_partial_lines_of_stdout_and_stderr_do_not_merge() {
	run_iv -y "$(ps_yaml a.yaml 'args: "/start outpart=OUTPART errpart=ERRPART out=-tail err=-etail"')"
	expect_rc 0 && expect_streams "[p] OUTPART-tail" "[p] ERRPART-etail" || return 1
	# left unfinished at the end: each shown as a line of its own stream
	run_iv -y "$(ps_yaml b.yaml 'args: "/start out=x outpart=OUTEND errpart=ERREND"')"
	expect_rc 0 && expect_streams "[p] OUTEND" "[p] ERREND"
}

# A fork gets a stdout and a stderr of its own where its template had them.
test_programs_start_a_fork_keeps_stdout_and_stderr_apart() {
	{ echo "cVMs:"
	  cvm_entry tpl "$PS_PROG" 0x20000000 'args: "/start save"' "template: 1" "wait: -1"
	  printf -- '- name: f1\n  runtime: %s\n  args: "out=fork-out err=fork-err errpart=fe outpart=fo"\n  resume: 1\n' "$PS_PROG"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 &&
	expect_out "[f1] start: fork args: out=fork-out err=fork-err errpart=fe outpart=fo" &&
	expect_streams "[f1] fork-out" "[f1] fork-err" && expect_streams "[f1] fo" "[f1] fe"
}

# ---- args ----

test_programs_start_args_are_split_as_sh_splits_words() {
	local line
	line=$(cat <<'YAML'
args: "/start 'a b' \"c d\" e\\ f '' $HOME"
YAML
)
	run_iv -y "$(ps_yaml a.yaml "$line")"
	expect_rc 0 &&
	expect_out "[p] start: argc=6" && expect_out "[p] start: argv[0]=</start>" &&
	expect_out "[p] start: argv[1]=<a b>" && expect_out "[p] start: argv[2]=<c d>" &&
	expect_out "[p] start: argv[3]=<e f>" && expect_out "[p] start: argv[4]=<>" &&
	expect_out "[p] start: argv[5]=<\$HOME>"
}

test_programs_start_args_as_a_yaml_list_are_taken_as_they_are() {
	run_iv -y "$(ps_yaml a.yaml 'args: [/start, "a b", "", "it'"'"'s", "\"q\""]')"
	expect_rc 0 &&
	expect_out "[p] start: argc=5" && expect_out "[p] start: argv[1]=<a b>" &&
	expect_out "[p] start: argv[2]=<>" && expect_out "[p] start: argv[3]=<it's>" &&
	expect_out "[p] start: argv[4]=<\"q\">"
}

test_programs_start_without_args_argv_is_the_name() {
	run_iv -y "$(ps_yaml a.yaml)"
	expect_rc 0 && expect_out "[p] start: argc=1" && expect_out "[p] start: argv[0]=<p>"
}

# host_get_arg gives the args as written, a list's items joined by spaces
# (here in a fork, which reads its own args that way).
test_programs_start_host_get_arg_gives_a_forks_list_args_joined_by_spaces() {
	{ echo "cVMs:"
	  cvm_entry tpl "$PS_PROG" 0x20000000 'args: "/start save"' "template: 1" "wait: -1"
	  printf -- '- name: f1\n  runtime: %s\n  args: [out=one, "out=two"]\n  resume: 1\n' "$PS_PROG"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[f1] start: fork args: out=one out=two" &&
	expect_out "[f1] one" && expect_out "[f1] two"
}

test_programs_start_unterminated_quote_in_args_starts_nothing() {
	run_iv -y "$(ps_yaml a.yaml "args: \"/start 'a b\"")"
	expect_rc 2 && [ -z "$OUT" ] &&
	expect_err "a.yaml:9: key 'args': unterminated ' quote (at character 8 of '/start 'a b')"
}

# ---- env ----

test_programs_start_env_defaults_to_path_home_term_lang() {
	run_iv -y "$(ps_yaml a.yaml 'args: /start')"
	expect_rc 0 &&
	expect_out "[p] start: env <PATH=/usr/local/bin:/usr/bin:/bin>" &&
	expect_out "[p] start: env <HOME=/>" && expect_out "[p] start: env <TERM=dumb>" &&
	expect_out "[p] start: env <LANG=C.UTF-8>" || return 1
	[ "$(grep -c '^\[p\] start: env ' <<<"$OUT")" = 4 ] || { show; fail "more than the 4 defaults"; }
}

test_programs_start_env_as_a_map_or_a_list_is_the_whole_environment() {
	run_iv -y "$(ps_yaml a.yaml 'args: /start' 'env: {GREETING: "hello world", EMPTY: "", N: 3}')"
	expect_rc 0 && expect_out "[p] start: env <GREETING=hello world>" &&
	expect_out "[p] start: env <EMPTY=>" && expect_out "[p] start: env <N=3>" &&
	expect_no_out "PATH=" || return 1
	run_iv -y "$(ps_yaml b.yaml 'args: /start' 'env: [A=1, "B=x=y"]')"
	expect_rc 0 && expect_out "[p] start: env <A=1>" && expect_out "[p] start: env <B=x=y>" &&
	[ "$(grep -c '^\[p\] start: env ' <<<"$OUT")" = 2 ] || { show; fail "expected exactly A and B"; }
}

test_programs_start_env_of_a_wrong_type_starts_nothing() {
	run_iv -y "$(ps_yaml a.yaml 'args: /start' 'env: PATH=/bin')"
	expect_rc 2 && [ -z "$OUT" ] &&
	expect_err "a.yaml:10: key 'env': expected a map of NAME: value or a list of NAME=value"
}

# ---- exit status ----

test_programs_start_exit_status_is_the_cvms_and_the_monitor_fails() {
	run_iv -y "$(ps_yaml a.yaml 'args: "/start exit=3"')"
	expect_rc 1 && expect_err "MON: cVM 'p' exited with status 3 after"
}

# args and env that would not leave the program half its stack (a 64 KiB
# cVM has a 16 KiB stack) are refused before anything starts.
test_programs_start_env_too_large_for_the_stack_starts_nothing() {
	{ printf -- 'cVMs:\n- name: small\n  runtime: %s\n' "$B/runtime/hello_world/libhello.so"
	  printf '  isolation:\n  - {base: 0x20000000, size: 0x10000, begin: 0x20000000, end: 0x20010000}\n'
	  printf '  env:\n'
	  for i in $(seq 200); do printf '    V%d: %s\n' "$i" "$(printf '%050d' 0)"; done
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 2 && [ -z "$OUT" ] &&
	expect_err "cVM 'small': args and env take" &&
	expect_err "more than half of its 0x4000-byte stack"
}
