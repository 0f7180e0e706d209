# Snapshot images against hostile cells and hostile files, and images of
# libc programs (see docs/IMAGE.md).
#
# The snapshot directory must be the monitor's alone: reached without
# symbolic links, owned by its user, writable by nobody else.  A cell whose
# disk holds it can then neither plant a link the monitor would follow as
# root nor swap a file; one it could write into is refused before anything
# runs, and one a cell made or replaced while the template ran is refused
# when the image is written.  A restore opens image.img and pages.img
# without following links or blocking, and checks type, owner and size
# before it reads a byte.

HI_PROBE=$B/tests/probe_image.so
HI_LIBC=$B/tests/posix/libc_template
HI_HELLO=$B/runtime/hello_world/libhello.so

# hi_tpl FILE SNAP ARGS [extra]: probe_image.so as a template writing to SNAP.
hi_tpl() {
	local f=$1 snap=$2 args=$3; shift 3
	{ echo "cVMs:"
	  cvm_entry tpl "$HI_PROBE" 0x20000000 "args: \"$args\"" "template: 1" \
		"snapshot_path: $snap" "wait: -1" "$@"; } | yaml "$f"
}

# A disk whose /pub the cell may write, and a file of the host's to aim at.
hi_disk() {
	mkdir -p "$T/disk/pub" && chmod 755 "$T/disk" && chmod 777 "$T/disk/pub"
	printf 'precious\n' >"$T/victim" && chmod 644 "$T/victim"
}

hi_victim_intact() {
	[ "$(cat "$T/victim")" = precious ] || fail "the host file was overwritten"
}

test_image_snapshot_dir_a_cell_can_write_is_refused_before_anything_runs() {
	hi_disk && mkdir "$T/disk/pub/snap" && chmod 777 "$T/disk/pub/snap"
	run_iv -y "$(hi_tpl a.yaml "$T/disk/pub/snap" none "disk: $T/disk")"
	expect_rc 2 &&
	expect_err "template 'tpl': snapshot_path '$T/disk/pub/snap' is writable by group or others (mode 0777): only the monitor's user may write there" &&
	expect_no_out "[tpl]" || return 1
	[ "$(echo "$ERR" | wc -l)" = 1 ] || { show; fail "expected one line"; }
	[ -z "$(ls -A "$T/disk/pub/snap")" ] || fail "something was written"
}

test_image_snapshot_dir_the_cell_made_itself_is_refused() {
	hi_disk
	run_iv -y "$(hi_tpl a.yaml "$T/disk/pub/snap" "mkdir /pub/snap" "disk: $T/disk")"
	expect_rc 1 && expect_out "[tpl] probe: mkdir /pub/snap: 0" &&
	expect_err "cVM 'tpl' failed: template 'tpl': snapshot_path '$T/disk/pub/snap' is owned by uid" &&
	expect_err "not by the monitor's uid 0: only the monitor's user may write there" || return 1
	[ -z "$(ls -A "$T/disk/pub/snap")" ] || fail "something was written"
}

test_image_link_the_cell_renamed_over_the_snapshot_dir_is_not_followed() {
	hi_disk && mkdir -m 755 "$T/hostdir" && ln -s "$T/hostdir" "$T/disk/pub/lnk"
	run_iv -y "$(hi_tpl a.yaml "$T/disk/pub/snap" "mv /pub/lnk /pub/snap" "disk: $T/disk")"
	expect_rc 1 && expect_out "[tpl] probe: rename /pub/lnk /pub/snap: 0" &&
	expect_err "cVM 'tpl' failed: template 'tpl': snapshot_path '$T/disk/pub/snap' is or passes through a symbolic link (none is followed)" || return 1
	[ -z "$(ls -A "$T/hostdir")" ] || fail "the monitor wrote through the link"
}

test_image_snapshot_path_through_a_link_is_refused_before_anything_runs() {
	mkdir -m 700 "$T/real" && ln -s "$T/real" "$T/link"
	run_iv -y "$(hi_tpl a.yaml "$T/link/snap" none)"
	expect_rc 2 && expect_err "snapshot_path '$T/link/snap' is or passes through a symbolic link (none is followed)" &&
	expect_no_out "[tpl]" || return 1
	[ ! -e "$T/real/snap" ] || fail "the monitor made the directory through the link"
}

test_image_link_renamed_over_a_temporary_file_cannot_reach_the_host() {
	hi_disk && mkdir -m 755 "$T/disk/snap"
	local tmp
	for tmp in image.img.tmp pages.img.tmp; do
		rm -f "$T/disk/pub/lnk" && ln -s "$T/victim" "$T/disk/pub/lnk"
		run_iv -y "$(hi_tpl a.yaml "$T/disk/snap" "mv /pub/lnk /snap/$tmp" "disk: $T/disk")"
		expect_rc 0 && expect_out "[tpl] probe: rename /pub/lnk /snap/$tmp: -13" &&
		hi_victim_intact || return 1
		[ -f "$T/disk/snap/image.img" ] && [ ! -L "$T/disk/snap/image.img" ] &&
		[ ! -e "$T/disk/snap/$tmp" ] || fail "no image, or a temporary file left"
	done
}

test_image_snapshot_dir_is_created_private() {
	run_iv -y "$(hi_tpl a.yaml "$T/snap" none)"
	expect_rc 0 || return 1
	[ "$(stat -c '%a %u' "$T/snap")" = "700 0" ] || fail "snap dir: $(stat -c '%a %u' "$T/snap")"
	[ "$(stat -c '%a %u' "$T/snap/image.img" "$T/snap/pages.img" | sort -u)" = "600 0" ] ||
		fail "image files not private"
}

# hi_restore_case HOW EXPECTED: damage a good image with HOW; restoring
# from it fails with the one line EXPECTED, at once, and a cVM after it in
# the same run still runs.
hi_restore_case() {
	save_image "plain" || return 1
	eval "$1"
	image_yaml r.yaml resume back "show" >/dev/null
	cvm_entry after "$HI_HELLO" 0x30000000 >>"$T/r.yaml"
	run_iv -y "$T/r.yaml"
	expect_rc 1 && expect_err "MON: cVM 'back' failed: cVM 'back': " && expect_err "$2" &&
	expect_no_out "[back]" && expect_out "[after] Hello world" || return 1
	[ "$(grep -c "cVM 'back'" <<<"$ERR")" = 1 ] || { show; fail "expected one line about 'back'"; }
}

test_image_fifo_as_image_is_refused_without_blocking() {
	hi_restore_case 'rm "$T/snap/image.img" && mkfifo -m 600 "$T/snap/image.img"' \
		"image.img is a FIFO, not a regular file"
}

test_image_fifo_as_pages_is_refused_without_blocking() {
	hi_restore_case 'rm "$T/snap/pages.img" && mkfifo -m 600 "$T/snap/pages.img"' \
		"pages.img is a FIFO, not a regular file"
}

test_image_pages_linked_to_dev_zero_are_refused() {
	hi_restore_case 'rm "$T/snap/pages.img" && ln -s /dev/zero "$T/snap/pages.img"' \
		"pages.img is a symbolic link, not a regular file"
}

test_image_image_linked_to_a_good_image_is_refused() {
	hi_restore_case 'mv "$T/snap/image.img" "$T/elsewhere.img" && ln -s "$T/elsewhere.img" "$T/snap/image.img"' \
		"image.img is a symbolic link, not a regular file"
}

test_image_huge_sparse_pages_are_refused_before_they_are_read() {
	hi_restore_case 'truncate -s 1T "$T/snap/pages.img"' \
		"pages.img has the wrong size (1099511627776 bytes, the image says"
}

test_image_directory_as_image_is_refused() {
	hi_restore_case 'rm "$T/snap/image.img" && mkdir "$T/snap/image.img"' \
		"image.img is a directory, not a regular file"
}

test_image_pages_of_another_owner_are_refused() {
	hi_restore_case 'chown 1000 "$T/snap/pages.img"' \
		"pages.img is owned by uid 1000, not by the monitor's uid 0"
}

test_image_image_others_can_write_is_refused() {
	hi_restore_case 'chmod 666 "$T/snap/image.img"' \
		"image.img is writable by group or others (mode 0666)"
}

test_image_restore_from_a_dir_others_can_write_is_refused() {
	hi_restore_case 'chmod 777 "$T/snap"' \
		"snapshot_path '$T/snap' is writable by group or others (mode 0777)"
}

# hi_libc_yaml FILE ROLE NAME ARGS: the musl template, or a restored copy.
hi_libc_yaml() {
	{ echo "cVMs:"
	  cvm_entry "$3" "$HI_LIBC" 0x20000000 "args: \"$4\"" "$2: 1" "snapshot_path: $T/snap" "wait: -1"
	} | yaml "$1"
}

hi_libc_checks() { # hi_libc_checks NAME ARGS
	local n=$1
	expect_out "[$n] libc: resumed with args: $2" &&
	expect_out "[$n] libc: host_inspect is 0: ok" &&
	expect_out "[$n] libc: small chunk kept: ok" &&
	expect_out "[$n] libc: big chunk kept: ok" &&
	expect_out "[$n] libc: thread-local variables kept: ok" &&
	expect_out "[$n] libc: errno works: ok" &&
	expect_out "[$n] libc: the thread counts on: ok" &&
	expect_out "[$n] libc: malloc and free work: ok" &&
	expect_out "[$n] libc: a new thread: ok" &&
	expect_err "cVM '$n' exited with status 0"
}

test_image_libc_program_restored_with_its_heap_mmaps_tls_and_thread() {
	run_iv -y "$(hi_libc_yaml w.yaml template tpl "")"
	expect_rc 0 &&
	expect_out "[tpl] libc: template: small chunk above the stub, big chunk above the stub, TLS above the stub" || return 1
	run_iv -a -y "$(hi_libc_yaml r.yaml resume back "restored")"
	expect_rc 0 && hi_libc_checks back restored
}

test_image_libc_program_fork_has_what_its_image_has() {
	{ echo "cVMs:"
	  cvm_entry tpl "$HI_LIBC" 0x20000000 "template: 1" "wait: -1"
	  printf -- '- name: fork1\n  runtime: %s\n  args: "forked"\n  resume: 1\n' "$HI_LIBC"
	} >"$T/f.yaml"
	run_iv -y "$T/f.yaml"
	expect_rc 0 && hi_libc_checks fork1 forked
}

# Without address randomisation the kernel would map the restored cell's
# plan exactly where the template's own mmaps were: the plan goes below the
# stub instead, clear of the image.
test_image_libc_program_restored_with_address_randomisation_off() {
	local f
	f=$(hi_libc_yaml w.yaml template tpl "")
	OUT=$(timeout -k 5 20 setarch x86_64 -R "$B/intravisor" -y "$f" 2>"$T/stderr"); RC=$?; ERR=$(cat "$T/stderr")
	expect_rc 0 || return 1
	f=$(hi_libc_yaml r.yaml resume back "restored")
	OUT=$(timeout -k 5 20 setarch x86_64 -R "$B/intravisor" -y "$f" 2>"$T/stderr"); RC=$?; ERR=$(cat "$T/stderr")
	expect_rc 0 && hi_libc_checks back restored
}

# The file a template had open was swapped for a FIFO (or a file the cell
# may not read) in its disk before the restore: the monitor, reopening it for
# the restored cVM, neither blocks nor gives it the file.
test_image_reopened_file_swapped_for_a_fifo_or_a_private_file_is_not_given() {
	mkdir -p "$T/disk" && printf '0123456789' >"$T/disk/data.txt" && chmod 644 "$T/disk/data.txt"
	save_image "file" "disk: $T/disk" || return 1
	rm "$T/disk/data.txt" && mkfifo -m 666 "$T/disk/data.txt"
	run_iv -y "$(image_yaml r.yaml resume back "file" "disk: $T/disk")"
	expect_err "cVM 'back': file '/data.txt' of its image cannot be reopened: not a regular file or directory" &&
	expect_out "[back] tpl: read bytes: -9" || return 1
	rm "$T/disk/data.txt" && printf '0123456789' >"$T/disk/data.txt" && chmod 600 "$T/disk/data.txt"
	run_iv -y "$(image_yaml r.yaml resume back "file" "disk: $T/disk")"
	expect_err "cVM 'back': file '/data.txt' of its image cannot be reopened: Permission denied" &&
	expect_out "[back] tpl: read bytes: -9"
}
