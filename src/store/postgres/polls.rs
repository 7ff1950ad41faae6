//! Sources' attempt logs on PostgreSQL: each poll is numbered in its
//! source's log (`turn`), so the poll that makes a log one too long names
//! the one it pushes out, found by a unique index.
//!
//! Found by position instead (the row `ATTEMPTS_KEPT` back by id, as on
//! SQLite), the cut walked each source's last 51 index entries and, the
//! table being rewritten at every round, visited the heap for each: with
//! 1,000 sources at their 50 polls, 48 ms a batch of 256, and PostgreSQL
//! planned the delete as a scan of the whole table.

use super::Result;
use sqlx::postgres::PgPool;

/// Appends polls (a JSON array of `[source, at, status, bytes, millis,
/// outcome, error]`, in order: ids follow it) to their sources' logs, each
/// numbered after its source's last, and drops for each the poll
/// [`crate::store::ATTEMPTS_KEPT`] turns before it: one statement. The
/// caller sends at most that many polls of a source at once, so every one
/// dropped is older than the batch.
pub(super) async fn log_attempts(pool: &PgPool, rows: &str) -> Result<()> {
    // A poll another instance numbered first (the same source polled on two
    // instances at once, each under a lease it believes its own) is not
    // logged: the log is for reading, the fetch state is what counts.
    sqlx::query(
        "WITH r AS (
           SELECT r ->> 0 AS source, (r ->> 1)::bigint AS at, (r ->> 2)::int AS status,
                  (r ->> 3)::bigint AS bytes, (r ->> 4)::bigint AS millis,
                  r ->> 5 AS outcome, r ->> 6 AS error, n
           FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS a(r, n)),
         logged AS (
           INSERT INTO fetch_attempts (source, turn, at, status, bytes, millis, outcome, error)
           SELECT source,
                  coalesce((SELECT max(g.turn) FROM fetch_attempts g WHERE g.source = r.source), 0)
                    + row_number() OVER (PARTITION BY source ORDER BY n),
                  at, status, bytes, millis, outcome, error
           FROM r ORDER BY n
           ON CONFLICT (source, turn) DO NOTHING
           RETURNING source, turn)
         DELETE FROM fetch_attempts f USING logged
         WHERE f.source = logged.source AND f.turn = logged.turn - $2",
    )
    .bind(rows)
    .bind(i64::try_from(crate::store::ATTEMPTS_KEPT).unwrap_or(i64::MAX))
    .execute(pool)
    .await?;
    Ok(())
}
