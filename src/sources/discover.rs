//! A site's feeds found from its address, as readers find them: the feeds an
//! HTML page names in `<link rel="alternate">` (HTML's autodiscovery, the
//! RSS Board's and the Atom community's convention), relative hrefs and
//! `<base href>` honoured; else the paths sites publish them at by habit
//! (`/feed`, `/rss.xml`, …), each asked for and kept only when it parses as
//! a feed. Nothing is stored.

use super::fetch::{Fetcher, Outcome, Request};
use scraper::{Html, Selector};
use std::sync::LazyLock;
use url::Url;

/// The most feeds one page may name that are kept: a page naming thousands
/// is answered with its first ones.
const MAX_FOUND: usize = 50;

/// Where sites put their feeds without saying so, asked in this order.
pub const USUAL_PATHS: &[&str] = &[
    "/feed",
    "/rss.xml",
    "/feed.xml",
    "/atom.xml",
    "/index.xml",
    "/rss",
    "/feed.json",
    "/feed/",
];

/// One feed a page names, or a usual path answered with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Found {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `rss`, `atom` or `json` (from the link's type, or what was read there).
    pub format: &'static str,
}

/// The format a `<link type>` names, if it names a feed.
fn feed_format(mime: &str) -> Option<&'static str> {
    let mime = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/rss+xml" | "application/rdf+xml" => Some("rss"),
        "application/atom+xml" => Some("atom"),
        "application/feed+json" | "application/json" => Some("json"),
        _ => None,
    }
}

/// The feeds an HTML page names (`<link rel="alternate" type="…">`, in page
/// order, each once), absolute against `<base href>` or the page's URL.
pub fn linked(html: &str, page: &Url) -> Vec<Found> {
    static LINK: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse("link[href]").expect("a valid selector"));
    static BASE: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse("base[href]").expect("a valid selector"));
    let doc = Html::parse_document(crate::text::truncate_bytes(html, 2 << 20));
    let base = doc
        .select(&BASE)
        .next()
        .and_then(|b| page.join(b.value().attr("href")?).ok())
        .unwrap_or_else(|| page.clone());
    let mut found: Vec<Found> = Vec::new();
    for link in doc.select(&LINK) {
        let el = link.value();
        let alternate = el.attr("rel").is_some_and(|r| {
            r.split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case("alternate"))
        });
        let Some(format) = el.attr("type").and_then(feed_format) else {
            continue;
        };
        let Some(url) = el.attr("href").and_then(|h| base.join(h.trim()).ok()) else {
            continue;
        };
        if !alternate || !matches!(url.scheme(), "http" | "https") {
            continue;
        }
        if found.iter().any(|f| f.url == url.as_str()) {
            continue;
        }
        let title = el
            .attr("title")
            .map(|t| crate::gate::clean_text(t, 200))
            .filter(|t| !t.is_empty());
        found.push(Found {
            url: url.into(),
            title,
            format,
        });
        if found.len() == MAX_FOUND {
            break;
        }
    }
    found
}

/// Whether `body` is a feed (of any format newswire reads), and which.
pub fn sniff(
    body: &[u8],
    content_type: Option<&str>,
    url: &Url,
) -> Option<(&'static str, Option<String>)> {
    let parsed = super::parse::parse_at_most(body, content_type, url, 1).ok()?;
    let head = String::from_utf8_lossy(&body[..body.len().min(1024)]).to_ascii_lowercase();
    let format = if head.trim_start().starts_with('{') {
        "json"
    } else if head.contains("<feed") {
        "atom"
    } else {
        "rss"
    };
    Some((format, parsed.title))
}

/// The feeds at the usual paths of `page`'s site, each fetched under the
/// fetch policy and kept when it parses as a feed.
pub async fn usual(fetcher: &Fetcher, page: &Url) -> Vec<Found> {
    let mut found = Vec::new();
    for path in USUAL_PATHS {
        let Ok(url) = page.join(path) else { continue };
        let request = Request {
            url: url.to_string(),
            ..Default::default()
        };
        if let Outcome::Fetched {
            body,
            url,
            content_type,
            ..
        } = fetcher.fetch(&request).await
            && let Some((format, title)) = sniff(&body, content_type.as_deref(), &url)
            && !found.iter().any(|f: &Found| f.url == url.as_str())
        {
            found.push(Found {
                url: url.into(),
                title,
                format,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_of_feed_types_resolved_against_the_base() {
        let page = Url::parse("https://news.example/world/today.html").unwrap();
        let html = r#"<html><head>
            <link rel="stylesheet" href="/s.css">
            <link rel="alternate" type="application/rss+xml" title="World &amp; more" href="feed.rss">
            <link rel="Alternate home" type="application/atom+xml; charset=utf-8" href="/atom.xml">
            <link rel="alternate" type="application/feed+json" href="https://other.example/f.json">
            <link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
            <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
            <link rel="alternate" type="application/rss+xml" href="feed.rss">
            </head></html>"#;
        let found = linked(html, &page);
        let urls: Vec<&str> = found.iter().map(|f| f.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://news.example/world/feed.rss",
                "https://news.example/atom.xml",
                "https://other.example/f.json"
            ]
        );
        assert_eq!(found[0].title.as_deref(), Some("World & more"));
        assert_eq!(
            [found[0].format, found[1].format, found[2].format],
            ["rss", "atom", "json"]
        );
        let based = r#"<head><base href="https://cdn.example/x/"><link rel=alternate type=application/rss+xml href=r.xml></head>"#;
        assert_eq!(linked(based, &page)[0].url, "https://cdn.example/x/r.xml");
    }
}
