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
//! - **Group commit.** Concurrent upserts share one transaction and one commit
//!   ([`crate::store::group`]), as on SQLite, written as one batch ([`group`]) so
//!   still locked in id order.
//! - **Change notifications.** A committing write runs `pg_notify('newswire_feeds',
//!   'world,all')` inside its transaction; PostgreSQL delivers it only on commit, so a
//!   listener never hears of a change it cannot read yet. [`PgStore::subscribe`]
//!   forwards those of other processes (this store's own writes are rendered by
//!   the writer's caller, as on SQLite: hearing them again rendered every write
//!   twice); the site's follower also compares `versions()` periodically, which
//!   covers notifications lost while a listener was reconnecting.
//! - **Outages.** Connection failures (refused, reset, pool timeout, server
//!   shutting down) become [`StoreError::Unavailable`], which the API answers with
//!   503; the renderer keeps serving the last good documents meanwhile.
//! - **Migrations at start.** They are embedded in the binary and applied by sqlx's
//!   `Migrator`, whose `locking` flag is on by default: on PostgreSQL it holds
//!   `pg_advisory_lock(<id derived from the database name>)` around the whole run
//!   (`sqlx-postgres` `migrate.rs`, `lock`/`unlock`), so instances starting together
//!   apply them once and the others wait, then find them applied.

mod commit;
mod dialect;
mod functions;
mod group;
mod polls;
mod upsert;

use super::sql::shared_sql;
use super::{Ownership, Store};
use async_trait::async_trait;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
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
    /// The server processes of this store's sessions: notifications they
    /// send are this store's own writes ([`commit::Sessions`]).
    sessions: commit::Sessions,
    /// Upserts go to the group committer ([`crate::store::group`]), which
    /// writes each group with [`group::commit`].
    upserts: crate::store::group::Committer,
    /// Items the windows' reads decoded ([`crate::store::Decoded`]).
    decoded: crate::store::Decoded,
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
        let sessions = commit::Sessions::default();
        let pool = sessions
            .record(
                PgPoolOptions::new()
                    .max_connections(MAX_CONNECTIONS)
                    .acquire_timeout(ACQUIRE_TIMEOUT),
            )
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
        functions::define(&pool).await?;
        let soft = PgPoolOptions::new()
            .max_connections(SOFT_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options.clone().options([("synchronous_commit", "off")]));
        let writer = pool.clone();
        let upserts = crate::store::group::Committer::start(move |jobs| {
            let pool = writer.clone();
            async move {
                let mut jobs = jobs;
                let result = group::commit(&pool, &mut jobs).await;
                (jobs, result)
            }
        });
        Ok(PgStore {
            sessions,
            upserts,
            pool,
            soft,
            options,
            decoded: Default::default(),
        })
    }

    /// Runs one write transaction, replaying it after a deadlock or serialization
    /// failure (both leave nothing behind: PostgreSQL rolled the transaction back).
    async fn write<T, F, Fut>(&self, attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        retrying(attempt).await
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

use commit::{announce_catalog, finish, follow, listen, lock_feeds};
use dialect::*;
use polls::{log_attempts, save_states};
use upsert::upsert_batch;

shared_sql!(PgConnection, PgPool);

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

/// Runs one write transaction, replaying it after a deadlock or
/// serialization failure (both leave nothing behind: PostgreSQL rolled the
/// transaction back).
async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T>
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

#[async_trait]
impl Store for PgStore {
    async fn upsert(&self, items: &[Item], ownership: Ownership) -> Result<Written> {
        // Encoded here, in the writer's own task, not by the committer.
        let encoded = crate::store::Encoded::new(items.to_vec());
        self.upserts.upsert(encoded, ownership).await
    }

    async fn upsert_encoded(
        &self,
        items: crate::store::Encoded,
        ownership: Ownership,
    ) -> Result<Written> {
        self.upserts.upsert(items, ownership).await
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
        window(&mut *self.read().await?, &self.decoded, feed, members, size)
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

    async fn carried(&self, source: &Source, ids: &[String], at: DateTime<Utc>) -> Result<()> {
        self.write(|| carried(&self.pool, source, ids, at)).await
    }

    async fn prune(&self, source: &Source, prune: &super::Prune) -> Result<Written> {
        self.write(|| prune_tx(&self.pool, source, prune)).await
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

    async fn record_attempts(&self, attempts: &[crate::model::FetchAttempt]) -> Result<()> {
        self.write(move || record_attempts_tx(&self.soft, attempts))
            .await
    }

    async fn set_paused(
        &self,
        source: &str,
        paused: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<bool> {
        self.write(move || set_paused_tx(&self.soft, source, paused))
            .await
    }

    async fn start_session(&self, session: &crate::store::Session) -> Result<()> {
        self.write(move || start_session_tx(&self.soft, session))
            .await
    }

    async fn session(
        &self,
        id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<crate::store::Session>> {
        session(&mut *self.read().await?, id, now)
            .await
            .map_err(classify)
    }

    async fn end_session(&self, id: &str) -> Result<()> {
        self.write(move || end_session_tx(&self.soft, id)).await
    }

    async fn archive_document(
        &self,
        feed: &FeedId,
        page: u64,
        format: &str,
    ) -> Result<Option<crate::store::ArchiveDocument>> {
        archive_document(&mut *self.read().await?, feed, page, format)
            .await
            .map_err(classify)
    }

    async fn keep_archive_documents(
        &self,
        feed: &FeedId,
        page: u64,
        edition: i64,
        documents: &[crate::store::KeptDocument<'_>],
    ) -> Result<bool> {
        self.write(move || keep_archive_documents_tx(&self.soft, feed, page, edition, documents))
            .await
    }

    async fn kept_documents(
        &self,
        after: Option<&crate::store::KeptAt>,
        n: usize,
    ) -> Result<Vec<crate::store::KeptRow>> {
        kept_documents(&mut *self.read().await?, after, n)
            .await
            .map_err(classify)
    }

    async fn import_kept_documents(&self, rows: &[crate::store::KeptRow]) -> Result<usize> {
        self.write(move || import_kept_documents_tx(&self.pool, rows))
            .await
    }

    async fn withdraw_source(&self, source: &crate::model::Source) -> Result<Written> {
        self.write(move || withdraw_source_tx(&self.pool, source))
            .await
    }

    async fn catalog(&self) -> Result<crate::model::Catalog> {
        catalog(&mut *self.read().await?).await.map_err(classify)
    }

    async fn catalog_version(&self) -> Result<i64> {
        catalog_version(&mut *self.read().await?)
            .await
            .map_err(classify)
    }

    async fn catalog_put(
        &self,
        entry: &crate::model::CatalogEntry,
        create: bool,
        due: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        self.write(move || catalog_put_tx(&self.soft, entry, create, due))
            .await
    }

    async fn catalog_delete(&self, kind: crate::model::EntryKind, name: &str) -> Result<bool> {
        self.write(move || catalog_delete_tx(&self.soft, kind, name))
            .await
    }

    async fn catalog_declare(&self, entries: &[crate::model::CatalogEntry]) -> Result<()> {
        self.write(move || catalog_declare_tx(&self.soft, entries))
            .await
    }

    async fn attempts(&self, source: &str, n: usize) -> Result<Vec<crate::model::FetchAttempt>> {
        attempts(&mut *self.read().await?, source, n)
            .await
            .map_err(classify)
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

    async fn websub_counts(
        &self,
        asking: &crate::store::Asking<'_>,
        now: DateTime<Utc>,
    ) -> Result<crate::store::SubscriptionCounts> {
        websub_counts(&mut *self.read().await?, asking, now).await
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
    async fn subscribe(&self) -> Result<Option<mpsc::Receiver<crate::store::Change>>> {
        let (tx, rx) = mpsc::channel(256);
        let first = match listen(&self.options).await {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!("cannot listen for other instances' changes yet: {e}");
                None
            }
        };
        tokio::spawn(follow(
            self.options.clone(),
            first,
            tx,
            self.sessions.clone(),
        ));
        Ok(Some(rx))
    }
}
