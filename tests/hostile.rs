//! Inputs built to hurt the process, each served from 127.0.0.1 inside the
//! test, against the real binary: nested-element bombs in every format and in
//! a scraped page, a title of megabytes, an entry flood, a hub subscription
//! flood, cold-page stampedes, forged verifications at the subscriber's
//! callback, a connection flood, and SIGTERM while a poll is busy. After
//! each, the same property: the process is alive, `/healthz` answered within
//! a second throughout, a legitimate write and a feed read succeed, and the
//! served documents still pass check-feed.

mod common;
use common::upstream::Upstream;
use common::*;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A site polling `sources` (name, path on `up`), with `extra` TOML.
fn site(up: &Upstream, sources: &[(&str, &str)], extra: &str) -> SiteDir {
    let site = SiteDir::demo();
    let mut toml = String::from(
        "[fetch]\nallow_private_networks = true\nmin_interval = \"1s\"\ninterval = \"1h\"\ntimeout = \"20s\"\nbudget = \"3s\"\n",
    );
    toml.push_str(extra);
    for (name, path) in sources {
        let url = up.url(path);
        if let Some(rest) = name.strip_prefix("scrape:") {
            toml.push_str(&format!(
                "\n[[scrapes]]\nname = \"{rest}\"\nurl = \"{url}\"\ncategory = \"world\"\n[scrapes.list]\nitem = \"li\"\n"
            ));
        } else {
            toml.push_str(&format!(
                "\n[[sources]]\nname = \"{name}\"\nurl = \"{url}\"\n"
            ));
        }
    }
    let names: Vec<String> = sources
        .iter()
        .map(|(n, _)| format!("\"{}\"", n.trim_start_matches("scrape:")))
        .collect();
    toml.push_str(&format!(
        "\n[[timelines]]\nname = \"wire\"\ntitle = \"The wire\"\ncategories = [\"world\"]\nsources = [{}]\n",
        names.join(", ")
    ));
    site.append_config(&toml);
    site
}

/// Watches `/healthz` from another task while a test runs: every answer
/// must come within a second.
struct Watch {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(usize, Duration)>,
}

impl Watch {
    fn start(server: &Server) -> Watch {
        let stop = Arc::new(AtomicBool::new(false));
        let (url, flag) = (server.url("/healthz"), stop.clone());
        let task = tokio::spawn(async move {
            let client = client();
            let (mut n, mut worst) = (0, Duration::ZERO);
            while !flag.load(Ordering::Relaxed) {
                let started = Instant::now();
                let resp = tokio::time::timeout(Duration::from_secs(5), client.get(&url).send())
                    .await
                    .expect("/healthz answers")
                    .expect("/healthz answers");
                assert_eq!(resp.status(), 200);
                worst = worst.max(started.elapsed());
                n += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (n, worst)
        });
        Watch { stop, task }
    }

    /// Stops watching: every answer came within a second.
    async fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let (n, worst) = self.task.await.unwrap();
        assert!(n > 0, "/healthz was asked");
        assert!(
            worst < Duration::from_secs(1),
            "/healthz took {worst:?} at its slowest"
        );
    }
}

/// The property that must hold after every attack: alive, a write and a read
/// succeed, the served documents pass check-feed.
async fn still_serving(server: &mut Server, feeds: &[&str]) {
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the process is alive; log:\n{}",
        server.log_text()
    );
    let id = format!("alive-{}", Instant::now().elapsed().as_nanos());
    let resp = client()
        .post(server.url("/api/v1/articles"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({
            "id": id, "title": "Still here", "category": "world",
            "published": chrono::Utc::now().to_rfc3339(),
            "content_markdown": "A legitimate write."
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let seen = eventually(Duration::from_secs(5), || async {
        let (status, _, body) = get(&server.url("/feeds/world.atom"), &[]).await;
        (status == 200 && String::from_utf8_lossy(&body).contains("Still here")).then_some(())
    })
    .await;
    assert!(seen.is_some(), "the write shows in the feed");
    check_feed(server, feeds).await;
}

/// `n` elements nested in one another inside `inside`.
fn nested(open: &str, close: &str, n: usize) -> String {
    let mut out = String::with_capacity((open.len() + close.len()) * n);
    for _ in 0..n {
        out.push_str(open);
    }
    for _ in 0..n {
        out.push_str(close);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_element_bomb_in_every_format_is_a_failed_poll() {
    let up = Upstream::start();
    const N: usize = 100_000;
    let bombs: Vec<(&str, &str, String)> = vec![
        // atom_syndication reads extension elements recursively.
        (
            "atom",
            "/atom-bomb.xml",
            format!(
                r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:x="urn:x"><title>t</title><id>urn:x:1</id><updated>2026-01-01T00:00:00Z</updated><entry><title>e</title><id>urn:x:2</id><updated>2026-01-01T00:00:00Z</updated>{}</entry></feed>"#,
                nested("<x:a>", "</x:a>", N)
            ),
        ),
        // feed-rs reads Media RSS groups recursively.
        (
            "rss",
            "/rss-bomb.xml",
            format!(
                r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title><link>http://a.example/</link><description>d</description><item><title>i</title>{}</item></channel></rss>"#,
                nested("<media:group>", "</media:group>", N)
            ),
        ),
        (
            "rdf",
            "/rdf-bomb.xml",
            format!(
                r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel><title>t</title></channel><item><title>i</title>{}</item></rdf:RDF>"#,
                nested("<x>", "</x>", N)
            ),
        ),
        (
            "atom03",
            "/atom03-bomb.xml",
            format!(
                r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>t</title><entry><title>e</title>{}</entry></feed>"#,
                nested("<content>", "</content>", N)
            ),
        ),
        (
            "json",
            "/bomb.json",
            format!(
                r#"{{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[{{"id":"1","title":"x","_x":{}}}]}}"#,
                nested("[", "]", N)
            ),
        ),
        (
            "scrape:page",
            "/page-bomb.html",
            format!(
                "<html><body><ul><li>12:00 A headline</li></ul>{}</body></html>",
                nested("<div>", "</div>", N)
            ),
        ),
        // Deep but within bounds, and well formed: still read.
        (
            "fine",
            "/fine.xml",
            format!(
                r#"<rss version="2.0"><channel><title>Fine</title><link>http://a.example/</link><description>d</description><item><title>Nested a little</title><link>http://a.example/1</link><guid>g1</guid><description>{}</description></item></channel></rss>"#,
                nested("&lt;div&gt;", "&lt;/div&gt;", 2_000)
            ),
        ),
    ];
    for (_, path, body) in &bombs {
        let ct = if path.ends_with(".json") {
            "application/feed+json"
        } else if path.ends_with(".html") {
            "text/html"
        } else {
            "application/xml"
        };
        up.set(path, ct, body.as_bytes());
    }
    let sources: Vec<(&str, &str)> = bombs.iter().map(|(n, p, _)| (*n, *p)).collect();
    let site = site(&up, &sources, "");
    let mut server = Server::start(&site, &[]);
    let watch = Watch::start(&server);
    // The first poll starts with the server; every source gets one.
    let listed = polled(&server, bombs.len()).await;
    for (name, _, _) in &bombs {
        let name = name.trim_start_matches("scrape:");
        let source = listed.iter().find(|s| s["name"] == name).unwrap();
        if name == "fine" {
            assert_eq!(source["status"], "ok", "{source}");
            continue;
        }
        assert_eq!(source["status"], "failing", "{name}: {source}");
        let error = source["error"].as_str().unwrap_or_default();
        assert!(error.contains("nests"), "{name}: a clear error: {error}");
    }
    // Fetched again now, the same: a failed poll, never a crash.
    let (status, report) = fetch_now(&server, "atom").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["outcome"], "failed", "{report}");
    watch.finish().await;
    still_serving(&mut server, &["/feeds/world", "/timelines/wire"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_title_of_megabytes_is_read_within_the_budget() {
    let up = Upstream::start();
    let tags = "<div>".repeat(2 << 20 >> 5);
    let huge = format!(
        r#"<rss version="2.0"><channel><title>t</title><link>http://a.example/</link><description>d</description>
<item><title>{t}</title><link>http://a.example/1</link><guid>1</guid><description>{t}</description></item>
<item><title>A fine headline</title><link>http://a.example/2</link><guid>2</guid><description>Fine.</description></item>
</channel></rss>"#,
        t = quick_xml::escape::escape(&tags)
    );
    up.set("/huge.xml", "application/rss+xml", huge.into_bytes());
    let site = site(&up, &[("huge", "/huge.xml")], "");
    let mut server = Server::start(&site, &[]);
    let watch = Watch::start(&server);
    let listed = polled(&server, 1).await;
    let source = &listed[0];
    // Read within the budget (3 s here), titles cut before they are parsed;
    // or cut off at the budget, never minutes of a core.
    let ok = source["status"] == "ok";
    let cut = source["error"].as_str().unwrap_or("").contains("budget");
    assert!(ok || cut, "{source}");
    if ok {
        let shown = eventually(Duration::from_secs(5), || async {
            let (_, _, body) = get(&server.url("/timelines/wire.atom"), &[]).await;
            String::from_utf8_lossy(&body)
                .contains("A fine headline")
                .then_some(())
        })
        .await;
        assert!(shown.is_some(), "the fine entry is in the timeline");
    }
    watch.finish().await;
    still_serving(&mut server, &["/feeds/world", "/timelines/wire"]).await;
}

/// `GET /api/v1/sources` once each of the first `n` sources was polled.
async fn polled(server: &Server, n: usize) -> Vec<Value> {
    let listed = eventually(Duration::from_secs(60), || async {
        let (_, _, body) = get_auth(server, "/api/v1/sources").await;
        let listed: Vec<Value> = serde_json::from_slice(&body).ok()?;
        let done = listed.iter().take(n).all(|s| s["status"] != "new");
        done.then_some(listed)
    })
    .await;
    listed.expect("every source polled within a minute")
}

/// GET with the API token.
async fn get_auth(server: &Server, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = client()
        .get(server.url(path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

/// An RSS document of `n` tiny entries whose ids start with `round`.
fn flood(round: usize, n: usize) -> Vec<u8> {
    let mut out = String::from(
        r#"<rss version="2.0"><channel><title>Flood</title><link>http://flood.example/</link><description>d</description>"#,
    );
    for i in 0..n {
        out.push_str(&format!(
            "<item><title>t{round}-{i}</title><guid>g{round}-{i}</guid></item>"
        ));
    }
    out.push_str("</channel></rss>");
    out.into_bytes()
}

/// The peak resident memory of a process so far, from /proc, in MiB.
fn peak_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/PID/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    kib / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_flood_is_capped_and_memory_stays_bounded() {
    let up = Upstream::start();
    const ENTRIES: usize = 60_000;
    up.set("/flood.xml", "application/rss+xml", flood(0, ENTRIES));
    let title = quick_xml::escape::escape("<div>".repeat(2 << 20 >> 5)).into_owned();
    up.set(
        "/huge.xml",
        "application/rss+xml",
        format!(
            r#"<rss version="2.0"><channel><title>t</title><link>http://a.example/</link><description>d</description><item><title>{title}</title><guid>1</guid></item></channel></rss>"#
        )
        .into_bytes(),
    );
    let site = site(&up, &[("flood", "/flood.xml"), ("huge", "/huge.xml")], "");
    let mut server = Server::start(&site, &[]);
    let watch = Watch::start(&server);
    let first = polled(&server, 2).await;
    assert_eq!(first[0]["status"], "ok", "{}", first[0]);
    // Every poll brings 60,000 entries never seen before.
    for round in 1..=4 {
        up.set("/flood.xml", "application/rss+xml", flood(round, ENTRIES));
        let (status, report) = fetch_now(&server, "flood").await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["outcome"], "fetched", "{report}");
        assert_eq!(report["entries"], 1000, "fetch.max_entries: {report}");
    }
    let (_, _, body) = get_auth(&server, "/api/v1/sources").await;
    let listed: Vec<Value> = serde_json::from_slice(&body).unwrap();
    let flooded = listed.iter().find(|s| s["name"] == "flood").unwrap();
    assert!(flooded["items"].as_u64().unwrap() <= 1000, "{flooded}");
    // 60,000 entries a poll took serve from 53 MiB to 673 MiB before the
    // caps; what one source can cost is now one document's worth.
    let peak = peak_mib(server.child.id());
    eprintln!("entry flood: peak RSS of serve {peak} MiB");
    assert!(peak < 150, "peak RSS {peak} MiB");
    watch.finish().await;
    still_serving(&mut server, &["/feeds/world", "/timelines/wire"]).await;
}

/// Callbacks for the hub on every 127.0.0.0/8 address at one port: echoes
/// each challenge and counts the deliveries each callback (`host/path`) gets.
#[derive(Clone, Default)]
struct Callbacks {
    port: u16,
    deliveries: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    verified: Arc<std::sync::atomic::AtomicUsize>,
}

impl Callbacks {
    async fn start() -> Callbacks {
        let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
        let me = Callbacks {
            port: listener.local_addr().unwrap().port(),
            ..Default::default()
        };
        let served = me.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let me = served.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let me = me.clone();
                        async move { Ok::<_, std::convert::Infallible>(me.answer(req)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        me
    }

    fn answer(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
        let host = req
            .headers()
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = if req.method() == hyper::Method::GET {
            self.verified.fetch_add(1, Ordering::SeqCst);
            url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                .find(|(k, _)| k == "hub.challenge")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        } else {
            *self
                .deliveries
                .lock()
                .unwrap()
                .entry(format!("{host}{}", req.uri().path()))
                .or_default() += 1;
            String::new()
        };
        hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(body)))
    }

    fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.port)
    }
}

/// A client whose requests come from `local` (any 127.0.0.0/8 address).
fn client_from(local: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(local.parse::<std::net::IpAddr>().unwrap())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// `hub.mode=subscribe` for `callback` from `from`: the status.
async fn subscribe(server: &Server, from: &reqwest::Client, callback: &str) -> u16 {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("hub.mode", "subscribe"),
            ("hub.topic", "http://127.0.0.1:8080/feeds/world.atom"),
            ("hub.callback", callback),
        ])
        .finish();
    from.post(server.url("/websub/hub"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_flood_is_bounded_per_address_per_host_and_in_all() {
    let callbacks = Callbacks::start().await;
    let site = SiteDir::demo();
    site.append_config(
        "[fetch]\nallow_private_networks = true\n\n[websub]\nmax_subscriptions = 12\nmax_per_callback_host = 3\nmax_per_client = 5\nrequests_per_minute = 20\n",
    );
    let mut server = Server::start(&site, &[]);
    let watch = Watch::start(&server);
    // One address asks 40 times in a burst: 20 are taken, the rest told
    // when to come back.
    let one = client_from("127.0.0.1");
    let mut answers = Vec::new();
    for i in 0..40 {
        let cb = callbacks.url(&format!("127.0.1.{}", i % 10), &format!("/one/{i}"));
        answers.push(subscribe(&server, &one, &cb).await);
    }
    // Checked when asked and again when verified: a few more may be asked
    // for while the first are verified (all of the 20 the rate lets through
    // when no verification is done before the burst ends, as on a loaded
    // machine), none more is kept (the deliveries below).
    let accepted = answers.iter().filter(|&&s| s == 202).count();
    assert!((5..=20).contains(&accepted), "{answers:?}");
    assert!(answers[20..].iter().all(|&s| s == 429), "{answers:?}");
    let resp = one
        .post(server.url("/websub/hub"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("hub.mode=subscribe")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    // Many addresses, each subscribing callbacks on one host: three per
    // host, twelve in all.
    for c in 2..=9 {
        let from = client_from(&format!("127.0.0.{c}"));
        for i in 0..4 {
            let cb = callbacks.url(&format!("127.0.2.{c}"), &format!("/many/{i}"));
            subscribe(&server, &from, &cb).await;
        }
    }
    // Whatever was verified now gets one change: what it costs is bounded.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let resp = client()
        .post(server.url("/api/v1/articles"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({
            "id": "flood-change", "title": "A change", "category": "world",
            "published": chrono::Utc::now().to_rfc3339(), "content_markdown": "x"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let deliveries = callbacks.deliveries.lock().unwrap().clone();
    let subscribers = deliveries.len();
    assert!(
        subscribers <= 12,
        "at most 12 subscriptions: {deliveries:?}"
    );
    assert!(
        subscribers >= 10,
        "the bounds still let subscribers in: {deliveries:?}"
    );
    let mut per_host: std::collections::HashMap<String, usize> = Default::default();
    for callback in deliveries.keys() {
        *per_host
            .entry(callback.split(':').next().unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(per_host.values().all(|&n| n <= 3), "{per_host:?}");
    let from_one = deliveries.keys().filter(|k| k.contains("/one/")).count();
    assert!(from_one <= 5, "one address: {from_one}");
    watch.finish().await;
    still_serving(&mut server, &["/feeds/world"]).await;
}

/// A metric's value from `/metrics` (the first sample of `name`).
async fn metric(server: &Server, name: &str) -> f64 {
    let (_, _, body) = get(&server.url("/metrics"), &[]).await;
    String::from_utf8_lossy(&body)
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_pages_render_once_and_a_cycle_through_them_stays_bounded() {
    let site = SiteDir::demo();
    // Documents of 4: a page closes every 2 items.
    std::fs::write(
        site.config(),
        std::fs::read_to_string(site.config())
            .unwrap()
            .replace("feed_size = 50", "feed_size = 4"),
    )
    .unwrap();
    let mut server = Server::start(&site, &[]);
    let c = client();
    let start = chrono::Utc::now() - chrono::Duration::days(30);
    for i in 0..700 {
        let resp = c
            .post(server.url("/api/v1/articles"))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({
                "id": format!("page-{i}"), "title": format!("Paged {i}"), "category": "world",
                "published": (start + chrono::Duration::minutes(i)).to_rfc3339(),
                "content_markdown": "Text."
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    // The feed takes its log forward when it renders.
    eventually(Duration::from_secs(10), || async {
        let (_, _, body) = get(&server.url("/feeds/world.atom"), &[]).await;
        String::from_utf8_lossy(&body)
            .contains("Paged 699")
            .then_some(())
    })
    .await
    .expect("rendered");
    // Nothing left to render: the pages' versions stay put.
    let mut quiet = 0;
    while quiet < 3 {
        let (_, _, body) = get(&server.url("/healthz"), &[]).await;
        let health: Value = serde_json::from_slice(&body).unwrap();
        quiet = if health["unrendered_seconds"] == 0.0 {
            quiet + 1
        } else {
            0
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let watch = Watch::start(&server);
    // Fifty at once ask for one cold page: one render.
    let before = metric(&server, "newswire_on_demand_renders_total").await;
    let url = server.url("/feeds/world/archive/100.atom");
    let asks = (0..50).map(|_| get(&url, &[]));
    let answers = futures_util::future::join_all(asks).await;
    let etags: std::collections::HashSet<String> = answers
        .iter()
        .map(|(s, h, _)| format!("{s} {}", header(h, "etag")))
        .collect();
    assert_eq!(etags.len(), 1, "{etags:?}");
    assert!(etags.iter().next().unwrap().starts_with("200"));
    let after = metric(&server, "newswire_on_demand_renders_total").await;
    assert_eq!(after - before, 1.0, "fifty askers, one render");
    // A cycle through more pages than are kept, every format, then days
    // with nothing: all answered, memory bounded. A page's other formats,
    // asked for right after its first answer, come from that one render
    // (finished after the answer), never from a read and render of their own.
    for n in 1..=330u32 {
        for ext in ["rss", "atom", "json"] {
            let (status, _, _) =
                get(&server.url(&format!("/feeds/world/archive/{n}.{ext}")), &[]).await;
            assert_eq!(status, 200, "page {n}.{ext}");
        }
    }
    let cycled = metric(&server, "newswire_on_demand_renders_total").await;
    // Page 100 was rendered before the cycle, and is kept.
    assert_eq!(cycled - after, 329.0, "one render per page, every format");
    let day0 = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    for d in 0..200 {
        let day = day0 + chrono::Duration::days(d);
        let (status, _, _) = get(&server.url(&format!("/breaking/{day}.html")), &[]).await;
        assert_eq!(status, 404);
    }
    let renders = metric(&server, "newswire_on_demand_renders_total").await;
    // Days without items are remembered too: asked again, none renders.
    for d in 0..50 {
        let day = day0 + chrono::Duration::days(d);
        get(&server.url(&format!("/breaking/{day}.html")), &[]).await;
    }
    assert_eq!(
        metric(&server, "newswire_on_demand_renders_total").await,
        renders
    );
    let peak = peak_mib(server.child.id());
    eprintln!("page cycle: peak RSS of serve {peak} MiB");
    assert!(peak < 100, "peak RSS {peak} MiB");
    watch.finish().await;
    still_serving(&mut server, &["/feeds/world"]).await;
}

/// A hub of our own for the subscriber's side: takes newswire's request,
/// keeps the callback it names.
#[derive(Clone, Default)]
struct FakeHub {
    callbacks: Arc<std::sync::Mutex<Vec<String>>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_calls_at_the_subscribers_callback_are_refused_before_reading() {
    // A source that advertises our fake hub; newswire subscribes there.
    let hub_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub_url = format!("http://{}/hub", hub_listener.local_addr().unwrap());
    let hub = FakeHub::default();
    let recorded = hub.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = hub_listener.accept().await else {
                return;
            };
            let hub = recorded.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let hub = hub.clone();
                        async move {
                            use http_body_util::BodyExt;
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            if let Some((_, cb)) = url::form_urlencoded::parse(&body)
                                .find(|(k, _)| k == "hub.callback")
                            {
                                hub.callbacks.lock().unwrap().push(cb.into_owned());
                            }
                            let mut r = hyper::Response::new(http_body_util::Full::new(
                                bytes::Bytes::new(),
                            ));
                            *r.status_mut() = hyper::StatusCode::ACCEPTED;
                            Ok::<_, std::convert::Infallible>(r)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let up = Upstream::start();
    up.set(
        "/pushed.xml",
        "application/rss+xml",
        format!(
            r#"<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>P</title><link>http://p.example/</link><description>d</description><atom:link rel="hub" href="{hub_url}"/><atom:link rel="self" href="{}"/><item><title>One</title><guid>1</guid><link>http://p.example/1</link></item></channel></rss>"#,
            up.url("/pushed.xml")
        )
        .into_bytes(),
    );
    let site = site(&up, &[("pushed", "/pushed.xml")], "");
    let mut server = Server::start(&site, &[]);
    let watch = Watch::start(&server);
    let callback = eventually(Duration::from_secs(20), || async {
        hub.callbacks.lock().unwrap().first().cloned()
    })
    .await
    .expect("newswire asked the hub for pushes");
    let path = callback.trim_start_matches("http://127.0.0.1:8080");
    assert!(path.starts_with("/websub/callback/pushed/"), "{callback}");
    let verify = |path: &str, challenge: &str| {
        format!(
            "{path}?hub.mode=subscribe&hub.topic={}&hub.challenge={challenge}&hub.lease_seconds=600",
            url::form_urlencoded::byte_serialize(up.url("/pushed.xml").as_bytes())
                .collect::<String>()
        )
    };
    // The source's name is public; without the token, or with another,
    // nothing is answered.
    for forged in [
        "/websub/callback/pushed",
        "/websub/callback/pushed/0123456789abcdef0123456789abcdef",
    ] {
        let (status, _, _) = get(&server.url(&verify(forged, "x")), &[]).await;
        assert_eq!(status, 404, "{forged}");
    }
    // The hub's own verification of the request we sent is answered...
    let (status, _, body) = get(&server.url(&verify(path, "c1")), &[]).await;
    assert_eq!((status, body.as_slice()), (200, &b"c1"[..]));
    // ... once: a second (a replay, or someone who learnt the URL) is not.
    let (status, _, _) = get(&server.url(&verify(path, "c2")), &[]).await;
    assert_eq!(status, 404, "not pending any more");
    // A delivery without a usable signature is refused before its body is
    // read: 8 MiB announced, none sent, the answer comes at once.
    let addr = server.base.trim_start_matches("http://").to_owned();
    for signature in [
        "",
        "X-Hub-Signature: sha256=zz\r\n",
        "X-Hub-Signature: md5=00\r\n",
    ] {
        let started = Instant::now();
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/rss+xml\r\nContent-Length: 8388608\r\nExpect: 100-continue\r\n{signature}\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
            .await
            .expect("answered without the body")
            .unwrap();
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(
            answer.starts_with("HTTP/1.1 403"),
            "{signature:?}: {answer}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    watch.finish().await;
    still_serving(&mut server, &["/feeds/world"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_from_one_address_is_turned_away() {
    let site = SiteDir::demo();
    site.append_config("[server]\nmax_connections_per_client = 20\n");
    let mut server = Server::start(&site, &[]);
    let addr = server.base.trim_start_matches("http://").to_owned();
    // Watched from another address, which the flood does not touch.
    let watch = {
        let stop = Arc::new(AtomicBool::new(false));
        let (url, flag) = (server.url("/healthz"), stop.clone());
        let task = tokio::spawn(async move {
            let c = client_from("127.0.0.2");
            let (mut n, mut worst) = (0, Duration::ZERO);
            while !flag.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = c.get(&url).send().await.expect("/healthz answers");
                assert_eq!(r.status(), 200);
                worst = worst.max(t.elapsed());
                n += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (n, worst)
        });
        Watch { stop, task }
    };
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Past the bound: a 503 at once, then closed.
    use tokio::io::AsyncReadExt;
    for _ in 0..30 {
        let mut extra = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), extra.read_to_end(&mut answer))
            .await
            .expect("closed at once")
            .unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.contains("application/problem+json"));
    }
    // Their places come back when they close.
    drop(held);
    let back = eventually(Duration::from_secs(5), || async {
        let resp = client()
            .get(server.url("/feeds/world.atom"))
            .send()
            .await
            .ok()?;
        (resp.status() == 200).then_some(())
    })
    .await;
    assert!(back.is_some());
    watch.finish().await;
    still_serving(&mut server, &["/feeds/world"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_a_poll_is_busy_exits_within_the_drain() {
    let up = Upstream::start();
    // A document whose reading keeps a core busy for a while: many entries
    // of markup nested as deep as entries may go.
    let item = format!(
        "<item><title>t</title><guid>g{{}}</guid><description>{}</description></item>",
        quick_xml::escape::escape(&("<div><b>".repeat(60) + "text"))
    );
    let mut doc = String::from(
        r#"<rss version="2.0"><channel><title>Heavy</title><link>http://h.example/</link><description>d</description>"#,
    );
    for i in 0..6000 {
        doc.push_str(&item.replace("{}", &i.to_string()));
    }
    doc.push_str("</channel></rss>");
    up.set("/heavy.xml", "application/rss+xml", doc.into_bytes());
    let site = site(
        &up,
        &[("heavy", "/heavy.xml"), ("stall", "/stall")],
        "max_entries = 100000\n",
    );
    std::fs::write(
        site.config(),
        std::fs::read_to_string(site.config())
            .unwrap()
            .replace("budget = \"3s\"", "budget = \"120s\""),
    )
    .unwrap();
    let server = Server::start(&site, &[]);
    // Both polls start with the server: one reading, one waiting on a body
    // that never ends.
    eventually(Duration::from_secs(10), || async {
        (up.stalls.load(Ordering::SeqCst) > 0 && !up.requests("/heavy.xml").is_empty())
            .then_some(())
    })
    .await
    .expect("both polls under way");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    assert!(server.stop(), "exits 0 on SIGTERM");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(12), "exited after {took:?}");
}
