#!/usr/bin/env bash
# A real reader on a merged timeline: newsboat subscribes to the RSS and Atom
# documents of a timeline that merges external sources, reloads twice, the
# server restarts on the same data (its poller fetching the sources again),
# newsboat reloads again. Fails if an item shows twice, or the items moved.
# Usage: .ci/newsboat-timeline.sh PATH/TO/newswire SITE_DIR TIMELINE
# (SITE_DIR/newswire.toml configures the sources, whose upstream must be up.)
set -euo pipefail
bin=${1:?usage: $0 PATH/TO/newswire SITE_DIR TIMELINE}
site=${2:?site dir}
timeline=${3:?timeline name}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cp -r "$site" "$work/site"
rm -rf "$work/site/data"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

token=newsboat-timeline-$RANDOM$RANDOM$RANDOM
start() {
  NEWSWIRE_API_TOKEN=$token "$bin" serve --config "$work/site/newswire.toml" --data "$work/data" --listen "127.0.0.1:$port" >"$work/out.log" 2>>"$work/server.log" &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/out.log" 2>/dev/null && return; sleep 0.1; done
  echo "newswire did not start"; cat "$work/server.log"; exit 1
}
items() { curl -s "http://127.0.0.1:$port/timelines/$timeline.rss" | grep -o '<item>' | wc -l; }

mkdir -p "$work/home/.newsboat"
for ext in rss atom; do echo "http://127.0.0.1:$port/timelines/$timeline.$ext"; done >"$work/home/.newsboat/urls"
cache=$work/home/.newsboat/cache.db
reload() { HOME=$work/home newsboat -x reload >/dev/null 2>&1 </dev/null; }
counts() { sqlite3 "$cache" "SELECT count(*), count(DISTINCT guid) FROM rss_item;"; }

start
# The poller fetches every source at start: wait until each has been fetched
# (a story whose second copy arrived after the first reload could replace the
# first copy), then until the timeline stops growing.
fetched() {
  curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/sources" |
    python3 -c 'import json, sys; sys.exit(0 if all(s.get("last_fetch") for s in json.load(sys.stdin)) else 1)'
}
for _ in $(seq 100); do fetched && break; sleep 0.2; done
last=-1
for _ in $(seq 50); do n=$(items); [ "$n" -gt 0 ] && [ "$n" -eq "$last" ] && break; last=$n; sleep 0.5; done
expected=$(items)
reload
reload
first=$(counts)
kill -TERM "$pid"; wait "$pid"
start
sleep 2
reload
second=$(counts)
kill -TERM "$pid"; wait "$pid" || true

IFS='|' read -r rows guids <<<"$second"
echo "  newsboat cache: $rows rows, $guids distinct guids; the timeline has $expected items"
[ "$expected" -gt 10 ] || { echo "newsboat-timeline: FAIL: the timeline has only $expected items"; exit 1; }
[ "$rows" -eq "$guids" ] || { echo "newsboat-timeline: FAIL: an item appears twice"; exit 1; }
[ "$guids" -eq "$expected" ] || { echo "newsboat-timeline: FAIL: expected $expected items, newsboat has $guids"; exit 1; }
[ "$first" = "$second" ] || { echo "newsboat-timeline: FAIL: the cache changed across the restart: $first -> $second"; exit 1; }
echo "newsboat-timeline: ok: $guids merged items, each once, unchanged across two reloads and a restart"
