# The seed's TFORK workloads under runtime/posix/, each a libc template with
# forks: duktape-js (Debian's duktape.c; each fork evaluates the JS file its
# args name) and file (libc file checks [1]..[8] in forks).  Each runs from a
# copy in $T: its YAML with the runtime and disk paths made absolute, and its
# disk, since forks write there.

# workload_copy SRC_YAML DISK: $T/w.yaml from SRC_YAML with its runtime paths
# pointing into build/ and its disk at $T/disk (a copy of DISK); prints it.
workload_copy() {
	rm -rf "$T/disk" && cp -r "$2" "$T/disk" &&
	sed -e "s|\.\./\.\./\.\./build/|$B/|" -e "s|^\(  disk:\).*|\1 $T/disk|" "$1" >"$T/w.yaml" &&
	echo "$T/w.yaml"
}

# duk_yaml FORK_NAME:ARGS...: the duktape template and one fork per word.
duk_yaml() {
	sed -n '/^---/,/^- name: workload$/p' runtime/posix/duktape/duktape.yaml | sed '$d'
	local f
	for f in "$@"; do
		printf -- '- name: %s\n  runtime: ../../../build/runtime/duktape/duktape\n  args: "%s"\n  resume: 1\n  wait: -1\n' \
			"${f%%:*}" "${f#*:}"
	done
}

test_duktape_js_example_forks_print_the_seeds_base64_and_their_own_script() {
	run_iv -a -y "$(workload_copy runtime/posix/duktape/duktape.yaml runtime/posix/duktape/js)"
	expect_rc 0 && expect_out "[duktape] template: heap created, print registered, saving" &&
	expect_out '[workload] get arg: "base64.js"' && expect_out "[workload] native_print is called" &&
	expect_out "[workload] SGVsbG8gVGhlcmU=" &&
	expect_out '[workload-primes] get arg: "primes.js"' &&
	expect_out "[workload-primes] primes below 100: 25 sum 1060" &&
	expect_out "[workload-primes] Duktape.enc base64: SGVsbG8gVGhlcmU=" &&
	expect_no_out "[duktape] get arg"
}

# A fork given a file that is not there, one given a script that throws and
# one whose script does not compile each end with their own status and a
# line saying why; the forks around them still run theirs.
test_duktape_js_forks_with_missing_throwing_or_broken_scripts_fail_alone() {
	local d
	d=$(workload_copy runtime/posix/duktape/duktape.yaml runtime/posix/duktape/js) || return 1
	printf 'print("before");\nthrow new Error("on purpose");\n' >"$T/disk/throws.js"
	printf 'print("never";\n' >"$T/disk/broken.js"
	duk_yaml a:base64.js missing:nothere.js b:primes.js throws:throws.js broken:broken.js \
		c:base64.js >"$T/w.yaml"
	sed -i -e "s|\.\./\.\./\.\./build/|$B/|" -e "s|^\(  disk:\).*|\1 $T/disk|" "$T/w.yaml"
	run_iv -y "$T/w.yaml"
	expect_rc 1 && expect_out "[a] SGVsbG8gVGhlcmU=" && expect_out "[c] SGVsbG8gVGhlcmU=" &&
	expect_out "[b] primes below 100: 25 sum 1060" &&
	expect_err "[missing] duktape: cannot open JS file 'nothere.js': No such file or directory" &&
	expect_err "cVM 'missing' exited with status 2" &&
	expect_out "[throws] before" && expect_err "[throws] duktape: throws.js threw: Error: on purpose" &&
	expect_err "cVM 'throws' exited with status 4" &&
	expect_err "[broken] duktape: broken.js does not compile: SyntaxError" &&
	expect_err "cVM 'broken' exited with status 3" && expect_no_out "[broken] never" &&
	expect_err "cVM 'a' exited with status 0" && expect_err "cVM 'c' exited with status 0"
}

# A script larger than the 4 KiB the workload reads is refused, not cut.
test_duktape_js_fork_refuses_a_script_over_4_kib() {
	local d
	d=$(workload_copy runtime/posix/duktape/duktape.yaml runtime/posix/duktape/js) || return 1
	{ printf 'print("big");\n'; head -c 5000 /dev/zero | tr '\0' ' '; } >"$T/disk/big.js"
	duk_yaml big:big.js ok:base64.js >"$T/w.yaml"
	sed -i -e "s|\.\./\.\./\.\./build/|$B/|" -e "s|^\(  disk:\).*|\1 $T/disk|" "$T/w.yaml"
	run_iv -y "$T/w.yaml"
	expect_rc 1 && expect_err "[big] duktape: cannot read JS file 'big.js': larger than 4096 bytes" &&
	expect_no_out "[big] big" && expect_out "[ok] SGVsbG8gVGhlcmU="
}

# file_run: file.yaml on a copy of its disk owned by the cVM's uid (as
# `make` makes build/runtime/file/disk), `readonly` mode 0444.
file_run() {
	local y ids
	y=$(workload_copy runtime/posix/file/file.yaml runtime/posix/file/disk) || return 1
	ids=$("$B/intravisor" --ids -y "$y" | awk '$1 == "file" {print $2 ":" $3}')
	[ -n "$ids" ] || fail "--ids names no uid for 'file'" || return 1
	chmod 0444 "$T/disk/readonly" && chown -R "$ids" "$T/disk" && chmod 0755 "$T/disk" &&
	run_iv "$@" -y "$y"
}

test_file_example_forks_pass_the_seeds_eight_checks_each() {
	file_run -a || return 1
	expect_rc 0 && expect_out "[file] template: saving before the checks" || return 1
	local f c
	for f in file-fork1 file-fork2; do
		for c in "[1] fopen(noexist)" "[2] fopen(text)" "[3] fread(text)" "[4] fwrite(text_new)" \
			"[5] fread(text_new)" "[6] fopen(readonly, w)" "[7] fseek/ftell(text)" \
			"[8] stat field" "all test past!"; do
			expect_out "[$f] $c" || return 1
		done
	done
	expect_no_out "FAILED" && expect_no_out "[file] [1]" &&
	[ "$(cat "$T/disk/text_new")" = "written by fork 2" ] || fail "text_new: $(cat "$T/disk/text_new")"
}

# The checks are real: with `readonly` writable by the cVM, check [6] fails,
# the fork ends with status 1 and never says "all test past!".
test_file_example_check_fails_when_readonly_is_writable() {
	local y ids
	y=$(workload_copy runtime/posix/file/file.yaml runtime/posix/file/disk) || return 1
	ids=$("$B/intravisor" --ids -y "$y" | awk '$1 == "file" {print $2 ":" $3}')
	chmod 0644 "$T/disk/readonly" && chown -R "$ids" "$T/disk" && chmod 0755 "$T/disk" || return 1
	run_iv -y "$y"
	expect_rc 1 && expect_out "[file-fork1] [5] fread(text_new)" &&
	expect_out "[file-fork1] [6] fopen(readonly, w) FAILED: a read-only file opened for writing" &&
	expect_no_out "all test past!" && expect_err "cVM 'file-fork1' exited with status 1"
}

# On a disk the cVM does not own (root's, mode 0755) it cannot create
# text_new: check [4] says so.
test_file_example_check_fails_on_a_disk_the_cvm_cannot_write() {
	local y
	y=$(workload_copy runtime/posix/file/file.yaml runtime/posix/file/disk) || return 1
	chmod 0755 "$T/disk" && chmod 0444 "$T/disk/readonly"
	run_iv -y "$y"
	expect_rc 1 && expect_out "[file-fork1] [3] fread(text)" &&
	expect_out "[file-fork1] [4] fwrite(text_new) FAILED: Permission denied" &&
	expect_no_out "all test past!"
}
