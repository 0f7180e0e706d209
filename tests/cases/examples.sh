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

test_mt_template_example_forks_get_their_workers_back() {
	run_iv -y runtime/baremetal/mt_template/mt.yaml
	expect_rc 0 && expect_out "[mt] mt: template saving with two workers running" &&
	expect_out_has "[mt-fork1] mt: both workers came back and counted since the save: " &&
	expect_out_has "[mt-fork2] mt: both workers came back" &&
	expect_no_out "counted since the save: 0"
}

test_heap_template_example_forks_share_the_initialised_heap() {
	run_iv -y runtime/baremetal/heap_template/heap.yaml
	expect_rc 0 && expect_out "[heap] heap: template initialised MiB: 16" &&
	expect_out "[reader1] heap: fork read, checksum 724992" &&
	expect_out "[reader2] heap: fork read, checksum 724992" &&
	expect_out "[writer] heap: fork rewrote every page, MiB: 16" &&
	expect_no_out "[reader1] heap: template"
}
