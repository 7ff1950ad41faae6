//! Feeds into one timeline: newest first, each item once, ties broken by id so
//! every instance orders alike (the store lists each feed in that order already).
//!
//! "Once" means once per story, not only once per id. Items from different
//! origins (two sources, or a source and the site's own content) are the same
//! story when their canonical links match (tracking parameters such as
//! `utm_*` removed, no fragment, no `www.`, either scheme), or, failing that,
//! when their normalized titles match within [`TITLE_WINDOW`]. The original
//! stays (the site's own copy, else the one seen first, which readers already
//! have) and credits every source that carried it.

use crate::model::{Item, Tombstone};
use chrono::{DateTime, Utc};
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

/// How far apart two items with the same title may be and still be one story.
pub const TITLE_WINDOW: chrono::Duration = chrono::Duration::hours(48);

/// Copies of a story stored this close together came in one round of polls,
/// before any reader could see one without the other: the earliest published
/// is the original.
const SEEN_TOGETHER: chrono::Duration = chrono::Duration::seconds(60);

/// Shorter normalized titles ("Live", "Update") say too little to merge on.
const MIN_TITLE: usize = 12;

/// Merges lists that are each newest first (by published, then id, both
/// descending) into one of at most `limit` items, each story once (see the
/// module doc). A heap over the lists' heads: the work follows `limit`, not
/// the lists' sum.
pub fn merge(lists: &[Vec<Item>], limit: usize) -> Vec<Item> {
    // The heap holds each list's head by reference; only what is kept is cloned.
    let mut heads: BinaryHeap<_> = lists
        .iter()
        .enumerate()
        .filter_map(|(i, list)| Some((list.first()?.published, list[0].id.as_str(), Reverse(i))))
        .collect();
    let mut next = vec![1usize; lists.len()];
    let mut seen = HashSet::with_capacity(limit);
    let mut stories = Stories {
        links: HashMap::with_capacity(limit),
        titles: HashMap::with_capacity(limit),
    };
    // Kept stories by reference: an item is cloned once, at the end, and only
    // if it is kept.
    let mut out: Vec<Story<'_>> = Vec::with_capacity(limit);
    while out.len() < limit {
        let Some((_, id, Reverse(i))) = heads.pop() else {
            break;
        };
        let item = &lists[i][next[i] - 1];
        if let Some(following) = lists[i].get(next[i]) {
            heads.push((following.published, following.id.as_str(), Reverse(i)));
        }
        next[i] += 1;
        if !seen.insert(id) {
            continue;
        }
        let keys = Keys::of(item);
        match stories.find(item, &keys, &out) {
            Some(kept) => out[kept].absorb(item),
            None => {
                stories.add(keys, out.len());
                out.push(Story {
                    item,
                    copies: Vec::new(),
                });
            }
        }
    }
    let mut out: Vec<Item> = out.into_iter().map(Story::into_item).collect();
    // A story whose original replaced a later copy moved back in time.
    out.sort_by(|a, b| (b.published, &b.id).cmp(&(a.published, &a.id)));
    out
}

/// A story kept so far: the copy that stands for it, and the copies it
/// absorbed, whose sources it credits, in the order it credits them.
struct Story<'a> {
    item: &'a Item,
    copies: Vec<&'a Item>,
}

impl<'a> Story<'a> {
    /// One story seen twice: the site's own copy wins, else the copy seen
    /// first (copies seen within [`SEEN_TOGETHER`] of each other: the earliest
    /// published, then by id), which credits every source of the other. Seen
    /// first, not published first: a copy that arrives later never takes the
    /// place of one readers may already have.
    fn absorb(&mut self, dup: &'a Item) {
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
        let mut item = self.item.clone();
        for copy in self.copies {
            credit(&mut item, copy);
        }
        item
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

/// The stories kept so far, by canonical link and by normalized title.
struct Stories<'a> {
    links: HashMap<Cow<'a, str>, usize>,
    titles: HashMap<Cow<'a, str>, Vec<usize>>,
}

/// An item's story keys: as stored with it (external items), else worked out.
struct Keys<'a> {
    link: Option<Cow<'a, str>>,
    title: Option<Cow<'a, str>>,
}

impl<'a> Keys<'a> {
    fn of(item: &'a Item) -> Keys<'a> {
        let origin = item.origin.as_ref();
        Keys {
            link: match origin.and_then(|o| o.story_link.as_deref()) {
                Some(link) => Some(Cow::Borrowed(link)),
                None => item
                    .link
                    .as_deref()
                    .and_then(canonical_link)
                    .map(Cow::Owned),
            },
            title: match origin.and_then(|o| o.story_title.as_deref()) {
                Some(title) => Some(Cow::Borrowed(title)),
                None => normal_title(&item.title).map(Cow::Owned),
            },
        }
    }
}

/// Works out an external item's story keys once, to be stored with it.
pub fn keep_story_keys(item: &mut Item) {
    let link = item.link.as_deref().and_then(canonical_link);
    let title = normal_title(&item.title);
    if let Some(origin) = item.origin.as_mut() {
        origin.story_link = link;
        origin.story_title = title;
    }
}

impl<'a> Stories<'a> {
    /// The kept story `item` is a copy of. A source repeating itself (two items
    /// of one feed with one title) is not one story; a copy must come from an
    /// origin other than one of the story's.
    fn find(&self, item: &Item, keys: &Keys<'a>, out: &[Story<'_>]) -> Option<usize> {
        let other_origin = |i: usize| out[i].origins().any(|o| o != origin_name(item));
        if let Some(link) = &keys.link
            && let Some(&i) = self.links.get(link)
            && other_origin(i)
        {
            return Some(i);
        }
        self.titles
            .get(keys.title.as_ref()?)?
            .iter()
            .copied()
            .find(|&i| other_origin(i) && near(out[i].item.published, item.published))
    }

    fn add(&mut self, keys: Keys<'a>, at: usize) {
        if let Some(link) = keys.link {
            self.links.entry(link).or_insert(at);
        }
        if let Some(title) = keys.title {
            self.titles.entry(title).or_default().push(at);
        }
    }
}

fn near(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    (a - b).abs() <= TITLE_WINDOW
}

/// The source an item came from; `""` for the site's own content.
fn origin_name(item: &Item) -> &str {
    item.origin.as_ref().map_or("", |o| o.source.as_str())
}

/// The kept copy credits the sources of a duplicate (a copy of the site's own
/// content needs no credit: it is the original).
fn credit(kept: &mut Item, dup: &Item) {
    let (Some(origin), Some(from)) = (kept.origin.as_mut(), dup.credited()) else {
        return;
    };
    for c in std::iter::once(from.credit()).chain(from.also.iter().cloned()) {
        if c.feed_url != origin.feed_url && !origin.also.iter().any(|a| a.feed_url == c.feed_url) {
            origin.also.push(c);
        }
    }
}

/// Query parameters that track a click and say nothing about the page.
fn tracking(name: &str) -> bool {
    name.starts_with("utm_")
        || matches!(
            name,
            "fbclid"
                | "gclid"
                | "dclid"
                | "msclkid"
                | "mc_cid"
                | "mc_eid"
                | "igshid"
                | "cmpid"
                | "ocid"
                | "xtor"
                | "at_medium"
                | "at_campaign"
        )
}

/// A link without its tracking parameters (and fragment): the link a
/// scraped item is known by, whatever campaign the page tagged it with.
pub fn untracked(mut url: url::Url) -> url::Url {
    url.set_fragment(None);
    if url.query().is_some() {
        let query: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !tracking(&k.to_ascii_lowercase()))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if query.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(query);
        }
    }
    url
}

/// A link as the page it names: host without `www.`, path without a trailing
/// slash, query without tracking parameters, no scheme, no fragment.
pub fn canonical_link(link: &str) -> Option<String> {
    let url = url::Url::parse(link).ok()?;
    let host = url.host_str()?;
    let host = host.strip_prefix("www.").unwrap_or(host);
    let mut out = String::with_capacity(link.len());
    out.push_str(host);
    if let Some(port) = url.port() {
        out.push(':');
        out.push_str(&port.to_string());
    }
    out.push_str(url.path().trim_end_matches('/'));
    let query: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !tracking(&k.to_ascii_lowercase()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if !query.is_empty() {
        out.push('?');
        out.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query)
                .finish(),
        );
    }
    Some(out)
}

/// A title as words: lowercase letters and digits, one space between.
fn normal_title(title: &str) -> Option<String> {
    let mut out = String::with_capacity(title.len());
    for word in title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    (out.chars().count() >= MIN_TITLE).then_some(out)
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
mod tests {
    use super::*;
    use crate::model::{ItemKind, Source};
    use chrono::{TimeZone, Utc};

    fn item(id: &str, minute: u32) -> Item {
        let t = Utc.with_ymd_and_hms(2026, 2, 1, 10, minute, 0).unwrap();
        Item {
            id: id.into(),
            key: id.into(),
            kind: ItemKind::Article,
            source: Source::Api,
            category: None,
            title: id.into(),
            link: None,
            summary: None,
            content_html: None,
            published: t,
            updated: t,
            authors: vec![],
            tags: vec![],
            image: None,
            origin: None,
        }
    }

    #[test]
    fn newest_first_each_once_ties_by_id() {
        let a = vec![item("a3", 30), item("x", 20), item("a1", 10)];
        let b = vec![item("y", 30), item("x", 20), item("b0", 0)];
        let ids: Vec<String> = merge(&[a.clone(), b.clone()], 10)
            .into_iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(ids, ["y", "a3", "x", "a1", "b0"]);
        let two: Vec<String> = merge(&[a, b], 2).into_iter().map(|i| i.id).collect();
        assert_eq!(two, ["y", "a3"]);
        assert!(merge(&[vec![], vec![]], 5).is_empty());
    }

    fn external(id: &str, source: &str, minute: u32, link: &str, title: &str) -> Item {
        let mut it = item(id, minute);
        it.link = Some(link.into());
        it.title = title.into();
        it.origin = Some(crate::model::Origin {
            source: source.into(),
            upstream_id: id.into(),
            feed_title: Some(format!("{source} wire")),
            feed_url: format!("https://{source}.example/feed"),
            feed_id: None,
            dated: true,
            feed_link: None,
            categories: vec![],
            digest: String::new(),
            story_link: None,
            story_title: None,
            first_seen: None,
            page: false,
            also: vec![],
        });
        it
    }

    #[test]
    fn one_story_from_two_sources_is_kept_once_and_credits_both() {
        let a = vec![external(
            "a1",
            "agency",
            30,
            "https://www.news.example/story?utm_source=rss&id=7#top",
            "Flights resume in Khartoum",
        )];
        let b = vec![
            external(
                "b1",
                "partner",
                20,
                "http://news.example/story/?id=7",
                "Other words",
            ),
            external(
                "b2",
                "partner",
                10,
                "https://elsewhere.example/x",
                "FLIGHTS resume, in Khartoum!",
            ),
        ];
        let merged = merge(&[a, b], 10);
        assert_eq!(merged.len(), 1, "{merged:?}");
        // The earliest copy is the original; it credits the other source.
        assert_eq!(merged[0].id, "b2");
        let credits: Vec<&str> = merged[0]
            .origin
            .as_ref()
            .unwrap()
            .also
            .iter()
            .map(|c| c.feed_url.as_str())
            .collect();
        assert_eq!(credits, ["https://agency.example/feed"]);
    }

    #[test]
    fn a_copy_seen_later_never_replaces_the_one_readers_have() {
        let title = "Flights resume in Khartoum";
        let mut first = external("a1", "agency", 30, "https://n.example/s", title);
        // Published earlier, but stored an hour after the other was.
        let mut later = external("b1", "partner", 10, "https://p.example/s", title);
        let seen = first.published;
        first.origin.as_mut().unwrap().first_seen = Some(seen);
        later.origin.as_mut().unwrap().first_seen = Some(seen + chrono::Duration::hours(1));
        let merged = merge(&[vec![first.clone()], vec![later.clone()]], 10);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].id, "a1", "the copy seen first stays");
        // Seen in one round, the earliest published is the original.
        later.origin.as_mut().unwrap().first_seen = Some(seen + chrono::Duration::seconds(20));
        let merged = merge(&[vec![first], vec![later]], 10);
        assert_eq!(merged[0].id, "b1");
    }

    #[test]
    fn same_source_and_distant_titles_are_not_merged() {
        // The same source may repeat a title (a daily "Markets at the close").
        let a = vec![
            external(
                "a1",
                "agency",
                30,
                "https://n.example/1",
                "Markets at the close",
            ),
            external(
                "a2",
                "agency",
                20,
                "https://n.example/2",
                "Markets at the close",
            ),
        ];
        let mut old = external(
            "b1",
            "partner",
            10,
            "https://p.example/9",
            "Markets at the close",
        );
        old.published -= chrono::Duration::days(3);
        let merged = merge(&[a, vec![old]], 10);
        assert_eq!(merged.len(), 3);
    }

    #[test]
    fn canonical_links() {
        assert_eq!(
            canonical_link("https://www.Example.com/a/?utm_medium=x&b=2&fbclid=1#f").as_deref(),
            Some("example.com/a?b=2")
        );
        assert_eq!(
            canonical_link("http://example.com:8080/").as_deref(),
            Some("example.com:8080")
        );
        assert_eq!(canonical_link("not a url"), None);
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            untracked(url("https://a.example/n?utm_source=home&id=2#top")).as_str(),
            "https://a.example/n?id=2"
        );
        assert_eq!(
            untracked(url("https://a.example/n?utm_source=home")).as_str(),
            "https://a.example/n"
        );
    }
}
