//! Items decoded before, kept by id with the hash of their stored document:
//! a render pass reads its feeds' windows again at every pass of a stream of
//! writes, and all but the newest few items are the ones it decoded last
//! time.

use crate::model::Item;
use std::collections::HashMap;
use std::sync::Mutex;

/// Bytes of documents one generation holds before it becomes the old one:
/// two generations, at most twice this. An item found in the old one moves
/// to the new: what windows still show stays, the rest goes with the old.
const GENERATION_BYTES: usize = 4 << 20;

#[derive(Default)]
pub(crate) struct Decoded {
    generations: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    new: HashMap<String, Kept>,
    old: HashMap<String, Kept>,
    bytes: usize,
}

struct Kept {
    hash: String,
    item: Item,
    bytes: usize,
}

impl Decoded {
    /// The item `id` as its document of `hash` decodes, if kept.
    pub(crate) fn get(&self, id: &str, hash: &str) -> Option<Item> {
        let mut g = crate::lock::lock(&self.generations);
        if let Some(k) = g.new.get(id) {
            return (k.hash == hash).then(|| k.item.clone());
        }
        let k = g.old.remove(id).filter(|k| k.hash == hash)?;
        let item = k.item.clone();
        g.insert(id.to_owned(), k);
        Some(item)
    }

    /// Keeps `item`, decoded from a document of `bytes` bytes and `hash`.
    pub(crate) fn put(&self, item: &Item, hash: String, bytes: usize) {
        let kept = Kept {
            hash,
            item: item.clone(),
            bytes,
        };
        crate::lock::lock(&self.generations).insert(item.id.clone(), kept);
    }
}

impl Generations {
    fn insert(&mut self, id: String, kept: Kept) {
        if self.bytes + kept.bytes > GENERATION_BYTES {
            self.old = std::mem::take(&mut self.new);
            self.bytes = 0;
        }
        self.bytes += kept.bytes;
        if let Some(before) = self.new.insert(id, kept) {
            self.bytes -= before.bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, title: &str) -> Item {
        let mut i = Item::sample(id, chrono::Utc::now());
        i.title = title.into();
        i
    }

    #[test]
    fn an_item_is_found_only_with_the_hash_it_was_kept_with() {
        let d = Decoded::default();
        d.put(&item("a", "one"), "h1".into(), 10);
        assert_eq!(d.get("a", "h1").unwrap().title, "one");
        assert!(
            d.get("a", "h2").is_none(),
            "a changed document is decoded again"
        );
        assert!(d.get("b", "h1").is_none());
        d.put(&item("a", "two"), "h2".into(), 10);
        assert_eq!(d.get("a", "h2").unwrap().title, "two");
    }

    #[test]
    fn what_is_still_read_stays_and_the_rest_goes() {
        let d = Decoded::default();
        let big = GENERATION_BYTES / 4;
        d.put(&item("kept", "k"), "h".into(), big);
        d.put(&item("dropped", "d"), "h".into(), big);
        for n in 0..3 {
            d.put(&item(&format!("x{n}"), "x"), "h".into(), big);
        }
        // A new generation began: both are old now. One is read again.
        assert!(d.get("kept", "h").is_some());
        for n in 3..8 {
            d.put(&item(&format!("x{n}"), "x"), "h".into(), big);
        }
        assert!(d.get("kept", "h").is_some(), "moved to the new generation");
        assert!(d.get("dropped", "h").is_none(), "gone with the old one");
        let g = crate::lock::lock(&d.generations);
        let held: usize = g.new.values().chain(g.old.values()).map(|k| k.bytes).sum();
        assert!(held <= 2 * GENERATION_BYTES);
    }
}
