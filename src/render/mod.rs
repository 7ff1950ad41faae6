//! Items to documents. Each format lives in its own module and uses the crate made
//! for it (rss, atom_syndication, serde for JSON Feed, quick-xml for OPML); nothing
//! here formats XML by hand. Output depends only on the config and the data passed
//! in (no clock, no host), so every instance renders the same bytes.

pub mod atom;
pub mod json;
pub mod opml;
pub mod page;
pub mod rss;
pub mod widget;

use crate::config::Config;
use crate::model::{FeedId, Format, Item, Tombstone};
use chrono::{DateTime, FixedOffset, NaiveTime, Utc};

pub const GENERATOR: &str = "newswire";
pub const GENERATOR_URI: &str = "https://github.com/newswire/newswire";

pub const OPML_TYPE: &str = "text/x-opml; charset=utf-8";

/// A rendered document: what it is and its bytes, with the validators its data
/// gives. How it travels (encodings, headers, files for sendfile) is the cache's
/// and HTTP's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The URL path it is served at.
    pub path: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// The change time readers validate against (Last-Modified).
    pub last_modified: Option<DateTime<Utc>>,
    /// Seconds readers may reuse it (the site's `ttl`).
    pub max_age: u32,
    /// Readable by other sites' browser code (feeds, OPML).
    pub shared: bool,
    /// A feed URL: a browser asking for HTML gets the feed's page there, so the
    /// answer depends on Accept too.
    pub negotiated: bool,
    /// The `Link` header: a feed's WebSub hubs and itself.
    pub link: Option<String>,
}

/// Everything one feed's documents are made from.
pub struct FeedData<'a> {
    pub config: &'a Config,
    pub feed: &'a FeedId,
    pub items: &'a [Item],
    pub tombstones: &'a [Tombstone],
    /// The store's Last-Modified for the feed ([`crate::store::FeedState`]), which
    /// advances with every change; `None` for a feed never written.
    pub modified: Option<DateTime<Utc>>,
    /// Which of the feed's RFC 5005 documents this is.
    pub archive: Archive,
    /// The query of a view of the feed ([`crate::view`]) in its canonical
    /// spelling, part of the document's self link; empty for the feed itself.
    pub query: &'a str,
}

/// Where a document stands in its feed's RFC 5005 archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archive {
    /// The subscription document, after `pages` closed pages (its
    /// `prev-archive` is the newest of them).
    Current { pages: u64 },
    /// Closed page `n` (from 1): `fh:archive`, never to change, its
    /// `prev-archive` page `n - 1`, its `next-archive` page `n + 1`.
    Page(u64),
}

/// RFC 5005's namespace, for `fh:archive`.
pub const HISTORY_NS: &str = "http://purl.org/syndication/history/1.0";

/// How long an archive page may be reused: a year (what HTTP/1.1 long took
/// as "never expires"), and `immutable` with it (RFC 8246; see
/// [`crate::cache::Entry::new`]).
pub const ARCHIVE_MAX_AGE: u32 = 31_536_000;

impl FeedData<'_> {
    pub fn title(&self) -> String {
        crate::catalog::title(self.config, self.feed)
    }

    pub fn description(&self) -> String {
        crate::catalog::description(self.config, self.feed)
    }

    /// The feed's subscription document in `format`.
    pub fn url(&self, format: Format) -> String {
        feed_url(self.config, self.feed, format)
    }

    /// This document's own URL in `format`.
    pub fn self_url(&self, format: Format) -> String {
        match self.archive {
            Archive::Current { .. } if !self.query.is_empty() => {
                format!("{}?{}", self.url(format), self.query)
            }
            Archive::Current { .. } => self.url(format),
            Archive::Page(n) => self.page_url(n, format),
        }
    }

    fn page_url(&self, n: u64, format: Format) -> String {
        format!(
            "{}{}",
            self.config.feeds_base(),
            archive_path(self.feed, n, format)
        )
    }

    /// RFC 5005 `prev-archive`: the page before this document, if any.
    pub fn prev_archive(&self, format: Format) -> Option<String> {
        let n = match self.archive {
            Archive::Current { pages } => pages,
            Archive::Page(n) => n - 1,
        };
        (n > 0).then(|| self.page_url(n, format))
    }

    /// RFC 5005 `next-archive`, on a page: page `n + 1`. Known when page `n`
    /// closes, so the page's bytes never change: until page `n + 1` closes
    /// its address answers with the subscription document (a redirect),
    /// where the entries after page `n` are.
    pub fn next_archive(&self, format: Format) -> Option<String> {
        match self.archive {
            Archive::Current { .. } => None,
            Archive::Page(n) => Some(self.page_url(n + 1, format)),
        }
    }

    /// The WebSub hubs this document advertises: none on an archive page,
    /// which never changes.
    pub fn hubs(&self) -> Vec<String> {
        match self.archive {
            Archive::Current { .. } => self.config.hubs(),
            Archive::Page(_) => Vec::new(),
        }
    }

    /// The newest change among what the documents show: the Last-Modified header,
    /// RSS lastBuildDate, Atom and JSON updated.
    pub fn last_modified(&self) -> Option<DateTime<Utc>> {
        let items = self.items.iter().map(|i| i.updated.max(i.published));
        let stones = self.tombstones.iter().map(|t| t.deleted);
        items.chain(stones).max()
    }

    /// Atom requires an `updated` even for an empty feed; the site's tag date is
    /// fixed data, so this stays the same on every instance.
    pub fn updated_or_epoch(&self) -> DateTime<Utc> {
        self.last_modified().unwrap_or_else(|| {
            self.config
                .site
                .tag_start
                .and_time(NaiveTime::MIN)
                .and_utc()
        })
    }

    pub fn local(&self, t: DateTime<Utc>) -> DateTime<FixedOffset> {
        crate::localtime::in_zone(t, self.config.site.timezone)
    }

    /// An item's category, then its tags, each once (an article may be tagged
    /// with its own category).
    pub fn categories<'b>(&self, item: &'b Item) -> Vec<&'b str> {
        let mut out: Vec<&str> = Vec::with_capacity(1 + item.tags.len());
        // A tag that only repeats the category (`World` for `world`, as a
        // scraped page labels it) is the category.
        let title = item
            .category
            .as_deref()
            .and_then(|c| self.config.category(c))
            .map(|c| c.title.as_str());
        for c in item.category.iter().chain(&item.tags) {
            let seen = out.iter().any(|o| o.eq_ignore_ascii_case(c));
            let names_category = Some(c.as_str()) != item.category.as_deref()
                && title.is_some_and(|t| t.eq_ignore_ascii_case(c));
            if !seen && !names_category {
                out.push(c);
            }
        }
        out
    }

    /// The people an item is credited to, falling back to the site's author.
    pub fn authors<'b>(&'b self, item: &'b Item) -> Vec<&'b str> {
        if item.authors.is_empty() {
            vec![self.config.site.author.as_str()]
        } else {
            item.authors.iter().map(|a| a.name.as_str()).collect()
        }
    }
}

pub fn feed_url(config: &Config, feed: &FeedId, format: Format) -> String {
    format!("{}{}", config.feeds_base(), feed_path(feed, format))
}

pub fn feed_path(feed: &FeedId, format: Format) -> String {
    let folder = match feed {
        FeedId::Timeline(_) => "timelines",
        _ => "feeds",
    };
    format!("/{folder}/{feed}.{}", format.ext())
}

/// Where closed page `n` of a feed is served: `/feeds/world/archive/3.atom`.
pub fn archive_path(feed: &FeedId, n: u64, format: Format) -> String {
    let current = feed_path(feed, format);
    let stem = current
        .strip_suffix(&format!(".{}", format.ext()))
        .unwrap_or(&current);
    format!("{stem}/archive/{n}.{}", format.ext())
}

/// Closed page of a feed in one format (RSS, Atom or JSON Feed), as served
/// forever.
pub fn archive_document(data: &FeedData<'_>, format: Format) -> Option<Document> {
    let Archive::Page(n) = data.archive else {
        return None;
    };
    let body = match format {
        Format::Rss => rss::render(data),
        Format::Atom => atom::render(data),
        Format::Json => json::render(data),
        Format::Html => return None,
    };
    Some(kept_archive_document(
        data.feed,
        n,
        format,
        body,
        data.last_modified(),
    ))
}

/// A closed archive page's document from its bytes (as rendered, or as
/// first served and kept).
pub fn kept_archive_document(
    feed: &FeedId,
    n: u64,
    format: Format,
    body: Vec<u8>,
    last_modified: Option<DateTime<Utc>>,
) -> Document {
    Document {
        path: archive_path(feed, n, format),
        content_type: format.content_type(),
        body,
        last_modified,
        max_age: ARCHIVE_MAX_AGE,
        shared: true,
        negotiated: false,
        link: None,
    }
}

/// A feed's four documents: RSS, Atom, JSON Feed and its HTML page.
pub fn feed_documents<'d>(data: &'d FeedData<'_>) -> impl Iterator<Item = Document> + 'd {
    // One at a time, as the caller takes them: a 1,000-item timeline is a few
    // MiB per format, and the cache drops each rendering once it has its file.
    [Format::Rss, Format::Atom, Format::Json, Format::Html]
        .into_iter()
        .map(move |format| feed_document(data, format))
}

/// A feed's document in one format (or a view of it, per `data.query`).
pub fn feed_document(data: &FeedData<'_>, format: Format) -> Document {
    // The header follows every change (the store's time); the documents' own dates
    // (lastBuildDate, updated) follow the items, so the bytes depend on data only.
    let lm = data.modified.or_else(|| data.last_modified());
    let (body, shared) = match format {
        Format::Rss => (rss::render(data), true),
        Format::Atom => (atom::render(data), true),
        Format::Json => (json::render(data), true),
        Format::Html => (page::feed_page(data), false),
    };
    let hubs = format != Format::Html && !data.config.hubs().is_empty();
    Document {
        path: feed_path(data.feed, format),
        content_type: format.content_type(),
        body,
        last_modified: lm,
        max_age: data.config.site.ttl * 60,
        shared,
        negotiated: true,
        link: hubs.then(|| data.config.link_header(&data.self_url(format))),
    }
}

pub const INDEX_PATH: &str = "/";
pub const OPML_PATH: &str = "/feeds.opml";

/// The HTML index, with the latest items; it changes whenever `all` does.
pub fn index_document(
    config: &Config,
    latest: &[Item],
    modified: Option<DateTime<Utc>>,
) -> Document {
    Document {
        path: INDEX_PATH.into(),
        content_type: Format::Html.content_type(),
        body: page::index(config, latest),
        last_modified: modified.or_else(|| latest.iter().map(|i| i.updated.max(i.published)).max()),
        max_age: config.site.ttl * 60,
        shared: false,
        negotiated: false,
        link: None,
    }
}

/// The widget's files: its stylesheet, the framed page's script, the
/// builder's, and the same script at every feed's `/embed/{feed}.js`. They
/// depend on the config only.
pub fn embed_documents(config: &Config) -> Vec<Document> {
    let asset = |path: String, content_type: &'static str, body: Vec<u8>| Document {
        path,
        content_type,
        body,
        last_modified: None,
        max_age: config.site.ttl * 60,
        shared: false,
        negotiated: false,
        link: None,
    };
    const CSS: &str = "text/css; charset=utf-8";
    const JS: &str = "text/javascript; charset=utf-8";
    let mut docs = vec![
        asset(
            format!("{}widget.css", widget::ASSETS),
            CSS,
            widget::CSS.into(),
        ),
        asset(
            format!("{}frame.js", widget::ASSETS),
            JS,
            widget::FRAME_JS.into(),
        ),
        asset(
            format!("{}builder.js", widget::ASSETS),
            JS,
            widget::BUILDER_JS.into(),
        ),
    ];
    let script = widget::script();
    for feed in crate::catalog::feeds(config) {
        docs.push(asset(widget::path(&feed, "js"), JS, script.clone()));
    }
    docs
}

/// The OPML list of feeds; it depends on the config only.
pub fn opml_document(config: &Config) -> Document {
    Document {
        path: OPML_PATH.into(),
        content_type: OPML_TYPE,
        body: opml::render(config),
        last_modified: None,
        max_age: config.site.ttl * 60,
        shared: true,
        negotiated: false,
        link: None,
    }
}
