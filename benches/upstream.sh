# Sourced by the benches that poll the generated corpus (benches/corpus.rs)
# from a local nginx: aggregate-vs-reader.sh and statements.sh.

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
