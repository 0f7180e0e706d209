# The python workload's other modes (bench/workloads uses them): outside any
# cVM and in a plain cVM it runs the handler argv[1] names after its
# imports; "@PATH" names the file its handler's name is read from (the
# bench's FIFOs); a cVM restored from the template's image runs the handler
# its args name.

PYW_HASH="python hash: abf5dacd019d2229174f1daa9e62852554ab1b955fe6ae6bbbb214bab611f6f5"

# A copy of the workload's root (hard links, like the bench's) with a
# directory of files naming handlers: $T/root.
pyw_root() {
	cp -al "$B/roots/pyworkload" "$T/root" && mkdir "$T/root/names" &&
		echo re >"$T/root/names/re" && echo nope >"$T/root/names/nope" &&
		chmod -R a+rX "$T/root/names"
}

# A program cVM of the copy: pyw_cvm NAME ARGS [extra lines...]
pyw_cvm() {
	local name=$1 args=$2; shift 2
	printf -- '- name: %s\n  disk: %s\n  disk_ro: 1\n  runtime: /usr/bin/python3\n  args: %s\n  memory: 256M\n' \
		"$name" "$T/root" "$args"
	for l in "$@"; do printf '  %s\n' "$l"; done
}

test_pyworkload_outside_a_cvm_runs_the_handler_its_argv_names() {
	local w=$B/roots/pyworkload/app/workload.py
	OUT=$(cd /tmp && PYWORKLOAD_NUMPY=0 timeout 20 /usr/bin/python3 "$w" hash 2>&1); RC=$?
	expect_rc 0 && expect_out "python: modules imported (numpy: no)" && expect_out "$PYW_HASH" || return 1
	OUT=$(cd /tmp && PYWORKLOAD_NUMPY=0 timeout 20 /usr/bin/python3 "$w" 2>&1); RC=$?
	expect_rc 2 && expect_out "python: no handler '' (have: decimal email hash http json numpy re sqlite)"
}

test_pyworkload_outside_a_cvm_reads_a_handler_named_in_a_file() {
	local w=$B/roots/pyworkload/app/workload.py
	echo json >"$T/name"
	OUT=$(PYWORKLOAD_NUMPY=0 timeout 20 /usr/bin/python3 "$w" "@$T/name" 2>&1); RC=$?
	expect_rc 0 && expect_out "python: reading the handler from $T/name" &&
		expect_out 'python json: {"forks": [1, 2, 3], "name": "intravisor", "ok": true, "total": 6}' || return 1
	# a FIFO blocks it after its imports until the name comes
	mkfifo "$T/fifo"
	(PYWORKLOAD_NUMPY=0 timeout 20 /usr/bin/python3 "$w" "@$T/fifo" >"$T/out" 2>&1) &
	local pid=$! i=0
	until grep -q "reading the handler" "$T/out" 2>/dev/null || [ $i -ge 200 ]; do sleep 0.1; i=$((i + 1)); done
	timeout 5 sh -c 'echo hash >"$1"' sh "$T/fifo" # (bounded: no reader, no hang)
	wait $pid; RC=$?
	OUT=$(cat "$T/out")
	expect_rc 0 && expect_out "python: reading the handler from $T/fifo" && expect_out "$PYW_HASH"
}

test_pyworkload_plain_cvm_runs_the_handler_its_argv_names() {
	pyw_root || fail "cannot copy the root" || return 1
	{
		echo "cVMs:"
		pyw_cvm cold "[python3, /app/workload.py, hash]" "wait: -1"
		pyw_cvm none "[python3, /app/workload.py]" "wait: -1"
	} >"$T/c.yaml"
	run_iv -y "$T/c.yaml"
	expect_out "[cold] python: modules imported (numpy: no)" && expect_out "[cold] $PYW_HASH" &&
		expect_err "cVM 'cold' exited with status 0" &&
		expect_out "[none] python: no handler '' (have: decimal email hash http json numpy re sqlite)" &&
		expect_err "cVM 'none' exited with status 2"
}

# A fork reads its handler's name from a file of its disk; a name that is
# no handler, a missing file and a directory end that fork alone.
test_pyworkload_fork_reads_a_handler_named_in_a_file() {
	pyw_root || fail "cannot copy the root" || return 1
	{
		echo "cVMs:"
		pyw_cvm python "[python3, /app/workload.py]" "template: 1" "wait: -1"
		for f in re:names/re nope:/names/nope missing:/names/missing dir:/names; do
			printf -- '- {name: %s, runtime: /usr/bin/python3, args: "@%s", resume: 1, wait: -1}\n' \
				"${f%%:*}" "${f#*:}"
		done
		echo '- {name: after, runtime: /usr/bin/python3, args: "hash", resume: 1, wait: -1}'
	} >"$T/f.yaml"
	run_iv -y "$T/f.yaml"
	expect_out "[re] python: reading the handler from names/re" &&
		expect_out "[re] python re: alpha:1,beta:2,gamma:3" &&
		expect_out "[nope] python: no handler 'nope' (have: decimal email hash http json numpy re sqlite)" &&
		expect_err "cVM 'nope' exited with status 2" &&
		expect_out "[missing] python: cannot read the handler from /names/missing: [Errno 2] No such file or directory: '/names/missing'" &&
		expect_err "cVM 'missing' exited with status 2" &&
		expect_out "[dir] python: cannot read the handler from /names: [Errno 21] Is a directory: '/names'" &&
		expect_err "cVM 'dir' exited with status 2" &&
		expect_out "[after] $PYW_HASH" && expect_err "cVM 'after' exited with status 0"
}

# The template written to an image in one run; in a later run cVMs restored
# from it (no template, no imports) run the handlers their args name.
test_pyworkload_restored_from_an_image_runs_the_handler_its_args_name() {
	pyw_root || fail "cannot copy the root" || return 1
	mkdir -m 700 "$T/snap"
	{
		echo "cVMs:"
		pyw_cvm python "[python3, /app/workload.py]" "template: 1" "snapshot_path: $T/snap"
	} >"$T/save.yaml"
	run_iv -y "$T/save.yaml"
	expect_rc 0 && [ -s "$T/snap/pages.img" ] || fail "no image written" || return 1
	{
		echo "cVMs:"
		pyw_cvm back-sqlite '"sqlite"' "resume: 1" "snapshot_path: $T/snap" "wait: -1"
		pyw_cvm back-hash '"hash"' "resume: 1" "snapshot_path: $T/snap" "wait: -1"
	} >"$T/back.yaml"
	run_iv -y "$T/back.yaml"
	expect_rc 0 && expect_out "[back-sqlite] python sqlite: 100 rows, max row99" &&
		expect_out "[back-hash] $PYW_HASH" && expect_no_out "modules imported"
}
