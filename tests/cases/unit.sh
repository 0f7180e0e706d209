# The C unit tests (tests/unit/*.c, built by `make test` into build/tests/unit/):
# each passes when its binary exits 0; on failure its whole output is shown.

unit_run() {
	local bin=$B/tests/unit/$1
	if [ ! -x "$bin" ]; then
		fail "$bin is missing: build it with 'make test' or 'make build/tests/unit/$1'"
		return 1
	fi
	local out rc
	out=$(cd "$ROOT" && timeout -k 5 60 "$bin" 2>&1)
	rc=$?
	if [ "$rc" != 0 ]; then
		echo "$out" | sed 's/^/    | /' >&2
		fail "$1 exited with status $rc"
		return 1
	fi
	# every check printed "ok NAME" and the summary saw no failure
	grep -q '^[0-9]* passed, 0 failed$' <<<"$out" || {
		echo "$out" | sed 's/^/    | /' >&2
		fail "$1 printed no clean summary line"
	}
}

test_unit_elf_loader() {
	unit_run test_elf
}

test_unit_config_parser() {
	unit_run test_config
}

test_unit_program_check() {
	unit_run test_program
}
