//! Persistence behind one trait. SQLite is the embedded default; PostgreSQL lets
//! several instances share one site. Both pass every case of [`conformance::CASES`].
//!
//! Writes report which feeds they changed, so the renderer redoes only those; every
//! feed also has a version counter so an instance that missed a notification can
//! catch up by comparing numbers instead of re-rendering everything.

mod codec;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod decoded;
mod decoding;
mod group;
mod members;
mod paging;
mod plan;
pub mod postgres;
mod sql;
pub mod sqlite;
mod websub;

pub use codec::Encoded;
pub(crate) use codec::*;
pub(crate) use decoded::Decoded;
pub(crate) use decoding::Decoding;
pub(crate) use members::Members;
pub use paging::{ArchivePage, Window, archive_bounds, pages_due};
pub(crate) use paging::{is_own_log, log_key};
pub(crate) use plan::*;
pub use websub::{Asking, Delivery, Remote, Settled, Subscription, SubscriptionCounts};

use crate::model::{FeedId, FetchState, Item, ItemKind, Source, Tombstone};
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

    /// [`Store::upsert`] of items the caller is done with, their stored
    /// form already made ([`Encoded`]): a backend that hands a write to its
    /// committer takes them as they are, where a borrowed batch is copied
    /// and encoded first (that copy, and dropping it, were about 2% of a
    /// first poll's CPU).
    async fn upsert_encoded(
        &self,
        items: Encoded,
        ownership: Ownership,
    ) -> Result<Written, StoreError> {
        self.upsert(items.items(), ownership).await
    }

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

    /// RFC 5005: what a served feed's subscription document holds: the
    /// newest `size` items of its members by date, and with them every entry
    /// of its log after its newest closed archive page that they leave out
    /// (an entry older than those, just arrived), so that walking back from
    /// the document reaches every entry. First the log is brought up to date
    /// (a timeline's is taken forward from its `members`' logs; a stored feed
    /// is its own one member and its log grows with its writes), and the
    /// pages due are closed: while more than `size` entries follow the last
    /// page, the oldest `size / 2` of them become the next one
    /// ([`archive_bounds`]). Entries can be both in the document and in the
    /// newest page: consumers reconcile them by id (RFC 5005 section 4).
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

    /// Marks the items `ids` of `source` as carried by its document taken
    /// `at`: the source's current document is the one whose items have its
    /// newest mark, and an item leaves it when a later document omits it.
    async fn carried(&self, source: &Source, ids: &[String], at: DateTime<Utc>) -> Result<()>;

    /// Withdraws (with tombstones) the items of `source` that its current
    /// document no longer carries and that `prune` lets go: those last
    /// carried before `prune.unseen_before`, and the oldest past
    /// `prune.max_items` items in all. An item the current document carries
    /// stays, whatever its age and however many there are.
    async fn prune(&self, source: &Source, prune: &Prune) -> Result<Written>;

    /// Adds the sources not yet known (due at once); known ones keep their state,
    /// their stored URL included.
    async fn add_sources(&self, sources: &[FetchState]) -> Result<()>;

    /// Every known source's fetch state, by name.
    async fn fetch_states(&self) -> Result<Vec<FetchState>>;

    /// Writes sources' states after their fetches and releases their leases,
    /// in one transaction: per state, whether `owner` still held it (a lease
    /// taken over by another instance is left alone, `false`).
    async fn save_fetch_states(&self, states: &[FetchState], owner: &str) -> Result<Vec<bool>>;

    /// Appends polls to their sources' attempt logs (the last
    /// [`ATTEMPTS_KEPT`] of each are kept).
    async fn record_attempts(&self, attempts: &[crate::model::FetchAttempt]) -> Result<()>;

    /// A source's last `n` polls, newest first.
    async fn attempts(&self, source: &str, n: usize) -> Result<Vec<crate::model::FetchAttempt>>;

    /// Pauses a source (`Some(when)`: the schedule claims it no more, on
    /// any instance) or resumes it (`None`); false for an unknown source.
    async fn set_paused(&self, source: &str, paused: Option<DateTime<Utc>>) -> Result<bool>;

    /// Keeps a console session (and drops those that ended).
    async fn start_session(&self, session: &Session) -> Result<()>;

    /// The session `id` names, unless it ended by `now`.
    async fn session(&self, id: &str, now: DateTime<Utc>) -> Result<Option<Session>>;

    async fn end_session(&self, id: &str) -> Result<()>;

    /// A closed archive page's document (`rss`, `atom`, `json`) as first
    /// served: its body, Last-Modified, and compressed bodies once kept.
    async fn archive_document(
        &self,
        feed: &FeedId,
        page: u64,
        format: &str,
    ) -> Result<Option<ArchiveDocument>>;

    /// Keeps a closed page's documents (its formats, in one transaction),
    /// so that it keeps its bytes when the sources it was made from go; the
    /// first kept of each format stays. Compressed bodies are added to a
    /// kept document that has none, when made from the bytes it keeps.
    /// Only if `edition`, the one the documents were made from, is still
    /// the page's: a withdrawal or revival of an item the page shows
    /// between their read and this keep would otherwise be undone for good.
    /// `false` when refused.
    async fn keep_archive_documents(
        &self,
        feed: &FeedId,
        page: u64,
        edition: i64,
        documents: &[KeptDocument<'_>],
    ) -> Result<bool>;

    /// Kept documents after `after` in (feed, page, format) order, at most
    /// `n`: `newswire migrate` copies them a few at a time.
    async fn kept_documents(&self, after: Option<&KeptAt>, n: usize) -> Result<Vec<KeptRow>>;

    /// Writes documents another store kept (`newswire migrate`): each where
    /// its page is closed here and nothing of its format is kept yet. How
    /// many were written.
    async fn import_kept_documents(&self, rows: &[KeptRow]) -> Result<usize>;

    /// Withdraws every item of exactly this source (a deleted one), with
    /// tombstones where documents showed them; closed pages keep their bytes.
    async fn withdraw_source(&self, source: &Source) -> Result<Written>;

    /// The catalog of sources, scrapes and timelines, at its version.
    async fn catalog(&self) -> Result<crate::model::Catalog>;

    /// The catalog's version: it moves with every change, on any instance.
    async fn catalog_version(&self) -> Result<i64>;

    /// Writes a managed entry (and registers a source's fetch state, due
    /// at `due`): with `create`, only where the name is free. `false` when
    /// nothing was written: the name is taken, or declared by a file.
    async fn catalog_put(
        &self,
        entry: &crate::model::CatalogEntry,
        create: bool,
        due: DateTime<Utc>,
    ) -> Result<bool>;

    /// Deletes a managed entry (and a source's fetch state); `false` when
    /// there was none.
    async fn catalog_delete(&self, kind: crate::model::EntryKind, name: &str) -> Result<bool>;

    /// Makes the declared entries those of the config file.
    async fn catalog_declare(&self, entries: &[crate::model::CatalogEntry]) -> Result<()>;

    /// [`Store::save_fetch_states`] of one state.
    async fn save_fetch_state(&self, state: &FetchState, owner: &str) -> Result<bool> {
        let saved = self
            .save_fetch_states(std::slice::from_ref(state), owner)
            .await?;
        Ok(saved.first().copied().unwrap_or(false))
    }

    /// Claims up to `limit` sources due at `now` whose lease is free or expired,
    /// for `owner` until `until`, as [`Claim::which`] says. Of instances
    /// claiming at once, each source goes to exactly one.
    async fn claim_due(&self, claim: &Claim<'_>) -> Result<Vec<FetchState>>;

    /// WebSub: adds a verified subscription, or renews it (a new secret and
    /// lease).
    async fn websub_subscribe(&self, sub: &Subscription) -> Result<()>;

    /// WebSub: removes a subscription and what was queued for it; whether it
    /// existed.
    async fn websub_unsubscribe(&self, topic: &str, callback: &str) -> Result<bool>;

    /// Every subscription, live or not, by topic and callback.
    async fn websub_subscriptions(&self) -> Result<Vec<Subscription>>;

    /// Live subscriptions at `now`: in all, asked for by the client, calling
    /// back to the host, and whether `(topic, callback)` is one of them.
    async fn websub_counts(
        &self,
        asking: &Asking<'_>,
        now: DateTime<Utc>,
    ) -> Result<SubscriptionCounts>;

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

    /// What any instance (including this one) changed, as it commits. Only a
    /// shared database has other writers; `None` means nobody else writes.
    async fn subscribe(&self) -> Result<Option<tokio::sync::mpsc::Receiver<Change>>, StoreError> {
        Ok(None)
    }
}

/// A committed change another instance announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// These feeds' items.
    Feeds(Vec<FeedId>),
    /// The catalog of sources, scrapes and timelines.
    Catalog,
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

/// What [`Store::prune`] lets go of a source's items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prune {
    /// Items out of the current document and last carried before this go
    /// (`fetch.retention` ago).
    pub unseen_before: DateTime<Utc>,
    /// The most items the source keeps, its current document's among them.
    pub max_items: usize,
}

/// A request for due sources: see [`Store::claim_due`].
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub owner: &'a str,
    pub which: Claiming<'a>,
    pub now: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub limit: usize,
}

/// Which sources a [`Claim`] may take; in both cases only those whose lease
/// is free.
#[derive(Debug, Clone, Copy)]
pub enum Claiming<'a> {
    /// The schedule's: the due ones, but for those named, which the claimer
    /// found it does not know (the store holds every instance's sources, and
    /// one declared in another instance's config, or in a config file this
    /// instance has not reloaded yet, is not this one's to fetch).
    Due { except: &'a [String] },
    /// A fetch asked for now: these, due or not.
    Named(&'a [String]),
}

impl<'a> Claiming<'a> {
    /// The names the claim's statement is given.
    pub fn names(&self) -> &'a [String] {
        match self {
            Claiming::Due { except: names } | Claiming::Named(names) => names,
        }
    }
}

/// How many tombstones each feed keeps.
pub const TOMBSTONES_KEPT: usize = 100;

/// A signed-in editor of the console, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The SHA-256 (hex) of the session cookie's secret.
    pub id: String,
    /// The API token that signed the editor in.
    pub token_name: String,
    /// What every form and script of the session sends back.
    pub csrf: String,
    pub expires: DateTime<Utc>,
}

/// A closed archive page's document in one format, as first served.
pub struct KeptDocument<'a> {
    /// The format's extension: `rss`, `atom`, `json`.
    pub format: &'a str,
    pub body: &'a [u8],
    pub modified: Option<DateTime<Utc>>,
    /// `body` compressed (gzip, brotli), if it was.
    pub compressed: Option<(&'a [u8], &'a [u8])>,
}

/// A kept archive page's document: its bytes as first served, and their
/// compressed forms (gzip, brotli) once an instance made them: a page is
/// compressed once, not at every restart of every instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveDocument {
    pub body: Vec<u8>,
    pub modified: Option<DateTime<Utc>>,
    pub compressed: Option<(Vec<u8>, Vec<u8>)>,
    /// The page's edition it belongs to (see [`ArchivePage::edition`]).
    pub edition: i64,
}

/// Where a kept document is: its feed's log key ([`log_key`]), its page
/// and its format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptAt {
    pub feed: String,
    pub page: i64,
    pub format: String,
}

/// A kept document as `newswire migrate` carries it from store to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptRow {
    pub at: KeptAt,
    pub body: Vec<u8>,
    pub modified: Option<DateTime<Utc>>,
    pub compressed: Option<(Vec<u8>, Vec<u8>)>,
}

/// Polls kept in each source's attempt log.
pub const ATTEMPTS_KEPT: usize = 50;

/// A text as every store keeps it: NUL, which PostgreSQL's text (and a JSON
/// batch's strings read as text) refuses, becomes U+FFFD, as an undecodable
/// byte does. Error texts quote what upstreams and subscribers sent; one NUL
/// must not lose a whole round's poll states.
pub fn storable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        text.replace('\0', "\u{fffd}").into()
    } else {
        text.into()
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
