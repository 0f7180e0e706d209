# Real programs: Debian's own binaries (busybox-static, python3, lua5.4,
# sqlite3) in program mode, each from a root made of its installed files
# (build/roots/*, scripts/mkroot.sh, `make programs`, which `make test`
# builds first), run from the examples in runtime/posix/{busybox,python,lua,
# sqlite}.  Examples that write to their disk run from a copy of it.

# example_copy YAML NAME: the example YAML with its disk a fresh copy of its
# root in the test's scratch dir (a relative runtime stays relative, now to
# the scratch dir); prints its path.
example_copy() {
	local src=$1 name=$2 disk up
	disk=$(sed -n 's/^  disk: \.\.\/\.\.\/\.\.\/build\///p' "$src")
	cp -a "$B/$disk" "$T/root"
	up=$(realpath --relative-to="$T" "$B")
	sed -e "s|^  disk: .*|  disk: $T/root|" -e "s|\.\./\.\./\.\./build/|$up/|" "$src" >"$T/$name"
	echo "$T/$name"
}

test_debian_busybox_sh_runs_pipelines_of_external_commands() {
	run_iv -y runtime/posix/busybox/busybox.yaml
	expect_rc 0 && expect_out "[busybox] HELLO" && expect_out "[busybox] 7" &&
	expect_out "[busybox] the-shell done"
}

# Debian's busybox-static has no applet links; its sh runs an applet (tr,
# wc) by execve("/proc/self/exe"): a program's cell has its own /proc.
test_debian_busybox_sh_runs_applets_by_their_names() {
	printf 'cVMs:\n- name: busybox\n  disk: %s\n  runtime: /bin/busybox\n  args: [sh, -c, "%s"]\n' \
		"$B/roots/busybox" 'echo hello | tr a-z A-Z; ls / | wc -l' | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[busybox] HELLO" && expect_out "[busybox] 7"
}

test_debian_python_imports_json_hashlib_sqlite3_and_runs_subprocesses() {
	run_iv -y runtime/posix/python/python.yaml
	expect_rc 0 &&
	expect_out "[python] python 3.11.2 primes below 10000: 1229 sum 5736396" &&
	expect_out '[python] json: {"count": 1229, "last": 9973}' &&
	expect_out "[python] hashlib sha256: 86abab13cfa385ac6b3a8e50334637f406008fa35b92c061e754493e865676ac" &&
	expect_out "[python] sqlite3: primes ending in 7: 308" &&
	expect_out "[python] subprocess sha256sum agrees: True" &&
	expect_out "[python] subprocess sh said: /bin/sh from a shell status 3"
}

# The seed's Python check: four threads, one lock, 2,000,000 increments.
test_debian_python_threads_count_to_2000000_under_a_lock() {
	run_iv -y runtime/posix/python/counter.yaml
	expect_rc 0 && expect_out "[counter] threads: 4 final count: 2000000"
}

# lua_expect NAME: the output of runtime/posix/lua's script.
lua_expect() {
	expect_rc 0 &&
	expect_out "[$1] Lua 5.4: fib(27) = 196418" &&
	expect_out "[$1] sorted: BROWN FOX QUICK THE" &&
	expect_out "[$1] FROM A SHELL" &&
	expect_out "[$1] os.execute:"$'\t'"nil"$'\t'"exit"$'\t'"3" &&
	expect_out "[$1] io.popen read: one,two"$'\t'"true"$'\t'"exit"$'\t'"0"
}

test_debian_lua_dynamic_runs_a_script_with_os_execute_and_popen() {
	run_iv -y runtime/posix/lua/lua.yaml
	lua_expect lua
}

test_debian_lua_static_pie_from_debian_sources_runs_the_same_script() {
	run_iv -y runtime/posix/lua/lua-static.yaml
	lua_expect lua-static
}

# The second run is the same cVM (same name, same uid): it reads the file
# the first wrote and may write it again.
test_debian_sqlite_second_run_reads_the_database_the_first_wrote() {
	local first again
	first=$(example_copy runtime/posix/sqlite/notes-first.yaml first.yaml)
	again=$(sed -e "s|^  disk: .*|  disk: $T/root|" runtime/posix/sqlite/notes-again.yaml | yaml again.yaml)
	run_iv -y "$first"
	expect_rc 0 && expect_out "[notes] 1 row written" || return 1
	[ -s "$T/root/work/notes.db" ] || fail "no notes.db in the disk" || return 1
	run_iv -y "$again"
	expect_rc 0 && expect_out "[notes] read: 1 written by the first run" &&
	expect_out "[notes] 2 rows now" || return 1
	run_iv -y "$again"
	expect_rc 0 && expect_out "[notes] read: 2 added by the second run" &&
	expect_out "[notes] 3 rows now"
}

# The seed's SQLite speed test: speedtest1 from Debian's sqlite3 sources.
test_debian_sqlite_speedtest1_prints_its_total_time() {
	run_iv -y "$(example_copy runtime/posix/sqlite/speedtest1.yaml speedtest1.yaml)"
	expect_rc 0 && expect_out_has "[speedtest1] -- Speedtest1 for SQLite 3.40.1" &&
	grep -qE '^\[speedtest1\] +TOTAL\.+ +[0-9]+\.[0-9]+s$' <<<"$OUT" ||
		{ show; fail "expected a TOTAL line"; }
}

# ---- scripts/mkroot.sh ----

# The links on the way to each file are made again as the host has them.
test_debian_mkroot_keeps_the_links_of_merged_usr_and_the_interpreter() {
	local r=$B/roots/python3
	[ "$(readlink "$r/lib")" = usr/lib ] && [ "$(readlink "$r/lib64")" = usr/lib64 ] &&
	[ "$(readlink "$r/bin")" = usr/bin ] &&
	[ "$(readlink "$r/usr/lib64/ld-linux-x86-64.so.2")" = "$(readlink /lib64/ld-linux-x86-64.so.2)" ] &&
	[ -f "$r/usr/lib/python3.11/json/__init__.py" ] && [ -f "$r/etc/ld.so.cache" ] &&
	[ "$(stat -c %a "$r/tmp") $(stat -c %a "$r/work")" = "1777 1777" ] ||
		fail "python3 root: $(ls -l "$r" "$r/usr/lib64")"
}

# Only files of installed Debian packages: a program of ours is refused,
# and nothing is left behind.
test_debian_mkroot_refuses_a_program_no_debian_package_ships() {
	local out rc
	out=$(scripts/mkroot.sh "$T/r" "$B/intravisor" 2>&1); rc=$?
	[ $rc != 0 ] && grep -qF "$B/intravisor is not a file of any installed Debian package" <<<"$out" &&
	[ ! -e "$T/r" ] && [ ! -e "$T/r.tmp" ] || fail "rc=$rc: $out"
}
