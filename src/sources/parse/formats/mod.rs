//! One reader per format into [`Doc`], Miniflux-style. RSS 2.0, 0.9x and 1.0
//! (by its usual `rdf:RDF` root) are read from quick-xml's events by the rss
//! crate's rules, atom_syndication reads Atom 1.0, serde_json JSON Feed.
//! feed-rs reads the rest (RSS 1.0 under another prefix, Atom 0.3 once
//! translated, documents with `xml:base`, which only it resolves) and anything
//! the fast readers refuse (a date atom_syndication cannot read): they are
//! measured 2 to 5 times faster on the same bytes (`benches/parse.rs`), and
//! feed-rs is the one that takes everything.

mod atom;
mod feed_rs;
mod json;
mod rss;

pub(super) use atom::atom;
pub(super) use feed_rs::feed_rs;
pub(super) use json::json;
pub(super) use rss::rss;
#[cfg(test)]
pub(super) use rss::rss_crate;

use super::{Advertised, Text};
use crate::model::Person;
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
pub(super) fn advertise(advertised: &mut Advertised, rel: &str, href: &str, base: &Url) {
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

pub(super) fn html(value: String) -> Text {
    Text { value, html: true }
}

pub(super) fn text(value: String) -> Text {
    Text { value, html: false }
}

pub(super) fn person(name: &str, email: Option<&str>) -> Option<Person> {
    let name = name.trim();
    (!name.is_empty()).then(|| Person {
        name: name.to_owned(),
        email: email.filter(|e| e.contains('@')).map(str::to_owned),
        uri: None,
    })
}
