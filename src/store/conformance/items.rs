//! Cases of items: upserts, feeds, withdrawals, sync, export, races, Last-Modified.

use super::*;
use crate::store::{Outcome, Ownership, Store};

/// Create, then an identical upsert changes nothing: no outcome, feed or version.
pub async fn identical_upserts_change_nothing(store: &dyn Store) {
    let a = item("a", "world", 0);
    let w = put(store, &a).await;
    assert_eq!(w.outcomes, [Outcome::Created]);
    assert_eq!(w.changed, feeds(&["all", "world"]));
    let v1 = store.versions().await.unwrap();
    let w = put(store, &a).await;
    assert_eq!(w.outcomes, [Outcome::Unchanged]);
    assert!(w.changed.is_empty());
    assert_eq!(
        store.versions().await.unwrap(),
        v1,
        "an unchanged upsert bumps no version"
    );
    assert_eq!(
        store.get(&a.id).await.unwrap().as_ref(),
        Some(&a),
        "items round-trip exactly"
    );
}

/// Items handed over (`upsert_encoded`: the poller's and the importer's) are
/// written exactly as a borrowed batch is, whichever way the next write comes.
pub async fn encoded_upserts_write_as_borrowed_ones(store: &dyn Store) {
    let (a, b) = (item("a", "world", 0), item("b", "sport", 1));
    let take =
        |items: Vec<Item>| store.upsert_encoded(crate::store::Encoded::new(items), Ownership::Take);
    let w = take(vec![a.clone(), b.clone()]).await.unwrap();
    assert_eq!(w.outcomes, [Outcome::Created, Outcome::Created]);
    assert_eq!(w.changed, feeds(&["all", "sport", "world"]));
    let w = store
        .upsert(&[a.clone(), b.clone()], Ownership::Take)
        .await
        .unwrap();
    assert_eq!(w.outcomes, [Outcome::Unchanged, Outcome::Unchanged]);
    let mut corrected = a.clone();
    corrected.title = "Title a, corrected".into();
    let w = take(vec![corrected.clone(), b.clone()]).await.unwrap();
    assert_eq!(w.outcomes, [Outcome::Updated, Outcome::Unchanged]);
    assert_eq!(w.changed, feeds(&["all", "world"]));
    assert_eq!(store.get(&a.id).await.unwrap(), Some(corrected));
    assert_eq!(store.get(&b.id).await.unwrap(), Some(b));
}

/// Moving an item to another category changes both categories' feeds.
pub async fn moving_an_item_changes_both_feeds(store: &dyn Store) {
    let a = item("a", "world", 0);
    put(store, &a).await;
    let v1 = store.versions().await.unwrap();
    let mut moved = a.clone();
    moved.category = Some("tech".into());
    moved.title = "Corrected".into();
    let w = put(store, &moved).await;
    assert_eq!(w.outcomes, [Outcome::Updated]);
    assert_eq!(w.changed, feeds(&["all", "tech", "world"]));
    assert!(store.list(&world(), None, 10).await.unwrap().is_empty());
    assert_eq!(
        store.list(&tech(), None, 10).await.unwrap(),
        [moved.clone()]
    );
    let v2 = store.versions().await.unwrap();
    assert!(v2[&tech()].version > v1.get(&tech()).map_or(0, |s| s.version));
    assert!(v2[&world()].version > v1[&world()].version);
}

/// Newest first, ties broken by id descending; the limit; the kind filter.
pub async fn feeds_list_newest_first_with_limit_and_kind(store: &dyn Store) {
    let tech = tech();
    let a = item("a", "tech", 0);
    let b = item("b", "tech", 5);
    let c = item("c", "tech", 5);
    let mut d = item("d", "tech", -5);
    d.kind = ItemKind::Breaking;
    store
        .upsert(&[a, b.clone(), c.clone(), d.clone()], Ownership::Take)
        .await
        .unwrap();
    let keys = |items: Vec<Item>| items.into_iter().map(|i| i.key).collect::<Vec<_>>();
    assert_eq!(
        keys(store.list(&tech, None, 10).await.unwrap()),
        ["c", "b", "a", "d"]
    );
    assert_eq!(store.list(&tech, None, 2).await.unwrap().len(), 2);
    assert_eq!(
        keys(
            store
                .list(&tech, Some(ItemKind::Article), 10)
                .await
                .unwrap()
        ),
        ["c", "b", "a"]
    );
    assert_eq!(
        keys(store.list(&FeedId::breaking(), None, 10).await.unwrap()),
        ["d"]
    );
}

/// A withdrawal leaves a tombstone in every feed the item was in; withdrawing
/// twice is `None`; creating the item again removes its tombstones.
pub async fn withdrawals_leave_tombstones_until_recreated(store: &dyn Store) {
    let tech = tech();
    let b = item("b", "tech", 5);
    put(store, &b).await;
    let at = DateTime::parse_from_rfc3339("2026-02-02T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let w = store.delete(&b.id, at).await.unwrap().expect("b exists");
    assert_eq!(w.changed, feeds(&["all", "tech"]));
    assert!(store.delete(&b.id, at).await.unwrap().is_none());
    assert!(store.get(&b.id).await.unwrap().is_none());
    let stones = store.tombstones(&tech, 10).await.unwrap();
    assert_eq!(stones.len(), 1);
    assert_eq!(
        (stones[0].id.as_str(), stones[0].deleted),
        (b.id.as_str(), at)
    );
    assert_eq!(stones[0].link, b.link);
    put(store, &b).await;
    assert!(store.tombstones(&tech, 10).await.unwrap().is_empty());
}

/// An item withdrawn from one feed and created again in another ends its
/// tombstone in the first: the write changes that feed too (its document no
/// longer shows the tombstone), and moves each feed's version exactly once.
pub async fn a_withdrawn_item_back_elsewhere_changes_its_old_feed(store: &dyn Store) {
    let (tech, world, all) = (tech(), world(), FeedId::all());
    let c = item("c", "tech", 5);
    put(store, &c).await;
    let at = DateTime::parse_from_rfc3339("2026-02-02T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    store.delete(&c.id, at).await.unwrap().expect("c exists");
    assert_eq!(store.tombstones(&tech, 10).await.unwrap().len(), 1);
    let before = store.versions().await.unwrap();
    let back = item("c", "world", 6);
    let w = put(store, &back).await;
    assert_eq!(w.outcomes, [Outcome::Created]);
    assert_eq!(w.changed, feeds(&["all", "tech", "world"]));
    assert!(store.tombstones(&tech, 10).await.unwrap().is_empty());
    assert!(store.tombstones(&all, 10).await.unwrap().is_empty());
    let after = store.versions().await.unwrap();
    for feed in [&all, &tech, &world] {
        let was = before.get(feed).map_or(0, |s| s.version);
        assert_eq!(after[feed].version, was + 1, "{feed:?} moved once");
    }
}

/// Sync of a scope upserts, withdraws what is gone, keeps the items of sources
/// that failed to load, and leaves items another source took over.
pub async fn file_sync_withdraws_keeps_failed_files_and_skips_others(store: &dyn Store) {
    let mut f1 = item("f1", "world", 1);
    f1.source = Source::File("articles/f1.md".into());
    let mut f2 = item("f2", "world", 2);
    f2.source = Source::File("articles/f2.md".into());
    let w = store
        .sync("file:", &[f1.clone(), f2.clone()], &[])
        .await
        .unwrap();
    assert_eq!(w.outcomes, [Outcome::Created, Outcome::Created]);
    let w = store
        .sync("file:", &[f1.clone(), f2.clone()], &[])
        .await
        .unwrap();
    assert_eq!(w.outcomes, [Outcome::Unchanged, Outcome::Unchanged]);
    assert!(
        w.changed.is_empty(),
        "re-syncing the same files changes nothing"
    );
    // f2's file fails to parse: it stays.
    let w = store
        .sync("file:", std::slice::from_ref(&f1), &[f2.source.clone()])
        .await
        .unwrap();
    assert!(w.changed.is_empty());
    assert!(store.get(&f2.id).await.unwrap().is_some());
    // f2's file is removed: it is withdrawn with a tombstone.
    let w = store
        .sync("file:", std::slice::from_ref(&f1), &[])
        .await
        .unwrap();
    assert_eq!(w.outcomes, [Outcome::Unchanged, Outcome::Deleted]);
    assert!(store.get(&f2.id).await.unwrap().is_none());
    assert_eq!(store.tombstones(&world(), 10).await.unwrap()[0].id, f2.id);
    // The API takes f1 over; a later file sync neither overwrites nor withdraws it.
    let mut corrected = f1.clone();
    corrected.source = Source::Api;
    corrected.title = "Corrected by the CMS".into();
    put(store, &corrected).await;
    let w = store
        .sync("file:", std::slice::from_ref(&f1), &[])
        .await
        .unwrap();
    assert_eq!(w.outcomes, [Outcome::Skipped]);
    let w = store.sync("file:", &[], &[]).await.unwrap();
    assert!(w.outcomes.is_empty());
    assert_eq!(
        store.get(&f1.id).await.unwrap().unwrap().title,
        "Corrected by the CMS"
    );
}

/// Exporting a store and importing it into itself changes nothing.
pub async fn export_then_import_changes_nothing(store: &dyn Store) {
    let items: Vec<Item> = (0..5).map(|n| item(&format!("x{n}"), "world", n)).collect();
    store.upsert(&items, Ownership::Take).await.unwrap();
    store
        .delete(&items[0].id, items[0].published)
        .await
        .unwrap();
    let export = store.export().await.unwrap();
    assert_eq!(export.items.len(), 4);
    assert!(!export.tombstones.is_empty());
    let w = store.import(&export).await.unwrap();
    assert!(
        w.changed.is_empty(),
        "importing what is there changes nothing: {w:?}"
    );
}

/// Concurrent upserts of the same new item: exactly one creates it, the others
/// find it unchanged, and the feed lists it once.
pub async fn concurrent_upserts_of_a_new_id_create_it_once(store: &dyn Store) {
    let e = item("e", "world", 30);
    let writes: Vec<_> = (0..8)
        .map(|_| store.upsert(std::slice::from_ref(&e), Ownership::Take))
        .collect();
    let results = futures_util::future::join_all(writes).await;
    let outcomes: Vec<Outcome> = results
        .into_iter()
        .map(|r| r.unwrap().outcomes[0])
        .collect();
    assert_eq!(
        outcomes.iter().filter(|&&o| o == Outcome::Created).count(),
        1,
        "exactly one created: {outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|&o| matches!(o, Outcome::Created | Outcome::Unchanged))
    );
    let in_world: Vec<_> = store
        .list(&world(), None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.key == "e")
        .collect();
    assert_eq!(in_world.len(), 1);
}

/// Batches that create the same new ids at once (a poll of one source by two
/// instances, in any order) create each id once and never deadlock.
pub async fn concurrent_batches_of_new_ids_create_each_once(store: &dyn Store) {
    let items: Vec<Item> = (0..6).map(|n| item(&format!("b{n}"), "world", n)).collect();
    let writes: Vec<_> = (0..8)
        .map(|k| {
            // Every batch in its own order, some with an id twice.
            let mut batch = items.clone();
            batch.rotate_left(k % items.len());
            if k % 2 == 0 {
                batch.push(items[k % items.len()].clone());
            }
            batch
        })
        .collect();
    let results =
        futures_util::future::join_all(writes.iter().map(|b| store.upsert(b, Ownership::Take)))
            .await;
    let mut created = std::collections::HashMap::new();
    for (batch, result) in writes.iter().zip(results) {
        let written = result.unwrap();
        assert_eq!(written.outcomes.len(), batch.len());
        for (it, outcome) in batch.iter().zip(written.outcomes) {
            assert!(
                matches!(outcome, Outcome::Created | Outcome::Unchanged),
                "{outcome:?}"
            );
            if outcome == Outcome::Created {
                *created.entry(it.id.clone()).or_insert(0) += 1;
            }
        }
    }
    assert_eq!(created.len(), items.len(), "{created:?}");
    assert!(created.values().all(|&n| n == 1), "{created:?}");
    let listed = store.list(&world(), None, 100).await.unwrap();
    assert_eq!(listed.len(), items.len());
}

/// Each feed keeps its newest [`crate::store::TOMBSTONES_KEPT`] tombstones.
pub async fn tombstones_are_capped_per_feed(store: &dyn Store) {
    let many: Vec<Item> = (0..(crate::store::TOMBSTONES_KEPT + 5))
        .map(|n| item(&format!("gone{n}"), "sports", n as i64))
        .collect();
    store.upsert(&many, Ownership::Take).await.unwrap();
    for it in &many {
        store.delete(&it.id, it.published).await.unwrap();
    }
    let sports = store
        .tombstones(&FeedId::named("sports"), 1000)
        .await
        .unwrap();
    assert_eq!(sports.len(), crate::store::TOMBSTONES_KEPT);
    assert_eq!(
        sports[0].id,
        many.last().unwrap().id,
        "newest tombstone first"
    );
}

/// A bulk load ([`Ownership::Refresh`]) of the same content with another
/// `updated` is unchanged; other content replaces the item.
pub async fn refresh_keeps_the_same_content_unchanged(store: &dyn Store) {
    let a = item("r", "world", 0);
    put(store, &a).await;
    let mut again = a.clone();
    again.updated += Duration::hours(1);
    let w = store
        .upsert(std::slice::from_ref(&again), Ownership::Refresh)
        .await
        .unwrap();
    assert_eq!(w.outcomes, [Outcome::Unchanged]);
    assert_eq!(store.get(&a.id).await.unwrap().unwrap().updated, a.updated);
    again.title = "Changed".into();
    let w = store
        .upsert(std::slice::from_ref(&again), Ownership::Refresh)
        .await
        .unwrap();
    assert_eq!(w.outcomes, [Outcome::Updated]);
    assert_eq!(store.get(&a.id).await.unwrap().unwrap().title, "Changed");
}

/// Of concurrent creates ([`Ownership::Create`]) of one id with different content,
/// exactly one is `Created` and every other a `Conflict`; the winner's content is
/// what is stored, and creating it again is `Unchanged`.
pub async fn concurrent_creates_make_exactly_one(store: &dyn Store) {
    const N: usize = 8;
    let versions: Vec<Item> = (0..N)
        .map(|n| {
            let mut it = item("race", "world", 0);
            it.title = format!("Contender {n}");
            it
        })
        .collect();
    let results = futures_util::future::join_all(
        versions
            .iter()
            .map(|it| store.upsert(std::slice::from_ref(it), Ownership::Create)),
    )
    .await;
    let outcomes: Vec<Outcome> = results
        .into_iter()
        .map(|r| r.unwrap().outcomes[0])
        .collect();
    let created: Vec<usize> = (0..N)
        .filter(|&i| outcomes[i] == Outcome::Created)
        .collect();
    assert_eq!(created.len(), 1, "exactly one create wins: {outcomes:?}");
    assert_eq!(
        outcomes.iter().filter(|&&o| o == Outcome::Conflict).count(),
        N - 1,
        "every other create conflicts: {outcomes:?}"
    );
    let winner = &versions[created[0]];
    assert_eq!(store.get(&winner.id).await.unwrap().as_ref(), Some(winner));
    let mut again = winner.clone();
    again.updated += Duration::minutes(5);
    let w = store.upsert(&[again], Ownership::Create).await.unwrap();
    assert_eq!(
        w.outcomes,
        [Outcome::Unchanged],
        "the same content is no conflict"
    );
    assert!(w.changed.is_empty());
}

/// A feed's Last-Modified advances with every change, by at least a second, even
/// when the change brings no newer date (a backdated item, a withdrawal, a move).
pub async fn last_modified_advances_with_every_change(store: &dyn Store) {
    let world = FeedId::named("world");
    let modified =
        |v: &std::collections::BTreeMap<FeedId, crate::store::FeedState>| v[&world].modified;
    let first = item("lm-first", "world", 0);
    put(store, &first).await;
    let v = store.versions().await.unwrap();
    assert_eq!(
        modified(&v),
        first.published,
        "a fresh feed's Last-Modified is its data's"
    );
    let mut last = modified(&v);
    let mut backdated = item("lm-backdated", "world", -60 * 24 * 30);
    let mut check = |v: std::collections::BTreeMap<FeedId, crate::store::FeedState>, what: &str| {
        let now = modified(&v);
        assert!(
            now >= last + Duration::seconds(1),
            "{what}: {last} -> {now}"
        );
        assert!(
            now <= Utc::now() + Duration::seconds(5),
            "{what}: {now} is in the future"
        );
        last = now;
    };
    put(store, &backdated).await;
    check(store.versions().await.unwrap(), "a backdated item");
    backdated.title = "Backdated, corrected without a new date".into();
    put(store, &backdated).await;
    check(
        store.versions().await.unwrap(),
        "a correction without a date",
    );
    store
        .delete(&backdated.id, first.published)
        .await
        .unwrap()
        .unwrap();
    check(
        store.versions().await.unwrap(),
        "a withdrawal dated in the past",
    );
    let mut moved = first.clone();
    moved.category = Some("tech".into());
    put(store, &moved).await;
    check(store.versions().await.unwrap(), "an item moved out");
}

/// A batch of any size writes every row once, new or replaced: batches are
/// written in statements of at most a thousand rows or so (SQLite), so the
/// sizes straddle those bounds; every item reads back exactly.
pub async fn batches_of_any_size_write_every_row(store: &dyn Store) {
    let mut total = 0;
    for (b, n) in [1usize, 2, 1023, 1025, 2100].into_iter().enumerate() {
        let mut batch: Vec<Item> = (0..n)
            .map(|i| item(&format!("b{b}-{i}"), "world", i as i64))
            .collect();
        let w = store.upsert(&batch, Ownership::Take).await.unwrap();
        assert_eq!(w.outcomes, vec![Outcome::Created; n], "batch of {n}");
        total += n;
        for (i, it) in batch.iter_mut().enumerate() {
            if i % 2 == 1 {
                it.title = format!("Changed {i}");
            }
        }
        let w = store.upsert(&batch, Ownership::Take).await.unwrap();
        let expected: Vec<Outcome> = (0..n)
            .map(|i| {
                if i % 2 == 1 {
                    Outcome::Updated
                } else {
                    Outcome::Unchanged
                }
            })
            .collect();
        assert_eq!(w.outcomes, expected, "batch of {n}, again");
        for i in [0, n / 2, n - 1] {
            assert_eq!(
                store.get(&batch[i].id).await.unwrap().as_ref(),
                Some(&batch[i]),
                "item {i} of a batch of {n}"
            );
        }
        let listed = store.list(&world(), None, total + 10).await.unwrap();
        assert_eq!(listed.len(), total, "after a batch of {n}");
    }
}
