//! Documents rendered when asked for rather than at every change: the
//! ticker page of a past day, and closed RFC 5005 archive pages. They are
//! kept rendered, a bounded number of them, until their feeds change.

use super::Site;
use super::memo::OnDemandError;
use crate::cache::Entry;
use crate::lock::lock;
use crate::model::FeedId;
use crate::render::{self, FeedData};
use crate::store::StoreError;
use std::sync::Arc;

/// Ticker day pages kept rendered (days without items included); more are
/// rendered again on demand.
pub(super) const DAY_PAGES: usize = 64;

/// Archive documents kept rendered (see [`Site::archive`]): pages are small
/// (half a feed's size) and readers that walk back fetch each once.
pub(super) const ARCHIVE_PAGES: usize = 256;

/// And at most this many bytes of them (uncompressed; each is also kept
/// compressed twice): a page of a 1,000-item timeline is a few MiB.
pub(super) const ARCHIVE_BYTES: usize = 32 << 20;

impl Site {
    /// The ticker page of `day` (site zone), rendered on demand and kept
    /// until the breaking feed changes; `None` for a day without items.
    pub async fn ticker_day(
        &self,
        day: chrono::NaiveDate,
    ) -> Result<Option<Arc<Entry>>, OnDemandError> {
        let version = lock(&self.rendered)
            .get(&FeedId::breaking())
            .copied()
            .unwrap_or(0);
        self.days
            .get(day, version, &self.renders, || async {
                // The day's items, whatever the zone's offset: a day either
                // side, then the site's own calendar. (A day at the ends of
                // chrono's calendar has no day either side.)
                let midnight = day.and_time(chrono::NaiveTime::MIN).and_utc();
                let (Some(from), Some(to)) = (
                    midnight.checked_sub_signed(chrono::Duration::days(1)),
                    midnight.checked_add_signed(chrono::Duration::days(2)),
                ) else {
                    return Ok(None);
                };
                let tz = self.config().site.timezone;
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
                self.metrics.on_demand_renders.inc();
                let config = self.config();
                let entry = tokio::task::spawn_blocking(move || {
                    Entry::new(
                        crate::model::Format::Html.content_type(),
                        render::page::ticker_day(&config, day, &items),
                        items.iter().map(|i| i.updated.max(i.published)).max(),
                        config.site.ttl * 60,
                        false,
                        false,
                        None,
                    )
                })
                .await
                .expect("rendering does not panic");
                Ok(Some(entry))
            })
            .await
    }

    /// The stored feeds a served feed's items are in: a timeline's members,
    /// or the feed itself.
    pub(super) fn members(&self, feed: &FeedId) -> Vec<FeedId> {
        crate::catalog::members(&self.config(), feed).unwrap_or_else(|| vec![feed.clone()])
    }

    /// Closed archive page `n` of a feed in `format` (RSS, Atom, JSON Feed):
    /// as first served (kept in the store, so that a page keeps its bytes
    /// on every instance when the sources or members it was made from go),
    /// else rendered on demand and kept. A format's compressed bodies are
    /// kept beside its bytes the first time it is served, so no instance
    /// compresses it again, even after a restart. In memory, a bounded number of
    /// them until one of the feed's stored feeds changes (a withdrawal of
    /// one of its items makes it again). `None` for no such page.
    pub async fn archive(
        &self,
        feed: &FeedId,
        n: u64,
        format: crate::model::Format,
    ) -> Result<Option<Arc<Entry>>, OnDemandError> {
        let path = render::archive_path(feed, n, format);
        let version = self.rendered_version(feed);
        self.archives
            .get(path, version, &self.renders, || async {
                let kept = match self.store.archive_document(feed, n, format.ext()).await? {
                    Some(kept) => kept,
                    None => {
                        self.metrics.on_demand_renders.inc();
                        // Every format from the one read of the page's rows,
                        // all kept in one commit: the others are then a row away.
                        let made = self.archive_documents(feed, n).await?;
                        let Some(asked) = made.iter().position(|(f, _)| *f == format) else {
                            return Ok(None);
                        };
                        let mut made: Vec<_> =
                            made.into_iter().map(|(f, d)| (f, Some(d))).collect();
                        let document = made[asked].1.take().expect("the asked format");
                        let entry = Self::entry(document, None).await;
                        // The asked format kept with its compressed bodies.
                        let kept: Vec<_> = made
                            .iter()
                            .map(|(f, d)| match d {
                                Some(d) => crate::store::KeptDocument {
                                    format: f.ext(),
                                    body: &d.body,
                                    modified: d.last_modified,
                                    compressed: None,
                                },
                                None => crate::store::KeptDocument {
                                    format: f.ext(),
                                    body: &entry.identity.body,
                                    modified: entry.last_modified,
                                    compressed: entry.compressed(),
                                },
                            })
                            .collect();
                        if let Err(e) = self.store.keep_archive_documents(feed, n, &kept).await {
                            tracing::warn!("keeping page {n} of {} failed: {e}", feed.key());
                        }
                        return Ok(Some(entry));
                    }
                };
                let document =
                    render::kept_archive_document(feed, n, format, kept.body, kept.modified);
                let fresh = kept.compressed.is_none();
                let entry = Self::entry(document, kept.compressed).await;
                // Compressed once for every instance and restart to come.
                if fresh && let Some(compressed) = entry.compressed() {
                    let body = &entry.identity.body[..];
                    let again = [crate::store::KeptDocument {
                        format: format.ext(),
                        body,
                        modified: entry.last_modified,
                        compressed: Some(compressed),
                    }];
                    if let Err(e) = self.store.keep_archive_documents(feed, n, &again).await {
                        tracing::warn!("keeping page {n} of {} compressed failed: {e}", feed.key());
                    }
                }
                Ok(Some(entry))
            })
            .await
    }

    /// A document's cache entry, compressed off the runtime unless its
    /// compressed bodies are given.
    async fn entry(document: render::Document, compressed: Option<(Vec<u8>, Vec<u8>)>) -> Entry {
        tokio::task::spawn_blocking(move || Entry::compressed_as(document, compressed))
            .await
            .expect("compressing does not panic")
    }

    /// Closed archive page `n` of a feed in every feed format, rendered now
    /// from one read of its rows (no cache, not compressed: what `build`
    /// writes). Rendering a page of a large timeline takes a while: off the
    /// runtime, as the render passes are. Empty for no such page.
    pub async fn archive_documents(
        &self,
        feed: &FeedId,
        n: u64,
    ) -> Result<Vec<(crate::model::Format, render::Document)>, StoreError> {
        let members = self.members(feed);
        let Some(page) = self.store.archive_page(feed, &members, n).await? else {
            return Ok(Vec::new());
        };
        let merged = !crate::store::is_own_log(feed, &members);
        let (config, feed) = (self.config(), feed.clone());
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
                query: "",
            };
            // The formats side by side: a reader waits for the first request.
            let data = &data;
            let [first, rest @ ..] = crate::model::Format::FEEDS;
            std::thread::scope(|s| {
                let rest: Vec<_> = rest
                    .into_iter()
                    .map(|f| s.spawn(move || (f, render::archive_document(data, f))))
                    .collect();
                let first = (first, render::archive_document(data, first));
                std::iter::once(first)
                    .chain(rest.into_iter().map(|h| h.join().expect("rendering does not panic")))
                    .filter_map(|(format, document)| Some((format, document?)))
                    .collect()
            })
        })
        .await
        .expect("rendering does not panic"))
    }
}
