//! The dry run of a scrape (`newswire scrape --dry-run`): what each selector
//! matched, the list's items with their dates and offsets, and for a URL the
//! first three article pages with each field and the body cut short, exactly
//! as the poller would read them, and nothing stored.

use super::{Article, Probe, article, list, squash};
use crate::config::{Config, ScrapeConfig};
use crate::sources::fetch::{FetchError, Fetcher, Outcome, Policy, Request};
use chrono::{DateTime, Utc};
use std::fmt::Write;
use url::Url;

/// Article pages a dry run reads after the list.
const ARTICLES: usize = 3;

/// Why there is no report at all.
#[derive(Debug, thiserror::Error)]
pub enum DryRunError {
    #[error("no [[scrapes]] entry named {name:?} (configured: {configured})")]
    Unknown { name: String, configured: String },
    #[error("{0} configures no [[scrapes]]")]
    NoScrapes(String),
    #[error("several [[scrapes]]: say which with --name ({0})")]
    Several(String),
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the scrape's URL: {0}")]
    Url(#[from] url::ParseError),
    #[error("{0}")]
    Fetch(String),
    #[error(transparent)]
    Client(#[from] FetchError),
}

/// The report for `input` (an http(s) URL, or a saved page) read by the
/// scrape `name` (or the only one), and whether every selector the scrape
/// needs matched.
pub async fn dry_run(
    config: &Config,
    name: Option<&str>,
    input: &str,
) -> Result<(String, bool), DryRunError> {
    let s = pick(config, name)?;
    let tz = s.timezone.unwrap_or(config.site.timezone);
    let fetcher = Fetcher::new(Policy::configured(config))?;
    let remote = input.starts_with("http://") || input.starts_with("https://");
    let (body, page, content_type) = if remote {
        get(&fetcher, input.to_owned()).await?
    } else {
        let body = std::fs::read(input).map_err(|source| DryRunError::Read {
            path: input.to_owned(),
            source,
        })?;
        (body, Url::parse(&s.url)?, None)
    };
    let mut out = String::new();
    let at = |t: DateTime<Utc>| crate::localtime::in_zone(t, tz).to_rfc3339();
    let _ = writeln!(
        out,
        "{} ({} bytes), scrape {:?}, times in {tz}",
        if remote { input } else { page.as_str() },
        body.len(),
        s.name
    );
    let now = Utc::now();
    let (parsed, probes) = match list(&body, content_type.as_deref(), &page, s, tz, now) {
        Ok(found) => found,
        Err(e) => {
            let _ = writeln!(out, "  list: {e}");
            // Perhaps an article page: show what its selectors find.
            if let Some(a) = &s.article {
                let _ = writeln!(out, "as an article page:");
                match article(&body, content_type.as_deref(), &page, a, tz) {
                    Ok((found, probes)) => {
                        show_probes(&mut out, &probes, None);
                        show_article(&mut out, &found, at);
                        return Ok((out, true));
                    }
                    Err(e) => {
                        let _ = writeln!(out, "  {e}");
                    }
                }
            }
            return Ok((out, false));
        }
    };
    show_probes(
        &mut out,
        &probes,
        Some(probes.first().map_or(0, |p| p.matched)),
    );
    let _ = writeln!(out, "{} items:", parsed.entries.len());
    for e in &parsed.entries {
        let when = e.published.map_or("(no date: first seen)".to_owned(), at);
        let title = e.title.as_ref().map_or("", |t| t.value.as_str());
        let _ = writeln!(out, "  {when:<25}  {title}");
        if let Some(link) = &e.link {
            let _ = writeln!(out, "  {:<25}  {link}", "");
        }
    }
    let mut complete = true;
    if let (Some(a), true) = (&s.article, remote) {
        let links = parsed.entries.iter().filter_map(|e| e.link.clone());
        for link in links.take(ARTICLES) {
            let _ = writeln!(out, "article {link}");
            let read = match get(&fetcher, link).await {
                Ok((body, url, ct)) => article(&body, ct.as_deref(), &url, a, tz)
                    .map_err(|e| DryRunError::Fetch(e.to_string())),
                Err(e) => Err(e),
            };
            match read {
                Ok((found, probes)) => {
                    show_probes(&mut out, &probes, None);
                    show_article(&mut out, &found, at);
                }
                Err(e) => {
                    complete = false;
                    let _ = writeln!(out, "  {e}");
                }
            }
        }
    }
    Ok((out, complete))
}

/// The scrape a dry run is for: the one named, or the only one.
fn pick<'c>(config: &'c Config, name: Option<&str>) -> Result<&'c ScrapeConfig, DryRunError> {
    let scrapes: Vec<&ScrapeConfig> = config
        .sources
        .iter()
        .filter_map(|s| s.scrape.as_deref())
        .collect();
    let names = || {
        scrapes
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (name, scrapes.as_slice()) {
        (Some(n), _) => scrapes
            .iter()
            .copied()
            .find(|s| s.name == n)
            .ok_or_else(|| DryRunError::Unknown {
                name: n.to_owned(),
                configured: names(),
            }),
        (None, [only]) => Ok(only),
        (None, []) => Err(DryRunError::NoScrapes(config.file.display().to_string())),
        (None, _) => Err(DryRunError::Several(names())),
    }
}

/// A page under the fetch policy: its bytes, where they came from, their type.
async fn get(
    fetcher: &Fetcher,
    url: String,
) -> Result<(Vec<u8>, Url, Option<String>), DryRunError> {
    let request = Request {
        url: url.clone(),
        ..Default::default()
    };
    match fetcher.fetch(&request).await {
        Outcome::Fetched {
            body,
            url,
            content_type,
            ..
        } => Ok((body.to_vec(), url, content_type)),
        Outcome::Failed { status, error } => Err(DryRunError::Fetch(format!(
            "{url}: {}{error}",
            status.map(|s| format!("{s} ")).unwrap_or_default()
        ))),
        _ => Err(DryRunError::Fetch(format!(
            "{url}: no page (gone, or asked to wait)"
        ))),
    }
}

fn show_probes(out: &mut String, probes: &[Probe], of: Option<usize>) {
    for p in probes {
        let found = match (p.matched, of) {
            (0, _) => "matched nothing".to_owned(),
            (n, Some(of)) if p.field != "list.item" => format!("{n} of {of} items"),
            (n, _) => format!("{n} matched"),
        };
        let sample = p
            .sample
            .as_ref()
            .map(|t| format!("  {t:?}"))
            .unwrap_or_default();
        let _ = writeln!(out, "  {:<16} {:<24} {found}{sample}", p.field, p.css);
    }
}

fn show_article(out: &mut String, a: &Article, at: impl Fn(DateTime<Utc>) -> String) {
    let rows = [
        ("title", a.title.clone()),
        ("date", a.published.map(at)),
        ("author", a.author.clone()),
        ("category", a.category.clone()),
        ("image", a.image.clone()),
        (
            "body",
            a.body.as_ref().map(|b| {
                let text = squash(&crate::text::html_text(b, false));
                format!(
                    "{} chars: {:?}",
                    text.chars().count(),
                    crate::gate::cut(text.trim(), 200)
                )
            }),
        ),
    ];
    for (field, value) in rows {
        let none = if field == "date" {
            "- (the list's date stands)"
        } else {
            "-"
        };
        let _ = writeln!(out, "  = {field:<8} {}", value.as_deref().unwrap_or(none));
    }
}
