//! Several `newswire serve` instances on one PostgreSQL database serve one site: a
//! write through any of them is served by all within a second, byte for byte with
//! the same validators, and killing one mid-write loses no acknowledged article and
//! duplicates none. Also: while the database is down, the API answers 503 and the
//! feeds keep being served.
//!
//! PostgreSQL only: skipped (with a note) without `NEWSWIRE_TEST_DATABASE_URL`.

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CATEGORIES: [&str; 5] = ["world", "tech", "economy", "morocco", "sports"];

/// One cluster at a time: each runs three servers, and the latency asserted in
/// `three_instances_serve_one_site` must not measure another test's 1,000-write
/// burst competing for the same CPUs.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `n` instances of one copy of the demo site, each with its own data directory,
/// started at the same time on a fresh database (so they race to migrate and to
/// sync the same files).
struct Cluster {
    servers: Vec<Server>,
    _site: SiteDir,
    _db: pg::Guard,
}

fn start_cluster(n: usize) -> Option<Cluster> {
    let (url, db) = pg::fresh_database()?;
    let site = SiteDir::demo();
    let servers = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (site, url) = (&site, &url);
                s.spawn(move || {
                    Server::start_with(
                        site.config(),
                        &site.path(&format!("data-{i}")),
                        &["--database-url", url],
                        &[],
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("an instance starts"))
            .collect()
    });
    Some(Cluster {
        servers,
        _site: site,
        _db: db,
    })
}

fn article(title: &str, category: &str) -> Value {
    json!({
        "title": title,
        "category": category,
        "published": "2026-02-01 18:00",
        "content_markdown": format!("Text of *{title}*."),
    })
}

/// Sends a write; Err is a transport failure (no answer), not an HTTP error.
async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: &Value,
) -> Result<(u16, Value), reqwest::Error> {
    let resp = client
        .request(method, url)
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await?;
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// A write's answer in a burst: its number, the instance it went to, and
/// what came back.
type Sent = (usize, usize, Result<(u16, Value), reqwest::Error>);

/// Posts `total` articles titled `{prefix} {n:04}`, `concurrency` at a
/// time, the n-th to `bases[n % bases.len()]`; once `kill_after` have been
/// answered, `kill` runs off the runtime (so that writes are in flight when
/// it does). The answers, in order.
async fn burst(
    bases: &[String],
    total: usize,
    concurrency: usize,
    prefix: &'static str,
    kill_after: usize,
    kill: impl FnOnce() + Send + 'static,
) -> Vec<Sent> {
    let client = client();
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let finished = Arc::new(AtomicUsize::new(0));
    let kill = Arc::new(std::sync::Mutex::new(Some(kill)));
    let mut tasks = Vec::with_capacity(total);
    for n in 0..total {
        let (client, permits, finished, kill) = (
            client.clone(),
            permits.clone(),
            finished.clone(),
            kill.clone(),
        );
        let target = n % bases.len();
        let url = format!("{}/api/v1/articles", bases[target]);
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            let title = format!("{prefix} {n:04}");
            let result = send(
                &client,
                reqwest::Method::POST,
                &url,
                &article(&title, CATEGORIES[n % 5]),
            )
            .await;
            if finished.fetch_add(1, Ordering::SeqCst) + 1 == kill_after
                && let Some(kill) = kill.lock().unwrap().take()
            {
                tokio::task::spawn_blocking(kill);
            }
            (n, target, result)
        }));
    }
    let mut sent = Vec::with_capacity(total);
    for t in tasks {
        sent.push(t.await.unwrap());
    }
    sent
}

/// What a reader sees of a document: status, body, ETag, Last-Modified.
type Seen = (u16, Vec<u8>, String, String);

async fn seen(server: &Server, path: &str, headers: &[(&str, &str)]) -> Seen {
    let (status, h, body) = get(&server.url(path), headers).await;
    (
        status,
        body,
        header(&h, "etag"),
        header(&h, "last-modified"),
    )
}

/// Waits until every server answers every demo feed path identically (in each
/// encoding), then returns one server's view of each; panics naming the first
/// difference if they do not converge.
async fn converged(servers: &[&Server]) -> BTreeMap<String, Seen> {
    let encodings: [&[(&str, &str)]; 3] = [
        &[],
        &[("accept-encoding", "gzip")],
        &[("accept-encoding", "br")],
    ];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut first_difference = None;
        let mut views = BTreeMap::new();
        'paths: for path in demo_feed_paths() {
            for enc in encodings {
                let reference = seen(servers[0], &path, enc).await;
                for s in &servers[1..] {
                    let other = seen(s, &path, enc).await;
                    if other != reference {
                        first_difference = Some(format!(
                            "{path} {enc:?}: {} answers {} {:?} {:?} ({} bytes), {} answers {} {:?} {:?} ({} bytes)",
                            servers[0].base,
                            reference.0,
                            reference.2,
                            reference.3,
                            reference.1.len(),
                            s.base,
                            other.0,
                            other.2,
                            other.3,
                            other.1.len()
                        ));
                        break 'paths;
                    }
                }
                if enc.is_empty() {
                    assert_eq!(reference.0, 200, "{path}");
                    assert!(
                        !reference.2.is_empty() && !reference.3.is_empty(),
                        "{path} has validators"
                    );
                    views.insert(path.clone(), reference);
                }
            }
        }
        match first_difference {
            None => return views,
            Some(d) if Instant::now() > deadline => {
                panic!("instances still differ after 10 s: {d}")
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_serve_one_site() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let Some(cluster) = start_cluster(3) else {
        return;
    };
    let [a, b, c] = [
        &cluster.servers[0],
        &cluster.servers[1],
        &cluster.servers[2],
    ];
    let client = client();

    // Before any write, the three agree on what the files gave them.
    converged(&[a, b, c]).await;

    // Written through A, served by B and C within a second.
    let title = "Cluster check: one write, three servers";
    let (status, created) = send(
        &client,
        reqwest::Method::POST,
        &a.url("/api/v1/articles"),
        &article(title, "world"),
    )
    .await
    .expect("A answers");
    assert_eq!(status, 201, "{created}");
    let acknowledged = Instant::now();
    let key = created["id"].as_str().expect("an id").to_owned();
    let guid = created["guid"].as_str().expect("a guid").to_owned();
    let entry_id = format!("<id>{guid}</id>");
    // Both polled at once, so neither measurement includes the other's.
    let delays = futures_util::future::join_all([b, c].map(|s| {
        let entry_id = &entry_id;
        async move {
            let found = eventually(Duration::from_secs(5), || async {
                let (_, _, body) = get(&s.url("/feeds/world.atom"), &[]).await;
                text(&body).contains(entry_id).then(Instant::now)
            })
            .await
            .unwrap_or_else(|| panic!("{} never served the article", s.base));
            (s.base.clone(), found.duration_since(acknowledged))
        }
    }))
    .await;
    for (base, delay) in delays {
        eprintln!("{base} served it {delay:?} after A acknowledged it");
        assert!(delay < Duration::from_secs(1), "{base} took {delay:?}");
    }

    // Every feed: same bytes, same ETag, same Last-Modified everywhere.
    let views = converged(&[a, b, c]).await;
    assert!(text(&views["/feeds/world.atom"].1).contains(&entry_id));

    // A validator from one instance is good on the others.
    let (_, _, etag, last_modified) = &views["/feeds/world.atom"];
    let (status, _, body) = get(&b.url("/feeds/world.atom"), &[("if-none-match", etag)]).await;
    assert_eq!(status, 304, "B honours A's ETag");
    assert!(body.is_empty());
    let (status, _, _) = get(
        &c.url("/feeds/world.rss"),
        &[("if-none-match", &views["/feeds/world.rss"].2)],
    )
    .await;
    assert_eq!(status, 304, "C honours A's RSS ETag");
    let (status, _, _) = get(
        &c.url("/feeds/world.atom"),
        &[("if-modified-since", last_modified)],
    )
    .await;
    assert_eq!(status, 304, "C honours A's Last-Modified");

    // A correction through C is an update in place on every instance.
    let corrected = "Cluster check: one write, three servers (corrected)";
    let (status, updated) = send(
        &client,
        reqwest::Method::PUT,
        &c.url(&format!("/api/v1/articles/{key}")),
        &article(corrected, "world"),
    )
    .await
    .expect("C answers");
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["outcome"], "updated");
    assert_eq!(updated["id"], key.as_str(), "same id");
    assert_eq!(updated["guid"], guid.as_str(), "same permanent id");
    for s in [a, b, c] {
        eventually(Duration::from_secs(5), || async {
            let (_, _, body) = get(&s.url("/feeds/world.atom"), &[]).await;
            text(&body).contains(corrected).then_some(())
        })
        .await
        .unwrap_or_else(|| panic!("{} never served the correction", s.base));
    }
    let views = converged(&[a, b, c]).await;
    for path in [
        "/feeds/world.atom",
        "/feeds/all.atom",
        "/feeds/world.rss",
        "/feeds/world.json",
    ] {
        let body = text(&views[path].1);
        assert_eq!(
            body.matches(&guid).count(),
            1,
            "{path}: one entry with that id"
        );
        assert!(body.contains(corrected), "{path} has the new title");
        assert!(
            !body.contains(&format!("{title}<")) && !body.contains(&format!("\"{title}\"")),
            "{path} still has the old title"
        );
    }
    for s in [a, b, c] {
        let (status, _, body) = get(&s.url(&format!("/api/v1/articles/{key}")), &[]).await;
        assert_eq!(status, 200);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["title"], corrected, "{}", s.base);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn acknowledged_writes_survive_killing_an_instance_mid_burst() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let Some(mut cluster) = start_cluster(3) else {
        return;
    };
    const TOTAL: usize = 1000;
    const KILL_AFTER: usize = 250;
    let bases: Vec<String> = cluster.servers.iter().map(|s| s.base.clone()).collect();
    let b = Arc::new(std::sync::Mutex::new(Some(cluster.servers.remove(1))));
    let started = Instant::now();
    // SIGKILL B while ~64 writes are in flight on all three.
    let killed = b.clone();
    let sent = burst(&bases, TOTAL, 64, "Burst article", KILL_AFTER, move || {
        if let Some(server) = killed.lock().unwrap().take() {
            server.kill();
        }
    })
    .await;
    let mut acked: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_target = [[0usize; 2]; 3]; // [acknowledged, not]
    let mut refused = Vec::new();
    for (n, target, result) in sent {
        match result {
            Ok((status, body)) if (200..300).contains(&status) => {
                let key = body["id"]
                    .as_str()
                    .expect("an acknowledged write has an id")
                    .to_owned();
                assert!(acked.insert(key, n).is_none(), "two writes got the same id");
                per_target[target][0] += 1;
            }
            Ok((status, body)) => {
                per_target[target][1] += 1;
                refused.push(format!("#{n} on {}: {status} {body}", bases[target]));
            }
            Err(_) => per_target[target][1] += 1,
        }
    }
    eprintln!(
        "burst done in {:?}: [acknowledged, not] per instance A, B, C = {per_target:?}",
        started.elapsed()
    );
    assert!(b.lock().unwrap().is_none(), "B was killed during the burst");
    assert_eq!(
        per_target[0][1] + per_target[2][1],
        0,
        "A and C acknowledged every write: {refused:?}"
    );
    assert!(per_target[1][0] > 0, "B acknowledged writes before it died");
    assert!(per_target[1][1] > 0, "writes to B failed after it died");

    // Every acknowledged article is stored; none twice.
    let a = &cluster.servers[0];
    let c = &cluster.servers[1];
    let client = client();
    let missing = futures_util::future::join_all(acked.keys().map(|key| {
        let url = a.url(&format!("/api/v1/articles/{key}"));
        let client = client.clone();
        async move {
            let status = client.get(&url).send().await.map(|r| r.status().as_u16());
            (status.ok() != Some(200)).then(|| key.clone())
        }
    }))
    .await
    .into_iter()
    .flatten()
    .collect::<Vec<_>>();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );

    let mut listed_everywhere = Vec::new();
    for s in [a, c] {
        let mut listed = Vec::new();
        for category in CATEGORIES {
            let (status, _, body) = get(
                &s.url(&format!("/api/v1/articles?category={category}&limit=500")),
                &[],
            )
            .await;
            assert_eq!(status, 200);
            let list: Vec<Value> = serde_json::from_slice(&body).unwrap();
            assert!(list.len() < 500, "the listing of {category} is complete");
            listed.extend(
                list.iter()
                    .filter(|v| {
                        v["title"]
                            .as_str()
                            .is_some_and(|t| t.starts_with("Burst article"))
                    })
                    .map(|v| v["id"].as_str().unwrap().to_owned()),
            );
        }
        let unique: BTreeSet<_> = listed.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            listed.len(),
            "no article is listed twice on {}",
            s.base
        );
        assert!(
            acked.keys().all(|k| unique.contains(k)),
            "every acknowledged article is listed on {}",
            s.base
        );
        assert!(listed.len() <= TOTAL);
        listed_everywhere.push(unique);
    }
    assert_eq!(
        listed_everywhere[0], listed_everywhere[1],
        "A and C list the same articles"
    );

    // The survivors converge on the same documents.
    converged(&[a, c]).await;
}

/// One instance SIGKILLed while its group committer writes: concurrent
/// writers share transactions (its log shows groups of several callers), and
/// after the kill every acknowledged article is stored, and none twice.
#[tokio::test(flavor = "multi_thread")]
async fn killing_an_instance_mid_group_commit_loses_no_acknowledged_write() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let Some((url, _db)) = pg::fresh_database() else {
        return;
    };
    const TOTAL: usize = 600;
    const KILL_AFTER: usize = 200;
    let site = SiteDir::demo();
    let server = Server::start_with(
        site.config(),
        &site.path("data-0"),
        &["--database-url", &url],
        &[("RUST_LOG", "info,sqlx=warn,newswire::store::group=debug")],
    );
    let base = server.base.clone();
    let victim = Arc::new(std::sync::Mutex::new(Some(server)));
    let log = Arc::new(std::sync::Mutex::new(String::new()));
    // SIGKILL while ~48 writes are in flight, in its groups.
    let (killed, kept) = (victim.clone(), log.clone());
    let sent = burst(
        &[base],
        TOTAL,
        48,
        "Grouped article",
        KILL_AFTER,
        move || {
            if let Some(server) = killed.lock().unwrap().take() {
                *kept.lock().unwrap() = server.log_text();
                server.kill();
            }
        },
    )
    .await;
    let mut acked: BTreeMap<String, usize> = BTreeMap::new();
    let mut failed = 0;
    for (n, _, result) in sent {
        match result {
            Ok((status, body)) if (200..300).contains(&status) => {
                let id = body["id"]
                    .as_str()
                    .expect("an acknowledged write has an id")
                    .to_owned();
                assert!(acked.insert(id, n).is_none(), "two writes got the same id");
            }
            _ => failed += 1,
        }
    }
    assert!(
        victim.lock().unwrap().is_none(),
        "the instance was killed during the burst"
    );
    assert!(
        acked.len() >= KILL_AFTER / 2 && failed > 0,
        "{} acknowledged, {failed} not",
        acked.len()
    );
    let log = log.lock().unwrap().clone();
    let grouped = log
        .lines()
        .filter(|l| l.contains("group commit"))
        .filter_map(|l| {
            l.split("callers=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse::<usize>()
                .ok()
        })
        .max()
        .unwrap_or(0);
    assert!(
        grouped > 1,
        "concurrent writes shared a commit (largest group {grouped})"
    );

    // Another instance on the same database: every acknowledged article, once.
    let after = Server::start_with(
        site.config(),
        &site.path("data-1"),
        &["--database-url", &url],
        &[],
    );
    for key in acked.keys() {
        let (status, _, _) = get(&after.url(&format!("/api/v1/articles/{key}")), &[]).await;
        assert_eq!(status, 200, "acknowledged but not stored: {key}");
    }
    let mut titles = Vec::new();
    for category in CATEGORIES {
        let (status, _, body) = get(
            &after.url(&format!("/api/v1/articles?category={category}&limit=500")),
            &[],
        )
        .await;
        assert_eq!(status, 200);
        let list: Vec<Value> = serde_json::from_slice(&body).unwrap();
        titles.extend(
            list.iter()
                .filter_map(|v| v["title"].as_str())
                .filter(|t| t.starts_with("Grouped article"))
                .map(str::to_owned),
        );
    }
    let unique: BTreeSet<_> = titles.iter().cloned().collect();
    assert_eq!(unique.len(), titles.len(), "no article stored twice");
    assert!(after.stop());
}

/// One instance whose database goes away: writes get 503 problem+json, the feeds
/// keep being served from the cache, and writes work again once it is back.
#[tokio::test(flavor = "multi_thread")]
async fn a_database_outage_answers_503_and_keeps_serving() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let Some((url, _db)) = pg::fresh_database() else {
        return;
    };
    let proxy = pg::Proxy::start(pg::server_addr(&url));
    let site = SiteDir::demo();
    let server = Server::start_with(
        site.config(),
        &site.data(),
        &["--database-url", &pg::via(&url, proxy.addr)],
        &[],
    );
    let client = client();
    let before = seen(&server, "/feeds/world.atom", &[]).await;
    assert_eq!(before.0, 200);

    proxy.cut();
    let started = Instant::now();
    let body = article("Written while the database is down", "world");
    let resp = client
        .post(server.url("/api/v1/articles"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(
        header(resp.headers(), "content-type"),
        "application/problem+json"
    );
    let problem: Value = resp.json().await.unwrap();
    assert_eq!(problem["status"], 503);
    eprintln!("503 after {:?}: {problem}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        seen(&server, "/feeds/world.atom", &[]).await,
        before,
        "the cached feed is still served"
    );
    let (status, _, _) = get(
        &server.url("/feeds/world.atom"),
        &[("if-none-match", &before.2)],
    )
    .await;
    assert_eq!(status, 304);
    // Health says so, as a degraded state that load balancers still route reads to.
    let health = eventually(Duration::from_secs(15), || async {
        let (status, _, b) = get(&server.url("/healthz"), &[]).await;
        assert_eq!(status, 200, "health stays 200 while the feeds are served");
        let h: Value = serde_json::from_slice(&b).unwrap();
        (h["status"] == "degraded" && h["store"]["status"] == "unreachable").then_some(h)
    })
    .await
    .expect("/healthz reports the unreachable store");
    eprintln!("health during the outage: {health}");

    proxy.restore();
    eventually(Duration::from_secs(15), || async {
        let (_, _, b) = get(&server.url("/healthz"), &[]).await;
        let h: Value = serde_json::from_slice(&b).unwrap();
        (h["status"] == "ok" && h["store"]["status"] == "ok").then_some(())
    })
    .await
    .expect("/healthz is ok again once the database is back");
    let stored = eventually(Duration::from_secs(15), || async {
        match send(
            &client,
            reqwest::Method::POST,
            &server.url("/api/v1/articles"),
            &body,
        )
        .await
        {
            Ok((201, v)) => Some(v),
            _ => None,
        }
    })
    .await
    .expect("writes work again once the database is back");
    let guid = stored["guid"].as_str().unwrap().to_owned();
    eventually(Duration::from_secs(5), || async {
        let (_, _, b) = get(&server.url("/feeds/world.atom"), &[]).await;
        text(&b).contains(&guid).then_some(())
    })
    .await
    .expect("and the feed shows them");
}

/// Thirty sources polled by three instances sharing one PostgreSQL database:
/// the upstream's own log shows each source fetched once per interval (never
/// twice by two instances), the work spread over the instances, and, after one
/// is SIGKILLed, its sources taken over once its leases expire.
#[tokio::test]
async fn three_instances_share_the_polling_and_take_over_a_dead_ones_sources() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some((url, _db)) = pg::fresh_database() else {
        eprintln!("skipping: NEWSWIRE_TEST_DATABASE_URL is not set");
        return;
    };
    let up = common::upstream::Upstream::start();
    let site = SiteDir::demo();
    let mut toml = String::from(
        "[fetch]\nallow_private_networks = true\nmin_interval = \"1s\"\ninterval = \"3s\"\ntimeout = \"1s\"\nconnect_timeout = \"1s\"\nretention = \"3650d\"\n",
    );
    for n in 0..30 {
        let path = format!("/s{n:02}.xml");
        up.set(
            &path,
            "application/rss+xml",
            format!("<rss version=\"2.0\"><channel><title>S{n}</title><link>https://s{n}.example/</link><description>d</description><item><title>Story {n}</title><link>https://s{n}.example/1</link><guid>s{n}-1</guid><pubDate>Sat, 28 Nov 2026 08:00:00 GMT</pubDate></item></channel></rss>"),
        );
        toml.push_str(&format!(
            "\n[[sources]]\nname = \"s{n:02}\"\nurl = \"{}\"\n",
            up.url(&path)
        ));
    }
    site.append_config(&toml);
    let mut servers: Vec<Server> = (0..3)
        .map(|i| {
            Server::start_with(
                site.config(),
                &site.path(&format!("data-{i}")),
                &["--database-url", &url],
                &[],
            )
        })
        .collect();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(10)).await;

    // Once per interval: consecutive requests for a source are an interval
    // apart (claims run every second, so up to a second later), never closer.
    let check_gaps = |from: Instant| {
        for n in 0..30 {
            let seen = up.requests(&format!("/s{n:02}.xml"));
            let times: Vec<Instant> = seen.iter().map(|s| s.at).filter(|t| *t >= from).collect();
            assert!(
                times.len() >= 2,
                "s{n:02} fetched {} times since the mark",
                times.len()
            );
            for pair in times.windows(2) {
                let gap = pair[1] - pair[0];
                assert!(
                    gap >= Duration::from_millis(2500),
                    "s{n:02} fetched twice within {gap:?}: two instances, or early"
                );
            }
        }
    };
    check_gaps(started);
    // The work is shared: every instance fetches some. Sources fall due
    // together and go to whichever instances claim first after that, so one
    // instance may sit out a few rounds: it is given up to 20 s more.
    let fetched_by = |s: &Server| {
        let url = s.url("/metrics");
        async move {
            let (_, _, metrics) = get(&url, &[]).await;
            String::from_utf8(metrics)
                .unwrap()
                .lines()
                .filter(|l| l.starts_with("newswire_fetches_total{"))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum::<f64>()
        }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let per_instance = loop {
        let mut counts = Vec::new();
        for s in &servers {
            counts.push(fetched_by(s).await);
        }
        if counts.iter().all(|n| *n > 0.0) || Instant::now() > deadline {
            break counts;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(per_instance.iter().all(|n| *n > 0.0), "{per_instance:?}");

    // SIGKILL one: its leases (timeout + 10 s) run out, and the others take its
    // sources over. From then on, every source is fetched on schedule again.
    servers.remove(0).kill();
    tokio::time::sleep(Duration::from_secs(12)).await;
    let mark = Instant::now();
    tokio::time::sleep(Duration::from_secs(8)).await;
    check_gaps(mark);
    for s in servers {
        assert!(s.stop());
    }
}

/// A source in the shared store that one instance's config lacks (its own
/// config file's, or one added through another instance a moment ago) is
/// never claimed by that instance: it could not fetch it, and its lease
/// would keep the source from the instances that can. Two instances, the
/// source declared in one's config only: the upstream sees it fetched every
/// interval, and all by that one.
#[tokio::test]
async fn a_source_one_instance_lacks_is_polled_on_schedule_by_the_one_that_has_it() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some((url, _db)) = pg::fresh_database() else {
        eprintln!("skipping: NEWSWIRE_TEST_DATABASE_URL is not set");
        return;
    };
    let up = common::upstream::Upstream::start();
    up.set(
        "/only.xml",
        "application/rss+xml",
        "<rss version=\"2.0\"><channel><title>Only</title><link>https://only.example/</link><description>d</description><item><title>Only here</title><link>https://only.example/1</link><guid>only-1</guid><pubDate>Sat, 28 Nov 2026 08:00:00 GMT</pubDate></item></channel></rss>",
    );
    let fetch = "[fetch]\nallow_private_networks = true\nmin_interval = \"1s\"\ninterval = \"2s\"\ntimeout = \"1s\"\nconnect_timeout = \"1s\"\n";
    let (has, lacks) = (SiteDir::demo(), SiteDir::demo());
    has.append_config(&format!(
        "{fetch}\n[[sources]]\nname = \"only\"\nurl = \"{}\"\n",
        up.url("/only.xml")
    ));
    // Its own source keeps its poller running.
    up.set(
        "/own.xml",
        "application/rss+xml",
        "<rss version=\"2.0\"><channel><title>Own</title><link>https://own.example/</link><description>d</description></channel></rss>",
    );
    lacks.append_config(&format!(
        "{fetch}\n[[sources]]\nname = \"own\"\nurl = \"{}\"\n",
        up.url("/own.xml")
    ));
    let servers: Vec<Server> = [&has, &lacks]
        .iter()
        .map(|site| {
            Server::start_with(
                site.config(),
                &site.path("data"),
                &["--database-url", &url],
                &[],
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(9)).await;
    let times: Vec<Instant> = up.requests("/only.xml").iter().map(|s| s.at).collect();
    // Due every 2 s, claims about every second: at least three fetches in 9 s
    // (a claim by the other instance used to push the source a day away).
    assert!(
        times.len() >= 3,
        "fetched {} times in 9 s; logs:\n{}\n{}",
        times.len(),
        servers[0].log_text(),
        servers[1].log_text()
    );
    let (_, _, metrics) = get(&servers[1].url("/metrics"), &[]).await;
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        !metrics
            .lines()
            .any(|l| l.starts_with("newswire_fetches_total{") && l.contains("\"only\"")),
        "the instance without the source fetched it:\n{metrics}"
    );
    for s in servers {
        assert!(s.stop());
    }
}
