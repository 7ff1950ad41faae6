-- Text keys use the "C" collation: byte order, as in SQLite. Feeds break ties by
-- item id, and every instance (and a site migrated from SQLite) must order alike,
-- whatever the database's default locale is.

-- Items are stored whole as JSON (`doc`); the columns beside it are what queries need.
CREATE TABLE items (
    id        TEXT COLLATE "C" PRIMARY KEY,
    source    TEXT COLLATE "C" NOT NULL,
    kind      TEXT NOT NULL,
    published BIGINT NOT NULL,  -- unix milliseconds, UTC
    hash      TEXT NOT NULL,     -- sha256 of doc: an identical upsert changes nothing
    doc       TEXT NOT NULL
);
CREATE INDEX items_source ON items (source);

-- Which feeds an item is in, ordered as the feeds list them.
CREATE TABLE item_feeds (
    feed      TEXT COLLATE "C" NOT NULL,
    item_id   TEXT COLLATE "C" NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    kind      TEXT NOT NULL,
    published BIGINT NOT NULL,
    PRIMARY KEY (feed, item_id)
);
CREATE INDEX item_feeds_order ON item_feeds (feed, published DESC, item_id DESC);
CREATE INDEX item_feeds_item ON item_feeds (item_id);

-- RFC 6721 tombstones of withdrawn items, per feed they were in.
CREATE TABLE tombstones (
    feed    TEXT COLLATE "C" NOT NULL,
    item_id TEXT COLLATE "C" NOT NULL,
    link    TEXT,
    deleted BIGINT NOT NULL,
    PRIMARY KEY (feed, item_id)
);
CREATE INDEX tombstones_order ON tombstones (feed, deleted DESC, item_id DESC);

-- A counter per feed, bumped in the same transaction as every change to the feed:
-- renderers compare it to what they rendered and redo only what moved.
CREATE TABLE feed_versions (
    feed    TEXT COLLATE "C" PRIMARY KEY,
    version BIGINT NOT NULL
);
