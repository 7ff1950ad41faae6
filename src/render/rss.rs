//! RSS 2.0 through the rss crate, with `atom:link rel="self"`, `content:encoded` for
//! the full body and `dc:creator` for authors (RSS `author` must be an e-mail address).

use super::{FeedData, GENERATOR};
use quick_xml::escape::escape;
use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, Channel, Enclosure, Guid, Image, Item};

pub fn render(data: &FeedData<'_>) -> Vec<u8> {
    let site = &data.config.site;
    let home = data.url("html");
    let channel = Channel {
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
            links: vec![Link {
                href: data.url("rss"),
                rel: "self".into(),
                mime_type: Some("application/rss+xml".into()),
                ..Default::default()
            }],
        }),
        items: data.items.iter().map(|i| item(data, i)).collect(),
        ..Default::default()
    };
    channel
        .write_to(Vec::new())
        .expect("writing XML to a Vec cannot fail")
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
        // RSS reads description as HTML; our summary is plain text, so escape it.
        description: it
            .summary
            .as_deref()
            .or_else(|| it.content_html.is_none().then_some(it.title.as_str()))
            .map(|text| escape(text).into_owned()),
        categories,
        enclosure: it.image.as_ref().map(|url| Enclosure {
            url: url.clone(),
            length: "0".into(),
            mime_type: image_type(url).into(),
        }),
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
        ..Default::default()
    }
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
