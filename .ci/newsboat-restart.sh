#!/usr/bin/env bash
# A real reader across a restart: newsboat subscribes to every RSS and Atom feed of the
# demo site, reloads, the server restarts on the same data, newsboat reloads again.
# Fails if any feed holds an item twice or the item count moved: a reader must never
# see an item twice. Usage: .ci/newsboat-restart.sh PATH/TO/newswire
set -euo pipefail
bin=${1:?usage: $0 PATH/TO/newswire}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cp -r feeds "$work/site"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

start() {
  "$bin" serve --config "$work/site/newswire.toml" --data "$work/data" --listen "127.0.0.1:$port" >"$work/out.log" 2>>"$work/server.log" &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/out.log" 2>/dev/null && return; sleep 0.1; done
  echo "newswire did not start"; cat "$work/server.log"; exit 1
}

mkdir -p "$work/home/.newsboat"
for slug in all breaking world tech economy morocco sports; do
  for ext in rss atom; do echo "http://127.0.0.1:$port/feeds/$slug.$ext"; done
done >"$work/home/.newsboat/urls"
cache=$work/home/.newsboat/cache.db
reload() { HOME=$work/home newsboat -x reload >/dev/null 2>&1 </dev/null; }
# newsboat keeps one row per guid across all feeds (an item of both world and all is
# stored once), so the check is on the whole cache: rows, distinct guids, feeds.
counts() { sqlite3 "$cache" "SELECT count(*), count(DISTINCT guid) FROM rss_item;"; }

start
expected=$(curl -s "http://127.0.0.1:$port/feeds/all.rss" | grep -o '<item>' | wc -l)
reload
first=$(counts)
kill -TERM "$pid"; wait "$pid"
start
reload
reload
second=$(counts)
kill -TERM "$pid"; wait "$pid" || true

IFS='|' read -r rows guids <<<"$second"
echo "  newsboat cache: $rows rows, $guids distinct guids; the site has $expected items"
[ "$rows" -eq "$guids" ] || { echo "newsboat-restart: FAIL: an item appears twice"; exit 1; }
[ "$guids" -eq "$expected" ] || { echo "newsboat-restart: FAIL: expected $expected items, newsboat has $guids"; exit 1; }
loaded=$(sqlite3 "$cache" "SELECT count(*) FROM rss_feed WHERE title <> '';")
[ "$loaded" -eq 14 ] || { echo "newsboat-restart: FAIL: newsboat read $loaded of 14 feeds"; exit 1; }
[ "$first" = "$second" ] || { echo "newsboat-restart: FAIL: the cache changed across the restart: $first -> $second"; exit 1; }
echo "newsboat-restart: ok: $guids items from 14 feeds, each once, unchanged across a restart and two reloads"
