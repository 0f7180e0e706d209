# Warm cells (--pool N): cells made ahead of their cVMs' deploys.  The
# suite also runs the escape, lifecycle, image and hello tests once more
# with IV_POOL=2 ($POOL_TESTS in the Makefile).

expect_err_re() { grep -qE -- "$1" <<<"$ERR" || { show; fail "expected stderr to match: $1"; }; }

pool_yaml() { # pool_yaml FILE WAIT ARGS...: one life.so cVM per ARGS, each with wait WAIT
	local f=$1 wait=$2 i=0 begin; shift 2
	{ echo "cVMs:"; for a in "$@"; do
		begin=$(printf '0x%x' $((0x20000000 + i * 0x1000000)))
		cvm_entry "p$i" "$B/tests/life.so" "$begin" "args: \"$a\"" "wait: $wait"
		i=$((i + 1))
	done; } | yaml "$f"
}

# The numbers of the pool's closing line: made, most at once, bound, used, unused, failed.
pool_stats() { sed -n 's/.*pool: \([0-9]*\) cells parked ahead (at most \([0-9]*\) at once, bound \([0-9]*\)), \([0-9]*\) used, \([0-9]*\) unused, \([0-9]*\) could not.*/\1 \2 \3 \4 \5 \6/p' <<<"$ERR"; }

test_pool_cvms_one_after_another_each_get_a_parked_cell() {
	# (each sleeps 30 ms: the time a deploy leaves the pool to make the next)
	run_iv --pool 2 -y "$(pool_yaml a.yaml -1 "sleep 30" "sleep 30" "sleep 30" "sleep 30" "sleep 30" "sleep 30")"
	expect_rc 0 || return 1
	# (the first may be deployed before the pool has begun its cell: the
	# pool runs only when the deploys leave a CPU idle)
	local s; s=$(pool_stats)
	[[ "$s" == "6 2 2 6 0 0" || "$s" == "5 2 2 5 0 0" ]] ||
		{ show; fail "pool stats '$s', expected 5 or 6 parked (2 at once) and used"; }
}

test_pool_size_comes_from_iv_pool_and_bad_sizes_are_refused() {
	IV_POOL=1 run_iv -y "$(pool_yaml a.yaml -1 "exit 0" "exit 0")"
	expect_rc 0 && expect_err "bound 1)" || return 1
	run_iv --pool 65 -y "$T/a.yaml"
	expect_rc 2 && expect_err "--pool (or IV_POOL): expected 0 to 64, got '65'" || return 1
	IV_POOL=x run_iv -y "$T/a.yaml"
	expect_rc 2 && expect_err "got 'x'" || return 1
	run_iv --pool 0 -y "$T/a.yaml"
	expect_rc 0 && expect_no_err "pool:"
}

test_pool_bound_holds_under_a_burst_of_200_cvms() {
	local args=() i
	for i in $(seq 200); do args+=("exit 0"); done
	run_iv --pool 4 -y "$(pool_yaml a.yaml 0 "${args[@]}")"
	expect_rc 0 || return 1
	[ "$(grep -c "exited with status 0" <<<"$ERR")" = 200 ] || { show; fail "not every cVM exited 0"; return 1; }
	local s most; s=$(pool_stats); most=$(cut -d' ' -f2 <<<"$s")
	[ -n "$most" ] && [ "$most" -le 4 ] || { show; fail "pool stats '$s': more than 4 parked at once"; }
}

test_pool_forks_are_clones_and_take_no_parked_cell() {
	# the seed's template and two forks (clones of the template: no cell
	# is parked for them), then a plain cVM, which is parked for
	{ sed '/^cVMs:/,$d' runtime/baremetal/hello_world/hello_tfork.yaml
	  echo "cVMs:"
	  sed '1,/^cVMs:/d; s#\.\./\.\./\.\./build#'"$B"'#' runtime/baremetal/hello_world/hello_tfork.yaml
	  cvm_entry last "$B/tests/life.so" 0x30000000 'args: "exit 0"'
	} | yaml f.yaml >/dev/null
	run_iv --pool 4 -y "$T/f.yaml"
	expect_rc 0 && expect_out "[hello-fork2] Hello world" || return 1
	# 'last' is parked for, and the template unless deployed first
	local s; s=$(pool_stats)
	[[ "$(cut -d' ' -f1,4 <<<"$s")" == "2 2" || "$(cut -d' ' -f1,4 <<<"$s")" == "1 1" ]] ||
		{ show; fail "pool stats '$s', expected 1 or 2 parked and used"; }
}

test_pool_parked_cell_killed_before_its_deploy_is_replaced_by_a_new_one() {
	run_iv --ids -y "$(pool_yaml a.yaml -1 "sleep 4000" "exit 0")"
	local uid; uid=$(awk '$1 == "p1" {print $2}' <<<"$OUT")
	"$B/intravisor" -v --pool 2 -y "$T/a.yaml" >"$T/out" 2>"$T/err" &
	local mon=$! i pids=""
	# its cell, once parked: waiting in IV_SYS_PARK (0x2fff)
	for i in $(seq 150); do
		pids=$(pgrep -u "$uid")
		[ -n "$pids" ] && [ "$(cut -d' ' -f1 "/proc/$pids/syscall" 2>/dev/null)" = 12287 ] && break
		pids=""; sleep 0.02
	done
	[ -n "$pids" ] || { kill $mon; fail "no parked cell of uid $uid"; return 1; }
	kill -KILL $pids
	wait $mon; RC=$?
	OUT=$(cat "$T/out"); ERR=$(cat "$T/err")
	expect_rc 0 && expect_err "cVM 'p1' exited with status 0" &&
		expect_err "its parked cell is gone: a new cell instead"
}

test_pool_cells_have_their_own_uid_and_nothing_of_each_other() {
	# escape probes, each deployed into its parked cell after the one before
	local y
	y=$({ echo "cVMs:"
	      esc_cvm one 0x20000000 identity "wait: -1"
	      esc_cvm two 0x21000000 leaked_fds "wait: -1"
	      esc_cvm three 0x22000000 identity "wait: -1"
	    } | yaml e.yaml)
	run_iv --pool 3 -y "$y"
	expect_rc 0 && esc_no_success && expect_err_re "[123] used" &&
		expect_out "[two] escape leaked_fds: open fds: 0 1 2" || return 1
	local uids
	uids=$(sed -n 's/^\[\(one\|three\)\] escape identity: uid \([0-9]*\) .*/\2/p' <<<"$OUT" | sort -u | wc -l)
	[ "$uids" = 2 ] || { show; fail "expected two cVMs with two uids"; }
}

test_pool_monitor_killed_during_a_burst_leaves_no_process() {
	local args=() i
	for i in $(seq 60); do args+=("sleep 300"); done
	pool_yaml a.yaml 0 "${args[@]}" >/dev/null
	run_iv --ids -y "$T/a.yaml"
	local uids; uids=$(awk '{print $2}' <<<"$OUT")
	"$B/intravisor" --pool 8 -y "$T/a.yaml" >"$T/out" 2>"$T/err" &
	local mon=$!
	for i in $(seq 50); do grep -q "life: " "$T/out" 2>/dev/null && break; sleep 0.05; done
	kill -KILL $mon
	wait $mon 2>/dev/null
	local left="" u
	for i in $(seq 30); do
		left=""
		# (a zombie waiting for its new parent to reap it is dead)
		for u in $uids; do left+=$(ps -o pid=,stat= -u "$u" | awk '$2 !~ /^Z/ {printf "%s ", $1}'); done
		[ -z "$left" ] && break
		sleep 0.1
	done
	[ -z "$left" ] || fail "processes left by a killed monitor: $left"
}

test_pool_nested_cvms_are_not_parked_for() {
	# an inner's range is shared with its outer, made with the pair's layout
	run_iv --pool 2 -y runtime/baremetal/two_layers/two_layers.yaml
	expect_rc 0 && expect_out "[outer] hello world from inner" &&
		expect_err "pool: 0 cells parked ahead"
}

test_pool_cvm_making_the_park_call_itself_is_refused() {
	# (the answer to that call hands a parked stub its plan: a cVM's own
	# is refused, reported, and taken for nothing)
	run_iv --pool 2 -y "$(esc_attack a.yaml parker park)"
	expect_rc 0 && esc_no_success &&
		expect_out "[parker] escape park: syscall 0x2fff -> errno 1" &&
		expect_err "denied system call" && expect_err_re "[12] used" && esc_survived
}
