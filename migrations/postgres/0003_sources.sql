-- Fetch state of each external source (feeds, scraped pages), kept between fetches
-- and shared by every instance: the poller claims due sources with a lease.
CREATE TABLE sources (
    name          TEXT COLLATE "C" PRIMARY KEY,
    url           TEXT NOT NULL,     -- after permanent redirects (301, 308)
    etag          TEXT,
    last_modified TEXT,              -- as the upstream sent it, for If-Modified-Since
    last_status   BIGINT,
    last_error    TEXT,
    failures      BIGINT NOT NULL DEFAULT 0,  -- consecutive
    last_fetch    BIGINT,           -- unix milliseconds, UTC
    next_fetch    BIGINT NOT NULL,
    lease_owner   TEXT,              -- the instance fetching it now
    lease_until   BIGINT
);
CREATE INDEX sources_due ON sources (next_fetch);
