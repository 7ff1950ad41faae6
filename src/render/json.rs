//! JSON Feed 1.1 (https://jsonfeed.org/version/1.1) through serde.

use super::FeedData;
use crate::model::Format;
use serde::Serialize;

#[derive(Serialize)]
struct Feed<'a> {
    version: &'static str,
    title: String,
    home_page_url: String,
    feed_url: String,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    favicon: Option<&'a str>,
    authors: Vec<Author<'a>>,
    language: &'a str,
    /// JSON Feed has no rights field; an extension object carries the site's
    /// copyright as RSS `copyright` and Atom `rights` do.
    #[serde(rename = "_rights", skip_serializing_if = "Option::is_none")]
    rights: Option<Rights<'a>>,
    /// The next older items: on a feed with archive pages, its newest page,
    /// and on a page, the one before it (RFC 5005's `prev-archive`).
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<String>,
    /// WebSub hubs (JSON Feed 1.1 `hubs`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub>,
    items: Vec<Item<'a>>,
}

#[derive(Serialize)]
struct Hub {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Rights<'a> {
    about: &'static str,
    copyright: &'a str,
}

#[derive(Serialize)]
struct Author<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Item<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    date_published: String,
    date_modified: String,
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<&'a str>,
    /// An extension (JSON Feed 1.1 allows `_`-named objects): the feed an item
    /// from another site came from, and the others that carried it too.
    #[serde(rename = "_source", skip_serializing_if = "Option::is_none")]
    source: Option<SourceCredit<'a>>,
}

#[derive(Serialize)]
struct SourceCredit<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    feed_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    home_page_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    also: Vec<&'a crate::model::Credit>,
}

pub fn render(data: &FeedData<'_>) -> Vec<u8> {
    let site = &data.config.site;
    let feed = Feed {
        version: "https://jsonfeed.org/version/1.1",
        title: data.title(),
        home_page_url: data.url(Format::Html),
        feed_url: data.self_url(Format::Json),
        next_url: data.prev_archive(Format::Json),
        description: data.description(),
        icon: site.logo.as_deref(),
        favicon: site.icon.as_deref(),
        authors: vec![Author { name: &site.author }],
        language: &site.language,
        hubs: data
            .hubs()
            .into_iter()
            .map(|url| Hub {
                kind: "WebSub",
                url,
            })
            .collect(),
        rights: site.copyright.as_deref().map(|copyright| Rights {
            about: "https://www.rssboard.org/rss-specification#optionalChannelElements",
            copyright,
        }),
        items: data
            .items
            .iter()
            .map(|it| Item {
                id: &it.id,
                url: it.link.as_deref(),
                title: &it.title,
                content_html: it.content_html.as_deref(),
                // Every item needs content_html or content_text. A ticker item has no
                // body: an empty text, rather than its headline said twice.
                content_text: it.content_html.is_none().then_some(""),
                summary: it.summary.as_deref(),
                image: it.image.as_deref(),
                date_published: data.local(it.published).to_rfc3339(),
                date_modified: data.local(it.updated.max(it.published)).to_rfc3339(),
                authors: data
                    .authors(it)
                    .into_iter()
                    .map(|name| Author { name })
                    .collect(),
                tags: data.categories(it),
                source: it.credited().map(|o| SourceCredit {
                    title: o.feed_title.as_deref(),
                    feed_url: &o.feed_url,
                    home_page_url: o.feed_link.as_deref(),
                    also: o.also.iter().collect(),
                }),
            })
            .collect(),
    };
    let mut out = serde_json::to_vec_pretty(&feed).expect("a JSON Feed always serializes");
    out.push(b'\n');
    out
}
