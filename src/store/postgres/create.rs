//! A new item alone in its group (one writer posting articles one after the
//! other) written with one statement: a function on the server that does
//! what a group's transaction does, statement after statement, so the write
//! waits for one round trip instead of five (BEGIN, the row, its feeds and
//! locks, their logs and versions, COMMIT).
//!
//! The function's statements are the ones a transaction runs, in the same
//! order: the item row first (created and locked, or waited for when another
//! writer is creating the same id), then its feeds' `feed_versions` rows in
//! key order, then the logs read and appended (PL/pgSQL takes a new snapshot
//! for each statement, so they are read after the locks, as a statement of
//! their own reads them), then the versions bumped and the notification
//! queued. Called outside a transaction, the call is one and commits before
//! its answer, as a transaction's COMMIT does. What it does not do it
//! declines, having written nothing: an id that exists (the group is then
//! written as any other), an id with tombstones (a withdrawn item that comes
//! back has its logs and pages mended by the full path).

use super::commit::{NOTIFY, bump_statement, lock_feeds, payloads};
use super::{CHANNEL, log_new_rows, log_new_statement, millis};
use crate::model::{FeedId, Item};
use crate::store::{Outcome, Result, StoreError, Written};
use sqlx::postgres::PgPool;
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// The SQLSTATE the function raises for an id with tombstones: the call is
/// rolled back and the full path writes the item.
const TOMBSTONED: &str = "NWTB1";

/// The function's body. Parameters: `$1` the item's feed keys (sorted),
/// `$2` their dates, `$3` the channel, `$4` the payloads, `$5` the log rows,
/// then the row: `$6` id, `$7` source, `$8` kind, `$9` published, `$10`
/// hash, `$11` doc, `$12` seen.
static BODY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "BEGIN
           INSERT INTO items (id, source, kind, published, hash, doc, seen)
           VALUES ($6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING;
           IF NOT FOUND THEN
             RETURN false;
           END IF;
           IF EXISTS (SELECT 1 FROM tombstones WHERE item_id = $6) THEN
             RAISE EXCEPTION 'tombstoned' USING ERRCODE = '{TOMBSTONED}';
           END IF;
           WITH indexed AS (
             INSERT INTO item_feeds (feed, item_id, kind, published)
             SELECT f, $6, $8, $9 FROM UNNEST($1::text[]) AS f)
           {lock};
           {log};
           {bump};
           PERFORM {notify};
           RETURN true;
         END",
        lock = lock_feeds(1),
        log = log_new_statement(5),
        bump = bump_statement(),
        notify = NOTIFY.trim_start_matches("SELECT "),
    )
});

/// The function's name: its body's hash, so instances of different
/// versions sharing a database each call their own.
static NAME: LazyLock<String> = LazyLock::new(|| {
    format!(
        "newswire_create_{}",
        &crate::hash::hash_hex(BODY.as_bytes())[..16]
    )
});

/// Makes the function unless it exists (an instance of the same version
/// made it), under an advisory lock so that instances starting together do
/// not race to make it.
pub(super) async fn define(pool: &PgPool) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(&*NAME)
        .execute(&mut *tx)
        .await?;
    let (exists,): (bool,) = sqlx::query_as("SELECT to_regproc($1) IS NOT NULL")
        .bind(&*NAME)
        .fetch_one(&mut *tx)
        .await?;
    if !exists {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE FUNCTION {}(text[], int8[], text, text[], json, text, text, text, int8,
               text, text, int8) RETURNS boolean LANGUAGE plpgsql AS $body${}$body$",
            *NAME, *BODY
        )))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Writes `item` if its id is new and has no tombstones: `None` when the
/// function declined, having written nothing.
pub(super) async fn create(pool: &PgPool, item: &Item) -> Result<Option<Written>> {
    let feeds: BTreeSet<FeedId> = crate::catalog::item_feeds(item).into_iter().collect();
    let keys: Vec<String> = feeds.iter().map(|f| f.key().into_owned()).collect();
    let published = millis(item.published);
    // As a transaction's finish dates its feeds (`commit::log_and_finish`).
    let dated = crate::store::data_dates(std::slice::from_ref(item), &[Outcome::Created]);
    let dates: Vec<i64> = keys
        .iter()
        .map(|k| dated.get(k).copied().unwrap_or(0))
        .collect();
    let logged: Vec<(String, &str, i64)> = keys
        .iter()
        .map(|k| (k.clone(), item.id.as_str(), published))
        .collect();
    let (doc, hash) = crate::store::encode(item);
    let answer: std::result::Result<(bool,), sqlx::Error> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {}($1, $2, $3, $4, $5::json, $6, $7, $8, $9, $10, $11, $12)",
            *NAME
        )))
        .bind(&keys)
        .bind(&dates)
        .bind(CHANNEL)
        .bind(payloads(&feeds))
        .bind(log_new_rows(&logged))
        .bind(&item.id)
        .bind(item.source.to_string())
        .bind(super::kind_str(item.kind))
        .bind(published)
        .bind(&hash)
        .bind(&doc)
        .bind(crate::store::carried_since(item))
        .fetch_one(pool)
        .await;
    match answer {
        Ok((true,)) => Ok(Some(Written {
            outcomes: vec![Outcome::Created],
            changed: feeds,
        })),
        Ok((false,)) => Ok(None),
        Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some(TOMBSTONED) => Ok(None),
        Err(e) => Err(StoreError::from(e)),
    }
}
