//! The embedded default: one SQLite file in WAL mode with `synchronous = FULL`, so a
//! write acknowledged after commit survives a crash of the process or the machine.
//!
//! SQLite has one writer at a time; writes go through a single-connection pool so
//! they queue instead of failing with `SQLITE_BUSY`, while reads use their own pool
//! and never wait for a writer (WAL).

mod dialect;
mod polls;
mod write;

use super::group::{Committer, Merged, UpsertJob};
use super::sql::shared_sql;
use super::{Ownership, Store, feed_changes};
use async_trait::async_trait;
use sqlx::SqliteConnection;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    /// Upserts go to the group committer ([`super::group`]), which writes
    /// each group with [`upsert_group`].
    upserts: Committer,
    /// Items the windows' reads decoded ([`super::Decoded`]).
    decoded: super::Decoded,
}

use dialect::*;
use polls::{log_attempts, save_states};
use write::{finish, upsert_batch, upsert_group};

shared_sql!(SqliteConnection, SqlitePool);

/// The embedded migrations, one file per change in `migrations/sqlite/`.
static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

impl SqliteStore {
    pub const FILE: &'static str = "newswire.sqlite";

    /// Opens (creating if needed) `DIR/newswire.sqlite`.
    pub async fn open_dir(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.to_owned(),
            source,
        })?;
        Self::open(SqliteConnectOptions::new().filename(dir.join(Self::FILE))).await
    }

    /// Opens a `sqlite:PATH` URL.
    pub async fn open_url(url: &str) -> Result<Self> {
        Self::open(SqliteConnectOptions::from_str(url)?).await
    }

    async fn open(options: SqliteConnectOptions) -> Result<Self> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // No ping before each use: a connection to a file does not go stale
        // behind our back, and the ping is a round trip to sqlx's SQLite
        // thread for every transaction and read.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        let pool = write.clone();
        let upserts = Committer::start(move |group| {
            let pool = pool.clone();
            async move {
                let mut group = group;
                let result = upsert_group(&pool, &mut group).await;
                (group, result)
            }
        });
        Ok(SqliteStore {
            read,
            write,
            upserts,
            decoded: Default::default(),
        })
    }
}

/// One writer, one process: a catalog change needs no announcing (the
/// follower's version check sees it).
async fn announce_catalog(_: &mut SqliteConnection) -> Result<()> {
    Ok(())
}

/// Values bound as one JSON parameter, for `json_each`.
fn json(rows: &impl serde::Serialize) -> String {
    serde_json::to_string(rows).expect("rows of strings and numbers serialize")
}

#[async_trait]
impl Store for SqliteStore {
    async fn upsert(&self, items: &[Item], ownership: Ownership) -> Result<Written> {
        // Encoded here, in the writer's own task, not by the committer.
        let encoded = super::Encoded::new(items.to_vec());
        self.upserts.upsert(encoded, ownership).await
    }

    async fn upsert_encoded(&self, items: super::Encoded, ownership: Ownership) -> Result<Written> {
        self.upserts.upsert(items, ownership).await
    }

    async fn sync(&self, scope: &str, items: &[Item], keep: &[Source]) -> Result<Written> {
        sync_tx(&self.write, scope, items, keep).await
    }

    async fn delete(&self, id: &str, at: DateTime<Utc>) -> Result<Option<Written>> {
        delete_tx(&self.write, id, at).await
    }

    async fn get(&self, id: &str) -> Result<Option<Item>> {
        get(&mut *self.read.acquire().await?, id).await
    }

    async fn list(&self, feed: &FeedId, kind: Option<ItemKind>, limit: usize) -> Result<Vec<Item>> {
        list(&mut *self.read.acquire().await?, feed, kind, limit).await
    }

    async fn list_between(
        &self,
        feed: &FeedId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Item>> {
        list_between(&mut *self.read.acquire().await?, feed, from, to, limit).await
    }

    async fn window(
        &self,
        feed: &FeedId,
        members: &[FeedId],
        size: usize,
    ) -> Result<super::Window> {
        if archive_due(&mut *self.read.acquire().await?, feed, members, size).await? {
            archive_tx(&self.write, feed, members, size).await?;
        }
        window(
            &mut *self.read.acquire().await?,
            &self.decoded,
            feed,
            members,
            size,
        )
        .await
    }

    async fn archive_page(
        &self,
        feed: &FeedId,
        members: &[FeedId],
        page: u64,
    ) -> Result<Option<super::ArchivePage>> {
        archive_page(&mut *self.read.acquire().await?, feed, members, page).await
    }

    async fn tombstones(&self, feed: &FeedId, limit: usize) -> Result<Vec<Tombstone>> {
        tombstones(&mut *self.read.acquire().await?, feed, limit).await
    }

    async fn versions(&self) -> Result<BTreeMap<FeedId, FeedState>> {
        versions(&mut *self.read.acquire().await?).await
    }

    async fn export(&self) -> Result<Export> {
        // One read transaction: one snapshot of items and tombstones (WAL).
        let mut tx = self.read.begin().await?;
        let export = export(&mut tx).await?;
        tx.commit().await?;
        Ok(export)
    }

    async fn import(&self, data: &Export) -> Result<Written> {
        import_tx(&self.write, data).await
    }

    async fn carried(&self, source: &Source, ids: &[String], at: DateTime<Utc>) -> Result<()> {
        carried(&self.write, source, ids, at).await
    }

    async fn prune(&self, source: &Source, prune: &super::Prune) -> Result<Written> {
        // Most takes let nothing go: that is found on a reader, beside the
        // one writer, which is asked only when something goes (and reads
        // again inside its transaction). Three statements a take were the
        // writer's, on the path of every group commit.
        if to_prune(&mut *self.read.acquire().await?, source, prune)
            .await?
            .is_empty()
        {
            return Ok(Written::default());
        }
        prune_tx(&self.write, source, prune).await
    }

    async fn add_sources(&self, sources: &[crate::model::FetchState]) -> Result<()> {
        add_sources_tx(&self.write, sources).await
    }

    async fn fetch_states(&self) -> Result<Vec<crate::model::FetchState>> {
        fetch_states(&mut *self.read.acquire().await?).await
    }

    async fn save_fetch_states(
        &self,
        states: &[crate::model::FetchState],
        owner: &str,
    ) -> Result<Vec<bool>> {
        save_fetch_states_tx(&self.write, states, owner).await
    }

    async fn record_attempts(&self, attempts: &[crate::model::FetchAttempt]) -> Result<()> {
        record_attempts_tx(&self.write, attempts).await
    }

    async fn set_paused(
        &self,
        source: &str,
        paused: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<bool> {
        set_paused_tx(&self.write, source, paused).await
    }

    async fn start_session(&self, session: &crate::store::Session) -> Result<()> {
        start_session_tx(&self.write, session).await
    }

    async fn session(
        &self,
        id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<crate::store::Session>> {
        session(&mut *self.read.acquire().await?, id, now).await
    }

    async fn end_session(&self, id: &str) -> Result<()> {
        end_session_tx(&self.write, id).await
    }

    async fn archive_document(
        &self,
        feed: &FeedId,
        page: u64,
        format: &str,
    ) -> Result<Option<crate::store::ArchiveDocument>> {
        archive_document(&mut *self.read.acquire().await?, feed, page, format).await
    }

    async fn keep_archive_documents(
        &self,
        feed: &FeedId,
        page: u64,
        edition: i64,
        documents: &[super::KeptDocument<'_>],
    ) -> Result<bool> {
        keep_archive_documents_tx(&self.write, feed, page, edition, documents).await
    }

    async fn kept_documents(
        &self,
        after: Option<&crate::store::KeptAt>,
        n: usize,
    ) -> Result<Vec<crate::store::KeptRow>> {
        kept_documents(&mut *self.read.acquire().await?, after, n).await
    }

    async fn import_kept_documents(&self, rows: &[crate::store::KeptRow]) -> Result<usize> {
        import_kept_documents_tx(&self.write, rows).await
    }

    async fn withdraw_source(&self, source: &crate::model::Source) -> Result<Written> {
        withdraw_source_tx(&self.write, source).await
    }

    async fn catalog(&self) -> Result<crate::model::Catalog> {
        catalog(&mut *self.read.acquire().await?).await
    }

    async fn catalog_version(&self) -> Result<i64> {
        catalog_version(&mut *self.read.acquire().await?).await
    }

    async fn catalog_put(
        &self,
        entry: &crate::model::CatalogEntry,
        create: bool,
        due: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        catalog_put_tx(&self.write, entry, create, due).await
    }

    async fn catalog_delete(&self, kind: crate::model::EntryKind, name: &str) -> Result<bool> {
        catalog_delete_tx(&self.write, kind, name).await
    }

    async fn catalog_declare(&self, entries: &[crate::model::CatalogEntry]) -> Result<()> {
        catalog_declare_tx(&self.write, entries).await
    }

    async fn attempts(&self, source: &str, n: usize) -> Result<Vec<crate::model::FetchAttempt>> {
        attempts(&mut *self.read.acquire().await?, source, n).await
    }

    async fn claim_due(
        &self,
        claim: &crate::store::Claim<'_>,
    ) -> Result<Vec<crate::model::FetchState>> {
        claim_due(&mut *self.write.acquire().await?, claim).await
    }

    async fn websub_subscribe(&self, sub: &crate::store::Subscription) -> Result<()> {
        websub_subscribe(&self.write, sub).await
    }

    async fn websub_unsubscribe(&self, topic: &str, callback: &str) -> Result<bool> {
        websub_unsubscribe(&self.write, topic, callback).await
    }

    async fn websub_subscriptions(&self) -> Result<Vec<crate::store::Subscription>> {
        websub_subscriptions(&mut *self.read.acquire().await?).await
    }

    async fn websub_counts(
        &self,
        asking: &crate::store::Asking<'_>,
        now: DateTime<Utc>,
    ) -> Result<crate::store::SubscriptionCounts> {
        websub_counts(&mut *self.read.acquire().await?, asking, now).await
    }

    async fn websub_enqueue(
        &self,
        changes: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<usize> {
        websub_enqueue(&self.write, changes, now).await
    }

    async fn websub_claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<crate::store::Delivery>> {
        websub_claim(&self.write, owner, now, until, limit).await
    }

    async fn websub_settle(
        &self,
        settled: &[crate::store::Settled],
        now: DateTime<Utc>,
    ) -> Result<()> {
        websub_settle(&self.write, settled, now).await
    }

    async fn websub_expire(&self, now: DateTime<Utc>) -> Result<usize> {
        websub_expire(&self.write, now).await
    }

    async fn websub_remote(&self, source: &str) -> Result<Option<crate::store::Remote>> {
        websub_remote(&mut *self.read.acquire().await?, source).await
    }

    async fn websub_remote_save(&self, remote: &crate::store::Remote) -> Result<()> {
        websub_remote_save(&self.write, remote).await
    }
}
