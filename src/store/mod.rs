//! Persistence behind one trait. SQLite is the embedded default; PostgreSQL lets
//! several instances share one site. Both pass every case of [`conformance::CASES`].
//!
//! Writes report which feeds they changed, so the renderer redoes only those; every
//! feed also has a version counter so an instance that missed a notification can
//! catch up by comparing numbers instead of re-rendering everything.

pub mod conformance;
pub mod postgres;
mod shared;
pub mod sqlite;

use crate::model::{FeedId, FetchState, Item, ItemKind, Source, Tombstone};
use crate::websub::{Delivery, Remote, Settled, Subscription};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored item {id:?} is unreadable: {message}")]
    Corrupt { id: String, message: String },
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// The store's result: its errors are [`StoreError`] unless said otherwise.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What one upsert did to one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    /// Another source owns this id (e.g. the API corrected a file article); left alone.
    Skipped,
    /// Withdrawn because its source no longer lists it.
    Deleted,
    /// A create ([`Ownership::Create`]) of an id that exists with other content;
    /// nothing was written.
    Conflict,
}

/// The result of a write: per-item outcomes and the feeds whose documents changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Written {
    pub outcomes: Vec<Outcome>,
    pub changed: BTreeSet<FeedId>,
}

/// How an upsert treats an id that another source already owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// The writer takes the item over (the API correcting anything).
    Take,
    /// Only items of the writer's own source are touched (file sync).
    Respect,
    /// Create only (the API's POST): an id that exists with other content is a
    /// [`Outcome::Conflict`], decided inside the write's transaction so that of two
    /// concurrent creates exactly one wins. The same content again (whatever its
    /// `updated`) is `Unchanged`.
    Create,
    /// Bulk loads (`import`): like `Take`, but the same content with another
    /// `updated` is `Unchanged`, so re-importing a file changes nothing.
    Refresh,
}

/// A feed's change counter and the `Last-Modified` that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedState {
    pub version: i64,
    /// Advances with every change to the feed: to the newest date among the items
    /// the change wrote when that is newer, else to the database's clock, and
    /// always by at least a second (HTTP dates have seconds), so a client that
    /// sends only If-Modified-Since sees every change. Never later than the
    /// database's clock at the change.
    pub modified: DateTime<Utc>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Inserts or replaces items by id, in one transaction. An item identical to the
    /// stored one is `Unchanged` and changes no feed and no version.
    async fn upsert(&self, items: &[Item], ownership: Ownership) -> Result<Written, StoreError>;

    /// Makes the items of every source under `scope` (e.g. `file:`) exactly `items`:
    /// upserts them and withdraws the scope's other items, except those of the
    /// sources in `keep` (files that failed to parse keep their last good version).
    async fn sync(
        &self,
        scope: &str,
        items: &[Item],
        keep: &[Source],
    ) -> Result<Written, StoreError>;

    /// Withdraws an item, leaving a tombstone in each feed it was in. `None` if unknown.
    async fn delete(&self, id: &str, at: DateTime<Utc>) -> Result<Option<Written>, StoreError>;

    async fn get(&self, id: &str) -> Result<Option<Item>, StoreError>;

    /// A feed's items, newest first (ties by id, so every instance orders alike).
    async fn list(
        &self,
        feed: &FeedId,
        kind: Option<ItemKind>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError>;

    /// A feed's items published in `[from, to)`, newest first, at most
    /// `limit`: one range of the feed's index.
    async fn list_between(
        &self,
        feed: &FeedId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError>;

    /// RFC 5005: what a served feed's subscription document holds, everything
    /// its log has after its newest closed archive page. First the log is
    /// brought up to date (a timeline's is taken forward from its `members`'
    /// logs; a stored feed is its own one member and its log grows with its
    /// writes), and the pages due are closed: while more than `size` entries
    /// follow the last page, the oldest `size / 2` of them become the next
    /// one ([`archive_bounds`]), so the document holds at most `size` entries,
    /// and more than half of that once the feed has pages.
    async fn window(&self, feed: &FeedId, members: &[FeedId], size: usize) -> Result<Window>;

    /// Closed archive page `page` (from 1, the oldest) of a served feed: the
    /// items its slots hold that are still in the feed, and tombstones for
    /// those withdrawn. `None` for a page not closed.
    async fn archive_page(
        &self,
        feed: &FeedId,
        members: &[FeedId],
        page: u64,
    ) -> Result<Option<ArchivePage>>;

    /// A feed's most recent tombstones, newest first.
    async fn tombstones(&self, feed: &FeedId, limit: usize) -> Result<Vec<Tombstone>, StoreError>;

    /// Every feed's change counter and Last-Modified.
    async fn versions(&self) -> Result<BTreeMap<FeedId, FeedState>, StoreError>;

    /// Everything, for `newswire migrate`: items, and tombstones with their feed.
    async fn export(&self) -> Result<Export, StoreError>;

    /// Writes an export as is (same ids, dates, tombstones); idempotent.
    async fn import(&self, data: &Export) -> Result<Written, StoreError>;

    /// Drops a source's items published before `before`, without tombstones:
    /// they aged out, nobody withdrew them. (An item that merely slid out of its
    /// upstream feed's window stays until then.)
    async fn expire(&self, source: &Source, before: DateTime<Utc>) -> Result<Written>;

    /// Adds the sources not yet known (due at once); known ones keep their state,
    /// their stored URL included.
    async fn add_sources(&self, sources: &[FetchState]) -> Result<()>;

    /// Every known source's fetch state, by name.
    async fn fetch_states(&self) -> Result<Vec<FetchState>>;

    /// Writes sources' states after their fetches and releases their leases,
    /// in one transaction: per state, whether `owner` still held it (a lease
    /// taken over by another instance is left alone, `false`).
    async fn save_fetch_states(&self, states: &[FetchState], owner: &str) -> Result<Vec<bool>>;

    /// [`Store::save_fetch_states`] of one state.
    async fn save_fetch_state(&self, state: &FetchState, owner: &str) -> Result<bool> {
        let saved = self
            .save_fetch_states(std::slice::from_ref(state), owner)
            .await?;
        Ok(saved.first().copied().unwrap_or(false))
    }

    /// Claims up to `limit` sources due at `now` whose lease is free or expired,
    /// for `owner` until `until`. Of instances claiming at once, each source goes
    /// to exactly one.
    async fn claim_due(&self, claim: &Claim<'_>) -> Result<Vec<FetchState>>;

    /// WebSub: adds a verified subscription, or renews it (a new secret and
    /// lease).
    async fn websub_subscribe(&self, sub: &Subscription) -> Result<()>;

    /// WebSub: removes a subscription and what was queued for it; whether it
    /// existed.
    async fn websub_unsubscribe(&self, topic: &str, callback: &str) -> Result<bool>;

    /// Every subscription, live or not, by topic and callback.
    async fn websub_subscriptions(&self) -> Result<Vec<Subscription>>;

    /// Queues each changed topic (`(topic, etag)`) for each of its live
    /// subscribers. The same change queued again, by this instance or by
    /// another that rendered it too, is queued once: how many were new.
    async fn websub_enqueue(
        &self,
        changes: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<usize>;

    /// Claims up to `limit` deliveries due at `now` and not claimed (or whose
    /// claim ran out), for `owner` until `until`, each counted as an attempt.
    /// Of instances claiming at once, each delivery goes to exactly one.
    async fn websub_claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>>;

    /// Records what became of claimed deliveries, in one transaction.
    async fn websub_settle(&self, settled: &[Settled], now: DateTime<Utc>) -> Result<()>;

    /// Drops subscriptions whose lease ran out with what was queued for them,
    /// and delivered rows older than a day: how many subscriptions went.
    async fn websub_expire(&self, now: DateTime<Utc>) -> Result<usize>;

    /// The subscription held at another hub for `source`, if any.
    async fn websub_remote(&self, source: &str) -> Result<Option<Remote>>;

    /// Records (or replaces) the subscription held for a source.
    async fn websub_remote_save(&self, remote: &Remote) -> Result<()>;

    /// Feeds changed by any instance (including this one), as they commit. Only a
    /// shared database has other writers; `None` means nobody else writes.
    async fn subscribe(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<Vec<FeedId>>>, StoreError> {
        Ok(None)
    }
}

/// See [`Store::window`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Window {
    /// How many archive pages are closed: pages `1..=pages` exist.
    pub pages: u64,
    /// The entries after the newest page that are still in the feed, newest first.
    pub items: Vec<Item>,
}

/// See [`Store::archive_page`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ArchivePage {
    pub items: Vec<Item>,
    pub tombstones: Vec<Tombstone>,
}

/// How many archive pages to close, and their size, given how many entries
/// follow a feed's newest page and the feed's size: pages of `size / 2`
/// entries (at least one) from the front, while more than `size` would
/// remain after the page.
pub fn pages_due(open: usize, size: usize) -> (usize, usize) {
    let size = size.max(1);
    let page = (size / 2).max(1);
    (open.saturating_sub(size).div_ceil(page), page)
}

/// The last seqs of the archive pages to close, given the seqs of a feed's
/// log after its newest page (ascending) and the feed's size (see
/// [`pages_due`]).
pub fn archive_bounds(open: &[i64], size: usize) -> Vec<i64> {
    let (pages, page) = pages_due(open.len(), size);
    (1..=pages).map(|k| open[k * page - 1]).collect()
}

/// The key a served feed's archive log is kept under: a stored feed's own
/// key, and `timeline:` before a timeline's name (which may be a category's
/// too).
pub(crate) fn log_key(feed: &FeedId) -> std::borrow::Cow<'_, str> {
    match feed {
        FeedId::Timeline(name) => format!("timeline:{name}").into(),
        other => other.key(),
    }
}

/// Whether `members` is the feed itself: a stored feed, whose log its
/// writes keep, rather than a timeline's, taken from its members'.
pub(crate) fn is_own_log(feed: &FeedId, members: &[FeedId]) -> bool {
    matches!(members, [m] if m == feed)
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Export {
    pub items: Vec<Item>,
    pub tombstones: Vec<(FeedId, Tombstone)>,
    /// The RFC 5005 archives, so that pages keep their URLs and contents
    /// across `newswire migrate`.
    pub archive: ArchiveExport,
}

/// One row of a feed's archive log: feed, item id, seq, withdrawn at, link.
pub type LogRow = (String, String, i64, Option<i64>, Option<String>);

/// Every feed's archive log, closed pages and timeline cursors, as stored
/// (keys as [`log_key`] makes them).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ArchiveExport {
    /// By feed and seq.
    pub log: Vec<LogRow>,
    /// (feed, page, last seq).
    pub pages: Vec<(String, i64, i64)>,
    /// (timeline, member, seq).
    pub cursors: Vec<(String, String, i64)>,
}

/// What an upsert does with an item, given the stored row (source, hash, doc) if
/// any. Both backends decide through this, so they cannot drift apart.
pub(crate) enum Decision {
    Create,
    /// Replace; the old version's feeds change too.
    Update(Vec<FeedId>),
    Keep(Outcome),
}

pub(crate) fn decide(
    old: Option<&(String, String, String)>,
    item: &Item,
    hash: &str,
    ownership: Ownership,
) -> Result<Decision, StoreError> {
    Ok(match old {
        None => Decision::Create,
        Some((_, old_hash, _)) if old_hash == hash => Decision::Keep(Outcome::Unchanged),
        Some((_, _, old_doc)) if matches!(ownership, Ownership::Create | Ownership::Refresh) => {
            let old = decode(&item.id, old_doc)?;
            let same = Item {
                updated: old.updated,
                ..item.clone()
            } == old;
            match (same, ownership) {
                (true, _) => Decision::Keep(Outcome::Unchanged),
                (false, Ownership::Create) => Decision::Keep(Outcome::Conflict),
                (false, _) => Decision::Update(crate::catalog::item_feeds(&old)),
            }
        }
        Some((source, _, _))
            if ownership == Ownership::Respect && *source != item.source.to_string() =>
        {
            Decision::Keep(Outcome::Skipped)
        }
        Some((_, _, old_doc)) => {
            Decision::Update(crate::catalog::item_feeds(&decode(&item.id, old_doc)?))
        }
    })
}

/// What an upsert does with one item, given its stored row (source, hash, doc):
/// keep what is stored, or write `item` (the given one, or the given one with
/// its first-seen date kept) as `outcome`. Both backends plan through this.
pub(crate) enum Plan {
    Keep(Outcome),
    Write(Planned),
}

/// One upsert of several items, as each backend's `upsert_batch` takes it.
pub(crate) struct Batch<'a> {
    pub items: &'a [Item],
    pub ownership: Ownership,
}

pub(crate) struct Planned {
    /// Set when the item to write differs from the given one.
    pub kept: Option<Item>,
    pub doc: String,
    pub hash: String,
    pub outcome: Outcome,
    /// The feeds of the version it replaces, which change too.
    pub old_feeds: Vec<FeedId>,
}

/// A batch planned in memory against its stored rows (`id, source, hash,
/// doc`), item by item in input order, so an id repeated in the batch sees
/// its earlier version: what both backends' batched upserts then write.
pub(crate) struct BatchPlan {
    /// Per item, in input order.
    pub outcomes: Vec<Outcome>,
    /// The last version to write of each id, by id: item, hash, doc.
    pub writes: BTreeMap<String, (Item, String, String)>,
    /// Ids that had a row before the batch.
    pub existed: BTreeSet<String>,
    /// Feeds the writes change: those of the new versions and of the old.
    pub touched: BTreeSet<FeedId>,
}

pub(crate) fn plan_batch(
    items: &[Item],
    stored: Vec<(String, String, String, String)>,
    ownership: Ownership,
) -> Result<BatchPlan> {
    let mut current: std::collections::HashMap<String, (String, String, String)> = stored
        .into_iter()
        .map(|(id, source, hash, doc)| (id, (source, hash, doc)))
        .collect();
    let mut batch = BatchPlan {
        outcomes: Vec::with_capacity(items.len()),
        writes: BTreeMap::new(),
        existed: current.keys().cloned().collect(),
        touched: BTreeSet::new(),
    };
    for item in items {
        let (doc, hash) = encode(item);
        match plan(item, doc, hash, current.get(&item.id), ownership)? {
            Plan::Keep(outcome) => batch.outcomes.push(outcome),
            Plan::Write(w) => {
                let item = w.kept.unwrap_or_else(|| item.clone());
                batch.touched.extend(w.old_feeds);
                batch.touched.extend(crate::catalog::item_feeds(&item));
                current.insert(
                    item.id.clone(),
                    (item.source.to_string(), w.hash.clone(), w.doc.clone()),
                );
                batch.outcomes.push(w.outcome);
                batch.writes.insert(item.id.clone(), (item, w.hash, w.doc));
            }
        }
    }
    Ok(batch)
}

pub(crate) fn plan(
    item: &Item,
    doc: String,
    hash: String,
    old: Option<&(String, String, String)>,
    ownership: Ownership,
) -> Result<Plan> {
    let kept = keep_first_seen(item, old)?;
    let (doc, hash) = match &kept {
        Some(k) => encode(k),
        None => (doc, hash),
    };
    let current = kept.as_ref().unwrap_or(item);
    Ok(match decide(old, current, &hash, ownership)? {
        Decision::Keep(outcome) => Plan::Keep(outcome),
        Decision::Update(old_feeds) => Plan::Write(Planned {
            kept,
            doc,
            hash,
            outcome: Outcome::Updated,
            old_feeds,
        }),
        Decision::Create => Plan::Write(Planned {
            kept,
            doc,
            hash,
            outcome: Outcome::Created,
            old_feeds: Vec::new(),
        }),
    })
}

/// An external item keeps the time it was first seen however often it is seen
/// again (`Origin::first_seen`), and one upstream gives no date to is dated
/// then too: given the stored row, the item to compare and write. Seen again
/// with the same content, it is the stored item; with other content, it keeps
/// those and (undated) is `updated` now.
pub(crate) fn keep_first_seen(
    item: &Item,
    old: Option<&(String, String, String)>,
) -> Result<Option<Item>> {
    let (Some(origin), Some((_, _, doc))) = (&item.origin, old) else {
        return Ok(None);
    };
    let old = decode(&item.id, doc)?;
    let Some(old_origin) = &old.origin else {
        return Ok(None);
    };
    let mut kept = item.clone();
    if let Some(o) = kept.origin.as_mut() {
        o.first_seen = old_origin.first_seen;
    }
    if !origin.dated {
        kept.published = old.published;
        let same = Item {
            updated: old.updated,
            ..kept.clone()
        };
        if same == old {
            return Ok(Some(old));
        }
    }
    Ok(Some(kept))
}

/// Which stored items (id, source) of a synced scope to withdraw: those no longer
/// listed, except items of the sources kept because they failed to load.
pub(crate) fn to_withdraw(
    present: Vec<(String, String)>,
    items: &[Item],
    keep: &[Source],
) -> Vec<String> {
    let listed: BTreeSet<&str> = items.iter().map(|i| i.id.as_str()).collect();
    let keep: BTreeSet<String> = keep.iter().map(Source::to_string).collect();
    present
        .into_iter()
        .filter(|(id, source)| !listed.contains(id.as_str()) && !keep.contains(source))
        .map(|(id, _)| id)
        .collect()
}

/// Per feed, the newest date (unix milliseconds) among the items a write created
/// or updated there: what lets a feed's Last-Modified follow its data. A changed
/// feed missing here (an item moved out, a withdrawal) did not get newer data, and
/// its Last-Modified takes the database's clock instead.
pub(crate) fn data_dates(items: &[Item], outcomes: &[Outcome]) -> BTreeMap<String, i64> {
    let mut dates = BTreeMap::new();
    for (item, outcome) in items.iter().zip(outcomes) {
        if matches!(outcome, Outcome::Created | Outcome::Updated) {
            let t = millis(item.updated.max(item.published));
            for feed in crate::catalog::item_feeds(item) {
                let d = dates.entry(feed.key().into_owned()).or_insert(t);
                *d = (*d).max(t);
            }
        }
    }
    dates
}

/// The feeds of a write as JSON `[[feed, newest data date or 0], ...]`, which both
/// backends expand in SQL to bump versions and Last-Modified in one statement.
pub(crate) fn feed_changes(changed: &BTreeSet<FeedId>, dates: &BTreeMap<String, i64>) -> String {
    let rows: Vec<(std::borrow::Cow<str>, i64)> = changed
        .iter()
        .map(|f| (f.key(), dates.get(f.key().as_ref()).copied().unwrap_or(0)))
        .collect();
    serde_json::to_string(&rows).expect("strings and numbers serialize")
}

/// Feed keys as the JSON array the archive queries bind (each backend
/// expands it in SQL with its `FEEDS_IN`).
pub(crate) fn feed_keys(feeds: &[FeedId]) -> String {
    let keys: Vec<std::borrow::Cow<str>> = feeds.iter().map(FeedId::key).collect();
    serde_json::to_string(&keys).expect("strings serialize")
}

/// `feed_versions` rows (feed, version, modified) as the map `versions()` returns.
pub(crate) fn feed_states(rows: Vec<(String, i64, i64)>) -> BTreeMap<FeedId, FeedState> {
    rows.into_iter()
        .map(|(feed, version, modified)| {
            let modified = from_millis(modified);
            (FeedId::from_key(&feed), FeedState { version, modified })
        })
        .collect()
}

/// A request for due sources: see [`Store::claim_due`].
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub owner: &'a str,
    /// Claim these sources whether they are due or not (a fetch asked for
    /// now), those whose lease is free; no others.
    pub only: Option<&'a [String]>,
    pub now: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub limit: usize,
}

/// A `sources` row: name, url, etag, last_modified, last_status, last_error,
/// failures, last_fetch, next_fetch, lease_owner, lease_until, body_hash, items.
pub(crate) type SourceRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    i64,
    Option<i64>,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
    i64,
);

pub(crate) const SOURCE_COLUMNS: &str = "name, url, etag, last_modified, last_status, last_error, \
     failures, last_fetch, next_fetch, lease_owner, lease_until, body_hash, items";

pub(crate) fn fetch_state(row: SourceRow) -> FetchState {
    let (
        source,
        url,
        etag,
        last_modified,
        status,
        last_error,
        failures,
        last,
        next,
        owner,
        until,
        body_hash,
        items,
    ) = row;
    FetchState {
        body_hash,
        items: u64::try_from(items).unwrap_or(0),
        source,
        url,
        etag,
        last_modified,
        last_status: status.and_then(|s| u16::try_from(s).ok()),
        last_error,
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        last_fetch: last.map(from_millis),
        next_fetch: from_millis(next),
        lease_owner: owner,
        lease_until: until.map(from_millis),
    }
}

/// How many tombstones each feed keeps.
pub const TOMBSTONES_KEPT: usize = 100;

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub(crate) fn encode(item: &Item) -> (String, String) {
    let doc = serde_json::to_string(item).expect("an Item always serializes");
    let hash = crate::hash::hash_hex(doc.as_bytes());
    (doc, hash)
}

pub(crate) fn decode(id: &str, doc: &str) -> Result<Item, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt {
        id: id.to_owned(),
        message: e.to_string(),
    })
}

pub(crate) fn kind_str(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Article => "article",
        ItemKind::Breaking => "breaking",
    }
}

/// A database URL fit for a log or an error message: any password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{path}")
        }
        _ => url.to_owned(),
    }
}

/// Opens the store a config asks for: PostgreSQL when a URL is given, else SQLite
/// under the data directory.
pub async fn open(
    url: Option<&str>,
    data_dir: &std::path::Path,
) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    match url {
        Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
            Ok(std::sync::Arc::new(postgres::PgStore::open(u).await?))
        }
        Some(u) if u.starts_with("sqlite:") => {
            Ok(std::sync::Arc::new(sqlite::SqliteStore::open_url(u).await?))
        }
        Some(u) => Err(StoreError::Unavailable(format!(
            "unsupported database URL {:?} (postgres://… or sqlite:PATH)",
            redact(u)
        ))),
        None => Ok(std::sync::Arc::new(
            sqlite::SqliteStore::open_dir(data_dir).await?,
        )),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn archive_pages_leave_between_half_and_all_of_size() {
        use super::archive_bounds;
        let log: Vec<i64> = (1..=120).collect();
        assert!(archive_bounds(&log[..50], 50).is_empty());
        assert_eq!(archive_bounds(&log[..51], 50), vec![25]);
        // 120 entries: pages of 25 until 50 or fewer remain.
        assert_eq!(archive_bounds(&log, 50), vec![25, 50, 75]);
        for n in 0..log.len() {
            let bounds = archive_bounds(&log[..n], 50);
            let left = n - bounds.len() * 25;
            assert!(
                left <= 50 && (bounds.is_empty() || left > 25),
                "{n}: {left}"
            );
        }
        // Numbers need not be dense: pages count entries.
        assert_eq!(archive_bounds(&[3, 9, 10], 1), vec![3, 9]);
        assert_eq!(archive_bounds(&[3, 9], 0), vec![3]);
    }

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(
            super::redact("postgres://u:secret@db:5432/x"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(super::redact("postgres://u@db/x"), "postgres://u@db/x");
        assert_eq!(
            super::redact("sqlite:data/a.sqlite"),
            "sqlite:data/a.sqlite"
        );
    }
}
