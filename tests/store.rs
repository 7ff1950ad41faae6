//! The store backends: one conformance suite run against each, then what only a
//! shared PostgreSQL database has (several writers, notifications, outages) and
//! `newswire migrate` from SQLite to PostgreSQL through the CLI.
//!
//! PostgreSQL tests need `NEWSWIRE_TEST_DATABASE_URL`; see `tests/common/pg.rs`.

mod common;

use chrono::{DateTime, Utc};
use common::pg;
use newswire::model::{FeedId, Item, ItemKind, Source};
use newswire::store::postgres::PgStore;
use newswire::store::sqlite::SqliteStore;
use newswire::store::{self, Outcome, Ownership, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The conformance suite's named cases, each against both backends on a fresh store.
macro_rules! conformance_cases {
    ($($case:ident),* $(,)?) => {
        mod cases {
            use super::*;
            $(
                pub mod $case {
                    use super::*;
                    #[tokio::test(flavor = "multi_thread")]
                    async fn sqlite() {
                        let dir = tempfile::tempdir().unwrap();
                        let store = store::open(None, dir.path()).await.unwrap();
                        newswire::store::conformance::$case(store.as_ref()).await;
                    }
                    #[tokio::test(flavor = "multi_thread")]
                    async fn postgres() {
                        let Some((url, _db)) = pg::fresh_database() else {
                            return;
                        };
                        let dir = tempfile::tempdir().unwrap();
                        let store = store::open(Some(&url), dir.path()).await.unwrap();
                        newswire::store::conformance::$case(store.as_ref()).await;
                    }
                }
            )*
        }
    };
}

// Every case of `newswire::store::conformance::CASES`, each on a fresh store of
// each backend, opened through `store::open` exactly as `newswire serve` does.
conformance_cases!(
    identical_upserts_change_nothing,
    encoded_upserts_write_as_borrowed_ones,
    moving_an_item_changes_both_feeds,
    feeds_list_newest_first_with_limit_and_kind,
    withdrawals_leave_tombstones_until_recreated,
    a_withdrawn_item_back_elsewhere_changes_its_old_feed,
    file_sync_withdraws_keeps_failed_files_and_skips_others,
    export_then_import_changes_nothing,
    concurrent_upserts_of_a_new_id_create_it_once,
    concurrent_batches_of_new_ids_create_each_once,
    tombstones_are_capped_per_feed,
    concurrent_creates_make_exactly_one,
    refresh_keeps_the_same_content_unchanged,
    last_modified_advances_with_every_change,
    batches_of_any_size_write_every_row,
    fetch_state_round_trips,
    attempt_logs_keep_the_last_polls,
    console_sessions_last_until_they_end,
    claims_hand_each_due_source_to_one_owner,
    a_claim_passes_over_the_sources_its_claimer_lacks,
    a_named_claim_waits_out_a_registration_of_its_sources,
    paused_sources_are_left_alone_until_resumed,
    external_items_keep_their_identity_and_first_seen_time,
    items_stay_while_their_source_carries_them,
    websub_outbox_delivers_each_change_once,
    archive_pages_hold_each_entry_once,
    kept_pages_keep_their_first_bytes_and_gain_compression_once,
    kept_documents_are_listed_in_order_and_carried_once,
    a_page_read_before_a_withdrawal_is_not_kept_after_it,
);

#[test]
fn every_conformance_case_is_run() {
    let listed = include_str!("store.rs");
    for case in newswire::store::conformance::CASES {
        assert!(
            listed.contains(&format!("    {case},\n")),
            "{case} is not in conformance_cases!"
        );
    }
}

/// Ties in a feed are broken by id in byte order on every backend, whatever the
/// database's locale: `newswire build` must give the same bytes from either.
async fn ties_order_by_id_bytes(url: Option<&str>, data: &Path) {
    let store = store::open(url, data).await.expect("open the store");
    // A locale sorts these a, B, Z, _x (or similar); bytes sort B, Z, _x, a.
    let keys = ["a", "B", "_x", "Z", "b-1", "b1"];
    let items: Vec<Item> = keys
        .iter()
        .map(|k| Item {
            id: format!("tag:store.example,2026-02-01:article/{k}"),
            key: (*k).into(),
            ..file_item(0, k)
        })
        .collect();
    store.upsert(&items, Ownership::Take).await.unwrap();
    let listed: Vec<String> = store
        .list(&FeedId::named("world"), None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.key)
        .collect();
    let mut expected: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    expected.sort_by(|x, y| y.as_bytes().cmp(x.as_bytes()));
    assert_eq!(listed, expected, "ties in descending byte order of id");
}

#[tokio::test]
async fn sqlite_orders_ties_by_id_bytes() {
    let dir = tempfile::tempdir().unwrap();
    ties_order_by_id_bytes(None, dir.path()).await;
}

#[tokio::test]
async fn postgres_orders_ties_by_id_bytes_in_an_en_us_database() {
    let Some((url, _db)) = pg::fresh_database_with(
        "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    ties_order_by_id_bytes(Some(&url), dir.path()).await;
}

/// On PostgreSQL, documents are compressed with lz4 where the server has it
/// (pglz took three times as long for every item written), and a kept
/// page's gzip and brotli bodies are stored as they are. A document written
/// after the migration is lz4 and reads back whole.
#[tokio::test]
async fn postgres_compresses_documents_with_lz4() {
    let Some((url, _db)) = pg::fresh_database() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(Some(&url), dir.path()).await.unwrap();
    let mut item = file_item(1, "Long");
    let paragraphs: Vec<String> = (0..200)
        .map(|i| format!("<p>Paragraph {i} of a long article.</p>"))
        .collect();
    item.content_html = Some(paragraphs.concat());
    store
        .upsert(std::slice::from_ref(&item), Ownership::Take)
        .await
        .unwrap();
    assert_eq!(store.get(&item.id).await.unwrap(), Some(item.clone()));
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    // A server built without lz4 keeps pglz (the migration says so and
    // goes on); this one's build decides which the document must be.
    let lz4 = sqlx::query("CREATE TEMP TABLE lz4_probe (x text COMPRESSION lz4)")
        .execute(&db)
        .await
        .is_ok();
    let (compression,): (Option<String>,) =
        sqlx::query_as("SELECT pg_column_compression(doc) FROM items WHERE id = $1")
            .bind(&item.id)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        compression.as_deref(),
        Some(if lz4 { "lz4" } else { "pglz" })
    );
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT attname::text, attcompression::text, attstorage::text FROM pg_attribute
         WHERE attrelid = 'archive_documents'::regclass AND attname IN ('body', 'gzip', 'br')
         ORDER BY attname",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    let columns: Vec<(&str, &str, &str)> = columns
        .iter()
        .map(|(n, c, s)| (n.as_str(), c.as_str(), s.as_str()))
        .collect();
    let body = if lz4 { "l" } else { "" };
    assert_eq!(
        columns,
        [("body", body, "x"), ("br", "", "e"), ("gzip", "", "e")]
    );
    db.close().await;
}

/// SQLite's writer opens and commits a group's transaction itself, with the
/// first read and with the writes: a write that fails inside it must roll it
/// back, or every later write would fail to begin ("cannot start a
/// transaction within a transaction") and the service would take no more.
#[tokio::test]
async fn a_failed_sqlite_write_rolls_back_and_the_next_goes_through() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(None, dir.path()).await.unwrap();
    let origin = newswire::model::Origin::new("wire", "1", "https://wire.example/feed");
    let mut ext = file_item(1, "From the wire");
    ext.id = origin.public_id("tag:store.example,2026-02-01:");
    ext.key = origin.key();
    ext.source = Source::Feed("wire".into());
    ext.origin = Some(origin);
    store.upsert(&[ext.clone()], Ownership::Take).await.unwrap();
    // Its stored document made unreadable behind the store's back: seen
    // again, it is read and decoded inside the transaction, which fails.
    let file = dir.path().join(SqliteStore::FILE);
    let db = sqlx::SqlitePool::connect(&format!("sqlite:{}", file.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE items SET doc = 'not a document' WHERE id = ?")
        .bind(&ext.id)
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
    let mut again = ext.clone();
    again.title = "From the wire, updated".into();
    for _ in 0..2 {
        assert!(
            store
                .upsert(&[again.clone()], Ownership::Take)
                .await
                .is_err()
        );
    }
    // The writer still writes: a new item is created, read back, listed.
    let next = file_item(2, "Next");
    let written = store
        .upsert(std::slice::from_ref(&next), Ownership::Take)
        .await
        .unwrap();
    assert_eq!(written.outcomes, vec![Outcome::Created]);
    assert_eq!(store.get(&next.id).await.unwrap().unwrap().title, "Next");
}

fn file_item(n: usize, title: &str) -> Item {
    let t: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-02-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + chrono::Duration::minutes(n as i64);
    Item {
        id: format!("tag:store.example,2026-02-01:article/f{n:03}"),
        key: format!("f{n:03}"),
        kind: ItemKind::Article,
        source: Source::File(format!("articles/f{n:03}.md")),
        category: Some(["world", "tech", "economy"][n % 3].into()),
        title: title.into(),
        link: Some(format!("https://store.example/f{n:03}")),
        summary: None,
        content_html: Some("<p>body</p>".into()),
        published: t,
        updated: t,
        authors: Vec::new(),
        tags: Vec::new(),
        image: None,
        origin: None,
        story: None,
    }
}

fn count(results: &[Result<store::Written, StoreError>], outcome: Outcome) -> usize {
    results
        .iter()
        .map(|r| {
            r.as_ref()
                .expect("a concurrent write succeeds")
                .outcomes
                .iter()
                .filter(|o| **o == outcome)
                .count()
        })
        .sum()
}

/// Three instances start at once on an empty database (the migrations' advisory
/// lock lets one apply them), then sync the same files at the same moment: every
/// item is created once, changed once, withdrawn once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_syncing_the_same_files_write_each_change_once() {
    let Some((url, _db)) = pg::fresh_database() else {
        return;
    };
    let opened = futures_util::future::join_all((0..3).map(|_| PgStore::open(&url))).await;
    let stores: Vec<PgStore> = opened
        .into_iter()
        .map(|s| s.expect("every instance opens and migrates"))
        .collect();

    const N: usize = 60;
    let items: Vec<Item> = (0..N).map(|n| file_item(n, "first")).collect();
    let sync_all = |items: Vec<Item>| {
        let stores = &stores;
        async move {
            futures_util::future::join_all(stores.iter().map(|s| s.sync("file:", &items, &[])))
                .await
        }
    };

    let results = sync_all(items.clone()).await;
    assert_eq!(
        count(&results, Outcome::Created),
        N,
        "each item created once"
    );
    assert_eq!(count(&results, Outcome::Unchanged), 2 * N);

    // A third of the files change.
    let mut changed = items.clone();
    for it in changed.iter_mut().step_by(3) {
        it.title = "second".into();
    }
    let results = sync_all(changed.clone()).await;
    assert_eq!(
        count(&results, Outcome::Updated),
        N / 3,
        "each change applied once"
    );
    assert_eq!(count(&results, Outcome::Created), 0);

    // One file is removed: one withdrawal, one tombstone per feed it was in.
    let gone = changed.pop().unwrap();
    let results = sync_all(changed.clone()).await;
    assert_eq!(count(&results, Outcome::Deleted), 1, "withdrawn once");
    let feed = FeedId::named(gone.category.as_deref().unwrap());
    let stones = stores[1].tombstones(&feed, 10).await.unwrap();
    assert_eq!(stones.len(), 1);
    assert_eq!(stones[0].id, gone.id);

    let all = stores[2].list(&FeedId::all(), None, 1000).await.unwrap();
    assert_eq!(all.len(), N - 1);
    let ids: BTreeSet<_> = all.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids.len(), N - 1, "no item listed twice");
    assert_eq!(
        all.iter().filter(|i| i.title == "second").count(),
        N / 3 - usize::from(gone.title == "second")
    );
}

/// A write on one instance reaches another instance's subscription, also after the
/// listening connection was killed (it reconnects).
#[tokio::test(flavor = "multi_thread")]
async fn notifications_reach_other_instances_and_survive_a_lost_connection() {
    let Some((url, db)) = pg::fresh_database() else {
        return;
    };
    let reader = PgStore::open(&url).await.unwrap();
    let writer = PgStore::open(&url).await.unwrap();
    let mut rx = reader
        .subscribe()
        .await
        .unwrap()
        .expect("PostgreSQL has other writers, so it notifies");

    let started = Instant::now();
    writer
        .upsert(&[file_item(1, "hello")], Ownership::Take)
        .await
        .unwrap();
    let change = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .expect("a notification within 2 s")
        .expect("the subscription is open");
    let newswire::store::Change::Feeds(feeds) = change else {
        panic!("a write announces feeds, not {change:?}");
    };
    assert_eq!(
        feeds.into_iter().collect::<BTreeSet<_>>(),
        ["all", "tech"].map(FeedId::named).into(),
        "the notification names the feeds that changed"
    );
    eprintln!("notification after {:?}", started.elapsed());

    // Kill the listener's session from the server side.
    let killed = terminate_listeners(&url, db.name()).await;
    assert_eq!(
        killed, 1,
        "exactly the one listening session was terminated"
    );

    // Writes keep coming; one of them must be heard once the listener is back.
    let heard = async {
        for n in 2.. {
            writer
                .upsert(&[file_item(n, "again")], Ownership::Take)
                .await
                .unwrap();
            if let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
                return n;
            }
        }
        unreachable!()
    };
    let n = tokio::time::timeout(Duration::from_secs(15), heard)
        .await
        .expect("the listener reconnects and hears new writes");
    eprintln!("heard write {n} after the reconnect");
}

/// An instance's own writes are not announced back to it (its writer marks
/// them for rendering, as on SQLite), while another instance's are: each
/// write is rendered once where it was made.
#[tokio::test(flavor = "multi_thread")]
async fn an_instance_hears_others_writes_not_its_own() {
    let Some((url, _db)) = pg::fresh_database() else {
        return;
    };
    let this = PgStore::open(&url).await.unwrap();
    let other = PgStore::open(&url).await.unwrap();
    let mut rx = this.subscribe().await.unwrap().unwrap();
    for n in 1..=5 {
        this.upsert(&[file_item(n, "own")], Ownership::Take)
            .await
            .unwrap();
    }
    other
        .upsert(&[file_item(6, "other")], Ownership::Take)
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .expect("the other instance's write is heard within 2 s")
        .expect("the subscription is open");
    assert!(
        matches!(first, newswire::store::Change::Feeds(_)),
        "a write announces feeds, not {first:?}"
    );
    // The five own writes committed before the other's: had any been
    // forwarded, it would have come first, or be waiting now.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), rx.recv())
            .await
            .is_err(),
        "only the other instance's write was announced"
    );
}

async fn terminate_listeners(url: &str, database: &str) -> u64 {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let rows: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = $1 AND application_name = 'newswire-listener'",
    )
    .bind(database)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    rows.iter().filter(|(ok,)| *ok).count() as u64
}

/// While the database cannot be reached, calls fail soon with `Unavailable` (the
/// API's 503); when it is back, the same store works again without a restart, and
/// its subscription hears writes again.
#[tokio::test(flavor = "multi_thread")]
async fn an_outage_is_unavailable_and_the_store_recovers() {
    let Some((url, _db)) = pg::fresh_database() else {
        return;
    };
    let proxy = pg::Proxy::start(pg::server_addr(&url));
    let store = PgStore::open(&pg::via(&url, proxy.addr)).await.unwrap();
    let direct = PgStore::open(&url).await.unwrap();
    let mut rx = store.subscribe().await.unwrap().unwrap();
    store
        .upsert(&[file_item(1, "before")], Ownership::Take)
        .await
        .unwrap();

    proxy.cut();
    let started = Instant::now();
    let err = store.get(&file_item(1, "").id).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable(_)),
        "a read while down is Unavailable, got {err:?}"
    );
    let err = store
        .upsert(&[file_item(2, "during")], Ownership::Take)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable(_)),
        "a write while down is Unavailable, got {err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "failing took {:?}",
        started.elapsed()
    );
    assert!(
        direct.get(&file_item(2, "").id).await.unwrap().is_none(),
        "nothing was written"
    );

    proxy.restore();
    let w = store
        .upsert(&[file_item(2, "after")], Ownership::Take)
        .await
        .expect("the pool reconnects once the database is back");
    assert_eq!(w.outcomes, [Outcome::Created]);
    while rx.try_recv().is_ok() {}
    let heard = async {
        loop {
            direct
                .upsert(
                    &[file_item(3, &format!("{:?}", Instant::now()))],
                    Ownership::Take,
                )
                .await
                .unwrap();
            if let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(15), heard)
        .await
        .expect("the subscription listens again after the outage");
}

/// No PostgreSQL needed: a server that is not there fails fast, as Unavailable.
#[tokio::test]
async fn an_unreachable_server_fails_fast_as_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let err = store::open(
        Some(&format!("postgres://postgres@127.0.0.1:{port}/none")),
        Path::new("unused"),
    )
    .await
    .err()
    .expect("nothing listens there");
    assert!(matches!(err, StoreError::Unavailable(_)), "got {err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

fn newswire(args: &[&str]) -> String {
    let out = Command::new(common::bin())
        .args(args)
        .env_remove("NEWSWIRE_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run newswire");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "newswire {args:?} failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Every file under `dir`, by relative path.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// `newswire migrate` copies a SQLite site (file articles, API articles, a
/// tombstone, the archive pages of feeds of 4) into PostgreSQL exactly; a second
/// run adds nothing; and `newswire build` renders byte-identical documents,
/// archive pages included, from either database.
#[tokio::test(flavor = "multi_thread")]
async fn migrate_from_sqlite_to_postgres_through_the_cli() {
    let Some((url, _db)) = pg::fresh_database() else {
        return;
    };
    let site = common::SiteDir::demo();
    // Feeds of 4, so that the demo's feeds have archive pages to carry over.
    let demo = std::fs::read_to_string(site.config()).unwrap();
    assert!(demo.contains("feed_size = 50"));
    std::fs::write(
        site.config(),
        demo.replace("feed_size = 50", "feed_size = 4"),
    )
    .unwrap();
    let config = site.config();
    let config = config.to_str().unwrap();
    let data = site.data();
    let data_s = data.to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    let out_path = |name: &str| out.path().join(name).to_string_lossy().into_owned();

    // The demo files, then three API articles, then one file removed (a tombstone).
    newswire(&[
        "build",
        "--config",
        config,
        "--data",
        data_s,
        "--out",
        &out_path("first"),
    ]);
    let lines: String = (1..=3)
        .map(|n| {
            format!(
                "{}\n",
                serde_json::json!({
                    "title": format!("Imported article {n}"),
                    "category": "economy",
                    "published": format!("2026-02-01 1{n}:30"),
                    "content_markdown": format!("Body **{n}**."),
                })
            )
        })
        .collect();
    let jsonl = out.path().join("articles.jsonl");
    std::fs::write(&jsonl, lines).unwrap();
    let imported = newswire(&[
        "import",
        "--config",
        config,
        "--data",
        data_s,
        jsonl.to_str().unwrap(),
    ]);
    assert!(imported.contains("3 added"), "{imported}");
    std::fs::remove_file(site.path("articles/waymo-16-billion-funding-round.md")).unwrap();
    newswire(&[
        "build",
        "--config",
        config,
        "--data",
        data_s,
        "--out",
        &out_path("second"),
    ]);

    // A source and a timeline added through the API (managed catalog
    // entries), the source polled once (its validators and schedule).
    let sqlite = SqliteStore::open_dir(&data).await.unwrap();
    let entry = |kind, name: &str, body| newswire::model::CatalogEntry {
        kind,
        name: name.into(),
        body,
        declared: false,
    };
    use newswire::model::EntryKind;
    let managed = [
        entry(
            EntryKind::Source,
            "wire",
            serde_json::json!({"name": "wire", "url": "https://wire.example/feed.xml", "interval": "20m"}),
        ),
        entry(
            EntryKind::Timeline,
            "world-wire",
            serde_json::json!({"name": "world-wire", "title": "World and wire", "sources": ["wire"], "categories": ["world"]}),
        ),
    ];
    for e in &managed {
        assert!(sqlite.catalog_put(e, true, Utc::now()).await.unwrap());
    }
    let mut polled = sqlite.fetch_states().await.unwrap().remove(0);
    assert_eq!(polled.source, "wire");
    polled.etag = Some("\"v7\"".into());
    polled.body_hash = Some("b7".into());
    // Moved for good (a 301): fetched from there, registered by its origin.
    polled.url = "https://wire.example/moved.xml".into();
    assert_eq!(polled.origin, "https://wire.example/feed.xml");
    polled.last_status = Some(200);
    polled.next_fetch = DateTime::from_timestamp(1_893_456_000, 0).unwrap();
    assert_eq!(
        sqlite
            .save_fetch_states(&[polled.clone()], "x")
            .await
            .unwrap(),
        [true]
    );
    // A closed page of "all" kept as first served (as `serve` keeps one).
    let page = sqlite
        .archive_page(&FeedId::All, &[FeedId::All], 1)
        .await
        .unwrap()
        .expect("the demo's feed of all, by 4, has closed pages");
    // Kept compressed only: the bytes come back from the gzip.
    let first_served = b"<rss>as first served</rss>";
    let gzipped = gzip(first_served);
    let kept = newswire::store::KeptDocument {
        format: "rss",
        body: first_served,
        modified: DateTime::from_timestamp(1_770_000_000, 0),
        compressed: Some((&gzipped, b"br bytes")),
    };
    assert!(
        sqlite
            .keep_archive_documents(&FeedId::All, 1, page.edition, std::slice::from_ref(&kept))
            .await
            .unwrap()
    );
    // A subscriber of the hub, and one whose lease ended.
    let sub = |callback: &str, days: i64| newswire::store::Subscription {
        topic: "http://127.0.0.1:8080/feeds/world.atom".into(),
        callback: callback.into(),
        secret: Some("s3cret".into()),
        // Whole seconds: the stores keep milliseconds.
        lease_until: DateTime::from_timestamp(Utc::now().timestamp() + days * 86_400, 0).unwrap(),
        client: "192.0.2.7".into(),
        callback_host: "reader.example".into(),
    };
    let live = sub("https://reader.example/cb/1", 3);
    sqlite.websub_subscribe(&live).await.unwrap();
    sqlite
        .websub_subscribe(&sub("https://reader.example/cb/old", -1))
        .await
        .unwrap();
    let expected = sqlite.export().await.unwrap();
    drop(sqlite);
    let (items, stones) = (expected.items.len(), expected.tombstones.len());
    assert!(
        items >= 10 && stones >= 2,
        "{items} items, {stones} tombstones"
    );

    let from = format!("sqlite:{}", data.join(SqliteStore::FILE).display());
    // The kept page holds its bytes once: as its gzip.
    let bytes_kept = "SELECT body IS NULL, length(gzip) FROM archive_documents";
    let file = sqlx::SqlitePool::connect(&from).await.unwrap();
    let (compressed_only, gz): (bool, i64) =
        sqlx::query_as(bytes_kept).fetch_one(&file).await.unwrap();
    assert!(compressed_only && gz > 0);
    file.close().await;
    let first = newswire(&["migrate", "--from", &from, "--to", &url]);
    assert!(
        first.contains(&format!(
            "migrated {items} items ({items} new, 0 updated, 0 unchanged) and {stones} tombstones; \
             2 managed catalog entries (2 new); the fetch state of 1 sources; \
             1 kept archive documents; 1 WebSub subscriptions"
        )),
        "{first}"
    );
    let again = newswire(&["migrate", "--from", &from, "--to", &url]);
    assert!(
        again.contains(&format!(
            "migrated {items} items (0 new, 0 updated, {items} unchanged) and {stones} tombstones; \
             2 managed catalog entries (0 new); the fetch state of 1 sources; \
             0 kept archive documents; 1 WebSub subscriptions"
        )),
        "a second run adds nothing: {again}"
    );

    let pg_store = PgStore::open(&url).await.unwrap();
    assert_eq!(
        pg_store.export().await.unwrap(),
        expected,
        "PostgreSQL holds exactly what SQLite held"
    );
    // The site's sources and timelines, and where their polling stood.
    assert_eq!(pg_store.catalog().await.unwrap().entries, managed);
    assert_eq!(pg_store.fetch_states().await.unwrap(), [polled.clone()]);
    // An instance that starts on the new database registers the source by
    // the URL its config gives: the same origin, so nothing starts again.
    pg_store
        .add_sources(&[newswire::model::FetchState::new(
            "wire",
            "https://wire.example/feed.xml",
            Utc::now(),
        )])
        .await
        .unwrap();
    assert_eq!(pg_store.fetch_states().await.unwrap(), [polled]);
    assert_eq!(pg_store.websub_subscriptions().await.unwrap(), [live]);
    let carried = pg_store
        .archive_document(&FeedId::All, 1, "rss")
        .await
        .unwrap()
        .expect("the kept page is carried");
    assert_eq!(
        (
            carried.body.as_slice(),
            carried.modified,
            carried.compressed
        ),
        (
            kept.body,
            kept.modified,
            Some((gzipped.clone(), b"br bytes".to_vec()))
        )
    );
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let (compressed_only, gz): (bool, i32) =
        sqlx::query_as(bytes_kept).fetch_one(&db).await.unwrap();
    assert!(compressed_only && gz > 0, "carried compressed only");
    db.close().await;
    let before = pg_store.versions().await.unwrap();

    newswire(&[
        "build",
        "--config",
        config,
        "--data",
        data_s,
        "--out",
        &out_path("sqlite"),
    ]);
    newswire(&[
        "build",
        "--config",
        config,
        "--database-url",
        &url,
        "--out",
        &out_path("pg"),
    ]);
    assert_eq!(
        pg_store.versions().await.unwrap(),
        before,
        "building from the migrated database changed nothing in it"
    );
    let a = tree(&out.path().join("sqlite"));
    let b = tree(&out.path().join("pg"));
    assert!(a.len() > 20, "{} documents", a.len());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in &a {
        assert!(
            bytes == &b[path],
            "{path} differs between SQLite and PostgreSQL"
        );
    }
    let pages = a.keys().filter(|k| k.contains("/archive/")).count();
    assert!(pages >= 9, "{pages} archive pages, the same from either");
    let tech = String::from_utf8_lossy(&a["feeds/tech.atom"]);
    assert!(tech.contains("deleted-entry"), "the tombstone is rendered");
    assert!(String::from_utf8_lossy(&a["feeds/economy.atom"]).contains("Imported article 2"));
}

/// `store::open` is the only router; both URL schemes reach PostgreSQL.
#[tokio::test]
async fn postgresql_scheme_is_routed_too() {
    let Some((url, _db)) = pg::fresh_database() else {
        return;
    };
    let alt = url.replacen("postgres://", "postgresql://", 1);
    assert_ne!(alt, url);
    let s: Arc<dyn Store> = store::open(Some(&alt), Path::new("unused")).await.unwrap();
    assert!(s.versions().await.unwrap().is_empty());
}

/// A gzip member of `body`, as a kept page's.
fn gzip(body: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, body).unwrap();
    enc.finish().unwrap()
}
