//! Filtered views by URL (`?limit=`, `filter=`, `filterout=`, `category=`,
//! `since=`) and the widget's page and data, through the real server: each
//! view is the subset of the full document its parameters name, in the same
//! order with the same ids, in every format; malformed parameters are a 400
//! naming them; views follow their feed.

mod common;

use common::*;
use serde_json::{Value, json};
use std::time::Duration;

async fn post_article(server: &Server, body: &Value) {
    let resp = client()
        .post(server.url("/api/v1/articles"))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201, "{body}");
}

fn json_ids(doc: &[u8]) -> Vec<String> {
    let doc: Value = serde_json::from_slice(doc).unwrap();
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

fn rss_ids(doc: &[u8]) -> (Vec<String>, String) {
    let channel = rss::Channel::read_from(doc).unwrap();
    let ids = channel
        .items()
        .iter()
        .map(|i| i.guid().unwrap().value().to_owned())
        .collect();
    let self_link = channel
        .atom_ext()
        .unwrap()
        .links()
        .iter()
        .find(|l| l.rel() == "self")
        .unwrap()
        .href()
        .to_owned();
    (ids, self_link)
}

fn atom_ids(doc: &[u8]) -> (Vec<String>, String) {
    let feed = atom_syndication::Feed::read_from(doc).unwrap();
    let ids = feed.entries().iter().map(|e| e.id().to_owned()).collect();
    let self_link = feed
        .links()
        .iter()
        .find(|l| l.rel() == "self")
        .unwrap()
        .href()
        .to_owned();
    (ids, self_link)
}

/// The test's own reading of a filter: one word, whole, in any case, in the
/// title, summary or tags of a JSON Feed item.
fn names(item: &Value, word: &str) -> bool {
    let mut text = String::new();
    for key in ["title", "summary"] {
        text.push_str(item[key].as_str().unwrap_or(""));
        text.push(' ');
    }
    for tag in item["tags"].as_array().into_iter().flatten() {
        text.push_str(tag.as_str().unwrap());
        text.push(' ');
    }
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w == word)
}

fn tagged(item: &Value, tag: &str) -> bool {
    item["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t.as_str().unwrap().eq_ignore_ascii_case(tag))
}

#[tokio::test]
async fn views_are_the_subset_of_the_full_document_in_every_format() {
    let site = SiteDir::demo();
    site.append_config(
        "[[timelines]]\nname = \"wire\"\ntitle = \"The wire\"\ncategories = [\"world\", \"economy\", \"breaking\"]\nlimit = 40\n",
    );
    let server = Server::start(&site, &[]);
    // The full documents, and what each view should keep of them.
    type Keep = fn(&Value) -> bool;
    let cases: [(&str, &str, Keep, Option<usize>); 9] = [
        (
            "/timelines/wire",
            "category=economy",
            |i| tagged(i, "economy"),
            None,
        ),
        (
            "/timelines/wire",
            "filter=turkey&filter=türkiye&limit=2",
            |i| names(i, "turkey") || names(i, "türkiye"),
            Some(2),
        ),
        (
            "/feeds/all",
            "filter=Morocco",
            |i| names(i, "morocco"),
            None,
        ),
        (
            "/feeds/all",
            "filter=weather&filterout=football",
            |i| names(i, "weather") && !names(i, "football"),
            None,
        ),
        (
            "/feeds/all",
            "category=economy&category=tech",
            |i| tagged(i, "economy") || tagged(i, "tech"),
            None,
        ),
        ("/feeds/all", "limit=3&utm_source=x", |_| true, Some(3)),
        (
            "/feeds/all",
            "since=2026-02-01T16:30:00%2B01:00",
            |i| i["date_published"].as_str().unwrap() >= "2026-02-01T16:30:00+01:00",
            None,
        ),
        (
            "/feeds/breaking",
            "filter=sudan&filter=venezuela&limit=1",
            |i| names(i, "sudan") || names(i, "venezuela"),
            Some(1),
        ),
        ("/feeds/world", "filterout=the", |i| !names(i, "the"), None),
    ];
    let mut checked = Vec::new();
    for (feed, query, keep, limit) in cases {
        let (_, _, full) = get(&server.url(&format!("{feed}.json")), &[]).await;
        let full: Value = serde_json::from_slice(&full).unwrap();
        let mut expected: Vec<String> = full["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| keep(i))
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect();
        expected.truncate(limit.unwrap_or(usize::MAX));
        assert!(
            !expected.is_empty() && expected.len() < full["items"].as_array().unwrap().len(),
            "{feed}?{query} selects some items, not all"
        );
        for ext in ["json", "rss", "atom"] {
            let url = format!("{feed}.{ext}?{query}");
            let (status, headers, body) = get(&server.url(&url), &[]).await;
            assert_eq!(status, 200, "{url}");
            let (plain_status, plain, _) = get(&server.url(&format!("{feed}.{ext}")), &[]).await;
            assert_eq!(plain_status, 200);
            for h in [
                "content-type",
                "vary",
                "cache-control",
                "access-control-allow-origin",
            ] {
                assert_eq!(
                    header(&headers, h),
                    header(&plain, h),
                    "{url}: {h} as the feed's"
                );
            }
            assert_ne!(
                header(&headers, "etag"),
                header(&plain, "etag"),
                "{url}: its own ETag"
            );
            let (ids, self_link) = match ext {
                "json" => {
                    let doc: Value = serde_json::from_slice(&body).unwrap();
                    (
                        json_ids(&body),
                        doc["feed_url"].as_str().unwrap().to_owned(),
                    )
                }
                "rss" => rss_ids(&body),
                _ => atom_ids(&body),
            };
            assert_eq!(
                ids, expected,
                "{url}: the full document's items, filtered, in order"
            );
            assert!(
                self_link.contains(&format!("{feed}.{ext}?")) && !self_link.contains("utm_source"),
                "{url}: self link with the view's query: {self_link}"
            );
            // Its own validators: a reader that has it gets a 304.
            let etag = header(&headers, "etag");
            let (again, _, _) = get(&server.url(&url), &[("If-None-Match", &etag)]).await;
            assert_eq!(again, 304, "{url}: 304 on its ETag");
            let lm = header(&headers, "last-modified");
            let (again, _, _) = get(&server.url(&url), &[("If-Modified-Since", &lm)]).await;
            assert_eq!(again, 304, "{url}: 304 on its Last-Modified");
            // Compressed like the feed.
            let (_, gz, _) = get(&server.url(&url), &[("Accept-Encoding", "gzip")]).await;
            assert_eq!(header(&gz, "content-encoding"), "gzip", "{url}");
            checked.push(url);
        }
    }
    // The same view however the query is spelled: one document.
    let (_, a, _) = get(&server.url("/feeds/all.json?filter=weather&limit=2"), &[]).await;
    let (_, b, _) = get(
        &server.url("/feeds/all.json?limit=2&filter=WEATHER&x=1"),
        &[],
    )
    .await;
    assert_eq!(header(&a, "etag"), header(&b, "etag"));
    // A browser at a view's URL gets the page of the same items.
    let (_, h, page) = get(
        &server.url("/feeds/all.rss?filter=sudan"),
        &[("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")],
    )
    .await;
    assert!(header(&h, "content-type").starts_with("text/html"));
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains("Sudan") && !page.contains("Venezuela"),
        "{page:.3000}"
    );
    check_documents(&server, &checked).await;
    assert!(server.stop());
}

/// Whatever the query, a view is a 200 document that parses (or a 400 that
/// names a parameter), in every format and shape, on a feed and a timeline.
#[tokio::test]
async fn no_combination_of_parameters_renders_anything_invalid() {
    let site = SiteDir::demo();
    site.append_config(
        "[[timelines]]\nname = \"wire\"\ntitle = \"The wire\"\ncategories = [\"world\", \"tech\"]\n",
    );
    let server = Server::start(&site, &[]);
    let values = [
        ("limit", vec!["1", "3", "50", "100000", "0", "-1", "x", ""]),
        (
            "filter",
            vec![
                "morocco", "new york", "<script>", "&amp;", "\"", "]]>", "%00", "é",
            ],
        ),
        ("filterout", vec!["the", "weather", "", "'"]),
        ("category", vec!["tech", "WORLD", "nowhere", "a/b"]),
        (
            "since",
            vec![
                "2026-02-01T12:00:00Z",
                "2026-02-01T12:00:00+01:00",
                "1969-12-31T00:00:00Z",
                "9999-12-31T23:59:59Z",
                "now",
            ],
        ),
        ("theme", vec!["dark", "light", "auto", "pink"]),
        ("summary", vec!["", "1", "0", "maybe"]),
        ("image", vec!["1"]),
        ("time", vec!["0"]),
    ];
    // A fixed walk through the combinations (an LCG): the same run every time.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize % n
    };
    for _ in 0..60 {
        let mut query = Vec::new();
        for _ in 0..1 + next(4) {
            let (name, options) = &values[next(values.len())];
            let v = options[next(options.len())];
            query.push(format!(
                "{name}={}",
                v.replace(' ', "+").replace('&', "%26").replace('#', "%23")
            ));
        }
        let query = query.join("&");
        let base = [
            "/feeds/all",
            "/feeds/breaking",
            "/timelines/wire",
            "/embed/world",
            "/embed/timelines/wire",
        ][next(5)];
        let exts: &[&str] = if base.starts_with("/embed") {
            &["html", "json"]
        } else {
            &["rss", "atom", "json", "html"]
        };
        for ext in exts {
            let url = format!("{base}.{ext}?{query}");
            let (status, headers, body) = get(&server.url(&url), &[]).await;
            match status {
                400 => {
                    let p: Value = serde_json::from_slice(&body).unwrap();
                    assert!(p["field"].is_string(), "{url}: {p}");
                }
                200 => {
                    let ct = header(&headers, "content-type");
                    match *ext {
                        "rss" => drop(
                            rss::Channel::read_from(&body[..])
                                .unwrap_or_else(|e| panic!("{url}: {e}")),
                        ),
                        "atom" => drop(
                            atom_syndication::Feed::read_from(&body[..])
                                .unwrap_or_else(|e| panic!("{url}: {e}")),
                        ),
                        "json" => drop(
                            serde_json::from_slice::<Value>(&body)
                                .unwrap_or_else(|e| panic!("{url}: {e}")),
                        ),
                        _ => {
                            let text = String::from_utf8(body).unwrap();
                            assert!(ct.starts_with("text/html"), "{url}");
                            let shown = text.split("<section id=\"embed\">").next().unwrap();
                            assert!(
                                !shown.contains("<script>") && !shown.contains("<img src=x"),
                                "{url}"
                            );
                        }
                    }
                }
                other => panic!("{url}: {other}"),
            }
        }
    }
    assert!(server.stop());
}

#[tokio::test]
async fn malformed_parameters_are_a_problem_naming_them_and_unknown_ones_are_ignored() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let long = "x".repeat(201);
    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=99999999999999999999999", "limit"),
        ("since=yesterday", "since"),
        ("since=2026-02-30T00:00:00Z", "since"),
        (&format!("filter={long}") as &str, "filter"),
        (&format!("category={long}"), "category"),
        ("filterout=%00", "filterout"),
    ] {
        for path in [
            "/feeds/world.rss",
            "/timelines/nowhere.rss",
            "/embed/world.html",
            "/embed/all.json",
        ] {
            let url = format!("{path}?{query}");
            let (status, headers, body) = get(&server.url(&url), &[]).await;
            if path.contains("nowhere") {
                assert_eq!(status, 404, "{url}: no such feed");
                continue;
            }
            assert_eq!(status, 400, "{url}");
            assert_eq!(header(&headers, "content-type"), "application/problem+json");
            let problem: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(problem["field"], param, "{url}: {problem}");
        }
    }
    // A widget's look: bad values are named too; on a feed they mean nothing.
    let (status, _, body) = get(&server.url("/embed/world.html?theme=pink"), &[]).await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["field"],
        "theme"
    );
    let (_, plain, plain_body) = get(&server.url("/feeds/world.atom"), &[]).await;
    for query in ["utm_source=x", "theme=pink&summary=maybe", "_=123", "limit"] {
        let (status, headers, body) =
            get(&server.url(&format!("/feeds/world.atom?{query}")), &[]).await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(
            header(&headers, "etag"),
            header(&plain, "etag"),
            "{query}: the plain feed"
        );
        assert_eq!(body, plain_body);
    }
    assert!(server.stop());
}

#[tokio::test]
async fn views_and_widgets_follow_their_feed_within_a_second() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let urls = [
        "/feeds/tech.json?filter=robots",
        "/embed/tech.json?filter=robots",
        "/embed/tech.html?filter=robots",
        "/embed/all.html?category=tech&limit=2",
    ];
    for url in urls {
        let (status, _, body) = get(&server.url(url), &[]).await;
        assert_eq!(status, 200, "{url}");
        assert!(!String::from_utf8_lossy(&body).contains("Robots"), "{url}");
    }
    // Past the time every document carries: the newest of its feed.
    post_article(
        &server,
        &json!({"id": "robots-view", "title": "Robots <b>sort</b> the mail", "category": "tech",
                "published": "2026-11-30 09:00", "summary": "Warehouse robots."}),
    )
    .await;
    for url in urls {
        let seen = eventually(Duration::from_secs(1), || async {
            let (_, _, body) = get(&server.url(url), &[]).await;
            String::from_utf8_lossy(&body)
                .contains("Robots")
                .then_some(body)
        })
        .await
        .unwrap_or_else(|| panic!("{url}: the new item within a second"));
        let text = String::from_utf8(seen).unwrap();
        if url.ends_with("html?filter=robots") || url.contains("embed/all.html") {
            // Markup in a title is text on the page.
            assert!(
                text.contains("Robots &lt;b&gt;sort&lt;/b&gt; the mail"),
                "{url}: {text:.2000}"
            );
            assert!(!text.contains("<b>sort"), "{url}");
        }
    }
    assert!(server.stop());
}

#[tokio::test]
async fn the_widget_page_is_framed_by_the_configured_sites_and_the_script_is_served_like_a_feed() {
    let site = SiteDir::demo();
    site.append_config("[embed]\nframe-ancestors = [\"https://partner.example\", \"'self'\"]\n");
    let server = Server::start(&site, &[]);
    let (status, h, page) = get(
        &server.url("/embed/world.html?limit=2&summary&image&theme=dark"),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let csp = header(&h, "content-security-policy");
    assert!(
        csp.contains("frame-ancestors https://partner.example 'self'"),
        "{csp}"
    );
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(header(&h, "x-content-type-options"), "nosniff");
    let page = String::from_utf8(page).unwrap();
    assert_eq!(page.matches("<li>").count(), 2);
    assert!(page.contains("data-theme=\"dark\""));
    assert!(!page.contains("<script>"), "no inline script");
    // Its stylesheet and script, under the policy's 'self'.
    for (asset, ct) in [
        ("/embed/assets/widget.css", "text/css"),
        ("/embed/assets/frame.js", "text/javascript"),
        ("/embed/world.js", "text/javascript"),
        ("/embed/timelines/nowhere.js", ""),
    ] {
        let (status, h, _) = get(&server.url(asset), &[("Accept-Encoding", "br")]).await;
        if ct.is_empty() {
            assert_eq!(status, 404, "{asset}");
            continue;
        }
        assert_eq!(status, 200, "{asset}");
        assert!(header(&h, "content-type").starts_with(ct), "{asset}");
        assert!(
            header(&h, "cache-control").contains("max-age=300"),
            "{asset}"
        );
    }
    let (_, h, script) = get(&server.url("/embed/world.js"), &[]).await;
    let script = String::from_utf8(script).unwrap();
    assert!(
        !script.contains("innerHTML") && !script.contains("eval("),
        "DOM nodes and text only"
    );
    let etag = header(&h, "etag");
    let (status, _, _) = get(&server.url("/embed/world.js"), &[("If-None-Match", &etag)]).await;
    assert_eq!(status, 304);
    // The script's data: CORS, the feed's ttl, dates in the site's words.
    let (status, h, data) = get(&server.url("/embed/all.json?limit=3&summary"), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "access-control-allow-origin"), "*");
    let data: Value = serde_json::from_slice(&data).unwrap();
    assert_eq!(data["ttl"], 300);
    let items = data["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let first = &items[0];
    let published =
        chrono::DateTime::parse_from_rfc3339(first["date_published"].as_str().unwrap()).unwrap();
    assert_eq!(
        published.offset().local_minus_utc(),
        3600,
        "Casablanca's zone"
    );
    assert_eq!(
        first["when"].as_str().unwrap(),
        published.format("%-d %b %Y, %H:%M").to_string()
    );
    // The index and each feed's page carry the builder.
    for (page, feed) in [
        ("/", "all"),
        ("/feeds/world.html", "world"),
        ("/timelines/nowhere.html", ""),
    ] {
        let (status, _, body) = get(&server.url(page), &[]).await;
        if page.contains("nowhere") {
            assert_eq!(status, 404);
            continue;
        }
        let body = String::from_utf8(body).unwrap();
        let snippet = format!("/embed/{feed}.js&quot; data-limit=&quot;5&quot; async");
        assert!(
            body.contains("id=\"nw-builder\"") && body.contains(&snippet),
            "{page}"
        );
    }
    assert!(server.stop());
}
