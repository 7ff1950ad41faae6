#!/usr/bin/env bash
# Statement times by store size: the first poll of FEEDS feeds (benches/corpus.rs,
# served by nginx) into a store that already holds N imported articles, for each N
# in SIZES (and, N > 0, the 100 tombstones per source feed an aged store keeps);
# every statement the poll runs is timed by sqlx (`RUST_LOG=sqlx::query=debug`: on
# the client, from the statement's start to its last row, the round trip
# included) and grouped by its text. Prints, per statement, its calls and its mean
# and 95th-percentile time at each size: a plan that goes bad as tables grow shows
# as a row whose times climb with N. The two deletes issue 29 named (item_feeds
# and tombstones by item id) are listed wherever they rank.
#
#   cargo build --release && DATABASE_URL=postgres://postgres@127.0.0.1:5432/test benches/statements.sh
#   benches/statements.sh                              # SQLite
#   SIZES="0 100000" FEEDS=200 benches/statements.sh   # quicker
#
# On PostgreSQL each size gets a database of its own (made and dropped).
set -euo pipefail
cd "$(dirname "$0")/.."
FEEDS=${FEEDS:-1000}
SIZES=${SIZES:-0 100000 1000000}
TOP=${TOP:-12}
bin=${NEWSWIRE_BIN:-target/release/newswire}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
work=$(mktemp -d)
chmod 755 "$work"   # nginx workers run as another user
dbs=()
cleanup() {
  kill "$(cat "$work/nginx.pid" 2>/dev/null)" 2>/dev/null || true
  for db in "${dbs[@]}"; do
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
log() { echo "statements: $*" >&2; }
. benches/upstream.sh
. benches/tombstones.sh
need_nginx

log "writing the corpus ($FEEDS feeds)"
NEWSWIRE_BENCH_WRITE="$work/www" NEWSWIRE_BENCH_FEEDS=$FEEDS cargo bench -q --bench parse >/dev/null 2>&1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
upstream_conf "$work" "$port"
nginx -p "$work" -c "$work/nginx.conf"
sleep 0.3

# The site: the demo categories, every feed a source, one timeline over them all
# (as in aggregate-vs-reader.sh).
mkdir -p "$work/site"
cp -r feeds/. "$work/site"
{
  printf '\n[fetch]\nallow_private_networks = true\nretention = "3650d"\nconcurrency = 16\nper_host = 16\n'
  names=()
  i=0
  for f in "$work"/www/feed-*; do
    printf '\n[[sources]]\nname = "s%05d"\nurl = "http://127.0.0.1:%s/%s"\n' "$i" "$port" "$(basename "$f")"
    names+=("\"$(printf 's%05d' "$i")\""); i=$((i + 1))
  done
  printf '\n[[timelines]]\nname = "everything"\ntitle = "Everything"\nsources = [%s]\nlimit = 1000\n' "$(IFS=,; echo "${names[*]}")"
} >>"$work/site/newswire.toml"

# Articles to import: short bodies, as the rows' number is what is measured.
max=0
for n in $SIZES; do [ "$n" -gt "$max" ] && max=$n; done
python3 - "$max" "$work/articles.jsonl" <<'PY'
import json, sys
n, out = int(sys.argv[1]), sys.argv[2]
cats = ["world", "tech", "economy", "morocco", "sports"]
with open(out, "w") as f:
    for i in range(n):
        f.write(json.dumps({"id": f"bulk-{i:07d}", "title": f"Bulk story {i}", "category": cats[i % 5],
            "published": f"2026-0{1 + i % 9}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}", "author": "Desk",
            "content_markdown": f"Story {i}: the council met and agreed on the budget."}) + "\n")
PY

for n in $SIZES; do
  args=(--config "$work/site/newswire.toml" --data "$work/data-$n")
  if [[ -n ${DATABASE_URL:-} ]]; then
    db="newswire_statements_$$_$n"
    dbs+=("$db")
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $db" >/dev/null
    args+=(--database-url "${DATABASE_URL%/*}/$db")
  fi
  if [ "$n" -gt 0 ]; then
    log "importing $n articles"
    head -n "$n" "$work/articles.jsonl" >"$work/part.jsonl"
    "$bin" import "${args[@]}" "$work/part.jsonl" >/dev/null
    # And the tombstones a store of that age holds: withdrawals keep the newest
    # 100 per feed, so 100 for each source.
    t=$((100 * FEEDS))
    log "seeding $t tombstones"
    if [[ -n ${DATABASE_URL:-} ]]; then
      seed_tombstones "$t" "$FEEDS" "${DATABASE_URL%/*}/$db"
    else
      seed_tombstones "$t" "$FEEDS" "$work/data-$n/newswire.sqlite"
    fi
  fi
  log "first poll of $FEEDS feeds into a store of $n items"
  RUST_LOG=warn,sqlx::query=debug NO_COLOR=1 "$bin" fetch --once "${args[@]}" >"$work/fetch-$n.out" 2>"$work/fetch-$n.err"
  tail -1 "$work/fetch-$n.out" >&2
done

python3 - "$TOP" "$work" $SIZES <<'PY'
import re, statistics, sys
top, work, sizes = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
line = re.compile(r'sqlx::query: summary="((?:[^"\\]|\\.)*)" db\.statement="((?:[^"\\]|\\.)*)".*? elapsed_secs=([0-9.e-]+)')
def key(summary, statement):
    text = statement or summary
    text = re.sub(r'\\(.)', lambda m: {"n": " ", "t": " "}.get(m[1], m[1]), text)
    text = " ".join(text.split())
    return re.sub(r"\$\d+(?:\s*,\s*\$\d+)+", "$n, ...", text)
times = {}
for n in sizes:
    for l in open(f"{work}/fetch-{n}.err", encoding="utf-8", errors="replace"):
        m = line.search(l)
        if m:
            times.setdefault(key(m[1], m[2]), {}).setdefault(n, []).append(float(m[3]) * 1000)
def stat(xs):
    xs = sorted(xs)
    return statistics.mean(xs), xs[min(len(xs) - 1, int(len(xs) * 0.95))]
last = sizes[-1]
rank = sorted(times, key=lambda k: -sum(times[k].get(last, [0])))[:top]
# And the statements issue 29 named, wherever they rank.
rank += [k for k in times if k not in rank and re.match(r"DELETE FROM (item_feeds|tombstones) WHERE item_id", k)]
print(f"\nfirst poll, statements by total time in the largest store; mean / p95 in ms (calls)")
print("| statement | " + " | ".join(f"{int(n):,} items" for n in sizes) + " |")
print("| --- |" + " ---: |" * len(sizes))
for k in rank:
    cells = []
    for n in sizes:
        xs = times[k].get(n)
        cells.append(f"{stat(xs)[0]:.2f} / {stat(xs)[1]:.2f} ({len(xs)})" if xs else "-")
    short = k if len(k) <= 90 else k[:87] + "..."
    print(f"| `{short}` | " + " | ".join(cells) + " |")
totals = [sum(sum(v.get(n, [])) for v in times.values()) / 1000 for n in sizes]
print("| all statements, total s | " + " | ".join(f"{t:.2f}" for t in totals) + " |")
PY
