-- RFC 5005 archives. Every item a served feed ever carried, in the order it
-- came in: `seq` is numbered per feed by the write that adds the row, while
-- it holds the feed's `feed_versions` row, so on PostgreSQL too a feed's
-- numbers commit in order and a page closed at seq N never misses a later
-- commit with a smaller number. A row outlives its item: a withdrawal sets
-- `deleted` (the tombstone its archive page shows in its place).
CREATE TABLE feed_log (
    feed    TEXT NOT NULL,
    item_id TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    deleted INTEGER,           -- unix milliseconds, when withdrawn
    link    TEXT,              -- the withdrawn item's link, for its tombstone
    PRIMARY KEY (feed, item_id)
);
CREATE UNIQUE INDEX feed_log_seq ON feed_log (feed, seq);
CREATE INDEX feed_log_item ON feed_log (item_id);

-- Closed archive pages: page N of a feed is its log after page N-1's last_seq
-- up to and including its own. A page never moves once written.
CREATE TABLE archive_pages (
    feed     TEXT NOT NULL,
    page     INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (feed, page)
);

-- A timeline's log is its members' logs taken in turn: how far it has read each.
CREATE TABLE archive_cursors (
    feed   TEXT NOT NULL,
    member TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    PRIMARY KEY (feed, member)
);

-- What is stored already, in the order it was published.
INSERT INTO feed_log (feed, item_id, seq)
SELECT feed, item_id, row_number() OVER (PARTITION BY feed ORDER BY published, item_id)
FROM item_feeds;
