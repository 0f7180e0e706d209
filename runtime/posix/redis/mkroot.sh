#!/bin/sh
# Makes the root of the redis-server cVM out of Debian's installed files:
#   runtime/posix/redis/mkroot.sh OUT
# With the project's scripts/mkroot.sh (when it is there) that does it;
# else here: redis-server, its ELF interpreter and every library ldd names,
# each at its own path (links followed), an empty /dev (the cell gets its
# devices there) and /tmp.  Built in OUT.tmp and renamed: OUT is complete
# or absent.
set -eu
OUT=$1
[ -x /usr/bin/redis-server ] || { echo "mkroot: redis-server is not installed (scripts/deps.sh)" >&2; exit 1; }
if [ -f scripts/mkroot.sh ]; then
	exec bash scripts/mkroot.sh "$OUT" /usr/bin/redis-server
fi
rm -rf "$OUT.tmp" "$OUT"
mkdir -p "$OUT.tmp/dev" "$OUT.tmp/tmp"
chmod 1777 "$OUT.tmp/tmp"
for f in /usr/bin/redis-server $(ldd /usr/bin/redis-server | grep -o '/[^ ]*'); do
	mkdir -p "$OUT.tmp$(dirname "$f")"
	cp -L "$f" "$OUT.tmp$f"
done
mv "$OUT.tmp" "$OUT"
