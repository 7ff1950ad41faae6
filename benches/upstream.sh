# Sourced by the benches that poll the generated corpus (benches/corpus.rs)
# from a local nginx: aggregate-vs-reader.sh, archive-pages.sh, first-poll.sh and
# statements.sh.

# Installs nginx-light when the machine has no nginx.
need_nginx() {
  command -v nginx >/dev/null && return
  echo "installing nginx" >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends nginx-light >/dev/null 2>&1 ||
    { apt-get -o DPkg::Lock::Timeout=300 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends nginx-light >/dev/null; }
}

# upstream_conf WORK PORT [on|off]: an nginx config in WORK/nginx.conf serving
# WORK/www on 127.0.0.1:PORT with the feed types, with validators (ETag,
# If-Modified-Since) on or off.
upstream_conf() {
  local etag=on ims=exact
  [ "${3:-on}" = off ] && etag=off ims=off
  cat >"$1/nginx.conf" <<CONF
worker_processes 2;
pid $1/nginx.pid;
error_log $1/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  types { application/rss+xml rss; application/atom+xml atom; application/rdf+xml rdf; application/feed+json json; }
  server {
    listen 127.0.0.1:$2;
    root $1/www;
    etag $etag;
    if_modified_since $ims;
  }
}
CONF
}

# corpus_site DIR URLS-FILE: the demo site in DIR with one source per URL
# (s00000, s00001, ...) and a timeline "everything" over all of them, fetched
# 16 at a time, 16 per host (every feed is on 127.0.0.1; the default of 2 per
# host is politeness toward one real site), kept for ten years.
corpus_site() {
  mkdir -p "$1"
  cp -r feeds/. "$1"
  {
    printf '\n[fetch]\nallow_private_networks = true\nretention = "3650d"\nconcurrency = 16\nper_host = 16\n'
    local i=0 names=() u
    while read -r u; do
      printf '\n[[sources]]\nname = "s%05d"\nurl = "%s"\n' "$i" "$u"
      names+=("\"$(printf 's%05d' "$i")\""); i=$((i + 1))
    done <"$2"
    printf '\n[[timelines]]\nname = "everything"\ntitle = "Everything"\nsources = [%s]\nlimit = 1000\n' "$(IFS=,; echo "${names[*]}")"
  } >>"$1/newswire.toml"
}

# corpus_up WORK FEEDS: the corpus of FEEDS feeds (benches/corpus.rs) in
# WORK/www served by nginx on a free port ($port), their URLs in
# WORK/urls.txt, and the site polling them in WORK/site.
corpus_up() {
  need_nginx
  NEWSWIRE_BENCH_WRITE="$1/www" NEWSWIRE_BENCH_FEEDS=$2 NEWSWIRE_BENCH_SMALL=0 \
    cargo bench -q --bench parse >/dev/null 2>&1
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  upstream_conf "$1" "$port" on
  nginx -p "$1" -c "$1/nginx.conf"
  sleep 0.3
  for f in "$1"/www/feed-*; do echo "http://127.0.0.1:$port/$(basename "$f")"; done >"$1/urls.txt"
  corpus_site "$1/site" "$1/urls.txt"
}
