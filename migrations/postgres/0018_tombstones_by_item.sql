-- Tombstones found by item id. Every write of a new item ends the tombstones
-- of its id (a withdrawn item that comes back is no longer deleted), and
-- tombstones were keyed by (feed, item_id) only: each write scanned the whole
-- table, up to 100 rows per feed (22 ms at 200,000 rows, 0.1 ms with this).
CREATE INDEX tombstones_item ON tombstones (item_id);
