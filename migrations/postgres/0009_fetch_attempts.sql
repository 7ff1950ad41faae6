-- Each source's last polls (time, status, bytes, milliseconds, outcome,
-- error), newest by id: what an editor reads to find why a source fails.
-- The store keeps the last few per source.
CREATE TABLE fetch_attempts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source TEXT NOT NULL,
    at BIGINT NOT NULL,
    status INTEGER,
    bytes BIGINT NOT NULL,
    millis BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT
);
CREATE INDEX fetch_attempts_source ON fetch_attempts (source, id);
