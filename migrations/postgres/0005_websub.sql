-- WebSub: the built-in hub's verified subscriptions, and its outbox: one row
-- per change of a topic per subscriber, unique by the change's ETag, so every
-- instance that renders the same change queues it once; delivered rows stay a
-- day so that a late render of the same change is not delivered again.
CREATE TABLE websub_subscriptions (
    topic TEXT NOT NULL,
    callback TEXT NOT NULL,
    secret TEXT,
    lease_until BIGINT NOT NULL,
    PRIMARY KEY (topic, callback)
);

CREATE TABLE websub_outbox (
    id BIGSERIAL PRIMARY KEY,
    topic TEXT NOT NULL,
    callback TEXT NOT NULL,
    etag TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt BIGINT NOT NULL,
    last_error TEXT,
    claimed_by TEXT,
    claimed_until BIGINT,
    delivered BIGINT,
    UNIQUE (topic, callback, etag)
);

CREATE INDEX websub_outbox_due ON websub_outbox (next_attempt) WHERE delivered IS NULL;
