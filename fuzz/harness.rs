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
    contained_panics_unwind();
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

/// libFuzzer's panic hook aborts at once, before a panic can unwind to the
/// `catch_unwind` that newswire keeps around the feed readers (a reader's
/// panic fails that document in production). Rust's own hook restored, a
/// panic the code contains is contained here too, and one it does not
/// contain still reaches libfuzzer-sys, which aborts on it.
fn contained_panics_unwind() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| drop(std::panic::take_hook()));
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
/// script, style or embedding element, an event handler, or a URL attribute
/// with a scheme that runs. Other attributes (`alt`, `title`) are text,
/// whatever they say.
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
            if name.starts_with("on") {
                return Some(format!("{name}={value}"));
            }
            if !URL_ATTRIBUTES.contains(&name) {
                continue;
            }
            // As a browser reads a URL: tabs and newlines removed, leading
            // spaces and controls skipped; srcset is a list of them.
            let url: String = value
                .chars()
                .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                .collect::<String>()
                .to_ascii_lowercase();
            let mut urls: Vec<&str> = vec![&url];
            if name == "srcset" {
                urls = url.split(',').collect();
            }
            let runs = |u: &&str| {
                let u = u.trim_start_matches(|c: char| c <= ' ');
                ["javascript:", "vbscript:", "data:"]
                    .iter()
                    .any(|scheme| u.starts_with(scheme))
            };
            if urls.iter().any(runs) {
                return Some(format!("{name}={value}"));
            }
        }
    }
    None
}

/// Attributes a browser reads as URLs.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "srcset",
    "action",
    "formaction",
    "poster",
    "background",
    "cite",
    "data",
    "longdesc",
    "lowsrc",
    "dynsrc",
    "ping",
    "xlink:href",
    "codebase",
    "manifest",
    "icon",
    "usemap",
];

/// An OPML subscription list: every outline read has an xmlUrl.
pub fn opml(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(outlines) = newswire::sources::opml::sources(&text) {
        assert!(outlines.iter().all(|(_, url)| !url.trim().is_empty()));
    }
}
