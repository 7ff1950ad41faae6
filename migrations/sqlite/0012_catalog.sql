-- The catalog: sources, scrapes and timelines as entries every instance
-- reads. `body` is the entry's keys as JSON, as a `[[sources]]`,
-- `[[scrapes]]` or `[[timelines]]` table of newswire.toml holds them.
-- Declared entries are the config file's (taken in at start and on reload;
-- the file wins for what it declares); managed ones were added through the
-- API and stay until deleted. Sources and scrapes share one namespace (a
-- scrape is polled as a source), timelines have their own.
CREATE TABLE catalog (
    space      TEXT NOT NULL,    -- 'sources' or 'timelines'
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,    -- 'source', 'scrape' or 'timeline'
    body       TEXT NOT NULL,
    declared   INTEGER NOT NULL,
    created_at INTEGER NOT NULL, -- unix ms: entries are taken in this order
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (space, name)
);
-- Bumped by every change to the catalog, in the same transaction: a
-- follower that sees a new number reads the catalog again.
CREATE TABLE catalog_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO catalog_version (id, version) VALUES (1, 0);
