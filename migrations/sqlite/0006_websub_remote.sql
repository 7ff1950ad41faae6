-- WebSub subscriptions this site holds at other sites' hubs, one per external
-- source (callback /websub/callback/{source}); lease_until stays NULL until
-- the hub has verified the request.
CREATE TABLE websub_remote (
    source TEXT PRIMARY KEY,
    hub TEXT NOT NULL,
    topic TEXT NOT NULL,
    secret TEXT NOT NULL,
    requested BIGINT NOT NULL,
    lease_until BIGINT
);
