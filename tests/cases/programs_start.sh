# How a program is started: its args, environment, working directory,
# stdin, its stdout and stderr, its exit status; its identity and disk.
# The cVMs run tests/posix/start.c, which prints what it was given.

PS_PROG=$B/tests/posix/start
PS_ESC=$B/tests/escape.so

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

test_programs_start_exit_status_is_the_cvms_and_the_monitors() {
	run_iv -y "$(ps_yaml a.yaml 'args: "/start exit=3"')"
	expect_rc 3 && expect_err "MON: cVM 'p' exited with status 3 after"
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

# ---- cwd and stdin ----

# A disk with a directory, a file of two lines (the last without a newline)
# and a directory anyone may write (sticky).
ps_disk() {
	mkdir -p "$T/disk/work" "$T/disk/out" &&
	printf 'line one\nline two' >"$T/disk/in.txt" && printf 'relative\n' >"$T/disk/work/rel.txt" &&
	chmod 755 "$T/disk" "$T/disk/work" && chmod 644 "$T/disk/in.txt" "$T/disk/work/rel.txt" &&
	chmod 1777 "$T/disk/out"
}

test_programs_start_cwd_is_the_working_directory_inside_the_disk() {
	ps_disk
	run_iv -y "$(ps_yaml a.yaml 'args: "/start read=rel.txt"' "disk: $T/disk" 'cwd: /work')"
	expect_rc 0 && expect_out "[p] start: cwd=/work" && expect_out "[p] start: read rel.txt: relative"
}

test_programs_start_without_cwd_it_is_the_disk_root() {
	ps_disk
	run_iv -y "$(ps_yaml a.yaml 'args: /start' "disk: $T/disk")"
	expect_rc 0 && expect_out "[p] start: cwd=/"
}

test_programs_start_stdin_is_empty_by_default() {
	ps_disk
	# even when the monitor has a stdin to give
	run_iv -y "$(ps_yaml a.yaml 'args: /start' "disk: $T/disk")" < <(printf 'not for the cVM\n')
	expect_rc 0 && expect_out "[p] start: stdin: 0 bytes" && expect_no_out "not for the cVM"
}

test_programs_start_stdin_from_a_file_inside_the_disk() {
	ps_disk
	run_iv -y "$(ps_yaml a.yaml 'args: /start' "disk: $T/disk" 'stdin: /in.txt')"
	expect_rc 0 && expect_out "[p] start: stdin <line one>" &&
	expect_out "[p] start: stdin <line two>" && expect_out "[p] start: stdin: 17 bytes"
}

test_programs_start_stdin_from_the_monitors_own_stdin() {
	run_iv -y "$(ps_yaml a.yaml 'args: /start' 'stdin: "-"')" < <(printf 'fed to the monitor\nsecond\n')
	expect_rc 0 && expect_out "[p] start: stdin <fed to the monitor>" &&
	expect_out "[p] start: stdin <second>" && expect_out "[p] start: stdin: 26 bytes"
}

# The monitor's stdin reaches the cVM read-only, even when the monitor has
# it open for writing too (a terminal usually is): it cannot write there.
test_programs_start_the_monitors_stdin_cannot_be_written_by_the_cvm() {
	printf 'original\n' >"$T/rw.txt"
	run_iv -y "$(ps_yaml a.yaml 'args: "/start write0=OVERWRITTEN"' 'stdin: "-"')" 0<>"$T/rw.txt"
	expect_rc 0 && expect_out "[p] start: stdin <original>" &&
	expect_out "[p] start: write stdin: Bad file descriptor" || return 1
	[ "$(cat "$T/rw.txt")" = original ] || fail "the monitor's stdin was written: $(cat "$T/rw.txt")"
}

test_programs_start_two_cvms_taking_the_monitors_stdin_start_nothing() {
	{ echo "cVMs:"
	  cvm_entry p "$PS_PROG" 0x20000000 'stdin: "-"'
	  cvm_entry q "$PS_ESC" 0x30000000 'args: alive' 'stdin: "-"'
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 2 && [ -z "$OUT" ] &&
	expect_err "a.yaml:18: key 'stdin': cVM 'q' and cVM 'p' (line 2) both take the monitor's stdin"
}

# Every stdin or cwd the cVM could not open itself is refused before
# anything starts, with the key's line: missing, outside the disk (through
# a link, or ..), a FIFO (which would stall it), a device, unreadable.
test_programs_start_stdin_the_cvm_cannot_open_starts_nothing() {
	ps_disk
	ln -s /etc/passwd "$T/disk/link" && ln -s ../../../../../.. "$T/disk/up" &&
	mkfifo "$T/disk/fifo" && mknod "$T/disk/null" c 1 3 &&
	printf 'secret\n' >"$T/disk/secret" && chmod 600 "$T/disk/secret" || return 1
	local uid
	uid=$("$B/intravisor" --ids -y "$(ps_yaml ids.yaml)" | awk '{print $2}')
	local stdin want
	while IFS='|' read -r stdin want; do
		run_iv -y "$(ps_yaml a.yaml 'args: /start' "disk: $T/disk" "stdin: $stdin")"
		expect_rc 2 && [ -z "$OUT" ] && expect_no_err "root:" &&
		expect_err "a.yaml:11: key 'stdin': $want" || return 1
	done <<EOF2
/nope.txt|'/nope.txt': No such file or directory (as uid $uid, gid $uid inside the disk)
/link|'/link' is a symbolic link, not a regular file
/up/etc/passwd|'/up/etc/passwd': No such file or directory
/../../../etc/passwd|'/../../../etc/passwd': No such file or directory
/fifo|'/fifo' is a FIFO, not a regular file
/null|'/null' is a character device, not a regular file
/work|'/work' is a directory, not a regular file
/secret|'/secret': Permission denied (as uid $uid, gid $uid inside the disk)
EOF2
}

test_programs_start_cwd_missing_or_not_a_directory_starts_nothing() {
	ps_disk
	run_iv -y "$(ps_yaml a.yaml 'args: /start' "disk: $T/disk" 'cwd: /nowhere')"
	expect_rc 2 && [ -z "$OUT" ] &&
	expect_err "a.yaml:11: key 'cwd': '/nowhere': No such file or directory" || return 1
	run_iv -y "$(ps_yaml b.yaml 'args: /start' "disk: $T/disk" 'cwd: /in.txt')"
	expect_rc 2 && [ -z "$OUT" ] &&
	expect_err "b.yaml:11: key 'cwd': '/in.txt' is a regular file, not a directory"
}

# ---- identity ----

# The same config gives the same uid in every run: what the cVM wrote in
# one run is its own in the next (rewritten in place, mode 0644); another
# cVM's uid may not write it.
test_programs_start_uid_is_stable_so_a_cvms_files_stay_its_own() {
	ps_disk
	run_iv -y "$(ps_yaml a.yaml 'args: "/start write=/out/mine"' "disk: $T/disk")"
	expect_rc 0 && expect_out "[p] start: write /out/mine: ok" || return 1
	local uid1 uid2 owner
	uid1=$(sed -n 's/^\[p\] start: uid=\([0-9]*\) .*/\1/p' <<<"$OUT")
	owner=$(stat -c %u:%g "$T/disk/out/mine")
	[ "$owner" = "$uid1:$uid1" ] || { show; fail "the file is $owner's, not $uid1's"; return 1; }
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[p] start: write /out/mine: ok" || return 1
	uid2=$(sed -n 's/^\[p\] start: uid=\([0-9]*\) .*/\1/p' <<<"$OUT")
	[ "$uid1" = "$uid2" ] || { show; fail "uid $uid1 in the first run, $uid2 in the second"; return 1; }
	[ "$(cat "$T/disk/out/mine")" = "written by uid $uid1" ] || fail "not rewritten"
	# another name, another uid: not its file
	{ echo "cVMs:"; cvm_entry other "$PS_PROG" 0x20000000 'args: "/start write=/out/mine"' "disk: $T/disk"; } |
		yaml b.yaml >/dev/null
	run_iv -y "$T/b.yaml"
	expect_rc 0 && expect_out "[other] start: write /out/mine: Permission denied"
}

test_programs_start_ids_prints_each_cvms_uid_and_gid() {
	{ echo "cVMs:"
	  cvm_entry p "$PS_PROG" 0x20000000
	  cvm_entry q "$PS_ESC" 0x30000000 'uid: 4242' 'gid: 4343'
	} | yaml a.yaml >/dev/null
	local out
	out=$("$B/intravisor" --ids -y "$T/a.yaml")
	[ "$out" = $'p 421743 421743\nq 4242 4343' ] || fail "--ids printed: $out"
}

# Two cVMs of one run never share a uid unless the config gives the same
# one to both.
test_programs_start_two_cvms_of_a_run_have_distinct_uids() {
	{ echo "cVMs:"
	  cvm_entry c10318 "$PS_ESC" 0x20000000 'args: identity'
	  cvm_entry c12280 "$PS_ESC" 0x30000000 'args: identity'
	  cvm_entry same1 "$PS_ESC" 0x40000000 'args: identity' 'uid: 250005'
	  cvm_entry same2 "$PS_ESC" 0x50000000 'args: identity' 'uid: 250005'
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 || return 1
	local a b
	# the two names hash to the same uid: the later one takes the next
	a=$(sed -n 's/^\[c10318\] escape identity: uid \([0-9]*\) .*/\1/p' <<<"$OUT")
	b=$(sed -n 's/^\[c12280\] escape identity: uid \([0-9]*\) .*/\1/p' <<<"$OUT")
	[ "$a" = 1136409 ] && [ "$b" = 1136410 ] || { show; fail "uids $a and $b"; return 1; }
	expect_out_has "[same1] escape identity: uid 250005 euid 250005" &&
	expect_out_has "[same2] escape identity: uid 250005 euid 250005"
}

test_programs_start_uid_and_gid_given_in_the_config() {
	run_iv -y "$(ps_yaml a.yaml 'args: /start' 'uid: 4242' 'gid: 4343')"
	expect_rc 0 && expect_out "[p] start: uid=4242 gid=4343"
}

test_programs_start_uid_0_starts_nothing() {
	run_iv -y "$(ps_yaml a.yaml 'args: /start' 'uid: 0')"
	expect_rc 2 && [ -z "$OUT" ] &&
	expect_err "a.yaml:10: key 'uid': expected 1000..4294967294 but 65534 (never root, a system account, nobody or -1), got 0"
}

# ---- read-only disks ----

# Read-only for the cVM that asks (writes fail with EROFS, reads work),
# while another cVM of the same run writes the same disk.
test_programs_start_disk_ro_refuses_writes_and_allows_reads() {
	ps_disk && chmod 777 "$T/disk"
	{ echo "cVMs:"
	  cvm_entry p "$PS_PROG" 0x20000000 'args: "/start write=/out/x read=/in.txt"' "disk: $T/disk" 'disk_ro: 1' 'wait: -1'
	  cvm_entry rw "$PS_ESC" 0x30000000 'args: write_root' "disk: $T/disk"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_out "[p] start: write /out/x: Read-only file system" &&
	expect_out "[p] start: read /in.txt: line one" &&
	expect_out "[rw] escape write_root: openat /x O_CREAT -> 3 (SUCCEEDED)" || return 1
	[ ! -e "$T/disk/out/x" ] && [ -e "$T/disk/x" ] || fail "wrong files written"
}

# A file checked when the config is read may be swapped before the cell
# opens it: a cVM renames a FIFO over another's stdin file, then a link
# out of the disk.  The cell opens it itself, as its uid, without waiting
# and without following the link: that cVM fails to start, nothing hangs.
test_programs_start_stdin_swapped_after_the_check_is_refused_by_the_cell() {
	ps_disk && chmod 777 "$T/disk" && mkfifo -m 666 "$T/disk/fifo" &&
	printf 'x\n' >"$T/disk/in2.txt" && chmod 644 "$T/disk/in2.txt" &&
	ln -s /etc/passwd "$T/disk/link" || return 1
	{ echo "cVMs:"
	  cvm_entry swap "$PS_PROG" 0x20000000 'args: "/start mv=/fifo,/in.txt mv=/link,/in2.txt"' \
		"disk: $T/disk" 'wait: -1'
	  cvm_entry victim "$PS_ESC" 0x30000000 'args: alive' "disk: $T/disk" 'stdin: /in.txt' 'wait: -1'
	  cvm_entry victim2 "$PS_ESC" 0x40000000 'args: alive' "disk: $T/disk" 'stdin: /in2.txt'
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 1 && expect_out "[swap] start: mv /fifo /in.txt: ok" &&
	expect_out "[swap] start: mv /link /in2.txt: ok" &&
	expect_err "cVM 'victim' failed: cVM 'victim': cell failed opening its stdin: not a regular file" &&
	expect_err "cVM 'victim2' failed: cVM 'victim2': cell failed opening its stdin inside the disk: Too many levels of symbolic links" &&
	expect_no_out "[victim"
}

# A template's stdin file is carried into its forks like its other files;
# the monitor's stdin (a pipe here) cannot be, and the save says so.
test_programs_start_a_templates_stdin_file_reaches_its_forks_the_monitors_cannot() {
	ps_disk
	{ echo "cVMs:"
	  cvm_entry tpl "$PS_PROG" 0x20000000 'args: "/start save"' "disk: $T/disk" 'stdin: /in.txt' \
		"template: 1" "wait: -1"
	  printf -- '- name: f1\n  runtime: %s\n  args: "out=forked"\n  resume: 1\n' "$PS_PROG"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[tpl] start: stdin: 17 bytes" && expect_out "[f1] forked" || return 1
	sed -i 's|stdin: /in.txt|stdin: "-"|' "$T/a.yaml"
	run_iv -y "$T/a.yaml" < <(printf 'piped\n')
	expect_rc 1 && expect_out "[tpl] start: stdin <piped>" &&
	expect_err "descriptor 0 is a FIFO, which forks cannot get a copy of" && expect_no_out "[f1] forked"
}
