//! Atom 1.0 (RFC 4287), through atom_syndication.

use super::{advertise, html, person, resolve, text};
use crate::sources::parse::base::Scopes;
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

/// The page a list of links points readers to, resolved against the base in
/// scope for the link (`base_of` its place among the `link` elements).
fn atom_link<'u>(
    links: &[atom_syndication::Link],
    base_of: impl Fn(usize) -> &'u Url,
) -> Option<String> {
    let alternate = |l: &atom_syndication::Link| {
        l.rel == "alternate" && l.mime_type.as_deref().is_none_or(|t| t.contains("html"))
    };
    let other =
        |l: &atom_syndication::Link| !matches!(l.rel.as_str(), "self" | "hub" | "enclosure");
    links
        .iter()
        .position(alternate)
        .or_else(|| links.iter().position(other))
        .and_then(|j| resolve(base_of(j), &links[j].href))
}

pub(in crate::sources::parse) fn atom(
    xml: &str,
    base: &Url,
    scopes: Option<&Scopes>,
) -> Option<Doc> {
    let feed = atom_syndication::Feed::read_from(xml.as_bytes()).ok()?;
    let feed_base = scopes.and_then(|s| s.feed.as_ref()).unwrap_or(base);
    let link = atom_link(&feed.links, |_| feed_base);
    let entries = feed
        .entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let scope = scopes.and_then(|s| s.entries.get(i));
            let link_base = |j: usize| scope.map_or(base, |s| s.child("link", j));
            // The base of the body: the content's, else the summary's.
            let html_base = scope.map_or(base, |s| {
                if e.content.is_some() {
                    s.child("content", 0)
                } else {
                    s.child("summary", 0)
                }
            });
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
                .position(|l| {
                    l.rel == "enclosure"
                        && l.mime_type
                            .as_deref()
                            .is_some_and(|t| t.starts_with("image/"))
                })
                .and_then(|j| resolve(link_base(j), &e.links[j].href));
            Entry {
                id: Some(e.id),
                title: Some(atom_text(e.title)),
                link: atom_link(&e.links, link_base),
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
                base: Some(html_base.to_string()),
                digest: String::new(),
            }
        })
        .collect();
    let mut advertised = Advertised::default();
    for l in &feed.links {
        advertise(&mut advertised, &l.rel, &l.href, feed_base);
    }
    Some(Doc {
        title: Some(atom_text(feed.title)),
        link,
        id: Some(feed.id),
        entries,
        advertised,
    })
}
