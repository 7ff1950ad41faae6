//! Cases of external sources: fetch states, claims, and items' identity.

use super::*;
use crate::store::{Outcome, Ownership, Store};

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
    // An error text quotes what the upstream sent, NUL included: kept
    // with U+FFFD in its place, on every store (PostgreSQL refuses NUL).
    s.last_error = Some("bad \0 byte".into());
    s.failures = 3;
    s.last_fetch = Some(at(1));
    s.next_fetch = at(16);
    assert!(store.save_fetch_state(&s, "me").await.unwrap());
    store
        .add_sources(&[FetchState::new("agency", "https://a.example/feed", at(2))])
        .await
        .unwrap();
    s.last_error = Some("bad \u{fffd} byte".into());
    assert_eq!(store.fetch_states().await.unwrap(), [s]);
}

/// A source's attempt log keeps its last polls, newest first, each as it
/// was, and the last [`crate::store::ATTEMPTS_KEPT`] only; sources' logs
/// are apart.
pub async fn attempt_logs_keep_the_last_polls(store: &dyn Store) {
    use crate::model::{FetchAttempt, FetchOutcome};
    let poll = |source: &str, n: i64| FetchAttempt {
        source: source.into(),
        at: at(n),
        status: (n % 3 != 0).then_some(200 + (n % 2) as u16 * 104),
        bytes: n as u64 * 10,
        millis: n as u64,
        outcome: if n % 3 == 0 {
            FetchOutcome::Failed
        } else {
            FetchOutcome::Fetched
        },
        error: (n % 3 == 0).then(|| format!("timed out <{n}>")),
    };
    assert_eq!(store.attempts("agency", 20).await.unwrap(), []);
    let kept = crate::store::ATTEMPTS_KEPT as i64;
    // In batches, as rounds of polls are saved; another source between.
    for round in 0..3 {
        let batch: Vec<FetchAttempt> = (round * kept / 2..(round + 1) * kept / 2)
            .flat_map(|n| [poll("agency", n), poll("other", n)])
            .collect();
        store.record_attempts(&batch).await.unwrap();
    }
    let newest = 3 * kept / 2 - 1;
    // An error quoting a NUL: kept with U+FFFD in its place.
    let mut quoting = poll("third", 1);
    quoting.error = Some("refused \0".into());
    store.record_attempts(&[quoting.clone()]).await.unwrap();
    quoting.error = Some("refused \u{fffd}".into());
    assert_eq!(store.attempts("third", 5).await.unwrap(), [quoting]);
    let log = store.attempts("agency", 20).await.unwrap();
    assert_eq!(log.len(), 20);
    assert_eq!(log[0], poll("agency", newest), "newest first, as it was");
    assert_eq!(log[19], poll("agency", newest - 19));
    let all = store.attempts("agency", 1000).await.unwrap();
    assert_eq!(all.len(), crate::store::ATTEMPTS_KEPT, "the last ones only");
    assert_eq!(all.last(), Some(&poll("agency", newest - kept + 1)));
    assert_eq!(
        store.attempts("other", 1000).await.unwrap().len(),
        crate::store::ATTEMPTS_KEPT
    );
    assert_eq!(store.attempts("nobody", 5).await.unwrap(), []);
    // More polls of one source in one batch than it keeps, then one more:
    // the last ones only, each time.
    let burst: Vec<FetchAttempt> = (0..kept + 10).map(|n| poll("burst", n)).collect();
    store.record_attempts(&burst).await.unwrap();
    store
        .record_attempts(&[poll("burst", kept + 10)])
        .await
        .unwrap();
    let all = store.attempts("burst", 1000).await.unwrap();
    assert_eq!(all.len(), crate::store::ATTEMPTS_KEPT);
    assert_eq!(all[0], poll("burst", kept + 10));
    assert_eq!(all.last(), Some(&poll("burst", 11)));
}

/// A console session is found by its id until it ends, and not after, nor
/// once ended; ended sessions are dropped when another starts.
pub async fn console_sessions_last_until_they_end(store: &dyn Store) {
    use crate::store::Session;
    // Sessions end in real time: starting one drops those ended by now.
    let now = chrono::Utc::now();
    let in_minutes = |m: i64| now + chrono::Duration::minutes(m);
    let session = |id: &str, ends: i64| Session {
        id: id.into(),
        token_name: "editor".into(),
        csrf: format!("csrf-{id}"),
        expires: in_minutes(ends),
    };
    store.start_session(&session("a", 60)).await.unwrap();
    store.start_session(&session("b", 10)).await.unwrap();
    let found = store.session("a", in_minutes(30)).await.unwrap().unwrap();
    assert_eq!(
        (found.token_name.as_str(), found.csrf.as_str()),
        ("editor", "csrf-a")
    );
    assert!((found.expires - in_minutes(60)).num_milliseconds().abs() < 2);
    assert_eq!(
        store.session("b", in_minutes(30)).await.unwrap(),
        None,
        "ended"
    );
    assert_eq!(store.session("c", now).await.unwrap(), None);
    store.end_session("a").await.unwrap();
    assert_eq!(store.session("a", now).await.unwrap(), None, "signed out");
    // An ended session is dropped when another starts: its id may start again.
    store.start_session(&session("old", -5)).await.unwrap();
    store.start_session(&session("new", 5)).await.unwrap();
    store.start_session(&session("old", 5)).await.unwrap();
    assert!(store.session("old", now).await.unwrap().is_some());
}

/// A claim at minute `now` with a five-minute lease.
async fn claim(
    store: &dyn Store,
    owner: &str,
    now: i64,
    limit: usize,
) -> Result<Vec<crate::model::FetchState>, crate::store::StoreError> {
    let claim = crate::store::Claim {
        which: crate::store::Claiming::Due { except: &[] },
        owner,
        now: at(now),
        until: at(now + 5),
        limit,
    };
    store.claim_due(&claim).await
}

/// A paused source is never claimed by the schedule, however due, and shows
/// paused; a fetch asked for by name still claims it; resumed, it is due
/// again. Pausing an unknown source says so.
pub async fn paused_sources_are_left_alone_until_resumed(store: &dyn Store) {
    use crate::model::{FetchState, SourceStatus};
    store
        .add_sources(&[
            FetchState::new("calm", "https://c.example/feed", at(0)),
            FetchState::new("loud", "https://l.example/feed", at(0)),
        ])
        .await
        .unwrap();
    assert!(store.set_paused("loud", Some(at(1))).await.unwrap());
    assert!(!store.set_paused("nobody", Some(at(1))).await.unwrap());
    let claimed = claim(store, "me", 10, 10).await.unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|s| s.source.as_str())
            .collect::<Vec<_>>(),
        ["calm"]
    );
    let loud = store
        .fetch_states()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.source == "loud")
        .unwrap();
    assert_eq!(
        (loud.paused, loud.status()),
        (Some(at(1)), SourceStatus::Paused)
    );
    let only = ["loud".to_owned()];
    let asked = crate::store::Claim {
        which: crate::store::Claiming::Named(&only),
        owner: "me",
        now: at(11),
        until: at(16),
        limit: 1,
    };
    assert_eq!(
        store.claim_due(&asked).await.unwrap().len(),
        1,
        "asked for by name"
    );
    // Its lease runs out; resumed, the schedule takes it again.
    assert!(store.set_paused("loud", None).await.unwrap());
    let claimed = claim(store, "me", 30, 10).await.unwrap();
    assert!(claimed.iter().any(|s| s.source == "loud"), "{claimed:?}");
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
            let claim = crate::store::Claim {
                which: crate::store::Claiming::Named(&names),
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

/// The schedule's claim passes over the sources its claimer says it does not
/// know (another instance's, or one a reload has not brought here yet):
/// they stay free for the instances that can fetch them.
pub async fn a_claim_passes_over_the_sources_its_claimer_lacks(store: &dyn Store) {
    use crate::model::FetchState;
    store
        .add_sources(&[
            FetchState::new("ours", "https://o.example/feed", at(0)),
            FetchState::new("theirs", "https://t.example/feed", at(0)),
        ])
        .await
        .unwrap();
    let due = |owner, except: &'static [&'static str]| async move {
        let except: Vec<String> = except.iter().map(|n| (*n).to_owned()).collect();
        let claim = crate::store::Claim {
            which: crate::store::Claiming::Due { except: &except },
            owner,
            now: at(1),
            until: at(6),
            limit: 10,
        };
        let claimed = store.claim_due(&claim).await.unwrap();
        claimed.into_iter().map(|s| s.source).collect::<Vec<_>>()
    };
    assert_eq!(due("old", &["theirs", "unknown"]).await, ["ours"]);
    assert_eq!(due("new", &[]).await, ["theirs"]);
}

/// A fetch asked for by name is refused only for a lease, never for a
/// registration of the same sources running at that moment (another
/// instance following the catalog, a reload): that one holds the rows for
/// the length of its statement, and a claim passing over them said "being
/// fetched by another instance" of a source nobody was fetching.
pub async fn a_named_claim_waits_out_a_registration_of_its_sources(store: &dyn Store) {
    use crate::model::FetchState;
    let sources: Vec<FetchState> = (0..500)
        .map(|n| FetchState::new(&format!("r{n:03}"), "https://r.example/feed", at(0)))
        .collect();
    store.add_sources(&sources).await.unwrap();
    for round in 0..30 {
        // Each round's claim starts after the last one's lease has run out.
        let now = round * 10 + 1;
        let names = [format!("r{:03}", 499 - round * 7)];
        let claim = crate::store::Claim {
            which: crate::store::Claiming::Named(&names),
            owner: "asker",
            now: at(now),
            until: at(now + 5),
            limit: 1,
        };
        let (registered, claimed) =
            futures_util::future::join(store.add_sources(&sources), store.claim_due(&claim)).await;
        registered.unwrap();
        let claimed = claimed.unwrap();
        assert_eq!(
            claimed
                .iter()
                .map(|s| s.source.as_str())
                .collect::<Vec<_>>(),
            [names[0].as_str()],
            "round {round}: the named source is free, only being registered"
        );
    }
}

fn external(source: &str, upstream_id: &str, minutes: i64, dated: bool) -> Item {
    let origin = crate::model::Origin {
        feed_title: Some(format!("{source} wire")),
        dated,
        first_seen: Some(at(minutes)),
        ..crate::model::Origin::new(
            source,
            upstream_id,
            &format!("https://{source}.example/feed"),
        )
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
    let w = put(store, &b2).await;
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
    let w = put(store, &b3).await;
    assert_eq!(w.outcomes, [Outcome::Unchanged]);

    let first = external("agency", "undated", 10, false);
    put(store, &first).await;
    // Seen again an hour later: the parser dates it now, the store keeps the first.
    let again = external("agency", "undated", 70, false);
    let w = put(store, &again).await;
    assert_eq!(w.outcomes, [Outcome::Unchanged]);
    assert_eq!(
        store.get(&first.id).await.unwrap().unwrap().published,
        first.published
    );
    let mut changed = external("agency", "undated", 130, false);
    changed.title = "Corrected upstream".into();
    let w = put(store, &changed).await;
    assert_eq!(w.outcomes, [Outcome::Updated]);
    let stored = store.get(&first.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.published, stored.updated),
        (first.published, changed.updated)
    );
}

/// A source's items stay while its current document carries them, whatever
/// their age or number; those it dropped go once `unseen_before` passes
/// their last carrying, or past `max_items` (the oldest first), each leaving
/// its tombstone. Other sources' items are not touched.
pub async fn items_stay_while_their_source_carries_them(store: &dyn Store) {
    let agency = Source::Feed("agency".into());
    let stored: Vec<Item> = (0..6)
        .map(|n| external("agency", &format!("u{n}"), n * 10, true))
        .collect();
    let other = external("partner", "u0", 0, true);
    let mut all = stored.clone();
    all.push(other.clone());
    store.upsert(&all, Ownership::Take).await.unwrap();
    let ids = |n: &[usize]| -> Vec<String> { n.iter().map(|&i| stored[i].id.clone()).collect() };
    let present = async |n: usize| store.get(&stored[n].id).await.unwrap().is_some();
    let prune = |unseen: i64, max_items: usize| crate::store::Prune {
        unseen_before: at(unseen),
        max_items,
    };
    // The first document carries all six, long ago: none goes, even past
    // any retention and any bound.
    store
        .carried(&agency, &ids(&[0, 1, 2, 3, 4, 5]), at(100))
        .await
        .unwrap();
    store
        .carried(
            &Source::Feed("partner".into()),
            std::slice::from_ref(&other.id),
            at(100),
        )
        .await
        .unwrap();
    let w = store.prune(&agency, &prune(10_000, 2)).await.unwrap();
    assert!(w.outcomes.is_empty(), "all carried: {w:?}");
    // The next drops 0 and 1: they stay within the retention...
    store
        .carried(&agency, &ids(&[2, 3, 4, 5]), at(200))
        .await
        .unwrap();
    let w = store.prune(&agency, &prune(50, 100)).await.unwrap();
    assert!(w.outcomes.is_empty(), "dropped but within retention: {w:?}");
    // ... and go past it, with their tombstones.
    let w = store.prune(&agency, &prune(150, 100)).await.unwrap();
    assert_eq!(w.outcomes, [Outcome::Deleted, Outcome::Deleted]);
    assert!(!present(0).await && !present(1).await);
    let feed = FeedId::Source("agency".into());
    let stones: BTreeSet<String> = store
        .tombstones(&feed, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(stones, ids(&[0, 1]).into_iter().collect());
    assert!(w.changed.contains(&feed));
    // A document of one: of the three dropped, the newest one stays within
    // a bound of two; the document's item stays whatever the bound.
    store.carried(&agency, &ids(&[2]), at(300)).await.unwrap();
    let w = store.prune(&agency, &prune(0, 2)).await.unwrap();
    assert_eq!(w.outcomes.len(), 2, "{w:?}");
    assert!(
        present(2).await && present(5).await,
        "carried, and newest dropped"
    );
    assert!(!present(3).await && !present(4).await);
    let w = store.prune(&agency, &prune(0, 0)).await.unwrap();
    assert_eq!(
        w.outcomes.len(),
        1,
        "past a bound of none, only the carried stays"
    );
    assert!(present(2).await);
    assert!(
        store.get(&other.id).await.unwrap().is_some(),
        "another source's item stays"
    );
}
