# The seed's python workload (runtime/posix/pyworkload): a Python template
# that imported its modules and saved through ctypes (one raw hostcall);
# forks run the handler their args name.

test_pyworkload_forks_run_each_handler_from_the_imported_template() {
	run_iv -y runtime/posix/pyworkload/pyworkload.yaml
	expect_rc 0 && expect_out "[python] python: modules imported (numpy: no)" &&
	expect_out '[py-json] python json: {"forks": [1, 2, 3], "name": "intravisor", "ok": true, "total": 6}' &&
	expect_out "[py-re] python re: alpha:1,beta:2,gamma:3" &&
	expect_out "[py-decimal] python decimal: 0.142857142857142857142857142857" &&
	expect_out "[py-sqlite] python sqlite: 100 rows, max row99" &&
	expect_out "[py-hash] python hash: abf5dacd019d2229174f1daa9e62852554ab1b955fe6ae6bbbb214bab611f6f5" &&
	expect_out "[py-email] python email: a@example.org -> b@example.org: forks" &&
	expect_out "[py-http] python http: 200 text/plain hello" &&
	expect_err "template 'python' released after 7 fork(s)" || return 1
	# the imports were the template's: no fork printed them
	[ "$(grep -c 'modules imported' <<<"$OUT")" = 1 ] || fail "a fork imported again"
}

test_pyworkload_fork_with_an_unknown_handler_ends_alone() {
	sed 's/args: "json"/args: "nope"/' runtime/posix/pyworkload/pyworkload.yaml |
		sed "s|../../../build|$B|" | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_out "[py-json] python: no handler 'nope' (have: decimal email hash http json numpy re sqlite)" &&
	expect_err "cVM 'py-json' exited with status 2" &&
	expect_out "[py-http] python http: 200 text/plain hello"
}
