//! One reader per format into [`Doc`], Miniflux-style. The field's own crates
//! read the common formats: the rss crate RSS 2.0 (and 0.9x), atom_syndication
//! Atom 1.0, serde_json JSON Feed. feed-rs reads the rest (RSS 1.0/RDF, Atom
//! 0.3 once translated, documents with `xml:base`, which only it resolves) and
//! anything the fast readers refuse (a date atom_syndication cannot read, an
//! entity the rss crate does not know): they are measured 2 to 5 times faster
//! on the same bytes (`benches/parse.rs`), and feed-rs is the one that takes
//! everything.

use super::{Doc, Entry, Text};
use crate::model::Person;
use crate::sources::dates;
use chrono::{DateTime, Utc};
use url::Url;

/// A link as absolute as the document makes it: joined to `base` (the
/// response URL) when relative, dropped when it is not a URL at all.
pub(super) fn resolve(base: &Url, href: &str) -> Option<String> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    base.join(href).ok().map(String::from)
}

fn html(value: String) -> Text {
    Text { value, html: true }
}

fn text(value: String) -> Text {
    Text { value, html: false }
}

// ---- RSS 2.0 and 0.9x: the rss crate ----------------------------------------

pub(super) fn rss(xml: &str, base: &Url) -> Option<Doc> {
    let channel = rss::Channel::read_from(xml.as_bytes()).ok()?;
    let entries = channel
        .items
        .into_iter()
        .map(|item| {
            let dc = item.dublin_core_ext.as_ref();
            let mut authors: Vec<Person> = dc
                .map(|dc| dc.creators.iter().filter_map(|c| person(c, None)).collect())
                .unwrap_or_default();
            if let Some(a) = item.author.as_deref().and_then(rss_author) {
                authors.insert(0, a);
            }
            let published = item.pub_date.as_deref().and_then(dates::parse).or_else(|| {
                dc.and_then(|dc| dc.dates.first())
                    .and_then(|d| dates::parse(d))
            });
            let image = item
                .enclosure
                .as_ref()
                .filter(|e| e.mime_type.starts_with("image/"))
                .map(|e| e.url.clone())
                .or_else(|| media_image(&item.extensions));
            Entry {
                id: item.guid.map(|g| g.value),
                title: item.title.map(text),
                link: item.link.as_deref().and_then(|l| resolve(base, l)),
                // RSS's description is HTML by the spec.
                summary: item.description.map(html),
                content: item.content.map(html),
                published,
                updated: None,
                authors,
                tags: item.categories.into_iter().map(|c| c.name).collect(),
                image: image.and_then(|i| resolve(base, &i)),
                digest: String::new(),
            }
        })
        .collect();
    Some(Doc {
        title: Some(text(channel.title)),
        link: resolve(base, &channel.link),
        id: None,
        entries,
    })
}

/// RSS `author` is `email (Name)`, or often just a name.
fn rss_author(raw: &str) -> Option<Person> {
    let raw = raw.trim();
    match raw.split_once('(') {
        Some((email, name)) => person(name.trim_end_matches(')'), Some(email.trim())),
        None if raw.contains('@') && !raw.contains(' ') => person(raw, Some(raw)),
        None => person(raw, None),
    }
}

fn person(name: &str, email: Option<&str>) -> Option<Person> {
    let name = name.trim();
    (!name.is_empty()).then(|| Person {
        name: name.to_owned(),
        email: email.filter(|e| e.contains('@')).map(str::to_owned),
        uri: None,
    })
}

/// Media RSS: `media:thumbnail url`, or `media:content` that is an image.
fn media_image(ext: &rss::extension::ExtensionMap) -> Option<String> {
    let media = ext.get("media")?;
    let attr = |e: &rss::extension::Extension, k: &str| e.attrs.get(k).cloned();
    media
        .get("thumbnail")
        .and_then(|t| t.first())
        .and_then(|t| attr(t, "url"))
        .or_else(|| {
            media.get("content")?.iter().find_map(|c| {
                let image = c.attrs.get("medium").is_some_and(|m| m == "image")
                    || c.attrs.get("type").is_some_and(|t| t.starts_with("image/"));
                image.then(|| attr(c, "url")).flatten()
            })
        })
}

// ---- Atom 1.0: atom_syndication ----------------------------------------------

fn atom_text(t: atom_syndication::Text) -> Text {
    use atom_syndication::TextType;
    Text {
        html: !matches!(t.r#type, TextType::Text),
        value: t.value,
    }
}

fn atom_date(d: atom_syndication::FixedDateTime) -> Option<DateTime<Utc>> {
    // atom_syndication fills a missing date with the epoch.
    (d.timestamp() != 0).then(|| d.to_utc())
}

fn atom_link(links: &[atom_syndication::Link], base: &Url) -> Option<String> {
    links
        .iter()
        .find(|l| l.rel == "alternate" && l.mime_type.as_deref().is_none_or(|t| t.contains("html")))
        .or_else(|| {
            links
                .iter()
                .find(|l| !matches!(l.rel.as_str(), "self" | "hub" | "enclosure"))
        })
        .and_then(|l| resolve(base, &l.href))
}

pub(super) fn atom(xml: &str, base: &Url) -> Option<Doc> {
    let feed = atom_syndication::Feed::read_from(xml.as_bytes()).ok()?;
    let link = atom_link(&feed.links, base);
    let entries = feed
        .entries
        .into_iter()
        .map(|e| {
            let content = e.content.and_then(|c| {
                let value = c.value?;
                Some(match c.content_type.as_deref() {
                    None | Some("text") | Some("text/plain") => text(value),
                    _ => html(value),
                })
            });
            let image = e
                .links
                .iter()
                .find(|l| {
                    l.rel == "enclosure"
                        && l.mime_type
                            .as_deref()
                            .is_some_and(|t| t.starts_with("image/"))
                })
                .and_then(|l| resolve(base, &l.href));
            Entry {
                id: Some(e.id),
                title: Some(atom_text(e.title)),
                link: atom_link(&e.links, base),
                summary: e.summary.map(atom_text),
                content,
                published: e.published.and_then(atom_date),
                updated: atom_date(e.updated),
                authors: e
                    .authors
                    .into_iter()
                    .filter_map(|p| {
                        let mut found = person(&p.name, p.email.as_deref())?;
                        found.uri = p.uri;
                        Some(found)
                    })
                    .collect(),
                tags: e
                    .categories
                    .into_iter()
                    .map(|c| c.label.unwrap_or(c.term))
                    .collect(),
                image,
                digest: String::new(),
            }
        })
        .collect();
    Some(Doc {
        title: Some(atom_text(feed.title)),
        link,
        id: Some(feed.id),
        entries,
    })
}

// ---- JSON Feed 1.0 and 1.1: serde_json ----------------------------------------

#[derive(serde::Deserialize)]
struct JsonFeed {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    home_page_url: Option<String>,
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
struct JsonAuthor {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

pub(super) fn json(body: &str, base: &Url) -> Option<Doc> {
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
                digest: String::new(),
            }
        })
        .collect();
    Some(Doc {
        title: feed.title.map(text),
        link: feed.home_page_url.and_then(|u| resolve(base, &u)),
        id: None,
        entries,
    })
}

// ---- everything else: feed-rs -------------------------------------------------

fn rs_text(t: feed_rs::model::Text) -> Text {
    Text {
        html: t.content_type.subty() != "plain",
        value: t.content,
    }
}

/// The page a list of links points readers to: `alternate` (or no rel) with an
/// HTML or no type, else the first link that is not the feed's own.
fn rs_link(links: &[feed_rs::model::Link]) -> Option<String> {
    let html = |l: &&feed_rs::model::Link| {
        matches!(l.rel.as_deref(), None | Some("alternate"))
            && l.media_type.as_deref().is_none_or(|t| t.contains("html"))
    };
    links
        .iter()
        .find(html)
        .or_else(|| {
            links
                .iter()
                .find(|l| !matches!(l.rel.as_deref(), Some("self" | "hub" | "enclosure")))
        })
        .map(|l| l.href.clone())
}

pub(super) fn feed_rs(xml: &str, base: &Url) -> Result<Doc, String> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .sanitize_content(false)
        .timestamp_parser(dates::parse)
        // No made-up ids: an entry without one is identified by its link
        // (then its title), which survives a reworded summary.
        .id_generator(|_, _, _| String::new())
        .build();
    let feed = parser.parse(xml.as_bytes()).map_err(|e| e.to_string())?;
    let link = rs_link(&feed.links);
    let entries = feed
        .entries
        .into_iter()
        .map(|e| {
            let image = e
                .media
                .iter()
                .flat_map(|m| {
                    m.thumbnails.iter().map(|t| t.image.uri.clone()).chain(
                        m.content
                            .iter()
                            .filter(|c| c.content_type.as_ref().is_some_and(|t| t.ty() == "image"))
                            .filter_map(|c| c.url.as_ref().map(|u| u.to_string())),
                    )
                })
                .next();
            Entry {
                id: Some(e.id).filter(|id| !id.trim().is_empty()),
                link: rs_link(&e.links),
                title: e.title.map(rs_text),
                summary: e.summary.map(rs_text),
                content: e.content.and_then(|c| {
                    let html = c.content_type.subty() != "plain";
                    Some(Text {
                        value: c.body?,
                        html,
                    })
                }),
                published: e.published,
                updated: e.updated,
                authors: e
                    .authors
                    .into_iter()
                    .filter_map(|p| {
                        let name = p.name.or_else(|| p.email.clone())?;
                        let mut found = person(&name, p.email.as_deref())?;
                        found.uri = p.uri;
                        Some(found)
                    })
                    .collect(),
                tags: e
                    .categories
                    .into_iter()
                    .map(|c| c.label.unwrap_or(c.term))
                    .collect(),
                image,
                digest: String::new(),
            }
        })
        .collect();
    Ok(Doc {
        title: feed.title.map(rs_text),
        link,
        id: Some(feed.id),
        entries,
    })
}
