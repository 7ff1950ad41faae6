#!/usr/bin/env bash
# What hostile upstreams cost newswire: each document of tests/hostile.rs,
# served from 127.0.0.1, polled once by `newswire fetch --once` (release
# build), with the poll's time and outcome per source and the process's peak
# RSS; then the same with each source alone, so each figure is its own.
#
#   benches/hostile.sh                      # this build
#   NEWSWIRE_BIN=/path/to/other/newswire benches/hostile.sh   # another build
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${NEWSWIRE_BIN:-target/release/newswire}
if [ -z "${NEWSWIRE_BIN:-}" ]; then
  cargo build --release --quiet
fi
work=$(mktemp -d)
trap 'kill "${srv:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/www"

python3 - "$work/www" <<'PY'
import sys
out = sys.argv[1]
n = 100_000
def w(name, text):
    open(f"{out}/{name}", "w").write(text)
w("atom-bomb.xml", '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:x="urn:x"><title>t</title><id>urn:x:1</id>'
  '<updated>2026-01-01T00:00:00Z</updated><entry><title>e</title><id>urn:x:2</id><updated>2026-01-01T00:00:00Z</updated>'
  + "<x:a>" * n + "</x:a>" * n + "</entry></feed>")
w("media-bomb.xml", '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title>'
  '<link>http://a.example/</link><description>d</description><item><title>i</title>'
  + "<media:group>" * n + "</media:group>" * n + "</item></channel></rss>")
w("json-bomb.json", '{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[{"id":"1","x":'
  + "[" * n + "]" * n + "}]}")
w("page-bomb.html", "<html><body><ul><li>12:00 A headline</li></ul>" + "<div>" * n + "</body></html>")
# 2 MB of unclosed tags as the title and again as the summary: 4 MB, under
# the 8 MiB body limit, so the document is read and its text is the cost.
title = "<![CDATA[" + "<div>" * (2 * 1024 * 1024 // 5) + "]]>"
w("huge-title.xml", '<rss version="2.0"><channel><title>t</title><link>http://a.example/</link><description>d</description>'
  f'<item><title>{title}</title><guid>1</guid><description>{title}</description></item></channel></rss>')
items = "".join(f"<item><title>t{i}</title><guid>g{i}</guid></item>" for i in range(60_000))
w("flood.xml", '<rss version="2.0"><channel><title>Flood</title><link>http://f.example/</link>'
  f'<description>d</description>{items}</channel></rss>')
PY

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 "$port" --directory "$work/www" >/dev/null 2>&1 &
srv=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/flood.xml" -o /dev/null && break; sleep 0.1; done

sources="atom-bomb:atom-bomb.xml media-bomb:media-bomb.xml json-bomb:json-bomb.json huge-title:huge-title.xml flood:flood.xml"
config() {
  cp -r feeds "$work/site-$1"
  {
    printf '\n[fetch]\nallow_private_networks = true\n'
    for s in $2; do
      printf '\n[[sources]]\nname = "%s"\nurl = "http://127.0.0.1:%s/%s"\n' "${s%%:*}" "$port" "${s#*:}"
    done
    if [ "$3" = page ]; then
      printf '\n[[scrapes]]\nname = "page-bomb"\nurl = "http://127.0.0.1:%s/page-bomb.html"\ncategory = "world"\n[scrapes.list]\nitem = "li"\n' "$port"
    fi
  } >>"$work/site-$1/newswire.toml"
  echo "$work/site-$1/newswire.toml"
}
run() {
  local cfg=$1
  /usr/bin/time -f "peak RSS %M KiB, %e s" "$bin" fetch --once --config "$cfg" --data "$(dirname "$cfg")/data" 2>&1 \
    | grep -E '^(source |atom|media|json|huge|flood|page)|peak RSS|sources,' || true
}
echo "== every hostile source in one round"
run "$(config all "$sources" page)"
for s in $sources; do
  echo "== ${s%%:*} alone"
  run "$(config "${s%%:*}" "$s" none)"
done
echo "== page-bomb alone"
run "$(config page "" page)"
