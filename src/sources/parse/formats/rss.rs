//! RSS 2.0, 0.9x and 1.0 (RDF, by its usual `rdf:RDF` root), straight from
//! quick-xml's events, by the rss crate's own rules.

use super::{advertise, html, person, resolve, text};
use crate::model::Person;
use crate::sources::dates;
use crate::sources::parse::base::{EntryScope, Scopes};
use crate::sources::parse::{Advertised, Doc, Entry};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use std::borrow::Cow;
use url::Url;

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
pub(in crate::sources::parse) fn rss(
    xml: &str,
    base: &Url,
    max: usize,
    scopes: Option<&Scopes>,
) -> Option<Doc> {
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
    // Items in document order, to find each one's `xml:base` scope.
    let mut items = Items { scopes, seen: 0 };
    loop {
        match r.read_event().ok()? {
            Event::Start(e) => match e.name().as_ref() {
                b"channel" => {
                    channel = Some(rss_channel(
                        &mut r,
                        xml,
                        &dc,
                        base,
                        max - outside.len().min(max),
                        &mut items,
                    )?)
                }
                // Past `max` entries, items are skipped unread.
                b"item"
                    if channel.as_ref().map_or(0, |c: &Doc| c.entries.len()) + outside.len()
                        >= max =>
                {
                    items.seen += 1;
                    r.read_to_end(e.name()).ok()?;
                }
                b"item" => {
                    let scope = items.next();
                    outside.push(rss_item(&mut r, xml, &e, &dc, base, scope)?)
                }
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

/// The `xml:base` scopes of a document's items, taken in document order.
struct Items<'s> {
    scopes: Option<&'s Scopes>,
    seen: usize,
}

impl<'s> Items<'s> {
    fn next(&mut self) -> Option<&'s EntryScope> {
        self.seen += 1;
        self.scopes?.entries.get(self.seen - 1)
    }
}

fn rss_channel(
    r: &mut Reader<&[u8]>,
    xml: &str,
    dc: &[Vec<u8>],
    base: &Url,
    max: usize,
    items: &mut Items<'_>,
) -> Option<Doc> {
    let feed_base = items.scopes.and_then(|s| s.feed.as_ref()).unwrap_or(base);
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
                        advertise(&mut advertised, &rel, &href, feed_base);
                    }
                    r.read_to_end(e.name()).ok()?;
                }
                b"item" if entries.len() >= max => {
                    items.seen += 1;
                    r.read_to_end(e.name()).ok()?;
                }
                b"item" => {
                    let scope = items.next();
                    entries.push(rss_item(r, xml, &e, dc, base, scope)?)
                }
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
        link: resolve(feed_base, &link),
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
    scope: Option<&EntryScope>,
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
    Some(rss_entry(item, base, scope))
}

/// An item as an entry, its URLs resolved against the bases in scope for
/// the elements that carry them (`scope`), else `base`, the document's.
fn rss_entry(item: RssItem, base: &Url, scope: Option<&EntryScope>) -> Entry {
    let base_of = |locals: &[&str]| scope.map_or(base, |s| s.first(locals));
    let html_base = if item.content.is_some() {
        base_of(&["encoded"])
    } else {
        base_of(&["description"])
    };
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
        link: item
            .link
            .as_deref()
            .and_then(|l| resolve(base_of(&["link"]), l)),
        // RSS's description is HTML by the spec.
        summary: item.description.map(html),
        content: item.content.map(html),
        published,
        updated: None,
        authors,
        tags: item.categories,
        image: image.and_then(|i| resolve(base_of(&["enclosure", "thumbnail"]), &i)),
        base: Some(html_base.to_string()),
        digest: String::new(),
    }
}

/// What the rss crate read of RSS, which [`rss`] must read alike: its items
/// as [`RssItem`]s, made entries the same way.
#[cfg(test)]
pub(in crate::sources::parse) fn rss_crate(xml: &str, base: &Url) -> Option<Doc> {
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
            rss_entry(read, base, None)
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
