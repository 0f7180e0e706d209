# The duktape-js workload's cold modes (bench/workloads uses them): outside
# any cVM its hostcalls return -ENOSYS and it evaluates argv[1] after its
# init; a plain cVM (no template) evaluates the file its args name.

test_duktape_js_outside_a_cvm_evaluates_its_argument() {
	OUT=$(cd runtime/posix/duktape/js && timeout 10 "$B/runtime/duktape/duktape" base64.js 2>&1); RC=$?
	expect_rc 0 && expect_out "SGVsbG8gVGhlcmU=" || return 1
	OUT=$(timeout 10 "$B/runtime/duktape/duktape" 2>&1); RC=$?
	expect_rc 2 && expect_out "duktape: outside a cVM, give the JS file as the one argument"
}

test_duktape_js_plain_cvm_with_args_evaluates_them() {
	cp -r runtime/posix/duktape/js "$T/disk" && chmod 755 "$T/disk"
	{ echo "cVMs:"
	  cvm_entry cold "$B/runtime/duktape/duktape" 0x20000000 'args: "primes.js"' "disk: $T/disk" "disk_ro: 1"
	} >"$T/c.yaml"
	sed -i 's/size: 0x1000000/size: 0x10000000/; s/end: 0x21000000/end: 0x30000000/' "$T/c.yaml"
	run_iv -y "$T/c.yaml"
	expect_rc 0 && expect_out "[cold] template: heap created, print registered, saving" &&
	expect_out "[cold] primes below 100: 25 sum 1060"
}
