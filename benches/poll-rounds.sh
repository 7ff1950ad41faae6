#!/usr/bin/env bash
# Rounds of polls where every feed answers 304, from a fresh store until each
# source's attempt log holds all it keeps (50 polls) and past it: what a
# poller does all day once its sources are known. The generated corpus
# (benches/corpus.rs, FEEDS feeds) is polled once by each binary into a store
# of its own, then every binary in turn runs BLOCK rounds, until each has run
# ROUNDS; the median round of each block is printed, as `fetch --once` times
# it (first claim to last save). A row that climbs is a cost that grows with
# the logs or the tables' churn.
#
#   cargo build --release && cp target/release/newswire /tmp/nw
#   benches/poll-rounds.sh /tmp/nw-before /tmp/nw
#   NEWSWIRE_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test benches/poll-rounds.sh /tmp/nw-before /tmp/nw
#
# Copy the binaries out of target/ first (writing the corpus runs `cargo
# bench`). With NEWSWIRE_BENCH_DATABASE_URL each binary's store is a
# PostgreSQL database of its own, made empty (dropped at the end), else SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
FEEDS=${FEEDS:-1000}
ROUNDS=${ROUNDS:-60}
BLOCK=${BLOCK:-10}
[ $# -ge 1 ] || { echo "usage: $0 NEWSWIRE-BINARY..." >&2; exit 2; }
for bin in "$@"; do [ -x "$bin" ] || { echo "not a binary: $bin" >&2; exit 2; }; done
url=${NEWSWIRE_BENCH_DATABASE_URL:-}
server=${url%/*}
work=$(mktemp -d)
chmod 755 "$work"   # nginx workers run as another user
dbs=()
cleanup() {
  kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true
  for d in "${dbs[@]}"; do psql "$url" -qc "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
log() { echo "poll-rounds: $*" >&2; }
. benches/upstream.sh
log "writing the corpus ($FEEDS feeds)"
corpus_up "$work" "$FEEDS"

# store_args I: the store of the I-th binary.
store_args() {
  if [ -n "$url" ]; then echo "--data $work/data-$1 --database-url $server/newswire_rounds_$1"; else echo "--data $work/data-$1"; fi
}
round() { # BIN I
  # shellcheck disable=SC2046
  "$1" fetch --once --config "$work/site/newswire.toml" $(store_args "$2") >"$work/fetch.out" 2>&1 || true
  sed -n 's/.* 0 failed, in \([0-9.]*\) s$/\1/p' "$work/fetch.out" | grep . ||
    { log "$1 failed:"; tail -3 "$work/fetch.out" >&2; exit 1; }
}
i=0
for bin in "$@"; do
  if [ -n "$url" ]; then
    d=newswire_rounds_$i
    dbs+=("$d")
    psql "$url" -v ON_ERROR_STOP=1 -qc 'SET client_min_messages = warning' \
      -c "DROP DATABASE IF EXISTS $d" -c "CREATE DATABASE $d" >/dev/null
  fi
  log "$bin: first poll"
  round "$bin" "$i" >/dev/null
  i=$((i + 1))
done
printf '%-40s %8s %14s\n' binary rounds "median round s"
done_rounds=0
while [ "$done_rounds" -lt "$ROUNDS" ]; do
  i=0
  for bin in "$@"; do
    for _ in $(seq "$BLOCK"); do round "$bin" "$i"; done >"$work/block.txt"
    printf '%-40s %8s %14s\n' "$bin" "$((done_rounds + 1))-$((done_rounds + BLOCK))" \
      "$(sort -n "$work/block.txt" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
    i=$((i + 1))
  done
  done_rounds=$((done_rounds + BLOCK))
done
