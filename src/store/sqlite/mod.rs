//! The embedded default: one SQLite file in WAL mode with `synchronous = FULL`, so a
//! write acknowledged after commit survives a crash of the process or the machine.
//!
//! SQLite has one writer at a time; writes go through a single-connection pool so
//! they queue instead of failing with `SQLITE_BUSY`, while reads use their own pool
//! and never wait for a writer (WAL).

mod dialect;
mod polls;

use super::group::{Committer, UpsertJob};
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

/// A group's upserts (of one ownership) in one transaction, each caller
/// with its own outcomes (SQLite's one writer needs no row locks).
async fn upsert_group(write: &SqlitePool, group: &[UpsertJob]) -> Result<Vec<Written>> {
    // The group's items as one batch, as PostgreSQL writes a group
    // (`postgres/group.rs`): a few statements for the whole group, where a
    // batch per caller was a few statements each, every one a round trip to
    // sqlx's SQLite thread. An id two callers send is planned in their order.
    let merged: Vec<Item>;
    let items = match group {
        [one] => &one.items[..],
        _ => {
            merged = group.iter().flat_map(|j| j.items.iter().cloned()).collect();
            &merged[..]
        }
    };
    let mut conn = write.acquire().await?;
    let mut changed = BTreeSet::new();
    let batch = super::Batch {
        items,
        ownership: group[0].ownership,
    };
    let outcomes = match write_batch(&mut conn, batch, &mut changed, Framing::Own).await {
        Ok(outcomes) => outcomes,
        Err(e) => {
            abandon(conn).await;
            return Err(e);
        }
    };
    let mut outcomes = outcomes.into_iter();
    Ok(group
        .iter()
        .map(|job| Written {
            outcomes: outcomes.by_ref().take(job.items.len()).collect(),
            // The group's feeds: each caller marks them for the renderer,
            // which renders each once.
            changed: changed.clone(),
        })
        .collect())
}

use dialect::*;
use polls::{log_attempts, save_states};

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
                let result = upsert_group(&pool, &group).await;
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

/// The database's clock in whole seconds, as unix milliseconds.
const DB_NOW: &str = "(CAST(strftime('%s', 'now') AS INTEGER) * 1000)";

/// Bumps the version and Last-Modified of every changed feed in one statement
/// (`json_each` expands the list); see [`FeedState::modified`] for the rule.
async fn finish(
    conn: &mut SqliteConnection,
    feeds: &BTreeSet<FeedId>,
    dates: &BTreeMap<String, i64>,
) -> Result<()> {
    if feeds.is_empty() {
        return Ok(());
    }
    sqlx::query(sqlx::AssertSqlSafe(&**FINISH))
        .bind(feed_changes(feeds, dates))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// [`finish`]'s statement, its `[feed, date]` rows the parameter numbered
/// `param`.
fn finish_statement(param: usize) -> String {
    format!(
        "INSERT INTO feed_versions (feed, version, modified)
         SELECT json_extract(value, '$[0]'), 1,
                CASE WHEN json_extract(value, '$[1]') > 0
                     THEN min(json_extract(value, '$[1]'), {DB_NOW}) ELSE {DB_NOW} END
         FROM json_each(${param}) WHERE true
         ON CONFLICT (feed) DO UPDATE SET version = version + 1,
           modified = max(CASE WHEN excluded.modified > feed_versions.modified
                               THEN excluded.modified ELSE {DB_NOW} END,
                          feed_versions.modified + 1000)"
    )
}

static FINISH: LazyLock<String> = LazyLock::new(|| finish_statement(1));

/// A batch's writes, as one request to sqlx's SQLite thread (its
/// statements share one argument list, `$n` the same in each): the rows
/// (`$1`; a new row's `seen` is written with it, see `carried_since`, a row
/// that exists keeps its own), the replaced rows' old feeds dropped (`$2`),
/// the rows' feeds (`$3`) and their places in the feeds' logs (`$4`), the
/// changed feeds' versions bumped ([`finish`]'s statement, `$6`), and the
/// tombstones of the ids created (`$5`) ended, returned: a withdrawn item
/// that comes back is no longer deleted. Empty arrays make no-ops.
static WRITE_BATCH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO items (id, source, kind, published, hash, doc, seen)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
           value ->> 6
         FROM json_each($1) WHERE true
         ON CONFLICT (id) DO UPDATE SET source = excluded.source, kind = excluded.kind,
           published = excluded.published, hash = excluded.hash, doc = excluded.doc;
         DELETE FROM item_feeds WHERE item_id IN (SELECT value FROM json_each($2));
         INSERT INTO item_feeds (feed, item_id, kind, published)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each($3);
         {};
         {};
         DELETE FROM tombstones WHERE item_id IN (SELECT value FROM json_each($5))
         RETURNING feed, item_id",
        log_new_statement(4),
        finish_statement(6)
    )
});

/// Upserts a batch with two requests for the whole batch: the stored rows
/// read at once, each item planned in memory (in order, so an id repeated in the
/// batch sees its earlier version), then the rows, their feeds and any revived
/// tombstones written at once ([`WRITE_BATCH`]). SQLite's one writer needs no
/// row locks, and requests are what costs here: each is a round trip to
/// sqlx's SQLite thread (about 0.1 ms on two cores, a thread woken each
/// way), which one statement per item made most of an import's time and
/// five per batch most of a sequential writer's.
async fn upsert_batch(
    conn: &mut SqliteConnection,
    batch: super::Batch<'_>,
    changed: &mut BTreeSet<FeedId>,
) -> Result<Vec<Outcome>> {
    write_batch(conn, batch, changed, Framing::Inside).await
}

/// Where a batch's writes sit.
#[derive(Clone, Copy, PartialEq)]
enum Framing {
    /// In a transaction the caller opened, commits and finishes (a sync,
    /// an import).
    Inside,
    /// In a transaction of their own, a group commit's: opened in the same
    /// request as the stored rows' read and, unless a tombstone may be
    /// revived, finished and committed in the same request as the writes.
    /// Two requests to sqlx's SQLite thread for a write, not four, without
    /// sqlx's own transaction (which sends BEGIN and COMMIT alone); a
    /// failure anywhere is [`abandon`]ed. The committer runs as a task of
    /// its own, so no caller's cancellation stops it between the two.
    Own,
}

/// The stored rows of a batch's ids (`$1`), and in [`Framing::Own`] the ids
/// among them with tombstones (a row of NULLs but the id): a revived item's
/// logs and feeds need more statements after the writes, so that batch
/// commits on its own.
const STORED: &str =
    "SELECT id, source, hash, doc FROM items WHERE id IN (SELECT value FROM json_each($1))";
static STORED_OWN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "BEGIN IMMEDIATE;
         {STORED}
         UNION ALL
         SELECT DISTINCT item_id, NULL, NULL, NULL FROM tombstones
         WHERE item_id IN (SELECT value FROM json_each($1))"
    )
});
/// A row of [`STORED_OWN`]: id, then source, hash and doc, all NULL for an
/// id with tombstones.
type StoredOrTombstoned = (String, Option<String>, Option<String>, Option<String>);
static WRITE_BATCH_COMMIT: LazyLock<String> =
    LazyLock::new(|| format!("{};\nCOMMIT", *WRITE_BATCH));

/// A write transaction of our own that failed: rolled back, or where even
/// that fails (the BEGIN that failed left none) the connection closed, so
/// that none goes back to the pool inside a transaction.
async fn abandon(mut conn: sqlx::pool::PoolConnection<sqlx::Sqlite>) {
    if sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
        let _ = conn.close().await;
    }
}

async fn commit(conn: &mut SqliteConnection) -> Result<()> {
    sqlx::query("COMMIT").execute(conn).await?;
    Ok(())
}

/// [`upsert_batch`], or in [`Framing::Own`] a group commit's whole
/// transaction: what [`finish`] does and the commit in the same request as
/// the writes.
async fn write_batch(
    conn: &mut SqliteConnection,
    batch: super::Batch<'_>,
    changed: &mut BTreeSet<FeedId>,
    framing: Framing,
) -> Result<Vec<Outcome>> {
    let own = framing == Framing::Own;
    let ids: Vec<&str> = batch.items.iter().map(|i| i.id.as_str()).collect();
    let (items, ownership) = (batch.items, batch.ownership);
    let rows: Vec<StoredOrTombstoned> = sqlx::query_as(sqlx::AssertSqlSafe(if own {
        &**STORED_OWN
    } else {
        STORED
    }))
    .bind(json(&ids))
    .fetch_all(&mut *conn)
    .await?;
    let mut tombstoned = false;
    let stored: Vec<(String, String, String, String)> = rows
        .into_iter()
        .filter_map(|row| match row {
            (id, Some(source), Some(hash), Some(doc)) => Some((id, source, hash, doc)),
            _ => {
                tombstoned = true;
                None
            }
        })
        .collect();
    let super::BatchPlan {
        outcomes,
        writes,
        existed,
        touched,
    } = super::plan_batch(items, stored, ownership)?;
    let dates = data_dates(items, &outcomes);
    if writes.is_empty() {
        if own {
            finish(conn, &touched, &dates).await?;
            commit(conn).await?;
        }
        changed.extend(touched);
        return Ok(outcomes);
    }
    type Row<'a> = (&'a str, String, &'a str, i64, &'a str, &'a str, Option<i64>);
    let rows: Vec<Row> = writes
        .iter()
        .map(|(id, (it, hash, doc))| {
            (
                id.as_str(),
                it.source.to_string(),
                kind_str(it.kind),
                millis(it.published),
                hash.as_str(),
                doc.as_str(),
                super::carried_since(it),
            )
        })
        .collect();
    let replaced: Vec<&str> = writes
        .keys()
        .map(String::as_str)
        .filter(|id| existed.contains(*id))
        .collect();
    let feeds: Vec<(String, &str, &str, i64)> = writes
        .iter()
        .flat_map(|(id, (it, ..))| {
            crate::catalog::item_feeds(it).into_iter().map(move |f| {
                (
                    f.key().into_owned(),
                    id.as_str(),
                    kind_str(it.kind),
                    millis(it.published),
                )
            })
        })
        .collect();
    let logged: Vec<(String, &str, i64)> = feeds
        .iter()
        .map(|(feed, id, _, published)| (feed.clone(), *id, *published))
        .collect();
    let created: Vec<&str> = writes
        .keys()
        .map(String::as_str)
        .filter(|id| !existed.contains(*id))
        .collect();
    // Committed with the writes unless a tombstone may be revived (its
    // logs and feeds come after, in the same transaction).
    let committing = own && !tombstoned;
    let statement = if committing {
        &**WRITE_BATCH_COMMIT
    } else {
        &**WRITE_BATCH
    };
    let revived: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(statement))
        .bind(json(&rows))
        .bind(json(&replaced))
        .bind(json(&feeds))
        .bind(log_new_rows(&logged))
        .bind(json(&created))
        .bind(if own {
            feed_changes(&touched, &dates)
        } else {
            "[]".into()
        })
        .fetch_all(&mut *conn)
        .await?;
    revive_logs(conn, &revived).await?;
    // Feeds of ended tombstones that the item is no longer in: the finish
    // above did not know them.
    let late: BTreeSet<FeedId> = revived
        .into_iter()
        .map(|(f, _)| FeedId::from_key(&f))
        .filter(|f| !touched.contains(f))
        .collect();
    if own {
        finish(conn, &late, &dates).await?;
        if !committing {
            commit(conn).await?;
        }
    }
    changed.extend(touched);
    changed.extend(late);
    Ok(outcomes)
}

/// Values bound as one JSON parameter, for `json_each`.
fn json(rows: &impl serde::Serialize) -> String {
    serde_json::to_string(rows).expect("rows of strings and numbers serialize")
}

#[async_trait]
impl Store for SqliteStore {
    async fn upsert(&self, items: &[Item], ownership: Ownership) -> Result<Written> {
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
