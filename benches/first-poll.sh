#!/usr/bin/env bash
# A first poll of the generated corpus (benches/corpus.rs, FEEDS feeds of 59
# items) by two or more newswire binaries in turn, ROUNDS times, each into a
# fresh SQLite store: the round as `fetch --once` times it, and the CPU the
# process used (user + system). For an A/B of a change to parse, gate or
# store: build the binary before it somewhere else, then
#
#   cargo build --release
#   benches/first-poll.sh /path/to/newswire-before target/release/newswire
#
# FEEDS (default 1000) and ROUNDS (default 3) scale it. The binaries
# alternate, so a machine that slows down mid-run slows both.
set -euo pipefail
cd "$(dirname "$0")/.."
FEEDS=${FEEDS:-1000}
ROUNDS=${ROUNDS:-3}
[ $# -ge 1 ] || { echo "usage: $0 NEWSWIRE-BINARY..." >&2; exit 2; }
work=$(mktemp -d)
chmod 755 "$work"   # nginx workers run as another user
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
. benches/upstream.sh
need_nginx
echo "first-poll: writing the corpus ($FEEDS feeds)" >&2
NEWSWIRE_BENCH_WRITE="$work/www" NEWSWIRE_BENCH_FEEDS=$FEEDS NEWSWIRE_BENCH_SMALL=0 \
  cargo bench -q --bench parse >/dev/null 2>&1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
upstream_conf "$work" "$port" on
nginx -p "$work" -c "$work/nginx.conf"
sleep 0.3
for f in "$work"/www/feed-*; do echo "http://127.0.0.1:$port/$(basename "$f")"; done >"$work/urls.txt"
corpus_site "$work/site" "$work/urls.txt"
printf '%-50s %10s %10s %12s\n' binary "round s" "CPU s" "items/s"
for _ in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    rm -rf "$work/data"
    python3 - "$bin" "$work" "$FEEDS" <<'PY'
import re, resource, subprocess, sys
bin, work, feeds = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = subprocess.run([bin, "fetch", "--once", "--config", f"{work}/site/newswire.toml",
                      "--data", f"{work}/data"], capture_output=True, text=True).stdout
r = resource.getrusage(resource.RUSAGE_CHILDREN)
m = re.search(r" 0 failed, in ([0-9.]+) s$", out, re.M)
if not m:
    sys.exit(f"first-poll: {bin} failed or some feeds failed:\n{out[-500:]}")
s = float(m.group(1))
print(f"{bin:50} {s:10.2f} {r.ru_utime + r.ru_stime:10.1f} {feeds * 59 / s:12.0f}")
PY
  done
done
