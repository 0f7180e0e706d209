# The examples under runtime/baremetal behave as the seed's do.

test_hello_world_prints_cap_test1() {
	run_iv -y runtime/baremetal/hello_world/hello.yaml
	expect_rc 0 &&
	expect_out "[hello] I am a template!" &&
	expect_out "[hello] hello world, let's read cap 'test1' " &&
	expect_out "[hello] Hello world" &&
	expect_err "cVM 'hello' exited with status 0"
}

test_hello_world_under_asan() {
	run_iv -a -y runtime/baremetal/hello_world/hello.yaml
	expect_rc 0 && expect_out "[hello] Hello world"
}

test_verbose_shows_deployment_steps() {
	run_iv -v -y runtime/baremetal/hello_world/hello.yaml
	expect_rc 0 &&
	expect_err "CAP[0] test1 32 bytes" &&
	expect_err "Mapped 0x" &&
	expect_err "[cVM STACKs] = [0x2f800000 -- 0x30000000]" &&
	expect_err "probe 'test1' -> 32 bytes at 0x"
}
