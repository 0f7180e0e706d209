# Networked cVMs (net:, README "Networking"): a private loopback, an
# address on a veth to the host, peers, forwarded ports, forks of a
# networked template, Debian's redis-server served to the host; escape
# attempts (raw and packet sockets, netlink, the host's other addresses)
# and bad configs.  Everything stays on this machine: the host's loopback
# and the veths the monitor makes (10.77.0.0/16).  Monitors started in the
# background are ended by a trap, and no test leaves a veth behind.

SAVE_SH=$B/tests/posix/save_sh

# net_disk DIR: busybox with the applets the tests use, save_sh, /dev, /tmp
net_disk() {
	local d=$1 a
	mkdir -p "$d/bin" "$d/dev" "$d/proc" "$d/tmp" &&
	cp /bin/busybox "$SAVE_SH" "$d/bin/" &&
	for a in sh nc echo cat sleep seq ping arping ip true; do ln -sf busybox "$d/bin/$a"; done &&
	chmod 1777 "$d/tmp"
}

# net_entry NAME SHELL-COMMAND [extra lines]: busybox sh -c COMMAND in $T/disk
net_entry() {
	local n=$1 cmd=$2; shift 2
	printf -- '- name: %s\n  disk: %s\n  runtime: /bin/busybox\n  args: [sh, -c, "%s"]\n' \
		"$n" "$T/disk" "$cmd"
	for l in "$@"; do printf '  %s\n' "$l"; done
}

# The monitor in the background (bounded like run_iv); net_wait_bg waits for
# it and sets OUT, ERR, RC.  The trap ends it whatever the test does.
# MON is the monitor's own pid (its veths are iv$MON.N).
BG= MON=
net_bg() {
	local i
	timeout -k 5 20 "$B/intravisor" -y "$1" >"$T/bg.out" 2>"$T/bg.err" &
	BG=$!
	trap 'net_cleanup' EXIT
	for i in $(seq 50); do MON=$(pgrep -P "$BG") && break; sleep 0.05; done
}
net_cleanup() {
	[ -n "$BG" ] && kill -TERM "$BG" 2>/dev/null && wait "$BG" 2>/dev/null
	BG=
}
net_wait_bg() {
	wait "$BG"
	RC=$?
	BG=
	OUT=$(cat "$T/bg.out")
	ERR=$(cat "$T/bg.err")
}

# host_nc ADDR PORT: connects from the host, retrying for up to 5 s while
# the cVM is not listening yet (or, through a forwarded port, the relay
# closed at once); prints what it received until the cVM closed
host_nc() {
	local i
	for i in $(seq 50); do
		python3 -c 'import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
d = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    d += b
sys.stdout.write(d.decode())
sys.exit(0 if d else 1)' "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# host_listen PORT: a listener on the host's 127.0.0.1:PORT for this test
# (ended by the trap); waits until it listens.
HOLDER=
host_listen() {
	local i
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(30)' "$1" &
	HOLDER=$!
	trap 'kill $HOLDER 2>/dev/null; net_cleanup' EXIT
	for i in $(seq 50); do
		grep -q ":$(printf '%04X' "$1") 00000000:0000 0A" /proc/net/tcp && return 0
		sleep 0.05
	done
	return 1
}

# The monitor's veths (iv<pid>.<n>): none may be left once it has ended.
no_veth_left() {
	local left
	left=$(ip -o link show 2>/dev/null | grep -o "iv$1\.[0-9]*" || true)
	[ -z "$left" ] || fail "left behind: $left"
}

test_net_cvm_without_net_cannot_make_a_socket() {
	net_disk "$T/disk" || return 1
	run_iv -y "$(printf 'cVMs:\n%s\n' "$(net_entry plain 'nc -l -p 7000 || echo no-socket')" | yaml a.yaml)"
	expect_rc 0 && expect_out "[plain] no-socket" && expect_err "denied system call socket"
}

test_net_loopback_is_up_and_private_to_each_cvm() {
	net_disk "$T/disk" || return 1
	{ echo "cVMs:"
	  net_entry one 'nc -l -p 7000 127.0.0.1 -e echo hello-lo & for i in $(seq 50); do nc 127.0.0.1 7000 && break; sleep 0.1; done; wait' \
		"net: loopback" "wait: 0"
	  net_entry two 'nc -l -p 7001 -e echo mine & sleep 0.5; nc 127.0.0.1 7000 </dev/null && echo REACHED-one || echo not-one; nc 127.0.0.1 7001' \
		"net: loopback"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[one] hello-lo" && expect_out "[two] not-one" &&
	expect_out "[two] mine" && expect_no_out "REACHED"
}

test_net_two_cvms_talk_over_tcp_and_a_third_not_allowed_cannot() {
	net_disk "$T/disk" || return 1
	{ echo "cVMs:"
	  net_entry srv 'nc -l -p 7000 -e echo hello-client' \
		"net: {address: 10.77.10.2/24}" "wait: 0"
	  net_entry cli 'for i in $(seq 50); do nc 10.77.10.2 7000 && break; sleep 0.1; done' \
		"net: {address: 10.77.10.3/24, peers: [srv]}" "wait: 0"
	  net_entry other 'sleep 0.3; nc -w 2 10.77.10.2 7000 </dev/null && echo REACHED || echo other-blocked' \
		"net: {address: 10.77.10.4/24}"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_out "[cli] hello-client" && expect_out "[other] other-blocked" &&
	expect_no_out "REACHED" && expect_no_err "refused"
}

test_net_host_reaches_a_cvm_on_its_address_and_through_a_forwarded_port() {
	net_disk "$T/disk" || return 1
	{ echo "cVMs:"
	  net_entry srv 'nc -l -p 7000 -e echo via-veth; nc -l -p 7001 -e echo via-port' \
		'net: {address: 10.77.11.2/24, ports: ["127.0.0.1:17101:7001"]}'
	} | yaml a.yaml >/dev/null
	net_bg "$T/a.yaml"
	local pid=$MON a b
	a=$(host_nc 10.77.11.2 7000)
	b=$(host_nc 127.0.0.1 17101)
	net_wait_bg
	[ "$a" = via-veth ] || { show; fail "host over the veth got '$a'"; return 1; }
	[ "$b" = via-port ] || { show; fail "host through the port got '$b'"; return 1; }
	expect_rc 0 && no_veth_left "$pid"
}

# From inside a networked cVM: raw and packet sockets, netlink (reading and
# changing routes), the host's loopback and its other interfaces.
test_net_escapes_from_a_networked_cvm_are_refused() {
	net_disk "$T/disk" || return 1
	local other
	other=$(ip -4 -o addr show scope global | awk '{sub(/\/.*/, "", $4); print $4; exit}')
	other=${other:-192.0.2.1}
	host_listen 17199 || return 1
	{ echo "cVMs:"
	  net_entry att "ping -c 1 -W 1 10.77.12.1 && echo ESCAPED-raw || echo blocked-raw; \
arping -c 1 -w 1 -I eth0 10.77.12.1 && echo ESCAPED-packet || echo blocked-packet; \
ip route add 10.99.0.0/16 via 10.77.12.1 && echo ESCAPED-route || echo blocked-route; \
ip addr && echo ESCAPED-netlink || echo blocked-netlink; \
nc -w 2 127.0.0.1 17199 </dev/null && echo ESCAPED-hostlo || echo blocked-hostlo; \
nc -w 2 $other 22 </dev/null && echo ESCAPED-other || echo blocked-other; \
nc -w 2 10.77.12.1 1 </dev/null; echo host-end-tried" \
		"net: {address: 10.77.12.2/24}"
	} | yaml a.yaml >/dev/null
	run_iv -y "$T/a.yaml"
	expect_rc 0 && expect_no_out "ESCAPED" && expect_out "[att] blocked-raw" &&
	expect_out "[att] blocked-packet" && expect_out "[att] blocked-route" &&
	expect_out "[att] blocked-netlink" && expect_out "[att] blocked-hostlo" &&
	expect_out "[att] blocked-other" && expect_out "[att] host-end-tried" &&
	expect_err "denied system call socket" &&
	expect_err "[att] nc: can't connect to remote host ($other): Network is unreachable" ||
		return 1
	# no route was added anywhere
	! ip route show | grep -q 10.99. || fail "a route appeared on the host"
}

test_net_forks_of_a_networked_template_get_their_own_namespace_and_address() {
	net_disk "$T/disk" || return 1
	yaml a.yaml >/dev/null <<EOF
cVMs:
- name: tpl
  disk: $T/disk
  runtime: /bin/save_sh
  template: 1
  wait: -1
  net: {address: 10.77.13.2/24, forks: 10.77.13.16-10.77.13.17}
- {name: f1, runtime: /bin/save_sh, resume: 1, wait: 0, args: "nc -l -p 7000 -e echo I am f1"}
- {name: f2, runtime: /bin/save_sh, resume: 1, wait: 0, args: "nc -l -p 7000 -e echo I am f2",
   net: {ports: ["127.0.0.1:17113:7000"]}}
EOF
	net_bg "$T/a.yaml"
	local pid=$MON a b
	a=$(host_nc 10.77.13.16 7000)
	b=$(host_nc 127.0.0.1 17113)
	net_wait_bg
	[ "$a" = "I am f1" ] || { show; fail "f1 at 10.77.13.16 said '$a'"; return 1; }
	[ "$b" = "I am f2" ] || { show; fail "f2 through its port said '$b'"; return 1; }
	expect_rc 0 && expect_err "template 'tpl' released after 2 fork(s)" && no_veth_left "$pid"
}

test_net_template_holding_a_socket_at_host_save_is_refused() {
	net_disk "$T/disk" || return 1
	yaml a.yaml >/dev/null <<EOF
cVMs:
- name: tpl
  disk: $T/disk
  runtime: /bin/save_sh
  args: [save_sh, listen]
  template: 1
  wait: -1
  net: loopback
- {name: f1, runtime: /bin/save_sh, resume: 1, args: "echo never"}
EOF
	run_iv -y "$T/a.yaml"
	expect_out "[tpl] save_sh: listening" && expect_err "is a socket, which forks cannot get a copy of" &&
	expect_no_out "never"
}

test_net_monitor_killed_leaves_no_veth() {
	net_disk "$T/disk" || return 1
	{ echo "cVMs:"; net_entry s 'sleep 30' "net: {address: 10.77.14.2/24}"; } | yaml a.yaml >/dev/null
	net_bg "$T/a.yaml"
	local pid=$MON i
	for i in $(seq 50); do ip -o link show | grep -q "iv$pid\." && break; sleep 0.1; done
	ip -o link show | grep -q "iv$pid\." || { fail "no veth was made"; return 1; }
	kill -KILL "$pid" # the monitor itself (timeout's child)
	wait "$BG" 2>/dev/null
	BG=
	# its cells die with it (parent-death signal), their namespaces and veths too
	for i in $(seq 50); do ip -o link show | grep -q "iv$pid\." || break; sleep 0.1; done
	no_veth_left "$pid"
}

# bad_net NAME [YAML lines...] <<< cVMs: the config must start nothing
bad_net() {
	run_iv -y "$1"
	expect_rc 2 && expect_err "$2" && expect_no_out "[" || return 1
	[ "$(grep -c . <<<"$ERR")" = 1 ] || { show; fail "expected one line"; }
}

test_net_bad_configs_start_nothing_with_one_line() {
	net_disk "$T/disk" || return 1
	local y=$T/b.yaml
	cfg() { { echo "cVMs:"; for e in "$@"; do printf '%s\n' "$e"; done; } >"$y"; }
	one() { net_entry "$1" 'echo started' "$2"; }
	cfg "$(one a 'net: tap0')"
	bad_net "$y" "key 'net': expected 'loopback' or a mapping" || return 1
	cfg "$(one a 'net: {address: 10.77.20.2}')"
	bad_net "$y" "key 'address': expected an IPv4 address with its prefix" || return 1
	cfg "$(one a 'net: {address: 10.77.20.256/24}')"
	bad_net "$y" "key 'address': expected an IPv4 address with its prefix" || return 1
	cfg "$(one a 'net: {address: 10.77.20.2/24, ports: ["6380"]}')"
	bad_net "$y" "key 'ports': expected \"[HOSTADDR:]HOSTPORT:PORT\"" || return 1
	cfg "$(one a 'net: {address: 10.77.20.2/24, bridge: br0}')"
	bad_net "$y" "key 'bridge': unknown net key" || return 1
	# overlapping addresses: two cVMs, a cVM and the host
	cfg "$(one a 'net: {address: 10.77.20.2/24}')" "$(one b 'net: {address: 10.77.20.2/24}')"
	bad_net "$y" "address 10.77.20.2 of cVM 'b' is also the address of cVM 'a'" || return 1
	cfg "$(one a 'net: {address: 10.77.20.1/24}')"
	bad_net "$y" "10.77.20.1 is the host end's address" || return 1
	cfg "$(one a 'net: {address: 127.0.0.2/8}')"
	bad_net "$y" "127.0.0.2/8 of cVM 'a' overlaps the host's address 127.0.0.1 (lo)" || return 1
	# addresses outside the configured range
	cfg "$(one a 'net: {address: 10.77.20.2/24, gateway: 10.77.21.1}')"
	bad_net "$y" "key 'gateway': 10.77.21.1 is outside 10.77.20.0/24" || return 1
	cfg "$(one a 'net: {address: 10.77.20.2/24, forks: 10.77.21.16/28}')"
	bad_net "$y" "key 'forks': 10.77.21.16-10.77.21.31 is not within the host addresses of 10.77.20.0/24" || return 1
	cfg "- {name: t, disk: $T/disk, runtime: /bin/save_sh, template: 1, wait: -1, net: {address: 10.77.20.2/24, forks: 10.77.20.16/30}}" \
		"- {name: f, runtime: /bin/save_sh, resume: 1, net: {address: 10.77.20.40/24}}"
	bad_net "$y" "10.77.20.40 of fork 'f' is outside template 't''s forks range 10.77.20.16-10.77.20.19" || return 1
	# ports already taken: by two cVMs, by the host
	cfg "$(one a 'net: {address: 10.77.20.2/24, ports: ["127.0.0.1:17150:1"]}')" \
		"$(one b 'net: {address: 10.77.20.3/24, ports: ["17150:2"]}')"
	bad_net "$y" "host port 17150 of cVM 'b' is already taken by cVM 'a'" || return 1
	host_listen 17151 || return 1
	cfg "$(one a 'net: {address: 10.77.20.2/24, ports: ["127.0.0.1:17151:6379"]}')"
	bad_net "$y" "key 'ports': 127.0.0.1:17151 on the host for cVM 'a': already taken" || return 1
	# peers that cannot be
	cfg "$(one a 'net: {address: 10.77.20.2/24, peers: [nobody]}')"
	bad_net "$y" "key 'peers': 'nobody' of cVM 'a': there is no cVM of that name" || return 1
	cfg "$(one a 'net: {address: 10.77.20.2/24, peers: [b]}')" "$(one b 'net: loopback')"
	bad_net "$y" "key 'peers': 'b' of cVM 'a': it has no address" || return 1
	ip -4 -o addr show | grep -q '10\.77\.20\.' && fail "a veth was made" || true
}

test_net_redis_server_serves_the_host_through_its_forwarded_port() {
	command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
		{ echo "    (redis-server or redis-cli missing: scripts/deps.sh installs them)" >&2; return 1; }
	sh runtime/posix/redis/mkroot.sh "$T/redis" || return 1
	sed -e "s|disk: .*|disk: $T/redis|" -e 's|10.77.0.2/24|10.77.15.2/24|' \
		-e 's|127.0.0.1:6380:6379|127.0.0.1:17180:6379|' runtime/posix/redis/redis.yaml | yaml r.yaml >/dev/null
	net_bg "$T/r.yaml"
	local pid=$MON i got
	for i in $(seq 100); do redis-cli -p 17180 ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
	redis-cli -p 17180 set greeting "hello from the host" >/dev/null
	got=$(redis-cli -h 10.77.15.2 get greeting)
	net_cleanup
	OUT=$(cat "$T/bg.out") ERR=$(cat "$T/bg.err")
	[ "$got" = "hello from the host" ] || { show; fail "got '$got'"; return 1; }
	expect_out_has "Ready to accept connections" && no_veth_left "$pid"
}
