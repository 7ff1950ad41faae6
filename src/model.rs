//! The domain vocabulary every stage shares. Nothing here knows about files, SQL or HTTP.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A feed's slug: a category (`world`), the ticker (`breaking`), everything (`all`),
/// and later merged timelines. It is also the file stem of the feed's URLs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FeedId(pub String);

impl FeedId {
    pub const ALL: &'static str = "all";
    pub const BREAKING: &'static str = "breaking";

    pub fn all() -> Self {
        FeedId(Self::ALL.into())
    }
    pub fn breaking() -> Self {
        FeedId(Self::BREAKING.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FeedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
    /// An external feed, by URL (aggregation, later).
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

impl std::str::FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "api" {
            return Ok(Source::Api);
        }
        let (kind, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("unknown source {s:?}"))?;
        let rest = rest.to_owned();
        match kind {
            "file" => Ok(Source::File(rest)),
            "feed" => Ok(Source::Feed(rest)),
            "scrape" => Ok(Source::Scrape(rest)),
            _ => Err(format!("unknown source {s:?}")),
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
}

impl Item {
    /// The feeds this item appears in. The store indexes by these, so a change to
    /// the item re-renders exactly these feeds (and those of its previous version).
    pub fn feeds(&self) -> Vec<FeedId> {
        let mut feeds = Vec::with_capacity(3);
        if self.kind == ItemKind::Breaking {
            feeds.push(FeedId::breaking());
        }
        if let Some(c) = &self.category {
            feeds.push(FeedId(c.clone()));
        }
        feeds.push(FeedId::all());
        feeds
    }
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

/// What the store keeps of one external source (a feed, a scraped page) between
/// fetches, shared by every instance: the poller of one instance claims a due
/// source with a lease, so each is fetched by one instance per interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchState {
    /// The source's name (a slug from the config).
    pub source: String,
    /// Where it is fetched from: the configured URL, then the target of a
    /// permanent redirect (301, 308).
    pub url: String,
    /// Validators for the next conditional GET, as the upstream sent them.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    /// Consecutive failures, for the backoff.
    pub failures: u32,
    pub last_fetch: Option<DateTime<Utc>>,
    pub next_fetch: DateTime<Utc>,
    /// The instance holding the source now, and until when.
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
}

impl FetchState {
    /// A source never fetched: due at once.
    pub fn new(source: &str, url: &str, now: DateTime<Utc>) -> FetchState {
        FetchState {
            source: source.to_owned(),
            url: url.to_owned(),
            etag: None,
            last_modified: None,
            last_status: None,
            last_error: None,
            failures: 0,
            last_fetch: None,
            next_fetch: now,
            lease_owner: None,
            lease_until: None,
        }
    }
}
