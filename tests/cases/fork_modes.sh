# How a template's forks are made (README "Forks"): by mapping the
# template's memory from an in-memory image (fork_mode: map, the default)
# or by clone() (fork_mode: clone).  The two are interchangeable: `make
# test` runs every fork test under both (FORK_TESTS in the Makefile).

# fm_yaml FILE MODE TEMPLATE_ARGS FORK_ARGS...: tfork_yaml with fork_mode.
fm_yaml() {
	local f=$1 mode=$2; shift 2
	tfork_yaml "$f" "$@" >/dev/null
	[ -n "$mode" ] && sed -i "s/^  template: 1$/  template: 1\n  fork_mode: $mode/" "$T/$f"
	echo "$T/$f"
}

test_fork_mode_map_forks_map_the_image_and_clone_forks_are_clones() {
	local m
	for m in map clone; do
		run_iv -v -y "$(fm_yaml a.yaml $m "heap 4" "heap" "write 7" "show")"
		expect_rc 0 && expect_out "[f1] tpl: heap sum: 130560" &&
		expect_out "[f2] tpl: global now: 7" && expect_out "[f3] tpl: global: 42" || return 1
		if [ $m = map ]; then
			expect_err "forks by mapping its image" &&
			expect_err "template 'tpl' maps its image: " || return 1
		else
			expect_err "forks by clone()" && expect_no_err "maps its image" || return 1
		fi
	done
}

test_fork_mode_environment_sets_the_default_and_the_template_key_wins() {
	IV_FORK_MODE=clone run_iv -v -y "$(fm_yaml a.yaml "" "plain" "show")"
	expect_rc 0 && expect_err "forks by clone()" || return 1
	IV_FORK_MODE=clone run_iv -v -y "$(fm_yaml b.yaml map "plain" "show")"
	expect_rc 0 && expect_err "forks by mapping its image" || return 1
	IV_FORK_MODE=map run_iv -v -y "$(fm_yaml c.yaml clone "plain" "show")"
	expect_rc 0 && expect_err "forks by clone()" && expect_out "[f1] tpl: global: 42"
}

test_fork_mode_bad_value_key_on_a_fork_or_bad_environment_start_nothing() {
	run_iv -y "$(fm_yaml a.yaml copy "plain" "show")"
	expect_rc 2 && expect_err "key 'fork_mode': expected 'map' or 'clone', got 'copy'" || return 1
	tfork_yaml b.yaml "plain" "show" >/dev/null
	sed -i 's/^  resume: 1$/  resume: 1\n  fork_mode: map/' "$T/b.yaml"
	run_iv -y "$T/b.yaml"
	expect_rc 2 && expect_err "key 'fork_mode': cVM 'f1' is not a template" || return 1
	IV_FORK_MODE=fast run_iv -y "$(fm_yaml c.yaml "" "plain" "show")"
	expect_rc 2 && expect_err "IV_FORK_MODE: expected 'map' or 'clone', got 'fast'" &&
	expect_no_out "[tpl]"
}

# A template saved for its image alone (no fork in the config) makes no
# in-memory image.
test_fork_mode_template_without_forks_makes_no_memory_image() {
	run_iv -v -y "$(image_yaml w.yaml template tpl "plain")"
	expect_rc 0 && expect_err "forks by clone()" && expect_no_err "maps its image"
}

# A fork by mapping writes its own copy: the image its siblings map, the
# template's memory and a later sibling's stay as they were, in every
# page the writer touched (a 4 MiB heap rewritten by the first fork).
test_fork_mode_map_a_fork_rewriting_the_heap_leaves_siblings_the_image() {
	run_iv -v -y "$(fm_yaml a.yaml map "heap 4" "heapwrite" "heap" "heap")"
	expect_rc 0 && expect_out "[f1] tpl: heap rewritten" &&
	expect_out "[f2] tpl: heap sum: 130560" && expect_out "[f3] tpl: heap sum: 130560"
}
