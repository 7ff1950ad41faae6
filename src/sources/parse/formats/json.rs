//! JSON Feed 1.0 and 1.1, through serde_json: numeric ids and 1.0's
//! `author` read too.

use super::{advertise, html, person, resolve, text};
use crate::sources::dates;
use crate::sources::parse::{Advertised, Doc, Entry};
use url::Url;

#[derive(serde::Deserialize)]
struct JsonFeed {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    home_page_url: Option<String>,
    #[serde(default)]
    feed_url: Option<String>,
    /// JSON Feed 1.1: `{"type": "WebSub", "url": …}`.
    #[serde(default)]
    hubs: Vec<JsonHub>,
    #[serde(default)]
    items: Vec<JsonItem>,
}

#[derive(serde::Deserialize)]
struct JsonItem {
    /// A string by the spec; a number in some 1.0 feeds.
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    external_url: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    content_html: Option<String>,
    #[serde(default)]
    content_text: Option<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    date_published: Option<String>,
    #[serde(default)]
    date_modified: Option<String>,
    /// JSON Feed 1.0.
    #[serde(default)]
    author: Option<JsonAuthor>,
    #[serde(default)]
    authors: Vec<JsonAuthor>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(serde::Deserialize)]
struct JsonHub {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    url: String,
}

#[derive(serde::Deserialize)]
struct JsonAuthor {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

pub(in crate::sources::parse) fn json(body: &str, base: &Url) -> Option<Doc> {
    let feed: JsonFeed = serde_json::from_str(body).ok()?;
    let entries = feed
        .items
        .into_iter()
        .map(|i| {
            let id = i.id.and_then(|v| match v {
                serde_json::Value::String(s) => Some(s),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
            let content = i
                .content_html
                .map(html)
                .or_else(|| i.content_text.map(text));
            Entry {
                id,
                title: i.title.map(text),
                link: i.url.or(i.external_url).and_then(|u| resolve(base, &u)),
                summary: i.summary.map(text),
                content,
                published: i.date_published.as_deref().and_then(dates::parse),
                updated: i.date_modified.as_deref().and_then(dates::parse),
                authors: i
                    .author
                    .into_iter()
                    .chain(i.authors)
                    .filter_map(|a| {
                        let mut p = person(a.name.as_deref()?, None)?;
                        p.uri = a.url;
                        Some(p)
                    })
                    .collect(),
                tags: i.tags,
                image: i.image.and_then(|u| resolve(base, &u)),
                base: Some(base.to_string()),
                digest: String::new(),
            }
        })
        .collect();
    let mut advertised = Advertised::default();
    for hub in feed
        .hubs
        .iter()
        .filter(|h| h.kind.eq_ignore_ascii_case("websub"))
    {
        advertise(&mut advertised, "hub", &hub.url, base);
    }
    if let Some(url) = &feed.feed_url {
        advertise(&mut advertised, "self", url, base);
    }
    Some(Doc {
        title: feed.title.map(text),
        link: feed.home_page_url.and_then(|u| resolve(base, &u)),
        id: None,
        entries,
        advertised,
    })
}
