# Sourced by the benches that poll the generated corpus (benches/corpus.rs)
# from a local nginx: aggregate-vs-reader.sh, first-poll.sh and statements.sh.

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
