//! The running site: config, store, render cache, and the background renderer that
//! keeps the cache in step with the store.
//!
//! Writers (file sync, the ingest API, other instances' notifications) only mark
//! feeds dirty. One renderer task takes the dirty set, renders each feed once in
//! every format, and swaps the new bytes into the cache; concurrent writes landing
//! while it works are coalesced into its next pass.

mod archive;
mod health;
mod memo;
mod on_demand;
mod reload;
mod render;
pub mod supervise;
mod views;
pub mod watch;

pub use archive::PageDocuments;
pub use health::{Health, StoreHealth};
pub use memo::OnDemandError;
pub use views::{Ask, Shape};

use crate::cache::Cache;
use crate::config::Config;
use crate::content::{Diagnostic, files};
use crate::lock::lock;
use crate::metrics::Metrics;
use crate::model::{FeedId, Source};
use crate::poller::Poller;

use crate::site::supervise::Tasks;
use crate::store::{Store, StoreError, Written};
use arc_swap::ArcSwap;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::Notify;

/// Reads the site's config and what it names beside it (the outlines of
/// `fetch.opml`, which become sources): the config a site is assembled from.
pub fn load_config(path: &std::path::Path) -> Result<Config, crate::config::ConfigError> {
    Config::load_with(path, crate::sources::opml::expand)
}

pub struct Site {
    /// The config in force: the file's, with the catalog's managed entries.
    /// Swapped whole when either changes; every reader takes the one in
    /// force when it starts, and keeps it to the end of its work.
    config: Arc<ArcSwap<Config>>,
    /// The file's config, as last read without error.
    file: ArcSwap<Config>,
    /// The catalog version the config in force was made from.
    catalog_version: std::sync::atomic::AtomicI64,
    /// One reload at a time: the file's and the catalog's.
    reloading: tokio::sync::Mutex<()>,
    /// Set when the config changed: the next render pass renders the site's
    /// own documents (the index, OPML, embed pages) again.
    site_documents: std::sync::atomic::AtomicBool,
    /// Set once [`Site::start_tasks`] ran, and once the poller runs.
    started: std::sync::atomic::AtomicBool,
    polling: std::sync::atomic::AtomicBool,
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
    /// The last check of the store (the follower's version check, every
    /// 500 ms): when, and its error if it failed.
    store_check: Mutex<Option<(Instant, Option<String>)>>,
    /// The last reading of the config file after a change or SIGHUP: a
    /// refusal (its error, with the file and line) keeps the running
    /// config in force and shows in `/healthz`.
    config_check: Mutex<ConfigCheck>,
    /// Managed catalog entries the config in force leaves out.
    left_out: Mutex<Vec<LeftOut>>,
    /// The poller of external sources, made on first use.
    poller: std::sync::OnceLock<Arc<Poller>>,
    /// The WebSub hub, once the site serves: it hears of every changed
    /// document.
    hub: std::sync::OnceLock<Arc<crate::websub::hub::Hub>>,
    /// Ticker pages of past days, as rendered for the breaking feed's version
    /// then.
    days: memo::Memo<chrono::NaiveDate>,
    /// Archive pages rendered on demand, by path, with the sum of the
    /// versions of the feeds they were rendered from.
    archives: memo::Memo<String>,
    /// Views of feeds and widgets rendered on demand, by path and canonical
    /// query, with the sum of the versions of the feeds they show.
    views: memo::Memo<String>,
    /// Turns for on-demand renders: one per core.
    renders: tokio::sync::Semaphore,
    /// Turns for finishing archive pages after their answer.
    finishing_turns: Arc<tokio::sync::Semaphore>,
    /// The archive pages being finished now, by feed key and page.
    finishing: archive::Finishing,
    /// Turns for keeping archive pages after their answer.
    keeps: Arc<tokio::sync::Semaphore>,
    /// The archive documents being kept now, by feed key, page and format.
    keeping: Arc<archive::Keeping>,
}

/// A managed catalog entry the config in force leaves out, and why: it no
/// longer fits the file it was checked against (a category it names gone
/// from the file, say). Shown in `/healthz`; the API still deletes it, or
/// takes a `PUT` of one that fits.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LeftOut {
    pub kind: &'static str,
    pub name: String,
    pub why: String,
}

/// What the config file held at its last reading, against the running config.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum ConfigCheck {
    /// The file's last reading is in force.
    #[default]
    Loaded,
    /// The file has an error: the running config stays in force.
    Refused { error: String },
}

impl Site {
    pub fn new(config: Config, store: Arc<dyn Store>) -> Arc<Site> {
        let cache = Arc::new(Cache::default());
        let metrics = Metrics::new(cache.clone());
        let config = Arc::new(config);
        Arc::new(Site {
            file: ArcSwap::new(config.clone()),
            config: Arc::new(ArcSwap::new(config)),
            catalog_version: std::sync::atomic::AtomicI64::new(-1),
            reloading: tokio::sync::Mutex::new(()),
            site_documents: std::sync::atomic::AtomicBool::new(false),
            started: std::sync::atomic::AtomicBool::new(false),
            polling: std::sync::atomic::AtomicBool::new(false),
            store: crate::metrics::Timed::wrap(store, metrics.clone()),
            cache,
            dirty: Mutex::new(BTreeSet::new()),
            wake: Notify::new(),
            rendered: Mutex::new(BTreeMap::new()),
            diagnostics: Mutex::new(Vec::new()),
            tasks: Tasks::new(metrics.clone()),
            metrics,
            pending_since: Mutex::new((None, None)),
            store_check: Mutex::new(None),
            config_check: Mutex::new(ConfigCheck::default()),
            left_out: Mutex::new(Vec::new()),
            poller: std::sync::OnceLock::new(),
            hub: std::sync::OnceLock::new(),
            days: memo::Memo::new(on_demand::DAY_PAGES, usize::MAX),
            archives: memo::Memo::new(archive::ARCHIVE_PAGES, archive::ARCHIVE_BYTES),
            views: memo::Memo::new(views::VIEWS, views::VIEW_BYTES),
            renders: tokio::sync::Semaphore::new(crate::cores::cores()),
            finishing_turns: Arc::new(tokio::sync::Semaphore::new(archive::finishing_turns())),
            finishing: Default::default(),
            keeps: Arc::new(tokio::sync::Semaphore::new(archive::KEEPS)),
            keeping: Default::default(),
        })
    }

    /// The config in force.
    pub fn config(&self) -> Arc<Config> {
        self.config.load_full()
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
        self.started
            .store(true, std::sync::atomic::Ordering::SeqCst);
        // Without sources, the poller starts with the first one the catalog
        // or a reload brings.
        if !self.config().sources.is_empty() {
            match self.poller() {
                Ok(poller) => {
                    self.polling
                        .store(true, std::sync::atomic::Ordering::SeqCst);
                    self.tasks.spawn("poller", move || poller.clone().run())
                }
                Err(e) => tracing::error!("external sources will not be fetched: {e}"),
            }
        }
        // The hub hears of every change: its own subscribers are delivered
        // to (when it is on), the other hubs pinged.
        let websub = &self.config().websub;
        if websub.hub || !websub.hubs.is_empty() {
            match self.hub() {
                // Its loop queues changes (and pings other hubs) outside
                // the render pass, and delivers when the hub is on.
                Ok(hub) => self.tasks.spawn("websub", move || hub.clone().run()),
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

    /// Reads `feeds/` and makes the store match it; problems are kept and returned.
    pub async fn sync_files(&self) -> Result<Vec<Diagnostic>, StoreError> {
        let config = self.config();
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
            config: self.config(),
            store: self.store.clone(),
            changed: Arc::new(move |written| site.mark(written)),
        }
    }

    /// Queues the feeds a write changed for the renderer.
    pub fn mark(&self, written: &Written) {
        self.mark_feeds(written.changed.iter().cloned());
    }

    /// The managed catalog entries the config in force leaves out.
    pub fn left_out(&self) -> Vec<LeftOut> {
        lock(&self.left_out).clone()
    }

    pub fn mark_feeds(&self, feeds: impl IntoIterator<Item = FeedId>) {
        let mut feeds: Vec<FeedId> = feeds.into_iter().collect();
        // The timelines that merge a changed feed change with it, and only they
        // (a source's feed is not served itself, only through its timelines).
        let timelines = crate::catalog::timelines_of(&self.config(), &feeds);
        feeds.retain(|f| crate::catalog::exists(&self.config(), f));
        let mut dirty = lock(&self.dirty);
        let before = dirty.len();
        dirty.extend(feeds.into_iter().chain(timelines));
        if dirty.len() != before {
            let mut since = lock(&self.pending_since);
            since.0.get_or_insert_with(Instant::now);
            self.wake.notify_one();
        }
    }
}
