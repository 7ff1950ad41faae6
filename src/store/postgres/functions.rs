//! Writes that run as PL/pgSQL functions on the server, so that a writer
//! waits for one round trip where it waited for several, and holds its
//! feeds' locks for less time.
//!
//! Their statements are the texts a transaction runs, in the same order.
//! Every write ends the same way ([`tail`]): its feeds' `feed_versions` rows
//! locked in key order, the logs read and appended (PL/pgSQL takes a new
//! snapshot for each statement, so they are read after the locks, as a
//! statement of their own reads them), the versions bumped and the
//! notification queued.
//!
//! - [`finish`] is that end, for a group's transaction: one call where the
//!   locks were taken with the rows' feeds and held through RELEASE, the
//!   logs and versions' statement and COMMIT, three round trips. Another
//!   instance writing the same feeds waits for that hold.
//! - [`create`] writes a new item alone in its group (one writer posting
//!   articles one after the other) with the one call: the row first
//!   (created and locked, or waited for when another writer is creating the
//!   same id), its feeds, then the end. Called outside a transaction, the
//!   call is one and commits before its answer, as COMMIT does: one round
//!   trip where there were five (BEGIN, the row, its feeds and locks, their
//!   logs and versions, COMMIT). What it does not do it declines, having
//!   written nothing: an id that exists (the group is then written as any
//!   other), an id with tombstones (a withdrawn item that comes back has its
//!   logs and pages mended by the transaction's way).

use super::commit::{NOTIFY, bump_statement, keys_and_dates, lock_feeds, payloads};
use super::upsert::Logged;
use super::{CHANNEL, log_new_rows, log_new_statement, millis};
use crate::model::{FeedId, Item};
use crate::store::{Outcome, Result, StoreError, Written};
use sqlx::postgres::{PgConnection, PgPool};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

/// The end every write's function runs: `lock`, a statement that locks
/// the feeds in key order ([`lock_feeds`]), then the log rows of `$5`
/// appended, the versions of the feeds `$1` (dates `$2`) bumped, the
/// payloads `$4` notified on `$3`.
fn tail(lock: &str) -> String {
    format!(
        "{lock};
         {log};
         {bump};
         PERFORM {notify};",
        log = log_new_statement(5),
        bump = bump_statement(),
        notify = NOTIFY.trim_start_matches("SELECT "),
    )
}

/// A function on the server: its name carries its body's hash, so that
/// instances of different versions sharing a database each call their own.
struct Function {
    name: String,
    arguments: &'static str,
    returns: &'static str,
    body: String,
}

impl Function {
    fn new(prefix: &str, arguments: &'static str, returns: &'static str, body: String) -> Self {
        let hash = crate::hash::hash_hex(format!("{arguments}{returns}{body}").as_bytes());
        Function {
            name: format!("{prefix}_{}", &hash[..16]),
            arguments,
            returns,
            body,
        }
    }
}

/// [`finish`]'s function. `$1` the changed feeds (sorted), `$2` their
/// dates, `$3` the channel, `$4` the payloads, `$5` the log rows, `$6` the
/// feeds to lock (sorted: the changed ones and those of the log rows).
static FINISH: LazyLock<Function> = LazyLock::new(|| {
    Function::new(
        "newswire_finish",
        "text[], int8[], text, text[], json, text[]",
        "void",
        format!("BEGIN {} END", tail(&lock_feeds(6))),
    )
});

/// The SQLSTATE [`CREATE`] raises for an id with tombstones: the call is
/// rolled back and the transaction's way writes the item.
const TOMBSTONED: &str = "NWTB1";

/// [`create`]'s function. `$1` to `$5` as [`FINISH`]'s (the item's feeds
/// are both the changed ones and those to lock), then the row: `$6` id,
/// `$7` source, `$8` kind, `$9` published, `$10` hash, `$11` doc, `$12`
/// seen.
static CREATE: LazyLock<Function> = LazyLock::new(|| {
    Function::new(
        "newswire_create",
        "text[], int8[], text, text[], json, text, text, text, int8, text, text, int8",
        "boolean",
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
               {}
               RETURN true;
             END",
            // The feeds' rows and their locks in one statement.
            tail(&format!(
                "WITH indexed AS (
                   INSERT INTO item_feeds (feed, item_id, kind, published)
                   SELECT f, $6, $8, $9 FROM UNNEST($1::text[]) AS f)
                 {}",
                lock_feeds(1)
            ))
        ),
    )
});

/// Makes the functions that do not exist yet (an instance of the same
/// version made them), under an advisory lock so that instances starting
/// together do not race to make them.
pub(super) async fn define(pool: &PgPool) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('newswire functions'))")
        .execute(&mut *tx)
        .await?;
    for f in [&*FINISH, &*CREATE] {
        let (exists,): (bool,) = sqlx::query_as("SELECT to_regproc($1) IS NOT NULL")
            .bind(&f.name)
            .fetch_one(&mut *tx)
            .await?;
        if !exists {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE FUNCTION {}({}) RETURNS {} LANGUAGE plpgsql AS $body${}$body$",
                f.name, f.arguments, f.returns, f.body
            )))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A group's end in its transaction: the feeds locked, the items new to
/// feeds (`logged`) appended to their logs, the changed feeds' versions
/// bumped (`dates`: see [`crate::store::data_dates`]), the notification
/// queued for the commit.
pub(super) async fn finish(
    conn: &mut PgConnection,
    logged: &Logged,
    feeds: &BTreeSet<FeedId>,
    dates: &BTreeMap<String, i64>,
) -> Result<()> {
    if feeds.is_empty() && logged.is_empty() {
        return Ok(());
    }
    let (keys, data) = keys_and_dates(feeds, dates);
    let locks: BTreeSet<&str> = keys
        .iter()
        .map(String::as_str)
        .chain(logged.iter().map(|(feed, ..)| feed.as_str()))
        .collect();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {}($1, $2, $3, $4, $5::json, $6)",
        FINISH.name
    )))
    .bind(&keys)
    .bind(&data)
    .bind(CHANNEL)
    .bind(payloads(feeds))
    .bind(log_new_rows(logged))
    .bind(locks.into_iter().collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes `item` if its id is new and has no tombstones: `None` when the
/// function declined, having written nothing.
pub(super) async fn create(
    pool: &PgPool,
    item: &Item,
    (doc, hash): &(String, String),
) -> Result<Option<Written>> {
    let feeds: BTreeSet<FeedId> = crate::catalog::item_feeds(item).into_iter().collect();
    let published = millis(item.published);
    // As a group's end dates its feeds ([`finish`]).
    let dated = crate::store::data_dates(std::slice::from_ref(item), &[Outcome::Created]);
    let (keys, dates) = keys_and_dates(&feeds, &dated);
    let logged: Vec<(String, &str, i64)> = keys
        .iter()
        .map(|k| (k.clone(), item.id.as_str(), published))
        .collect();
    let answer: std::result::Result<(bool,), sqlx::Error> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {}($1, $2, $3, $4, $5::json, $6, $7, $8, $9, $10, $11, $12)",
            CREATE.name
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
        .bind(hash)
        .bind(doc)
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
