# Images of programs: Debian's python3 as a template writes its image
# (snapshot_path); cVMs restored from it in a later run, without an
# isolation range, run the handler their args name.

pi_yaml() { # pi_yaml FILE ROLE NAME ARGS [extra]
	local f=$1 role=$2 name=$3 args=$4; shift 4
	{
		printf -- 'cVMs:\n- name: %s\n  disk: %s\n  disk_ro: 1\n  runtime: /usr/bin/python3\n' \
			"$name" "$B/roots/pyworkload"
		printf -- '  args: %s\n  %s: 1\n  snapshot_path: %s\n  wait: -1\n' "$args" "$role" "$T/snap"
		for l in "$@"; do printf '  %s\n' "$l"; done
	} | yaml "$f"
}

# pi_save_and_restore SCRIPT: $T/root's /app/SCRIPT as a template writing
# its image (w.yaml), then a cVM restored from it (r.yaml, named r): $OUT...
pi_save_and_restore() {
	local y
	for y in w r; do
		{ printf -- 'cVMs:\n- name: %s\n  disk: %s\n  runtime: /usr/bin/python3\n' "$y" "$T/root"
		  printf -- '  snapshot_path: %s\n' "$T/snap"
		  if [ $y = w ]; then printf -- '  args: [python3, /app/%s]\n  template: 1\n  wait: -1\n' "$1"
		  else printf -- '  resume: 1\n'; fi
		} | yaml $y.yaml >/dev/null
	done
	run_iv -y "$T/w.yaml"
	expect_rc 0 || return 1
	run_iv -y "$T/r.yaml"
}

test_program_image_of_python_restores_and_runs_handlers() {
	run_iv -y "$(pi_yaml w.yaml template tpl "[python3, /app/workload.py]")"
	expect_rc 0 && [ -s "$T/snap/image.img" ] || { show; fail "no image written"; return 1; }
	run_iv -y "$(pi_yaml r.yaml resume r1 '"hash"')"
	expect_rc 0 &&
	expect_out "[r1] python hash: abf5dacd019d2229174f1daa9e62852554ab1b955fe6ae6bbbb214bab611f6f5" &&
	expect_no_out "modules imported" && expect_err "metrics 'r1' (restore, ms)" || return 1
	run_iv -y "$(pi_yaml s.yaml resume r2 '"sqlite"')"
	expect_rc 0 && expect_out "[r2] python sqlite: 100 rows, max row99"
}

test_program_image_restored_with_a_range_is_refused() {
	run_iv -y "$(pi_yaml w.yaml template tpl "[python3, /app/workload.py]")"
	expect_rc 0 || return 1
	run_iv -y "$(pi_yaml r.yaml resume r1 '"hash"' "isolation:" "- {base: 0x10000000, size: 0x10000000, begin: 0x10000000, end: 0x20000000}")"
	expect_rc 1 && expect_err "image in '$T/snap' is a program's: restore it without 'isolation'"
}

# A restored program has its template's signal handlers (the image records
# them; before, a restored cVM had the default actions).
test_program_image_restores_signal_handlers() {
	cp -al "$B/roots/pyworkload" "$T/root" || return 1
	cat >"$T/root/app/sig.py" <<'PY'
import os, signal, sys
sys.path.insert(0, "/app")
import intravisor
got = []
signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
intravisor.save()
os.kill(os.getpid(), signal.SIGUSR1)
print("handled:", got, flush=True)
PY
	pi_save_and_restore sig.py || return 1
	expect_rc 0 && expect_out "[r] handled: [10]"
}

# A restored program grows its heap (its libc's brk is the template's: the
# monitor answers brk so that it falls back to mmap; before, glibc took the
# cell's higher brk for a grown heap and crashed) and its main stack (room
# below the restored one; before, a deep recursion faulted).
test_program_image_restored_grows_its_heap_and_stack() {
	cp -al "$B/roots/pyworkload" "$T/root" || return 1
	cat >"$T/root/app/grow.py" <<'PY'
import json, sys
sys.path.insert(0, "/app")
import intravisor
intravisor.save()
a = [bytes(1000) for i in range(100000)]
b = bytearray(64 << 20)
print("allocated", len(a), len(b), flush=True)
sys.setrecursionlimit(100000)
x = []
for i in range(20000):
    x = [x]
print("nested json", len(json.dumps(x)), flush=True)
PY
	pi_save_and_restore grow.py || return 1
	expect_rc 0 && expect_out "[r] allocated 100000 67108864" && expect_out "[r] nested json 40002"
}
