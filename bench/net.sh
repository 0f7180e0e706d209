#!/usr/bin/env bash
# bench/net.sh - what networking costs a cVM, against its peers in the same run
# (`make bench-net`):
#
#   (a) start-up of a program cVM (busybox `true`): without net: (the shared
#       empty namespace), with `net: loopback` (a namespace of its own) and
#       with an address (and a veth pair to the host): planned -> cell
#       ready (the namespaces, the cell, its stub) and deploy -> running,
#       medians over RUNS cVMs of each kind, deployed one after another,
#       interleaved, by one monitor run (bench/net_start.c);
#   (b) Debian's redis-server natively against the same redis-server in a
#       cVM (runtime/posix/redis/redis.yaml), both running at once:
#       `redis-benchmark -n N -t set,get` against each, ROUNDS rounds
#       interleaved, median requests per second, and the ratio to native;
#       the cVM reached over its veth (its address) and through the port
#       the monitor forwards from the host.
#
#   bench/net.sh [RUNS] [ROUNDS] [N]      (defaults 30 5 100000)
# Needs root (as the monitor does), busybox-static and redis (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30} ROUNDS=${2:-5} N=${3:-100000}
B=$PWD/build
IV=$B/intravisor
W=$(mktemp -d /tmp/iv-bench-net-XXXXXX)
PORT_NATIVE=6391
mon=
cleanup() {
	if [ -n "$mon" ]; then kill -TERM "$mon" 2>/dev/null; wait "$mon" 2>/dev/null || true; fi
	redis-cli -p $PORT_NATIVE shutdown nosave >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT

median() { sort -g | awk '{a[NR]=$1} END {print NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# ---- (a) start-up
mkdir -p "$W/disk/bin" "$W/disk/dev" "$W/disk/proc" "$W/disk/tmp"
cp /bin/busybox "$W/disk/bin/"
{
	echo "cVMs:"
	for i in $(seq 0 $((RUNS + 2))); do
		echo "- {name: plain$i, disk: $W/disk, runtime: /bin/busybox, args: \"true\", wait: -1}"
		echo "- {name: lo$i, disk: $W/disk, runtime: /bin/busybox, args: \"true\", wait: -1, net: loopback}"
		echo "- {name: veth$i, disk: $W/disk, runtime: /bin/busybox, args: \"true\", wait: -1, net: {address: 10.77.$((i / 200 + 100)).$((i % 200 + 2))/16}}"
	done
} >"$W/start.yaml"
"$B/bench/net_start" "$W/start.yaml" >"$W/start.txt" 2>"$W/start.err" || { cat "$W/start.err" >&2; exit 1; }
echo "== (a) program cVM start-up (busybox true), $RUNS of each kind after 3 warm-up, median =="
python3 - "$W/start.txt" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
kinds = {"plain": "no net: (the shared empty namespace)", "lo": "net: loopback",
         "veth": "net: {address} (a veth to the host)"}
res = {}
for k in kinds:
    xs = [r for r in rows if r[0].rstrip("0123456789") == k and int(r[0][len(k):]) >= 3]
    res[k] = (statistics.median(float(r[1]) for r in xs), statistics.median(float(r[2]) for r in xs))
for k, title in kinds.items():
    c, g = res[k]
    print(f"  {title:38s} cell {c:7.0f} us ({c/res['plain'][0]:.2f}x plain)   "
          f"deploy->running {g:7.0f} us ({g/res['plain'][1]:.2f}x; with the cgroup move)")
EOF

# ---- (b) redis-server, native against in a cVM
[ -d "$B/roots/redis" ] || sh runtime/posix/redis/mkroot.sh "$B/roots/redis"
redis-server --port $PORT_NATIVE --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
	--logfile "$W/native.log" --dir "$W"
"$IV" -y runtime/posix/redis/redis.yaml >"$W/cvm.out" 2>&1 &
mon=$!
for _ in $(seq 100); do
	redis-cli -p $PORT_NATIVE ping >/dev/null 2>&1 && redis-cli -h 10.77.0.2 ping >/dev/null 2>&1 &&
		redis-cli -p 6380 ping >/dev/null 2>&1 && break
	sleep 0.1
done
# rps NAME TEST: one redis-benchmark run's requests per second for TEST
bench() { redis-benchmark --csv -n "$N" -t set,get "$@" | tr -d '"' | awk -F, '$1 == "SET" || $1 == "GET" {print $1, $2}'; }
for r in $(seq "$ROUNDS"); do
	bench -p $PORT_NATIVE | sed 's/^/native /'
	bench -h 10.77.0.2 | sed 's/^/veth /'
	bench -p 6380 | sed 's/^/fwd /'
done >"$W/redis.txt"
echo
echo "== (b) redis-benchmark -n $N -t set,get (50 clients), $ROUNDS rounds interleaved, median requests/s =="
for t in SET GET; do
	nat=$(awk -v t=$t '$1 == "native" && $2 == t {print $3}' "$W/redis.txt" | median)
	for v in veth fwd; do
		x=$(awk -v v=$v -v t=$t '$1 == v && $2 == t {print $3}' "$W/redis.txt" | median)
		case $v in
		veth) title="cVM over its veth (10.77.0.2:6379)" ;;
		fwd) title="cVM through the forwarded 127.0.0.1:6380" ;;
		esac
		printf '  %s  native %9.0f   %-42s %9.0f   ratio %.2fx%s\n' $t "$nat" "$title" "$x" \
			"$(echo "$x $nat" | awk '{print $1 / $2}')" \
			"$([ $v = veth ] && echo "  (target >= 0.90x)" || echo "  (userspace relay)")"
	done
done
