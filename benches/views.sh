#!/usr/bin/env bash
# HTTP load on views and the widget, against the plain feed, in one run.
#
#   1. Builds `cargo build --release` (unless NEWSWIRE_BIN names a binary),
#      starts newswire on the demo site with 50 posted articles in `world`
#      (feed_size = 50, each ~2.5 KB of Markdown).
#   2. Warms each URL once (a view is rendered at its first request and kept
#      until its feed changes: what is measured is the kept view).
#   3. For each case, interleaved over $ROUNDS rounds, runs
#      `wrk -t$THREADS -c$CONNECTIONS -d$DURATION` with Accept-Encoding: gzip
#      (what readers send), and prints the median req/s and the ratio
#      plain / case: how many times a case costs a plain feed request.
#
# Cases: the plain feed (/feeds/world.rss, pre-rendered), a view of all its
# items (?limit=50: the same bytes but the self link, so the difference is
# the view's path: query parsing, the memo, no sendfile), a filtered view
# (?limit=20&filter=markets), the same view as JSON Feed, the widget's page
# (/embed/world.html?limit=5) and its data (/embed/world.json?limit=5).
#
# Caveat: wrk and newswire share this machine's 2 cores; only ratios within
# one run mean anything.
#
# Usage: benches/views.sh
#        NEWSWIRE_BIN=target/release/newswire DURATION=5s ROUNDS=3 benches/views.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
die() { echo "views.sh: $*" >&2; exit 1; }
command -v wrk >/dev/null || { apt-get -o DPkg::Lock::Timeout=300 install -y -qq wrk >/dev/null; }
if [[ -z ${NEWSWIRE_BIN:-} ]]; then
    cargo build --release --locked --quiet
    NEWSWIRE_BIN=target/release/newswire
fi
TMP=$(mktemp -d)
trap 'kill $NW_PID 2>/dev/null || true; rm -rf "$TMP"' EXIT
cp -r feeds "$TMP/feeds"
TOKEN="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
NEWSWIRE_API_TOKEN=$TOKEN RUST_LOG=warn "$NEWSWIRE_BIN" serve --config "$TMP/feeds/newswire.toml" \
    --data "$TMP/data" --listen 127.0.0.1:0 >"$TMP/out" 2>"$TMP/err" &
NW_PID=$!
for _ in $(seq 300); do grep -q 'listening on' "$TMP/out" 2>/dev/null && break; sleep 0.1; done
NW=$(sed -n 's|^newswire: listening on \(http://[^ ]*\).*|\1|p' "$TMP/out")
[[ -n $NW ]] || die "newswire did not start: $(cat "$TMP/err")"

WORDS=(government minister markets inflation storm flooding coastal region officials announced
    economy growth forecast energy prices ports shipping agreement talks parliament vote budget)
RANDOM=4242
para() { local s="" i; for ((i = 0; i < 60; i++)); do s+="${WORDS[RANDOM % ${#WORDS[@]}]} "; done; echo "$s"; }
for k in $(seq 1 50); do
    printf -v published '2026-02-02 %02d:%02d' $((8 + k / 60)) $((k % 60))
    body="$(para)\\n\\n$(para)\\n\\n$(para)\\n\\n$(para)\\n\\n$(para)\\n\\n$(para)"
    json="{\"title\":\"Bench story $k: $(para | cut -d' ' -f1-8)\",\"category\":\"world\",\"published\":\"$published\",\"summary\":\"$(para | cut -d' ' -f1-20)\",\"content_markdown\":\"$body\"}"
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$NW/api/v1/articles" \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary "$json")
    [[ $code == 201 ]] || die "POST $k: $code"
done
for _ in $(seq 100); do
    [[ $(curl -s "$NW/feeds/world.rss" | grep -c '<item>') -ge 1 ]] &&
        curl -s "$NW/feeds/world.rss" | grep -q 'Bench story 50:' && break
    sleep 0.1
done

CASES=(
    "plain|/feeds/world.rss"
    "view-same|/feeds/world.rss?limit=50"
    "view|/feeds/world.rss?limit=20&filter=markets"
    "view-json|/feeds/world.json?limit=20&filter=markets"
    "widget-page|/embed/world.html?limit=5"
    "widget-data|/embed/world.json?limit=5"
)
declare -A RPS
for c in "${CASES[@]}"; do
    url="$NW${c#*|}"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept-Encoding: gzip' "$url")
    [[ $code == 200 ]] || die "$url: HTTP $code"
done
for r in $(seq "$ROUNDS"); do
    for c in "${CASES[@]}"; do
        name=${c%%|*}
        rps=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H 'Accept-Encoding: gzip' "$NW${c#*|}" |
            awk '/^Requests\/sec/ {print $2}')
        RPS[$name]="${RPS[$name]:-} $rps"
    done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
plain=$(echo "${RPS[plain]}" | median)
printf '# wrk -t%s -c%s -d%s, Accept-Encoding: gzip, median of %s rounds, %s cores shared with wrk\n' \
    "$THREADS" "$CONNECTIONS" "$DURATION" "$ROUNDS" "$(nproc)"
printf '%-12s %12s %18s\n' case req/s "cost vs plain"
for c in "${CASES[@]}"; do
    name=${c%%|*}
    m=$(echo "${RPS[$name]}" | median)
    awk -v n="$name" -v m="$m" -v p="$plain" 'BEGIN {printf "%-12s %12.0f %17.2fx\n", n, m, p / m}'
done
echo "# reproduce: benches/views.sh (ROUNDS=$ROUNDS DURATION=$DURATION)"
