//! Atom 1.0 (RFC 4287), through atom_syndication.

use super::{advertise, html, person, resolve, text};
use crate::sources::parse::{Advertised, Doc, Entry, Text};
use chrono::{DateTime, Utc};
use url::Url;

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

pub(in crate::sources::parse) fn atom(xml: &str, base: &Url) -> Option<Doc> {
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
