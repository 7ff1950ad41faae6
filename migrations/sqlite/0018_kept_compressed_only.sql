-- A kept document with its compressed bodies is kept compressed only: its
-- bytes are its gzip's, unzipped when read. Each format of a page of a
-- 1,000-source timeline was 1.4 MB as first served against 40-50 KB of
-- gzip and 20 KB of brotli, so a crawler walking such a timeline's
-- archive grew the store by 4.5 MB a page. A document not compressed yet
-- (a format rendered after the answer, not asked for since) keeps its
-- bytes until its compressed bodies are kept. SQLite cannot drop a NOT
-- NULL, so the table is made again; rows kept compressed lose their copy
-- of the bytes their gzip holds.
CREATE TABLE archive_documents_next (
    feed     TEXT NOT NULL,     -- the feed's log key, as in archive_pages
    page     INTEGER NOT NULL,
    format   TEXT NOT NULL,     -- rss, atom or json
    body     BLOB,              -- NULL where gzip holds the bytes
    modified INTEGER,           -- Last-Modified, unix ms
    gzip     BLOB,
    br       BLOB,
    PRIMARY KEY (feed, page, format),
    CHECK (body IS NOT NULL OR (gzip IS NOT NULL AND br IS NOT NULL))
);
INSERT INTO archive_documents_next (feed, page, format, body, modified, gzip, br)
    SELECT feed, page, format, CASE WHEN gzip IS NULL OR br IS NULL THEN body END,
           modified, gzip, br
    FROM archive_documents;
DROP TABLE archive_documents;
ALTER TABLE archive_documents_next RENAME TO archive_documents;
