//! What a round of polls writes on SQLite: sources' fetch states and their
//! attempt logs, as JSON arrays expanded by `json_each` (PostgreSQL's, bound
//! as arrays, are in `postgres/polls.rs`).

use super::{Result, SqlitePool};
use crate::store::millis;

/// Saves fetch states (one per source) where each source is still leased to
/// `owner` (or to no one), in one statement: the states as a JSON array
/// expanded by `json_each`. The names written.
pub(super) async fn save_states(
    pool: &SqlitePool,
    states: &[&crate::model::FetchState],
    owner: &str,
) -> Result<Vec<String>> {
    fn text(t: &Option<String>) -> Option<std::borrow::Cow<'_, str>> {
        t.as_deref().map(crate::store::storable)
    }
    let rows: Vec<serde_json::Value> = states
        .iter()
        .map(|s| {
            serde_json::json!({
                "name": s.source,
                "url": crate::store::storable(&s.url),
                "etag": text(&s.etag),
                "last_modified": text(&s.last_modified),
                "last_status": s.last_status,
                "last_error": text(&s.last_error),
                "failures": s.failures,
                "last_fetch": s.last_fetch.map(millis),
                "next_fetch": millis(s.next_fetch),
                "body_hash": s.body_hash,
                "items": i64::try_from(s.items).unwrap_or(i64::MAX),
            })
        })
        .collect();
    let written: Vec<(String,)> = sqlx::query_as(
        "UPDATE sources SET url = v.value ->> 'url', etag = v.value ->> 'etag',
          last_modified = v.value ->> 'last_modified', last_status = v.value ->> 'last_status',
          last_error = v.value ->> 'last_error', failures = v.value ->> 'failures',
          last_fetch = v.value ->> 'last_fetch', next_fetch = v.value ->> 'next_fetch',
          lease_owner = NULL, lease_until = NULL, body_hash = v.value ->> 'body_hash',
          items = v.value ->> 'items'
        FROM jsonb_each($1) AS v
        WHERE sources.name = v.value ->> 'name'
          AND (sources.lease_owner = $2 OR sources.lease_owner IS NULL)
        RETURNING sources.name",
    )
    .bind(serde_json::Value::Array(rows).to_string())
    .bind(owner)
    .fetch_all(pool)
    .await?;
    Ok(written.into_iter().map(|(n,)| n).collect())
}

/// Appends polls to their sources' logs (ids follow their order), and
/// keeps the last [`crate::store::ATTEMPTS_KEPT`] of each: two statements,
/// one transaction, the polls as a JSON array expanded by `json_each`.
pub(super) async fn log_attempts(
    pool: &SqlitePool,
    attempts: &[&crate::model::FetchAttempt],
) -> Result<()> {
    let rows: Vec<_> = attempts
        .iter()
        .map(|a| {
            (
                &a.source,
                millis(a.at),
                a.status,
                i64::try_from(a.bytes).unwrap_or(i64::MAX),
                i64::try_from(a.millis).unwrap_or(i64::MAX),
                a.outcome.as_str(),
                a.error.as_deref().map(crate::store::storable),
            )
        })
        .collect();
    let rows = serde_json::to_string(&rows).expect("rows serialize");
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO fetch_attempts (source, at, status, bytes, millis, outcome, error)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4,
           value ->> 5, value ->> 6 FROM jsonb_each($1) ORDER BY key",
    )
    .bind(&rows)
    .execute(&mut *tx)
    .await?;
    // Past each source's kept ones, by id: its cut found once (its index
    // walked back ATTEMPTS_KEPT rows), nothing when it has fewer.
    sqlx::query(
        "WITH s(source) AS (SELECT DISTINCT value ->> 0 FROM jsonb_each($1)),
         cut AS MATERIALIZED (
           SELECT s.source, (SELECT id FROM fetch_attempts g WHERE g.source = s.source
                             ORDER BY id DESC LIMIT 1 OFFSET $2) AS id
           FROM s)
         DELETE FROM fetch_attempts WHERE id IN (
           SELECT f.id FROM cut JOIN fetch_attempts f
             ON f.source = cut.source AND f.id <= cut.id)",
    )
    .bind(&rows)
    .bind(i64::try_from(crate::store::ATTEMPTS_KEPT).unwrap_or(i64::MAX))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
