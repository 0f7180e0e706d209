# Snapshot images: written by one monitor run, restored by another.

IMG_TPL=$B/tests/tpl.so

# image_yaml FILE ROLE NAME ARGS [extra lines]: a template writing, or a cVM
# restoring, the image in $T/snap.
image_yaml() {
	local f=$1 role=$2 name=$3 args=$4; shift 4
	{
		printf -- '---\ncapfiles:\n- name: test1\n  size: 0x20\n  data: "Hello world\\n"\n---\ncVMs:\n'
		printf -- '- name: %s\n  runtime: %s\n  args: "%s"\n  %s: 1\n  snapshot_path: %s\n  wait: -1\n' \
			"$name" "${RT:-$IMG_TPL}" "$args" "$role" "$T/snap"
		printf '  isolation:\n  - base: 0x10000000\n    size: 0x10000000\n    begin: 0x10000000\n    end: 0x20000000\n'
		for l in "$@"; do printf '  %s\n' "$l"; done
	} | yaml "$f"
}

save_image() { # save_image TEMPLATE_ARGS [extra]
	run_iv -y "$(image_yaml w.yaml template tpl "$@")"
	[ "$RC" = 0 ] && [ -s "$T/snap/image.img" ] && [ -f "$T/snap/pages.img" ] || { show; fail "no image written"; }
}

test_image_hello_world_restored_in_a_later_run() {
	local RT=$B/runtime/hello_world/libhello.so
	save_image "" || return 1
	expect_out "[tpl] I am a template!" || return 1
	run_iv -y "$(image_yaml r.yaml resume back "")"
	expect_rc 0 && expect_out "[back] I am not a template!" && expect_out "[back] Hello world" &&
	expect_no_out "I am a template"
}

test_image_restore_keeps_memory_and_takes_its_own_args() {
	save_image "heap 4" || return 1
	run_iv -y "$(image_yaml r.yaml resume back "heap")"
	expect_rc 0 && expect_out "[back] tpl: fork args: heap" && expect_out "[back] tpl: heap sum: 130560" &&
	expect_no_out "template ready"
}

test_image_many_restores_from_one_image_run_at_once() {
	save_image "plain" || return 1
	{ image_yaml r.yaml resume r1 "show" >/dev/null; cat "$T/r.yaml"
	  printf -- '- name: r2\n  runtime: %s\n  args: "write 5"\n  resume: 1\n  snapshot_path: %s\n' "$IMG_TPL" "$T/snap"
	  printf '  isolation:\n  - base: 0x10000000\n    size: 0x10000000\n    begin: 0x10000000\n    end: 0x20000000\n'
	} >"$T/rr.yaml"
	run_iv -y "$T/rr.yaml"
	expect_rc 0 && expect_out "[r1] tpl: global: 42" && expect_out "[r2] tpl: global now: 5"
}

test_image_multithreaded_template_threads_continue_after_restore() {
	save_image "mt" || return 1
	run_iv -a -y "$(image_yaml r.yaml resume back "mt")"
	expect_rc 0 && expect_out "[back] tpl: threads running" && expect_out "[back] tpl: thread state intact" &&
	expect_out "[back] tpl: threads see inspect 0" && expect_out "[back] tpl: threads done"
}

test_image_open_file_is_reopened_at_its_offset() {
	mkdir -p "$T/disk" && printf '0123456789' >"$T/disk/data.txt" && chmod 644 "$T/disk/data.txt"
	save_image "file" "disk: $T/disk" || return 1
	run_iv -y "$(image_yaml r.yaml resume back "file" "disk: $T/disk")"
	expect_rc 0 && expect_out "[back] tpl: read: 345"
}

# corrupt_case HOW EXPECTED: damage the image, then the restore must fail
# with EXPECTED and run nothing.
corrupt_case() {
	save_image "plain" || return 1
	eval "$1"
	run_iv -y "$(image_yaml r.yaml resume back "show")"
	expect_rc 1 && expect_err "cVM 'back' failed" && expect_err "$2" && expect_no_out "[back]"
}

test_image_truncated_image_is_refused() {
	corrupt_case 'truncate -s 100 "$T/snap/image.img"' "image.img is truncated"
}

test_image_truncated_metadata_is_refused() {
	corrupt_case 'truncate -s -8 "$T/snap/image.img"' "image.img is truncated"
}

test_image_truncated_pages_are_refused() {
	corrupt_case 'truncate -s -4096 "$T/snap/pages.img"' "pages.img is truncated"
}

test_image_corrupted_metadata_is_refused() {
	corrupt_case 'printf "\xff" | dd of="$T/snap/image.img" bs=1 seek=300 conv=notrunc status=none' "checksum mismatch"
}

test_image_corrupted_header_is_refused() {
	corrupt_case 'printf "\xff" | dd of="$T/snap/image.img" bs=1 seek=100 conv=notrunc status=none' "header checksum mismatch"
}

test_image_corrupted_pages_are_refused() {
	corrupt_case 'printf "\x5a" | dd of="$T/snap/pages.img" bs=1 seek=5000 conv=notrunc status=none' "pages.img checksum mismatch"
}

test_image_wrong_version_is_refused() {
	corrupt_case 'printf "\x07" | dd of="$T/snap/image.img" bs=1 seek=8 conv=notrunc status=none' "has version 7; this monitor reads version 4"
}

test_image_not_an_image_is_refused() {
	corrupt_case 'echo hello >"$T/snap/image.img"' "image.img is truncated"
}

test_image_wrong_runtime_is_refused() {
	save_image "plain" || return 1
	local RT=$B/runtime/hello_world/libhello.so
	run_iv -y "$(image_yaml r.yaml resume back "")"
	expect_rc 1 && expect_err "was made from another runtime" && expect_no_out "[back]"
}

test_image_missing_image_is_refused() {
	run_iv -y "$(image_yaml r.yaml resume back "show")"
	expect_rc 1 && expect_err "cVM 'back' failed" &&
	expect_err "snapshot_path '$T/snap': No such file or directory" || return 1
	mkdir -m 700 "$T/snap"
	run_iv -y "$(image_yaml r.yaml resume back "show")"
	expect_rc 1 && expect_err "cVM 'back' failed" && expect_err "image.img: No such file or directory"
}

test_image_needs_its_cap_files() {
	save_image "cap" || return 1
	run_iv -y "$(image_yaml r.yaml resume back "cap")"
	expect_rc 0 && expect_out "[back] tpl: cap says: Hello world" || return 1
	{ printf -- '---\ncVMs:\n- name: back\n  runtime: %s\n  resume: 1\n  snapshot_path: %s\n' "$IMG_TPL" "$T/snap"
	  printf '  isolation:\n  - base: 0x10000000\n    size: 0x10000000\n    begin: 0x10000000\n    end: 0x20000000\n'; } >"$T/nocap.yaml"
	run_iv -y "$T/nocap.yaml"
	expect_rc 1 && expect_err "needs cap file 'test1' of 32 bytes, which this run does not have" &&
	expect_no_out "[back]"
}
