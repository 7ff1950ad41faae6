//! The embedded default: one SQLite file in WAL mode with `synchronous = FULL`, so a
//! write acknowledged after commit survives a crash of the process or the machine.
//!
//! SQLite has one writer at a time; writes go through a single-connection pool so
//! they queue instead of failing with `SQLITE_BUSY`, while reads use their own pool
//! and never wait for a writer (WAL).

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
    let mut tx = write.begin().await?;
    let mut changed = BTreeSet::new();
    let batch = super::Batch {
        items,
        ownership: group[0].ownership,
    };
    let outcomes = upsert_batch(&mut tx, batch, &mut changed).await?;
    finish(&mut tx, &changed, &data_dates(items, &outcomes)).await?;
    tx.commit().await?;
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

/// WebSub changes (a JSON array of `{topic, etag}`, `$1`) queued at `$2` for
/// each live subscriber of their topic, once per change.
const WEBSUB_ENQUEUE: &str = "INSERT INTO websub_outbox (topic, callback, etag, next_attempt)
    SELECT s.topic, s.callback, json_extract(v.value, '$.etag'), $2
    FROM json_each($1) AS v
    JOIN websub_subscriptions s ON s.topic = json_extract(v.value, '$.topic')
    WHERE s.lease_until > $2
    ON CONFLICT (topic, callback, etag) DO NOTHING";

/// How WebSub claims lock the rows they pick: SQLite's one writer needs no
/// lock; PostgreSQL's claimers pass over each other's rows.
const ROW_LOCK: &str = "";

shared_sql!(SqliteConnection, SqlitePool);

/// Claiming due sources: the single writer connection serializes claims, so a
/// plain UPDATE of the due rows cannot hand one to two instances. Due ones
/// in `next_fetch` order, by its index.
const CLAIM_DUE: &str = "UPDATE sources SET lease_owner = $1, lease_until = $2
    WHERE name IN (SELECT name FROM sources
                   WHERE next_fetch <= $3 AND paused_at IS NULL
                     AND (lease_until IS NULL OR lease_until <= $3)
                   ORDER BY next_fetch, name LIMIT $4)";

/// [`CLAIM_DUE`] for the sources named (a JSON array, `$5`), due or not,
/// found by name.
const CLAIM_NAMED: &str = "UPDATE sources SET lease_owner = $1, lease_until = $2
    WHERE name IN (SELECT name FROM sources
                   WHERE name IN (SELECT value FROM json_each($5))
                     AND (lease_until IS NULL OR lease_until <= $3)
                   ORDER BY next_fetch, name LIMIT $4)";

/// Saves fetch states (one per source) where each source is still leased to
/// `owner` (or to no one), in one statement: the states as a JSON array
/// expanded by `json_each`. The names written.
async fn save_states(
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
        FROM json_each($1) AS v
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

/// A JSON array of feed keys (`$1`) as rows.
const FEEDS_IN: &str = "SELECT value FROM json_each($1)";

/// A JSON array of `[feed, seq]` (`$1`) as rows `(member, seq)`: a timeline's
/// cursors into its members' logs.
const CURSORS_IN: &str = "SELECT value ->> 0 AS member, value ->> 1 AS seq FROM json_each($1)";

/// A JSON array of `[feed, item_id, n]` (`$1`) as rows: items new to feeds,
/// `n` their place among the feed's new ones.
const LOG_NEW_IN: &str =
    "SELECT value ->> 0 AS feed, value ->> 1 AS item_id, value ->> 2 AS n FROM json_each($1)";

/// A JSON array of `[feed, seq from, seq to]` (`$1`) as rows `(member,
/// lo, hi)`: what a timeline takes from each member's log.
const RANGES_IN: &str =
    "SELECT value ->> 0 AS member, value ->> 1 AS lo, value ->> 2 AS hi FROM json_each($1)";

/// A JSON array of `[feed, item_id, seq, deleted, link]` (`$1`) as rows.
const LOG_ROWS_IN: &str = "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4
    FROM json_each($1) WHERE true";

/// Appends polls to their sources' logs (ids follow their order), and
/// keeps the last [`crate::store::ATTEMPTS_KEPT`] of each: two statements,
/// one transaction, the polls as a JSON array expanded by `json_each`.
async fn log_attempts(pool: &SqlitePool, attempts: &[&crate::model::FetchAttempt]) -> Result<()> {
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
           value ->> 5, value ->> 6 FROM json_each($1) ORDER BY key",
    )
    .bind(&rows)
    .execute(&mut *tx)
    .await?;
    // Past each source's kept ones, by id: its cut found once (its index
    // walked back ATTEMPTS_KEPT rows), nothing when it has fewer.
    sqlx::query(
        "WITH s(source) AS (SELECT DISTINCT value ->> 0 FROM json_each($1)),
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

/// A JSON array of `[name, url, next_fetch]` (`$1`) as rows of name,
/// url, origin (the same url) and next_fetch.
const SOURCES_IN: &str =
    "SELECT value ->> 0, value ->> 1, value ->> 1, value ->> 2 FROM json_each($1) WHERE true";

/// A JSON array of `[space, name, kind, body]` (`$1`) as declared catalog
/// rows made at `$2`.
const CATALOG_IN: &str = "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, 1, $2, $2
    FROM json_each($1) WHERE true";

/// Taking a timeline's log forward: SQLite's one writer already excludes
/// every other.
const TIMELINE_LOCK: &str = "SELECT $1";

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

/// Upserts a batch with a few statements for the whole batch: the stored rows
/// read at once, each item planned in memory (in order, so an id repeated in the
/// batch sees its earlier version), then the rows, their feeds and any revived
/// tombstones written at once through `json_each`. SQLite's one writer needs no
/// row locks, and statements are what costs here: each is a round trip to
/// sqlx's SQLite thread, which one statement per item made most of an import's
/// time.
async fn upsert_batch(
    conn: &mut SqliteConnection,
    batch: super::Batch<'_>,
    changed: &mut BTreeSet<FeedId>,
) -> Result<Vec<Outcome>> {
    let ids: Vec<&str> = batch.items.iter().map(|i| i.id.as_str()).collect();
    let (items, ownership) = (batch.items, batch.ownership);
    let stored: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT id, source, hash, doc FROM items WHERE id IN (SELECT value FROM json_each($1))",
    )
    .bind(json(&ids))
    .fetch_all(&mut *conn)
    .await?;
    let super::BatchPlan {
        outcomes,
        writes,
        existed,
        touched,
    } = super::plan_batch(items, stored, ownership)?;
    changed.extend(touched);
    if writes.is_empty() {
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
    // A new row's `seen` is written with it (see `carried_since`); a row
    // that exists keeps its own.
    sqlx::query(
        "INSERT INTO items (id, source, kind, published, hash, doc, seen)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
           value ->> 6
         FROM json_each($1) WHERE true
         ON CONFLICT (id) DO UPDATE SET source = excluded.source, kind = excluded.kind,
           published = excluded.published, hash = excluded.hash, doc = excluded.doc",
    )
    .bind(json(&rows))
    .execute(&mut *conn)
    .await?;
    let replaced: Vec<&str> = writes
        .keys()
        .map(String::as_str)
        .filter(|id| existed.contains(*id))
        .collect();
    if !replaced.is_empty() {
        sqlx::query("DELETE FROM item_feeds WHERE item_id IN (SELECT value FROM json_each($1))")
            .bind(json(&replaced))
            .execute(&mut *conn)
            .await?;
    }
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
    let feeds = json(&feeds);
    sqlx::query(
        "INSERT INTO item_feeds (feed, item_id, kind, published)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each($1)",
    )
    .bind(&feeds)
    .execute(&mut *conn)
    .await?;
    let logged: Vec<(String, &str, i64)> = writes
        .iter()
        .flat_map(|(id, (it, ..))| {
            crate::catalog::item_feeds(it)
                .into_iter()
                .map(move |f| (f.key().into_owned(), id.as_str(), millis(it.published)))
        })
        .collect();
    log_new(conn, &logged).await?;
    // A withdrawn item that comes back is no longer deleted.
    let created: Vec<&str> = writes
        .iter()
        .map(|(id, ..)| id.as_str())
        .filter(|id| !existed.contains(*id))
        .collect();
    let revived: Vec<(String, String)> = sqlx::query_as(
        "DELETE FROM tombstones WHERE item_id IN (SELECT value FROM json_each($1))
         RETURNING feed, item_id",
    )
    .bind(json(&created))
    .fetch_all(&mut *conn)
    .await?;
    revive_logs(conn, &revived).await?;
    changed.extend(revived.into_iter().map(|(f, _)| FeedId::from_key(&f)));
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
