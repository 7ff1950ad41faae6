#!/usr/bin/env bash
# Seeds the fuzz corpora from the test fixtures: every upstream feed for
# `feed`, every page of the scraping tests' site for `page`, and OPML lists
# (the aggregation test's, and the site's own /feeds.opml shape) for `opml`.
set -euo pipefail
cd "$(dirname "$0")"
fixtures=../tests/fixtures
mkdir -p corpus/feed corpus/page corpus/opml
cp "$fixtures"/upstream/* corpus/feed/
cp "$fixtures"/site/summaries.xml corpus/feed/
find "$fixtures/site" -name '*.html' -exec cp {} corpus/page/ \;
cat > corpus/opml/partners.opml <<'OPML'
<?xml version="1.0"?>
<opml version="2.0"><head><title>Partners</title></head><body>
  <outline text="News"><outline text="Agence &amp; Co" type="rss" xmlUrl="https://a.example/feed"/>
  <outline title="Only title" xmlUrl=" https://b.example/rss "/></outline>
  <outline text="No feed" htmlUrl="https://c.example/"/>
</body></opml>
OPML
echo "fuzz: corpora seeded: $(ls corpus/feed | wc -l) feeds, $(ls corpus/page | wc -l) pages, $(ls corpus/opml | wc -l) OPML"
