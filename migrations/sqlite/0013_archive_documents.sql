-- Closed archive pages as first served, per format: a page keeps its bytes
-- when the sources or timeline members it was made from go. Only the
-- withdrawal of an item it shows (through the API, or by retention) lets
-- it be made again, with the item's tombstone in its place.
CREATE TABLE archive_documents (
    feed     TEXT NOT NULL,     -- the feed's log key, as in archive_pages
    page     INTEGER NOT NULL,
    format   TEXT NOT NULL,     -- rss, atom or json
    body     BLOB NOT NULL,
    modified INTEGER,           -- Last-Modified, unix ms
    PRIMARY KEY (feed, page, format)
);
