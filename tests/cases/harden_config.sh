# Hardening of what the config can point a cell at, of the YAML parser, and
# of the console (tests/cvm/probe_cell.c probes from inside a cell):
#   - a disk is never the host's root or a system directory, in any
#     spelling, nor a kernel file system; nothing mounted inside a disk is
#     visible in the cell (no host /proc, /sys, tmpfs), nor reached through
#     the files a restored cVM gets back;
#   - cells are not dumpable (their /proc files are root's; a template's
#     forks, which share its uid, cannot ptrace or read each other);
#   - duplicate YAML keys, deep nesting, huge node counts, a FIFO or a
#     device as the config: one line, exit status 2, nothing started;
#   - the console shows control characters, C1 and bidi controls and
#     invalid UTF-8 as visible escapes and passes valid text unchanged.

PROBE=$B/tests/probe_cell.so

# probe_cvm NAME ARGS [extra lines...]: one 16 MiB cVM running probe_cell.so
probe_cvm() {
	local name=$1 args=$2; shift 2
	cvm_entry "$name" "$PROBE" 0x20000000 "args: \"$args\"" "$@"
}

# ---- disks ----

test_disk_that_is_the_host_root_or_a_system_dir_is_refused_in_any_spelling() {
	ln -s /usr "$T/lnusr" && ln -s / "$T/lnroot" || return 1
	local d
	for d in /etc/.. / // /proc/self/.. /proc/1/root "$T/lnusr" "$T/lnroot/etc/.." \
		"$T/lnroot/" /etc /usr/lib /dev/shm /sys/kernel /tmp /var /run/intravisor; do
		[ -e "$d" ] || continue
		{ echo "cVMs:"; probe_cvm d "mounts x" "disk: $d"; } | yaml d.yaml >/dev/null
		run_iv -y "$T/d.yaml"
		expect_rc 2 &&
		expect_err "intravisor: $T/d.yaml:2: key 'disk': '$d' is '" &&
		expect_err "', the host's root or a system directory" &&
		bad_nothing_started || { fail "disk: $d was not refused as it must be"; return 1; }
	done
}

test_disk_that_is_a_kernel_file_system_is_refused() {
	mkdir -p "$T/p" || return 1
	trap 'umount "$T/p" 2>/dev/null' EXIT
	mount -t proc proc "$T/p" || { fail "cannot mount proc for the test"; return 1; }
	{ echo "cVMs:"; probe_cvm d "mounts x" "disk: $T/p"; } | yaml d.yaml >/dev/null
	run_iv -y "$T/d.yaml"
	umount "$T/p"
	expect_rc 2 &&
	expect_err "intravisor: $T/d.yaml:2: key 'disk': '$T/p' is a proc file system" &&
	bad_nothing_started
}

# The issue's attack: a disk with the host's proc (the host pid namespace),
# sysfs and a tmpfs mounted inside it.  The cell sees only the directories
# they were mounted on, empty.
test_cell_sees_nothing_mounted_inside_its_disk() {
	local disk=$T/disk marker="shm-marker-$$"
	mkdir -p "$disk/proc" "$disk/sys" "$disk/shm" && chmod 755 "$disk" || return 1
	echo hello >"$disk/file.txt"
	trap 'umount "$T/disk/proc" "$T/disk/sys" "$T/disk/shm" 2>/dev/null' EXIT
	mount -t proc proc "$disk/proc" && mount -t sysfs sysfs "$disk/sys" &&
		mount -t tmpfs -o size=64k tmpfs "$disk/shm" && echo secret >"$disk/shm/$marker" ||
		{ fail "cannot mount inside the disk for the test"; return 1; }
	{ echo "cVMs:"; probe_cvm m "mounts $marker" "disk: $disk"; } | yaml m.yaml >/dev/null
	run_iv -a -y "$T/m.yaml"
	umount "$disk/proc" "$disk/sys" "$disk/shm"
	expect_rc 0 &&
	expect_out "[m] probe mounts: entries of /: 4" &&
	expect_out "[m] probe mounts: entries of /proc: 0" &&
	expect_out "[m] probe mounts: openat /proc/1/status -> errno 2" &&
	expect_out "[m] probe mounts: openat /proc/self/status -> errno 2" &&
	expect_out "[m] probe mounts: openat /proc/self/mem -> errno 2" &&
	expect_out "[m] probe mounts: entries of /proc/self/fd: -2" &&
	expect_out "[m] probe mounts: entries of /sys: 0" &&
	expect_out "[m] probe mounts: entries of /shm: 0" &&
	expect_out "[m] probe mounts: openat /shm/$marker -> errno 2" &&
	expect_out "[m] probe mounts: nothing mounted inside the disk is visible" &&
	expect_no_out "SEEN"
}

# A restored cVM gets back the files its template held, reopened by the
# monitor inside the disk.  The template held its disk's /proc, an empty
# directory in its view; before the restore the host's proc is mounted
# there.  The monitor must not cross into it (the cell's root has no
# submounts): the directory is not given back.
test_restored_file_never_crosses_into_a_mount_inside_the_disk() {
	local disk=$T/disk
	mkdir -p "$disk/proc" && chmod 755 "$disk" || return 1
	holddir_yaml() { # holddir_yaml FILE ROLE NAME
		printf -- 'cVMs:\n- name: %s\n  runtime: %s\n  args: "holddir /proc"\n  %s: 1\n  snapshot_path: %s\n  disk: %s\n  wait: -1\n  isolation:\n  - {base: 0x20000000, size: 0x1000000, begin: 0x20000000, end: 0x21000000}\n' \
			"$3" "$PROBE" "$2" "$T/snap" "$disk" | yaml "$1"
	}
	run_iv -y "$(holddir_yaml w.yaml template tpl)"
	expect_rc 0 && expect_out "[tpl] probe holddir: opened /proc as fd 3" || return 1
	trap 'umount "$T/disk/proc" 2>/dev/null' EXIT
	mount -t proc proc "$disk/proc" || { fail "cannot mount proc for the test"; return 1; }
	run_iv -y "$(holddir_yaml r.yaml resume back)"
	umount "$disk/proc"
	expect_out "[back] probe holddir: entries of the restored /proc: -9" &&
	expect_err "cVM 'back': file '/proc' of its image cannot be reopened" &&
	expect_no_err "exited with status 1"
}

# ---- cells are not dumpable ----

# The pids of every process below pid $1.
descendants() {
	local p c
	for p in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		echo "$p"
		descendants "$p"
	done
}

# A template and its fork wait on their disk for /go; meanwhile every cell
# (uid 200000 and above) below the monitor must be non-dumpable: its /proc
# files belong to root, not to its uid (which the forks share).
test_cells_and_forks_are_not_dumpable() {
	local disk=$T/disk
	mkdir -p "$disk" && chmod 755 "$disk" || return 1
	{ echo "cVMs:"
	  probe_cvm tpl "wait tpl" "disk: $disk" "template: 1" "wait: -1"
	  printf -- '- name: fk\n  runtime: %s\n  args: "wait"\n  disk: %s\n  resume: 1\n' \
		"$PROBE" "$disk"
	} | yaml w.yaml >/dev/null
	timeout -k 5 20 "$B/intravisor" -y "$T/w.yaml" >"$T/out" 2>"$T/err" &
	local mon=$! i pids p n=0 bad=
	for ((i = 0; i < 400; i++)); do
		grep -qxF "[fk] probe wait: ready" "$T/out" && break
		sleep 0.05
	done
	pids=$(descendants "$mon")
	for p in $pids; do
		local uid
		uid=$(awk '/^Uid:/ {print $2}' /proc/"$p"/status 2>/dev/null) || continue
		[ -n "$uid" ] && [ "$uid" -ge 200000 ] || continue
		n=$((n + 1))
		[ "$(stat -c %u /proc/"$p"/status)" = 0 ] && [ "$(stat -c %u /proc/"$p"/mem)" = 0 ] ||
			bad+=" $p(uid $uid)"
	done
	touch "$disk/go"
	wait "$mon"
	RC=$?
	OUT=$(cat "$T/out") ERR=$(cat "$T/err")
	expect_rc 0 && expect_out "[fk] probe wait: ready" && expect_out "[fk] probe wait: go" &&
	expect_err "template 'tpl' released after 1 fork(s)" || return 1
	[ "$n" = 2 ] || { show; fail "expected the template and its fork below the monitor, found $n cells"; return 1; }
	[ -z "$bad" ] || { show; fail "dumpable cells (their /proc files are their uid's):$bad"; }
}

# ---- the YAML parser ----

test_yaml_duplicate_keys_are_refused_naming_both_lines() {
	local y
	y=$(printf -- '---\ncapfiles:\n- name: c\n  size: 1\n  size: 2\n---\ncVMs:\n%s\n' \
		"$(cvm_entry a "$PROBE" 0x20000000)" | yaml cap.yaml)
	run_iv -y "$y"
	expect_rc 2 && expect_err "intravisor: $y:5: key 'size': given twice, at lines 4 and 5" &&
	bad_nothing_started || return 1

	y=$({ echo "cVMs:"; cvm_entry a "$PROBE" 0x20000000 "args: console" "runtime: /bin/sh"; } |
		yaml cvm.yaml)
	run_iv -y "$y"
	expect_rc 2 && expect_err "intravisor: $y:10: key 'runtime': given twice, at lines 3 and 10" &&
	bad_nothing_started || return 1

	y=$({ echo "cVMs:"; cvm_entry a "$PROBE" 0x20000000; echo "cVMs:"
	      cvm_entry b "$PROBE" 0x30000000; } | yaml top.yaml)
	run_iv -y "$y"
	expect_rc 2 && expect_err "intravisor: $y:9: key 'cVMs': given twice, at lines 1 and 9" &&
	bad_nothing_started
}

test_yaml_deep_nesting_is_refused() {
	{ printf 'cVMs: '; head -c 10000 /dev/zero | tr '\0' '['; echo; } >"$T/deep.yaml"
	run_iv -y "$T/deep.yaml"
	expect_rc 2 && expect_err "intravisor: $T/deep.yaml:1: nested more than 16 levels deep" &&
	bad_nothing_started
}

test_yaml_huge_node_count_is_refused() {
	{ echo "cVMs:"; yes -- "- x" | head -n 200000; } >"$T/big.yaml"
	run_iv -y "$T/big.yaml"
	expect_rc 2 && expect_err "intravisor: $T/big.yaml:9998: more than 10000 YAML nodes" &&
	bad_nothing_started
}

test_yaml_fifo_or_device_as_config_is_refused_without_hanging() {
	mkfifo "$T/fifo.yaml" || return 1
	run_iv -y "$T/fifo.yaml"
	expect_rc 2 &&
	expect_err "intravisor: $T/fifo.yaml: not a regular file of at most 1 MiB (a FIFO)" &&
	bad_nothing_started || return 1
	run_iv -y /dev/zero
	expect_rc 2 &&
	expect_err "intravisor: /dev/zero: not a regular file of at most 1 MiB (a character device)" &&
	bad_nothing_started
}

# ---- the console ----

test_console_shows_controls_and_invalid_utf8_escaped_and_text_unchanged() {
	# by hostcall, and natively on fd 1 (one after the other: the two
	# channels of one cVM would interleave)
	{ echo "cVMs:"; probe_cvm con "console hc" "wait: -1"
	  cvm_entry con1 "$PROBE" 0x30000000 'args: "console fd1"'; } | yaml c.yaml >/dev/null
	run_iv -a -y "$T/c.yaml"
	expect_rc 0 || return 1
	local w n
	for w in con:hc con1:fd1; do
		n=${w%%:*} w=${w#*:}
		expect_out "[$n] $w c1 raw [\\x9b31m]" &&
		expect_out "[$n] $w c1 utf8 [\\u009b31m] [\\u0085]" &&
		expect_out "[$n] $w bidi [\\u202egnp.exe] [\\u2066] [\\u200f] [\\u061c] [\\u2028]" &&
		expect_out "[$n] $w esc [\\x1b[2K\\x1b[1Gred] [\\x0d] [\\x7f] [\\x07]" &&
		expect_out "[$n] $w text héllo wörld 日本 😀 tab	end" &&
		expect_out "[$n] $w bad [\\xc0\\xaf] [\\xed\\xa0\\x80] [\\xf5] [\\xe2(\\xa1] [\\xff] [\\xe2\\x80]" ||
			return 1
	done
	expect_out "[con] split héllo \\u202e end 😀 \\u009b cut \\xe2\\x80" &&
	expect_out "[con] probe console: done" && expect_out "[con1] probe console: done" &&
	expect_out "[con] tail \\xe2\\x80" && expect_out "[con1] tail \\xe2\\x80" || return 1
	# no control byte but tab and newline, valid UTF-8 only, no C1 or bidi control
	! LC_ALL=C grep -qP '[\x00-\x08\x0b-\x1f\x7f]' <<<"$OUT" ||
		{ show; fail "a control byte reached stdout"; return 1; }
	iconv -f UTF-8 -t UTF-8 <<<"$OUT" >/dev/null ||
		{ show; fail "stdout is not valid UTF-8"; return 1; }
	! LC_ALL=C.UTF-8 grep -qP '[\x{80}-\x{9f}\x{61c}\x{200e}\x{200f}\x{2028}-\x{202e}\x{2066}-\x{2069}]' <<<"$OUT" ||
		{ show; fail "a C1 or bidirectional control reached stdout"; }
}

test_unit_console_filter() {
	unit_run test_console
}
