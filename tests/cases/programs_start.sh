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
