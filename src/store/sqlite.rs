//! The embedded default: one SQLite file in WAL mode with `synchronous = FULL`, so a
//! write acknowledged after commit survives a crash of the process or the machine.
//!
//! SQLite has one writer at a time; writes go through a single-connection pool so
//! they queue instead of failing with `SQLITE_BUSY`, while reads use their own pool
//! and never wait for a writer (WAL).

use super::shared::shared_sql;
use super::{Ownership, Store, feed_changes};
use async_trait::async_trait;
use sqlx::SqliteConnection;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    /// Upserts go to the group-commit task (see [`commit_groups`]).
    upserts: mpsc::Sender<UpsertJob>,
}

/// One caller's upsert, waiting for the transaction it lands in.
struct UpsertJob {
    items: Vec<Item>,
    ownership: Ownership,
    reply: oneshot::Sender<Result<Written>>,
}

/// Most upserts committed in one transaction.
const GROUP_MAX: usize = 64;

/// Group commit: upserts that arrive while a transaction is being written wait and
/// then share the next one, so concurrent writers pay for one commit (one fsync)
/// instead of one each. Each caller still gets only its own outcomes and feeds, and
/// its reply only after the commit: acknowledged means durable. If a group fails,
/// its jobs are retried one by one, so one bad write cannot fail the others.
async fn commit_groups(write: SqlitePool, mut jobs: mpsc::Receiver<UpsertJob>) {
    while let Some(first) = jobs.recv().await {
        let mut group = vec![first];
        while group.len() < GROUP_MAX {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        match upsert_group(&write, &group).await {
            Ok(results) => {
                for (job, written) in group.into_iter().zip(results) {
                    let _ = job.reply.send(Ok(written));
                }
            }
            Err(e) if group.len() == 1 => {
                let _ = group.pop().expect("one job").reply.send(Err(e));
            }
            Err(_) => {
                for job in group {
                    let result = upsert_group(&write, std::slice::from_ref(&job))
                        .await
                        .map(|mut r| r.remove(0));
                    let _ = job.reply.send(result);
                }
            }
        }
    }
}

async fn upsert_group(write: &SqlitePool, group: &[UpsertJob]) -> Result<Vec<Written>> {
    let mut tx = write.begin().await?;
    let mut results = Vec::with_capacity(group.len());
    let mut all_changed = BTreeSet::new();
    let mut dates = BTreeMap::new();
    for job in group {
        let mut written = Written::default();
        written.outcomes =
            upsert_batch(&mut tx, &job.items, job.ownership, &mut written.changed).await?;
        all_changed.extend(written.changed.iter().cloned());
        for (feed, t) in data_dates(&job.items, &written.outcomes) {
            let d = dates.entry(feed).or_insert(t);
            *d = (*d).max(t);
        }
        results.push(written);
    }
    finish(&mut tx, &all_changed, &dates).await?;
    tx.commit().await?;
    Ok(results)
}

shared_sql!(SqliteConnection, SqlitePool);

/// Claiming due sources: the single writer connection serializes claims, so a
/// plain UPDATE of the due rows cannot hand one to two instances.
const CLAIM: &str = "UPDATE sources SET lease_owner = $1, lease_until = $2
    WHERE name IN (SELECT name FROM sources
                   WHERE next_fetch <= $3 AND (lease_until IS NULL OR lease_until <= $3)
                   ORDER BY next_fetch, name LIMIT $4)";

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
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        let (upserts, jobs) = mpsc::channel(4 * GROUP_MAX);
        tokio::spawn(commit_groups(write.clone(), jobs));
        Ok(SqliteStore {
            read,
            write,
            upserts,
        })
    }
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
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO feed_versions (feed, version, modified)
         SELECT json_extract(value, '$[0]'), 1,
                CASE WHEN json_extract(value, '$[1]') > 0
                     THEN min(json_extract(value, '$[1]'), {DB_NOW}) ELSE {DB_NOW} END
         FROM json_each(?) WHERE true
         ON CONFLICT (feed) DO UPDATE SET version = version + 1,
           modified = max(CASE WHEN excluded.modified > feed_versions.modified
                               THEN excluded.modified ELSE {DB_NOW} END,
                          feed_versions.modified + 1000)"
    )))
    .bind(feed_changes(feeds, dates))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The stored (source, hash, doc) of an item. One writer at a time (the single
/// write connection), so a plain read decides: no other transaction can change
/// the row before the commit.
async fn stored_row(
    conn: &mut SqliteConnection,
    item: &Item,
    _hash: &str,
    _doc: &str,
) -> Result<Option<(String, String, String)>> {
    Ok(
        sqlx::query_as("SELECT source, hash, doc FROM items WHERE id = $1")
            .bind(&item.id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Writes a created or updated item's row.
async fn put_row(
    conn: &mut SqliteConnection,
    item: &Item,
    hash: &str,
    doc: &str,
    _outcome: Outcome,
) -> Result<()> {
    write_row(
        conn,
        "INSERT INTO items (id, source, kind, published, hash, doc) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET source = excluded.source, kind = excluded.kind,
           published = excluded.published, hash = excluded.hash, doc = excluded.doc",
        item,
        hash,
        doc,
    )
    .await?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn upsert(&self, items: &[Item], ownership: Ownership) -> Result<Written> {
        let (reply, answer) = oneshot::channel();
        let job = UpsertJob {
            items: items.to_vec(),
            ownership,
            reply,
        };
        let closed = || StoreError::Unavailable("the SQLite writer has stopped".into());
        self.upserts.send(job).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
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

    async fn expire(&self, source: &Source, before: DateTime<Utc>) -> Result<Written> {
        expire_tx(&self.write, source, before).await
    }

    async fn add_sources(&self, sources: &[crate::model::FetchState]) -> Result<()> {
        add_sources_tx(&self.write, sources).await
    }

    async fn fetch_states(&self) -> Result<Vec<crate::model::FetchState>> {
        fetch_states(&mut *self.read.acquire().await?).await
    }

    async fn save_fetch_state(
        &self,
        state: &crate::model::FetchState,
        owner: &str,
    ) -> Result<bool> {
        save_fetch_state(&mut *self.write.acquire().await?, state, owner).await
    }

    async fn claim_due(
        &self,
        claim: &crate::store::Claim<'_>,
    ) -> Result<Vec<crate::model::FetchState>> {
        claim_due(&mut *self.write.acquire().await?, claim).await
    }
}
