//! Closed RFC 5005 archive pages, rendered when first asked for and kept in
//! the store, so that a page keeps its bytes on every instance and after
//! every restart.
//!
//! A page's first request waits only for what its answer needs: the page's
//! rows, the format asked for, and the encoding the request takes (made by
//! the HTTP layer). The rest, the page's other formats from the same rows and
//! the asked format's other encoding, is finished after the answer and kept
//! in one commit ([`Site::finish`]); asking for another format of the page
//! meanwhile waits for it rather than reading and rendering the page again.

use super::Site;
use super::memo::OnDemandError;
use super::render::Current;
use crate::cache::{Encoding, Entry};
use crate::lock::lock;
use crate::model::{FeedId, Format};
use crate::render;
use crate::store::StoreError;
use std::sync::Arc;

/// Archive documents kept rendered (see [`Site::archive`]): pages are small
/// (half a feed's size) and readers that walk back fetch each once.
pub(super) const ARCHIVE_PAGES: usize = 256;

/// And at most this many bytes of them (uncompressed; each is also kept
/// compressed twice): a page of a 1,000-item timeline is a few MiB.
pub(super) const ARCHIVE_BYTES: usize = 32 << 20;

/// Archive pages being kept in the store after their answer (see
/// [`Site::keep`]), at most.
pub(super) const KEEPS: usize = 32;

/// Pages being finished after their answer (see [`Site::finish`]), at most:
/// each holds its rows and renders two documents. Past that, the reader
/// waits for its page to be finished, which bounds what a crowd of first
/// requests holds and how much rendering it starts.
pub(super) fn finishing_turns() -> usize {
    crate::cores::cores()
}

/// Archive documents being kept now, by feed key, page and format.
pub(super) type Keeping =
    std::sync::Mutex<std::collections::BTreeMap<(String, u64, &'static str), Arc<Keep>>>;

/// Pages being finished now, by feed key and page: held until the page's
/// documents are being kept.
pub(super) type Finishing =
    std::sync::Mutex<std::collections::HashMap<(String, u64), Arc<tokio::sync::Mutex<()>>>>;

impl Site {
    /// Closed archive page `n` of a feed in `format` (RSS, Atom, JSON Feed):
    /// as first served (kept in the store, so that a page keeps its bytes
    /// on every instance when the sources or members it was made from go),
    /// else rendered on demand and kept. A format's compressed bodies are
    /// kept beside its bytes the first time it is served, so no instance
    /// compresses it again, even after a restart. In memory, a bounded number of
    /// them until one of the feed's stored feeds changes (a withdrawal of
    /// one of its items makes it again). `None` for no such page.
    ///
    /// The entry's encodings may not be made yet: the caller makes the one
    /// its request takes ([`Entry::make`]), off the async workers.
    pub async fn archive(
        self: &Arc<Self>,
        feed: &FeedId,
        n: u64,
        format: Format,
    ) -> Result<Option<Arc<Entry>>, OnDemandError> {
        let path = render::archive_path(feed, n, format);
        let version = self.rendered_version(feed);
        // Another format of a page being finished is soon being kept:
        // waited for here, not holding one of the render turns.
        self.finished(feed, n).await;
        self.archives
            .get(path, version, &self.renders, || async {
                let kept = match self.being_kept(feed, n, format, version) {
                    Some(kept) => Some(kept),
                    None => self.store.archive_document(feed, n, format.ext()).await?,
                };
                let Some(kept) = kept else {
                    self.metrics.on_demand_renders.inc();
                    let Some(rows) = self.archive_rows(feed, n).await? else {
                        return Ok(None);
                    };
                    let (config, f) = (self.config(), feed.clone());
                    let (entry, rows) = tokio::task::spawn_blocking(move || {
                        let document =
                            render::archive_document(&rows.shown.data(&config, &f, ""), format);
                        (document.map(|d| Arc::new(Entry::asked_first(d))), rows)
                    })
                    .await
                    .expect("rendering does not panic");
                    let Some(entry) = entry else {
                        return Ok(None);
                    };
                    self.finish(Finish {
                        feed: feed.clone(),
                        n,
                        format,
                        entry: entry.clone(),
                        edition: rows.edition,
                        rows: Some(rows),
                        version,
                    })
                    .await;
                    return Ok(Some(entry));
                };
                let document =
                    render::kept_archive_document(feed, n, format, kept.body, kept.modified);
                let edition = kept.edition;
                let Some(compressed) = kept.compressed else {
                    // Compressed once for every instance and restart to come:
                    // what this request takes now, the rest after it.
                    let entry =
                        tokio::task::spawn_blocking(move || Arc::new(Entry::asked_first(document)))
                            .await
                            .expect("hashing does not panic");
                    self.finish(Finish {
                        feed: feed.clone(),
                        n,
                        format,
                        entry: entry.clone(),
                        rows: None,
                        edition,
                        version,
                    })
                    .await;
                    return Ok(Some(entry));
                };
                let entry = tokio::task::spawn_blocking(move || {
                    Entry::compressed_as(document, Some(compressed))
                })
                .await
                .expect("compressing does not panic");
                Ok(Some(Arc::new(entry)))
            })
            .await
    }

    /// Finishes a page after its answer: renders its other formats from
    /// the rows the answer was rendered from (none when it came from a
    /// kept row), makes both encodings of the entry answered, and keeps
    /// them all. On a task of its own while a turn is free (see
    /// [`finishing_turns`]), else now, before the answer.
    async fn finish(self: &Arc<Self>, work: Finish) {
        let (feed, n) = (&work.feed, work.n);
        let Ok(turn) = self.finishing_turns.clone().try_acquire_owned() else {
            return self.finish_now(work).await;
        };
        // Other formats are to come only from rows: until they are being
        // kept, a request for one waits here rather than reading the page.
        let gate = work.rows.is_some().then(|| {
            let key = (feed.key().into_owned(), n);
            let gate = Arc::new(tokio::sync::Mutex::new(()));
            let held = gate.clone().try_lock_owned().expect("a new lock");
            lock(&self.finishing).insert(key.clone(), gate.clone());
            (key, gate, held)
        });
        let site = self.clone();
        tokio::spawn(async move {
            site.finish_now(work).await;
            if let Some((key, gate, held)) = gate {
                let mut finishing = lock(&site.finishing);
                // Unless a later finish of the same page took its place.
                if finishing.get(&key).is_some_and(|g| Arc::ptr_eq(g, &gate)) {
                    finishing.remove(&key);
                }
                drop(finishing);
                drop(held);
            }
            drop(turn);
        });
    }

    async fn finish_now(&self, work: Finish) {
        let Finish {
            feed,
            n,
            format,
            entry,
            rows,
            edition,
            version,
        } = work;
        let fresh = rows.is_some();
        let (config, f) = (self.config(), feed.clone());
        let kept = tokio::task::spawn_blocking(move || {
            let mut kept = Vec::with_capacity(Format::FEEDS.len());
            for e in [&entry.gzip, &entry.br].into_iter().flatten() {
                entry.make(e);
            }
            kept.push(Keep::served(format, &entry, edition, version));
            drop(entry);
            // One at a time: the reader has its answer, and the other
            // formats are fetched less.
            if let Some(rows) = &rows {
                let data = rows.shown.data(&config, &f, "");
                for other in Format::FEEDS.into_iter().filter(|f| *f != format) {
                    if let Some(d) = render::archive_document(&data, other) {
                        kept.push(Keep {
                            format: other.ext(),
                            body: d.body.into(),
                            modified: d.last_modified,
                            compressed: None,
                            edition,
                            version,
                        });
                    }
                }
            }
            kept
        })
        .await
        .expect("rendering and compressing do not panic");
        // A kept row answered with nothing compressed (too small) has
        // nothing new to keep.
        if fresh || kept.iter().any(|k| k.compressed.is_some()) {
            self.keep(&feed, n, kept).await;
        }
        // What rendering and compressing the page left free goes back.
        crate::heap::release();
    }

    /// Waits until page `n` of the feed is no longer being finished.
    async fn finished(&self, feed: &FeedId, n: u64) {
        let gate = lock(&self.finishing)
            .get(&(feed.key().into_owned(), n))
            .cloned();
        if let Some(gate) = gate {
            drop(gate.lock().await);
        }
    }

    /// Keeps documents of page `n` (all of one edition) in the store after
    /// the reader has its answer: writing a few MiB is a commit the reader
    /// need not wait for. Until it lands, this instance serves the page
    /// from memory, and another renders the same bytes from the same rows.
    /// The store refuses them if a withdrawal made a new edition meanwhile.
    /// At most [`KEEPS`] of them are in flight; past that, the caller waits
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
        format: Format,
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

    /// Waits, for at most `limit`, until the pages being finished and kept
    /// are written: a served page that a shutdown dropped would be rendered
    /// again, perhaps from fewer rows.
    pub async fn settle(&self, limit: std::time::Duration) {
        let _ = tokio::time::timeout(limit, async {
            let turns = finishing_turns() as u32;
            drop(self.finishing_turns.acquire_many(turns).await);
            drop(self.keeps.acquire_many(KEEPS as u32).await);
        })
        .await;
    }

    /// The rows of closed archive page `n` of a feed, in the order it shows
    /// them. `None` for no such page.
    async fn archive_rows(&self, feed: &FeedId, n: u64) -> Result<Option<PageRows>, StoreError> {
        let members = self.members(feed);
        let Some(page) = self.store.archive_page(feed, &members, n).await? else {
            return Ok(None);
        };
        let merged = !crate::store::is_own_log(feed, &members);
        let items = if merged {
            let len = page.items.len();
            crate::merge::merge_owned(vec![page.items], len)
        } else {
            page.items
        };
        Ok(Some(PageRows {
            shown: Current {
                items,
                tombstones: page.tombstones,
                modified: None,
                archive: render::Archive::Page(n),
            },
            edition: page.edition,
        }))
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
        let Some(rows) = self.archive_rows(feed, n).await? else {
            return Ok(None);
        };
        let (config, feed, edition) = (self.config(), feed.clone(), rows.edition);
        let documents = tokio::task::spawn_blocking(move || {
            let data = &rows.shown.data(&config, &feed, "");
            // The formats side by side: `build` writes a few pages at a
            // time, and a page's formats one after the other took 10-20%
            // longer over a 1,000-source timeline's 702 documents.
            std::thread::scope(|s| {
                let rendering: Vec<_> = Format::FEEDS
                    .into_iter()
                    .map(|f| s.spawn(move || (f, render::archive_document(data, f))))
                    .collect();
                rendering
                    .into_iter()
                    .filter_map(|h| {
                        let (f, d) = h.join().expect("rendering does not panic");
                        Some((f, d?))
                    })
                    .collect()
            })
        })
        .await
        .expect("rendering does not panic");
        Ok(Some(PageDocuments { edition, documents }))
    }
}

/// A closed archive page's rows, in the order the page shows them.
struct PageRows {
    shown: Current,
    /// See [`crate::store::ArchivePage::edition`].
    edition: i64,
}

/// What a page's answer leaves to do (see [`Site::finish`]).
struct Finish {
    feed: FeedId,
    n: u64,
    /// The format answered, and its entry.
    format: Format,
    entry: Arc<Entry>,
    /// The rows it was rendered from, if it was.
    rows: Option<PageRows>,
    /// The page's edition and the feed's version it was made at.
    edition: i64,
    version: i64,
}

/// A closed archive page rendered in every feed format.
pub struct PageDocuments {
    /// The page's edition its rows were read at (see
    /// [`crate::store::ArchivePage::edition`]).
    pub edition: i64,
    pub documents: Vec<(Format, render::Document)>,
}

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
    fn served(format: Format, entry: &Entry, edition: i64, version: i64) -> Keep {
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
