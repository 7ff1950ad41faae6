#!/usr/bin/env bash
# HTTP load: newswire vs nginx serving the SAME feed bytes, in one run.
#
# What it does
#   1. Installs wrk / nginx / curl with apt-get if they are missing, then builds
#      `cargo build --release` (skipped when NEWSWIRE_BIN points at a binary).
#   2. Copies feeds/ to a temp dir, starts newswire on a free loopback port with a
#      temp data dir, POSTs 50 articles (~2.5 KB Markdown each) into "world" and
#      waits until /feeds/world.rss has exactly 50 <item>s (feed_size = 50).
#   3. Fetches world.rss from newswire raw, identity and gzip, and writes both into
#      an nginx root (world.rss + world.rss.gz for `gzip_static on`), so nginx sends
#      byte-identical bodies. nginx runs from its own temp prefix and config
#      (worker_processes auto, access_log off, etag on, high keepalive_requests,
#      application/rss+xml; charset=utf-8, open_file_cache, sendfile, and the same
#      Cache-Control/Vary/CORS headers as newswire, so both send the same header set).
#   4. For each case -- plain (no Accept-Encoding), gzip (Accept-Encoding: gzip) and
#      304 (If-None-Match with that server's own ETag) -- checks each server with curl
#      (same status, same body bytes, Content-Encoding) and fails otherwise, then runs
#      `wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency` against it.
#   5. Prints a table (case, req/s each, ratio newswire/nginx, p99 each) and the
#      command to reproduce it; also writes the table to $OUT when set.
#
# Measurement caveats (read before quoting numbers)
#   * The target machine has 2 cores, and wrk, the server under test and the kernel's
#     loopback all share them. Absolute req/s are therefore "what is left after wrk",
#     not server capacity; only the ratio within one run is meaningful.
#   * The two servers are never loaded at the same time: for every case newswire is
#     measured, then nginx, one after the other. Both processes stay up for the whole
#     run (so each server is started once) but the one not being measured is idle.
#   * newswire uses tokio's default worker count (= cores); nginx uses
#     worker_processes auto (= cores), so both get the same parallelism.
#   * A short warm-up ($WARMUP) precedes every measured run and is discarded.
#   * The whole newswire/nginx x plain/gzip/304 sequence is repeated $ROUNDS times
#     (interleaved, so drift from other load hits both servers alike); the table shows
#     medians and the min-max spread. A wide spread means the box was busy: rerun.
#     The load average before measuring is printed in the table header.
#
# Usage
#   benches/http-vs-nginx.sh
#   NEWSWIRE_BIN=target/release/newswire DURATION=10s CONNECTIONS=64 THREADS=2 \
#     WARMUP=2s ROUNDS=3 OUT=/tmp/http-vs-nginx.txt benches/http-vs-nginx.sh
#
# Env: NEWSWIRE_BIN (skip the build), DURATION (10s), CONNECTIONS (64), THREADS (2),
#      WARMUP (2s; 0 disables), ROUNDS (3), OUT (also write the table there), KEEP_TMP=1 (keep
#      the temp dir for inspection), NGINX_SENDFILE (on; off shows what sendfile buys
#      nginx on the identity body), NGINX_OPEN_FILE_CACHE (on).

set -euo pipefail

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-3}
NGINX_SENDFILE=${NGINX_SENDFILE:-on}
NGINX_OPEN_FILE_CACHE=${NGINX_OPEN_FILE_CACHE:-on}
OUT=${OUT:-}
ITEMS=50
CATEGORY=world

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

log() { printf '[http-vs-nginx] %s\n' "$*" >&2; }
die() { printf '[http-vs-nginx] FAIL: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- 1. tools, build
apt_install() {
    local apt=(apt-get -o DPkg::Lock::Timeout=300)
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    log "installing: $*"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" "${apt[@]}" install -y --no-install-recommends "$@" ||
        { "${sudo[@]}" "${apt[@]}" update &&
          DEBIAN_FRONTEND=noninteractive "${sudo[@]}" "${apt[@]}" install -y --no-install-recommends "$@"; }
}

find_nginx() { command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true; }

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
[[ -n $(find_nginx) ]] || missing+=(nginx-light)
if ((${#missing[@]})); then
    apt_install "${missing[@]}" ||
        { [[ " ${missing[*]} " == *" nginx-light "* ]] &&
          apt_install "${missing[@]/nginx-light/nginx}"; } ||
        die "could not install ${missing[*]}"
fi
NGINX=$(find_nginx)
[[ -n $NGINX ]] || die "nginx not found after install"
"$NGINX" -V 2>&1 | grep -q -- --with-http_gzip_static_module ||
    die "$NGINX lacks gzip_static (install nginx-light or nginx)"

if [[ -n ${NEWSWIRE_BIN:-} ]]; then
    BIN=$(realpath "$NEWSWIRE_BIN")
    [[ -x $BIN ]] || die "NEWSWIRE_BIN=$NEWSWIRE_BIN is not executable"
else
    log "cargo build --release (waits if another cargo holds the build-dir lock)"
    cargo build --release --bin newswire >&2
    BIN=$ROOT/target/release/newswire
fi

# ---------------------------------------------------------------- temp dir, cleanup
TMP=$(mktemp -d "${TMPDIR:-/tmp}/http-vs-nginx.XXXXXX")
NW_PID=
NGX_PID=
cleanup() {
    local rc=$?
    set +e
    if [[ -n $NGX_PID ]] && kill -0 "$NGX_PID" 2>/dev/null; then
        kill -QUIT "$NGX_PID"    # graceful stop of master + workers
        for _ in $(seq 50); do kill -0 "$NGX_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$NGX_PID" 2>/dev/null
    fi
    if [[ -n $NW_PID ]] && kill -0 "$NW_PID" 2>/dev/null; then
        kill -TERM "$NW_PID"
        for _ in $(seq 50); do kill -0 "$NW_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$NW_PID" 2>/dev/null
    fi
    wait 2>/dev/null
    if ((rc != 0)); then
        log "logs kept in $TMP (newswire.err, nginx/error.log)"
    elif [[ ${KEEP_TMP:-0} != 1 ]]; then
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A loopback port nothing listens on (checked with ss, else by trying to connect).
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 40000))
        if command -v ss >/dev/null; then
            [[ -z $(ss -Htan "sport = :$p" 2>/dev/null) ]] && { echo "$p"; return; }
        elif ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"; return
        fi
    done
    die "no free port found"
}

# ---------------------------------------------------------------- 2. newswire + data
cp -r feeds "$TMP/feeds"
mkdir -p "$TMP/data"
TOKEN="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
NW_PORT=$(free_port)
NEWSWIRE_API_TOKEN=$TOKEN RUST_LOG=${RUST_LOG:-warn} \
    "$BIN" serve --config "$TMP/feeds/newswire.toml" --data "$TMP/data" \
    --listen "127.0.0.1:$NW_PORT" >"$TMP/newswire.out" 2>"$TMP/newswire.err" &
NW_PID=$!
for _ in $(seq 300); do
    grep -q '^newswire: listening on http://' "$TMP/newswire.out" 2>/dev/null && break
    kill -0 "$NW_PID" 2>/dev/null || { cat "$TMP/newswire.err" >&2; die "newswire exited"; }
    sleep 0.1
done
NW=$(sed -n 's|^newswire: listening on \(http://[^ ]*\).*|\1|p' "$TMP/newswire.out" | head -1)
[[ -n $NW ]] || die "newswire did not print its address"
log "newswire $NW (pid $NW_PID)"

# Deterministic pseudo-news text (seeded $RANDOM, no subshells, so every run posts
# the same articles): varied words so gzip sees a realistic ratio.
WORDS=(government minister markets inflation storm flooding coastal region officials
    announced Tuesday economy growth forecast percent quarter energy prices ports
    shipping agreement talks delegation capital opposition parliament vote budget
    reform analysts expect central bank interest rates exports harvest drought
    rainfall emergency services residents evacuated bridge highway railway airport
    football league season coach supporters stadium technology startup investment
    satellite network outage security breach telecom regulators court ruling appeal)
RANDOM=4242
SENT=
sentence() { # -> $SENT
    local n=$((8 + RANDOM % 10)) s="" i w
    for ((i = 0; i < n; i++)); do
        w=${WORDS[RANDOM % ${#WORDS[@]}]}
        ((i == 0)) && w=${w^}
        s+="$w "
    done
    SENT="${s% }."
}
MD=
markdown_body() { # $1 = article number -> $MD, ~2.5 KB, only JSON-safe characters
    local k=$1 p j
    MD=""
    for ((p = 0; p < 4; p++)); do
        if ((p == 2)); then MD+="## Update ${k}.${p}\\n\\n"; fi
        for ((j = 0; j < 4; j++)); do sentence; MD+="$SENT "; done
        MD+="Details in the **report ${k}** from [the agency](https://news.example.com/sources/${k}-${p}).\\n\\n"
    done
    for ((j = 0; j < 3; j++)); do sentence; MD+="- $SENT\\n"; done
}

log "posting $ITEMS articles into category $CATEGORY"
for ((k = 1; k <= ITEMS; k++)); do
    markdown_body "$k"
    sentence; title="Bench world story $k: ${SENT%.}"
    sentence; summary=$SENT
    # Newer than every demo item, one minute apart, so these 50 fill the feed.
    printf -v published '2026-02-02 %02d:%02d' $((8 + k / 60)) $((k % 60))
    json="{\"title\":\"$title\",\"category\":\"$CATEGORY\",\"published\":\"$published\",\"summary\":\"$summary\",\"content_markdown\":\"$MD\"}"
    code=$(curl -s -o "$TMP/post.out" -w '%{http_code}' -X POST "$NW/api/v1/articles" \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary "$json")
    [[ $code == 201 || $code == 200 ]] || { cat "$TMP/post.out" >&2; die "POST article $k: HTTP $code"; }
done

FEED_PATH=/feeds/$CATEGORY.rss
NW_URL=$NW$FEED_PATH
want_title="Bench world story $ITEMS:"
for i in $(seq 600); do
    if curl -sf -o "$TMP/world.rss" "$NW_URL" &&
        grep -q "$want_title" "$TMP/world.rss" &&
        [[ $(grep -o '<item>' "$TMP/world.rss" | wc -l) -eq $ITEMS ]]; then
        break
    fi
    ((i == 600)) && die "$FEED_PATH never reached $ITEMS items with the last posted article"
    sleep 0.1
done
# The renderer may still be finishing a pass: wait until two reads a second apart agree.
for i in $(seq 30); do
    sleep 1
    curl -sf -o "$TMP/world.rss.again" "$NW_URL"
    cmp -s "$TMP/world.rss" "$TMP/world.rss.again" && break
    ((i == 30)) && die "$FEED_PATH kept changing for 30 s"
    mv "$TMP/world.rss.again" "$TMP/world.rss"
done
items=$(grep -o '<item>' "$TMP/world.rss" | wc -l)
((items == ITEMS)) || die "$FEED_PATH has $items <item>s, want $ITEMS"

# ---------------------------------------------------------------- 3. same bytes to nginx
WWW=$TMP/www
NGX_DIR=$TMP/nginx
mkdir -p "$WWW/feeds" "$NGX_DIR"
curl -sf -o "$WWW/feeds/$CATEGORY.rss" "$NW_URL"                                     # identity, raw
curl -sf -H 'Accept-Encoding: gzip' -o "$WWW/feeds/$CATEGORY.rss.gz" "$NW_URL"       # gzip, raw (no --compressed)
cmp -s "$WWW/feeds/$CATEGORY.rss" "$TMP/world.rss" || die "feed changed while copying"
gzip -t "$WWW/feeds/$CATEGORY.rss.gz" || die "newswire's gzip variant is not valid gzip"
gzip -dc "$WWW/feeds/$CATEGORY.rss.gz" | cmp -s - "$WWW/feeds/$CATEGORY.rss" ||
    die "newswire's gzip variant does not decompress to the identity bytes"
nw_headers=$(curl -sfI "$NW_URL" | tr -d '\r')
hdr() { { grep -i "^$1:" || true; } | head -1 | cut -d: -f2- | sed 's/^ *//'; }
CACHE_CONTROL=$(hdr Cache-Control <<<"$nw_headers")
LAST_MODIFIED=$(hdr Last-Modified <<<"$nw_headers")
[[ -n $LAST_MODIFIED ]] && touch -d "$LAST_MODIFIED" "$WWW/feeds/$CATEGORY.rss" "$WWW/feeds/$CATEGORY.rss.gz"
chmod 755 "$TMP" "$WWW" "$WWW/feeds"   # nginx workers run as nobody when started by root
chmod 644 "$WWW/feeds/"*
SIZE_PLAIN=$(stat -c %s "$WWW/feeds/$CATEGORY.rss")
SIZE_GZ=$(stat -c %s "$WWW/feeds/$CATEGORY.rss.gz")
log "$FEED_PATH: $items items, $SIZE_PLAIN bytes identity, $SIZE_GZ bytes gzip"

NGX_PORT=$(free_port)
while [[ $NGX_PORT == "$NW_PORT" ]]; do NGX_PORT=$(free_port); done
temp_paths=""
for kind in client_body proxy fastcgi uwsgi scgi; do
    flag=--http-${kind//_body/-body}-temp-path
    [[ $kind == client_body ]] && flag=--http-client-body-temp-path
    if "$NGINX" -V 2>&1 | grep -q -- "$flag"; then
        temp_paths+="    ${kind}_temp_path $NGX_DIR/${kind}_temp;"$'\n'
    fi
done
open_file_cache=""
if [[ $NGINX_OPEN_FILE_CACHE == on ]]; then
    # A tuned static server keeps the fd and stat() of hot files; without it nginx does
    # open+fstat+close per request (about 2x its CPU per 304 on the 2-core box).
    open_file_cache="    open_file_cache max=64 inactive=60s;"$'\n'"    open_file_cache_valid 60s;"
fi
cat >"$NGX_DIR/nginx.conf" <<EOF
worker_processes auto;
pid $NGX_DIR/nginx.pid;
error_log $NGX_DIR/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    server_tokens off;
    types { application/rss+xml rss; }
    default_type application/octet-stream;
$temp_paths
    sendfile $NGINX_SENDFILE;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
    etag on;
    charset utf-8;                       # newswire says "application/rss+xml; charset=utf-8"
    charset_types application/rss+xml;
$open_file_cache
    gzip off;
    gzip_static on;
    gzip_vary on;
    server {
        listen 127.0.0.1:$NGX_PORT;
        root $WWW;
        location / {
            # The response headers newswire sends besides the entity headers.
            add_header Cache-Control "${CACHE_CONTROL:-public, max-age=300}";
            add_header Access-Control-Allow-Origin "*";
            add_header Access-Control-Expose-Headers "ETag, Last-Modified";
            # newswire's feeds vary on Accept too (browsers get the HTML page).
            add_header Vary "Accept";
        }
    }
}
EOF
"$NGINX" -t -q -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf" -e "$NGX_DIR/error.log" ||
    die "nginx config test failed"
"$NGINX" -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf" -e "$NGX_DIR/error.log" -g 'daemon off;' \
    >"$NGX_DIR/stdout.log" 2>&1 &
NGX_PID=$!
NGX=http://127.0.0.1:$NGX_PORT
for i in $(seq 100); do
    curl -s -o /dev/null "$NGX$FEED_PATH" && break
    kill -0 "$NGX_PID" 2>/dev/null || { cat "$NGX_DIR/error.log" >&2; die "nginx exited"; }
    ((i == 100)) && die "nginx did not answer"
    sleep 0.1
done
NGX_URL=$NGX$FEED_PATH
log "nginx $NGX (pid $NGX_PID, $("$NGINX" -v 2>&1 | sed 's/.*: //'))"

etag_of() { curl -sfI "$1" | tr -d '\r' | hdr ETag; }
NW_ETAG=$(etag_of "$NW_URL")
NGX_ETAG=$(etag_of "$NGX_URL")
[[ -n $NW_ETAG && -n $NGX_ETAG ]] || die "missing ETag (newswire '$NW_ETAG', nginx '$NGX_ETAG')"

# ---------------------------------------------------------------- 4. verify + measure
# verify SERVER URL CASE ETAG: the response wrk is about to hammer is the expected one.
verify() {
    local name=$1 url=$2 case=$3 etag=$4 args=() code h
    case $case in
        gzip) args=(-H 'Accept-Encoding: gzip') ;;
        304) args=(-H "If-None-Match: $etag") ;;
    esac
    rm -f "$TMP/verify.h" "$TMP/verify.b"   # curl creates -o only when a body arrives
    code=$(curl -s "${args[@]}" -D "$TMP/verify.h" -o "$TMP/verify.b" -w '%{http_code}' "$url")
    h=$(tr -d '\r' <"$TMP/verify.h")
    case $case in
        plain)
            [[ $code == 200 ]] || die "$name plain: HTTP $code"
            [[ -z $(hdr Content-Encoding <<<"$h") ]] || die "$name plain: has Content-Encoding"
            [[ $(hdr Content-Type <<<"$h") == application/rss+xml* ]] || die "$name plain: Content-Type $(hdr Content-Type <<<"$h")"
            cmp -s "$TMP/verify.b" "$WWW/feeds/$CATEGORY.rss" ||
                die "$name plain: body differs ($(stat -c %s "$TMP/verify.b") vs $SIZE_PLAIN bytes)"
            ;;
        gzip)
            [[ $code == 200 ]] || die "$name gzip: HTTP $code"
            [[ $(hdr Content-Encoding <<<"$h") == gzip ]] || die "$name gzip: Content-Encoding '$(hdr Content-Encoding <<<"$h")'"
            cmp -s "$TMP/verify.b" "$WWW/feeds/$CATEGORY.rss.gz" ||
                die "$name gzip: body differs ($(stat -c %s "$TMP/verify.b") vs $SIZE_GZ bytes)"
            ;;
        304)
            [[ $code == 304 ]] || die "$name 304: HTTP $code for If-None-Match: $etag"
            [[ ! -s $TMP/verify.b ]] || die "$name 304: has a body"
            ;;
    esac
}

WRK_BASE=(wrk "-t$THREADS" "-c$CONNECTIONS" "-d$DURATION" --latency)
wrk_args() { # CASE ETAG -> extra header args, one per line
    case $1 in
        gzip) printf '%s\n' -H 'Accept-Encoding: gzip' ;;
        304) printf '%s\n' -H "If-None-Match: $2" ;;
    esac
}
# to_ms "1.23ms" / "850.00us" / "1.02s" -> milliseconds
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.2f", n }'
}

# CPU time (user+system, clock ticks) of a server: newswire's process, or nginx's master
# plus workers. Per request this is far less sensitive to other load on the box than req/s.
server_pids() { [[ $1 == newswire ]] && echo "$NW_PID" || { echo "$NGX_PID"; ps -o pid= --ppid "$NGX_PID"; }; }
cpu_ticks() { local p t=0; for p in $(server_pids "$1"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
CLK_TCK=$(getconf CLK_TCK)

declare -A RPS P99 CPU CMD
measure() { # NAME URL CASE ETAG
    local name=$1 url=$2 case=$3 etag=$4 extra out
    mapfile -t extra < <(wrk_args "$case" "$etag")
    verify "$name" "$url" "$case" "$etag"
    if [[ $WARMUP != 0 ]]; then
        wrk "-t$THREADS" "-c$CONNECTIONS" "-d$WARMUP" "${extra[@]}" "$url" >/dev/null
    fi
    local t0 t1
    t0=$(cpu_ticks "$name")
    out=$("${WRK_BASE[@]}" "${extra[@]}" "$url")
    t1=$(cpu_ticks "$name")
    printf '%s\n' "$out" >"$TMP/wrk-$name-$case-$ROUND.txt"
    if grep -q 'Non-2xx or 3xx' <<<"$out"; then
        printf '%s\n' "$out" >&2
        die "$name $case: wrk saw non-2xx/3xx responses"
    fi
    grep -q 'Socket errors' <<<"$out" && log "$name $case: $(grep 'Socket errors' <<<"$out" | sed 's/^ *//')"
    verify "$name" "$url" "$case" "$etag"   # still the same bytes/validators afterwards
    local rps p99
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    [[ -n $rps && -n $p99 ]] || { printf '%s\n' "$out" >&2; die "$name $case: cannot parse wrk output"; }
    RPS[$name.$case]+="$rps "
    CPU[$name.$case]+="$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$(awk '/requests in/ {print $1}' <<<"$out")" \
        'BEGIN { printf "%.2f", t / hz * 1e6 / n }') "
    P99[$name.$case]+="$p99 "
    local q="" a
    for a in "${WRK_BASE[@]}" "${extra[@]}" "$url"; do q+="$(printf '%q' "$a") "; done
    CMD[$name.$case]=${q% }
    log "$name $case (round $ROUND/$ROUNDS): $rps req/s, p99 $p99 ms, server CPU $(awk '{print $NF}' <<<"${CPU[$name.$case]}") us/req"
}

CASES=(plain gzip 304)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before measuring: $LOAD_BEFORE (anything else running skews both servers)"
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
    for case in "${CASES[@]}"; do
        measure newswire "$NW_URL" "$case" "$NW_ETAG"
        measure nginx "$NGX_URL" "$case" "$NGX_ETAG"
    done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR] = $1} END {
    if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.0f-%.0f", lo, hi}'; }

# ---------------------------------------------------------------- 5. report
{
    printf '# newswire vs nginx, %s (%s <item>s): identity %s B, gzip %s B\n' \
        "$FEED_PATH" "$items" "$SIZE_PLAIN" "$SIZE_GZ"
    printf '# wrk -t%s -c%s -d%s --latency, %s cores shared by wrk and the server; servers measured one after the other\n' \
        "$THREADS" "$CONNECTIONS" "$DURATION" "$(nproc)"
    printf '# %s; nginx %s (sendfile %s, open_file_cache %s); %s\n' "$(basename "$BIN") $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo '+dirty')" \
        "$("$NGINX" -v 2>&1 | sed 's/.*\///')" "$NGINX_SENDFILE" "$NGINX_OPEN_FILE_CACHE" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '# %s round(s) per case; req/s and p99 are medians over rounds; ranges are min-max req/s; load before: %s\n' \
        "$ROUNDS" "$LOAD_BEFORE"
    if awk -v l="${LOAD_BEFORE%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n) }'; then
        printf '# WARNING: 1-min load %s > %s cores before measuring: other work shared the CPUs, so\n' "${LOAD_BEFORE%% *}" "$(nproc)"
        printf '#          req/s and p99 are unreliable (see ranges); server CPU us/req below is the steadier metric\n'
    fi
    printf '%-6s %15s %15s %9s %10s %13s %17s %17s\n' case newswire_req/s nginx_req/s nw/nginx \
        nw_p99_ms nginx_p99_ms nw_range nginx_range
    for case in "${CASES[@]}"; do
        a=$(median "${RPS[newswire.$case]}") b=$(median "${RPS[nginx.$case]}")
        printf '%-6s %15s %15s %9s %10s %13s %17s %17s\n' "$case" "$a" "$b" \
            "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
            "$(median "${P99[newswire.$case]}")" "$(median "${P99[nginx.$case]}")" \
            "$(range "${RPS[newswire.$case]}")" "$(range "${RPS[nginx.$case]}")"
    done
    printf '# server CPU time (user+sys, incl. its share of loopback TCP work) per request, median:\n'
    printf '%-6s %15s %15s %9s\n' case nw_cpu_us/req nginx_cpu_us/req nw/nginx
    for case in "${CASES[@]}"; do
        a=$(median "${CPU[newswire.$case]}") b=$(median "${CPU[nginx.$case]}")
        printf '%-6s %15s %15s %9s\n' "$case" "$a" "$b" \
            "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
    done
    printf '# reproduce: '
    [[ -n ${NEWSWIRE_BIN:-} ]] && printf 'NEWSWIRE_BIN=%q ' "$NEWSWIRE_BIN"
    printf 'DURATION=%q CONNECTIONS=%q THREADS=%q WARMUP=%q ROUNDS=%q NGINX_SENDFILE=%q NGINX_OPEN_FILE_CACHE=%q %q\n' \
        "$DURATION" "$CONNECTIONS" "$THREADS" "$WARMUP" "$ROUNDS" "$NGINX_SENDFILE" "$NGINX_OPEN_FILE_CACHE" "benches/http-vs-nginx.sh"
    printf '# each run (ports are per run; newswire ETag %s, nginx ETag %s):\n' "$NW_ETAG" "$NGX_ETAG"
    for case in "${CASES[@]}"; do
        printf '#   %s\n#   %s\n' "${CMD[newswire.$case]}" "${CMD[nginx.$case]}"
    done
} >"$TMP/table.txt"
cat "$TMP/table.txt"
if [[ -n $OUT ]]; then
    cp "$TMP/table.txt" "$OUT"
    log "table written to $OUT"
fi
