//! The statements the shared SQL (`store::sql`) is written against, in
//! PostgreSQL's dialect: JSON arrays as rows (`json_array_elements`,
//! `json_to_recordset`), row locks that skip each other, advisory locks.
//! SQLite's are beside its store.

/// WebSub changes (a JSON array of `{topic, etag}`, `$1`) queued at `$2` for
/// each live subscriber of their topic, once per change.
pub(super) const WEBSUB_ENQUEUE: &str =
    "INSERT INTO websub_outbox (topic, callback, etag, next_attempt)
    SELECT s.topic, s.callback, v.etag, $2
    FROM json_to_recordset($1::json) AS v(topic text, etag text)
    JOIN websub_subscriptions s ON s.topic = v.topic
    WHERE s.lease_until > $2
    ON CONFLICT (topic, callback, etag) DO NOTHING";

/// How WebSub claims lock the rows they pick: concurrent claimers pass over
/// each other's rows instead of waiting.
pub(super) const ROW_LOCK: &str = " FOR UPDATE SKIP LOCKED";

/// Claiming due sources across instances: `FOR UPDATE SKIP LOCKED` lets
/// concurrent claimers pass over each other's rows instead of waiting, and the
/// lease condition is checked again on the row each one locks. Due ones in
/// `next_fetch` order, by its index, but for those the claimer does not
/// know (a JSON array, `$5`, most often empty).
pub(super) const CLAIM_DUE: &str = "UPDATE sources SET lease_owner = $1, lease_until = $2
    WHERE name IN (SELECT name FROM sources
                   WHERE next_fetch <= $3 AND paused_at IS NULL
                     AND name NOT IN (SELECT json_array_elements_text($5::json))
                     AND (lease_until IS NULL OR lease_until <= $3)
                   ORDER BY next_fetch, name LIMIT $4 FOR UPDATE SKIP LOCKED)";

/// [`CLAIM_DUE`] for the sources named, due or not, found by name. Two
/// statements, not one whose condition is a `CASE`: that one scanned the
/// whole table every time (3.7 ms of a 7 ms claim of 256 of 1,000).
///
/// It waits for a locked row instead of passing over it: the lock may be a
/// registration's (`INSERT .. ON CONFLICT DO UPDATE` locks every row it
/// meets, changed or not, as another instance follows the catalog), and a
/// fetch asked for by name was then refused as "being fetched by another
/// instance". After the wait the lease is checked again on the row as the
/// other statement left it. Rows are locked in name order, the order a
/// registration locks them in, so the two cannot deadlock.
pub(super) const CLAIM_NAMED: &str = "UPDATE sources SET lease_owner = $1, lease_until = $2
    WHERE name IN (SELECT name FROM sources
                   WHERE name IN (SELECT json_array_elements_text($5::json))
                     AND (lease_until IS NULL OR lease_until <= $3)
                   ORDER BY name LIMIT $4 FOR UPDATE)";

/// A read's documents (of its `items i` rows), a row each: sent as
/// PostgreSQL reads them, decoded in batches as they arrive (see
/// [`crate::store::Decoding`]).
pub(super) const PAGE_DOCS: &str = "i.doc";

/// A JSON array of feed keys (`$1`) as rows.
pub(super) const FEEDS_IN: &str = "SELECT json_array_elements_text($1::json)";

/// A JSON array of `[feed, seq]` (`$1`) as rows `(member, seq)`: a timeline's
/// cursors into its members' logs.
pub(super) const CURSORS_IN: &str = "SELECT c ->> 0 AS member, (c ->> 1)::bigint AS seq
    FROM json_array_elements($1::json) AS c";

/// A JSON array of `[feed, item_id, n]` (parameter `param`) as rows: items
/// new to feeds, `n` their place among the feed's new ones.
pub(super) fn log_new_in(param: usize) -> String {
    format!(
        "SELECT r ->> 0 AS feed, r ->> 1 AS item_id, (r ->> 2)::bigint AS n
         FROM json_array_elements(${param}::json) AS r"
    )
}

/// A JSON array of `[feed, seq from, seq to]` (`$1`) as rows `(member,
/// lo, hi)`: what a timeline takes from each member's log.
pub(super) const RANGES_IN: &str = "SELECT r ->> 0 AS member, (r ->> 1)::bigint AS lo,
    (r ->> 2)::bigint AS hi FROM json_array_elements($1::json) AS r";

/// A JSON array of `[feed, item_id, seq, deleted, link]` (`$1`) as rows.
pub(super) const LOG_ROWS_IN: &str =
    "SELECT r ->> 0, r ->> 1, (r ->> 2)::bigint, (r ->> 3)::bigint, r ->> 4
    FROM json_array_elements($1::json) AS r";

/// A JSON array of `[name, url, origin, next_fetch]` (`$1`) as rows.
pub(super) const SOURCES_IN: &str = "SELECT r ->> 0, r ->> 1, r ->> 2, (r ->> 3)::bigint
    FROM json_array_elements($1::json) AS r";

/// A JSON array of `[space, name, kind, body]` (`$1`) as declared catalog
/// rows made at `$2`.
pub(super) const CATALOG_IN: &str =
    "SELECT r ->> 0, r ->> 1, r ->> 2, r ->> 3, true, $2::bigint, $2::bigint
    FROM json_array_elements($1::json) AS r";

/// Taking a timeline's log forward: one instance at a time, until commit.
pub(super) const TIMELINE_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext($1))";
