//! The running site: config, store, render cache, and the background renderer that
//! keeps the cache in step with the store.
//!
//! Writers (file sync, the ingest API, other instances' notifications) only mark
//! feeds dirty. One renderer task takes the dirty set, renders each feed once in
//! every format, and swaps the new bytes into the cache; concurrent writes landing
//! while it works are coalesced into its next pass.

use crate::cache::Cache;
use crate::config::Config;
use crate::content::{Diagnostic, files};
use crate::model::{FeedId, Source};
use crate::render::{self, FeedData};
use crate::store::{Store, StoreError, Written};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Items listed on the HTML index.
const INDEX_ITEMS: usize = 30;

const OPML_PATH: &str = "/feeds.opml";

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
}

impl Site {
    pub fn new(config: Config, store: Arc<dyn Store>) -> Arc<Site> {
        Arc::new(Site {
            config: Arc::new(config),
            store,
            cache: Arc::new(Cache::default()),
            dirty: Mutex::new(BTreeSet::new()),
            wake: Notify::new(),
            rendered: Mutex::new(BTreeMap::new()),
            diagnostics: Mutex::new(Vec::new()),
        })
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
        *self.diagnostics.lock().expect("lock") = loaded.diagnostics.clone();
        Ok(loaded.diagnostics)
    }

    /// Queues the feeds a write changed for the renderer.
    pub fn mark(&self, written: &Written) {
        self.mark_feeds(written.changed.iter().cloned());
    }

    pub fn mark_feeds(&self, feeds: impl IntoIterator<Item = FeedId>) {
        let mut dirty = self.dirty.lock().expect("lock");
        let before = dirty.len();
        dirty.extend(
            feeds
                .into_iter()
                .filter(|f| self.config.has_feed(f.as_str())),
        );
        if dirty.len() != before {
            self.wake.notify_one();
        }
    }

    /// Renders every feed and site document now; used at start and by `build`.
    pub async fn render_everything(&self) -> Result<(), StoreError> {
        let all: BTreeSet<FeedId> = self.config.feeds().into_iter().collect();
        self.render(all).await
    }

    async fn render(&self, feeds: BTreeSet<FeedId>) -> Result<(), StoreError> {
        // Versions first: a write landing after this read makes a later pass redo
        // the feed, never leaves the cache older than the recorded version.
        let versions = self.store.versions().await?;
        let size = self.config.site.feed_size;
        let mut data = Vec::with_capacity(feeds.len());
        for feed in &feeds {
            let items = self.store.list(feed, None, size).await?;
            let tombstones = self.store.tombstones(feed, size).await?;
            let modified = versions.get(feed).map(|s| s.modified);
            data.push((feed.clone(), items, tombstones, modified));
        }
        let all_modified = versions.get(&FeedId::all()).map(|s| s.modified);
        let latest = if feeds.contains(&FeedId::all()) || self.cache.get("/").is_none() {
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
        tokio::task::spawn_blocking(move || {
            let mut docs = Vec::new();
            for (feed, items, tombstones, modified) in &data {
                docs.extend(render::feed_documents(&FeedData {
                    config: &config,
                    feed,
                    items,
                    tombstones,
                    modified: *modified,
                }));
            }
            if let Some(latest) = latest {
                docs.push((
                    "/".into(),
                    render::index_document(&config, &latest, all_modified),
                ));
            }
            if cache.get(OPML_PATH).is_none() {
                docs.push((OPML_PATH.into(), render::opml_document(&config)));
            }
            cache.put_all(docs);
        })
        .await
        .expect("rendering does not panic");
        let mut rendered = self.rendered.lock().expect("lock");
        for feed in feeds {
            rendered.insert(feed.clone(), versions.get(&feed).map_or(0, |s| s.version));
        }
        Ok(())
    }

    /// Marks the feeds whose store version differs from the rendered one: the cheap
    /// catch-up after a missed notification.
    pub async fn catch_up(&self) -> Result<(), StoreError> {
        let versions = self.store.versions().await?;
        let stale: Vec<FeedId> = {
            let rendered = self.rendered.lock().expect("lock");
            versions
                .iter()
                .filter(|(f, s)| rendered.get(*f) != Some(&s.version))
                .map(|(f, _)| f.clone())
                .collect()
        };
        self.mark_feeds(stale);
        Ok(())
    }

    /// The renderer loop; runs until the process ends.
    pub async fn run_renderer(self: Arc<Self>) {
        loop {
            self.wake.notified().await;
            let feeds = std::mem::take(&mut *self.dirty.lock().expect("lock"));
            if feeds.is_empty() {
                continue;
            }
            let started = std::time::Instant::now();
            match self.render(feeds.clone()).await {
                Ok(()) => {
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
    pub async fn run_follower(self: Arc<Self>) {
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
                    if let Err(e) = self.catch_up().await {
                        tracing::warn!("version check failed: {e}");
                    }
                }
            }
        }
    }
}
