//! What the fuzz targets (cargo-fuzz, `fuzz/fuzz_targets/`) and their CI
//! run (`tests/fuzz.rs`, proptest over mutated fixtures) feed every input
//! to: the readers of untrusted documents as the poller runs them, each
//! result checked for what must hold whatever the input.

use chrono::{DateTime, TimeZone, Utc};
use newswire::config::{ArticleSelectors, ListSelectors, ScrapeConfig};
use newswire::gate::{self, Trust};
use newswire::sources::parse::{self, SourceInfo};
use url::Url;

const TZ: chrono_tz::Tz = chrono_tz::Africa::Casablanca;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

fn base() -> Url {
    Url::parse("https://upstream.example/news/feed.xml").unwrap()
}

/// A feed in any format, through the parser and the gate: entries within
/// the cap, and every admitted item free of active content.
pub fn feed(bytes: &[u8]) {
    let Ok(mut parsed) = parse::parse_at_most(bytes, None, &base(), 1000) else {
        return;
    };
    assert!(parsed.entries.len() <= 1000);
    let info = SourceInfo {
        name: "fuzz",
        title: None,
        feed_url: "https://upstream.example/news/feed.xml",
        categories: &[],
        tag_prefix: "tag:fuzz.example,2026-01-01:",
    };
    let entries = std::mem::take(&mut parsed.entries);
    for entry in entries {
        let id = parse::upstream_id(&entry);
        let base = entry.base.clone();
        let item = parse::to_item(entry, &parsed, &info, id, now());
        if let Ok(item) = gate::admit_based(item, Trust::Lenient, now(), base.as_deref()) {
            let html = item.content_html.unwrap_or_default();
            assert_eq!(active(&html), None, "{html}");
            assert!(item.title.chars().count() <= gate::MAX_TITLE);
        }
    }
}

/// An HTML page read as a scrape's list and as an article page: ticker
/// dates within a day of the fetch, bodies free of active content.
pub fn page(bytes: &[u8]) {
    let list = ScrapeConfig {
        name: "fuzz".into(),
        url: base().to_string(),
        title: None,
        interval: None,
        category: "breaking".into(),
        timezone: None,
        max_items: None,
        list: ListSelectors {
            item: "li, .item, div.ticker".into(),
            time: Some(".time, time".into()),
            title: None,
            link: Some("a".into()),
            date_format: None,
            language: Some("fr".into()),
        },
        article: None,
    };
    if let Ok((parsed, _)) = newswire::sources::scrape::list(bytes, None, &base(), &list, TZ, now())
    {
        // Every row read has its headline. (Its date may be anything: a
        // ticker's times reach back a day each time they wrap, and a full
        // date is what the page says.)
        assert!(!parsed.entries.is_empty());
        for e in &parsed.entries {
            assert!(e.title.as_ref().is_some_and(|t| !t.value.is_empty()));
        }
    }
    let article = ArticleSelectors {
        title: Some("h1".into()),
        date: Some("time, .date".into()),
        date_format: Some("%A %d %B %Y - %H:%M".into()),
        language: Some("fr".into()),
        body: Some("article, .body".into()),
        remove: vec![".noise".into()],
        ..Default::default()
    };
    if let Ok((a, _)) = newswire::sources::scrape::article(bytes, None, &base(), &article, TZ) {
        let body = a.body.unwrap_or_default();
        assert_eq!(active(&body), None, "{body}");
    }
}

/// What would run in a browser, as a browser parses the HTML (text that
/// only reads like markup, `&lt;a href="javascript:x"&gt;`, is text): a
/// script, style or embedding element, an event handler, or a URL with a
/// scheme that runs.
fn active(html: &str) -> Option<String> {
    let doc = scraper::Html::parse_fragment(html);
    for node in doc.tree.nodes() {
        let scraper::Node::Element(e) = node.value() else {
            continue;
        };
        if matches!(
            e.name(),
            "script" | "style" | "iframe" | "object" | "embed" | "frame"
        ) {
            return Some(format!("<{}>", e.name()));
        }
        for (name, value) in e.attrs() {
            let value = value.trim_start().to_ascii_lowercase();
            if name.starts_with("on")
                || ["javascript:", "vbscript:", "data:"].iter().any(|scheme| {
                    value.starts_with(scheme) || value.contains(&format!(" {scheme}"))
                })
            {
                return Some(format!("{name}={value}"));
            }
        }
    }
    None
}

/// An OPML subscription list: every outline read has an xmlUrl.
pub fn opml(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(outlines) = newswire::sources::opml::sources(&text) {
        assert!(outlines.iter().all(|(_, url)| !url.trim().is_empty()));
    }
}
