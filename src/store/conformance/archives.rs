//! RFC 5005 archives: every entry in exactly one page, and a subscription
//! document that holds the newest by date.

use super::*;
use crate::store::{Ownership, Store};

/// A served feed's RFC 5005 documents, oldest page first, then the window:
/// the keys each holds, and the tombstones (ids) of each page.
async fn archive_walk(
    store: &dyn Store,
    feed: &FeedId,
    members: &[FeedId],
    size: usize,
) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let window = store.window(feed, members, size).await.unwrap();
    // The newest `size` by date are all in the subscription document, with
    // at most `size` more that no page holds yet.
    assert!(
        window.items.len() <= 2 * size,
        "{feed}: {}",
        window.items.len()
    );
    let mut newest = Vec::new();
    for m in members {
        newest.extend(store.list(m, None, size).await.unwrap());
    }
    newest.sort_by(|a, b| (b.published, &b.id).cmp(&(a.published, &a.id)));
    newest.dedup_by(|a, b| a.id == b.id);
    let shown: BTreeSet<&str> = window.items.iter().map(|i| i.id.as_str()).collect();
    for it in newest.iter().take(size) {
        assert!(
            shown.contains(it.id.as_str()),
            "{feed}: {} is among the newest",
            it.key
        );
    }
    let mut docs = Vec::new();
    let mut stones = Vec::new();
    for n in 1..=window.pages {
        let page = store.archive_page(feed, members, n).await.unwrap();
        let page = page.unwrap_or_else(|| panic!("{feed}: page {n} of {}", window.pages));
        docs.push(page.items.into_iter().map(|i| i.key).collect());
        stones.push(page.tombstones.into_iter().map(|t| t.id).collect());
    }
    let after = window.pages + 1;
    assert!(
        store
            .archive_page(feed, members, after)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .archive_page(feed, members, 0)
            .await
            .unwrap()
            .is_none()
    );
    docs.push(window.items.into_iter().map(|i| i.key).collect());
    (docs, stones)
}

/// Every entry once among the closed pages, and every entry reached from
/// the subscription document (the last of `docs`), which may also hold some
/// of the newest page's.
fn each_once(feed: &str, docs: &[Vec<String>], expected: &BTreeSet<String>) {
    let (window, pages) = docs.split_last().expect("a window");
    let paged: Vec<&String> = pages.iter().flatten().collect();
    let set: BTreeSet<String> = paged.iter().map(|k| (*k).clone()).collect();
    assert_eq!(
        paged.len(),
        set.len(),
        "{feed}: an entry in two pages: {docs:?}"
    );
    let reached: BTreeSet<String> = set.into_iter().chain(window.iter().cloned()).collect();
    assert_eq!(&reached, expected, "{feed}");
}

/// RFC 5005 archives: a feed's closed pages and its window hold every entry
/// it ever carried exactly once, whatever the order of dates and writes;
/// closed pages never move as more comes in, also when several callers
/// close pages at once; an edited entry keeps its place; a withdrawn one
/// leaves its tombstone in its page; a timeline's log takes in its members'.
pub async fn archive_pages_hold_each_entry_once(store: &dyn Store) {
    let world = world();
    let own = [world.clone()];
    let mut expected: BTreeSet<String> = BTreeSet::new();
    let mut tech_keys: BTreeSet<String> = BTreeSet::new();
    let mut k = 0i64;
    // `n` more items, every third in tech, dated out of order.
    fn more(
        k: &mut i64,
        n: usize,
        world: &mut BTreeSet<String>,
        tech: &mut BTreeSet<String>,
    ) -> Vec<Item> {
        let batch: Vec<Item> = (0..n)
            .map(|_| {
                *k += 1;
                let category = if *k % 3 == 0 { "tech" } else { "world" };
                item(&format!("a{k:03}"), category, (*k * 37) % 101)
            })
            .collect();
        for it in &batch {
            match it.category.as_deref() {
                Some("world") => world.insert(it.key.clone()),
                _ => tech.insert(it.key.clone()),
            };
        }
        batch
    }
    let mut add =
        |n: usize, e: &mut BTreeSet<String>, t: &mut BTreeSet<String>| more(&mut k, n, e, t);
    for n in [1, 5, 2, 7] {
        let batch = add(n, &mut expected, &mut tech_keys);
        store.upsert(&batch, Ownership::Take).await.unwrap();
    }
    // Size 4: pages of 2, a window of 3 or 4.
    let (docs, _) = archive_walk(store, &world, &own, 4).await;
    each_once("world", &docs, &expected);
    assert!(docs.len() >= 3, "{docs:?}");
    assert!((4..=8).contains(&docs.last().unwrap().len()), "{docs:?}");
    let closed = docs[..docs.len() - 1].to_vec();
    assert!(closed.iter().all(|p| p.len() == 2), "{closed:?}");

    // More, and two callers closing pages at once: the old pages stay as
    // they were, every entry still once.
    let batch = add(9, &mut expected, &mut tech_keys);
    store.upsert(&batch, Ownership::Take).await.unwrap();
    let (a, b) = tokio::join!(store.window(&world, &own, 4), store.window(&world, &own, 4));
    assert_eq!(a.unwrap(), b.unwrap());
    let (docs, _) = archive_walk(store, &world, &own, 4).await;
    each_once("world", &docs, &expected);
    assert_eq!(&docs[..closed.len()], &closed[..]);

    // An edit keeps the entry in its page.
    let first = closed[0][0].clone();
    let mut edited = store
        .get(&format!(
            "tag:conformance.example,2026-02-01:article/{first}"
        ))
        .await
        .unwrap()
        .unwrap();
    edited.title = "Edited".into();
    store
        .upsert(&[edited.clone()], Ownership::Take)
        .await
        .unwrap();
    let (docs, _) = archive_walk(store, &world, &own, 4).await;
    each_once("world", &docs, &expected);
    assert!(docs[0].contains(&first));
    let page = store.archive_page(&world, &own, 1).await.unwrap().unwrap();
    assert!(page.items.iter().any(|i| i.title == "Edited"));

    // A withdrawal: its tombstone in its page, the entry nowhere.
    let gone = closed[1][1].clone();
    let gone_id = format!("tag:conformance.example,2026-02-01:article/{gone}");
    store.delete(&gone_id, Utc::now()).await.unwrap().unwrap();
    expected.remove(&gone);
    let (docs, stones) = archive_walk(store, &world, &own, 4).await;
    each_once("world", &docs, &expected);
    assert_eq!(stones[1], vec![gone_id.clone()]);
    assert!(
        stones
            .iter()
            .enumerate()
            .all(|(i, s)| i == 1 || s.is_empty())
    );

    // A timeline of world and tech: each of their entries once, the
    // withdrawn one's tombstone in one page of its own log.
    let desk = FeedId::Timeline("desk".into());
    let members = [world.clone(), tech()];
    let both: BTreeSet<String> = expected.union(&tech_keys).cloned().collect();
    let (docs, stones) = archive_walk(store, &desk, &members, 6).await;
    each_once("desk", &docs, &both);
    assert!(docs.len() >= 3, "{docs:?}");
    assert_eq!(
        stones.iter().flatten().filter(|s| **s == gone_id).count(),
        1
    );
    // Its pages stay put as its members grow.
    let closed = docs[..docs.len() - 1].to_vec();
    let batch = add(8, &mut expected, &mut tech_keys);
    store.upsert(&batch, Ownership::Take).await.unwrap();
    let both: BTreeSet<String> = expected.union(&tech_keys).cloned().collect();
    let (docs, _) = archive_walk(store, &desk, &members, 6).await;
    each_once("desk", &docs, &both);
    assert_eq!(&docs[..closed.len()], &closed[..]);
    // A timeline never shares its log with a category of the same name.
    let (docs, _) = archive_walk(store, &FeedId::named("desk"), &[FeedId::named("desk")], 6).await;
    assert_eq!(docs, vec![Vec::<String>::new()]);
}

/// A kept page's bytes are the first kept; compressed bodies are added to
/// them once, and only when made from the same bytes.
pub async fn kept_pages_keep_their_first_bytes_and_gain_compression_once(store: &dyn Store) {
    use crate::store::{ArchiveDocument, KeptDocument};
    let feed = world();
    let modified = Some(at(0));
    let keep = |body: &'static [u8], compressed: Option<(&'static [u8], &'static [u8])>| {
        vec![KeptDocument {
            format: "atom",
            body,
            modified,
            compressed,
        }]
    };
    assert_eq!(
        store.archive_document(&feed, 1, "atom").await.unwrap(),
        None
    );
    store
        .keep_archive_documents(&feed, 1, &keep(b"first", None))
        .await
        .unwrap();
    let plain = ArchiveDocument {
        body: b"first".to_vec(),
        modified,
        compressed: None,
    };
    assert_eq!(
        store.archive_document(&feed, 1, "atom").await.unwrap(),
        Some(plain.clone())
    );
    // Another body compressed (another instance's render): nothing changes.
    store
        .keep_archive_documents(&feed, 1, &keep(b"second", Some((b"gz2", b"br2"))))
        .await
        .unwrap();
    assert_eq!(
        store.archive_document(&feed, 1, "atom").await.unwrap(),
        Some(plain)
    );
    // The kept body compressed: kept with it, once.
    store
        .keep_archive_documents(&feed, 1, &keep(b"first", Some((b"gz1", b"br1"))))
        .await
        .unwrap();
    store
        .keep_archive_documents(&feed, 1, &keep(b"first", Some((b"gz3", b"br3"))))
        .await
        .unwrap();
    let kept = store
        .archive_document(&feed, 1, "atom")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.body, b"first");
    assert_eq!(kept.compressed, Some((b"gz1".to_vec(), b"br1".to_vec())));
    // Other formats and pages are apart.
    assert_eq!(store.archive_document(&feed, 1, "rss").await.unwrap(), None);
    assert_eq!(
        store.archive_document(&feed, 2, "atom").await.unwrap(),
        None
    );
}
