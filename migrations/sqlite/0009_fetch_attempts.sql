-- Each source's last polls (time, status, bytes, milliseconds, outcome,
-- error), newest by id: what an editor reads to find why a source fails.
-- The store keeps the last few per source.
CREATE TABLE fetch_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    at INTEGER NOT NULL,
    status INTEGER,
    bytes INTEGER NOT NULL,
    millis INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT
);
CREATE INDEX fetch_attempts_source ON fetch_attempts (source, id);
