//! Durability under a crash: a write the API acknowledged survives SIGKILL, and no
//! item is ever stored or shown twice.

mod common;
use common::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};

const POSTS: usize = 1_000;
const IN_FLIGHT: usize = 64;
/// Kill the server once this many POSTs have been acknowledged.
const KILL_AFTER: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill_and_are_never_duplicated() {
    let started = Instant::now();
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let url = server.url("/api/v1/articles");

    let acked: Arc<Mutex<BTreeMap<usize, (String, String)>>> = Default::default();
    let count = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let enough = Arc::new(Notify::new());
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let http = client();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..POSTS {
        let (url, http, acked, count, failed, enough, permits) = (
            url.clone(),
            http.clone(),
            acked.clone(),
            count.clone(),
            failed.clone(),
            enough.clone(),
            permits.clone(),
        );
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            // Distinct titles and times; no id, so the server derives it.
            let published = format!("2026-10-01T10:{:02}:{:02}+01:00", i / 60, i % 60);
            let body = json!({
                "title": format!("Crash test article number {i}"),
                "category": "world",
                "published": published,
                "summary": format!("Article {i} of the crash test.")
            });
            let sent = http.post(&url).bearer_auth(TOKEN).json(&body).send().await;
            let resp = match sent {
                Ok(r) if r.status().is_success() => r,
                Ok(r) => {
                    // The server answered but refused: never expected here.
                    panic!("POST {i}: {}", r.status());
                }
                Err(_) => {
                    failed.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            };
            // The status line is the acknowledgement; a body cut by the kill still counts.
            let status = resp.status().as_u16();
            let Ok(bytes) = resp.bytes().await else {
                failed.fetch_add(1, Ordering::SeqCst);
                return;
            };
            let v: Value = serde_json::from_slice(&bytes).expect("a JSON answer");
            assert_eq!(status, 201, "POST {i}: {v}");
            let id = v["id"].as_str().unwrap().to_owned();
            let guid = v["guid"].as_str().unwrap().to_owned();
            acked.lock().unwrap().insert(i, (id, guid));
            if count.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
                enough.notify_one();
            }
        });
    }

    tokio::time::timeout(Duration::from_secs(40), enough.notified())
        .await
        .expect("300 POSTs acknowledged within 40 s");
    let pid = server.child.id();
    tokio::task::spawn_blocking(move || server.kill())
        .await
        .unwrap();
    let at_kill = count.load(Ordering::SeqCst);
    while let Some(r) = tasks.join_next().await {
        r.expect("a POST task does not panic");
    }
    let acked = Arc::try_unwrap(acked).unwrap().into_inner().unwrap();
    let failed = failed.load(Ordering::SeqCst);
    println!(
        "killed pid {pid} with {at_kill} acknowledged; in the end {} acknowledged, {failed} failed",
        acked.len()
    );
    assert!(
        acked.len() >= KILL_AFTER,
        "at least {KILL_AFTER} acknowledged"
    );
    assert!(
        failed > 0 && acked.len() < POSTS,
        "the kill must land while POSTs are still being sent"
    );
    assert_eq!(acked.len() + failed, POSTS);

    // Same site, same data directory.
    let server = Server::start(&site, &[]);
    let http = client();
    for (i, (id, guid)) in &acked {
        let r = http
            .get(server.url(&format!("/api/v1/articles/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "acknowledged POST {i} ({id}) lost");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["guid"], guid.as_str());
        assert_eq!(v["title"], format!("Crash test article number {i}"));
    }

    // In the store: every acknowledged id once, and no id twice.
    let listed: Vec<Value> = http
        .get(server.url("/api/v1/articles?category=world&limit=500"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        listed.len() < 500,
        "the list holds everything stored ({} items)",
        listed.len()
    );
    let mut ids = HashSet::new();
    for a in &listed {
        let id = a["id"].as_str().unwrap();
        assert!(ids.insert(id.to_owned()), "{id} listed twice");
    }
    for (i, (id, _)) in &acked {
        assert!(ids.contains(id), "acknowledged POST {i} ({id}) not listed");
    }
    let stored_crash = listed
        .iter()
        .filter(|a| a["title"].as_str().unwrap().starts_with("Crash test"))
        .count();
    println!(
        "after restart: {stored_crash} crash-test articles stored ({} acknowledged)",
        acked.len()
    );
    assert!(stored_crash <= acked.len() + IN_FLIGHT);

    // In the feeds: no entry twice, and the newest acknowledged ones are there.
    let acked_guids: HashSet<&str> = acked.values().map(|(_, g)| g.as_str()).collect();
    for path in ["/feeds/world.rss", "/feeds/all.rss"] {
        let (status, _, body) = get(&server.url(path), &[]).await;
        assert_eq!(status, 200);
        let channel = rss::Channel::read_from(&body[..]).unwrap();
        let mut seen = HashSet::new();
        for item in channel.items() {
            let guid = item.guid().unwrap().value();
            assert!(seen.insert(guid.to_owned()), "{path}: {guid} twice");
        }
        assert!(!seen.is_empty());
    }
    let (_, _, body) = get(&server.url("/feeds/world.atom"), &[]).await;
    let feed = atom_syndication::Feed::read_from(&body[..]).unwrap();
    let mut seen = HashSet::new();
    for e in feed.entries() {
        assert!(
            seen.insert(e.id().to_owned()),
            "world.atom: {} twice",
            e.id()
        );
    }
    // The feed and its archive pages (RFC 5005 `next_url` in JSON Feed) show
    // every stored world article, each once among the pages; the
    // subscription document is full (the newest 50, and what no page holds
    // yet), and may repeat some of the newest page's.
    let mut json_ids: Vec<String> = Vec::new();
    let (mut head, mut paged) = (HashSet::new(), HashSet::new());
    let mut next = Some("/feeds/world.json".to_owned());
    let mut documents = 0;
    while let Some(path) = next {
        let (status, _, body) = get(&server.url(&path), &[]).await;
        assert_eq!(status, 200, "{path}");
        let doc: Value = serde_json::from_slice(&body).unwrap();
        let items = doc["items"].as_array().unwrap();
        if documents == 0 {
            assert!(
                (50..=100).contains(&items.len()),
                "world.json: {}",
                items.len()
            );
        }
        for id in items.iter().map(|i| i["id"].as_str().unwrap().to_owned()) {
            if documents == 0 {
                head.insert(id.clone());
                json_ids.push(id);
            } else if !paged.insert(id.clone()) {
                panic!("{id} in two archive pages");
            } else if !head.contains(&id) {
                json_ids.push(id);
            }
        }
        next = doc["next_url"]
            .as_str()
            .map(|u| reqwest::Url::parse(u).unwrap().path().to_owned());
        documents += 1;
    }
    let mut stored_world: Vec<&str> = listed
        .iter()
        .filter(|a| a["category"] == "world")
        .map(|a| a["guid"].as_str().unwrap())
        .collect();
    stored_world.sort_unstable();
    // (The world feed also carries ticker items, which the articles API does
    // not list.)
    let mut walked: Vec<&str> = json_ids
        .iter()
        .map(String::as_str)
        .filter(|id| id.contains(":article/"))
        .collect();
    walked.sort_unstable();
    assert!(
        walked == stored_world,
        "world.json and its archive pages: {} articles, {} stored, first differing {:?}",
        walked.len(),
        stored_world.len(),
        walked.iter().zip(&stored_world).find(|(a, b)| a != b)
    );
    let in_feed_acked = json_ids
        .iter()
        .filter(|g| acked_guids.contains(g.as_str()))
        .count();
    println!("world: {in_feed_acked} acknowledged articles in {documents} documents");
    assert!(server.stop(), "graceful shutdown exits 0");
    let took = started.elapsed();
    println!("crash test took {took:?}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
}
