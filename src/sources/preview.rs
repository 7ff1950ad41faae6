//! What a source would store, without storing anything: the dry run of a
//! feed or a scrape, as `POST /api/v1/preview` answers it. A feed's entries
//! and a scrape's list items are read exactly as the poller reads them and
//! passed through the gate, so the preview shows what readers would see:
//! titles, links, dates with their offsets in the site's zone, bodies cut
//! short. A page that is no feed is searched for the feeds it names
//! ([`super::discover`]).

use super::discover::{self, Found};
use super::fetch::{Fetcher, Outcome, Request, check_literal};
use super::parse::{self, SourceInfo};
use super::scrape;
use crate::config::{ArticleSelectors, Config, ListSelectors, MAX_SELECTOR, ScrapeConfig};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

/// Entries shown at most.
const MAX_SHOWN: usize = 50;

/// Characters of a summary and of a body shown.
const SUMMARY: usize = 200;
const BODY: usize = 300;

/// What to preview: a feed or a site's page, or a page read by selectors.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    pub url: String,
    #[serde(default)]
    pub scrape: Option<ScrapeAsk>,
}

/// A scrape's selectors, as `[[scrapes]]` has them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeAsk {
    pub list: ListSelectors,
    #[serde(default)]
    pub article: Option<ArticleSelectors>,
    /// `breaking` reads the list as a ticker (`HH:MM` times).
    #[serde(default)]
    pub category: Option<String>,
}

/// The answer.
#[derive(Debug, Serialize)]
pub struct Preview {
    /// Where the document came from, after redirects.
    pub url: String,
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What would be stored, in document order.
    pub items: Vec<Shown>,
    /// For a scrape: each selector and what it matched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub selectors: Vec<Matched>,
    /// For a page: the feeds it names, or found at the usual paths.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub feeds: Vec<Found>,
    /// For a feed: the response read, which a source made of it takes as
    /// its first fetch rather than asking the upstream twice.
    #[serde(skip)]
    pub fetched: Option<Outcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Feed,
    Page,
    Scrape,
}

/// One item as it would be stored.
#[derive(Debug, Serialize)]
pub struct Shown {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// In the site's zone, with its offset.
    pub published: String,
    /// False when upstream gave no date: the item is dated when first seen.
    pub dated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The body's text, cut short.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// What one selector matched.
#[derive(Debug, Serialize)]
pub struct Matched {
    pub field: &'static str,
    pub css: String,
    pub matched: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<String>,
}

/// Why there is no preview; `field` names the part of the request at fault.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("not an absolute http(s) URL: {0:?}")]
    Url(String),
    #[error("{0}")]
    NotPublic(String),
    #[error("{field}: {message}")]
    Selector { field: String, message: String },
    #[error("fetching {url} failed: {error}")]
    Fetch { url: String, error: String },
    #[error(
        "{url} is not a feed, and names none (no <link rel=\"alternate\"> of a feed type, nothing at {paths})"
    )]
    NoFeed { url: String, paths: String },
    /// The page read by the selectors gave nothing: which selector (when
    /// one matched nothing), and why.
    #[error("{message}")]
    Scrape {
        field: Option<&'static str>,
        message: String,
    },
}

impl PreviewError {
    /// The request field at fault.
    pub fn field(&self) -> String {
        match self {
            PreviewError::Selector { field, .. } => field.clone(),
            PreviewError::Scrape { field: Some(f), .. } => format!("scrape.{f}"),
            PreviewError::Scrape { field: None, .. } => "scrape".into(),
            _ => "url".into(),
        }
    }
}

/// The preview of `ask`, fetched under the site's fetch policy.
pub async fn preview(
    config: &std::sync::Arc<Config>,
    fetcher: &Fetcher,
    ask: Ask,
    now: DateTime<Utc>,
) -> Result<Preview, PreviewError> {
    let url = Url::parse(ask.url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .ok_or_else(|| PreviewError::Url(ask.url.clone()))?;
    check_literal(&url, config.fetch.allow_private_networks)
        .map_err(|e| PreviewError::NotPublic(e.to_string()))?;
    let scrape = ask
        .scrape
        .map(|s| scrape_config(config, &url, s))
        .transpose()?;
    let request = Request {
        url: url.to_string(),
        ..Default::default()
    };
    let response = fetcher.fetch(&request).await;
    let (body, url, content_type) = match &response {
        Outcome::Fetched {
            body,
            url,
            content_type,
            ..
        } => (body.clone(), url.clone(), content_type.clone()),
        Outcome::Failed { status, error } => {
            return Err(PreviewError::Fetch {
                url: url.into(),
                error: match status {
                    Some(s) => format!("HTTP {s}: {error}"),
                    None => error.clone(),
                },
            });
        }
        other => {
            return Err(PreviewError::Fetch {
                url: url.into(),
                error: format!("{other:?}"),
            });
        }
    };
    // Parsing, sanitizing and selecting are CPU work on a body of up to
    // `fetch.max_body`: on the blocking pool, as the poller does it, so the
    // runtime's workers stay free.
    let shared = config.clone();
    let read = tokio::task::spawn_blocking(move || {
        read(&shared, &body, content_type.as_deref(), url, scrape, now)
    })
    .await
    .expect("reading a document does not panic")?;
    let url = match read {
        Read::Done(mut preview) => {
            if preview.kind == Kind::Feed {
                preview.fetched = Some(response);
            }
            return Ok(*preview);
        }
        Read::Unlinked(url) => url,
    };
    let feeds = discover::usual(fetcher, &url).await;
    if feeds.is_empty() {
        return Err(PreviewError::NoFeed {
            url: url.into(),
            paths: discover::USUAL_PATHS.join(", "),
        });
    }
    Ok(found(url, feeds))
}

/// A page and the feeds found for it.
fn found(url: Url, feeds: Vec<Found>) -> Preview {
    Preview {
        url: url.into(),
        kind: Kind::Page,
        format: None,
        title: None,
        items: Vec::new(),
        selectors: Vec::new(),
        feeds,
        fetched: None,
    }
}

/// What reading a fetched document came to: the preview, or a page that
/// names no feed, whose usual paths are to be asked next.
enum Read {
    Done(Box<Preview>),
    Unlinked(Url),
}

fn read(
    config: &Config,
    body: &[u8],
    ct: Option<&str>,
    url: Url,
    scrape: Option<ScrapeConfig>,
    now: DateTime<Utc>,
) -> Result<Read, PreviewError> {
    let tz = config.site.timezone;
    if let Some(s) = scrape {
        let tz = s.timezone.unwrap_or(tz);
        let (parsed, probes) =
            scrape::list(body, ct, &url, &s, tz, now).map_err(|e| PreviewError::Scrape {
                field: match &e {
                    scrape::ScrapeError::NoMatch { field, .. } => Some(field),
                    _ => None,
                },
                message: e.to_string(),
            })?;
        let items = shown(config, &url, parsed, now);
        return Ok(Read::Done(Box::new(Preview {
            url: url.into(),
            kind: Kind::Scrape,
            format: None,
            title: None,
            items,
            selectors: probes
                .into_iter()
                .map(|p| Matched {
                    field: p.field,
                    css: p.css,
                    matched: p.matched,
                    sample: p.sample,
                })
                .collect(),
            feeds: Vec::new(),
            fetched: None,
        })));
    }
    if let Some((format, title)) = discover::sniff(body, ct, &url) {
        let parsed =
            parse::parse_at_most(body, ct, &url, MAX_SHOWN).map_err(|e| PreviewError::Fetch {
                url: url.to_string(),
                error: e.to_string(),
            })?;
        return Ok(Read::Done(Box::new(Preview {
            url: url.to_string(),
            kind: Kind::Feed,
            format: Some(format),
            title,
            items: shown(config, &url, parsed, now),
            selectors: Vec::new(),
            feeds: Vec::new(),
            fetched: None,
        })));
    }
    let html = scrape::decode(body, ct);
    let feeds = discover::linked(&html, &url);
    if feeds.is_empty() {
        return Ok(Read::Unlinked(url));
    }
    Ok(Read::Done(Box::new(found(url, feeds))))
}

/// A scrape from its selectors, each checked as the config checks them.
fn scrape_config(config: &Config, url: &Url, s: ScrapeAsk) -> Result<ScrapeConfig, PreviewError> {
    let l = &s.list;
    let mut fields: Vec<(String, &str)> = vec![("scrape.list.item".into(), l.item.as_str())];
    for (name, css) in [("time", &l.time), ("title", &l.title), ("link", &l.link)] {
        if let Some(css) = css {
            fields.push((format!("scrape.list.{name}"), css));
        }
    }
    if let Some(a) = &s.article {
        for (name, css) in [
            ("title", &a.title),
            ("date", &a.date),
            ("author", &a.author),
            ("category", &a.category),
            ("image", &a.image),
            ("body", &a.body),
        ] {
            if let Some(css) = css {
                fields.push((format!("scrape.article.{name}"), css));
            }
        }
        for (i, css) in a.remove.iter().enumerate() {
            fields.push((format!("scrape.article.remove[{i}]"), css));
        }
    }
    for (field, css) in fields {
        if css.chars().count() > MAX_SELECTOR {
            return Err(PreviewError::Selector {
                field,
                message: format!("a selector is at most {MAX_SELECTOR} characters"),
            });
        }
        if let Err(e) = scraper::Selector::parse(css) {
            return Err(PreviewError::Selector {
                field,
                message: format!("not a CSS selector ({e})"),
            });
        }
    }
    let category = s
        .category
        .or_else(|| config.categories.first().map(|c| c.slug.clone()))
        .unwrap_or_else(|| crate::model::FeedId::BREAKING.to_owned());
    Ok(ScrapeConfig {
        name: "preview".into(),
        url: url.to_string(),
        title: None,
        interval: None,
        category,
        timezone: None,
        max_items: None,
        list: s.list,
        article: s.article,
    })
}

/// Entries as the gate would let them through, in the site's zone.
fn shown(config: &Config, url: &Url, parsed: parse::Parsed, now: DateTime<Utc>) -> Vec<Shown> {
    let tag_prefix = config.tag_prefix();
    let source = SourceInfo {
        name: "preview",
        title: None,
        feed_url: url.as_str(),
        categories: &[],
        tag_prefix: &tag_prefix,
    };
    let mut out = Vec::new();
    let entries: Vec<_> = parsed.entries.iter().take(MAX_SHOWN).cloned().collect();
    for entry in entries {
        let id = parse::upstream_id(&entry);
        let item = parse::to_item(entry, &parsed, &source, id, now);
        let Ok(item) = crate::gate::admit(item, crate::gate::Trust::Lenient, now) else {
            continue;
        };
        let dated = item.origin.as_ref().is_none_or(|o| o.dated);
        out.push(Shown {
            published: crate::localtime::in_zone(item.published, config.site.timezone).to_rfc3339(),
            dated,
            summary: item
                .summary
                .as_deref()
                .map(|s| crate::gate::cut(s, SUMMARY)),
            content: item
                .content_html
                .as_deref()
                .map(|h| crate::gate::cut(&crate::text::html_text(h, false), BODY))
                .filter(|t| !t.trim().is_empty()),
            title: item.title,
            link: item.link,
        });
    }
    out
}
