//! The running site: config, store, render cache, and the background renderer that
//! keeps the cache in step with the store.
//!
//! Writers (file sync, the ingest API, other instances' notifications) only mark
//! feeds dirty. One renderer task takes the dirty set, renders each feed once in
//! every format, and swaps the new bytes into the cache; concurrent writes landing
//! while it works are coalesced into its next pass.

pub mod supervise;
pub mod watch;

use crate::cache::{Cache, Entry};
use crate::config::Config;
use crate::content::{Diagnostic, files};
use crate::lock::lock;
use crate::metrics::Metrics;
use crate::model::{FeedId, Source};
use crate::poller::Poller;
use crate::render::{self, FeedData};
use crate::site::supervise::Tasks;
use crate::store::{Store, StoreError, Written};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Reads the site's config and what it names beside it (the outlines of
/// `fetch.opml`, which become sources): the config a site is assembled from.
pub fn load_config(path: &std::path::Path) -> Result<Config, crate::config::ConfigError> {
    Config::load_with(path, crate::sources::opml::expand)
}

/// Items listed on the HTML index.
const INDEX_ITEMS: usize = 30;

pub struct Site {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub cache: Arc<Cache>,
    /// Feeds to render at the next pass.
    dirty: Mutex<BTreeSet<FeedId>>,
    wake: Notify,
    /// Store versions of what the cache holds, for catching up on missed changes.
    rendered: Mutex<BTreeMap<FeedId, i64>>,
    /// Problems found in content files at the last sync.
    pub diagnostics: Mutex<Vec<Diagnostic>>,
    pub metrics: Arc<Metrics>,
    pub tasks: Arc<Tasks>,
    /// When the oldest change not yet rendered was marked: the dirty set's, and
    /// that of the set a pass is rendering now.
    pending_since: Mutex<(Option<Instant>, Option<Instant>)>,
    /// The last check of the store (the follower's version check, every 500 ms).
    store_check: Mutex<Option<(Instant, Result<(), String>)>>,
    /// The poller of external sources, made on first use.
    poller: std::sync::OnceLock<Arc<Poller>>,
    /// The WebSub hub, once the site serves: it hears of every changed
    /// document.
    hub: std::sync::OnceLock<Arc<crate::websub::hub::Hub>>,
    /// Ticker pages of past days, as rendered for the breaking feed's version
    /// then; at most [`DAY_PAGES`].
    days: Mutex<BTreeMap<chrono::NaiveDate, (i64, Arc<Entry>)>>,
    /// Archive pages rendered on demand, by path, with the sum of the
    /// versions of the feeds they were rendered from; at most
    /// [`ARCHIVE_PAGES`] and [`ARCHIVE_BYTES`].
    archives: Mutex<std::collections::HashMap<String, (i64, Arc<Entry>)>>,
}

/// Ticker day pages kept rendered; more are rendered again on demand.
const DAY_PAGES: usize = 64;

/// Archive documents kept rendered (see [`Site::archive`]): pages are small
/// (half a feed's size) and readers that walk back fetch each once.
const ARCHIVE_PAGES: usize = 256;

/// And at most this many bytes of them (uncompressed; each is also kept
/// compressed twice): a page of a 1,000-item timeline is a few MiB.
const ARCHIVE_BYTES: usize = 32 << 20;

/// What `/healthz` says: whether the site is serving what the store holds.
#[derive(Debug, serde::Serialize)]
pub struct Health {
    /// `ok`, or `degraded` with the reasons: a store that cannot be reached, a
    /// background task not running, or changes waiting too long to be rendered.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    pub documents: usize,
    pub content_problems: usize,
    /// Age of the oldest change not yet in the served documents, in seconds.
    pub unrendered_seconds: f64,
    pub store: StoreHealth,
    pub tasks: BTreeMap<&'static str, crate::site::supervise::TaskReport>,
}

#[derive(Debug, serde::Serialize)]
pub struct StoreHealth {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_seconds_ago: Option<f64>,
}

/// Changes older than this and not rendered make the site `degraded`.
const STALE_AFTER: Duration = Duration::from_secs(10);
/// A store check older than this is itself a sign of trouble (the follower runs
/// it every 500 ms).
const STORE_CHECK_STALE: Duration = Duration::from_secs(10);

impl Site {
    pub fn new(config: Config, store: Arc<dyn Store>) -> Arc<Site> {
        let cache = Arc::new(Cache::default());
        let metrics = Metrics::new(cache.clone());
        Arc::new(Site {
            config: Arc::new(config),
            store: crate::metrics::Timed::new(store, metrics.clone()),
            cache,
            dirty: Mutex::new(BTreeSet::new()),
            wake: Notify::new(),
            rendered: Mutex::new(BTreeMap::new()),
            diagnostics: Mutex::new(Vec::new()),
            tasks: Tasks::new(metrics.clone()),
            metrics,
            pending_since: Mutex::new((None, None)),
            store_check: Mutex::new(None),
            poller: std::sync::OnceLock::new(),
            hub: std::sync::OnceLock::new(),
            days: Mutex::new(BTreeMap::new()),
            archives: Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// The poller of this site's `[[sources]]`; what it writes is queued for
    /// the renderer like any other write.
    pub fn poller(self: &Arc<Self>) -> Result<Arc<Poller>, crate::sources::fetch::FetchError> {
        if let Some(p) = self.poller.get() {
            return Ok(p.clone());
        }
        let site = Arc::downgrade(self);
        let poller = Poller::new(
            self.config.clone(),
            self.store.clone(),
            self.metrics.clone(),
            Arc::new(move |written| {
                if let Some(site) = site.upgrade() {
                    site.mark(written);
                }
            }),
        )?;
        Ok(self.poller.get_or_init(|| poller).clone())
    }

    /// The WebSub hub of this site (`websub.hub`), made on first use; its
    /// deliveries run once [`Site::start_tasks`] started them.
    pub fn hub(
        self: &Arc<Self>,
    ) -> Result<Arc<crate::websub::hub::Hub>, crate::sources::fetch::FetchError> {
        if let Some(h) = self.hub.get() {
            return Ok(h.clone());
        }
        let hub = crate::websub::hub::Hub::new(
            self.config.clone(),
            self.store.clone(),
            self.cache.clone(),
        )?;
        Ok(self.hub.get_or_init(|| hub).clone())
    }

    /// Starts the background work under supervision: the renderer, the
    /// follower of other writers, the poller, the WebSub hub's deliveries and
    /// the content-file watcher.
    pub fn start_tasks(self: &Arc<Self>) {
        let site = self.clone();
        self.tasks.spawn("renderer", move || {
            let site = site.clone();
            async move {
                // After a restart, what the failed pass was rendering is found
                // again by comparing versions.
                if let Err(e) = site.catch_up().await {
                    tracing::warn!("version check failed: {e}");
                }
                site.run_renderer().await;
                Ok::<(), std::convert::Infallible>(())
            }
        });
        let site = self.clone();
        self.tasks
            .spawn("follower", move || site.clone().run_follower());
        if !self.config.sources.is_empty() {
            match self.poller() {
                Ok(poller) => self.tasks.spawn("poller", move || poller.clone().run()),
                Err(e) => tracing::error!("external sources will not be fetched: {e}"),
            }
        }
        // The hub hears of every change: its own subscribers are delivered
        // to (when it is on), the other hubs pinged.
        let websub = &self.config.websub;
        if websub.hub || !websub.hubs.is_empty() {
            match self.hub() {
                Ok(hub) if websub.hub => self.tasks.spawn("websub", move || hub.clone().run()),
                Ok(_) => {}
                Err(e) => tracing::error!("WebSub will not deliver: {e}"),
            }
        }
        let site = self.clone();
        self.tasks.spawn("watcher", move || {
            let site = site.clone();
            async move {
                watch::run(site).await;
                Err::<(), _>("stopped watching content files")
            }
        });
    }

    pub fn health(&self) -> Health {
        let now = Instant::now();
        let (pending, rendering) = *lock(&self.pending_since);
        let oldest = [pending, rendering].into_iter().flatten().min();
        let unrendered = oldest.map_or(Duration::ZERO, |t| now - t);
        let tasks = self.tasks.report();
        let store = match &*lock(&self.store_check) {
            None => StoreHealth {
                status: "unchecked",
                error: None,
                checked_seconds_ago: None,
            },
            Some((at, result)) => StoreHealth {
                status: match result {
                    Ok(()) if now - *at < STORE_CHECK_STALE => "ok",
                    Ok(()) => "stale",
                    Err(_) => "unreachable",
                },
                error: result.as_ref().err().cloned(),
                checked_seconds_ago: Some((now - *at).as_secs_f64()),
            },
        };
        let mut reasons = Vec::new();
        if !matches!(store.status, "ok" | "unchecked") {
            reasons.push(format!(
                "store {}: serving the last rendered feeds",
                store.status
            ));
        }
        for (name, t) in &tasks {
            if !t.alive {
                reasons.push(format!("{name} not running (restarts: {})", t.restarts));
            }
        }
        if unrendered > STALE_AFTER {
            reasons.push(format!(
                "changes waiting {:.0} s to be rendered",
                unrendered.as_secs_f64()
            ));
        }
        Health {
            status: if reasons.is_empty() { "ok" } else { "degraded" },
            reasons,
            documents: self.cache.size().0,
            content_problems: lock(&self.diagnostics).len(),
            unrendered_seconds: unrendered.as_secs_f64(),
            store,
            tasks,
        }
    }

    /// Reads `feeds/` and makes the store match it; problems are kept and returned.
    pub async fn sync_files(&self) -> Result<Vec<Diagnostic>, StoreError> {
        let config = self.config.clone();
        let loaded = tokio::task::spawn_blocking(move || files::load(&config))
            .await
            .expect("file loading does not panic");
        for d in &loaded.diagnostics {
            tracing::warn!("{d}");
        }
        let written = self
            .store
            .sync(Source::FILE_SCOPE, &loaded.items, &loaded.failed)
            .await?;
        tracing::info!(items = loaded.items.len(), changed = ?written.changed, problems = loaded.diagnostics.len(), "synced content files");
        self.mark(&written);
        *lock(&self.diagnostics) = loaded.diagnostics.clone();
        Ok(loaded.diagnostics)
    }

    /// The API's write path over this site's store; committed changes queue the
    /// feeds they touched for the renderer.
    pub fn ingest(self: &Arc<Self>) -> crate::ingest::Ingest {
        let site = self.clone();
        crate::ingest::Ingest {
            config: self.config.clone(),
            store: self.store.clone(),
            changed: Arc::new(move |written| site.mark(written)),
        }
    }

    /// Queues the feeds a write changed for the renderer.
    pub fn mark(&self, written: &Written) {
        self.mark_feeds(written.changed.iter().cloned());
    }

    pub fn mark_feeds(&self, feeds: impl IntoIterator<Item = FeedId>) {
        let mut feeds: Vec<FeedId> = feeds.into_iter().collect();
        // The timelines that merge a changed feed change with it, and only they
        // (a source's feed is not served itself, only through its timelines).
        let timelines = crate::catalog::timelines_of(&self.config, &feeds);
        feeds.retain(|f| crate::catalog::exists(&self.config, f));
        let mut dirty = lock(&self.dirty);
        let before = dirty.len();
        dirty.extend(feeds.into_iter().chain(timelines));
        if dirty.len() != before {
            let mut since = lock(&self.pending_since);
            since.0.get_or_insert_with(Instant::now);
            self.wake.notify_one();
        }
    }

    /// The ticker page of `day` (site zone), rendered on demand and kept
    /// until the breaking feed changes; `None` for a day without items.
    pub async fn ticker_day(
        &self,
        day: chrono::NaiveDate,
    ) -> Result<Option<Arc<Entry>>, StoreError> {
        let version = lock(&self.rendered)
            .get(&FeedId::breaking())
            .copied()
            .unwrap_or(0);
        if let Some((v, entry)) = lock(&self.days).get(&day)
            && *v == version
        {
            return Ok(Some(entry.clone()));
        }
        // The day's items, whatever the zone's offset: a day either side,
        // then the site's own calendar.
        let midnight = day.and_time(chrono::NaiveTime::MIN).and_utc();
        // A day at the ends of chrono's calendar has no day either side.
        let (Some(from), Some(to)) = (
            midnight.checked_sub_signed(chrono::Duration::days(1)),
            midnight.checked_add_signed(chrono::Duration::days(2)),
        ) else {
            return Ok(None);
        };
        let tz = self.config.site.timezone;
        let items: Vec<_> = self
            .store
            .list_between(&FeedId::breaking(), from, to, 100_000)
            .await?
            .into_iter()
            .filter(|i| crate::localtime::in_zone(i.published, tz).date_naive() == day)
            .collect();
        if items.is_empty() {
            return Ok(None);
        }
        let entry = Arc::new(Entry::new(
            crate::model::Format::Html.content_type(),
            render::page::ticker_day(&self.config, day, &items),
            items.iter().map(|i| i.updated.max(i.published)).max(),
            self.config.site.ttl * 60,
            false,
            false,
            None,
        ));
        let mut days = lock(&self.days);
        if days.len() >= DAY_PAGES {
            days.pop_first();
        }
        days.insert(day, (version, entry.clone()));
        Ok(Some(entry))
    }

    /// The stored feeds a served feed's items are in: a timeline's members,
    /// or the feed itself.
    fn members(&self, feed: &FeedId) -> Vec<FeedId> {
        crate::catalog::members(&self.config, feed).unwrap_or_else(|| vec![feed.clone()])
    }

    /// Closed archive page `n` of a feed in `format` (RSS, Atom, JSON Feed),
    /// rendered on demand: kept (a bounded number of them) until one of the
    /// feed's stored feeds changes, which can change a page only by an edit
    /// or a withdrawal of one of its items. `None` for no such page.
    pub async fn archive(
        &self,
        feed: &FeedId,
        n: u64,
        format: crate::model::Format,
    ) -> Result<Option<Arc<Entry>>, StoreError> {
        let path = render::archive_path(feed, n, format);
        let members = self.members(feed);
        let version: i64 = {
            let rendered = lock(&self.rendered);
            members
                .iter()
                .map(|m| rendered.get(m).copied().unwrap_or(0))
                .sum()
        };
        if let Some((v, entry)) = lock(&self.archives).get(&path)
            && *v == version
        {
            return Ok(Some(entry.clone()));
        }
        let Some(document) = self.archive_document(feed, n, format).await? else {
            return Ok(None);
        };
        let entry = tokio::task::spawn_blocking(move || Arc::new(Entry::from(document)))
            .await
            .expect("compressing does not panic");
        let mut archives = lock(&self.archives);
        archives.remove(&path);
        // The bound, in pages and in bytes: kept pages go (arbitrary ones)
        // until this one fits.
        let size = |e: &Entry| e.identity.body.len();
        let mut bytes: usize = archives.values().map(|(_, e)| size(e)).sum();
        while !archives.is_empty()
            && (archives.len() >= ARCHIVE_PAGES || bytes + size(&entry) > ARCHIVE_BYTES)
        {
            let first = archives.keys().next().cloned().expect("not empty");
            if let Some((_, gone)) = archives.remove(&first) {
                bytes -= size(&gone);
            }
        }
        archives.insert(path, (version, entry.clone()));
        Ok(Some(entry))
    }

    /// Closed archive page `n` of a feed in `format`, rendered now (no cache,
    /// not compressed: what `build` writes). Rendering a page of a large
    /// timeline takes a while: off the runtime, as the render passes are.
    pub async fn archive_document(
        &self,
        feed: &FeedId,
        n: u64,
        format: crate::model::Format,
    ) -> Result<Option<render::Document>, StoreError> {
        let members = self.members(feed);
        let Some(page) = self.store.archive_page(feed, &members, n).await? else {
            return Ok(None);
        };
        let merged = !crate::store::is_own_log(feed, &members);
        let (config, feed) = (self.config.clone(), feed.clone());
        Ok(tokio::task::spawn_blocking(move || {
            let items = if merged {
                let len = page.items.len();
                crate::merge::merge(&[page.items], len)
            } else {
                page.items
            };
            let data = FeedData {
                config: &config,
                feed: &feed,
                items: &items,
                tombstones: &page.tombstones,
                modified: None,
                archive: render::Archive::Page(n),
            };
            render::archive_document(&data, format)
        })
        .await
        .expect("rendering does not panic"))
    }

    /// Renders every feed and site document now; used at start and by `build`.
    pub async fn render_everything(&self) -> Result<(), StoreError> {
        let all: BTreeSet<FeedId> = crate::catalog::feeds(&self.config).into_iter().collect();
        self.render(all).await
    }

    async fn render(&self, feeds: BTreeSet<FeedId>) -> Result<(), StoreError> {
        // Versions first: a write landing after this read makes a later pass redo
        // the feed, never leaves the cache older than the recorded version.
        let versions = self.store.versions().await?;
        let mut data = Vec::with_capacity(feeds.len());
        for feed in &feeds {
            let size = crate::catalog::size(&self.config, feed);
            // What follows the feed's newest archive page (RFC 5005).
            let members = self.members(feed);
            let window = self.store.window(feed, &members, size).await?;
            let (items, tombstones, modified) = if crate::store::is_own_log(feed, &members) {
                (
                    window.items,
                    self.store.tombstones(feed, size).await?,
                    versions.get(feed).map(|s| s.modified),
                )
            } else {
                // A timeline: copies of one story merged into one, its
                // Last-Modified the newest of its members'.
                let mut stones = Vec::new();
                for m in &members {
                    stones.push(self.store.tombstones(m, size).await?);
                }
                let modified = members
                    .iter()
                    .filter_map(|m| versions.get(m).map(|s| s.modified))
                    .max();
                (
                    crate::merge::merge(&[window.items], size),
                    crate::merge::merge_tombstones(stones, size),
                    modified,
                )
            };
            let archive = render::Archive::Current {
                pages: window.pages,
            };
            data.push((feed.clone(), items, tombstones, modified, archive));
        }
        let all_modified = versions.get(&FeedId::all()).map(|s| s.modified);
        let latest =
            if feeds.contains(&FeedId::all()) || self.cache.get(render::INDEX_PATH).is_none() {
                Some(self.store.list(&FeedId::all(), None, INDEX_ITEMS).await?)
            } else {
                None
            };
        // One blocking task renders the whole pass in turn: rendering takes at most
        // one core, so a burst of writes never starves the requests themselves.
        let config = self.config.clone();
        let cache = self.cache.clone();
        // The pass's documents are swapped in together, so readers never see one
        // feed of the pass updated and another not yet.
        let changed = tokio::task::spawn_blocking(move || {
            // Each document becomes its cache entry (compressed, headers built:
            // the cache's part of the pass) as soon as it is rendered, and a
            // feed's items go once it is done, so the pass holds one rendering
            // at a time beside what the cache keeps.
            let mut entries = Vec::new();
            let mut add = |d: render::Document| entries.push((d.path.clone(), Entry::from(d)));
            for (feed, items, tombstones, modified, archive) in data {
                let data = FeedData {
                    config: &config,
                    feed: &feed,
                    items: &items,
                    tombstones: &tombstones,
                    modified,
                    archive,
                };
                render::feed_documents(&data).for_each(&mut add);
            }
            if let Some(latest) = latest {
                add(render::index_document(&config, &latest, all_modified));
            }
            if cache.get(render::OPML_PATH).is_none() {
                add(render::opml_document(&config));
            }
            cache.put_all(entries)
        })
        .await
        .expect("rendering does not panic");
        if let Some(hub) = self.hub.get()
            && !changed.is_empty()
        {
            hub.published(changed).await;
        }
        let mut rendered = lock(&self.rendered);
        for feed in feeds {
            // A source is rendered through its timelines: rendering one records
            // the version of the source's items it shows.
            for member in crate::catalog::members(&self.config, &feed).unwrap_or_default() {
                if let FeedId::Source(_) = member {
                    let version = versions.get(&member).map_or(0, |s| s.version);
                    rendered.insert(member, version);
                }
            }
            rendered.insert(feed.clone(), versions.get(&feed).map_or(0, |s| s.version));
        }
        Ok(())
    }

    /// Marks the feeds whose store version differs from the rendered one: the cheap
    /// catch-up after a missed notification.
    pub async fn catch_up(&self) -> Result<(), StoreError> {
        let versions = self.store.versions().await?;
        let stale: Vec<FeedId> = {
            let rendered = lock(&self.rendered);
            versions
                .iter()
                .filter(|(f, s)| rendered.get(*f) != Some(&s.version))
                .map(|(f, _)| f.clone())
                .collect()
        };
        self.mark_feeds(stale);
        Ok(())
    }

    /// The renderer loop; runs until the process ends (or panics, and is then
    /// restarted by its supervisor).
    pub async fn run_renderer(self: Arc<Self>) {
        loop {
            if lock(&self.dirty).is_empty() {
                self.wake.notified().await;
            }
            let feeds = {
                let mut dirty = lock(&self.dirty);
                let mut since = lock(&self.pending_since);
                // The set being rendered keeps the age of its oldest change
                // until the pass succeeds (a failed or panicked pass keeps it).
                since.1 = [since.0.take(), since.1].into_iter().flatten().min();
                std::mem::take(&mut *dirty)
            };
            if feeds.is_empty() {
                lock(&self.pending_since).1 = None;
                continue;
            }
            let started = Instant::now();
            crate::site::supervise::inject("render");
            match self.render(feeds.clone()).await {
                Ok(()) => {
                    lock(&self.pending_since).1 = None;
                    self.metrics.render_passes.inc();
                    self.metrics
                        .render_seconds
                        .observe(started.elapsed().as_secs_f64());
                    tracing::debug!(?feeds, took = ?started.elapsed(), "rendered");
                }
                Err(e) => {
                    tracing::error!(
                        "rendering {feeds:?} failed, keeping the last good documents: {e}"
                    );
                    self.mark_feeds(feeds);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    /// Follows writes made by others: other instances' notifications, and a periodic
    /// version check that covers a notification lost while disconnected, or a
    /// `newswire import` into the same SQLite file.
    pub async fn run_follower(self: Arc<Self>) -> Result<(), String> {
        let mut rx = match self.store.subscribe().await {
            Ok(rx) => rx,
            Err(e) => {
                tracing::error!("cannot follow other instances' notifications: {e}");
                None
            }
        };
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                Some(feeds) = async { match rx.as_mut() { Some(rx) => rx.recv().await, None => std::future::pending().await } } => {
                    self.mark_feeds(feeds);
                },
                _ = tick.tick() => {
                    let result = self.catch_up().await;
                    if let Err(e) = &result {
                        tracing::warn!("version check failed: {e}");
                    }
                    *lock(&self.store_check) =
                        Some((Instant::now(), result.map_err(|e| e.to_string())));
                }
            }
        }
    }
}
