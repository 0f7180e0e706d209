# Bad input through the real monitor: every config error is reported as one
# line on stderr naming the file (and line and key) with exit status 2, every
# bad runtime ELF as one "intravisor: CONFIG: cVM 'NAME': runtime ...: ..." line, also 2;
# and in both cases nothing runs: no cVM output, no "exited with status".

BAD_HELLO=$B/runtime/hello_world/libhello.so

# Nothing was started and stderr is the one line it should be.
bad_nothing_started() {
	[ -z "$OUT" ] || { show; fail "expected no cVM output"; return 1; }
	expect_no_err "exited with status" || return 1
	expect_no_err "killed by signal" || return 1
	local n=0
	[ -z "$ERR" ] || n=$(grep -c '' <<<"$ERR")
	[ "$n" = 1 ] || { show; fail "expected exactly one line on stderr, got $n"; }
}

# A config with one cVM named NAME running RUNTIME in [0x20000000, +SIZE).
bad_config() {
	local name=$1 rt=$2 size=${3:-0x10000000}
	printf -- 'cVMs:\n- name: %s\n  runtime: %s\n  isolation:\n  - base: 0x20000000\n    size: %s\n    begin: 0x20000000\n    end: 0x%x\n' \
		"$name" "$rt" "$size" $((0x20000000 + size))
}

# bad_patch FILE OFFSET HEXBYTE...: overwrite bytes in place.
bad_patch() {
	local f=$1 off=$2 s=
	shift 2
	for b in "$@"; do s+="\\x$b"; done
	printf "$s" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# The file offset of p_memsz of the last PT_LOAD of an ELF64 file.
bad_last_load_memsz_off() {
	local f=$1 phoff phnum i type last=
	phoff=$(od -An -t u8 -j 32 -N 8 "$f" | tr -d ' ')
	phnum=$(od -An -t u2 -j 56 -N 2 "$f" | tr -d ' ')
	for ((i = 0; i < phnum; i++)); do
		type=$(od -An -t u4 -j $((phoff + i * 56)) -N 4 "$f" | tr -d ' ')
		[ "$type" = 1 ] && last=$((phoff + i * 56 + 40))
	done
	echo "$last"
}

# The 8 bytes of V, little-endian, as hex pairs for bad_patch.
bad_u64le() {
	local v=$1 i
	for ((i = 0; i < 8; i++)); do printf '%02x ' $(((v >> (8 * i)) & 255)); done
}

# ---- configuration errors: exit status 2 ----

test_bad_unknown_key_names_file_line_and_key() {
	local y
	y=$({ echo 'cVMs:'; cvm_entry hello "$BAD_HELLO" 0x20000000 'colour: red'; } | yaml unknown.yaml)
	run_iv -y "$y"
	expect_rc 2 &&
	expect_err "intravisor: $y:9: key 'colour': unknown cVM key" &&
	bad_nothing_started
}

test_bad_unknown_key_under_asan() {
	local y
	y=$({ echo 'cVMs:'; cvm_entry hello "$BAD_HELLO" 0x20000000; echo 'bogus: 1'; } | yaml unknown.yaml)
	run_iv -a -y "$y"
	expect_rc 2 &&
	expect_err "intravisor: $y:9: key 'bogus': unknown top-level key" &&
	bad_nothing_started
}

test_bad_overlapping_ranges_start_nothing() {
	local y
	y=$({
		echo 'cVMs:'
		cvm_entry one "$BAD_HELLO" 0x20000000
		cvm_entry two "$BAD_HELLO" 0x20800000
	} | yaml overlap.yaml)
	run_iv -y "$y"
	expect_rc 2 &&
	expect_err "intravisor: $y:9: key 'isolation': cVM 'two' range [0x20800000, 0x21800000) overlaps cVM 'one' (line 2)" &&
	bad_nothing_started
}

test_bad_second_cvm_error_starts_not_even_the_first() {
	local y
	y=$({
		echo 'cVMs:'
		cvm_entry good "$BAD_HELLO" 0x20000000
		cvm_entry bad "$BAD_HELLO" 0x30000000 'net: tap0'
	} | yaml second.yaml)
	run_iv -y "$y"
	expect_rc 2 &&
	expect_err "intravisor: $y:16: key 'net': expected 'loopback' or a mapping" &&
	bad_nothing_started
}

test_bad_missing_runtime_file() {
	local y
	y=$(bad_config lost "$T/no-such.so" | yaml missing.yaml)
	run_iv -y "$y"
	expect_rc 2 &&
	expect_err "intravisor: $y:2: key 'runtime': '$T/no-such.so' is not a readable file" &&
	bad_nothing_started
}

test_bad_relative_runtime_is_resolved_against_the_config_dir() {
	local y
	y=$(bad_config lost no-such.so | yaml relative.yaml)
	run_iv -y "$y"
	expect_rc 2 &&
	expect_err "intravisor: $y:2: key 'runtime': '$T/no-such.so' is not a readable file" &&
	bad_nothing_started
}

test_bad_yaml_syntax_error() {
	local y
	y=$(printf 'cVMs:\n- name: a\n  runtime: [unclosed\n  wait: 1\n' | yaml syntax.yaml)
	run_iv -y "$y"
	expect_rc 2 &&
	expect_err "intravisor: $y:4: YAML syntax error:" &&
	bad_nothing_started
}

test_bad_missing_config_file() {
	run_iv -y "$T/nowhere.yaml"
	expect_rc 2 &&
	expect_err "intravisor: $T/nowhere.yaml: cannot open: No such file or directory" &&
	bad_nothing_started
}

test_bad_empty_config_has_no_cvms() {
	local y
	y=$(yaml empty.yaml </dev/null)
	run_iv -y "$y"
	expect_rc 2 &&
	expect_err "intravisor: $y: no cVMs to deploy" &&
	bad_nothing_started
}

# ---- runtime images the loader rejects before anything starts: exit status 2 ----

test_bad_runtime_that_is_a_text_file() {
	local y
	printf 'This is a text file, not an ELF image: it is long enough to hold a header.\n' >"$T/notes.txt"
	y=$(bad_config text "$T/notes.txt" | yaml text.yaml)
	run_iv -y "$y"
	expect_rc 2 &&
	expect_err "cVM 'text': runtime '$T/notes.txt': not an ELF file (bad magic)" &&
	bad_nothing_started
}

test_bad_runtime_shorter_than_a_header() {
	local y
	echo "hello" >"$T/short.txt"
	y=$(bad_config short "$T/short.txt" | yaml short.yaml)
	run_iv -y "$y"
	expect_rc 2 &&
	expect_err "cVM 'short': runtime '$T/short.txt': truncated: 6 bytes is shorter than an ELF header" &&
	bad_nothing_started
}

test_bad_empty_runtime_file() {
	local y
	: >"$T/empty.so"
	y=$(bad_config empty "$T/empty.so" | yaml emptyrt.yaml)
	run_iv -y "$y"
	expect_rc 2 &&
	expect_err "cVM 'empty': runtime '$T/empty.so': not a regular file of 1 byte to 1 GiB" &&
	bad_nothing_started
}

test_bad_truncated_elf() {
	local y
	head -c 100 "$BAD_HELLO" >"$T/trunc.so"
	y=$(bad_config trunc "$T/trunc.so" | yaml trunc.yaml)
	run_iv -y "$y"
	expect_rc 2 &&
	expect_err "cVM 'trunc': runtime '$T/trunc.so': truncated: program headers lie outside the file" &&
	bad_nothing_started
}

test_bad_truncated_elf_under_asan() {
	local y
	head -c 100 "$BAD_HELLO" >"$T/trunc.so"
	y=$(bad_config trunc "$T/trunc.so" | yaml trunc.yaml)
	run_iv -a -y "$y"
	expect_rc 2 &&
	expect_err "runtime '$T/trunc.so': truncated: program headers lie outside the file" &&
	bad_nothing_started
}

test_bad_wrong_architecture_elf() {
	local y
	cp "$BAD_HELLO" "$T/arm.so"
	bad_patch "$T/arm.so" 18 b7 00 # e_machine = EM_AARCH64
	y=$(bad_config arm "$T/arm.so" | yaml arm.yaml)
	run_iv -y "$y"
	expect_rc 2 &&
	expect_err "cVM 'arm': runtime '$T/arm.so': wrong architecture: e_machine 183 is not x86-64 (62)" &&
	bad_nothing_started
}

# libhello.so's image is 0x5000 bytes: it fits even the 64 KiB minimum range
# (next to its 16 KiB stack), so a larger image is made by growing its last
# segment's memory size.
test_bad_image_too_big_for_its_range() {
	local y off
	cp "$BAD_HELLO" "$T/big.so"
	off=$(bad_last_load_memsz_off "$T/big.so")
	[ -n "$off" ] || { fail "no PT_LOAD in $BAD_HELLO"; return 1; }
	bad_patch "$T/big.so" "$off" $(bad_u64le 0x20000)
	y=$(bad_config big "$T/big.so" 0x10000 | yaml big.yaml)
	run_iv -y "$y"
	expect_rc 2 &&
	expect_err "cVM 'big': runtime '$T/big.so': image of 0x" &&
	expect_err "bytes does not fit the cVM range of 0x10000 bytes" &&
	bad_nothing_started
}

test_bad_image_leaving_no_room_for_the_stack() {
	local y off
	cp "$BAD_HELLO" "$T/fat.so"
	off=$(bad_last_load_memsz_off "$T/fat.so")
	[ -n "$off" ] || { fail "no PT_LOAD in $BAD_HELLO"; return 1; }
	bad_patch "$T/fat.so" "$off" $(bad_u64le 0x8000) # the image grows to 0xc000 bytes
	y=$(bad_config fat "$T/fat.so" 0x10000 | yaml fat.yaml)
	run_iv -y "$y"
	expect_rc 2 &&
	expect_err "cVM 'fat': runtime '$T/fat.so': image [0x20000000, 0x2000c000) leaves no room for the 0x4000-byte stack below end 0x20010000" &&
	bad_nothing_started
}

test_bad_libhello_in_the_minimum_range_still_runs() {
	# the counterpart of the two above: the unpatched image does fit
	local y
	y=$({
		printf -- '---\ncapfiles:\n- name: test1\n  size: 0x20\n  data: "Hello world\\n"\n---\n'
		bad_config hello "$BAD_HELLO" 0x10000
	} | yaml small.yaml)
	run_iv -y "$y"
	expect_rc 0 && expect_out "[hello] Hello world"
}

# ---- the command line ----

test_bad_no_yaml_argument_prints_usage() {
	run_iv
	expect_rc 2 &&
	expect_err "usage: intravisor " &&
	expect_err " -y CONFIG.yaml" &&
	{ [ -z "$OUT" ] || { show; fail "expected nothing on stdout"; }; }
}

test_bad_unknown_option_prints_usage() {
	run_iv -q
	expect_rc 2 &&
	expect_err "usage: intravisor" &&
	{ [ -z "$OUT" ] || { show; fail "expected nothing on stdout"; }; }
}

test_bad_extra_argument_prints_usage() {
	run_iv -y runtime/baremetal/hello_world/hello.yaml extra
	expect_rc 2 &&
	expect_err "usage: intravisor" &&
	{ [ -z "$OUT" ] || { show; fail "expected nothing on stdout"; }; }
}

test_bad_help_prints_usage_on_stdout() {
	run_iv -h
	expect_rc 0 &&
	{ [[ $OUT == "usage: intravisor "* ]] || { show; fail "expected stdout to start with the usage line"; }; } &&
	expect_out_has " -y CONFIG.yaml" &&
	expect_out_has "-h, --help" &&
	expect_out_has "Exit status: 0 when every cVM ended with status 0" &&
	{ [ -z "$ERR" ] || { show; fail "expected nothing on stderr"; }; }
}

test_bad_image_in_a_later_cvm_starts_not_even_the_first() {
	printf 'not an ELF\n' >"$T/bad.so"
	{ echo "cVMs:"
	  cvm_entry good "$BAD_HELLO" 0x20000000
	  cvm_entry bad "$T/bad.so" 0x21000000; } | yaml two.yaml >/dev/null
	run_iv -y "$T/two.yaml"
	expect_rc 2 && expect_err "cVM 'bad': runtime '$T/bad.so': " && bad_nothing_started
}
