# Hardening of what the config can point a cell at, of the YAML parser, and
# of the console:
#   - duplicate YAML keys, deep nesting, huge node counts, a FIFO or a
#     device as the config: one line, exit status 2, nothing started.

PROBE=$B/tests/escape.so

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
