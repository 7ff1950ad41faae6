//! The behaviour every [`Store`] must have, as one function that the tests call once
//! per backend. A difference between backends is a bug in one of them.

use super::{Outcome, Ownership, Store};
use crate::model::{FeedId, Item, ItemKind, Person, Source};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeSet;

pub(crate) fn item(id: &str, category: &str, minutes: i64) -> Item {
    let t = DateTime::parse_from_rfc3339("2026-02-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(minutes);
    Item {
        id: format!("tag:conformance.example,2026-02-01:article/{id}"),
        key: id.into(),
        kind: ItemKind::Article,
        source: Source::Api,
        category: Some(category.into()),
        title: format!("Title {id}"),
        link: Some(format!("https://conformance.example/{id}")),
        summary: Some("summary".into()),
        content_html: Some("<p>body</p>".into()),
        published: t,
        updated: t,
        authors: vec![Person {
            name: "A".into(),
            email: None,
            uri: None,
        }],
        tags: vec!["t".into()],
        image: None,
        origin: None,
    }
}

fn feeds(names: &[&str]) -> BTreeSet<FeedId> {
    names.iter().map(|n| FeedId::named(n)).collect()
}

/// Every case, in the order the tests list them; each expects an empty store.
pub const CASES: &[&str] = &[
    "identical_upserts_change_nothing",
    "moving_an_item_changes_both_feeds",
    "feeds_list_newest_first_with_limit_and_kind",
    "withdrawals_leave_tombstones_until_recreated",
    "file_sync_withdraws_keeps_failed_files_and_skips_others",
    "export_then_import_changes_nothing",
    "concurrent_upserts_of_a_new_id_create_it_once",
    "concurrent_batches_of_new_ids_create_each_once",
    "tombstones_are_capped_per_feed",
    "concurrent_creates_make_exactly_one",
    "refresh_keeps_the_same_content_unchanged",
    "last_modified_advances_with_every_change",
    "fetch_state_round_trips",
    "claims_hand_each_due_source_to_one_owner",
    "external_items_keep_their_identity_and_first_seen_time",
    "websub_outbox_delivers_each_change_once",
    "archive_pages_hold_each_entry_once",
];

fn world() -> FeedId {
    FeedId::named("world")
}

fn tech() -> FeedId {
    FeedId::named("tech")
}

/// Create, then an identical upsert changes nothing: no outcome, feed or version.
pub async fn identical_upserts_change_nothing(store: &dyn Store) {
    let a = item("a", "world", 0);
    let w = store
        .upsert(std::slice::from_ref(&a), Ownership::Take)
        .await
        .unwrap();
    assert_eq!(w.outcomes, [Outcome::Created]);
    assert_eq!(w.changed, feeds(&["all", "world"]));
    let v1 = store.versions().await.unwrap();
    let w = store
        .upsert(std::slice::from_ref(&a), Ownership::Take)
        .await
        .unwrap();
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

/// Moving an item to another category changes both categories' feeds.
pub async fn moving_an_item_changes_both_feeds(store: &dyn Store) {
    let a = item("a", "world", 0);
    store
        .upsert(std::slice::from_ref(&a), Ownership::Take)
        .await
        .unwrap();
    let v1 = store.versions().await.unwrap();
    let mut moved = a.clone();
    moved.category = Some("tech".into());
    moved.title = "Corrected".into();
    let w = store
        .upsert(std::slice::from_ref(&moved), Ownership::Take)
        .await
        .unwrap();
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
    store
        .upsert(std::slice::from_ref(&b), Ownership::Take)
        .await
        .unwrap();
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
    store
        .upsert(std::slice::from_ref(&b), Ownership::Take)
        .await
        .unwrap();
    assert!(store.tombstones(&tech, 10).await.unwrap().is_empty());
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
    store
        .upsert(std::slice::from_ref(&corrected), Ownership::Take)
        .await
        .unwrap();
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

/// Each feed keeps its newest [`super::TOMBSTONES_KEPT`] tombstones.
pub async fn tombstones_are_capped_per_feed(store: &dyn Store) {
    let many: Vec<Item> = (0..(super::TOMBSTONES_KEPT + 5))
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
    assert_eq!(sports.len(), super::TOMBSTONES_KEPT);
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
    store
        .upsert(std::slice::from_ref(&a), Ownership::Take)
        .await
        .unwrap();
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
    let modified = |v: &std::collections::BTreeMap<FeedId, super::FeedState>| v[&world].modified;
    let first = item("lm-first", "world", 0);
    store
        .upsert(std::slice::from_ref(&first), Ownership::Take)
        .await
        .unwrap();
    let v = store.versions().await.unwrap();
    assert_eq!(
        modified(&v),
        first.published,
        "a fresh feed's Last-Modified is its data's"
    );
    let mut last = modified(&v);
    let mut backdated = item("lm-backdated", "world", -60 * 24 * 30);
    let mut check = |v: std::collections::BTreeMap<FeedId, super::FeedState>, what: &str| {
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
    store
        .upsert(std::slice::from_ref(&backdated), Ownership::Take)
        .await
        .unwrap();
    check(store.versions().await.unwrap(), "a backdated item");
    backdated.title = "Backdated, corrected without a new date".into();
    store
        .upsert(std::slice::from_ref(&backdated), Ownership::Take)
        .await
        .unwrap();
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
    store
        .upsert(std::slice::from_ref(&moved), Ownership::Take)
        .await
        .unwrap();
    check(store.versions().await.unwrap(), "an item moved out");
}

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-02-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(minutes)
}

/// A source's fetch state round-trips; adding a known source again keeps its
/// state (its stored URL after a permanent redirect, say).
pub async fn fetch_state_round_trips(store: &dyn Store) {
    use crate::model::FetchState;
    store
        .add_sources(&[FetchState::new("agency", "https://a.example/feed", at(0))])
        .await
        .unwrap();
    let mut s = store.fetch_states().await.unwrap().remove(0);
    assert_eq!(
        s,
        FetchState::new("agency", "https://a.example/feed", at(0))
    );
    s.url = "https://a.example/moved".into();
    s.etag = Some("\"v1\"".into());
    s.last_modified = Some("Sun, 01 Feb 2026 10:00:00 GMT".into());
    s.last_status = Some(200);
    s.last_error = Some("none".into());
    s.failures = 3;
    s.last_fetch = Some(at(1));
    s.next_fetch = at(16);
    assert!(store.save_fetch_state(&s, "me").await.unwrap());
    store
        .add_sources(&[FetchState::new("agency", "https://a.example/feed", at(2))])
        .await
        .unwrap();
    assert_eq!(store.fetch_states().await.unwrap(), [s]);
}

/// A claim at minute `now` with a five-minute lease.
async fn claim(
    store: &dyn Store,
    owner: &str,
    now: i64,
    limit: usize,
) -> Result<Vec<crate::model::FetchState>, super::StoreError> {
    let claim = super::Claim {
        only: None,
        owner,
        now: at(now),
        until: at(now + 5),
        limit,
    };
    store.claim_due(&claim).await
}

/// Due sources are claimed by one owner at a time: concurrent claimers get
/// disjoint sets, a held lease is not claimed again until it expires, and a
/// save by an owner whose lease was taken over is refused.
pub async fn claims_hand_each_due_source_to_one_owner(store: &dyn Store) {
    use crate::model::FetchState;
    let sources: Vec<FetchState> = (0..20)
        .map(|n| FetchState::new(&format!("s{n:02}"), "https://s.example/", at(0)))
        .collect();
    store.add_sources(&sources).await.unwrap();
    let owners = ["a", "b", "c"];
    let claims = futures_util::future::join_all(owners.iter().map(|o| claim(store, o, 1, 8))).await;
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for (owner, claimed) in owners.iter().zip(claims) {
        let claimed = claimed.unwrap();
        total += claimed.len();
        for s in claimed {
            assert_eq!(s.lease_owner.as_deref(), Some(*owner));
            assert!(seen.insert(s.source), "a source went to two owners");
        }
    }
    assert_eq!(total, 20, "every due source is claimed once");
    assert!(
        claim(store, "d", 2, 50).await.unwrap().is_empty(),
        "leases hold"
    );
    // "a" dies; its leases expire and "d" takes its sources over.
    let taken = claim(store, "d", 6, 50).await.unwrap();
    assert_eq!(taken.len(), 20);
    let mut late = taken[0].clone();
    late.next_fetch = at(30);
    assert!(
        !store.save_fetch_state(&late, "a").await.unwrap(),
        "a lost its lease"
    );
    assert!(store.save_fetch_state(&late, "d").await.unwrap());
    let after = claim(store, "e", 12, 50).await.unwrap();
    assert_eq!(
        after.len(),
        19,
        "the saved source is not due until its next fetch"
    );
    // A fetch asked for now claims that one source, due or not, if its lease
    // is free; a held one is refused.
    let only = |owner, name: &str, now| {
        let names = [name.to_owned()];
        async move {
            let claim = super::Claim {
                only: Some(&names),
                owner,
                now: at(now),
                until: at(now + 5),
                limit: 1,
            };
            store.claim_due(&claim).await.unwrap()
        }
    };
    let named = only("f", late.source.as_str(), 13).await;
    assert_eq!(named.len(), 1, "not due, but asked for");
    assert_eq!(named[0].source, late.source);
    assert!(
        only("g", after[0].source.as_str(), 13).await.is_empty(),
        "held by e"
    );
    assert!(
        only("g", late.source.as_str(), 14).await.is_empty(),
        "held by f"
    );
}

fn external(source: &str, upstream_id: &str, minutes: i64, dated: bool) -> Item {
    let origin = crate::model::Origin {
        source: source.into(),
        upstream_id: upstream_id.into(),
        feed_title: Some(format!("{source} wire")),
        feed_url: format!("https://{source}.example/feed"),
        feed_id: None,
        dated,
        feed_link: None,
        categories: Vec::new(),
        digest: String::new(),
        story_link: None,
        story_title: None,
        first_seen: Some(at(minutes)),
        page: false,
        also: Vec::new(),
    };
    let mut it = item(&origin.key().replace('/', "-"), "world", minutes);
    it.id = origin.public_id("tag:conformance.example,2026-02-01:");
    it.key = origin.key();
    it.source = Source::Feed(source.into());
    it.origin = Some(origin);
    it
}

/// External items are keyed by source and upstream id: two sources that both
/// say `1` give two items. One that upstream does not date keeps its first-seen
/// time however often it is seen; a change of content updates it in place.
/// Expiry drops a source's old items without tombstones.
pub async fn external_items_keep_their_identity_and_first_seen_time(store: &dyn Store) {
    let a = external("agency", "1", 0, true);
    let b = external("partner", "1", 0, true);
    assert_ne!(a.id, b.id);
    let w = store
        .upsert(&[a.clone(), b.clone()], Ownership::Take)
        .await
        .unwrap();
    assert_eq!(w.outcomes, [Outcome::Created, Outcome::Created]);
    assert_eq!(store.get(&b.id).await.unwrap().unwrap().origin, b.origin);
    // A dated item seen again later, changed: updated, and still first seen
    // when it was first stored (what decides which copy of a story stays).
    let mut b2 = external("partner", "1", 0, true);
    b2.title = "Retitled".into();
    b2.origin.as_mut().unwrap().first_seen = Some(at(50));
    let w = store
        .upsert(std::slice::from_ref(&b2), Ownership::Take)
        .await
        .unwrap();
    assert_eq!(w.outcomes, [Outcome::Updated]);
    let stored = store.get(&b.id).await.unwrap().unwrap();
    assert_eq!(stored.title, "Retitled");
    assert_eq!(
        stored.origin.unwrap().first_seen,
        b.origin.as_ref().unwrap().first_seen
    );
    // Seen again unchanged but for the time: nothing to write.
    let mut b3 = b2.clone();
    b3.origin.as_mut().unwrap().first_seen = Some(at(90));
    let w = store
        .upsert(std::slice::from_ref(&b3), Ownership::Take)
        .await
        .unwrap();
    assert_eq!(w.outcomes, [Outcome::Unchanged]);

    let first = external("agency", "undated", 10, false);
    store
        .upsert(std::slice::from_ref(&first), Ownership::Take)
        .await
        .unwrap();
    // Seen again an hour later: the parser dates it now, the store keeps the first.
    let again = external("agency", "undated", 70, false);
    let w = store
        .upsert(std::slice::from_ref(&again), Ownership::Take)
        .await
        .unwrap();
    assert_eq!(w.outcomes, [Outcome::Unchanged]);
    assert_eq!(
        store.get(&first.id).await.unwrap().unwrap().published,
        first.published
    );
    let mut changed = external("agency", "undated", 130, false);
    changed.title = "Corrected upstream".into();
    let w = store
        .upsert(std::slice::from_ref(&changed), Ownership::Take)
        .await
        .unwrap();
    assert_eq!(w.outcomes, [Outcome::Updated]);
    let stored = store.get(&first.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.published, stored.updated),
        (first.published, changed.updated)
    );

    let w = store
        .expire(&Source::Feed("agency".into()), at(5))
        .await
        .unwrap();
    assert_eq!(
        w.outcomes,
        [Outcome::Deleted],
        "only agency's item older than the cut"
    );
    assert!(store.get(&a.id).await.unwrap().is_none());
    assert!(
        store.get(&b.id).await.unwrap().is_some(),
        "another source's item stays"
    );
    assert!(store.get(&first.id).await.unwrap().is_some());
    assert!(
        store.tombstones(&world(), 10).await.unwrap().is_empty(),
        "aged out, not withdrawn"
    );
}

/// WebSub's outbox: a change is queued once per live subscriber however many
/// times (and by however many instances) it is queued, claimed by one owner
/// until its claim runs out, superseded by a later change, and gone with its
/// subscription.
pub async fn websub_outbox_delivers_each_change_once(store: &dyn Store) {
    use crate::store::{Settled, Subscription};
    let now = Utc::now();
    let topic = "http://127.0.0.1:8080/feeds/world.atom".to_owned();
    let sub = |callback: &str, lease: i64| Subscription {
        topic: topic.clone(),
        callback: callback.into(),
        secret: Some("s3cret".into()),
        lease_until: now + Duration::seconds(lease),
    };
    for s in [
        sub("https://a.example/cb", 600),
        sub("https://b.example/cb", 600),
        sub("https://old.example/cb", -1),
    ] {
        store.websub_subscribe(&s).await.unwrap();
    }
    let change = |etag: &str| vec![(topic.clone(), etag.to_owned())];
    assert_eq!(
        store.websub_enqueue(&change("\"e1\""), now).await.unwrap(),
        2,
        "live subscribers only"
    );
    assert_eq!(
        store.websub_enqueue(&change("\"e1\""), now).await.unwrap(),
        0,
        "the same change again"
    );
    let other = vec![(
        "http://127.0.0.1:8080/feeds/tech.atom".to_owned(),
        "\"t\"".to_owned(),
    )];
    assert_eq!(
        store.websub_enqueue(&other, now).await.unwrap(),
        0,
        "no subscriber"
    );

    let until = now + Duration::seconds(60);
    let first = store.websub_claim("one", now, until, 10).await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(
        first
            .iter()
            .all(|d| d.attempts == 1 && !d.superseded && d.etag == "\"e1\"")
    );
    assert_eq!(first[0].secret.as_deref(), Some("s3cret"));
    assert!(
        store
            .websub_claim("two", now, until, 10)
            .await
            .unwrap()
            .is_empty(),
        "claimed already"
    );

    // One is retried, the other delivered; then a later change comes.
    let (retried, delivered) = (&first[0], &first[1]);
    store
        .websub_settle(
            &[
                Settled::Retry {
                    id: retried.id,
                    next: now,
                    error: "500".into(),
                },
                Settled::Done { id: delivered.id },
            ],
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        store.websub_enqueue(&change("\"e2\""), now).await.unwrap(),
        2
    );
    let second = store.websub_claim("two", now, until, 10).await.unwrap();
    assert_eq!(second.len(), 3);
    let again = second
        .iter()
        .find(|d| d.id == retried.id)
        .expect("the retry is due");
    assert!(again.superseded, "a later change supersedes it");
    assert_eq!(again.attempts, 2);
    assert!(
        second
            .iter()
            .filter(|d| d.etag == "\"e2\"")
            .all(|d| !d.superseded)
    );
    let done: Vec<Settled> = second.iter().map(|d| Settled::Done { id: d.id }).collect();
    store.websub_settle(&done, now).await.unwrap();
    assert_eq!(
        store.websub_enqueue(&change("\"e2\""), now).await.unwrap(),
        0,
        "delivered stays delivered"
    );
    assert!(
        store
            .websub_claim("one", now, until, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A claim that runs out (its instance died) is taken over.
    assert_eq!(
        store.websub_enqueue(&change("\"e3\""), now).await.unwrap(),
        2
    );
    let short = now + Duration::seconds(1);
    assert_eq!(
        store
            .websub_claim("dead", now, short, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    let later = now + Duration::seconds(2);
    let taken = store
        .websub_claim("alive", later, later + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(taken.len(), 2);
    assert!(taken.iter().all(|d| d.attempts == 2));

    // Unsubscribing drops what was queued; expiry drops the lapsed.
    assert!(
        store
            .websub_unsubscribe(&topic, "https://a.example/cb")
            .await
            .unwrap()
    );
    assert!(
        !store
            .websub_unsubscribe(&topic, "https://a.example/cb")
            .await
            .unwrap()
    );
    assert_eq!(store.websub_expire(now).await.unwrap(), 1);
    let left: Vec<String> = store
        .websub_subscriptions()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.callback)
        .collect();
    assert_eq!(left, ["https://b.example/cb"]);
}

/// A served feed's RFC 5005 documents, oldest page first, then the window:
/// the keys each holds, and the tombstones (ids) of each page.
async fn archive_walk(
    store: &dyn Store,
    feed: &FeedId,
    members: &[FeedId],
    size: usize,
) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let window = store.window(feed, members, size).await.unwrap();
    assert!(window.items.len() <= size, "{feed}: {}", window.items.len());
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

fn each_once(feed: &str, docs: &[Vec<String>], expected: &BTreeSet<String>) {
    let all: Vec<&String> = docs.iter().flatten().collect();
    let set: BTreeSet<String> = all.iter().map(|k| (*k).clone()).collect();
    assert_eq!(all.len(), set.len(), "{feed}: an entry twice: {docs:?}");
    assert_eq!(&set, expected, "{feed}");
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
    assert!((3..=4).contains(&docs.last().unwrap().len()), "{docs:?}");
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
