//! Feeds into one timeline: newest first, each item once, ties broken by id so
//! every instance orders alike (the store lists each feed in that order already).

use crate::model::{Item, Tombstone};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

/// Merges lists that are each newest first (by published, then id, both
/// descending) into one of at most `limit` items, an item in several lists once.
/// A heap over the lists' heads: the work follows `limit`, not the lists' sum.
pub fn merge(lists: Vec<Vec<Item>>, limit: usize) -> Vec<Item> {
    let mut lists: Vec<std::vec::IntoIter<Item>> = lists.into_iter().map(Vec::into_iter).collect();
    let mut heads = BinaryHeap::new();
    let mut front: Vec<Option<Item>> = Vec::with_capacity(lists.len());
    for (i, list) in lists.iter_mut().enumerate() {
        let head = list.next();
        if let Some(it) = &head {
            heads.push((it.published, it.id.clone(), Reverse(i)));
        }
        front.push(head);
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(limit);
    while out.len() < limit {
        let Some((_, _, Reverse(i))) = heads.pop() else {
            break;
        };
        let item = front[i].take().expect("a head in the heap is in front");
        if let Some(next) = lists[i].next() {
            heads.push((next.published, next.id.clone(), Reverse(i)));
            front[i] = Some(next);
        }
        if seen.insert(item.id.clone()) {
            out.push(item);
        }
    }
    out
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
        let ids: Vec<String> = merge(vec![a.clone(), b.clone()], 10)
            .into_iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(ids, ["y", "a3", "x", "a1", "b0"]);
        let two: Vec<String> = merge(vec![a, b], 2).into_iter().map(|i| i.id).collect();
        assert_eq!(two, ["y", "a3"]);
        assert!(merge(vec![vec![], vec![]], 5).is_empty());
    }
}
