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
# alternate, so a machine that slows down mid-run slows both. With
# NEWSWIRE_BENCH_DATABASE_URL (postgres://.../db) each run's store is a fresh
# PostgreSQL database on that server instead (CPU s is then newswire's alone):
#
#   NEWSWIRE_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
#     benches/first-poll.sh /path/to/newswire-before target/release/newswire
#
# With CALLGRIND=1 each run is under valgrind's callgrind, and the
# instructions it counted are printed too: the same from run to run, where
# this machine's wall-clock figures move by a third within an hour (then
# FEEDS=40 ROUNDS=1: callgrind runs some 50 times slower).
set -euo pipefail
cd "$(dirname "$0")/.."
FEEDS=${FEEDS:-1000}
ROUNDS=${ROUNDS:-3}
[ $# -ge 1 ] || { echo "usage: $0 NEWSWIRE-BINARY..." >&2; exit 2; }
work=$(mktemp -d)
chmod 755 "$work"   # nginx workers run as another user
url=${NEWSWIRE_BENCH_DATABASE_URL:-}
db=()
fresh_db() {
  [ -n "$url" ] || return 0
  psql "$url" -v ON_ERROR_STOP=1 -qc 'SET client_min_messages = warning' \
    -c 'DROP DATABASE IF EXISTS newswire_first_poll' -c 'CREATE DATABASE newswire_first_poll' >/dev/null
  db=("${url%/*}/newswire_first_poll")
}
cleanup() {
  kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true
  rm -rf "$work"
  [ -z "$url" ] || psql "$url" -qc 'DROP DATABASE IF EXISTS newswire_first_poll' >/dev/null 2>&1 || true
}
trap cleanup EXIT
. benches/upstream.sh
echo "first-poll: writing the corpus ($FEEDS feeds)" >&2
corpus_up "$work" "$FEEDS"
printf '%-50s %10s %10s %12s %16s\n' binary "round s" "CPU s" "items/s" "instructions"
for _ in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    rm -rf "$work/data"
    fresh_db
    CALLGRIND=${CALLGRIND:-} python3 - "$bin" "$work" "$FEEDS" "${db[@]}" <<'PY'
import os, re, resource, subprocess, sys
bin, work, feeds = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = ["--database-url", sys.argv[4]] if len(sys.argv) > 4 else []
wrap = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] if os.environ["CALLGRIND"] else []
run = subprocess.run([*wrap, bin, "fetch", "--once", "--config", f"{work}/site/newswire.toml",
                      "--data", f"{work}/data", *store], capture_output=True, text=True)
out = run.stdout
counted = re.search(r"Collected : (\d+)", run.stderr)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
m = re.search(r" 0 failed, in ([0-9.]+) s$", out, re.M)
if not m:
    sys.exit(f"first-poll: {bin} failed or some feeds failed:\n{out[-500:]}")
s = float(m.group(1))
instructions = f"{int(counted.group(1)):,}" if counted else "-"
print(f"{bin:50} {s:10.2f} {r.ru_utime + r.ru_stime:10.1f} {feeds * 59 / s:12.0f} {instructions:>16}")
PY
  done
done
