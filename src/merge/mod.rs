//! Feeds into one timeline: newest first, each item once, ties broken by id so
//! every instance orders alike (the store lists each feed in that order already).
//!
//! "Once" means once per story, not only once per id. Items from different
//! origins (two sources, or a source and the site's own content) are the same
//! story when their canonical links match (tracking parameters such as
//! `utm_*` removed, no fragment, no `www.`, either scheme), or, published
//! within [`STORY_WINDOW`] of each other, when their titles are the same words
//! or when [`crate::story`] finds that they tell one story in other words. The
//! original stays (the site's own copy, else the one seen first, which readers
//! already have) and credits every source that carried it. The site's own
//! items are never merged with each other: a ticker line and the article on
//! its story are both the newsroom's.

use crate::model::{Item, Origin, Tombstone};
use crate::story::{Print, Verdict};
use chrono::{DateTime, Utc};
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

/// How far apart two copies of one story may be published.
pub const STORY_WINDOW: chrono::Duration = chrono::Duration::hours(48);

/// A title word that this many stories of the timeline share says nothing of
/// which story an item tells ("says", "new", a source's own name): it finds
/// no candidates. (The merge's work per item stays bounded however alike a
/// timeline's titles are.)
const COMMON: usize = 8;

/// Candidates compared in full per item, most words shared first.
const CANDIDATES: usize = 4;

/// Buckets of the filter of kept title words: a timeline of 500 stories
/// keeps some 4,000 words, about half of them rare.
const KNOWN: usize = 1 << 15;

/// Copies of a story stored this close together came in one round of polls,
/// before any reader could see one without the other: the earliest published
/// is the original.
const SEEN_TOGETHER: chrono::Duration = chrono::Duration::seconds(60);

/// Merges lists that are each newest first (by published, then id, both
/// descending) into one of at most `limit` items, each story once (see the
/// module doc). A heap over the lists' heads: the work follows `limit`, not
/// the lists' sum.
pub fn merge(lists: &[Vec<Item>], limit: usize) -> Vec<Item> {
    stories(lists, limit)
        .into_iter()
        .map(Story::into_item)
        .collect()
}

/// [`merge`] of lists the caller is done with: the items kept are moved out
/// of them, not copied (an archive page's 500 bodies, a timeline's window).
pub fn merge_owned(lists: Vec<Vec<Item>>, limit: usize) -> Vec<Item> {
    let kept: Vec<_> = stories(&lists, limit)
        .iter()
        .map(|s| (s.at, s.credited_origin()))
        .collect();
    let mut lists: Vec<Vec<Option<Item>>> = lists
        .into_iter()
        .map(|l| l.into_iter().map(Some).collect())
        .collect();
    // A place in the lists stands for one story at most.
    kept.into_iter()
        .filter_map(|((list, at), origin)| {
            let item = lists[list][at].take()?;
            Some(Item {
                origin,
                story: None,
                ..item
            })
        })
        .collect()
}

/// The stories [`merge`] keeps, in their order.
fn stories(lists: &[Vec<Item>], limit: usize) -> Vec<Story<'_>> {
    // The heap holds each list's head by reference.
    let mut heads: BinaryHeap<_> = lists
        .iter()
        .enumerate()
        .filter_map(|(i, list)| Some((list.first()?.published, list[0].id.as_str(), Reverse(i))))
        .collect();
    let mut next = vec![1usize; lists.len()];
    let mut seen = HashSet::with_capacity(limit);
    let mut stories = Stories::with_capacity(limit);
    // Kept stories by reference: an item is copied (or moved, by
    // `merge_owned`) once, at the end, and only if it is kept.
    let mut out: Vec<Story<'_>> = Vec::with_capacity(limit);
    while out.len() < limit {
        let Some((_, id, Reverse(i))) = heads.pop() else {
            break;
        };
        let at = (i, next[i] - 1);
        let item = &lists[i][at.1];
        if let Some(following) = lists[i].get(next[i]) {
            heads.push((following.published, following.id.as_str(), Reverse(i)));
        }
        next[i] += 1;
        if !seen.insert(id) {
            continue;
        }
        let print = print_of(item);
        match stories.find(item, &print, &out) {
            Some(kept) => out[kept].absorb(item, at),
            None => {
                stories.add(print, out.len());
                out.push(Story {
                    item,
                    at,
                    copies: Vec::new(),
                });
            }
        }
    }
    // A story whose original replaced a later copy moved back in time.
    out.sort_by(|a, b| (b.item.published, &b.item.id).cmp(&(a.item.published, &a.item.id)));
    out
}

/// A story kept so far: the copy that stands for it, and the copies it
/// absorbed, whose sources it credits, in the order it credits them.
struct Story<'a> {
    item: &'a Item,
    /// Where `item` is in the lists merged: which list, which place.
    at: (usize, usize),
    copies: Vec<&'a Item>,
}

impl<'a> Story<'a> {
    /// One story seen twice: the site's own copy wins, else the copy seen
    /// first (copies seen within [`SEEN_TOGETHER`] of each other: the earliest
    /// published, then by id), which credits every source of the other. Seen
    /// first, not published first: a copy that arrives later never takes the
    /// place of one readers may already have.
    fn absorb(&mut self, dup: &'a Item, at: (usize, usize)) {
        let kept = self.item;
        let replaces = match (&kept.origin, &dup.origin) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(k), Some(d)) => match (d.first_seen, k.first_seen) {
                (Some(ds), Some(ks)) if (ds - ks).abs() <= SEEN_TOGETHER => {
                    (dup.published, &dup.id) < (kept.published, &kept.id)
                }
                // (`None`: stored before first-seen times were kept, so first.)
                (ds, ks) if ds != ks => ds < ks,
                _ => (dup.published, &dup.id) < (kept.published, &kept.id),
            },
        };
        if replaces {
            // The replaced copy comes first among the credits, then those
            // it had.
            self.copies.insert(0, kept);
            self.item = dup;
            self.at = at;
        } else {
            self.copies.push(dup);
        }
    }

    /// Every origin the story has: the kept copy's source, and the feeds of
    /// the copies it credits.
    fn origins(&self) -> impl Iterator<Item = &'a str> {
        let kept = self.item;
        std::iter::once(origin_name(kept)).chain(
            self.copies
                .iter()
                .filter(move |c| credits(kept, c))
                .filter_map(|c| c.credited().map(|o| o.feed_url.as_str())),
        )
    }

    fn into_item(self) -> Item {
        Item {
            origin: self.credited_origin(),
            ..self.item.shown()
        }
    }

    /// The kept copy's origin, crediting the copies.
    fn credited_origin(&self) -> Option<Origin> {
        let mut origin = self.item.origin.clone();
        if let Some(origin) = origin.as_mut() {
            for copy in &self.copies {
                credit(origin, copy);
            }
        }
        origin
    }
}

/// Whether a kept copy credits a duplicate: the site's own content needs no
/// credit (it is the original), nor does a copy from the same feed.
fn credits(kept: &Item, dup: &Item) -> bool {
    match (kept.origin.as_ref(), dup.credited()) {
        (Some(origin), Some(from)) => from.feed_url != origin.feed_url,
        _ => false,
    }
}

/// An item's print: as the gate stored it, else (stored before prints were
/// kept, or by an older recipe) worked out now.
fn print_of(item: &Item) -> Cow<'_, Print> {
    match &item.story {
        Some(p) if p.current() => Cow::Borrowed(&**p),
        _ => Cow::Owned(item.story_print()),
    }
}

/// Keys that are hashes already, spread over all 64 bits by one multiply
/// (the table takes a key's top bits as its tag: a 32-bit hash alone would
/// give every key the same).
#[derive(Default, Clone, Copy)]
struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type ByHash<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Prehashed>>;

/// The stories whose titles use one word, up to [`COMMON`] and one more
/// (which says the word is common), kept inline: most words of a timeline
/// are in one or two titles, and a list each would be an allocation each.
#[derive(Clone, Copy, Default)]
struct Postings {
    len: u8,
    at: [u32; COMMON + 1],
}

impl Postings {
    fn push(&mut self, story: u32) {
        let len = usize::from(self.len);
        if len <= COMMON && (len == 0 || self.at[len - 1] != story) {
            self.at[len] = story;
            self.len += 1;
        }
    }

    /// The stories, unless the word is common.
    fn stories(&self) -> Option<&[u32]> {
        let len = usize::from(self.len);
        (len <= COMMON).then(|| &self.at[..len])
    }
}

/// The stories kept so far, by canonical link, by title words, and by each
/// title word (to find candidates told in other words), with their prints.
struct Stories<'a> {
    links: ByHash<u64, usize>,
    /// The first story of each title as words.
    titles: ByHash<u64, usize>,
    /// Each title word's postings, by index into `postings`: the table the
    /// item's every word is looked up in stays small enough for the cache.
    words: ByHash<u32, u32>,
    postings: Vec<Postings>,
    /// Per bucket of title words (by their hash's low bits), how many of
    /// those kept are not [`COMMON`]: most of an item's words are in no kept
    /// title, or in too many, and a zero says so in one load.
    rare: Vec<u8>,
    prints: Vec<Cow<'a, Print>>,
    /// Words each story shares with the item being placed (zero again
    /// once it is placed), and the stories that share any.
    counts: Vec<u8>,
    touched: Vec<u32>,
    /// Stories with two words or more in common, and how many.
    candidates: Vec<(u8, u32)>,
}

impl<'a> Stories<'a> {
    fn with_capacity(n: usize) -> Self {
        Stories {
            links: ByHash::with_capacity_and_hasher(n, Default::default()),
            titles: ByHash::with_capacity_and_hasher(n, Default::default()),
            words: ByHash::with_capacity_and_hasher(4 * n, Default::default()),
            postings: Vec::with_capacity(4 * n),
            rare: vec![0; KNOWN],
            prints: Vec::with_capacity(n),
            counts: Vec::with_capacity(n),
            touched: Vec::new(),
            candidates: Vec::new(),
        }
    }

    /// The kept story `item` is a copy of. A source repeating itself (two items
    /// of one feed with one title) is not one story; a copy must come from an
    /// origin other than one of the story's.
    fn find(&mut self, item: &Item, print: &Print, out: &[Story<'_>]) -> Option<usize> {
        let other_origin = |i: usize| out[i].origins().any(|o| o != origin_name(item));
        let near = |i: usize| near(out[i].item.published, item.published);
        if let Some(link) = print.link
            && let Some(&i) = self.links.get(&link)
            && other_origin(i)
        {
            return Some(i);
        }
        if let Some(words) = print.words
            && let Some(&first) = self.titles.get(&words)
        {
            // The first story of that title, else (rarely: a title several
            // sources repeat) any other that may take it.
            let same = |i: usize| other_origin(i) && near(i);
            if same(first) {
                return Some(first);
            }
            if let Some(i) = (first + 1..self.prints.len())
                .find(|&i| self.prints[i].words == Some(words) && same(i))
            {
                return Some(i);
            }
        }
        // Stories whose title words this item uses (in its title or lead):
        // those sharing two or more, most first, are compared in full.
        let (counts, touched) = (&mut self.counts, &mut self.touched);
        counts.resize(out.len(), 0);
        touched.clear();
        for h in print.terms() {
            if self.rare[h as usize % KNOWN] == 0 {
                continue;
            }
            let Some(stories) = self
                .words
                .get(&h)
                .and_then(|&p| self.postings[p as usize].stories())
            else {
                continue;
            };
            for &i in stories {
                let n = &mut counts[i as usize];
                if *n == 0 {
                    touched.push(i);
                }
                *n = n.saturating_add(1);
            }
        }
        let candidates = &mut self.candidates;
        candidates.clear();
        candidates.extend(
            touched
                .iter()
                .map(|&i| (std::mem::take(&mut counts[i as usize]), i))
                .filter(|&(n, i)| n >= 2 && other_origin(i as usize) && near(i as usize)),
        );
        candidates.sort_unstable_by_key(|&(n, i)| (Reverse(n), i));
        candidates
            .iter()
            .take(CANDIDATES)
            .map(|&(_, i)| i as usize)
            .find(|&i| crate::story::compare(&self.prints[i], print) == Verdict::Same)
    }

    fn add(&mut self, print: Cow<'a, Print>, at: usize) {
        if let Some(link) = print.link {
            self.links.entry(link).or_insert(at);
        }
        if let Some(words) = print.words {
            self.titles.entry(words).or_insert(at);
        }
        let story = u32::try_from(at).unwrap_or(u32::MAX);
        for h in print.title_keys() {
            let bucket = &mut self.rare[h as usize % KNOWN];
            let next = self.postings.len() as u32;
            let p = *self.words.entry(h).or_insert(next);
            if p == next {
                self.postings.push(Postings::default());
                *bucket = bucket.saturating_add(1);
            }
            let postings = &mut self.postings[p as usize];
            let was_rare = postings.stories().is_some();
            postings.push(story);
            if was_rare && postings.stories().is_none() {
                // (A bucket that ever reached 255 stays counted: a lookup
                // more, never a word missed.)
                if *bucket < u8::MAX {
                    *bucket -= 1;
                }
            }
        }
        self.prints.push(print);
    }
}

fn near(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    (a - b).abs() <= STORY_WINDOW
}

/// The source an item came from; `""` for the site's own content.
fn origin_name(item: &Item) -> &str {
    item.origin.as_ref().map_or("", |o| o.source.as_str())
}

/// The kept copy credits the sources of a duplicate (a copy of the site's own
/// content needs no credit: it is the original).
fn credit(origin: &mut Origin, dup: &Item) {
    let Some(from) = dup.credited() else {
        return;
    };
    for c in std::iter::once(from.credit()).chain(from.also.iter().cloned()) {
        if c.feed_url != origin.feed_url && !origin.also.iter().any(|a| a.feed_url == c.feed_url) {
            origin.also.push(c);
        }
    }
}

/// Tombstones of several feeds, newest first, each withdrawn item once.
pub fn merge_tombstones(lists: Vec<Vec<Tombstone>>, limit: usize) -> Vec<Tombstone> {
    let mut all: Vec<Tombstone> = lists.into_iter().flatten().collect();
    all.sort_by(|a, b| (b.deleted, &b.id).cmp(&(a.deleted, &a.id)));
    let mut seen = HashSet::new();
    all.retain(|t| seen.insert(t.id.clone()));
    all.truncate(limit);
    all
}

#[cfg(test)]
mod tests;
