# Sharing between cVMs (README "Sharing between cVMs"): cap files as files
# of programs under /cap, which cVM may use which key (caps:, advertisers'
# restrictions).  Programs are runtime/posix/cap_file/cap_file.c (the
# seed's app, and a few checks); freestanding cVMs tests/cvm/share.c.

CAPFILE=$B/runtime/cap_file/cap_file
SHARE=$B/tests/share.so

# sh_disk DIR: a program's disk with /cap and the cap_file program
sh_disk() {
	mkdir -p "$1/cap" "$1/bin" && cp "$CAPFILE" "$1/bin/cap_file"
}

# sh_caps: the config's cap files
sh_caps() {
	printf -- '---\ncapfiles:\n- name: test1\n  size: 0x20\n  data: "Hello world\\n"\n'
	printf -- '- name: secret\n  size: 0x1000\n  data: "the secret"\n---\ncVMs:\n'
}

# sh_prog NAME ARGS [extra lines]: a cap_file program on $T/disk
sh_prog() {
	local n=$1 a=$2; shift 2
	printf -- '- name: %s\n  disk: %s\n  runtime: /bin/cap_file\n  args: [cap_file, %s]\n' \
		"$n" "$T/disk" "$a"
	for l in "$@"; do printf '  %s\n' "$l"; done
}

# sh_bare NAME BEGIN ARGS [extra lines]: a share.so cVM
sh_bare() {
	local n=$1 b=$2 a=$3; shift 3
	cvm_entry "$n" "$SHARE" "$b" "args: \"$a\"" "$@"
}

test_cap_file_app_of_the_seed_reads_writes_and_reads_back_test1() {
	run_iv -y runtime/posix/cap_file/cap_file.yaml
	expect_rc 0 && expect_out "[cap_file] device is open: /cap/test1" &&
	expect_out "[cap_file] read 32 bytes ('Hello world" &&
	expect_out "[cap_file] wrote 12 bytes" &&
	expect_out "[cap_file] read 12 bytes ('cap filler" &&
	expect_out "[cap_file] ') from cap_file with key 'test1'"
}

test_cap_file_written_through_a_programs_mapping_is_read_by_programs_and_baremetal() {
	sh_disk "$T/disk" || return 1
	{ sh_caps
	  sh_prog writer "map, test1, written-by-a-mapping" "wait: -1"
	  sh_prog reader "read, test1" "wait: -1"
	  sh_bare bare 0x20000000 "probe test1"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[writer] map test1: 32 bytes, a regular file: 1, wrote 'written-by-a-mapping'" &&
	expect_out "[reader] read test1: 32 bytes: 'written-by-a-mapping'" &&
	expect_out "[bare] share probe test1: 'written-by-a-mapping'"
}

test_cap_file_written_by_baremetal_is_read_by_a_program_through_its_file() {
	sh_disk "$T/disk" || return 1
	{ sh_caps
	  sh_bare bare 0x20000000 "write test1 from-baremetal" "wait: -1"
	  sh_prog reader "read, test1"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[bare] share write test1: 0" &&
	expect_out "[reader] read test1: 32 bytes: 'from-baremetal'"
}

test_cap_file_cannot_be_shrunk_by_a_program_or_a_baremetal_cvm() {
	sh_disk "$T/disk" || return 1
	{ sh_caps
	  sh_prog prog "truncate, test1" "wait: -1"
	  sh_bare bare 0x20000000 "shrink test1" "wait: -1"
	  sh_prog after "read, test1"
	} | yaml a.yaml >/dev/null
	run_iv -a -y "$T/a.yaml"
	expect_rc 0 &&
	expect_out "[prog] truncate test1: ftruncate Permission denied, O_TRUNC Permission denied, truncate Permission denied, size 32" &&
	expect_out "[bare] share shrink test1: ftruncate errno 13, size 32" &&
	expect_out "[after] read test1: 32 bytes: 'Hello world"
}

test_cap_file_a_program_may_not_use_does_not_exist_under_its_cap() {
	sh_disk "$T/disk" || return 1
	{ sh_caps
	  sh_prog p "open, secret" "caps: [test1]" "wait: -1"
	  sh_prog q "open, test1" "caps: [test1]"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[p] open secret: No such file or directory" &&
	expect_out "[q] open test1: ok"
}

test_caps_refused_probe_is_reported_and_behaves_as_missing() {
	{ sh_caps
	  sh_bare a 0x20000000 "probe secret" "caps: [test1]" "wait: -1"
	  sh_bare b 0x30000000 "probe nosuchkey" "caps: [test1]" "wait: -1"
	  sh_bare c 0x40000000 "probe test1" "caps: [test1]"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[a] share probe secret: errno 2" &&
	expect_err "MON: cVM 'a' may not probe cap file 'secret': not in its caps" &&
	expect_out "[b] share probe nosuchkey: errno 2" && expect_no_err "nosuchkey" &&
	expect_out "[c] share probe test1: 'Hello world"
}

test_caps_without_a_list_every_key_is_allowed_as_in_the_seed() {
	{ sh_caps
	  sh_bare a 0x20000000 "probe secret"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[a] share probe secret: 'the secret'"
}

test_caps_advertised_key_restricted_to_named_cvms() {
	sh_disk "$T/disk" || return 1
	{ sh_caps
	  sh_bare owner 0x20000000 "adv mine friend,other own-text" "wait: -1"
	  sh_bare friend 0x30000000 "probe mine" "wait: -1"
	  sh_bare stranger 0x40000000 "probe mine" "wait: -1"
	  sh_prog other "read, mine" "wait: -1"
	  sh_prog outsider "open, mine"
	} | yaml a.yaml >/dev/null
	run_iv -a -y "$T/a.yaml"
	expect_rc 0 && expect_out "[owner] share adv mine: 0" &&
	expect_out "[friend] share probe mine: 'own-text'" &&
	expect_out "[stranger] share probe mine: errno 2" &&
	expect_err "MON: cVM 'stranger' may not probe cap file 'mine': its advertiser allows only friend,other" &&
	expect_out "[other] read mine: 255 bytes: 'own-text'" &&
	expect_out "[outsider] open mine: No such file or directory"
}

test_caps_a_cvm_may_not_advertise_a_key_outside_its_caps() {
	{ sh_caps
	  sh_bare squat 0x20000000 "adv svc - fake" "caps: [test1]" "wait: -1"
	  sh_bare bad 0x30000000 "adv ../x - y" "wait: -1"
	  sh_bare badnames 0x40000000 "adv k a,,b z"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[squat] share adv svc: -1" &&
	expect_err "MON: cVM 'squat' may not advertise cap file 'svc': not in its caps" &&
	expect_out "[bad] share adv ../x: -22" && expect_out "[badnames] share adv k: -22"
}

test_caps_config_errors_name_the_line() {
	{ sh_caps
	  sh_bare a 0x20000000 "probe test1" "caps: [test1, test1]"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 2 && expect_err "key 'caps': 'test1' is given twice" || return 1
	{ sh_caps
	  sh_bare a 0x20000000 "probe test1" "caps: test1"
	} | yaml b.yaml >/dev/null
	run_iv -y "$T/b.yaml"
	expect_rc 2 && expect_err "key 'caps': expected a list of keys" || return 1
	{ sh_caps
	  sh_bare t 0x20000000 "probe test1" "template: 1"
	  printf -- '- name: f\n  runtime: %s\n  resume: 1\n  caps: [test1]\n' "$SHARE"
	} | yaml c.yaml >/dev/null
	run_iv -y "$T/c.yaml"
	expect_rc 2 && expect_err "key 'caps': cVM 'f' is a fork: it may use what its template's caps allow"
}
