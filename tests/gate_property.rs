//! The gate's promise, as a property: nothing the ingest path accepts can make a
//! served document invalid or unsafe.
//!
//! Random and hostile payloads (arbitrary Unicode, control characters, markup in
//! text fields, script, event handlers, `javascript:` and `data:` URLs, CDATA
//! terminators, dates at the ends of time) go through the API's own path: JSON
//! into `ArticleInput`/`BreakingInput`, `ingest::put_article`/`add_breaking`, the
//! store, the renderer. Every document of the site is then checked as
//! `../shared/tools/check-feed` checks it (well-formed XML of allowed characters,
//! RSS/Atom/JSON Feed parse with their required elements and date formats) and
//! for safety (no active content in any HTML a reader will display). At the end
//! the real check-feed runs over the last documents, where the tool is present.

use newswire::config::Config;
use newswire::ingest::{self, ArticleInput, BreakingInput, IngestError, Mode};
use newswire::site::Site;
use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, TestRunner};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//e.vil/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
    "<a href=\"java&#x09;script:alert(1)\">x</a>",
    "<iframe src=\"https://e.vil\"></iframe>",
    "<object data=x></object><embed src=x>",
    "<style>body{display:none}</style>",
    "<svg onload=alert(1)><circle/></svg>",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
    "<img src=\"data:image/svg+xml;base64,PHN2Zz4=\">",
    "<a href=\"data:text/html,<script>x</script>\">d</a>",
    "<form action=//e.vil><input></form>",
    "<p style=\"background:url(javascript:x)\">s</p>",
    "<a href=\"/relative\">r</a><img src=\"rel.png\">",
    "]]>",
    "<![CDATA[",
    "]]&gt;",
    "<!--",
    "-->",
    "<!DOCTYPE x [<!ENTITY a \"b\">]>",
    "&#0;",
    "&#x1;",
    "&#xFFFE;",
    "&amp;",
    "&lt;",
    "&",
    "<",
    ">",
    "\"",
    "'",
    "\u{0}",
    "\u{1}",
    "\u{8}",
    "\u{b}",
    "\u{c}",
    "\u{1b}[31m",
    "\u{7f}",
    "\u{85}",
    "\u{FFFE}",
    "\u{FFFF}",
    "\u{FEFF}",
    "\u{202E}",
    "\u{2028}",
    "😀",
    "العربية",
    "\r\n",
    "\t",
    " ",
    "%00",
    "%0d%0a",
];

const URLS: &[&str] = &[
    "https://news.example.com/a",
    "javascript:alert(1)",
    "data:text/html,x",
    "/relative",
    "https://News.Example.com/a b/\"q\"<x>",
    "https://news.example.com/caf\u{e9}.jpg",
    "http://[::1]/x",
    "ftp://x.example/a",
    "https://e.vil/\u{0}x",
    "",
];

const DATES: &[&str] = &[
    "2026-02-02 10:00",
    "2026-02-02T10:00:00+01:00",
    "1970-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59+14:00",
    "2026-03-01 02:30",
    "2100-01-01T00:00:00Z",
    "not a date",
];

fn hostile_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(HOSTILE).prop_map(str::to_owned),
            1 => any::<String>(),
            1 => "[a-z ]{0,12}",
        ],
        0..8,
    )
    .prop_map(|parts| parts.concat())
}

fn article() -> impl Strategy<Value = Value> {
    (
        "[a-z0-9]{1,8}",
        hostile_text(),
        prop::option::of(hostile_text()),
        prop::option::of(hostile_text()),
        hostile_text(),
        any::<bool>(),
        prop::sample::select(URLS),
        prop::sample::select(URLS),
        prop::sample::select(DATES),
        prop::collection::vec(hostile_text(), 0..4),
        prop::sample::select(&["world", "tech", "economy"][..]),
    )
        .prop_map(
            |(id, title, summary, author, body, markdown, link, image, date, tags, category)| {
                let mut a = json!({"id": id, "title": title, "category": category,
                                   "published": date, "tags": tags});
                a[if markdown {
                    "content_markdown"
                } else {
                    "content_html"
                }] = json!(body);
                if let Some(s) = summary {
                    a["summary"] = json!(s);
                }
                if let Some(s) = author {
                    a["author"] = json!(s);
                }
                if !link.is_empty() {
                    a["link"] = json!(link);
                }
                if !image.is_empty() {
                    a["image"] = json!(image);
                }
                a
            },
        )
}

fn ticker() -> impl Strategy<Value = Value> {
    (
        hostile_text(),
        prop::sample::select(URLS),
        prop::sample::select(DATES),
    )
        .prop_map(|(headline, link, date)| {
            let mut t = json!({"headline": headline, "published": date});
            if !link.is_empty() {
                t["link"] = json!(link);
            }
            t
        })
}

fn site(dir: &Path) -> Arc<Site> {
    let config = Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds/newswire.toml"))
        .expect("the demo config loads");
    let store = tokio::runtime::Handle::current()
        .block_on(newswire::store::open(None, dir))
        .expect("a SQLite store");
    Site::new(config, store)
}

/// The API's path for one payload: JSON into the input type, then ingest. Either
/// it is stored, or refused as a field error: never another kind of failure.
async fn ingest_one(site: &ingest::Ingest, payload: &Value, is_article: bool) {
    let result = if is_article {
        match serde_json::from_value::<ArticleInput>(payload.clone()) {
            Ok(input) => ingest::put_article(site, input, None, Mode::Replace)
                .await
                .map(|_| ()),
            Err(_) => return,
        }
    } else {
        match serde_json::from_value::<BreakingInput>(payload.clone()) {
            Ok(input) => ingest::add_breaking(site, vec![input]).await.map(|_| ()),
            Err(_) => return,
        }
    };
    match result {
        Ok(()) | Err(IngestError::Field(_)) => {}
        Err(e) => panic!("payload {payload} failed outside the gate: {e}"),
    }
}

fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Well-formed XML 1.0 of allowed characters, character references included.
fn check_xml(path: &str, text: &str) {
    assert!(
        text.chars().all(xml_char),
        "{path}: a character XML forbids"
    );
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut depth = 0i64;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(_)) => depth += 1,
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(quick_xml::events::Event::Text(t)) => {
                let s = t.decode().unwrap();
                for r in s.split("&#").skip(1) {
                    let num = r.split(';').next().unwrap();
                    let code = match num.strip_prefix('x') {
                        Some(h) => u32::from_str_radix(h, 16).unwrap(),
                        None => num.parse().unwrap(),
                    };
                    assert!(
                        char::from_u32(code).is_some_and(xml_char),
                        "{path}: &#{num};"
                    );
                }
            }
            Ok(_) => {}
            Err(e) => panic!(
                "{path}: not well-formed at {}: {e}",
                reader.buffer_position()
            ),
        }
    }
    assert_eq!(depth, 0, "{path}: unbalanced");
}

/// No active content in HTML a reader displays: no script-capable elements, no
/// event handlers, no URL but http(s) and mailto, no styles.
fn check_html(path: &str, html: &str) {
    let doc = scraper::Html::parse_fragment(html);
    for node in doc.root_element().descendants() {
        let Some(el) = node.value().as_element() else {
            continue;
        };
        let name = el.name();
        assert!(
            !matches!(
                name,
                "script"
                    | "style"
                    | "iframe"
                    | "object"
                    | "embed"
                    | "form"
                    | "svg"
                    | "math"
                    | "link"
                    | "meta"
                    | "base"
            ),
            "{path}: <{name}> in {html}"
        );
        for (attr, value) in el.attrs() {
            assert!(
                !attr.starts_with("on") && attr != "style",
                "{path}: {attr}= in {html}"
            );
            if matches!(
                attr,
                "href" | "src" | "cite" | "srcset" | "action" | "xlink:href"
            ) {
                let v = value.trim().to_ascii_lowercase();
                assert!(
                    v.starts_with("http://")
                        || v.starts_with("https://")
                        || v.starts_with("mailto:"),
                    "{path}: {attr}={value:?} in {html}"
                );
            }
        }
    }
}

fn check_date_rfc3339(path: &str, d: &str) {
    let t = chrono::DateTime::parse_from_rfc3339(d)
        .unwrap_or_else(|e| panic!("{path}: {d:?} is not RFC 3339: {e}"));
    assert!(t.timestamp() >= 0, "{path}: {d} before 1970");
    assert!(
        (1970..=9999).contains(&chrono::Datelike::year(&t)),
        "{path}: {d}"
    );
}

fn check_document(path: &str, body: &[u8]) {
    let text = std::str::from_utf8(body).unwrap_or_else(|_| panic!("{path}: not UTF-8"));
    if path.ends_with(".rss") {
        check_xml(path, text);
        let ch = rss::Channel::read_from(body).unwrap_or_else(|e| panic!("{path}: {e}"));
        for item in ch.items() {
            assert!(
                item.title().is_some_and(|t| !t.trim().is_empty()),
                "{path}: a title"
            );
            let date = item.pub_date().expect("pubDate");
            let t = chrono::DateTime::parse_from_rfc2822(date)
                .unwrap_or_else(|e| panic!("{path}: pubDate {date:?}: {e}"));
            assert!(t.timestamp() >= 0);
            if let Some(c) = item.content() {
                check_html(path, c);
            }
            if let Some(d) = item.description() {
                check_html(path, d);
            }
            for url in item
                .link()
                .into_iter()
                .chain(item.enclosure().map(|e| e.url()))
            {
                let u = url::Url::parse(url).unwrap_or_else(|e| panic!("{path}: {url}: {e}"));
                assert!(matches!(u.scheme(), "http" | "https"), "{path}: {url}");
            }
        }
    } else if path.ends_with(".atom") {
        check_xml(path, text);
        let feed =
            atom_syndication::Feed::read_from(body).unwrap_or_else(|e| panic!("{path}: {e}"));
        check_date_rfc3339(path, &feed.updated().to_rfc3339());
        for e in feed.entries() {
            assert!(!e.title().trim().is_empty(), "{path}: a title");
            if let Some(c) = e.content().and_then(|c| c.value()) {
                check_html(path, c);
            }
            check_date_rfc3339(path, &e.updated().to_rfc3339());
        }
    } else if path.ends_with(".json") {
        let feed: Value = serde_json::from_slice(body).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(feed["version"], "https://jsonfeed.org/version/1.1");
        for it in feed["items"].as_array().unwrap() {
            assert!(it["id"].is_string(), "{path}: id");
            assert!(it.get("content_html").is_some() || it.get("content_text").is_some());
            if let Some(h) = it["content_html"].as_str() {
                check_html(path, h);
            }
            for d in ["date_published", "date_modified"] {
                check_date_rfc3339(path, it[d].as_str().unwrap());
            }
            if let Some(u) = it["url"].as_str() {
                assert!(
                    u.starts_with("http://") || u.starts_with("https://"),
                    "{path}: {u}"
                );
            }
        }
    } else if path.ends_with(".html") || path == "/" {
        // Our own pages: what the body shows (items' text, links) carries no
        // active content; the head is our fixed style and alternate links,
        // and the embed builder at the end our fixed form, frame and script
        // (it shows no item).
        let body = text.split_once("<body>").map_or(text, |(_, b)| b);
        let body = body.split("<section id=\"embed\">").next().unwrap_or(body);
        check_html(path, body);
    } else if path.ends_with(".opml") {
        check_xml(path, text);
    }
}

#[test]
fn nothing_the_gate_accepts_breaks_or_arms_a_served_document() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let site = site(dir.path());
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(48);
    let mut runner = TestRunner::new(PropConfig {
        cases,
        failure_persistence: None,
        ..PropConfig::default()
    });
    let payloads = prop::collection::vec(
        prop_oneof![3 => article().prop_map(|a| (a, true)), 1 => ticker().prop_map(|t| (t, false))],
        1..6,
    );
    runner
        .run(&payloads, |batch| {
            rt.block_on(async {
                let ing = site.ingest();
                for (payload, is_article) in &batch {
                    ingest_one(&ing, payload, *is_article).await;
                }
                site.render_everything().await.expect("rendering");
            });
            for path in site.cache.paths() {
                let entry = site.cache.get(&path).unwrap();
                check_document(&path, &entry.identity.body);
            }
            Ok(())
        })
        .unwrap();

    // The real checker over what the run left, where the project's tools are.
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/check-feed");
    if !tool.exists() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for path in site.cache.paths() {
        if let Some(name) = path.strip_prefix("/feeds/")
            && [".rss", ".atom", ".json"].iter().any(|e| name.ends_with(e))
            && ["all.", "world.", "breaking."]
                .iter()
                .any(|p| name.starts_with(p))
        {
            let file = out.path().join(name);
            std::fs::write(&file, &site.cache.get(&path).unwrap().identity.body).unwrap();
            files.push(file);
        }
    }
    let result = std::process::Command::new(&tool)
        .args(&files)
        .output()
        .expect("run check-feed");
    let report = String::from_utf8_lossy(&result.stdout).into_owned()
        + &String::from_utf8_lossy(&result.stderr);
    assert!(
        !report.contains(": FAIL:") && report.contains(": ok:"),
        "check-feed on the documents hostile input left:\n{report}"
    );
}
