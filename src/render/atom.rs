//! Atom 1.0 (RFC 4287) through atom_syndication, with RFC 6721 `at:deleted-entry`
//! tombstones so syndicating sites learn about withdrawn items.

use super::{Archive, FeedData, GENERATOR, GENERATOR_URI, HISTORY_NS};
use crate::model::Format;
use atom_syndication::extension::{Extension, ExtensionMap};
use atom_syndication::{Category, Content, Entry, Feed, Generator, Link, Person, Text};
use quick_xml::escape::escape;
use std::collections::BTreeMap;

pub const TOMBSTONES_NS: &str = "http://purl.org/atompub/tombstones/1.0";

pub fn render(data: &FeedData<'_>) -> Vec<u8> {
    let site = &data.config.site;
    let mut feed = Feed {
        title: Text::plain(data.title()),
        id: format!("{}feed/{}", data.config.tag_prefix(), data.feed),
        updated: data.local(data.updated_or_epoch()),
        authors: vec![Person {
            name: site.author.clone(),
            email: site.email.clone(),
            ..Default::default()
        }],
        generator: Some(Generator {
            value: GENERATOR.into(),
            uri: Some(GENERATOR_URI.into()),
            version: None,
        }),
        icon: site.icon.clone(),
        logo: site.logo.clone(),
        links: [
            link(data.self_url(Format::Atom), "self", Format::Atom.mime()),
            link(data.url(Format::Html), "alternate", Format::Html.mime()),
        ]
        .into_iter()
        .chain(data.hubs().into_iter().map(|hub| Link {
            href: hub,
            rel: "hub".into(),
            ..Default::default()
        }))
        .chain(archive_links(data))
        .collect(),
        rights: site.copyright.clone().map(Text::plain),
        subtitle: Some(Text::plain(data.description())),
        entries: data.items.iter().map(|i| entry(data, i)).collect(),
        lang: Some(site.language.clone()),
        ..Default::default()
    };
    if !data.tombstones.is_empty() {
        feed.namespaces.insert("at".into(), TOMBSTONES_NS.into());
        feed.extensions = tombstones(data);
    }
    if let Archive::Page(_) = data.archive {
        feed.namespaces.insert("fh".into(), HISTORY_NS.into());
        feed.extensions.insert("fh".into(), archive_marker());
    }
    write(feed)
}

/// The feed's XML with its extension elements (tombstones, `fh:archive`)
/// before its entries, where RFC 4287's schema has them: atom_syndication
/// writes them after. The feed is written without entries, and its entries
/// (written as a feed without extensions) go in before its end tag.
fn write(mut feed: Feed) -> Vec<u8> {
    let written = |feed: &Feed| {
        feed.write_to(Vec::new())
            .expect("writing XML to a Vec cannot fail")
    };
    if feed.extensions.is_empty() || feed.entries.is_empty() {
        return written(&feed);
    }
    let entries = std::mem::take(&mut feed.entries);
    let head = written(&feed);
    feed.extensions.clear();
    feed.entries = entries;
    let body = written(&feed);
    // Text is escaped, so `<entry` and `</feed>` are only the elements' tags.
    let (Some(end), Some(from), Some(to)) = (
        find(&head, b"</feed>", true),
        find(&body, b"<entry", false),
        find(&body, b"</feed>", true),
    ) else {
        return body;
    };
    let mut out = Vec::with_capacity(head.len() + to - from);
    out.extend_from_slice(&head[..end]);
    out.extend_from_slice(&body[from..to]);
    out.extend_from_slice(&head[end..]);
    out
}

/// Where `needle` first (or, `last`, last) occurs in `hay`.
fn find(hay: &[u8], needle: &[u8], last: bool) -> Option<usize> {
    let mut at = hay.windows(needle.len());
    if last {
        at.rposition(|w| w == needle)
    } else {
        at.position(|w| w == needle)
    }
}

/// RFC 5005: `prev-archive` where there is an older page, and on a page
/// `next-archive` and `current`, the subscription document.
fn archive_links(data: &FeedData<'_>) -> Vec<Link> {
    let mut links: Vec<Link> = data
        .prev_archive(Format::Atom)
        .map(|href| link(href, "prev-archive", Format::Atom.mime()))
        .into_iter()
        .chain(
            data.next_archive(Format::Atom)
                .map(|href| link(href, "next-archive", Format::Atom.mime())),
        )
        .collect();
    if let Archive::Page(_) = data.archive {
        links.push(link(data.url(Format::Atom), "current", Format::Atom.mime()));
    }
    links
}

/// `<fh:archive/>`: this document is an archive page and will not change.
pub(super) fn archive_marker() -> BTreeMap<String, Vec<Extension>> {
    let marker = Extension {
        name: "fh:archive".into(),
        value: None,
        attrs: BTreeMap::new(),
        children: BTreeMap::new(),
    };
    BTreeMap::from([("archive".to_owned(), vec![marker])])
}

fn link(href: String, rel: &str, mime: &str) -> Link {
    Link {
        href,
        rel: rel.into(),
        mime_type: Some(mime.into()),
        ..Default::default()
    }
}

fn entry(data: &FeedData<'_>, it: &crate::model::Item) -> Entry {
    let mut links = Vec::new();
    if let Some(l) = &it.link {
        links.push(Link {
            href: l.clone(),
            rel: "alternate".into(),
            mime_type: Some("text/html".into()),
            ..Default::default()
        });
    }
    // Every source that carried the story, the first one also as <source>.
    // (Not on an entry without an alternate link: clients then take a `via`
    // link for the entry's own; `<source>` still credits the origin.)
    if let (Some(origin), Some(_)) = (it.credited(), &it.link) {
        for credit in std::iter::once(origin.credit()).chain(origin.also.iter().cloned()) {
            let mut via = link(credit.feed_url, "via", "");
            via.mime_type = None;
            via.title = credit.title;
            links.push(via);
        }
    }
    if let Some(img) = &it.image {
        let mut enclosure = link(img.clone(), "enclosure", super::rss::image_type(img));
        enclosure.length = Some(super::rss::UNKNOWN_LENGTH.into());
        links.push(enclosure);
    }
    // The category's title as its label, so readers show "World", not "world".
    let categories = data
        .categories(it)
        .into_iter()
        .map(|term| Category {
            term: term.to_owned(),
            label: data.config.category(term).map(|c| c.title.clone()),
            ..Default::default()
        })
        .collect();
    // A ticker item has no body and no content element: its alternate link is
    // what RFC 4287 then asks for, and its headline is its summary, the
    // textual content readers show (the W3C validator warns of an entry
    // without any).
    let content = match (&it.content_html, &it.link) {
        (Some(html), _) => Some(Content {
            value: Some(html.clone()),
            content_type: Some("html".into()),
            ..Default::default()
        }),
        // RFC 4287 wants content or an alternate link. Local items always
        // have a link; an external one may have had neither (or a link the
        // gate refused): its text stands in.
        (None, None) => Some(Content {
            value: Some(it.summary.clone().unwrap_or_else(|| it.title.clone())),
            content_type: Some("text".into()),
            ..Default::default()
        }),
        (None, Some(_)) => None,
    };
    Entry {
        title: Text::plain(it.title.clone()),
        id: it.id.clone(),
        updated: data.local(it.updated.max(it.published)),
        published: Some(data.local(it.published)),
        authors: it
            .authors
            .iter()
            .map(|a| Person {
                name: a.name.clone(),
                email: a.email.clone(),
                uri: a.uri.clone(),
                ..Default::default()
            })
            .collect(),
        categories,
        links,
        summary: match (&it.summary, &content) {
            (Some(summary), _) => Some(Text::plain(summary.clone())),
            (None, None) => Some(Text::plain(it.title.clone())),
            (None, Some(_)) => None,
        },
        content,
        source: it.credited().map(|o| source(data, it, o)),
        ..Default::default()
    }
}

/// RFC 4287's `<source>`: the upstream feed's id, title and links, so a copy
/// keeps its origin's metadata.
fn source(
    data: &FeedData<'_>,
    it: &crate::model::Item,
    o: &crate::model::Origin,
) -> atom_syndication::Source {
    let mut links = vec![Link {
        href: o.feed_url.clone(),
        rel: "self".into(),
        ..Default::default()
    }];
    if let Some(home) = &o.feed_link {
        links.push(Link {
            href: home.clone(),
            rel: "alternate".into(),
            mime_type: Some("text/html".into()),
            ..Default::default()
        });
    }
    atom_syndication::Source {
        title: Text::plain(o.feed_title.clone().unwrap_or_else(|| o.feed_url.clone())),
        id: o.feed_id.clone().unwrap_or_else(|| o.feed_url.clone()),
        updated: data.local(it.updated.max(it.published)),
        links,
        ..Default::default()
    }
}

fn tombstones(data: &FeedData<'_>) -> ExtensionMap {
    let entries = data
        .tombstones
        .iter()
        .map(|t| {
            // atom_syndication writes extension attributes verbatim: escape them here.
            let mut attrs = BTreeMap::new();
            attrs.insert("ref".to_owned(), escape(t.id.as_str()).into_owned());
            attrs.insert("when".to_owned(), data.local(t.deleted).to_rfc3339());
            let mut children = BTreeMap::new();
            if let Some(l) = &t.link {
                let mut link_attrs = BTreeMap::new();
                link_attrs.insert("rel".to_owned(), "alternate".to_owned());
                link_attrs.insert("href".to_owned(), escape(l.as_str()).into_owned());
                children.insert(
                    "link".to_owned(),
                    vec![Extension {
                        name: "link".into(),
                        value: None,
                        attrs: link_attrs,
                        children: BTreeMap::new(),
                    }],
                );
            }
            Extension {
                name: "at:deleted-entry".into(),
                value: None,
                attrs,
                children,
            }
        })
        .collect();
    let mut by_name = BTreeMap::new();
    by_name.insert("deleted-entry".to_owned(), entries);
    let mut map = ExtensionMap::new();
    map.insert("at".to_owned(), by_name);
    map
}
