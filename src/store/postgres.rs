//! PostgreSQL: one database shared by several instances serving the same site.
//!
//! The semantics are those of [`super::sqlite`] (both pass the same conformance
//! suite); what differs is that other processes write at the same time:
//!
//! - **Idempotent upserts across instances.** Every write locks the item rows it
//!   touches (`SELECT … FOR UPDATE`). An id that does not exist yet is created with
//!   `INSERT … ON CONFLICT (id) DO NOTHING`; if another instance created it first,
//!   the row is selected again `FOR UPDATE` and compared like any existing item, so
//!   two instances syncing the same files at once make each item exactly once.
//!   Rows are locked in id order so two batches never wait on each other in a
//!   cycle; a deadlock or serialization failure reported anyway is retried.
//! - **Change notifications.** A committing write runs `pg_notify('newswire_feeds',
//!   'world,all')` inside its transaction; PostgreSQL delivers it only on commit, so a
//!   listener never hears of a change it cannot read yet. [`PgStore::subscribe`]
//!   forwards them; the site's follower also compares `versions()` periodically, which
//!   covers notifications lost while a listener was reconnecting.
//! - **Outages.** Connection failures (refused, reset, pool timeout, server
//!   shutting down) become [`StoreError::Unavailable`], which the API answers with
//!   503; the renderer keeps serving the last good documents meanwhile.
//! - **Migrations at start.** They are embedded in the binary and applied by sqlx's
//!   `Migrator`, whose `locking` flag is on by default: on PostgreSQL it holds
//!   `pg_advisory_lock(<id derived from the database name>)` around the whole run
//!   (`sqlx-postgres` `migrate.rs`, `lock`/`unlock`), so instances starting together
//!   apply them once and the others wait, then find them applied.

use super::sql::shared_sql;
use super::{Ownership, Store};
use async_trait::async_trait;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool, PgPoolOptions};
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::mpsc;

/// The channel every instance writes to and listens on.
pub const CHANNEL: &str = "newswire_feeds";

/// Connections per instance: enough for the API's concurrent writes plus the
/// renderer, small enough that a dozen instances stay under `max_connections`.
const MAX_CONNECTIONS: u32 = 8;

/// Connections for fetch states (see [`PgStore::soft`]): one save runs at a
/// time per instance, the other is for `fetch_now` beside the poller.
const SOFT_CONNECTIONS: u32 = 2;

/// How long a request waits for a connection. Short, so that while the database is
/// down the API answers 503 quickly instead of holding clients.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Reconnection backoff of the notification listener.
const LISTEN_BACKOFF_MIN: Duration = Duration::from_millis(100);
const LISTEN_BACKOFF_MAX: Duration = Duration::from_secs(5);

/// PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; longer lists of feeds
/// are split over several notifications.
const MAX_PAYLOAD: usize = 7000;

/// A whole write transaction is replayed this many times after a deadlock or
/// serialization failure before the error is returned.
const WRITE_ATTEMPTS: u32 = 4;

pub struct PgStore {
    pool: PgPool,
    /// Connections whose commits do not wait for the WAL to reach the disk,
    /// for fetch states only: they are soft state (lost, a source is fetched
    /// again), and a round of 304s waited for a flush per batch. A session
    /// setting, so a save is one statement and one round trip.
    soft: PgPool,
    /// Kept to open the listener's own connection: LISTEN needs a dedicated session,
    /// which a pooled connection handed back and forth cannot be.
    options: PgConnectOptions,
}

/// The embedded migrations, one file per change in `migrations/postgres/`. sqlx's
/// `locking` is on by default, so `run` holds a PostgreSQL advisory lock for the
/// whole run (see the module doc): instances starting together do not race.
static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

impl PgStore {
    /// Connects to a `postgres://` URL and applies pending migrations. Fails within
    /// about [`ACQUIRE_TIMEOUT`] when the server is unreachable.
    pub async fn open(url: &str) -> Result<Self> {
        Self::connect(url).await.map_err(classify)
    }

    async fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("newswire");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await?;
        let mut conn = pool.acquire().await?;
        if let Err(e) = MIGRATOR.run(&mut *conn).await {
            // A failed run may still hold the session's advisory lock; closing the
            // session releases it so other instances are not blocked behind us.
            conn.close_on_drop();
            return Err(e.into());
        }
        drop(conn);
        let soft = PgPoolOptions::new()
            .max_connections(SOFT_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options.clone().options([("synchronous_commit", "off")]));
        Ok(PgStore {
            pool,
            soft,
            options,
        })
    }

    /// Runs one write transaction, replaying it after a deadlock or serialization
    /// failure (both leave nothing behind: PostgreSQL rolled the transaction back).
    async fn write<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut tries = 1;
        loop {
            match attempt().await {
                Err(e) if tries < WRITE_ATTEMPTS && is_retryable(&e) => {
                    tracing::debug!("write conflict, retrying ({tries}): {e}");
                    tokio::time::sleep(Duration::from_millis(5 * u64::from(tries))).await;
                    tries += 1;
                }
                result => return result.map_err(classify),
            }
        }
    }

    async fn try_export(&self) -> Result<Export> {
        // One snapshot for both queries, so no item and its tombstone both appear.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let export = export(&mut tx).await?;
        tx.commit().await?;
        Ok(export)
    }

    /// A pooled connection for a read, its failure classified like any other.
    async fn read(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>> {
        self.pool.acquire().await.map_err(|e| classify(e.into()))
    }
}

/// WebSub changes (a JSON array of `{topic, etag}`, `$1`) queued at `$2` for
/// each live subscriber of their topic, once per change.
const WEBSUB_ENQUEUE: &str = "INSERT INTO websub_outbox (topic, callback, etag, next_attempt)
    SELECT s.topic, s.callback, v.etag, $2
    FROM json_to_recordset($1::json) AS v(topic text, etag text)
    JOIN websub_subscriptions s ON s.topic = v.topic
    WHERE s.lease_until > $2
    ON CONFLICT (topic, callback, etag) DO NOTHING";

/// How WebSub claims lock the rows they pick: concurrent claimers pass over
/// each other's rows instead of waiting.
const ROW_LOCK: &str = " FOR UPDATE SKIP LOCKED";

shared_sql!(PgConnection, PgPool);

/// Claiming due sources across instances: `FOR UPDATE SKIP LOCKED` lets
/// concurrent claimers pass over each other's rows instead of waiting, and the
/// lease condition is checked again on the row each one locks.
const CLAIM: &str = "UPDATE sources SET lease_owner = $1, lease_until = $2
    WHERE name IN (SELECT name FROM sources
                   WHERE (CASE WHEN $5 IS NULL THEN next_fetch <= $3
                               ELSE name IN (SELECT json_array_elements_text($5::json)) END)
                     AND (lease_until IS NULL OR lease_until <= $3)
                   ORDER BY next_fetch, name LIMIT $4 FOR UPDATE SKIP LOCKED)";

/// Saving fetch states: a JSON array of them (`$1`), each written where the
/// source is still leased to `$2` (or to no one); the names written.
const SAVE_STATES: &str = "UPDATE sources AS s SET url = v.url, etag = v.etag,
      last_modified = v.last_modified, last_status = v.last_status,
      last_error = v.last_error, failures = v.failures, last_fetch = v.last_fetch,
      next_fetch = v.next_fetch, lease_owner = NULL, lease_until = NULL,
      body_hash = v.body_hash, items = v.items
    FROM json_to_recordset($1::json) AS v(name text, url text, etag text,
      last_modified text, last_status bigint, last_error text, failures bigint,
      last_fetch bigint, next_fetch bigint, body_hash text, items bigint)
    WHERE s.name = v.name AND (s.lease_owner = $2 OR s.lease_owner IS NULL)
    RETURNING s.name";

const FEEDS_IN: &str = "SELECT json_array_elements_text($1::json)";

/// A JSON array of `[feed, seq]` (`$1`) as rows `(member, seq)`: a timeline's
/// cursors into its members' logs.
const CURSORS_IN: &str = "SELECT c ->> 0 AS member, (c ->> 1)::bigint AS seq
    FROM json_array_elements($1::json) AS c";

/// A JSON array of `[feed, item_id, n]` (`$1`) as rows: items new to feeds,
/// `n` their place among the feed's new ones.
const LOG_NEW_IN: &str = "SELECT r ->> 0 AS feed, r ->> 1 AS item_id, (r ->> 2)::bigint AS n
    FROM json_array_elements($1::json) AS r";

/// A JSON array of `[feed, seq from, seq to]` (`$1`) as rows `(member,
/// lo, hi)`: what a timeline takes from each member's log.
const RANGES_IN: &str = "SELECT r ->> 0 AS member, (r ->> 1)::bigint AS lo,
    (r ->> 2)::bigint AS hi FROM json_array_elements($1::json) AS r";

/// A JSON array of `[feed, item_id, seq, deleted, link]` (`$1`) as rows.
const LOG_ROWS_IN: &str = "SELECT r ->> 0, r ->> 1, (r ->> 2)::bigint, (r ->> 3)::bigint, r ->> 4
    FROM json_array_elements($1::json) AS r";

/// Taking a timeline's log forward: one instance at a time, until commit.
const TIMELINE_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext($1))";

/// True for errors that mean "the database cannot be reached right now", as opposed
/// to a bad query or bad data: the caller should retry later (HTTP 503).
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // Class 08: connection exception; 57P01-03: the server is shutting down or
        // starting up; 53300: too many connections.
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// Turns connection failures into [`StoreError::Unavailable`]; other errors pass.
fn classify(e: StoreError) -> StoreError {
    match e {
        StoreError::Database(d) if is_unavailable(&d) => StoreError::Unavailable(d.to_string()),
        StoreError::Migrate(MigrateError::Execute(d)) if is_unavailable(&d) => {
            StoreError::Unavailable(d.to_string())
        }
        other => other,
    }
}

/// Deadlock detected (40P01) or serialization failure (40001).
fn is_retryable(e: &StoreError) -> bool {
    match e {
        StoreError::Database(sqlx::Error::Database(d)) => {
            d.code().is_some_and(|c| matches!(&*c, "40P01" | "40001"))
        }
        _ => false,
    }
}

/// Bumps the changed feeds' versions and queues the notification; both take effect
/// at commit, together with the write.
async fn finish(
    conn: &mut PgConnection,
    feeds: &BTreeSet<FeedId>,
    dates: &BTreeMap<String, i64>,
) -> Result<()> {
    // The database's clock in whole seconds, as unix milliseconds.
    const DB_NOW: &str = "(floor(extract(epoch from clock_timestamp())) * 1000)::bigint";
    // BTreeSet order: concurrent transactions lock feed_versions rows alike.
    for feed in feeds {
        let data = dates.get(feed.key().as_ref()).copied().unwrap_or(0);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO feed_versions (feed, version, modified)
             VALUES ($1, 1, CASE WHEN $2 > 0 THEN least($2, {DB_NOW}) ELSE {DB_NOW} END)
             ON CONFLICT (feed) DO UPDATE SET version = feed_versions.version + 1,
               modified = greatest(CASE WHEN excluded.modified > feed_versions.modified
                                        THEN excluded.modified ELSE {DB_NOW} END,
                                   feed_versions.modified + 1000)"
        )))
        .bind(feed.key())
        .bind(data)
        .execute(&mut *conn)
        .await?;
    }
    for payload in payloads(feeds) {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Takes the feeds' `feed_versions` rows (making those missing), in the
/// order `finish` takes them, before their logs are numbered: a feed's
/// numbers are then given by one transaction at a time, and commit in order.
async fn lock_feeds(conn: &mut PgConnection, feeds: &BTreeSet<FeedId>) -> Result<()> {
    for feed in feeds {
        sqlx::query(
            "INSERT INTO feed_versions (feed, version, modified) VALUES ($1, 0, 0)
             ON CONFLICT (feed) DO UPDATE SET version = feed_versions.version",
        )
        .bind(feed.key())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Comma-separated feed slugs, split so that no payload exceeds [`MAX_PAYLOAD`].
fn payloads(feeds: &BTreeSet<FeedId>) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for feed in feeds {
        if !current.is_empty() && current.len() + 1 + feed.key().len() > MAX_PAYLOAD {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(',');
        }
        current.push_str(&feed.key());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn parse_payload(payload: &str) -> Vec<FeedId> {
    payload
        .split(',')
        .filter(|s| !s.is_empty())
        .map(FeedId::from_key)
        .collect()
}

/// Upserts a batch with a few statements for the whole batch, as SQLite does:
/// the stored rows read and locked at once (in id order, as every batch locks,
/// so two batches never wait on each other in a cycle), each item planned in
/// memory in input order (an id repeated in the batch sees its earlier
/// version), then the new rows, the changed rows, their feeds and any revived
/// tombstones written through `UNNEST`. A new id that another transaction
/// creates meanwhile makes the batch start over row by row
/// ([`upsert_rows`]), which waits for and compares each row. Outcomes come back
/// in input order.
async fn upsert_batch(
    conn: &mut PgConnection,
    batch: super::Batch<'_>,
    changed: &mut BTreeSet<FeedId>,
) -> Result<Vec<Outcome>> {
    let (items, ownership) = (batch.items, batch.ownership);
    if items.len() < 2 {
        return upsert_rows(conn, batch, changed).await;
    }
    let mut ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    sqlx::query("SAVEPOINT upsert_batch")
        .execute(&mut *conn)
        .await?;
    let stored: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT id, source, hash, doc FROM items WHERE id = ANY($1) ORDER BY id FOR UPDATE",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let super::BatchPlan {
        outcomes,
        writes,
        existed,
        mut touched,
    } = super::plan_batch(items, stored, ownership)?;
    let (created, replaced): (Vec<_>, Vec<_>) =
        writes.iter().partition(|(id, _)| !existed.contains(*id));
    let inserted = write_rows(
        conn,
        "INSERT INTO items (id, source, kind, published, hash, doc)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[])
         ON CONFLICT (id) DO NOTHING",
        &created,
    )
    .await?;
    if inserted < created.len() as u64 {
        // Created meanwhile by another transaction: compare row by row.
        sqlx::query("ROLLBACK TO SAVEPOINT upsert_batch")
            .execute(&mut *conn)
            .await?;
        return upsert_rows(conn, batch, changed).await;
    }
    write_rows(
        conn,
        "UPDATE items SET source = u.source, kind = u.kind, published = u.published,
           hash = u.hash, doc = u.doc
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[])
           AS u(id, source, kind, published, hash, doc)
         WHERE items.id = u.id",
        &replaced,
    )
    .await?;
    let replaced_ids: Vec<&str> = replaced.iter().map(|(id, _)| id.as_str()).collect();
    sqlx::query("DELETE FROM item_feeds WHERE item_id = ANY($1)")
        .bind(&replaced_ids)
        .execute(&mut *conn)
        .await?;
    let mut feeds: (Vec<String>, Vec<&str>, Vec<&str>, Vec<i64>) = Default::default();
    for (id, (item, ..)) in &writes {
        for feed in crate::catalog::item_feeds(item) {
            feeds.0.push(feed.key().into_owned());
            feeds.1.push(id);
            feeds.2.push(kind_str(item.kind));
            feeds.3.push(millis(item.published));
        }
    }
    sqlx::query(
        "INSERT INTO item_feeds (feed, item_id, kind, published)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[])",
    )
    .bind(&feeds.0)
    .bind(&feeds.1)
    .bind(&feeds.2)
    .bind(&feeds.3)
    .execute(&mut *conn)
    .await?;
    // The writes' feeds, locked (in order, as `finish` locks them) before
    // their logs are numbered.
    let logged: Vec<(String, &str, i64)> = feeds
        .0
        .iter()
        .zip(&feeds.1)
        .zip(&feeds.3)
        .map(|((feed, id), published)| (feed.clone(), *id, *published))
        .collect();
    let locked: BTreeSet<FeedId> = feeds.0.iter().map(|k| FeedId::from_key(k)).collect();
    lock_feeds(conn, &locked).await?;
    log_new(conn, &logged).await?;
    // A withdrawn item that comes back is no longer deleted.
    let created_ids: Vec<&str> = created.iter().map(|(id, _)| id.as_str()).collect();
    let revived: Vec<(String, String)> =
        sqlx::query_as("DELETE FROM tombstones WHERE item_id = ANY($1) RETURNING feed, item_id")
            .bind(&created_ids)
            .fetch_all(&mut *conn)
            .await?;
    revive_logs(conn, &revived).await?;
    touched.extend(revived.into_iter().map(|(f, _)| FeedId::from_key(&f)));
    sqlx::query("RELEASE SAVEPOINT upsert_batch")
        .execute(&mut *conn)
        .await?;
    changed.extend(touched);
    Ok(outcomes)
}

/// Runs `sql`, an INSERT or UPDATE of item rows from six `UNNEST`ed arrays
/// (id, source, kind, published, hash, doc); returns how many rows it wrote.
async fn write_rows(
    conn: &mut PgConnection,
    sql: &'static str,
    rows: &[(&String, &(Item, String, String))],
) -> Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let ids: Vec<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    let sources: Vec<String> = rows
        .iter()
        .map(|(_, (it, ..))| it.source.to_string())
        .collect();
    let kinds: Vec<&str> = rows.iter().map(|(_, (it, ..))| kind_str(it.kind)).collect();
    let published: Vec<i64> = rows
        .iter()
        .map(|(_, (it, ..))| millis(it.published))
        .collect();
    let hashes: Vec<&str> = rows.iter().map(|(_, (_, h, _))| h.as_str()).collect();
    let docs: Vec<&str> = rows.iter().map(|(_, (_, _, d))| d.as_str()).collect();
    Ok(sqlx::query(sql)
        .bind(&ids)
        .bind(&sources)
        .bind(&kinds)
        .bind(&published)
        .bind(&hashes)
        .bind(&docs)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Upserts a batch one item at a time in id order (stable, so repeated ids
/// keep their order): each row is locked as it goes, and a row another
/// transaction is creating is waited for and compared.
async fn upsert_rows(
    conn: &mut PgConnection,
    batch: super::Batch<'_>,
    changed: &mut BTreeSet<FeedId>,
) -> Result<Vec<Outcome>> {
    let super::Batch { items, ownership } = batch;
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| items[a].id.cmp(&items[b].id));
    let mut outcomes = vec![Outcome::Unchanged; items.len()];
    for i in order {
        outcomes[i] = upsert_one(conn, &items[i], ownership, changed).await?;
    }
    Ok(outcomes)
}

async fn upsert_one(
    conn: &mut PgConnection,
    item: &Item,
    ownership: Ownership,
    changed: &mut BTreeSet<FeedId>,
) -> Result<Outcome> {
    let (doc, hash) = super::encode(item);
    let old = stored_row(conn, item, &hash, &doc).await?;
    let w = match super::plan(item, doc, hash, old.as_ref(), ownership)? {
        super::Plan::Keep(outcome) => return Ok(outcome),
        super::Plan::Write(w) => w,
    };
    let item = w.kept.as_ref().unwrap_or(item);
    changed.extend(w.old_feeds);
    // A created row was inserted, and locked, by `stored_row`.
    if w.outcome == Outcome::Updated {
        write_row(
            conn,
            "UPDATE items SET source = $2, kind = $3, published = $4, hash = $5, doc = $6
             WHERE id = $1",
            item,
            &w.hash,
            &w.doc,
        )
        .await?;
    }
    index_item(conn, item, changed).await?;
    Ok(w.outcome)
}

/// Runs `sql`, an INSERT or UPDATE of an item row, with the row's six values
/// bound as `$1`..`$6` (id, source, kind, published, hash, doc); returns how many
/// rows it wrote.
async fn write_row(
    conn: &mut PgConnection,
    sql: &'static str,
    item: &Item,
    hash: &str,
    doc: &str,
) -> Result<u64> {
    Ok(sqlx::query(sql)
        .bind(&item.id)
        .bind(item.source.to_string())
        .bind(kind_str(item.kind))
        .bind(millis(item.published))
        .bind(hash)
        .bind(doc)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// The stored row of `id`, locked for this transaction; `None` once this
/// transaction has created it from `item` (then it is locked too).
async fn stored_row(
    conn: &mut PgConnection,
    item: &Item,
    hash: &str,
    doc: &str,
) -> Result<Option<(String, String, String)>> {
    // Each round ends only when another transaction created the id and a third
    // deleted it in between; a few rounds mean heavy churn on one id.
    for _ in 0..8 {
        let old: Option<(String, String, String)> =
            sqlx::query_as("SELECT source, hash, doc FROM items WHERE id = $1 FOR UPDATE")
                .bind(&item.id)
                .fetch_optional(&mut *conn)
                .await?;
        if old.is_some() {
            return Ok(old);
        }
        // Waits for a concurrent creator of the same id; if it commits, nothing is
        // inserted and the next round locks and compares its row.
        let inserted = write_row(
            conn,
            "INSERT INTO items (id, source, kind, published, hash, doc)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
            item,
            hash,
            doc,
        )
        .await?;
        if inserted == 1 {
            return Ok(None);
        }
    }
    Err(StoreError::Unavailable(format!(
        "item {:?} is being created and deleted concurrently; retry",
        item.id
    )))
}

/// A listener on [`CHANNEL`] over its own connection (LISTEN belongs to a session).
async fn listen(options: &PgConnectOptions) -> Result<PgListener, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_with(options.clone().application_name("newswire-listener"))
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    // Report a lost connection at once; `follow` reconnects with its own backoff.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Forwards notifications until the receiver is dropped, reconnecting with
/// exponential backoff whenever the connection is lost or cannot be made.
async fn follow(
    options: PgConnectOptions,
    mut listener: Option<PgListener>,
    tx: mpsc::Sender<Vec<FeedId>>,
) {
    let mut backoff = LISTEN_BACKOFF_MIN;
    loop {
        let mut current = match listener.take() {
            Some(l) => l,
            None => match listen(&options).await {
                Ok(l) => {
                    tracing::info!("listening for other instances' changes again");
                    backoff = LISTEN_BACKOFF_MIN;
                    l
                }
                Err(e) => {
                    tracing::warn!(
                        "cannot listen for other instances' changes, retrying in {backoff:?}: {e}"
                    );
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {},
                        () = tx.closed() => return,
                    }
                    backoff = (backoff * 2).min(LISTEN_BACKOFF_MAX);
                    continue;
                }
            },
        };
        loop {
            let received = tokio::select! {
                r = current.try_recv() => r,
                () = tx.closed() => return,
            };
            match received {
                Ok(Some(n)) => {
                    let feeds = parse_payload(n.payload());
                    if !feeds.is_empty() && tx.send(feeds).await.is_err() {
                        return;
                    }
                }
                // Notifications sent until the next connection are lost; the
                // follower's periodic version check picks those changes up.
                Ok(None) => {
                    tracing::warn!("lost the notification connection; reconnecting");
                    break;
                }
                Err(e) => {
                    tracing::warn!("notification connection failed, reconnecting: {e}");
                    break;
                }
            }
        }
    }
}

/// A feed's newest items: the LIMIT applies to an ordered scan of `item_feeds_order`
/// before the join, so the plan stays cheap whatever the statistics say (a generic
/// plan of a join-then-sort read every row of a large feed).
/// (`LIST` takes the kind parameter too, as `''`, so both bind alike.)
#[async_trait]
impl Store for PgStore {
    async fn upsert(&self, items: &[Item], ownership: Ownership) -> Result<Written> {
        self.write(move || upsert_tx(&self.pool, items, ownership))
            .await
    }

    async fn sync(&self, scope: &str, items: &[Item], keep: &[Source]) -> Result<Written> {
        self.write(move || sync_tx(&self.pool, scope, items, keep))
            .await
    }

    async fn delete(&self, id: &str, at: DateTime<Utc>) -> Result<Option<Written>> {
        self.write(move || delete_tx(&self.pool, id, at)).await
    }

    async fn get(&self, id: &str) -> Result<Option<Item>> {
        get(&mut *self.read().await?, id).await.map_err(classify)
    }

    async fn list(&self, feed: &FeedId, kind: Option<ItemKind>, limit: usize) -> Result<Vec<Item>> {
        list(&mut *self.read().await?, feed, kind, limit)
            .await
            .map_err(classify)
    }

    async fn list_between(
        &self,
        feed: &FeedId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Item>> {
        list_between(&mut *self.read().await?, feed, from, to, limit)
            .await
            .map_err(classify)
    }

    async fn window(
        &self,
        feed: &FeedId,
        members: &[FeedId],
        size: usize,
    ) -> Result<super::Window> {
        let due = archive_due(&mut *self.read().await?, feed, members, size)
            .await
            .map_err(classify)?;
        if due {
            self.write(move || archive_tx(&self.pool, feed, members, size))
                .await?;
        }
        window(&mut *self.read().await?, feed, members)
            .await
            .map_err(classify)
    }

    async fn archive_page(
        &self,
        feed: &FeedId,
        members: &[FeedId],
        page: u64,
    ) -> Result<Option<super::ArchivePage>> {
        archive_page(&mut *self.read().await?, feed, members, page)
            .await
            .map_err(classify)
    }

    async fn tombstones(&self, feed: &FeedId, limit: usize) -> Result<Vec<Tombstone>> {
        tombstones(&mut *self.read().await?, feed, limit)
            .await
            .map_err(classify)
    }

    async fn versions(&self) -> Result<BTreeMap<FeedId, FeedState>> {
        versions(&mut *self.read().await?).await.map_err(classify)
    }

    async fn export(&self) -> Result<Export> {
        self.try_export().await.map_err(classify)
    }

    async fn import(&self, data: &Export) -> Result<Written> {
        self.write(move || import_tx(&self.pool, data)).await
    }

    async fn expire(&self, source: &Source, before: DateTime<Utc>) -> Result<Written> {
        self.write(move || expire_tx(&self.pool, source, before))
            .await
    }

    async fn add_sources(&self, sources: &[crate::model::FetchState]) -> Result<()> {
        self.write(move || add_sources_tx(&self.pool, sources))
            .await
    }

    async fn fetch_states(&self) -> Result<Vec<crate::model::FetchState>> {
        fetch_states(&mut *self.read().await?)
            .await
            .map_err(classify)
    }

    async fn save_fetch_states(
        &self,
        states: &[crate::model::FetchState],
        owner: &str,
    ) -> Result<Vec<bool>> {
        self.write(move || save_fetch_states_tx(&self.soft, states, owner))
            .await
    }

    async fn claim_due(
        &self,
        claim: &crate::store::Claim<'_>,
    ) -> Result<Vec<crate::model::FetchState>> {
        claim_due(&mut *self.read().await?, claim)
            .await
            .map_err(classify)
    }

    async fn websub_subscribe(&self, sub: &crate::store::Subscription) -> Result<()> {
        self.write(move || websub_subscribe(&self.pool, sub)).await
    }

    async fn websub_unsubscribe(&self, topic: &str, callback: &str) -> Result<bool> {
        self.write(move || websub_unsubscribe(&self.pool, topic, callback))
            .await
    }

    async fn websub_subscriptions(&self) -> Result<Vec<crate::store::Subscription>> {
        websub_subscriptions(&mut *self.read().await?)
            .await
            .map_err(classify)
    }

    async fn websub_enqueue(
        &self,
        changes: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<usize> {
        self.write(move || websub_enqueue(&self.pool, changes, now))
            .await
    }

    async fn websub_claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<crate::store::Delivery>> {
        self.write(move || websub_claim(&self.pool, owner, now, until, limit))
            .await
    }

    async fn websub_settle(
        &self,
        settled: &[crate::store::Settled],
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write(move || websub_settle(&self.pool, settled, now))
            .await
    }

    async fn websub_expire(&self, now: DateTime<Utc>) -> Result<usize> {
        self.write(move || websub_expire(&self.pool, now)).await
    }

    async fn websub_remote(&self, source: &str) -> Result<Option<crate::store::Remote>> {
        websub_remote(&mut *self.read().await?, source)
            .await
            .map_err(classify)
    }

    async fn websub_remote_save(&self, remote: &crate::store::Remote) -> Result<()> {
        self.write(move || websub_remote_save(&self.pool, remote))
            .await
    }

    /// Starts a task that listens on [`CHANNEL`] and forwards each notification's
    /// feeds. The first connection is made before returning, so changes committed
    /// after this call are heard; if it fails, the task keeps retrying.
    async fn subscribe(&self) -> Result<Option<mpsc::Receiver<Vec<FeedId>>>> {
        let (tx, rx) = mpsc::channel(256);
        let first = match listen(&self.options).await {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!("cannot listen for other instances' changes yet: {e}");
                None
            }
        };
        tokio::spawn(follow(self.options.clone(), first, tx));
        Ok(Some(rx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<FeedId> {
        names.iter().map(|n| FeedId::named(n)).collect()
    }

    #[test]
    fn payloads_round_trip_and_stay_under_the_limit() {
        let feeds = set(&["all", "world", "breaking"]);
        let p = payloads(&feeds);
        assert_eq!(p, ["all,breaking,world"]);
        assert_eq!(
            parse_payload(&p[0]).into_iter().collect::<BTreeSet<_>>(),
            feeds
        );
        assert!(payloads(&BTreeSet::new()).is_empty());

        let many: BTreeSet<FeedId> = (0..2000)
            .map(|n| FeedId::named(&format!("feed-{n:05}")))
            .collect();
        let p = payloads(&many);
        assert!(p.len() > 1);
        assert!(p.iter().all(|s| s.len() <= MAX_PAYLOAD));
        let back: BTreeSet<FeedId> = p.iter().flat_map(|s| parse_payload(s)).collect();
        assert_eq!(back, many);
    }
}
