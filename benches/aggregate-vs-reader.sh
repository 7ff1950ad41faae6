#!/usr/bin/env bash
# Aggregation side by side with a real aggregator, in one run: `reader` (PyPI,
# lemon24's feed library: feedparser and SQLite) and newswire poll the same
# local upstream (nginx serving static files with ETags) over the same corpus
# of FEEDS feeds (benches/corpus.rs: RSS 2.0, Atom, RDF and JSON Feed, 59 items
# each, about 195 KB a feed). Rounds, for each:
#   1. first poll: every feed new                            -> items/s
#   2. every feed answers 304                                -> feeds/s
#   3. nginx stops sending validators: the same bodies again -> time vs the first poll
# then newswire on PostgreSQL too (when NEWSWIRE_BENCH_DATABASE_URL is set),
# the render of a timeline over every source, a round of SMALL sources that
# all answer 304 with the CPU the poll used, and the peak RSS of `serve` with
# every source stored while all its feeds and timelines are read.
#
#   cargo build --release && benches/aggregate-vs-reader.sh
#   FEEDS=1000 SMALL=10000 NEWSWIRE_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
#     benches/aggregate-vs-reader.sh
#
# newswire runs `newswire fetch --once` (parse, gate, store; the process's
# start and migrations included) with fetch.concurrency 16 and fetch.per_host
# 16: every feed is on 127.0.0.1, and the default of 2 per host is politeness
# toward one real site. reader runs update_feeds(scheduled=False) (every feed,
# due or not: reader 3.x skips feeds not yet due by default) with its default of
# one worker, as a user of the library gets it.
set -euo pipefail
cd "$(dirname "$0")/.."
FEEDS=${FEEDS:-1000}
SMALL=${SMALL:-10000}
bin=target/release/newswire
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
work=$(mktemp -d)
chmod 755 "$work"   # nginx workers run as another user
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
log() { echo "aggregate-vs-reader: $*" >&2; }

. benches/upstream.sh
need_nginx
venv=${READER_VENV:-/tmp/newswire-reader-venv}
"$venv/bin/python" -c 'import reader' 2>/dev/null || {
  log "installing reader into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q reader==3.26 sgmllib3k==1.0.0
}

log "writing the corpus ($FEEDS feeds, $SMALL small ones)"
NEWSWIRE_BENCH_WRITE="$work/www" NEWSWIRE_BENCH_FEEDS=$FEEDS NEWSWIRE_BENCH_SMALL=$SMALL \
  cargo bench -q --bench parse >/dev/null 2>&1
mb=$(du -sm "$work/www" | cut -f1)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

upstream_conf "$work" "$port" on
nginx -p "$work" -c "$work/nginx.conf"
sleep 0.3
curl -sf "http://127.0.0.1:$port/feed-00000.rss" >/dev/null || { log "nginx did not start"; cat "$work/nginx-error.log"; exit 1; }
validators() {
  upstream_conf "$work" "$port" "$1"
  nginx -p "$work" -c "$work/nginx.conf" -s reload
  sleep 0.5
}

urls() { for f in "$work"/www/feed-*; do echo "http://127.0.0.1:$port/$(basename "$f")"; done; }
urls >"$work/urls.txt"
items=$((FEEDS * 59))

# ---- reader ----
cat >"$work/reader_bench.py" <<'EOF'
import sys, time
from reader import make_reader
db, urls = sys.argv[1], open(sys.argv[2]).read().split()
r = make_reader(db)
for u in urls:
    r.add_feed(u, exist_ok=True)
t = time.perf_counter()
r.update_feeds(scheduled=False)  # every feed, due or not (3.x updates only due ones by default)
print(time.perf_counter() - t)
EOF
reader_round() { "$venv/bin/python" "$work/reader_bench.py" "$work/reader.sqlite" "$work/urls.txt"; }
log "reader: first poll"
r1=$(reader_round)
log "reader: 304 round"
r2=$(reader_round)
validators off
log "reader: same bodies, no validators"
r3=$(reader_round)
validators on
r_items=$(sqlite3 "$work/reader.sqlite" 'SELECT count(*) FROM entries;' 2>/dev/null || echo "$items")

# ---- newswire ----
secs() { python3 -c 'import time; print(time.time())'; }
# The round as `fetch --once` times it (from its first claim to its last
# save), as reader_bench.py times update_feeds(): neither counts its start.
newswire_round() { # SITE DATA [db args]
  "$bin" fetch --once --config "$1/newswire.toml" --data "$2" "${@:3}" >"$work/fetch.out" 2>"$work/fetch.err" || true
  grep -q " 0 failed" "$work/fetch.out" || { log "fetch failures:"; tail -3 "$work/fetch.out" >&2; }
  sed -n 's/.* failed, in \([0-9.]*\) s$/\1/p' "$work/fetch.out"
}
corpus_site "$work/site" "$work/urls.txt"
declare -A N
run_newswire() { # LABEL [db args]
  local label=$1; shift
  log "newswire ($label): first poll"
  N[$label.1]=$(newswire_round "$work/site" "$work/data-$label" "$@")
  log "newswire ($label): 304 round"
  N[$label.2]=$(newswire_round "$work/site" "$work/data-$label" "$@")
  validators off
  log "newswire ($label): same bodies, no validators"
  N[$label.3]=$(newswire_round "$work/site" "$work/data-$label" "$@")
  validators on
}
run_newswire sqlite
labels=(sqlite)
if [ -n "${NEWSWIRE_BENCH_DATABASE_URL:-}" ]; then
  psql "$NEWSWIRE_BENCH_DATABASE_URL" -qc 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' >/dev/null
  run_newswire postgres --database-url "$NEWSWIRE_BENCH_DATABASE_URL"
  labels+=(postgres)
fi

log "newswire: rendering a timeline of every source (build)"
t0=$(secs)
"$bin" build --no-archives --config "$work/site/newswire.toml" --data "$work/data-sqlite" --out "$work/out" >/dev/null 2>&1
t1=$(secs)
render=$(python3 -c "print($t1 - $t0)")
log "newswire: writing every archive page too (build)"
t0=$(secs)
"$bin" build --config "$work/site/newswire.toml" --data "$work/data-sqlite" --out "$work/out-all" >/dev/null 2>&1
t1=$(secs)
render_all=$(python3 -c "print($t1 - $t0)")
archive_pages=$(find "$work/out-all" -path '*/archive/*' -type f | wc -l)

# ---- many small sources, all 304 ----
ls "$work"/www/small-* >/dev/null 2>&1 && {
  for f in "$work"/www/small-*; do echo "http://127.0.0.1:$port/$(basename "$f")"; done >"$work/small.txt"
  corpus_site "$work/small-site" "$work/small.txt"
  log "newswire: $SMALL small sources, first poll"
  newswire_round "$work/small-site" "$work/data-small" >/dev/null
  log "newswire: $SMALL small sources, all 304, with CPU"
  # The CPU the fetch process used (its start included), from the kernel's
  # accounting of the child; the round's own time from its summary line.
  python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], "w"), stderr=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(r.ru_utime, r.ru_stime)' "$work/small.out" "$bin" fetch --once --config "$work/small-site/newswire.toml" --data "$work/data-small" >"$work/small.time"
  small_wall=$(sed -n 's/.* failed, in \([0-9.]*\) s$/\1/p' "$work/small.out")
  read -r su ss <"$work/small.time"
}

# ---- memory: serve every stored source, read every document ----
# First the store grows past 100k items: the same feeds with their previous
# 59 stories each, every item new (NEWSWIRE_BENCH_ROUND=1), polled into the
# SQLite store.
log "newswire: growing the store with a second round of every feed"
NEWSWIRE_BENCH_WRITE="$work/www" NEWSWIRE_BENCH_FEEDS=$FEEDS NEWSWIRE_BENCH_ROUND=1 \
  cargo bench -q --bench parse >/dev/null 2>&1
newswire_round "$work/site" "$work/data-sqlite" >/dev/null
log "newswire: peak RSS while serving"
"$bin" serve --config "$work/site/newswire.toml" --data "$work/data-sqlite" --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
echo $! >"$work/serve.pid"
for _ in $(seq 200); do grep -q "listening on" "$work/serve.out" && break; sleep 0.1; done
base=$(sed -n 's/^newswire: listening on //p' "$work/serve.out")
sleep 3
for path in /timelines/everything.rss /timelines/everything.atom /timelines/everything.json /timelines/everything.html \
            /feeds/all.rss /feeds/world.json /; do
  for _ in 1 2 3; do curl -s --compressed "$base$path" >/dev/null; done
done
stored=$(sqlite3 "$work/data-sqlite/newswire.sqlite" 'SELECT count(*) FROM items;')
peak=$(awk '/VmHWM/ {print $2}' "/proc/$(cat "$work/serve.pid")/status")
# Archive pages on demand (500 items of the 1,000-source timeline each): the
# first request of a page reads its rows once, renders its three formats,
# keeps them in the store and compresses the one asked for; another format of
# the same page then comes from its kept row; the same request again, from
# memory; after a restart, the first page's format from its kept row and its
# kept compressed bodies. Medians of PAGES pages, in ms, as curl sees them.
PAGES=${PAGES:-15}
ms() { curl -s -o /dev/null --compressed -w '%{time_total}\n' "$base$1" | python3 -c 'import sys; print(float(sys.stdin.read()) * 1000)'; }
for n in $(seq "$PAGES"); do
  echo "$(ms "/timelines/everything/archive/$n.rss") $(ms "/timelines/everything/archive/$n.atom") $(ms "/timelines/everything/archive/$n.rss")"
done >"$work/pages.txt"
read -r page_first page_kept page_memory < <(python3 -c 'import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
print(*(f"{statistics.median(c):.1f}" for c in zip(*rows)))' "$work/pages.txt")
page_bytes=$(curl -s "$base/timelines/everything/archive/1.rss" | wc -c)
kill "$(cat "$work/serve.pid")"
wait "$(cat "$work/serve.pid")" 2>/dev/null || true
"$bin" serve --config "$work/site/newswire.toml" --data "$work/data-sqlite" --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
echo $! >"$work/serve.pid"
for _ in $(seq 200); do grep -q "listening on" "$work/serve.out" && break; sleep 0.1; done
base=$(sed -n 's/^newswire: listening on //p' "$work/serve.out")
sleep 3
page_restart=$(for n in $(seq "$PAGES"); do ms "/timelines/everything/archive/$n.rss"; done |
  python3 -c 'import statistics, sys; print(f"{statistics.median(map(float, sys.stdin)):.1f}")')
kill "$(cat "$work/serve.pid")"

echo
echo "corpus: $FEEDS feeds, $items items, $mb MB on disk (nginx, ETag and Last-Modified)"
printf '%-44s %12s %12s %8s\n' "" "reader 3.26" "newswire" "ratio"
for label in "${labels[@]}"; do
  python3 - "$label" "$items" "$FEEDS" "$r1" "$r2" "$r3" "${N[$label.1]}" "${N[$label.2]}" "${N[$label.3]}" <<'EOF'
import sys
label, items, feeds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r1, r2, r3, n1, n2, n3 = map(float, sys.argv[4:])
print(f"[{label}]")
print(f"{'first poll, items/s':44} {items/r1:12.0f} {items/n1:12.0f} {r1/n1:7.1f}x")
print(f"{'all 304, feeds/s':44} {feeds/r2:12.0f} {feeds/n2:12.0f} {r2/n2:7.1f}x")
print(f"{'same bodies without validators, s':44} {r3:12.2f} {n3:12.2f} {r3/n3:7.1f}x")
print(f"{'  ... as a share of its own first poll':44} {r3/r1:12.2f} {n3/n1:12.2f}")
EOF
done
echo "reader stored $r_items entries; newswire stored $stored items"
echo "render of a 1,000-item timeline over $FEEDS sources, with every other feed (build --no-archives): ${render}s"
echo "the same with every archive page ($archive_pages documents; build): ${render_all}s"
[ -n "${small_wall:-}" ] && echo "$SMALL small sources, all 304: the round ${small_wall}s; the process's CPU (start included) ${su}s user + ${ss}s system"
echo "an archive page of the timeline on demand ($((page_bytes / 1024)) KiB of RSS; median of $PAGES, ms): first request ${page_first}, another format ${page_kept}, again ${page_memory}, after a restart ${page_restart}"
echo "peak RSS of serve with $stored stored items, every document read: $((peak / 1024)) MiB"
