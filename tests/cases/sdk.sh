# The SDK as installed by `make install`: programs built against it in a
# DESTDIR, with glibc (through pkg-config) and musl, run under the installed
# monitor as templates, forks and images; the header beside libc headers;
# the shared library; the Python module outside a cVM.

SDK_PREFIX=/opt/iv
SDK_SRC=$ROOT/tests/sdk/hosted.c

# sdk_install: `make install` into $T/d with PREFIX=$SDK_PREFIX; sets $D
# (the installed prefix as seen from here) and $PC (pkg-config for it).
sdk_install() {
	D=$T/d$SDK_PREFIX
	PC="env PKG_CONFIG_PATH=$D/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$T/d pkg-config"
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$ROOT" install DESTDIR="$T/d" \
		PREFIX="$SDK_PREFIX" >"$T/install.log" 2>&1 || { cat "$T/install.log" >&2; fail "make install failed"; }
}

# sdk_build LIBC OUT: tests/sdk/hosted.c, static, linked where a cVM's range
# starts, every warning an error: glibc through pkg-config, musl by hand.
sdk_build() {
	local flags="-O2 -static -Wall -Wextra -Werror -pedantic -Wl,-Ttext-segment=0x20000000"
	if [ "$1" = glibc ]; then
		cc $flags -o "$2" "$SDK_SRC" $($PC --cflags --libs intravisor)
	else
		musl-gcc $flags -I"$D/include" -o "$2" "$SDK_SRC" -L"$D/lib" -lintravisor
	fi
}

# sdk_run_forks LIBC: the program as a template and two forks, under the
# installed monitor, with a cap file for the second fork.
sdk_run_forks() {
	sdk_install && sdk_build "$1" "$T/prog" || return 1
	{ printf -- '---\ncapfiles:\n- name: greeting\n  size: 0x20\n  data: "hello from a cap file"\n---\ncVMs:\n'
	  cvm_entry tpl "$T/prog" 0x20000000 "template: 1" "wait: -1"
	  printf -- '- name: f1\n  runtime: %s\n  args: "one"\n  resume: 1\n  wait: -1\n' "$T/prog"
	  printf -- '- name: f2\n  runtime: %s\n  args: "cap"\n  resume: 1\n  wait: -1\n' "$T/prog"
	} >"$T/a.yaml"
	OUT=$(timeout -k 5 20 "$D/bin/intravisor" -y "$T/a.yaml" 2>"$T/stderr"); RC=$?; ERR=$(cat "$T/stderr")
	expect_rc 0 && expect_out "[tpl] sdk: template: inspect=1" &&
	expect_out "[f1] sdk: fork: inspect=0 arg=one" && expect_out "[f2] sdk: fork: inspect=0 arg=cap" &&
	expect_out "[f1] sdk: the template's thread counts on: yes" &&
	expect_out "[f2] sdk: the template's thread counts on: yes" &&
	expect_out "[f1] sdk: host_gettimeofday: ok" && expect_out "[f1] sdk: host_write works" &&
	expect_out "[f2] sdk: cap file 'greeting' says: hello from a cap file" &&
	expect_no_out "[tpl] sdk: fork:"
}

test_sdk_make_install_puts_monitor_headers_libraries_pkgconfig_and_python_in_destdir() {
	sdk_install || return 1
	local f
	for f in bin/intravisor bin/iv-cell include/intravisor.h include/iv_hostcalls.h \
		lib/libintravisor.a lib/libintravisor.so.0 lib/libivrt.a lib/pkgconfig/intravisor.pc \
		lib/python3/dist-packages/intravisor.py; do
		[ -f "$D/$f" ] || fail "not installed: $SDK_PREFIX/$f" || return 1
	done
	[ "$(readlink "$D/bin/monitor")" = intravisor ] || fail "no monitor -> intravisor link" || return 1
	[ "$(readlink "$D/lib/libintravisor.so")" = libintravisor.so.0 ] || fail "no .so link" || return 1
	grep -qxF "prefix=$SDK_PREFIX" "$D/lib/pkgconfig/intravisor.pc" &&
	grep -qxF "libdir=$SDK_PREFIX/lib" "$D/lib/pkgconfig/intravisor.pc" ||
		fail "intravisor.pc does not name PREFIX" || return 1
	local flags
	flags=$(echo $(env PKG_CONFIG_PATH="$D/lib/pkgconfig" pkg-config --cflags --libs intravisor))
	[ "$flags" = "-I$SDK_PREFIX/include -L$SDK_PREFIX/lib -lintravisor" ] ||
		fail "pkg-config: $flags" || return 1
	grep -qxF "_LIBDIR = \"$SDK_PREFIX/lib\"" "$D/lib/python3/dist-packages/intravisor.py" ||
		fail "the Python module does not know LIBDIR" || return 1
	# One static library for glibc and musl programs: it calls nothing of a libc.
	[ -z "$(nm -u "$D/lib/libintravisor.a" | grep -v ':$' | grep .)" ] ||
		fail "libintravisor.a needs: $(nm -u "$D/lib/libintravisor.a")"
}

test_sdk_glibc_program_built_with_pkg_config_is_a_template_with_two_forks() {
	sdk_run_forks glibc
}

test_sdk_musl_program_built_against_destdir_is_a_template_with_two_forks() {
	sdk_run_forks musl
}

# The template saves an image; a later run restores it, and host_save in
# libintravisor recreates the counting thread (the monitor does not).
test_sdk_host_save_recreates_the_threads_of_a_restored_glibc_or_musl_program() {
	sdk_install || return 1
	local libc
	for libc in glibc musl; do
		sdk_build $libc "$T/$libc" && rm -rf "$T/snap" || return 1
		{ echo "cVMs:"; cvm_entry tpl "$T/$libc" 0x20000000 "template: 1" \
			"snapshot_path: $T/snap" "wait: -1"; } >"$T/w.yaml"
		{ echo "cVMs:"; cvm_entry back "$T/$libc" 0x20000000 "resume: 1" \
			"snapshot_path: $T/snap" 'args: "restored"'; } >"$T/r.yaml"
		run_iv -y "$T/w.yaml"
		expect_rc 0 && expect_out "[tpl] sdk: template: inspect=1" || return 1
		run_iv -a -y "$T/r.yaml"
		expect_rc 0 && expect_out "[back] sdk: fork: inspect=0 arg=restored" &&
		expect_out "[back] sdk: the template's thread counts on: yes" &&
		expect_out "[back] sdk: host_write works" || return 1
	done
}

# intravisor.h first, then libc headers (hosted.c has it last), in every C
# standard and in C++: no typedef or declaration clashes with libc's.
test_sdk_header_compiles_beside_glibc_and_musl_headers_pedantic_c89_to_c17_and_cxx() {
	sdk_install || return 1
	cat >"$T/first.c" <<-'EOF'
	#include <intravisor.h>
	#include <stdint.h>
	#include <stdio.h>
	#include <stdlib.h>
	#include <string.h>
	#include <sys/time.h>
	#include <time.h>
	#include <unistd.h>
	int main(void)
	{
		char b[8];
		uintptr_t p = (uintptr_t)b;
		memcpy(b, "abc", 4);
		return (int)(strlen(b) + (p & 1) + (size_t)host_inspect() + (size_t)host_save());
	}
	EOF
	local std cc
	for std in c89 c99 c11 c17 gnu17; do
		for cc in cc musl-gcc; do
			$cc -std=$std -Wall -Wextra -Werror -pedantic -I"$D/include" -c -o "$T/x.o" \
				"$T/first.c" || fail "$cc -std=$std" || return 1
		done
	done
	if command -v g++ >/dev/null; then
		cp "$T/first.c" "$T/first.cc"
		for std in c++11 c++17; do
			g++ -std=$std -Wall -Wextra -Werror -pedantic -static -I"$D/include" -o "$T/x" \
				"$T/first.cc" -L"$D/lib" -lintravisor || fail "g++ -std=$std" || return 1
		done
	fi
}

# A dynamic program links against libintravisor.so and runs outside a cVM
# (every hostcall answers -ENOSYS there); the monitor does not run dynamic
# programs yet and says so.
test_sdk_shared_library_links_exports_host_save_and_runs_outside_a_cvm() {
	sdk_install || return 1
	local so=$D/lib/libintravisor.so.0
	readelf -d "$so" | grep -qF 'Library soname: [libintravisor.so.0]' || fail "no soname" || return 1
	[ -z "$(readelf -d "$so" | grep NEEDED)" ] || fail "the .so needs a libc" || return 1
	nm -D --defined-only "$so" | grep -qw host_save &&
	nm -D --defined-only "$so" | grep -qw iv_restore_threads || fail "exports: $(nm -D "$so")" || return 1
	cc -Wall -Wextra -Werror -pedantic -o "$T/dyn" "$SDK_SRC" $($PC --cflags --libs intravisor) ||
		fail "dynamic link" || return 1
	readelf -d "$T/dyn" | grep -qF 'Shared library: [libintravisor.so.0]' || fail "not linked to the .so" || return 1
	local out rc
	out=$(LD_LIBRARY_PATH=$D/lib "$T/dyn"); rc=$?
	[ "$rc" = 3 ] && [ "$out" = "sdk: not in a cVM: host_inspect() = -38 (Function not implemented)" ] ||
		fail "outside a cVM: rc $rc: $out" || return 1
	{ echo "cVMs:"; cvm_entry d "$T/dyn" 0x20000000; } >"$T/d.yaml"
	run_iv -y "$T/d.yaml"
	expect_rc 2 && expect_err "runtime '$T/dyn': dynamically linked (PT_INTERP); link it statically"
}

# Outside a cVM every call raises NotInCVM (errno ENOSYS); the numbers are the
# header's; save() in a restored cVM with threads and no libintravisor.so
# raises, without threads it returns 0 (the monitor faked by replacing the
# module's syscall).
test_sdk_python_module_outside_a_cvm_raises_not_in_cvm_and_matches_the_header() {
	command -v python3 >/dev/null || { echo "    no python3: not checked" >&2; return 0; }
	sdk_install || return 1
	PYTHONPATH=$D/lib/python3/dist-packages python3 - "$D/include/iv_hostcalls.h" <<-'EOF' >"$T/py.out" 2>&1
	import errno, re, sys
	import intravisor as iv
	for call in (iv.inspect, iv.save, iv.get_arg, lambda: iv.write("x"), iv.exit):
	    try:
	        call()
	        sys.exit("a hostcall outside a cVM did not raise")
	    except iv.NotInCVM as e:
	        assert isinstance(e, OSError) and e.errno == errno.ENOSYS, e
	        assert "not running in an Intravisor cVM" in str(e), e
	hdr = open(sys.argv[1]).read()
	for name, val in re.findall(r"#define\s+((?:HC|IV)_\w+)\s+(0x[0-9a-f]+|\d+)", hdr):
	    if hasattr(iv, name):
	        assert getattr(iv, name) == int(val, 0), (name, val)
	def monitor(forked):
	    def sc(nr, a, b, c):
	        return {iv.IV_HC_BASE + iv.HC_SAVE: iv.IV_SAVE_RESTORED,
	                iv.IV_HC_BASE + iv.HC_FORKED: forked}[nr.value]
	    return sc
	iv._sdk_library = lambda: None
	iv._syscall = monitor(0)
	assert iv.save() == 0
	iv._syscall = monitor(2)
	try:
	    iv.save()
	    sys.exit("save() with threads to recreate and no library did not raise")
	except RuntimeError as e:
	    assert "2 other thread(s)" in str(e) and "libintravisor.so.0" in str(e), e
	print("python: ok")
	EOF
	[ "$(cat "$T/py.out")" = "python: ok" ] || fail "$(cat "$T/py.out")"
}
