//! Documents rendered on demand, kept for the next asker within bounds.
//! Whoever asks decides what is rendered (a day, a page number, a filter), so
//! every part of it is bounded: how many are kept and their bytes (the least
//! recently used go first), how many renders run at once (one per core, off
//! the async workers, with a time to wait for a turn), and one render per
//! document however many ask for it at once (the others wait for it). A
//! document that turned out not to exist is remembered too.

use crate::cache::Entry;
use crate::lock::lock;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a request waits for a render's turn before it is told to come
/// back later.
const TURN: Duration = Duration::from_secs(10);

/// One kind of on-demand document, by key.
pub(super) struct Memo<K> {
    kept: Mutex<Kept<K>>,
    /// The render under way for a key: later askers wait on it.
    flights: Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>,
    max_entries: usize,
    max_bytes: usize,
}

struct Kept<K> {
    entries: HashMap<K, Slot>,
    bytes: usize,
    /// A counter of uses: the smallest `used` is the least recently used.
    clock: u64,
}

struct Slot {
    /// The versions of the data it was rendered from.
    version: i64,
    /// `None`: there is no such document (a day without items).
    entry: Option<Arc<Entry>>,
    used: u64,
}

/// Why an on-demand document was not served.
#[derive(Debug, thiserror::Error)]
pub enum OnDemandError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Every render turn stayed taken while the request waited.
    #[error("too many documents are being rendered; try again shortly")]
    Busy,
}

impl<K: Hash + Eq + Clone> Memo<K> {
    pub(super) fn new(max_entries: usize, max_bytes: usize) -> Memo<K> {
        Memo {
            kept: Mutex::new(Kept {
                entries: HashMap::new(),
                bytes: 0,
                clock: 0,
            }),
            flights: Mutex::new(HashMap::new()),
            max_entries: max_entries.max(1),
            max_bytes,
        }
    }

    /// The document kept for `key` at `version`: `Some(None)` for one known
    /// not to exist, `None` when it must be rendered.
    pub(super) fn kept(&self, key: &K, version: i64) -> Option<Option<Arc<Entry>>> {
        let mut kept = lock(&self.kept);
        kept.clock += 1;
        let now = kept.clock;
        let slot = kept.entries.get_mut(key).filter(|s| s.version == version)?;
        slot.used = now;
        Some(slot.entry.clone())
    }

    fn keep(&self, key: K, version: i64, entry: Option<Arc<Entry>>) {
        let size = |e: &Option<Arc<Entry>>| e.as_ref().map_or(0, |e| e.identity.body.len());
        let mut kept = lock(&self.kept);
        kept.clock += 1;
        let used = kept.clock;
        if let Some(old) = kept.entries.remove(&key) {
            kept.bytes -= size(&old.entry);
        }
        let bytes = size(&entry);
        // The least recently used go until this one fits.
        while !kept.entries.is_empty()
            && (kept.entries.len() >= self.max_entries || kept.bytes + bytes > self.max_bytes)
        {
            let oldest = kept
                .entries
                .iter()
                .min_by_key(|(_, s)| s.used)
                .map(|(k, _)| k.clone())
                .expect("not empty");
            if let Some(gone) = kept.entries.remove(&oldest) {
                kept.bytes -= size(&gone.entry);
            }
        }
        kept.bytes += bytes;
        kept.entries.insert(
            key,
            Slot {
                version,
                entry,
                used,
            },
        );
    }

    /// The document for `key` at `version`: kept, or rendered by `render`
    /// (once, whoever else asks meanwhile), in a turn of `turns`.
    pub(super) async fn get<F, Fut>(
        &self,
        key: K,
        version: i64,
        turns: &Semaphore,
        render: F,
    ) -> Result<Option<Arc<Entry>>, OnDemandError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<Arc<Entry>>, OnDemandError>>,
    {
        if let Some(found) = self.kept(&key, version) {
            return Ok(found);
        }
        let flight = lock(&self.flights).entry(key.clone()).or_default().clone();
        let result = async {
            let _own = flight.lock().await;
            // Rendered by the one we waited for?
            if let Some(found) = self.kept(&key, version) {
                return Ok(found);
            }
            let _turn = tokio::time::timeout(TURN, turns.acquire())
                .await
                .map_err(|_| OnDemandError::Busy)?
                .map_err(|_| OnDemandError::Busy)?;
            let entry = render().await?;
            self.keep(key.clone(), version, entry.clone());
            Ok(entry)
        }
        .await;
        // The last asker out takes the flight away.
        let mut flights = lock(&self.flights);
        if Arc::strong_count(&flight) <= 2 {
            flights.remove(&key);
        }
        result
    }

    /// How many documents are kept, and their bytes.
    #[cfg(test)]
    fn size(&self) -> (usize, usize) {
        let kept = lock(&self.kept);
        (kept.entries.len(), kept.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn doc(n: usize) -> Entry {
        Entry::new(
            "text/html; charset=utf-8",
            vec![b'x'; n],
            None,
            60,
            false,
            false,
            None,
        )
    }

    #[tokio::test]
    async fn one_render_for_many_askers_and_the_least_recently_used_go() {
        let memo: Memo<u32> = Memo::new(3, 1 << 20);
        let turns = Semaphore::new(2);
        let renders = AtomicUsize::new(0);
        let render = || async {
            renders.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(Some(Arc::new(doc(10))))
        };
        let askers = (0..20).map(|_| memo.get(1, 0, &turns, render));
        let got = futures_util::future::join_all(askers).await;
        assert!(got.iter().all(|g| g.as_ref().unwrap().is_some()));
        assert_eq!(renders.load(Ordering::SeqCst), 1, "one render for twenty");
        for k in 2..=3 {
            memo.get(k, 0, &turns, render).await.unwrap();
        }
        // 1 is used again, so 2 is the least recently used when 4 comes.
        memo.get(1, 0, &turns, render).await.unwrap();
        memo.get(4, 0, &turns, render).await.unwrap();
        assert_eq!(memo.size(), (3, 30));
        let before = renders.load(Ordering::SeqCst);
        memo.get(1, 0, &turns, render).await.unwrap();
        assert_eq!(renders.load(Ordering::SeqCst), before, "1 was kept");
        memo.get(2, 0, &turns, render).await.unwrap();
        assert_eq!(renders.load(Ordering::SeqCst), before + 1, "2 was not");
        // A new version renders again; nothing is remembered too.
        memo.get(1, 1, &turns, render).await.unwrap();
        assert_eq!(renders.load(Ordering::SeqCst), before + 2);
        let none = memo.get(9, 0, &turns, || async { Ok(None) }).await.unwrap();
        assert!(none.is_none());
        let again = memo
            .get(9, 0, &turns, || async { panic!("remembered as absent") })
            .await
            .unwrap();
        assert!(again.is_none());
        assert!(lock(&memo.flights).is_empty(), "flights are taken away");
    }
}
