#!/usr/bin/env bash
# Archive pages on demand, for one newswire binary or an A/B of several: the
# store of aggregate-vs-reader.sh's memory step (the generated corpus of FEEDS
# feeds polled twice, 118,000 items, a timeline "everything" of 1,000 items
# over every source, so closed pages of 500 entries) is made once; then each
# binary in turn, ROUNDS times, starts `serve` on a fresh copy of it and asks
# for the first PAGES closed pages of the timeline:
#   first    the first request of a page (its rows read, its three formats
#            rendered, the one asked for compressed, all kept in the store)
#   another  another format of the same page (its kept row, compressed)
#   again    the first request again (from memory)
#   restart  after a restart of serve, the first format again (its kept row
#            with its kept compressed bodies)
# Medians of PAGES pages, in ms, as curl sees them (--compressed).
#
#   cargo build --release && cp target/release/newswire /tmp/nw
#   benches/archive-pages.sh /tmp/nw
#   benches/archive-pages.sh /tmp/nw-before /tmp/nw          # A/B, alternating
#   NEWSWIRE_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test benches/archive-pages.sh /tmp/nw
#
# Copy the binaries out of target/ first: writing the corpus runs `cargo bench`,
# which may rebuild target/release/newswire. With NEWSWIRE_BENCH_DATABASE_URL
# the store is a PostgreSQL database (each run on a copy made with CREATE
# DATABASE ... TEMPLATE), else SQLite. With STORE=DIR (SQLite only) the store
# is made in DIR the first time and reused by later runs, which then skip the
# corpus and the polls.
set -euo pipefail
cd "$(dirname "$0")/.."
FEEDS=${FEEDS:-1000}
PAGES=${PAGES:-15}
ROUNDS=${ROUNDS:-3}
[ $# -ge 1 ] || set -- target/release/newswire
for bin in "$@"; do [ -x "$bin" ] || { echo "not a binary: $bin (cargo build --release)" >&2; exit 2; }; done
url=${NEWSWIRE_BENCH_DATABASE_URL:-}
server=${url%/*}
if [ -n "${STORE:-}" ]; then
  [ -z "$url" ] || { echo "STORE is for the SQLite store" >&2; exit 2; }
  mkdir -p "$STORE"
  work=$(cd "$STORE" && pwd)
else
  work=$(mktemp -d)
fi
chmod 755 "$work"   # nginx workers run as another user
cleanup() {
  kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true
  if [ -n "$url" ]; then
    psql "$url" -qc 'DROP DATABASE IF EXISTS newswire_pages_run' -c 'DROP DATABASE IF EXISTS newswire_pages_snap' >/dev/null 2>&1 || true
  fi
  [ -n "${STORE:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
log() { echo "archive-pages: $*" >&2; }
. benches/upstream.sh

db=()
if [ -f "$work/snap/made" ]; then
  log "the store made before in $work"
else
log "writing the corpus ($FEEDS feeds)"
corpus_up "$work" "$FEEDS"
# No poll while pages are asked for: every source is due only a day later.
sed -i 's/^\[fetch\]$/[fetch]\ninterval = "24h"/' "$work/site/newswire.toml"

# The store, made once by the first binary (the others migrate it forward
# when they are newer): two polls, the second of the feeds' previous stories.
if [ -n "$url" ]; then
  psql "$url" -v ON_ERROR_STOP=1 -qc 'SET client_min_messages = warning' \
    -c 'DROP DATABASE IF EXISTS newswire_pages_run' -c 'DROP DATABASE IF EXISTS newswire_pages_snap' \
    -c 'CREATE DATABASE newswire_pages_snap' >/dev/null
  db=(--database-url "$server/newswire_pages_snap")
fi
poll() {
  "$1" fetch --once --config "$work/site/newswire.toml" --data "$work/snap" "${db[@]}" >"$work/fetch.out" 2>&1
  grep -q " 0 failed" "$work/fetch.out" || { log "fetch failures:"; tail -3 "$work/fetch.out" >&2; exit 1; }
}
log "first poll"
poll "$1"
NEWSWIRE_BENCH_WRITE="$work/www" NEWSWIRE_BENCH_FEEDS=$FEEDS NEWSWIRE_BENCH_ROUND=1 \
  cargo bench -q --bench parse >/dev/null 2>&1
log "second poll (every feed's previous stories)"
poll "$1"
nginx -p "$work" -c "$work/nginx.conf" -s stop
mkdir -p "$work/snap"
touch "$work/snap/made"
fi

serve() { # BIN
  "$1" serve --config "$work/site/newswire.toml" --data "$work/run" "${db[@]}" --listen 127.0.0.1:0 \
    >"$work/serve.out" 2>"$work/serve.err" &
  echo $! >"$work/serve.pid"
  for _ in $(seq 300); do grep -q "listening on" "$work/serve.out" && break; sleep 0.1; done
  base=$(sed -n 's/^newswire: listening on //p' "$work/serve.out")
  [ -n "$base" ] || { log "serve did not start"; cat "$work/serve.err" >&2; exit 1; }
  # Its first render pass (which closes the timeline's newest pages) done.
  curl -sf -o /dev/null "$base/timelines/everything.rss"
  sleep 2
}
stop() {
  kill "$(cat "$work/serve.pid")"
  wait "$(cat "$work/serve.pid")" 2>/dev/null || true
  rm -f "$work/serve.pid"
}
ms() { curl -s -o /dev/null --compressed -w '%{time_total}\n' "$base$1" | python3 -c 'import sys; print(float(sys.stdin.read()) * 1000)'; }
median() { python3 -c 'import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
print(*(f"{statistics.median(c):.1f}" for c in zip(*rows)))' "$1"; }

printf '%-40s %9s %9s %9s %9s\n' binary first another again restart
for _ in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    rm -rf "$work/run"
    cp -a "$work/snap" "$work/run"
    if [ -n "$url" ]; then
      psql "$url" -v ON_ERROR_STOP=1 -qc 'SET client_min_messages = warning' \
        -c 'DROP DATABASE IF EXISTS newswire_pages_run' \
        -c 'CREATE DATABASE newswire_pages_run TEMPLATE newswire_pages_snap' >/dev/null
      db=(--database-url "$server/newswire_pages_run")
    fi
    serve "$bin"
    for n in $(seq "$PAGES"); do
      echo "$(ms "/timelines/everything/archive/$n.rss") $(ms "/timelines/everything/archive/$n.atom") $(ms "/timelines/everything/archive/$n.rss")"
    done >"$work/pages.txt"
    stop
    serve "$bin"
    for n in $(seq "$PAGES"); do ms "/timelines/everything/archive/$n.rss"; done >"$work/restart.txt"
    stop
    printf '%-40s %9s %9s %9s %9s\n' "$bin" $(median "$work/pages.txt") $(median "$work/restart.txt")
  done
done
