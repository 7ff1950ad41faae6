//! Documents rendered when asked for rather than at every change: the
//! ticker page of a past day, and closed RFC 5005 archive pages. They are
//! kept rendered, a bounded number of them, until their feeds change.

use super::Site;
use super::memo::OnDemandError;
use crate::cache::{Encoding, Entry};
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

/// Archive pages being kept in the store after their answer (see
/// [`Site::keep`]), at most.
pub(super) const KEEPS: usize = 32;

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
                let kept = match self.being_kept(feed, n, format, version) {
                    Some(kept) => Some(kept),
                    None => self.store.archive_document(feed, n, format.ext()).await?,
                };
                let kept = match kept {
                    Some(kept) => kept,
                    None => {
                        self.metrics.on_demand_renders.inc();
                        // Every format from the one read of the page's rows,
                        // all kept in one commit: the others are then a row away.
                        let Some(made) = self.archive_documents(feed, n).await? else {
                            return Ok(None);
                        };
                        let edition = made.edition;
                        let mut made: Vec<_> = made
                            .documents
                            .into_iter()
                            .map(|(f, d)| (f, Some(d)))
                            .collect();
                        let Some(asked) = made.iter().position(|(f, _)| *f == format) else {
                            return Ok(None);
                        };
                        let document = made[asked].1.take().expect("the asked format");
                        let entry = Self::entry(document, None).await;
                        // The asked format kept with its compressed bodies.
                        let kept = made
                            .into_iter()
                            .map(|(f, d)| match d {
                                Some(d) => Keep {
                                    format: f.ext(),
                                    body: d.body.into(),
                                    modified: d.last_modified,
                                    compressed: None,
                                    edition,
                                    version,
                                },
                                None => Keep::served(f, &entry, edition, version),
                            })
                            .collect();
                        self.keep(feed, n, kept).await;
                        return Ok(Some(entry));
                    }
                };
                let document =
                    render::kept_archive_document(feed, n, format, kept.body, kept.modified);
                let (fresh, edition) = (kept.compressed.is_none(), kept.edition);
                let entry = Self::entry(document, kept.compressed).await;
                // Compressed once for every instance and restart to come.
                if fresh && entry.compressed().is_some() {
                    let keep = Keep::served(format, &entry, edition, version);
                    self.keep(feed, n, vec![keep]).await;
                }
                Ok(Some(entry))
            })
            .await
    }

    /// Keeps documents of page `n` (all of one edition) in the store after
    /// the reader has its answer: writing a few MiB is a commit the reader
    /// need not wait for. Until it lands, this instance serves the page
    /// from memory, and another renders the same bytes from the same rows.
    /// The store refuses them if a withdrawal made a new edition meanwhile.
    /// At most [`KEEPS`] of them are in flight; past that, the reader waits
    /// for its own, which bounds what a crowd of first requests holds.
    async fn keep(&self, feed: &FeedId, n: u64, documents: Vec<Keep>) {
        let Some(edition) = documents.first().map(|d| d.edition) else {
            return;
        };
        let documents: Vec<_> = documents.into_iter().map(Arc::new).collect();
        let turn = self.keeps.clone().try_acquire_owned().ok();
        let key = feed.key().into_owned();
        if turn.is_some() {
            let mut keeping = lock(&self.keeping);
            for d in &documents {
                keeping.insert((key.clone(), n, d.format), d.clone());
            }
        }
        let (store, feed, keeping) = (self.store.clone(), feed.clone(), self.keeping.clone());
        let write = async move {
            let kept: Vec<_> = documents
                .iter()
                .map(|d| crate::store::KeptDocument {
                    format: d.format,
                    body: &d.body,
                    modified: d.modified,
                    compressed: d.compressed.as_ref().map(|(gz, br)| (&gz[..], &br[..])),
                })
                .collect();
            match store.keep_archive_documents(&feed, n, edition, &kept).await {
                Ok(true) => {}
                // An item of the page was withdrawn or came back since its
                // read: the next request makes the new edition.
                Ok(false) => tracing::debug!("page {n} of {} changed before its keep", feed.key()),
                Err(e) => tracing::warn!("keeping page {n} of {} failed: {e}", feed.key()),
            }
            let mut keeping = lock(&keeping);
            for d in &documents {
                let at = (key.clone(), n, d.format);
                // Unless a later keep of the same document took its place.
                if keeping.get(&at).is_some_and(|k| Arc::ptr_eq(k, d)) {
                    keeping.remove(&at);
                }
            }
        };
        match turn {
            Some(turn) => {
                tokio::spawn(async move {
                    write.await;
                    drop(turn);
                });
            }
            None => write.await,
        }
    }

    /// A document of page `n` being kept now: served from here until it is
    /// in the store, so that it is not rendered again meanwhile; but only
    /// to a request of the feed's `version` it was made at, since a
    /// withdrawal since then (which moves the version) may make the store
    /// refuse it.
    fn being_kept(
        &self,
        feed: &FeedId,
        n: u64,
        format: crate::model::Format,
        version: i64,
    ) -> Option<crate::store::ArchiveDocument> {
        let kept = lock(&self.keeping)
            .get(&(feed.key().into_owned(), n, format.ext()))
            .filter(|k| k.version == version)?
            .clone();
        Some(crate::store::ArchiveDocument {
            body: kept.body.to_vec(),
            modified: kept.modified,
            compressed: kept
                .compressed
                .as_ref()
                .map(|(gz, br)| (gz.to_vec(), br.to_vec())),
            edition: kept.edition,
        })
    }

    /// Waits, for at most `limit`, until the pages being kept are written:
    /// a served page that a shutdown dropped would be rendered again, perhaps
    /// from fewer rows.
    pub async fn settle(&self, limit: std::time::Duration) {
        let _ = tokio::time::timeout(limit, self.keeps.acquire_many(KEEPS as u32)).await;
    }

    /// A document's cache entry, compressed off the runtime unless its
    /// compressed bodies are given.
    async fn entry(document: render::Document, compressed: Option<(Vec<u8>, Vec<u8>)>) -> Entry {
        let entry = tokio::task::spawn_blocking(move || Entry::compressed_as(document, compressed))
            .await
            .expect("compressing does not panic");
        // What rendering and compressing the page left free goes back.
        crate::heap::release();
        entry
    }

    /// Closed archive page `n` of a feed in every feed format, rendered now
    /// from one read of its rows (no cache, not compressed: what `build`
    /// writes). Rendering a page of a large timeline takes a while: off the
    /// runtime, as the render passes are. `None` for no such page.
    pub async fn archive_documents(
        &self,
        feed: &FeedId,
        n: u64,
    ) -> Result<Option<PageDocuments>, StoreError> {
        let members = self.members(feed);
        let Some(page) = self.store.archive_page(feed, &members, n).await? else {
            return Ok(None);
        };
        let edition = page.edition;
        let merged = !crate::store::is_own_log(feed, &members);
        let (config, feed) = (self.config(), feed.clone());
        let documents = tokio::task::spawn_blocking(move || {
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
                    .chain(
                        rest.into_iter()
                            .map(|h| h.join().expect("rendering does not panic")),
                    )
                    .filter_map(|(format, document)| Some((format, document?)))
                    .collect()
            })
        })
        .await
        .expect("rendering does not panic");
        Ok(Some(PageDocuments { edition, documents }))
    }
}

/// A closed archive page rendered in every feed format.
pub struct PageDocuments {
    /// The page's edition its rows were read at (see
    /// [`crate::store::ArchivePage::edition`]).
    pub edition: i64,
    pub documents: Vec<(crate::model::Format, render::Document)>,
}

/// Archive documents being kept now, by feed key, page and format.
pub(super) type Keeping =
    std::sync::Mutex<std::collections::BTreeMap<(String, u64, &'static str), Arc<Keep>>>;

/// A document to keep, owned so that it outlives the request that made it.
pub(super) struct Keep {
    format: &'static str,
    body: bytes::Bytes,
    modified: Option<chrono::DateTime<chrono::Utc>>,
    compressed: Option<(bytes::Bytes, bytes::Bytes)>,
    /// The page's edition it was made from.
    edition: i64,
    /// The feed's rendered version when it was made.
    version: i64,
}

impl Keep {
    /// The document as this instance serves it, compressed bodies included.
    fn served(format: crate::model::Format, entry: &Entry, edition: i64, version: i64) -> Keep {
        Keep {
            edition,
            version,
            format: format.ext(),
            body: entry.identity.body.clone(),
            modified: entry.last_modified,
            compressed: (entry.gzip.as_ref().and_then(Encoding::get))
                .zip(entry.br.as_ref().and_then(Encoding::get))
                .map(|(gz, br)| (gz.body.clone(), br.body.clone())),
        }
    }
}
