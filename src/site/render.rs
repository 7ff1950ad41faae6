//! The renderer: feeds marked dirty by writes (this instance's, and other
//! instances' through the follower) are rendered once in every format and
//! swapped into the cache together.

use super::Site;
use crate::cache::Entry;
use crate::config::Config;
use crate::lock::lock;
use crate::model::{FeedId, Item, Tombstone};
use crate::render::{self, FeedData};
use crate::store::{Change, FeedState, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a feed's subscription document is made from.
pub(super) struct Current {
    pub(super) items: Vec<Item>,
    pub(super) tombstones: Vec<Tombstone>,
    pub(super) modified: Option<chrono::DateTime<chrono::Utc>>,
    pub(super) archive: render::Archive,
}

impl Current {
    pub(super) fn data<'a>(
        &'a self,
        config: &'a Config,
        feed: &'a FeedId,
        query: &'a str,
    ) -> FeedData<'a> {
        FeedData {
            config,
            feed,
            items: &self.items,
            tombstones: &self.tombstones,
            modified: self.modified,
            archive: self.archive,
            query,
        }
    }
}

/// Sets the flag back when dropped before [`AskAgain::done`]: a render pass
/// that fails leaves what it was asked to render asked for.
struct AskAgain<'a>(&'a std::sync::atomic::AtomicBool, bool);

impl AskAgain<'_> {
    fn done(mut self) {
        self.1 = false;
    }
}

impl Drop for AskAgain<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// Least time from one render pass's start to the next one's.
const PASS_GAP: Duration = Duration::from_millis(20);

/// The longest rest after a pass: a slow pass (a large site's) already
/// takes in many writes, and what it shows should not wait as long again.
const MAX_REST: Duration = Duration::from_millis(100);

/// When a pass may start that follows, with writes made while it ran, one
/// that started at `started` and took `took`: [`PASS_GAP`] after it
/// started, and no sooner than it took again (at most [`MAX_REST`]) after
/// it ended. A write that finds the renderer idle is rendered at once; a
/// stream of writes (a sequential API client, an import over the API, a
/// busy instance's notifications) is rendered in passes that each take in
/// every write since the last, at most one per 20 ms, the renderer
/// rendering at most half the time while passes are quick: each pass
/// re-reads and compresses its feeds whole, so a pass per write spent most
/// of a write's CPU on documents replaced a few milliseconds later.
fn next_pass(started: Instant, took: Duration) -> Instant {
    (started + PASS_GAP).max(started + took + took.min(MAX_REST))
}

/// Items listed on the HTML index.
const INDEX_ITEMS: usize = 30;

impl Site {
    /// Renders every feed and site document now; used at start and by `build`.
    pub async fn render_everything(&self) -> Result<(), StoreError> {
        let all: BTreeSet<FeedId> = crate::catalog::feeds(&self.config()).into_iter().collect();
        self.render(all).await
    }

    /// What a feed's subscription document shows now: the window after its
    /// newest archive page (RFC 5005), a timeline's copies of one story
    /// merged into one, its tombstones and its Last-Modified.
    pub(super) async fn current(
        &self,
        feed: &FeedId,
        versions: &BTreeMap<FeedId, FeedState>,
    ) -> Result<Current, StoreError> {
        let size = crate::catalog::size(&self.config(), feed);
        let members = self.members(feed);
        let window = self.store.window(feed, &members, size).await?;
        let archive = render::Archive::Current {
            pages: window.pages,
        };
        if crate::store::is_own_log(feed, &members) {
            return Ok(Current {
                items: window.items,
                tombstones: self.store.tombstones(feed, size).await?,
                modified: versions.get(feed).map(|s| s.modified),
                archive,
            });
        }
        // A timeline: its Last-Modified the newest of its members'.
        let mut stones = Vec::new();
        for m in &members {
            stones.push(self.store.tombstones(m, size).await?);
        }
        let modified = members
            .iter()
            .filter_map(|m| versions.get(m).map(|s| s.modified))
            .max();
        // Every entry of the window stays: the newest by date and those no
        // page holds yet, copies of one story merged.
        let n = window.items.len();
        Ok(Current {
            items: crate::merge::merge_owned(vec![window.items], n),
            tombstones: crate::merge::merge_tombstones(stones, size),
            modified,
            archive,
        })
    }

    async fn render(&self, feeds: BTreeSet<FeedId>) -> Result<(), StoreError> {
        // Versions first: a write landing after this read makes a later pass redo
        // the feed, never leaves the cache older than the recorded version.
        let versions = self.store.versions().await?;
        let mut data = Vec::with_capacity(feeds.len());
        for feed in &feeds {
            data.push((feed.clone(), self.current(feed, &versions).await?));
        }
        let all_modified = versions.get(&FeedId::all()).map(|s| s.modified);
        // The site's own documents, when the config changed (or at start);
        // asked for again if this pass fails before they are in the cache.
        let asked = self
            .site_documents
            .swap(false, std::sync::atomic::Ordering::SeqCst);
        let again = AskAgain(&self.site_documents, asked);
        let site_documents = asked || self.cache.get(render::OPML_PATH).is_none();
        let latest = if site_documents
            || feeds.contains(&FeedId::all())
            || self.cache.get(render::INDEX_PATH).is_none()
        {
            Some(self.store.list(&FeedId::all(), None, INDEX_ITEMS).await?)
        } else {
            None
        };
        // One blocking task renders the whole pass in turn: rendering takes at most
        // one core, so a burst of writes never starves the requests themselves.
        let config = self.config();
        let (cache, live) = (self.cache.clone(), self.config.clone());
        // The pass's documents are swapped in together, so readers never see one
        // feed of the pass updated and another not yet.
        let changed = tokio::task::spawn_blocking(move || {
            // Each document becomes its cache entry (compressed, headers built:
            // the cache's part of the pass) as soon as it is rendered, and a
            // feed's items go once it is done, so the pass holds one rendering
            // at a time beside what the cache keeps.
            let mut entries = Vec::new();
            let mut add = |d: render::Document| entries.push((d.path.clone(), Entry::rendered(d)));
            // Whose each feed document is: a feed gone from the config in
            // force by the time the pass swaps its documents in stays gone.
            let mut owners = std::collections::HashMap::new();
            for (feed, current) in data {
                let data = current.data(&config, &feed, "");
                render::feed_documents(&data).for_each(|d| {
                    owners.insert(d.path.clone(), feed.clone());
                    add(d);
                });
            }
            if let Some(latest) = latest {
                add(render::index_document(&config, &latest, all_modified));
            }
            if site_documents {
                add(render::opml_document(&config));
                render::embed_documents(&config)
                    .into_iter()
                    .for_each(&mut add);
            }
            cache.put_all_kept(entries, |path| {
                owners
                    .get(path)
                    .is_none_or(|feed| crate::catalog::exists(&live.load(), feed))
            })
        })
        .await
        .expect("rendering does not panic");
        again.done();
        if let Some(hub) = self.hub.get()
            && !changed.is_empty()
        {
            hub.published(changed);
        }
        let mut rendered = lock(&self.rendered);
        for feed in feeds {
            // A source is rendered through its timelines: rendering one records
            // the version of the source's items it shows.
            for member in crate::catalog::members(&self.config(), &feed).unwrap_or_default() {
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
        let mut last: Option<(Instant, Duration)> = None;
        loop {
            // Writes that came while the last pass ran are a stream: paced.
            // One after the renderer went idle is rendered at once.
            if lock(&self.dirty).is_empty() {
                self.wake.notified().await;
            } else if let Some((started, took)) = last {
                tokio::time::sleep_until(next_pass(started, took).into()).await;
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
            let result = self.render(feeds.clone()).await;
            last = Some((started, started.elapsed()));
            match result {
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
    pub async fn run_follower(self: Arc<Self>) -> Result<(), std::convert::Infallible> {
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
                Some(change) = async { match rx.as_mut() { Some(rx) => rx.recv().await, None => std::future::pending().await } } => {
                    match change {
                        Change::Feeds(feeds) => self.mark_feeds(feeds),
                        Change::Catalog => if let Err(e) = self.follow_catalog().await {
                            tracing::warn!("reading the catalog failed: {e}");
                        },
                    }
                },
                _ = tick.tick() => {
                    // Missed notifications, and SQLite's other processes
                    // (a CLI's catalog change), seen within the tick.
                    if let Err(e) = self.follow_catalog().await {
                        tracing::warn!("reading the catalog failed: {e}");
                    }
                    let result = self.catch_up().await;
                    if let Err(e) = &result {
                        tracing::warn!("version check failed: {e}");
                    }
                    *lock(&self.store_check) =
                        // What /healthz shows anyone: what kind of failure,
                        // never the driver's text (logged above).
                        Some((Instant::now(), result.err().map(|_| {
                            "the version check failed (see the log)".to_owned()
                        })));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_are_paced_by_their_own_cost() {
        let t0 = Instant::now();
        // A quick pass: the next waits for the gap.
        assert_eq!(next_pass(t0, Duration::from_millis(3)), t0 + PASS_GAP);
        // A slower one: the renderer renders at most half the time.
        assert_eq!(
            next_pass(t0, Duration::from_millis(60)),
            t0 + Duration::from_millis(120)
        );
        // A slow one rests no longer than MAX_REST.
        assert_eq!(
            next_pass(t0, Duration::from_millis(800)),
            t0 + Duration::from_millis(800) + MAX_REST
        );
        // A pass long ago: the next may start now.
        let long_ago = t0 - Duration::from_secs(5);
        assert!(next_pass(long_ago, Duration::from_millis(10)) <= Instant::now());
    }
}
