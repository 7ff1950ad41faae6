#!/usr/bin/env bash
# Bulk import: `newswire import` of N JSON-lines articles (about 1 KB each), timed,
# with the importer's peak memory. The figure the README quotes comes from here.
#
#   benches/import.sh                 # 100,000 articles into a fresh SQLite store
#   N=20000 benches/import.sh         # fewer
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test benches/import.sh
#                                     # into PostgreSQL (a fresh database is made and dropped)
#   NEWSWIRE_BIN=target/release/newswire benches/import.sh   # skip the build
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000}
if [[ -z ${NEWSWIRE_BIN:-} ]]; then
  cargo build --release --bin newswire >&2
  NEWSWIRE_BIN=target/release/newswire
fi
work=$(mktemp -d)
trap 'rm -rf "$work"; [[ -n ${db:-} ]] && psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT
cp -r feeds "$work/site"
python3 - "$N" "$work/articles.jsonl" <<'PY'
import json, random, sys
n, out = int(sys.argv[1]), sys.argv[2]
random.seed(7)
words = ("government minister markets inflation storm flooding coastal region officials announced "
         "economy growth forecast percent quarter energy prices ports shipping agreement talks "
         "parliament vote budget reform analysts central bank exports harvest drought rainfall").split()
cats = ["world", "tech", "economy", "morocco", "sports"]
with open(out, "w") as f:
    for i in range(n):
        body = " ".join(random.choice(words) for _ in range(120))
        a = {"id": f"bulk-{i:06d}", "title": f"Bulk story {i}: " + " ".join(random.choice(words) for _ in range(6)),
             "category": cats[i % 5], "published": f"2026-0{1 + i % 9}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}",
             "author": "Desk", "content_markdown": f"**{body[:40]}** {body}", "tags": ["bulk", cats[i % 5]]}
        f.write(json.dumps(a) + "\n")
PY
size=$(du -m "$work/articles.jsonl" | cut -f1)
args=(--config "$work/site/newswire.toml" --data "$work/data")
if [[ -n ${DATABASE_URL:-} ]]; then
  db="newswire_import_bench_$$"
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $db" >/dev/null
  args+=(--database-url "${DATABASE_URL%/*}/$db")
fi
python3 - "$NEWSWIRE_BIN" "$N" "$size" "${args[@]}" "$work/articles.jsonl" <<'PY'
import resource, subprocess, sys, time
bin, n, size, rest = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
t = time.monotonic()
r = subprocess.run([bin, "import", *rest], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
took = time.monotonic() - t
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "")
if r.returncode != 0:
    print(r.stdout); sys.exit("import failed")
print(f"import of {n} articles ({size} MB): {took:.1f} s, {n / took:,.0f} articles/s, peak RSS {peak:.0f} MiB")
PY
