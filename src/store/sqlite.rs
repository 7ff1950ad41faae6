//! The embedded default: one SQLite file in WAL mode with `synchronous = FULL`, so a
//! write acknowledged after commit survives a crash of the process or the machine.
//!
//! SQLite has one writer at a time; writes go through a single-connection pool so
//! they queue instead of failing with `SQLITE_BUSY`, while reads use their own pool
//! and never wait for a writer (WAL).

use super::{
    Decision, Export, FeedState, Outcome, Ownership, Store, StoreError, TOMBSTONES_KEPT, Written,
    data_dates, decide, decode, encode, feed_changes, feed_states, from_millis, kind_str, millis,
    to_withdraw,
};
use crate::model::{FeedId, Item, ItemKind, Source, Tombstone};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection};
use std::collections::{BTreeMap, BTreeSet};
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
    reply: oneshot::Sender<Result<Written, StoreError>>,
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

async fn upsert_group(write: &SqlitePool, group: &[UpsertJob]) -> Result<Vec<Written>, StoreError> {
    let mut tx = write.begin().await?;
    let mut results = Vec::with_capacity(group.len());
    let mut all_changed = BTreeSet::new();
    let mut dates = BTreeMap::new();
    for job in group {
        let mut written = Written::default();
        for item in &job.items {
            let outcome = upsert_one(&mut tx, item, job.ownership, &mut written.changed).await?;
            written.outcomes.push(outcome);
        }
        all_changed.extend(written.changed.iter().cloned());
        for (feed, t) in data_dates(&job.items, &written.outcomes) {
            let d = dates.entry(feed).or_insert(t);
            *d = (*d).max(t);
        }
        results.push(written);
    }
    bump(&mut tx, &all_changed, &dates).await?;
    tx.commit().await?;
    Ok(results)
}

/// The embedded migrations, one file per change in `migrations/sqlite/`.
static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

impl SqliteStore {
    pub const FILE: &'static str = "newswire.sqlite";

    /// Opens (creating if needed) `DIR/newswire.sqlite`.
    pub async fn open_dir(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.to_owned(),
            source,
        })?;
        Self::open(SqliteConnectOptions::new().filename(dir.join(Self::FILE))).await
    }

    /// Opens a `sqlite:PATH` URL.
    pub async fn open_url(url: &str) -> Result<Self, StoreError> {
        Self::open(SqliteConnectOptions::from_str(url)?).await
    }

    async fn open(options: SqliteConnectOptions) -> Result<Self, StoreError> {
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
async fn bump(
    conn: &mut SqliteConnection,
    feeds: &BTreeSet<FeedId>,
    dates: &BTreeMap<String, i64>,
) -> Result<(), StoreError> {
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

fn feed_list<'a>(feeds: impl Iterator<Item = &'a FeedId>) -> String {
    serde_json::to_string(&feeds.map(FeedId::as_str).collect::<Vec<_>>())
        .expect("strings serialize")
}

async fn upsert_one(
    conn: &mut SqliteConnection,
    item: &Item,
    ownership: Ownership,
    changed: &mut BTreeSet<FeedId>,
) -> Result<Outcome, StoreError> {
    let (doc, hash) = encode(item);
    let old: Option<(String, String, String)> =
        sqlx::query_as("SELECT source, hash, doc FROM items WHERE id = ?")
            .bind(&item.id)
            .fetch_optional(&mut *conn)
            .await?;
    let outcome = match decide(old.as_ref(), item, &hash, ownership)? {
        Decision::Keep(outcome) => return Ok(outcome),
        Decision::Update(old_feeds) => {
            changed.extend(old_feeds);
            Outcome::Updated
        }
        Decision::Create => Outcome::Created,
    };
    sqlx::query(
        "INSERT INTO items (id, source, kind, published, hash, doc) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET source = excluded.source, kind = excluded.kind,
           published = excluded.published, hash = excluded.hash, doc = excluded.doc",
    )
    .bind(&item.id)
    .bind(item.source.to_string())
    .bind(kind_str(item.kind))
    .bind(millis(item.published))
    .bind(&hash)
    .bind(&doc)
    .execute(&mut *conn)
    .await?;
    if outcome == Outcome::Updated {
        sqlx::query("DELETE FROM item_feeds WHERE item_id = ?")
            .bind(&item.id)
            .execute(&mut *conn)
            .await?;
    }
    let feeds = item.feeds();
    sqlx::query("INSERT INTO item_feeds (feed, item_id, kind, published) SELECT value, ?, ?, ? FROM json_each(?)")
        .bind(&item.id)
        .bind(kind_str(item.kind))
        .bind(millis(item.published))
        .bind(feed_list(feeds.iter()))
        .execute(&mut *conn)
        .await?;
    changed.extend(feeds);
    if outcome == Outcome::Created {
        // A withdrawn item that comes back is no longer deleted. (A stored item has
        // no tombstones: they are removed when it is created again.)
        let revived = sqlx::query("DELETE FROM tombstones WHERE item_id = ? RETURNING feed")
            .bind(&item.id)
            .fetch_all(&mut *conn)
            .await?;
        changed.extend(revived.iter().map(|r| FeedId(r.get("feed"))));
    }
    Ok(outcome)
}

async fn delete_one(
    conn: &mut SqliteConnection,
    id: &str,
    at: DateTime<Utc>,
    changed: &mut BTreeSet<FeedId>,
) -> Result<bool, StoreError> {
    let Some((doc,)): Option<(String,)> =
        sqlx::query_as("DELETE FROM items WHERE id = ? RETURNING doc")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(false);
    };
    let item = decode(id, &doc)?;
    sqlx::query("DELETE FROM item_feeds WHERE item_id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for feed in item.feeds() {
        insert_tombstone(
            conn,
            &feed,
            &Tombstone {
                id: id.to_owned(),
                link: item.link.clone(),
                deleted: at,
            },
        )
        .await?;
        changed.insert(feed);
    }
    Ok(true)
}

async fn insert_tombstone(
    conn: &mut SqliteConnection,
    feed: &FeedId,
    t: &Tombstone,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO tombstones (feed, item_id, link, deleted) VALUES (?, ?, ?, ?)
         ON CONFLICT (feed, item_id) DO UPDATE SET link = excluded.link, deleted = excluded.deleted",
    )
    .bind(feed.as_str())
    .bind(&t.id)
    .bind(&t.link)
    .bind(millis(t.deleted))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM tombstones WHERE feed = ?1 AND item_id NOT IN
           (SELECT item_id FROM tombstones WHERE feed = ?1 ORDER BY deleted DESC, item_id DESC LIMIT ?2)",
    )
    .bind(feed.as_str())
    .bind(TOMBSTONES_KEPT as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A feed's newest items, the same query shape as the PostgreSQL store's: the
/// LIMIT applies to an ordered scan of `item_feeds_order` before the join.
/// (`LIST` takes the kind parameter too, as `''`, so both bind alike.)
const LIST: &str = "SELECT i.id, i.doc FROM
      (SELECT item_id, published FROM item_feeds WHERE feed = ?1 AND ?2 = ''
       ORDER BY published DESC, item_id DESC LIMIT ?3) f
    JOIN items i ON i.id = f.item_id ORDER BY f.published DESC, f.item_id DESC";
const LIST_KIND: &str = "SELECT i.id, i.doc FROM
      (SELECT item_id, published FROM item_feeds WHERE feed = ?1 AND kind = ?2
       ORDER BY published DESC, item_id DESC LIMIT ?3) f
    JOIN items i ON i.id = f.item_id ORDER BY f.published DESC, f.item_id DESC";

#[async_trait]
impl Store for SqliteStore {
    async fn upsert(&self, items: &[Item], ownership: Ownership) -> Result<Written, StoreError> {
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

    async fn sync(
        &self,
        scope: &str,
        items: &[Item],
        keep: &[Source],
    ) -> Result<Written, StoreError> {
        let mut tx = self.write.begin().await?;
        let mut written = Written::default();
        for item in items {
            let outcome =
                upsert_one(&mut tx, item, Ownership::Respect, &mut written.changed).await?;
            written.outcomes.push(outcome);
        }
        let present: Vec<(String, String)> =
            sqlx::query_as("SELECT id, source FROM items WHERE substr(source, 1, length(?1)) = ?1")
                .bind(scope)
                .fetch_all(&mut *tx)
                .await?;
        let now = Utc::now();
        let dates = data_dates(items, &written.outcomes);
        for id in to_withdraw(present, items, keep) {
            if delete_one(&mut tx, &id, now, &mut written.changed).await? {
                written.outcomes.push(Outcome::Deleted);
            }
        }
        bump(&mut tx, &written.changed, &dates).await?;
        tx.commit().await?;
        Ok(written)
    }

    async fn delete(&self, id: &str, at: DateTime<Utc>) -> Result<Option<Written>, StoreError> {
        let mut tx = self.write.begin().await?;
        let mut written = Written::default();
        if !delete_one(&mut tx, id, at, &mut written.changed).await? {
            return Ok(None);
        }
        written.outcomes.push(Outcome::Deleted);
        bump(&mut tx, &written.changed, &BTreeMap::new()).await?;
        tx.commit().await?;
        Ok(Some(written))
    }

    async fn get(&self, id: &str) -> Result<Option<Item>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT doc FROM items WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.map(|(doc,)| decode(id, &doc)).transpose()
    }

    async fn list(
        &self,
        feed: &FeedId,
        kind: Option<ItemKind>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(match kind {
            None => LIST,
            Some(_) => LIST_KIND,
        })
        .bind(feed.as_str())
        .bind(kind.map(kind_str).unwrap_or(""))
        .bind(limit as i64)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|(id, doc)| decode(id, doc)).collect()
    }

    async fn tombstones(&self, feed: &FeedId, limit: usize) -> Result<Vec<Tombstone>, StoreError> {
        let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(
            "SELECT item_id, link, deleted FROM tombstones WHERE feed = ? ORDER BY deleted DESC, item_id DESC LIMIT ?",
        )
        .bind(feed.as_str())
        .bind(limit as i64)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, link, deleted)| Tombstone {
                id,
                link,
                deleted: from_millis(deleted),
            })
            .collect())
    }

    async fn versions(&self) -> Result<BTreeMap<FeedId, FeedState>, StoreError> {
        let rows: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT feed, version, modified FROM feed_versions")
                .fetch_all(&self.read)
                .await?;
        Ok(feed_states(rows))
    }

    async fn export(&self) -> Result<Export, StoreError> {
        let items: Vec<(String, String)> = sqlx::query_as("SELECT id, doc FROM items ORDER BY id")
            .fetch_all(&self.read)
            .await?;
        let stones: Vec<(String, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT feed, item_id, link, deleted FROM tombstones ORDER BY feed, item_id",
        )
        .fetch_all(&self.read)
        .await?;
        Ok(Export {
            items: items
                .iter()
                .map(|(id, doc)| decode(id, doc))
                .collect::<Result<_, _>>()?,
            tombstones: stones
                .into_iter()
                .map(|(feed, id, link, deleted)| {
                    (
                        FeedId(feed),
                        Tombstone {
                            id,
                            link,
                            deleted: from_millis(deleted),
                        },
                    )
                })
                .collect(),
        })
    }

    async fn import(&self, data: &Export) -> Result<Written, StoreError> {
        let mut tx = self.write.begin().await?;
        let mut written = Written::default();
        for item in &data.items {
            let outcome = upsert_one(&mut tx, item, Ownership::Take, &mut written.changed).await?;
            written.outcomes.push(outcome);
        }
        for (feed, t) in &data.tombstones {
            let exists: Option<(i64,)> =
                sqlx::query_as("SELECT deleted FROM tombstones WHERE feed = ? AND item_id = ?")
                    .bind(feed.as_str())
                    .bind(&t.id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if exists.map(|(d,)| d) != Some(millis(t.deleted)) {
                insert_tombstone(&mut tx, feed, t).await?;
                written.changed.insert(feed.clone());
            }
        }
        let dates = data_dates(&data.items, &written.outcomes);
        bump(&mut tx, &written.changed, &dates).await?;
        tx.commit().await?;
        Ok(written)
    }
}
