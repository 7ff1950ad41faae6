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
    let article = |key: &str| format!("tag:conformance.example,2026-02-01:article/{key}");
    let mut edited = store.get(&article(&first)).await.unwrap().unwrap();
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

    // An edit that takes the entry out of the feed (into a category no
    // member is) takes it out of its closed page too, with no tombstone:
    // a page shows what is still in the feed, as its window does.
    let moved = closed[0][1].clone();
    let mut away = store.get(&article(&moved)).await.unwrap().unwrap();
    away.category = Some("sports".into());
    store.upsert(&[away], Ownership::Take).await.unwrap();
    expected.remove(&moved);
    let page = store.archive_page(&world, &own, 1).await.unwrap().unwrap();
    let keys: Vec<&str> = page.items.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, vec![first.as_str()], "{moved} left world");
    assert!(page.tombstones.is_empty());
    let (docs, _) = archive_walk(store, &world, &own, 4).await;
    each_once("world", &docs, &expected);

    // A withdrawal: its tombstone in its page, the entry nowhere.
    let gone = closed[1][1].clone();
    let gone_id = article(&gone);
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

/// A closed page of `world` (size 4, pages of 2) holding `k01`..`k08`
/// dated in order: page 1 holds `k01` and `k02`. Its edition.
async fn closed_pages(store: &dyn Store) -> i64 {
    let batch: Vec<Item> = (1..=8)
        .map(|k| item(&format!("k{k:02}"), "world", k))
        .collect();
    store.upsert(&batch, Ownership::Take).await.unwrap();
    let own = [world()];
    let window = store.window(&world(), &own, 4).await.unwrap();
    assert!(window.pages >= 2, "{}", window.pages);
    let page = store
        .archive_page(&world(), &own, 1)
        .await
        .unwrap()
        .unwrap();
    let keys: Vec<&str> = page.items.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["k02", "k01"]);
    page.edition
}

/// `body` gzipped, its header stamped with `mtime`: two gzips of the same
/// bytes that differ.
fn gzip(body: &[u8], mtime: u32) -> Vec<u8> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(mtime)
        .write(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, body).unwrap();
    enc.finish().unwrap()
}

/// One format's document to keep.
fn kept<'a>(
    body: &'a [u8],
    compressed: Option<(&'a [u8], &'a [u8])>,
) -> Vec<crate::store::KeptDocument<'a>> {
    vec![crate::store::KeptDocument {
        format: "atom",
        body,
        modified: Some(at(0)),
        compressed,
    }]
}

/// A kept page's bytes are the first kept; compressed bodies are added to
/// them once, and only when made from the same bytes.
pub async fn kept_pages_keep_their_first_bytes_and_gain_compression_once(store: &dyn Store) {
    use crate::store::ArchiveDocument;
    let feed = world();
    // No page, nothing kept.
    assert!(
        !store
            .keep_archive_documents(&feed, 1, 0, &kept(b"early", None))
            .await
            .unwrap()
    );
    let edition = closed_pages(store).await;
    assert_eq!(
        store.archive_document(&feed, 1, "atom").await.unwrap(),
        None
    );
    assert!(
        store
            .keep_archive_documents(&feed, 1, edition, &kept(b"first", None))
            .await
            .unwrap()
    );
    let plain = ArchiveDocument {
        body: b"first".to_vec(),
        modified: Some(at(0)),
        compressed: None,
        edition,
    };
    assert_eq!(
        store.archive_document(&feed, 1, "atom").await.unwrap(),
        Some(plain.clone())
    );
    // Another body compressed (another instance's render): nothing changes.
    let gz2 = gzip(b"second", 0);
    store
        .keep_archive_documents(&feed, 1, edition, &kept(b"second", Some((&gz2, b"br2"))))
        .await
        .unwrap();
    assert_eq!(
        store.archive_document(&feed, 1, "atom").await.unwrap(),
        Some(plain)
    );
    // The kept body compressed: kept with it (its bytes then kept as its
    // gzip holds them), once: a later gzip of the same bytes (another
    // stamp) changes nothing.
    let (gz1, gz3) = (gzip(b"first", 0), gzip(b"first", 3));
    assert_ne!(gz1, gz3);
    for (gz, br) in [(&gz1, b"br1"), (&gz3, b"br3")] {
        store
            .keep_archive_documents(&feed, 1, edition, &kept(b"first", Some((gz, br))))
            .await
            .unwrap();
    }
    let kept_now = store
        .archive_document(&feed, 1, "atom")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept_now.body, b"first");
    assert_eq!(kept_now.compressed, Some((gz1, b"br1".to_vec())));
    // A format kept compressed from the first: its bytes back whole.
    let page = b"<feed>a page</feed>".repeat(1000);
    let gz = gzip(&page, 0);
    let rss = crate::store::KeptDocument {
        format: "rss",
        body: &page,
        modified: None,
        compressed: Some((&gz, b"br")),
    };
    assert!(
        store
            .keep_archive_documents(&feed, 1, edition, &[rss])
            .await
            .unwrap()
    );
    let rss = store
        .archive_document(&feed, 1, "rss")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rss.body, page);
    assert_eq!(rss.compressed, Some((gz, b"br".to_vec())));
    // Other formats and pages are apart.
    assert_eq!(
        store.archive_document(&feed, 1, "json").await.unwrap(),
        None
    );
    assert_eq!(
        store.archive_document(&feed, 2, "atom").await.unwrap(),
        None
    );
}

/// A page's documents made from rows read before a withdrawal or a revival
/// of one of its items are never kept after it, however the two interleave:
/// the kept page would show the withdrawn item (or the revived one's
/// tombstone) for good. Other pages keep their editions.
pub async fn a_page_read_before_a_withdrawal_is_not_kept_after_it(store: &dyn Store) {
    let feed = world();
    let own = [world()];
    let first = closed_pages(store).await;
    let second = store
        .archive_page(&feed, &own, 2)
        .await
        .unwrap()
        .unwrap()
        .edition;
    let id = item("k01", "world", 1).id;

    // Read, withdrawn, then kept: refused, and the next read is a new edition.
    store.delete(&id, Utc::now()).await.unwrap().unwrap();
    assert!(
        !store
            .keep_archive_documents(&feed, 1, first, &kept(b"with k01", None))
            .await
            .unwrap()
    );
    assert_eq!(
        store.archive_document(&feed, 1, "atom").await.unwrap(),
        None
    );
    let page = store.archive_page(&feed, &own, 1).await.unwrap().unwrap();
    assert_ne!(page.edition, first);
    assert_eq!(page.tombstones.len(), 1);
    assert!(
        store
            .keep_archive_documents(&feed, 1, page.edition, &kept(b"k01 gone", None))
            .await
            .unwrap()
    );
    // Page 2 was not touched: what was read of it before is still its.
    assert!(
        store
            .keep_archive_documents(&feed, 2, second, &kept(b"page 2", None))
            .await
            .unwrap()
    );

    // A kept document read, then the item back, then its compressed bodies
    // kept: refused, and the document that showed the tombstone is gone.
    let read = store
        .archive_document(&feed, 1, "atom")
        .await
        .unwrap()
        .unwrap();
    put(store, &item("k01", "world", 1)).await;
    assert!(
        !store
            .keep_archive_documents(
                &feed,
                1,
                read.edition,
                &kept(&read.body, Some((b"gz", b"br")))
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.archive_document(&feed, 1, "atom").await.unwrap(),
        None
    );
    assert!(
        store
            .archive_document(&feed, 2, "atom")
            .await
            .unwrap()
            .is_some()
    );

    // Both at once, again and again: whichever commits first, nothing read
    // before the withdrawal (or revival) is kept after it.
    for round in 0..20 {
        let page = store.archive_page(&feed, &own, 1).await.unwrap().unwrap();
        let flip = async {
            if round % 2 == 0 {
                store.delete(&id, Utc::now()).await.unwrap().unwrap();
            } else {
                put(store, &item("k01", "world", 1)).await;
            }
        };
        let before = kept(b"before", None);
        let keep = store.keep_archive_documents(&feed, 1, page.edition, &before);
        let ((), keep) = tokio::join!(flip, keep);
        keep.unwrap();
        assert_eq!(
            store.archive_document(&feed, 1, "atom").await.unwrap(),
            None,
            "round {round}"
        );
    }
}

/// Kept documents are listed in (feed, page, format) order a few at a time
/// (what `newswire migrate` reads), and written into a store as another
/// kept them: where their page is closed and their format not kept yet.
pub async fn kept_documents_are_listed_in_order_and_carried_once(store: &dyn Store) {
    let feed = world();
    let first = closed_pages(store).await;
    let second = store
        .archive_page(&feed, &[world()], 2)
        .await
        .unwrap()
        .unwrap()
        .edition;
    fn doc<'a>(
        format: &'a str,
        body: &'a [u8],
        gz: Option<&'a [u8]>,
    ) -> crate::store::KeptDocument<'a> {
        crate::store::KeptDocument {
            format,
            body,
            modified: Some(at(3)),
            compressed: gz.map(|gz| (gz, &b"br"[..])),
        }
    }
    // Two kept compressed (so compressed only), one not compressed yet.
    let (rss_gz, atom_gz) = (gzip(b"page one, rss", 0), gzip(b"page one, atom", 0));
    let ours = [
        doc("rss", b"page one, rss", Some(&rss_gz)),
        doc("atom", b"page one, atom", Some(&atom_gz)),
    ];
    assert!(
        store
            .keep_archive_documents(&feed, 1, first, &ours)
            .await
            .unwrap()
    );
    let json = [doc("json", b"page two, json", None)];
    assert!(
        store
            .keep_archive_documents(&feed, 2, second, &json)
            .await
            .unwrap()
    );
    let mut after = None;
    let mut listed = Vec::new();
    loop {
        let rows = store.kept_documents(after.as_ref(), 1).await.unwrap();
        let Some(last) = rows.last() else { break };
        assert_eq!(rows.len(), 1);
        after = Some(last.at.clone());
        listed.extend(rows);
    }
    assert_eq!(
        listed
            .iter()
            .map(|r| (r.at.page, r.at.format.as_str(), r.body.as_slice()))
            .collect::<Vec<_>>(),
        [
            (1, "atom", &b"page one, atom"[..]),
            (1, "rss", &b"page one, rss"[..]),
            (2, "json", &b"page two, json"[..]),
        ]
    );
    assert_eq!(
        (listed[0].modified, listed[0].compressed.clone()),
        (Some(at(3)), Some((atom_gz, b"br".to_vec())))
    );
    assert_eq!(listed[2].compressed, None);
    assert_eq!(store.kept_documents(None, 10).await.unwrap(), listed);
    // Carried into a store that has them: nothing changes.
    assert_eq!(store.import_kept_documents(&listed).await.unwrap(), 0);
    // A format not kept yet is written; a page not closed here is not.
    let mut new = listed[2].clone();
    new.at.page = 1;
    let mut nowhere = listed[2].clone();
    nowhere.at.page = 99;
    assert_eq!(
        store.import_kept_documents(&[new, nowhere]).await.unwrap(),
        1
    );
    let carried = store.archive_document(&feed, 1, "json").await.unwrap();
    assert_eq!(carried.map(|d| d.body), Some(b"page two, json".to_vec()));
    // One carried compressed: its bytes back from its gzip.
    let mut rss = listed[1].clone();
    rss.at.page = 2;
    assert_eq!(store.import_kept_documents(&[rss]).await.unwrap(), 1);
    let carried = store
        .archive_document(&feed, 2, "rss")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(carried.body, b"page one, rss");
    assert_eq!(
        store.archive_document(&feed, 99, "json").await.unwrap(),
        None
    );
}
