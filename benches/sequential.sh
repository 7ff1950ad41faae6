#!/usr/bin/env bash
# One writer posting articles one after the other (python's http.client on one
# keep-alive connection, as a CMS plug-in would), two or more newswire binaries
# in turn, ROUNDS times, each on a fresh copy of feeds/ and a fresh store: the
# articles/s and the p50 / p99 of each run, then, for two binaries, the second's
# rate over the first's per round and their median. Alternating, so a machine
# that slows down mid-run slows both.
#
#   cargo build --release
#   benches/sequential.sh /path/to/newswire-before target/release/newswire
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test benches/sequential.sh A B
#   TOMBSTONES=100000 benches/sequential.sh A B   # an aged store's tombstones first
#
# N (default 800) POSTs a run after 20 to warm up; ROUNDS (default 6). On
# PostgreSQL each run gets a database of its own (made and dropped).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-800}
ROUNDS=${ROUNDS:-6}
TOMBSTONES=${TOMBSTONES:-0}
[ $# -ge 1 ] || { echo "usage: $0 NEWSWIRE-BINARY..." >&2; exit 2; }
work=$(mktemp -d)
db=""
cleanup() {
  kill "$(cat "$work/pid" 2>/dev/null)" 2>/dev/null || true
  if [ -n "$db" ]; then
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  fi
  rm -rf "$work"
}
trap cleanup EXIT
token=bench-token-0123456789abcdef
. benches/tombstones.sh

cat >"$work/post.py" <<'PY'
import datetime, http.client, json, sys, time
port, n, run = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port)
h = {"Authorization": "Bearer " + sys.argv[4], "Content-Type": "application/json"}
lat = []
t0 = time.perf_counter()
for i in range(n):
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
    body = json.dumps({"id": f"seq-{run}-{i}", "title": f"Sequential article {i}", "category": "world",
        "published": now.replace("+00:00", "Z"), "author": "Bench Desk", "summary": f"Article {i}.",
        "content_markdown": f"Article {i} posted.\n\nA second paragraph.", "tags": ["bench"]})
    a = time.perf_counter()
    c.request("POST", "/api/v1/articles", body, h)
    r = c.getresponse()
    r.read()
    if r.status != 201:
        sys.exit(f"POST {i}: {r.status}")
    lat.append(time.perf_counter() - a)
el = time.perf_counter() - t0
lat.sort()
print(f"{n / el:.0f} {lat[len(lat) // 2] * 1000:.2f} {lat[int(len(lat) * 0.99)] * 1000:.2f}")
PY

# run BIN: writes "rate p50 p99" to $work/result
run() {
  local bin=$1 d="$work/run"
  rm -rf "$d"; mkdir -p "$d"; cp -r feeds "$d/site"
  local args=(--config "$d/site/newswire.toml" --data "$d/data")
  if [[ -n ${DATABASE_URL:-} ]]; then
    db="newswire_sequential_$$"
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $db" >/dev/null
    args+=(--database-url "${DATABASE_URL%/*}/$db")
  fi
  if [ "$TOMBSTONES" -gt 0 ]; then
    "$bin" build "${args[@]}" --out "$d/out" >/dev/null 2>&1
    if [[ -n ${DATABASE_URL:-} ]]; then
      seed_tombstones "$TOMBSTONES" 1000 "${DATABASE_URL%/*}/$db"
    else
      seed_tombstones "$TOMBSTONES" 1000 "$d/data/newswire.sqlite"
    fi
  fi
  NEWSWIRE_API_TOKEN=$token RUST_LOG=warn "$bin" serve "${args[@]}" --listen 127.0.0.1:0 \
    >"$d/stdout" 2>"$d/stderr" &
  echo $! >"$work/pid"
  local port=""
  for _ in $(seq 200); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$d/stdout" | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "sequential: $bin did not start" >&2; cat "$d/stderr" >&2; exit 1; }
  python3 "$work/post.py" "$port" 20 "warm$RANDOM" "$token" >/dev/null
  python3 "$work/post.py" "$port" "$N" "r$RANDOM$RANDOM" "$token" >"$work/result"
  kill "$(cat "$work/pid")"
  wait "$(cat "$work/pid")" 2>/dev/null || true
  rm -f "$work/pid"
  if [ -n "$db" ]; then
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null
  fi
}

printf '%-50s %8s %10s %10s\n' binary articles/s "p50 ms" "p99 ms"
ratios=()
for _ in $(seq "$ROUNDS"); do
  rates=()
  for bin in "$@"; do
    run "$bin"
    read -r rate p50 p99 <"$work/result"
    printf '%-50s %8s %10s %10s\n' "$bin" "$rate" "$p50" "$p99"
    rates+=("$rate")
  done
  [ $# -eq 2 ] && ratios+=("$(python3 -c "print(round(${rates[1]} / ${rates[0]}, 3))")")
done
if [ $# -eq 2 ]; then
  median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  echo "second / first, per round: ${ratios[*]}; median $median"
fi
