# Sourced by the benches that measure a store of some age (statements.sh,
# sequential.sh): the tombstones withdrawals leave, written in SQL (no API
# makes them faster than withdrawing items one by one).

# seed_tombstones COUNT FEEDS STORE: COUNT tombstones spread over the source
# feeds source:s00000 .. (FEEDS of them, named as the corpus's sources are);
# STORE is a postgres:// URL or a SQLite file.
seed_tombstones() {
  local count=$1 feeds=$2 store=$3
  local seed="INSERT INTO tombstones (feed, item_id, link, deleted)
              SELECT 'source:s' || %s, 'tag:example.com,2026:gone/' || i, NULL, i"
  if [[ $store == postgres://* ]]; then
    # shellcheck disable=SC2059
    psql -q "$store" \
      -c "$(printf "$seed" "lpad((i % $feeds)::text, 5, '0')") FROM generate_series(1, $count) AS i"
  else
    # shellcheck disable=SC2059
    sqlite3 "$store" "WITH RECURSIVE c(i) AS
      (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $count)
      $(printf "$seed" "printf('%05d', i % $feeds)") FROM c"
  fi
}
