-- When an external item was last carried by its source's document (unix ms):
-- retention counts from there, and a source's current document is the one
-- whose items have its newest `seen`. Items already stored count as carried
-- now, so nothing ages out at the upgrade.
ALTER TABLE items ADD COLUMN seen BIGINT;
UPDATE items SET seen = (extract(epoch from now()) * 1000)::bigint
 WHERE source LIKE 'feed:%' OR source LIKE 'scrape:%';
CREATE INDEX items_source_seen ON items (source, seen);

-- Who asked for a hub subscription, and the host it calls back: what the
-- hub's bounds count (per client address, per callback host).
ALTER TABLE websub_subscriptions ADD COLUMN client TEXT NOT NULL DEFAULT '';
ALTER TABLE websub_subscriptions ADD COLUMN callback_host TEXT NOT NULL DEFAULT '';
CREATE INDEX websub_subscriptions_client ON websub_subscriptions (client);
CREATE INDEX websub_subscriptions_host ON websub_subscriptions (callback_host);

-- When the hub last verified our subscription at it: a verification is
-- answered only for a request sent after that (pending), so no one else can
-- mark a lease live.
ALTER TABLE websub_remote ADD COLUMN verified BIGINT;
