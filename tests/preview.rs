//! `POST /api/v1/preview` (the dry run over HTTP: what a feed or a scrape
//! would store, nothing written), feed discovery from a site's page, and
//! `GET /api/v1/sources.opml`, through the real server against a local
//! upstream.

mod common;

use common::upstream::Upstream;
use common::*;
use serde_json::{Value, json};

async fn preview(server: &Server, body: &Value) -> (u16, Value) {
    let resp = client()
        .post(server.url("/api/v1/preview"))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn site_dir(private: bool) -> SiteDir {
    let site = SiteDir::demo();
    if private {
        site.append_config("[fetch]\nallow_private_networks = true\n");
    }
    site
}

#[tokio::test]
async fn a_feed_is_previewed_as_it_would_be_stored_and_nothing_is_written() {
    let up = Upstream::start();
    let site = site_dir(true);
    let server = Server::start(&site, &[]);
    let (_, before, _) = get(&server.url("/feeds/all.json"), &[]).await;
    for (fixture, format) in [
        ("rss2.xml", "rss"),
        ("atom10.xml", "atom"),
        ("feed11.json", "json"),
        ("rdf.xml", "rss"),
    ] {
        let (status, p) = preview(&server, &json!({"url": up.url(&format!("/{fixture}"))})).await;
        assert_eq!(status, 200, "{fixture}: {p}");
        assert_eq!(p["kind"], "feed", "{fixture}");
        assert_eq!(p["format"], format, "{fixture}");
        let items = p["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{fixture}: {p}");
        for item in items {
            let published = item["published"].as_str().unwrap();
            let t = chrono::DateTime::parse_from_rfc3339(published).unwrap();
            // Dates in the site's zone, with its offset (Casablanca).
            assert!(
                [0, 3600].contains(&t.offset().local_minus_utc()),
                "{published}"
            );
            assert!(item["title"].as_str().is_some_and(|t| !t.is_empty()));
            if let Some(c) = item["content"].as_str() {
                assert!(c.chars().count() <= 301, "bodies cut short");
                assert!(!c.contains('<'), "the body's text: {c}");
            }
        }
    }
    // Markup in an upstream title is text, as the gate stores it.
    let (_, p) = preview(&server, &json!({"url": up.url("/rss2.xml")})).await;
    assert_eq!(p["title"], "Agency Wire");
    let first = p["items"][0]["title"].as_str().unwrap();
    assert!(
        first.starts_with("Rabat hosts the") && first.ends_with("water summit"),
        "{first}"
    );
    // Nothing was stored: the feeds and the sources are as they were.
    let (_, after, _) = get(&server.url("/feeds/all.json"), &[]).await;
    assert_eq!(header(&before, "etag"), header(&after, "etag"));
    let resp = client()
        .get(server.url("/api/v1/sources"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap(), json!([]));
    assert!(server.stop());
}

#[tokio::test]
async fn a_sites_page_gives_the_feeds_it_names_or_those_at_the_usual_paths() {
    let up = Upstream::start();
    let site = site_dir(true);
    let server = Server::start(&site, &[]);
    up.set(
        "/news/index.html",
        "text/html; charset=utf-8",
        r#"<!doctype html><html><head><title>News</title>
<link rel="alternate" type="application/rss+xml" title="All the news" href="../rss2.xml">
<link rel="alternate" type="application/atom+xml" title="Atom &amp; more" href="/atom10.xml">
<link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
</head><body>Hello</body></html>"#,
    );
    let (status, p) = preview(&server, &json!({"url": up.url("/news/index.html")})).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["kind"], "page");
    assert_eq!(
        p["feeds"],
        json!([
            {"url": up.url("/rss2.xml"), "title": "All the news", "format": "rss"},
            {"url": up.url("/atom10.xml"), "title": "Atom & more", "format": "atom"},
        ])
    );
    // No links: the usual paths, kept when they are feeds.
    up.set(
        "/blog/",
        "text/html",
        "<html><head><title>Blog</title></head><body>Posts</body></html>",
    );
    up.set("/feed", "text/html", "<html><body>not a feed</body></html>");
    up.set(
        "/rss.xml",
        "application/rss+xml",
        std::fs::read("tests/fixtures/upstream/rss2.xml").unwrap(),
    );
    let (status, p) = preview(&server, &json!({"url": up.url("/blog/")})).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["feeds"].as_array().unwrap().len(), 1, "{p}");
    assert_eq!(p["feeds"][0]["url"], up.url("/rss.xml"));
    assert_eq!(p["feeds"][0]["title"], "Agency Wire");
    assert!(server.stop());
}

#[tokio::test]
async fn bad_previews_are_refused_naming_the_field() {
    let up = Upstream::start();
    let site = site_dir(true);
    let server = Server::start(&site, &[]);
    up.set(
        "/plain.html",
        "text/html",
        "<html><body>No feeds here</body></html>",
    );
    let huge = "div ".repeat(600);
    for (body, status, field) in [
        (json!({"url": "ftp://example.com/feed"}), 400, "url"),
        (json!({"url": "not a url"}), 400, "url"),
        (json!({"url": up.url("/plain.html")}), 422, "url"),
        (json!({"url": up.url("/missing.xml")}), 502, "url"),
        (
            json!({"url": up.url("/rss2.xml"), "extra": 1}),
            400,
            "extra",
        ),
        (
            json!({"url": up.url("/rss2.xml"), "scrape": {"list": {"item": "ul >> li"}}}),
            400,
            "scrape.list.item",
        ),
        (
            json!({"url": up.url("/rss2.xml"), "scrape": {"list": {"item": "li", "title": huge}}}),
            400,
            "scrape.list.title",
        ),
        (
            json!({"url": up.url("/plain.html"), "scrape": {"list": {"item": "ul.nothing li"}}}),
            422,
            "scrape.list.item",
        ),
    ] {
        let (got, p) = preview(&server, &body).await;
        assert_eq!(got, status, "{body}: {p}");
        assert_eq!(p["field"], field, "{body}: {p}");
        assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    // A token without the `sources` scope, or none.
    let resp = client()
        .post(server.url("/api/v1/preview"))
        .json(&json!({"url": up.url("/rss2.xml")}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(server.stop());
    // Without allow_private_networks, 127.0.0.1 is refused before any request.
    let site = site_dir(false);
    let server = Server::start(&site, &[]);
    let asked = up.requests("/rss2.xml").len();
    let (status, p) = preview(&server, &json!({"url": up.url("/rss2.xml")})).await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["field"], "url");
    assert_eq!(
        up.requests("/rss2.xml").len(),
        asked,
        "no request for the refused preview"
    );
    assert!(server.stop());
}

#[tokio::test]
async fn a_scrape_preview_shows_each_selector_and_what_it_would_store() {
    let up = Upstream::start();
    let site = site_dir(true);
    let server = Server::start(&site, &[]);
    let page = std::fs::read_to_string("tests/fixtures/site/index.html")
        .unwrap()
        .replace("{T0}", "17:00")
        .replace("{T1}", "16:40")
        .replace("{T2}", "16:20");
    up.set("/walaw/", "text/html; charset=utf-8", page);
    let ask = |title: Option<&str>| {
        let mut list = json!({"item": "ul.ticker li", "time": ".time", "link": "a"});
        if let Some(t) = title {
            list["title"] = json!(t);
        }
        json!({"url": up.url("/walaw/"), "scrape": {"category": "world", "list": list}})
    };
    let (status, p) = preview(&server, &ask(None)).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["kind"], "scrape");
    let matched = |p: &Value, field: &str| {
        p["selectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["field"] == field)
            .map(|s| s["matched"].clone())
    };
    assert_eq!(matched(&p, "list.item"), Some(json!(3)), "{p}");
    assert_eq!(matched(&p, "list.time"), Some(json!(3)), "{p}");
    let titles = |p: &Value| -> Vec<String> {
        p["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(titles(&p).len(), 3, "{p}");
    assert!(titles(&p)[0].starts_with("Sudan"), "{p}");
    assert!(
        p["items"][0]["published"]
            .as_str()
            .unwrap()
            .contains("T17:00:00"),
        "{p}"
    );
    // A title selector the editor adds: the preview follows it, and says
    // in how many items it matched.
    let (status, p2) = preview(&server, &ask(Some("a"))).await;
    assert_eq!(status, 200, "{p2}");
    assert_eq!(matched(&p2, "list.title"), Some(json!(2)), "{p2}");
    assert_eq!(
        titles(&p2),
        [
            "Sudan: first commercial flight lands in Khartoum after nearly three years",
            "Venezuela: activist freed"
        ]
    );
    assert!(server.stop());
}

#[tokio::test]
async fn the_sources_are_exported_as_opml() {
    let site = SiteDir::demo();
    site.append_config(
        "[[sources]]\nname = \"agency\"\nurl = \"https://agency.example/feed.xml\"\ntitle = \"Agency <Wire>\"\n",
    );
    let server = Server::start(&site, &[]);
    let resp = client()
        .get(server.url("/api/v1/sources.opml"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/x-opml")
    );
    let text = resp.text().await.unwrap();
    assert!(
        text.contains(r#"xmlUrl="https://agency.example/feed.xml""#),
        "{text}"
    );
    assert!(text.contains("Agency &lt;Wire&gt;"), "escaped: {text}");
    let resp = client()
        .get(server.url("/api/v1/sources.opml"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(server.stop());
}
