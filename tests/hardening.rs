//! What the hardening promised, through the real binary: a refused body's 413
//! reaches a client that writes before it reads, Last-Modified moves with every
//! change, POST is create-only under concurrency, browsers get the feed's page,
//! `/metrics` and `/healthz` tell the truth (a renderer that panics is restarted
//! and shows), and logs to a file carry no colour codes.

mod common;
use common::*;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::time::Duration;

async fn post_json(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let resp = client()
        .post(server.url(path))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Writes a POST with a 3 MiB body completely, in pieces as over a real network,
/// then reads the answer: what urllib and many CMS plugins do.
fn post_everything_then_read(addr: &str, headers: &str, chunked: bool) -> String {
    let body = vec![b'x'; 3 << 20];
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let framing = if chunked {
        format!("Transfer-Encoding: chunked\r\n\r\n{:x}\r\n", body.len())
    } else {
        format!("Content-Length: {}\r\n\r\n", body.len())
    };
    let head = format!(
        "POST /api/v1/articles HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}{framing}"
    );
    s.write_all(head.as_bytes()).unwrap();
    // The server has answered long before the last byte: closing then would
    // reset the connection under the client.
    for chunk in body.chunks(64 << 10) {
        s.write_all(chunk)
            .unwrap_or_else(|e| panic!("{headers:?}: the server stopped reading: {e}"));
        std::thread::sleep(Duration::from_millis(2));
    }
    if chunked {
        s.write_all(b"\r\n0\r\n\r\n").unwrap();
    }
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn a_refused_body_gets_its_answer_even_when_the_client_writes_everything_first() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let addr = server.base.trim_start_matches("http://").to_owned();
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    let json = "Content-Type: application/json\r\n";
    for (headers, chunked, status, field) in [
        (format!("{auth}{json}"), false, "413", "body"),
        (format!("{auth}{json}"), true, "413", "body"),
        // Refused before the body is read at all: a wrong token, a wrong type.
        (json.to_owned(), false, "401", ""),
        (
            format!("{auth}Content-Type: text/plain\r\n"),
            false,
            "415",
            "Content-Type",
        ),
    ] {
        let answer = post_everything_then_read(&addr, &headers, chunked);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{headers:?} chunked {chunked}: {answer:.300}"
        );
        assert!(answer.contains("application/problem+json"), "{answer:.500}");
        if !field.is_empty() {
            assert!(
                answer.contains(&format!(r#""field":"{field}""#)),
                "{answer:.500}"
            );
        }
    }
    assert!(server.stop());
}

#[tokio::test]
async fn last_modified_moves_with_a_backdated_article() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let url = server.url("/feeds/world.rss");
    let (_, h, _) = get(&url, &[]).await;
    let lm = header(&h, "last-modified");
    let (status, _, _) = get(&url, &[("If-Modified-Since", &lm)]).await;
    assert_eq!(status, 304, "unchanged: {lm}");
    // Dated before everything the feed shows: the data's newest date stands still.
    let (status, body) = post_json(
        &server,
        "/api/v1/articles",
        &json!({"id": "backdated", "title": "From the archive", "category": "world",
                "published": "2025-06-01 10:00", "content_html": "<p>Old news.</p>"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let seen = eventually(Duration::from_secs(5), || async {
        let (status, h, _) = get(&url, &[("If-Modified-Since", &lm)]).await;
        (status == 200).then(|| header(&h, "last-modified"))
    })
    .await
    .expect("an If-Modified-Since client sees the change");
    assert_ne!(seen, lm);
    let (status, _, _) = get(&url, &[("If-Modified-Since", &seen)]).await;
    assert_eq!(status, 304, "the new Last-Modified validates");
    // The same after a restart: validators come from the store.
    assert!(server.stop());
    let server = Server::start(&site, &[]);
    let (_, h, _) = get(&server.url("/feeds/world.rss"), &[]).await;
    assert_eq!(header(&h, "last-modified"), seen);
    assert!(server.stop());
}

#[tokio::test]
async fn concurrent_posts_of_one_id_make_one_201_and_409s() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let posts = (0..6).map(|n| {
        let body = json!({"id": "race", "title": format!("Version {n}"), "category": "world",
                          "published": "2026-02-02 09:00"});
        let server = &server;
        async move { post_json(server, "/api/v1/articles", &body).await }
    });
    let results = futures_util::future::join_all(posts).await;
    let statuses: Vec<u16> = results.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        5,
        "{statuses:?}"
    );
    let winner = results.iter().find(|(s, _)| *s == 201).unwrap();
    let (status, _, body) = get(&server.url("/api/v1/articles/race"), &[]).await;
    assert_eq!(status, 200);
    let stored: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        stored["title"], winner.1["title"],
        "the 201's content is stored"
    );
    assert!(server.stop());
}

#[tokio::test]
async fn query_parameters_are_percent_decoded() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let (status, _, body) = get(
        &server.url("/api/v1/articles?category=wor%6Cd&limit=5"),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let items: Vec<Value> = serde_json::from_slice(&body).unwrap();
    assert!(!items.is_empty() && items.iter().all(|i| i["category"] == "world"));
    assert!(server.stop());
}

const BROWSER_ACCEPT: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

#[tokio::test]
async fn a_browser_opening_a_feed_url_gets_the_page_and_readers_the_feed() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    for ext in ["rss", "atom", "json"] {
        let url = server.url(&format!("/feeds/world.{ext}"));
        let (status, h, body) = get(&url, &[("Accept", BROWSER_ACCEPT)]).await;
        assert_eq!(status, 200);
        assert_eq!(
            header(&h, "content-type"),
            "text/html; charset=utf-8",
            "{ext}"
        );
        assert_eq!(header(&h, "vary"), "Accept, Accept-Encoding");
        assert!(String::from_utf8(body).unwrap().contains("<html"));
        for reader in [
            "*/*",
            "application/rss+xml, application/atom+xml, text/html;q=0.5",
            "",
        ] {
            let (status, h, _) = get(&url, &[("Accept", reader)]).await;
            assert_eq!(status, 200);
            assert_ne!(
                header(&h, "content-type"),
                "text/html; charset=utf-8",
                "{reader}"
            );
            assert_eq!(header(&h, "vary"), "Accept, Accept-Encoding");
        }
    }
    assert!(server.stop());
}

/// Headless Chromium renders the page a feed URL gives a browser: the DOM holds
/// the feed's title and its items. Runs where `chromium` is installed (`.ci/run`
/// installs it and sets NEWSWIRE_TEST_CHROMIUM=1, which makes its absence fail).
#[tokio::test]
async fn chromium_shows_the_feed_title_and_items() {
    let chromium = ["chromium", "chromium-browser"].into_iter().find(|c| {
        std::process::Command::new(c)
            .arg("--version")
            .output()
            .is_ok()
    });
    let Some(chromium) = chromium else {
        assert!(
            std::env::var_os("NEWSWIRE_TEST_CHROMIUM").is_none(),
            "NEWSWIRE_TEST_CHROMIUM is set but chromium is not installed"
        );
        return;
    };
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(server.url("/feeds/world.rss"))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("Newswire Demo: World"),
        "title in the DOM: {dom:.2000}"
    );
    let (_, _, feed) = get(&server.url("/feeds/world.json"), &[]).await;
    let feed: Value = serde_json::from_slice(&feed).unwrap();
    for item in feed["items"].as_array().unwrap().iter().take(5) {
        let title = item["title"].as_str().unwrap();
        let escaped = title.replace('&', "&amp;");
        assert!(
            dom.contains(&format!(">{escaped}</a>")) || dom.contains(&format!("> {escaped}<")),
            "item {title:?} as an element of the DOM"
        );
    }
    assert!(server.stop());
}

#[tokio::test]
async fn metrics_count_requests_renders_and_writes() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    for _ in 0..3 {
        get(&server.url("/feeds/world.rss"), &[]).await;
    }
    get(&server.url("/nowhere"), &[]).await;
    let (status, _) = post_json(
        &server,
        "/api/v1/articles",
        &json!({"id": "counted", "title": "Counted", "category": "tech", "published": "2026-02-02 09:00"}),
    )
    .await;
    assert_eq!(status, 201);
    let text = eventually(Duration::from_secs(5), || async {
        let (_, _, body) = get(&server.url("/metrics"), &[]).await;
        let text = String::from_utf8(body).unwrap();
        text.contains("newswire_render_passes_total 1")
            .then_some(text)
    })
    .await
    .expect("a render pass is counted");
    for line in [
        r#"newswire_http_requests_total{route="feed",status="200"} 3"#,
        r#"newswire_http_requests_total{route="other",status="404"} 1"#,
        r#"newswire_http_requests_total{route="api",status="201"} 1"#,
        r#"newswire_store_write_seconds_count{op="upsert"} 1"#,
        r#"newswire_task_up{task="renderer"} 1"#,
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    let bytes: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix(r#"newswire_http_response_body_bytes_total{route="feed"} "#))
        .unwrap()
        .parse()
        .unwrap();
    let (_, _, one) = get(&server.url("/feeds/world.rss"), &[]).await;
    assert_eq!(bytes, 3 * one.len() as u64);
    // 7 feeds in 4 formats, the index, the OPML, and the widget's
    // stylesheet, two scripts and one script per feed.
    assert!(text.lines().any(|l| l == "newswire_documents 40"), "{text}");
    let cache_bytes: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("newswire_cache_bytes "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        cache_bytes > 3 * one.len() as u64,
        "every document's encodings"
    );
    assert!(server.stop());

    site.append_config("\n[server]\nmetrics = false\n");
    let server = Server::start(&site, &[]);
    let (status, _, _) = get(&server.url("/metrics"), &[]).await;
    assert_eq!(status, 404, "[server] metrics = false turns it off");
    assert!(server.stop());
}

#[tokio::test]
async fn a_renderer_that_panics_is_restarted_and_health_shows_it() {
    let site = SiteDir::demo();
    let server = Server::start_with(
        site.config(),
        &site.data(),
        &[],
        &[("NEWSWIRE_FAULT", "render:1")],
    );
    let (_, _, body) = get(&server.url("/healthz"), &[]).await;
    let health: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    for task in ["renderer", "watcher", "follower"] {
        assert_eq!(health["tasks"][task]["alive"], true, "{health}");
    }
    let (status, _) = post_json(
        &server,
        "/api/v1/articles",
        &json!({"id": "after-the-panic", "title": "After the panic", "category": "tech",
                "published": "2026-02-02 09:00"}),
    )
    .await;
    assert_eq!(status, 201);
    // The pass that should show it panics; the restarted renderer catches up.
    let shown = eventually(Duration::from_secs(10), || async {
        let (_, _, body) = get(&server.url("/feeds/tech.atom"), &[]).await;
        String::from_utf8(body)
            .unwrap()
            .contains("after-the-panic")
            .then_some(())
    })
    .await;
    assert!(shown.is_some(), "the feed caught up after the restart");
    let (_, _, body) = get(&server.url("/healthz"), &[]).await;
    let health: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(health["tasks"]["renderer"]["restarts"], 1, "{health}");
    assert_eq!(health["tasks"]["renderer"]["alive"], true, "{health}");
    assert!(
        health["tasks"]["renderer"]["last_error"]
            .as_str()
            .unwrap()
            .contains("fault injected"),
        "{health}"
    );
    assert_eq!(health["status"], "ok", "{health}");
    // Nothing stays unrendered (a pass in flight may hold a change for a moment).
    eventually(Duration::from_secs(5), || async {
        let (_, _, body) = get(&server.url("/healthz"), &[]).await;
        let h: Value = serde_json::from_slice(&body).unwrap();
        (h["unrendered_seconds"] == 0.0).then_some(())
    })
    .await
    .expect("no change left unrendered");
    let (_, _, metrics) = get(&server.url("/metrics"), &[]).await;
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(metrics.contains(r#"newswire_task_restarts_total{task="renderer"} 1"#));
    let log = server.log_text();
    assert!(log.contains("background task panicked"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "a log written to a file carries no ANSI colour codes"
    );
    assert!(server.stop());
}
