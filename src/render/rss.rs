//! RSS 2.0 through the rss crate, with `atom:link rel="self"`, `content:encoded` for
//! the full body and `dc:creator` for authors (RSS `author` must be an e-mail address).

use super::{Archive, FeedData, GENERATOR};
use crate::model::Format;
use quick_xml::escape::escape;
use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::extension::{Extension, ExtensionMap};
use rss::{Category, Channel, Enclosure, Guid, Image, Item};

pub fn render(data: &FeedData<'_>) -> Vec<u8> {
    let site = &data.config.site;
    let home = data.url(Format::Html);
    let mut channel = Channel {
        title: data.title(),
        link: home.clone(),
        description: data.description(),
        language: Some(site.language.clone()),
        copyright: site.copyright.clone(),
        managing_editor: site
            .email
            .as_ref()
            .map(|e| format!("{e} ({})", site.author)),
        last_build_date: data.last_modified().map(|t| rfc822(data.local(t))),
        generator: Some(GENERATOR.into()),
        docs: Some("https://www.rssboard.org/rss-specification".into()),
        ttl: Some(site.ttl.to_string()),
        image: site.logo.as_ref().map(|url| Image {
            url: url.clone(),
            title: data.title(),
            link: home.clone(),
            ..Default::default()
        }),
        atom_ext: Some(AtomExtension {
            links: std::iter::once(rss_link(data.self_url(Format::Rss), "self"))
                .chain(data.hubs().into_iter().map(|hub| Link {
                    href: hub,
                    rel: "hub".into(),
                    ..Default::default()
                }))
                .chain(
                    data.prev_archive(Format::Rss)
                        .map(|href| rss_link(href, "prev-archive")),
                )
                .chain(
                    data.next_archive(Format::Rss)
                        .map(|href| rss_link(href, "next-archive")),
                )
                .chain(
                    matches!(data.archive, Archive::Page(_))
                        .then(|| rss_link(data.url(Format::Rss), "current")),
                )
                .collect(),
        }),
        items: data.items.iter().map(|i| item(data, i)).collect(),
        namespaces: if data.items.iter().any(|i| i.image.is_some()) {
            [("media".to_owned(), MEDIA_NS.to_owned())].into()
        } else {
            Default::default()
        },
        ..Default::default()
    };
    // RFC 5005 appendix B: the same `fh:archive` in an RSS channel.
    if let Archive::Page(_) = data.archive {
        channel
            .namespaces
            .insert("fh".into(), super::HISTORY_NS.into());
        channel.extensions.insert("fh".into(), archive_marker());
    }
    channel
        .write_to(Vec::new())
        .expect("writing XML to a Vec cannot fail")
}

fn rss_link(href: String, rel: &str) -> Link {
    Link {
        href,
        rel: rel.into(),
        mime_type: Some(Format::Rss.mime().into()),
        ..Default::default()
    }
}

/// `<fh:archive/>`, as the rss crate writes extensions.
fn archive_marker() -> std::collections::BTreeMap<String, Vec<Extension>> {
    let marker = Extension {
        name: "fh:archive".into(),
        ..Default::default()
    };
    std::collections::BTreeMap::from([("archive".to_owned(), vec![marker])])
}

fn item(data: &FeedData<'_>, it: &crate::model::Item) -> Item {
    let categories = data
        .categories(it)
        .into_iter()
        .map(|c| Category {
            name: c.to_owned(),
            domain: None,
        })
        .collect();
    let creators = data.authors(it).into_iter().map(str::to_owned).collect();
    Item {
        title: Some(it.title.clone()),
        link: it.link.clone(),
        // RSS reads description as HTML; our summary is plain text, so escape it. A
        // ticker item has none: its title is all it says. A body without a
        // summary gets the opening of its text as one: readers (and the W3C
        // validator) want a description before `content:encoded`.
        description: it
            .summary
            .clone()
            .or_else(|| it.content_html.as_deref().map(opening))
            .map(|text| escape(&text).into_owned()),
        categories,
        enclosure: it.image.as_ref().map(|url| Enclosure {
            url: url.clone(),
            length: UNKNOWN_LENGTH.into(),
            mime_type: image_type(url).into(),
        }),
        extensions: media(it),
        // Our ids are tag: URIs, never fetchable, so never a permalink.
        guid: Some(Guid {
            value: it.id.clone(),
            permalink: false,
        }),
        pub_date: Some(rfc822(data.local(it.published))),
        content: it.content_html.clone(),
        dublin_core_ext: Some(DublinCoreExtension {
            creators,
            ..Default::default()
        }),
        // An item from another site credits the feed it came from.
        source: it.credited().map(|o| rss::Source {
            url: o.feed_url.clone(),
            title: o.feed_title.clone(),
        }),
        ..Default::default()
    }
}

/// An enclosure's size in bytes when we do not know it. We never fetch the images
/// an item links to, and the RSS Best Practices Profile (RSS Advisory Board) says
/// a publisher that cannot determine the size should give 0; the same value goes
/// into Atom's `length` so both formats agree.
pub const UNKNOWN_LENGTH: &str = "0";

/// Media RSS (https://www.rssboard.org/media-rss), the form news partners'
/// importers read an article's picture from: `media:content medium="image"` and
/// a `media:thumbnail` of the same picture.
pub const MEDIA_NS: &str = "http://search.yahoo.com/mrss/";

fn media(it: &crate::model::Item) -> ExtensionMap {
    let mut map = ExtensionMap::new();
    let Some(url) = &it.image else { return map };
    let element = |name: &str, attrs: &[(&str, &str)]| Extension {
        name: name.into(),
        attrs: attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Default::default()
    };
    let mut media = std::collections::BTreeMap::new();
    media.insert(
        "content".to_owned(),
        vec![element(
            "media:content",
            &[("url", url), ("type", image_type(url)), ("medium", "image")],
        )],
    );
    media.insert(
        "thumbnail".to_owned(),
        vec![element("media:thumbnail", &[("url", url)])],
    );
    map.insert("media".to_owned(), media);
    map
}

/// RFC 822 date with a two-digit day (`Sun, 01 Feb 2026 17:00:00 +0100`), as the RSS
/// spec's examples write it; chrono's `to_rfc2822` writes `Sun, 1 Feb`.
fn rfc822(t: chrono::DateTime<chrono::FixedOffset>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S %z").to_string()
}

/// The media type of an image URL by its extension, for enclosures.
pub fn image_type(url: &str) -> &'static str {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    match path.rsplit('.').next() {
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("svg") => "image/svg+xml",
        Some("avif") => "image/avif",
        _ => "image/jpeg",
    }
}

/// The opening of a body's text, as a description: its first paragraph,
/// cut at a word within [`OPENING`] characters. A body without text (an
/// image alone) gets an empty one: the W3C validator warns of a
/// `content:encoded` without a description before it.
fn opening(html: &str) -> String {
    // The body is the gate's sanitized markup: read as tokens. A
    // description is one line of text: runs of white space (a body's line
    // breaks and indentation) are one space.
    let text = crate::text::sanitized_opening(html);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::gate::cut(&text, OPENING)
}

/// Characters of a body's opening used as a description.
const OPENING: usize = 300;
