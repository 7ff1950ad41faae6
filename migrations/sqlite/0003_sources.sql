-- Fetch state of each external source (feeds, scraped pages), kept between fetches
-- and shared by every instance: the poller claims due sources with a lease.
CREATE TABLE sources (
    name          TEXT PRIMARY KEY,
    url           TEXT NOT NULL,     -- after permanent redirects (301, 308)
    etag          TEXT,
    last_modified TEXT,              -- as the upstream sent it, for If-Modified-Since
    last_status   INTEGER,
    last_error    TEXT,
    failures      INTEGER NOT NULL DEFAULT 0,  -- consecutive
    last_fetch    INTEGER,           -- unix milliseconds, UTC
    next_fetch    INTEGER NOT NULL,
    lease_owner   TEXT,              -- the instance fetching it now
    lease_until   INTEGER
);
CREATE INDEX sources_due ON sources (next_fetch);
