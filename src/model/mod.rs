//! The domain vocabulary every stage shares. Nothing here knows about files, SQL or HTTP.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

mod catalog;
mod fetch;
pub use catalog::{Catalog, CatalogEntry, EntryKind};
pub use fetch::{FetchAttempt, FetchOutcome, FetchState, SourceStatus};

/// A feed: everything (`all`), the ticker (`breaking`), or a category, and, with
/// aggregation, merged timelines. Its name is the file stem of its URLs and the
/// key the store indexes items under; which feeds exist is the catalog's
/// business ([`crate::catalog`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FeedId {
    All,
    Breaking,
    Category(String),
    /// Feeds merged into one (`[[timelines]]`); rendered from its members'
    /// items, never stored as such.
    Timeline(String),
    /// An external source's items (`[[sources]]`), by the source's name: stored
    /// and merged into timelines, not served on its own.
    Source(String),
}

impl FeedId {
    pub const ALL: &'static str = "all";
    pub const BREAKING: &'static str = "breaking";

    pub fn all() -> Self {
        FeedId::All
    }
    pub fn breaking() -> Self {
        FeedId::Breaking
    }
    /// The feed a name stands for: `all`, `breaking`, else a category's slug (the
    /// config refuses categories with the reserved names).
    pub fn named(name: &str) -> Self {
        match name {
            Self::ALL => FeedId::All,
            Self::BREAKING => FeedId::Breaking,
            slug => FeedId::Category(slug.to_owned()),
        }
    }
    /// The name in the feed's URLs (a source's name for a source).
    pub fn as_str(&self) -> &str {
        match self {
            FeedId::All => Self::ALL,
            FeedId::Breaking => Self::BREAKING,
            FeedId::Category(slug) | FeedId::Timeline(slug) | FeedId::Source(slug) => slug,
        }
    }

    /// The name the store indexes the feed under: its URL name, and `source:`
    /// before a source's, so a source and a category of the same name never
    /// share an index.
    pub fn key(&self) -> std::borrow::Cow<'_, str> {
        match self {
            FeedId::Source(name) => format!("{}{name}", Self::SOURCE_KEY).into(),
            other => other.as_str().into(),
        }
    }

    const SOURCE_KEY: &'static str = "source:";

    /// The feed a store key stands for; the inverse of [`FeedId::key`].
    pub fn from_key(key: &str) -> Self {
        match key.strip_prefix(Self::SOURCE_KEY) {
            Some(name) => FeedId::Source(name.to_owned()),
            None => FeedId::named(key),
        }
    }
}

impl fmt::Display for FeedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl Serialize for FeedId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.key())
    }
}

impl<'de> Deserialize<'de> for FeedId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(FeedId::from_key(&String::deserialize(d)?))
    }
}

/// The forms a feed is served in. Its extension is the last part of its URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Rss,
    Atom,
    Json,
    Html,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Rss, Format::Atom, Format::Json, Format::Html];
    /// The feed formats proper, which readers subscribe to.
    pub const FEEDS: [Format; 3] = [Format::Rss, Format::Atom, Format::Json];

    pub fn ext(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
            Format::Html => "html",
        }
    }

    pub fn from_ext(ext: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.ext() == ext)
    }

    /// The media type, as `<link rel="alternate" type>` names it.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml",
            Format::Atom => "application/atom+xml",
            Format::Json => "application/feed+json",
            Format::Html => "text/html",
        }
    }

    /// The `Content-Type` it is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
        }
    }

    /// What people call it.
    pub fn label(self) -> &'static str {
        match self {
            Format::Rss => "RSS",
            Format::Atom => "Atom",
            Format::Json => "JSON Feed",
            Format::Html => "HTML",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    /// A full article with a body.
    Article,
    /// A one-line ticker headline; it may have no page of its own.
    Breaking,
}

/// Where an item came from. Sync of one source (say, the `feeds/` files) may only
/// withdraw items of that source, never an article a CMS pushed through the API.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// A file under the content directory, path relative to it.
    File(String),
    /// The ingest API.
    Api,
    /// An external feed, by the source's name in the config.
    Feed(String),
    /// An HTML page scraped by selectors (later).
    Scrape(String),
}

impl Source {
    /// The prefix every file source shares, for syncing the whole content directory.
    pub const FILE_SCOPE: &'static str = "file:";
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "file:{p}"),
            Source::Api => f.write_str("api"),
            Source::Feed(u) => write!(f, "feed:{u}"),
            Source::Scrape(u) => write!(f, "scrape:{u}"),
        }
    }
}

/// A stored source that names no kind of source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown source {0:?}")]
pub struct UnknownSource(pub String);

impl std::str::FromStr for Source {
    type Err = UnknownSource;
    fn from_str(s: &str) -> Result<Self, UnknownSource> {
        if s == "api" {
            return Ok(Source::Api);
        }
        let (kind, rest) = s
            .split_once(':')
            .ok_or_else(|| UnknownSource(s.to_owned()))?;
        let rest = rest.to_owned();
        match kind {
            "file" => Ok(Source::File(rest)),
            "feed" => Ok(Source::Feed(rest)),
            "scrape" => Ok(Source::Scrape(rest)),
            _ => Err(UnknownSource(s.to_owned())),
        }
    }
}

impl Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// One entry of any feed, whatever its origin. Stored as is, rendered in every format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Permanent id: a `tag:` URI for our own content, the upstream id for external
    /// items. RSS guid, Atom id and JSON Feed id all carry it unchanged.
    pub id: String,
    /// The short id the API and files use (`salt-typhoon`, `2026-02-01/1420-2`).
    pub key: String,
    pub kind: ItemKind,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub title: String,
    /// Absolute URL of the item's own page, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_html: Option<String>,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<Person>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Where an item from another site came from: its identity and its credit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// What a timeline needs to know of the item's story, worked out by the
    /// gate rather than at every merge ([`crate::story`]). Never rendered.
    /// (Boxed: items are moved and sorted by the hundred.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub story: Option<Box<crate::story::Print>>,
}

/// An external item's origin: the source it was fetched from and what the
/// upstream feed says of itself and of the item. Readers see it as attribution
/// (RSS `<source>`, Atom `<source>`); the store keys the item by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The source's name in the config.
    pub source: String,
    /// The item's id upstream (guid, Atom id, JSON Feed id; its link when it
    /// has none).
    pub upstream_id: String,
    /// The upstream feed's own title, address and id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_title: Option<String>,
    pub feed_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_id: Option<String>,
    /// False when upstream gave the item no date: its `published` is then the
    /// time it was first seen, which the store keeps however often it is seen.
    pub dated: bool,
    /// The upstream feed's home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_link: Option<String>,
    /// Local categories the source's items also appear in (the source's
    /// `categories`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// A hash of the entry as upstream sent it: an entry seen again with the
    /// same digest is not sanitized or written again.
    #[serde(default)]
    pub digest: String,
    /// When the store first took the item, kept across updates: of two
    /// copies of a story, a timeline keeps the one readers saw first. `None`
    /// for items stored before it was kept (they were seen first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<DateTime<Utc>>,
    /// The source is an HTML page read by selectors (`[[scrapes]]`), the
    /// site's own content: there is no feed to credit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub page: bool,
    /// Other sources that carried the same story, credited beside this one.
    /// Filled when a timeline is merged; never stored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Credit>,
}

/// A source credited for an item: what readers see as its origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub feed_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Item {
    /// A copy of all that readers see: its story print stays behind (a
    /// merge keeps hundreds of items; their prints are its own work).
    pub fn shown(&self) -> Item {
        let Item {
            id,
            key,
            kind,
            source,
            category,
            title,
            link,
            summary,
            content_html,
            published,
            updated,
            authors,
            tags,
            image,
            origin,
            story: _,
        } = self;
        Item {
            id: id.clone(),
            key: key.clone(),
            kind: *kind,
            source: source.clone(),
            category: category.clone(),
            title: title.clone(),
            link: link.clone(),
            summary: summary.clone(),
            content_html: content_html.clone(),
            published: *published,
            updated: *updated,
            authors: authors.clone(),
            tags: tags.clone(),
            image: image.clone(),
            origin: origin.clone(),
            story: None,
        }
    }

    /// The item's story print, worked out now ([`crate::story::Print::of`]).
    pub fn story_print(&self) -> crate::story::Print {
        crate::story::Print::of(
            &self.title,
            self.summary.as_deref(),
            self.content_html.as_deref(),
            self.link.as_deref(),
        )
    }

    /// The origin readers are shown as the item's source (RSS and Atom
    /// `<source>`, JSON `_source`): an external feed's, not a scraped page's.
    pub fn credited(&self) -> Option<&Origin> {
        self.origin.as_ref().filter(|o| !o.page)
    }
}

impl Origin {
    /// A dated entry of `source`'s feed at `feed_url`, known by nothing
    /// else yet: the fields a poll learns later start empty.
    pub fn new(source: &str, upstream_id: &str, feed_url: &str) -> Origin {
        Origin {
            source: source.to_owned(),
            upstream_id: upstream_id.to_owned(),
            feed_title: None,
            feed_url: feed_url.to_owned(),
            feed_id: None,
            dated: true,
            feed_link: None,
            categories: Vec::new(),
            digest: String::new(),
            first_seen: None,
            page: false,
            also: Vec::new(),
        }
    }

    /// This origin as a credit.
    pub fn credit(&self) -> Credit {
        Credit {
            title: self.feed_title.clone(),
            feed_url: self.feed_url.clone(),
            link: self.feed_link.clone(),
        }
    }
}

impl Origin {
    /// The item's key: its source and a hash of its upstream id. Two feeds that
    /// both call an item `1` give two items, and any upstream id (a URL, spaces,
    /// a kilobyte of text) makes a key fit for a URL and a `tag:` URI.
    pub fn key(&self) -> String {
        Self::key_of(&self.source, &self.upstream_id)
    }

    /// [`Origin::key`] of an upstream id of a source.
    pub fn key_of(source: &str, upstream_id: &str) -> String {
        let hash = crate::hash::hash_hex(upstream_id.as_bytes());
        // Concatenated, not `format!`: this runs for every entry of every
        // changed document.
        [source, "/", &hash[..20]].concat()
    }

    /// The permanent public id (RSS guid, Atom id, JSON Feed id), derived from
    /// the key alone, so it never changes whatever else upstream changes.
    pub fn public_id(&self, tag_prefix: &str) -> String {
        Self::id_of_key(tag_prefix, &self.key())
    }

    /// [`Origin::public_id`] from a key already made.
    pub fn id_of_key(tag_prefix: &str, key: &str) -> String {
        [tag_prefix, "source/", key].concat()
    }
}

/// An HTML fragment id for an item key, the same on the feed's page and on
/// a ticker day's page, which items without a page of their own link to (`2026-02-01/1420-2` -> `b-2026-02-01-1420-2`).
pub fn anchor(key: &str) -> String {
    let mut a = String::from("b-");
    a.extend(key.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            c
        } else {
            '-'
        }
    }));
    a
}

/// What is left of a withdrawn item, so the Atom feed can carry an RFC 6721
/// `at:deleted-entry` and syndicating sites can remove their copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub deleted: DateTime<Utc>,
}

#[cfg(test)]
impl Item {
    /// An API article keyed, titled and identified `id`, published and
    /// updated at `at`, in no category: what unit tests vary from.
    pub(crate) fn sample(id: &str, at: DateTime<Utc>) -> Item {
        Item {
            id: id.into(),
            key: id.into(),
            kind: ItemKind::Article,
            source: Source::Api,
            category: None,
            title: id.into(),
            link: None,
            summary: None,
            content_html: None,
            published: at,
            updated: at,
            authors: vec![],
            tags: vec![],
            image: None,
            origin: None,
            story: None,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn anchors_are_fragment_safe() {
        assert_eq!(super::anchor("2026-02-01/1420-2"), "b-2026-02-01-1420-2");
    }
}
