//! Rendered documents as ready-to-send bytes, keyed by URL path.
//!
//! Each document is compressed once (gzip and brotli): when it is made, except
//! for the documents every write renders again, which make each encoding on
//! the first request that takes it ([`Encoding`]). Its
//! validators are computed from data, never from the clock: the ETag is a hash of
//! the bytes (with a suffix per encoding) and Last-Modified is the newest change in
//! the items shown. The same content therefore gets the same validators after a
//! restart and on every instance. Response headers are built here too, per
//! encoding; a request only looks up an [`Entry`] and clones what it needs.

use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::Arc;

mod compress;
mod entry;
mod mirror;

pub use entry::{Encoding, Entry, FileRange, Variant};

/// Path -> entry. The map is swapped whole: the renderer publishes a render pass's
/// documents at once, so a request never sees half a document, nor one feed of a
/// write updated and another not yet. Readers take no lock: every request on every
/// core reads this map, and a lock's counter, written by all of them, would move
/// between cores on each request.
#[derive(Default)]
pub struct Cache {
    entries: ArcSwap<HashMap<String, Arc<Entry>>>,
}

impl Cache {
    pub fn get(&self, path: &str) -> Option<Arc<Entry>> {
        self.entries.load().get(path).cloned()
    }

    /// Runs `f` on the document at `path` without taking a reference to it: the
    /// per-request path, which only borrows.
    pub fn with<R>(&self, path: &str, f: impl FnOnce(&Entry) -> R) -> Option<R> {
        self.entries.load().get(path).map(|e| f(e))
    }

    /// Swaps in several documents at once: a write shows in every feed it touched
    /// at the same moment, never in `breaking` before `world`. Returns the
    /// documents whose bytes changed, with their new ETag: a document seen for
    /// the first time (at start) is not a change.
    pub fn put_all(
        &self,
        docs: impl IntoIterator<Item = (String, Entry)>,
    ) -> Vec<(String, String)> {
        self.put_all_kept(docs, |_| true)
    }

    /// [`Cache::put_all`] of the documents `keep` still wants, asked as the
    /// map is swapped: a pass that rendered a feed deleted meanwhile (its
    /// config swapped, then its paths removed) does not put it back, since
    /// a swap that lost the race to the removal is made again with `keep`
    /// asked again.
    pub fn put_all_kept(
        &self,
        docs: impl IntoIterator<Item = (String, Entry)>,
        keep: impl Fn(&str) -> bool,
    ) -> Vec<(String, String)> {
        let docs: Vec<_> = docs.into_iter().map(|(p, e)| (p, Arc::new(e))).collect();
        let old = self.entries.rcu(|old| {
            let mut map = HashMap::clone(old);
            map.extend(docs.iter().filter(|(p, _)| keep(p)).cloned());
            map
        });
        docs.iter()
            .filter(|(path, _)| keep(path))
            .filter_map(|(path, new)| {
                let before = old.get(path)?;
                (before.identity.etag != new.identity.etag).then(|| {
                    let etag = new.identity.etag.to_str().unwrap_or_default().to_owned();
                    (path.clone(), etag)
                })
            })
            .collect()
    }

    /// Drops documents: those of a feed that no longer exists.
    pub fn remove(&self, paths: &[String]) {
        if paths.is_empty() {
            return;
        }
        self.entries.rcu(|old| {
            let mut map = HashMap::clone(old);
            for p in paths {
                map.remove(p);
            }
            map
        });
    }

    /// Documents held and their bytes, every encoding counted.
    pub fn size(&self) -> (usize, usize) {
        let map = self.entries.load();
        let bytes = map
            .values()
            .map(|e| {
                let len =
                    |v: Option<&Encoding>| v.and_then(Encoding::get).map_or(0, |v| v.body.len());
                e.identity.body.len() + len(e.gzip.as_ref()) + len(e.br.as_ref())
            })
            .sum();
        (map.len(), bytes)
    }

    pub fn paths(&self) -> Vec<String> {
        let mut p: Vec<_> = self.entries.load().keys().cloned().collect();
        p.sort();
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rss(body: &str) -> Entry {
        Entry::new(
            "application/rss+xml",
            body.as_bytes().to_vec(),
            None,
            300,
            true,
            true,
            None,
        )
    }

    #[test]
    fn a_pass_puts_back_only_what_keep_still_wants() {
        let cache = Cache::default();
        cache.put_all([("/feeds/a.rss".to_owned(), rss("<a/>"))]);
        cache.remove(&["/timelines/gone.rss".to_owned()]);
        let changed = cache.put_all_kept(
            [
                ("/feeds/a.rss".to_owned(), rss("<a>2</a>")),
                ("/timelines/gone.rss".to_owned(), rss("<gone/>")),
            ],
            |path| !path.starts_with("/timelines/gone"),
        );
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert_eq!(changed[0].0, "/feeds/a.rss");
        assert!(cache.get("/timelines/gone.rss").is_none());
        assert!(cache.get("/feeds/a.rss").is_some());
    }
}
