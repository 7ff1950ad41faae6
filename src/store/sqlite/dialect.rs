//! The statements the shared SQL (`store::sql`) is written against, in
//! SQLite's dialect: JSON arrays as rows (`json_each`), no row locks (its one
//! writer excludes every other). PostgreSQL's are in `postgres/dialect.rs`.
//!
//! An array of rows, each an array or object read with `->>`, is expanded
//! with `jsonb_each`, which parses the text once and hands each row over in
//! SQLite's binary form: `json_each` hands each row over as text, parsed
//! again by every `->>` of it (measured on the bundled SQLite, 200,000
//! rows of four values: 0.115 s against 0.069). An array of plain values
//! reads the same either way.

/// WebSub changes (a JSON array of `{topic, etag}`, `$1`) queued at `$2` for
/// each live subscriber of their topic, once per change.
pub(super) const WEBSUB_ENQUEUE: &str =
    "INSERT INTO websub_outbox (topic, callback, etag, next_attempt)
    SELECT s.topic, s.callback, json_extract(v.value, '$.etag'), $2
    FROM jsonb_each($1) AS v
    JOIN websub_subscriptions s ON s.topic = json_extract(v.value, '$.topic')
    WHERE s.lease_until > $2
    ON CONFLICT (topic, callback, etag) DO NOTHING";

/// How WebSub claims lock the rows they pick: SQLite's one writer needs no
/// lock; PostgreSQL's claimers pass over each other's rows.
pub(super) const ROW_LOCK: &str = "";

/// Claiming due sources: the single writer connection serializes claims, so a
/// plain UPDATE of the due rows cannot hand one to two instances. Due ones
/// in `next_fetch` order, by its index, but for those the claimer does not
/// know (a JSON array, `$5`, most often empty).
pub(super) const CLAIM_DUE: &str = "UPDATE sources SET lease_owner = $1, lease_until = $2
    WHERE name IN (SELECT name FROM sources
                   WHERE next_fetch <= $3 AND paused_at IS NULL
                     AND name NOT IN (SELECT value FROM json_each($5))
                     AND (lease_until IS NULL OR lease_until <= $3)
                   ORDER BY next_fetch, name LIMIT $4)";

/// [`CLAIM_DUE`] for the sources named, due or not, found by name.
pub(super) const CLAIM_NAMED: &str = "UPDATE sources SET lease_owner = $1, lease_until = $2
    WHERE name IN (SELECT name FROM sources
                   WHERE name IN (SELECT value FROM json_each($5))
                     AND (lease_until IS NULL OR lease_until <= $3)
                   ORDER BY next_fetch, name LIMIT $4)";

/// A read's documents (of its `items i` rows) in one value, each after the
/// record separator but the first (see [`crate::store::Decoding`]):
/// one row through sqlx's worker thread instead of hundreds.
pub(super) const PAGE_DOCS: &str = "group_concat(i.doc, char(30))";

/// A JSON array of feed keys (`$1`) as rows.
pub(super) const FEEDS_IN: &str = "SELECT value FROM json_each($1)";

/// A JSON array of `[feed, seq]` (`$1`) as rows `(member, seq)`: a timeline's
/// cursors into its members' logs.
pub(super) const CURSORS_IN: &str =
    "SELECT value ->> 0 AS member, value ->> 1 AS seq FROM jsonb_each($1)";

/// A JSON array of `[feed, item_id, n]` (parameter `param`) as rows: items
/// new to feeds, `n` their place among the feed's new ones. Numbered, so the
/// upsert can send it among other statements that share one argument list.
pub(super) fn log_new_in(param: usize) -> String {
    format!(
        "SELECT value ->> 0 AS feed, value ->> 1 AS item_id, value ->> 2 AS n
         FROM jsonb_each(${param})"
    )
}

/// A JSON array of `[feed, seq from, seq to]` (`$1`) as rows `(member,
/// lo, hi)`: what a timeline takes from each member's log.
pub(super) const RANGES_IN: &str =
    "SELECT value ->> 0 AS member, value ->> 1 AS lo, value ->> 2 AS hi FROM jsonb_each($1)";

/// A JSON array of `[feed, item_id, seq, deleted, link]` (`$1`) as rows.
pub(super) const LOG_ROWS_IN: &str =
    "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4
    FROM jsonb_each($1) WHERE true";

/// A JSON array of `[name, url, origin, next_fetch]` (`$1`) as rows.
pub(super) const SOURCES_IN: &str =
    "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM jsonb_each($1) WHERE true";

/// A JSON array of `[space, name, kind, body]` (`$1`) as declared catalog
/// rows made at `$2`.
pub(super) const CATALOG_IN: &str =
    "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, 1, $2, $2
    FROM jsonb_each($1) WHERE true";

/// Taking a timeline's log forward: SQLite's one writer already excludes
/// every other.
pub(super) const TIMELINE_LOCK: &str = "SELECT $1";
