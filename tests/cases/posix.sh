# Unmodified libc (musl, static) programs as cVMs, with a disk as their root.

POSIX_FILES=$B/tests/posix/files

posix_yaml() { # posix_yaml FILE ARGS [extra]
	local f=$1 args=$2; shift 2
	{ echo "cVMs:"
	  cvm_entry p "$POSIX_FILES" 0x20000000 "args: \"$args\"" "disk: $T/disk" "$@"; } | yaml "$f"
}

posix_disk() {
	mkdir -p "$T/disk/out" && printf 'hello from the disk\n' >"$T/disk/data.txt"
	chmod 755 "$T/disk" && chmod 644 "$T/disk/data.txt" && chmod 777 "$T/disk/out"
}

test_posix_static_musl_program_runs_with_its_args_and_exit_status() {
	posix_disk
	run_iv -y "$(posix_yaml a.yaml "/app/files 5")"
	expect_rc 5 &&
	expect_out "[p] posix: argc=2 argv[0]=/app/files" &&
	expect_out "[p] posix: malloc'd and touched 8 MiB" &&
	expect_err "cVM 'p' exited with status 5 after"
}

test_posix_files_inside_the_disk_and_nothing_outside() {
	posix_disk
	run_iv -y "$(posix_yaml a.yaml "/app/files")"
	expect_rc 0 &&
	expect_out "[p] posix: /data.txt says hello from the disk" &&
	expect_out "[p] posix: stat /data.txt: ok" &&
	expect_out "[p] posix: write a new file: ok" &&
	expect_out "[p] posix: fopen /etc/passwd: refused" || return 1
	[ "$(cat "$T/disk/out/new.txt")" = written ] || fail "the new file is not in the disk"
}
