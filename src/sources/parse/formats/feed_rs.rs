//! Everything the fast readers leave: RSS 1.0 under another prefix, Atom 0.3
//! once translated, and whatever they refuse, through feed-rs.

use super::{advertise, person};
use crate::sources::dates;
use crate::sources::parse::base::Scopes;
use crate::sources::parse::{Advertised, Doc, Entry, ParseError, Text};
use url::Url;

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

pub(in crate::sources::parse) fn feed_rs(
    xml: &str,
    base: &Url,
    scopes: Option<&Scopes>,
) -> Result<Doc, ParseError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .sanitize_content(false)
        .timestamp_parser(dates::parse)
        // No made-up ids: an entry without one is identified by its link
        // (then its title), which survives a reworded summary.
        .id_generator(|_, _, _| String::new())
        .build();
    let feed = parser
        .parse(xml.as_bytes())
        .map_err(|e| ParseError::NotAFeed(e.to_string()))?;
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
        .enumerate()
        .map(|(i, e)| {
            // feed-rs resolves links itself; the body's base is the scope of
            // its element (`xml:base`), else the document's URL.
            let scope = scopes.and_then(|s| s.entries.get(i));
            let html_base = scope.map_or(base, |s| {
                s.first(&["content", "encoded", "summary", "description"])
            });
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
                base: Some(html_base.to_string()),
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
