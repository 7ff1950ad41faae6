//! One reader per format into [`Doc`], Miniflux-style. RSS 2.0, 0.9x and 1.0
//! (by its usual `rdf:RDF` root) are read from quick-xml's events by the rss
//! crate's rules, atom_syndication reads Atom 1.0, serde_json JSON Feed.
//! feed-rs reads the rest (RSS 1.0 under another prefix, Atom 0.3 once
//! translated, documents with `xml:base`, which only it resolves) and anything
//! the fast readers refuse (a date atom_syndication cannot read): they are
//! measured 2 to 5 times faster on the same bytes (`benches/parse.rs`), and
//! feed-rs is the one that takes everything.

use super::{Advertised, Doc, Entry, Text};
use crate::model::Person;
use crate::sources::dates;
use chrono::{DateTime, Utc};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use std::borrow::Cow;
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

/// Notes a `rel="hub"` or `rel="self"` link (absolute, http(s)).
fn advertise(advertised: &mut Advertised, rel: &str, href: &str, base: &Url) {
    let Some(url) = resolve(base, href).filter(|u| u.starts_with("http")) else {
        return;
    };
    match rel.trim() {
        r if r.eq_ignore_ascii_case("hub") && !advertised.hubs.contains(&url) => {
            advertised.hubs.push(url)
        }
        r if r.eq_ignore_ascii_case("self") && advertised.topic.is_none() => {
            advertised.topic = Some(url)
        }
        _ => {}
    }
}

fn html(value: String) -> Text {
    Text { value, html: true }
}

fn text(value: String) -> Text {
    Text { value, html: false }
}

// ---- RSS 2.0, 0.9x and 1.0 (RDF): quick-xml's events -------------------------

/// Dublin Core, whose `creator` and `date` RSS items carry under any prefix.
const DUBLIN_CORE: &[u8] = b"http://purl.org/dc/elements/1.1/";

/// The prefixes that name Dublin Core for an element's children: those in
/// scope, as the element's own declarations leave them (most elements declare
/// nothing, and borrow the scope as it is).
fn dc_prefixes<'s>(e: &BytesStart<'_>, scope: &'s [Vec<u8>]) -> Cow<'s, [Vec<u8>]> {
    let mut out = Cow::Borrowed(scope);
    for a in e.attributes().with_checks(false).flatten() {
        if let Some(prefix) = a.key.as_ref().strip_prefix(b"xmlns:") {
            let prefixes = out.to_mut();
            prefixes.retain(|p| p != prefix);
            if a.value.as_ref() == DUBLIN_CORE {
                prefixes.push(prefix.to_vec());
            }
        }
    }
    out
}

/// The text of the element just opened, as the rss crate reads it: markup
/// nested in it skipped, the five entities and character references
/// resolved, any other reference kept as written, trimmed; `None` when
/// empty. The outer `None` is malformed XML.
fn element_text(r: &mut Reader<&[u8]>, xml: &str) -> Option<Option<String>> {
    let mut out = String::new();
    loop {
        match r.read_event().ok()? {
            Event::Start(e) => {
                r.read_to_end(e.name()).ok()?;
            }
            Event::Text(t) => match within(xml, &t) {
                Some(s) => out.push_str(s),
                None => out.push_str(&t.decode().ok()?),
            },
            Event::CData(t) => match within(xml, &t) {
                Some(s) => out.push_str(s),
                None => out.push_str(&t.decode().ok()?),
            },
            Event::GeneralRef(g) => {
                let name = g.decode().ok()?;
                if let Some(s) = quick_xml::escape::resolve_predefined_entity(&name) {
                    out.push_str(s);
                } else if let Some(c) = g.resolve_char_ref().ok()? {
                    out.push(c);
                } else {
                    out.push('&');
                    out.push_str(&name);
                    out.push(';');
                }
            }
            Event::End(_) | Event::Eof => break,
            _ => {}
        }
    }
    let trimmed = out.trim();
    Some(match trimmed.len() {
        0 => None,
        n if n == out.len() => Some(out),
        _ => Some(trimmed.to_owned()),
    })
}

/// `bytes`, read from `xml`, as the `&str` they are, without checking their
/// UTF-8 a second time (a body's text is most of its bytes); `None` if they
/// were not a slice of it.
fn within<'a>(xml: &'a str, bytes: &[u8]) -> Option<&'a str> {
    let start = (bytes.as_ptr() as usize).checked_sub(xml.as_ptr() as usize)?;
    xml.get(start..start.checked_add(bytes.len())?)
}

fn attribute(e: &BytesStart<'_>, key: &[u8]) -> Option<String> {
    e.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

/// RSS 2.0 and 0.9x, and RSS 1.0 by its usual `rdf:RDF` root, straight from
/// quick-xml's events into entries. It reads what the rss crate reads, by the
/// same rules (the same elements and names, the last of a repeated field, text
/// as [`element_text`] gives it, a `channel` required), so ids, dates and
/// digests are those the crate gave (`reads_rss_as_the_rss_crate_did`). The
/// crate builds its whole model of a channel first: it cost twice this.
pub(super) fn rss(xml: &str, base: &Url) -> Option<Doc> {
    let mut r = Reader::from_str(xml);
    r.config_mut().expand_empty_elements = true;
    let dc = loop {
        match r.read_event().ok()? {
            Event::Start(e) if matches!(e.name().as_ref(), b"rss" | b"rdf:RDF") => {
                break dc_prefixes(&e, &[]).into_owned();
            }
            Event::Start(_) | Event::Eof => return None,
            _ => {}
        }
    };
    let mut channel = None;
    let mut outside = Vec::new();
    loop {
        match r.read_event().ok()? {
            Event::Start(e) => match e.name().as_ref() {
                b"channel" => channel = Some(rss_channel(&mut r, xml, &dc, base)?),
                b"item" => outside.push(rss_item(&mut r, xml, &e, &dc, base)?),
                _ => {
                    r.read_to_end(e.name()).ok()?;
                }
            },
            Event::End(_) | Event::Eof => break,
            _ => {}
        }
    }
    let mut doc = channel?;
    doc.entries.append(&mut outside);
    Some(doc)
}

fn rss_channel(r: &mut Reader<&[u8]>, xml: &str, dc: &[Vec<u8>], base: &Url) -> Option<Doc> {
    let (mut title, mut link) = (String::new(), String::new());
    let mut entries = Vec::new();
    let mut advertised = Advertised::default();
    loop {
        match r.read_event().ok()? {
            Event::Start(e) => match e.name().as_ref() {
                // `atom:link rel="hub"` and `rel="self"`, under any prefix.
                name if name.ends_with(b":link") => {
                    if let (Some(rel), Some(href)) = (attribute(&e, b"rel"), attribute(&e, b"href"))
                    {
                        advertise(&mut advertised, &rel, &href, base);
                    }
                    r.read_to_end(e.name()).ok()?;
                }
                b"item" => entries.push(rss_item(r, xml, &e, dc, base)?),
                b"title" => {
                    if let Some(t) = element_text(r, xml)? {
                        title = t;
                    }
                }
                b"link" => {
                    if let Some(l) = element_text(r, xml)? {
                        link = l;
                    }
                }
                _ => {
                    r.read_to_end(e.name()).ok()?;
                }
            },
            Event::End(_) => break,
            Event::Eof => return None,
            _ => {}
        }
    }
    Some(Doc {
        title: Some(text(title)),
        link: resolve(base, &link),
        id: None,
        entries,
        advertised,
    })
}

/// What an item says, as read.
#[derive(Default)]
struct RssItem {
    title: Option<String>,
    link: Option<String>,
    description: Option<String>,
    content: Option<String>,
    guid: Option<String>,
    pub_date: Option<String>,
    author: Option<String>,
    creators: Vec<String>,
    dc_date: Option<String>,
    categories: Vec<String>,
    /// An enclosure's URL and type: the last enclosure.
    enclosure: Option<(String, String)>,
    media_image: Option<String>,
}

fn rss_item(
    r: &mut Reader<&[u8]>,
    xml: &str,
    start: &BytesStart<'_>,
    dc: &[Vec<u8>],
    base: &Url,
) -> Option<Entry> {
    let dc = dc_prefixes(start, dc);
    let mut item = RssItem::default();
    let mut thumbnail = None;
    let mut media_content = None;
    loop {
        let e = match r.read_event().ok()? {
            Event::Start(e) => e,
            Event::End(_) => break,
            Event::Eof => return None,
            _ => continue,
        };
        match e.name().as_ref() {
            b"title" => item.title = element_text(r, xml)?,
            b"link" => {
                if let Some(l) = element_text(r, xml)? {
                    item.link = Some(l);
                }
            }
            b"description" => item.description = element_text(r, xml)?,
            b"author" => item.author = element_text(r, xml)?,
            b"pubDate" => item.pub_date = element_text(r, xml)?,
            b"content:encoded" => item.content = element_text(r, xml)?,
            b"guid" => item.guid = Some(element_text(r, xml)?.unwrap_or_default()),
            b"category" => item
                .categories
                .push(element_text(r, xml)?.unwrap_or_default()),
            b"enclosure" => {
                item.enclosure = Some((
                    attribute(&e, b"url").unwrap_or_default(),
                    attribute(&e, b"type").unwrap_or_default(),
                ));
                r.read_to_end(e.name()).ok()?;
            }
            name => {
                let (prefix, local) = match name.iter().position(|&b| b == b':') {
                    Some(i) if i > 0 => (&name[..i], &name[i + 1..]),
                    _ => {
                        r.read_to_end(e.name()).ok()?;
                        continue;
                    }
                };
                let scope = dc_prefixes(&e, &dc);
                if scope.iter().any(|p| p == prefix) {
                    let value = element_text(r, xml)?;
                    match local {
                        b"creator" => item.creators.extend(value),
                        b"date" if item.dc_date.is_none() => item.dc_date = value,
                        _ => {}
                    }
                    continue;
                }
                if prefix == b"media" {
                    match local {
                        b"thumbnail" if thumbnail.is_none() => thumbnail = attribute(&e, b"url"),
                        b"content" if media_content.is_none() => {
                            let image = attribute(&e, b"medium").is_some_and(|m| m == "image")
                                || attribute(&e, b"type").is_some_and(|t| t.starts_with("image/"));
                            if image {
                                media_content = attribute(&e, b"url");
                            }
                        }
                        _ => {}
                    }
                }
                r.read_to_end(e.name()).ok()?;
            }
        }
    }
    item.media_image = thumbnail.or(media_content);
    Some(rss_entry(item, base))
}

fn rss_entry(item: RssItem, base: &Url) -> Entry {
    let mut authors: Vec<Person> = item
        .creators
        .iter()
        .filter_map(|c| person(c, None))
        .collect();
    if let Some(a) = item.author.as_deref().and_then(rss_author) {
        authors.insert(0, a);
    }
    let published = item
        .pub_date
        .as_deref()
        .and_then(dates::parse)
        .or_else(|| item.dc_date.as_deref().and_then(dates::parse));
    let image = item
        .enclosure
        .filter(|(_, kind)| kind.starts_with("image/"))
        .map(|(url, _)| url)
        .or(item.media_image);
    Entry {
        id: item.guid,
        title: item.title.map(text),
        link: item.link.as_deref().and_then(|l| resolve(base, l)),
        // RSS's description is HTML by the spec.
        summary: item.description.map(html),
        content: item.content.map(html),
        published,
        updated: None,
        authors,
        tags: item.categories,
        image: image.and_then(|i| resolve(base, &i)),
        digest: String::new(),
    }
}

/// What the rss crate read of RSS, which [`rss`] must read alike: its items
/// as [`RssItem`]s, made entries the same way.
#[cfg(test)]
pub(super) fn rss_crate(xml: &str, base: &Url) -> Option<Doc> {
    let channel = rss::Channel::read_from(xml.as_bytes()).ok()?;
    let entries = channel
        .items
        .into_iter()
        .map(|item| {
            let dc = item.dublin_core_ext.as_ref();
            let read = RssItem {
                creators: dc.map(|dc| dc.creators.clone()).unwrap_or_default(),
                dc_date: dc.and_then(|dc| dc.dates.first().cloned()),
                media_image: media_image(&item.extensions),
                title: item.title,
                link: item.link,
                description: item.description,
                content: item.content,
                guid: item.guid.map(|g| g.value),
                pub_date: item.pub_date,
                author: item.author,
                categories: item.categories.into_iter().map(|c| c.name).collect(),
                enclosure: item.enclosure.map(|e| (e.url, e.mime_type)),
            };
            rss_entry(read, base)
        })
        .collect();
    Some(Doc {
        title: Some(text(channel.title)),
        link: resolve(base, &channel.link),
        id: None,
        entries,
        advertised: Advertised::default(),
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
#[cfg(test)]
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
    let mut advertised = Advertised::default();
    for l in &feed.links {
        advertise(&mut advertised, &l.rel, &l.href, base);
    }
    Some(Doc {
        title: Some(atom_text(feed.title)),
        link,
        id: Some(feed.id),
        entries,
        advertised,
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
    let mut advertised = Advertised::default();
    for l in &feed.links {
        if let Some(rel) = &l.rel {
            advertise(&mut advertised, rel, &l.href, base);
        }
    }
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
        advertised,
    })
}
