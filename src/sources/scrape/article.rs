//! Article pages: the body, date, author, category and image of the page
//! behind a list entry, its noise removed first; or its main text, by
//! readability.

use super::{Probe, ScrapeError, decode, selector, squash, text_of};
use crate::config::ArticleSelectors;
use crate::model::Person;
use crate::sources::dates;
use crate::sources::parse::{Entry, Text};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use scraper::{ElementRef, Html};
use url::Url;

/// Longest summary taken from an article's first paragraph, in characters.
const SUMMARY_CHARS: usize = 400;

/// What an article page adds to its list entry.
#[derive(Debug, Clone, Default)]
pub struct Article {
    pub title: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub author: Option<String>,
    pub category: Option<String>,
    pub image: Option<String>,
    /// Sanitized, with absolute URLs.
    pub body: Option<String>,
}

impl Article {
    /// Fills an entry; its digest stays that of the list entry, so the page
    /// is not fetched again until the list says the item changed.
    pub fn fill(self, entry: &mut Entry) {
        if let Some(title) = self.title.filter(|t| !t.is_empty()) {
            entry.title = Some(Text {
                value: title,
                html: false,
            });
        }
        if self.published.is_some() {
            entry.published = self.published;
        }
        if let Some(name) = self.author.filter(|a| !a.is_empty()) {
            entry.authors = vec![Person {
                name,
                email: None,
                uri: None,
            }];
        }
        if let Some(c) = self.category.filter(|c| !c.is_empty()) {
            entry.tags = vec![c];
        }
        if self.image.is_some() {
            entry.image = self.image;
        }
        if let Some(body) = self.body {
            // The first paragraph as the summary, as for the site's own
            // articles (RSS readers show it; validators expect it).
            let lead = crate::text::html_text(&body, true);
            entry.summary = Some(Text {
                value: crate::gate::cut(lead.trim(), SUMMARY_CHARS),
                html: false,
            })
            .filter(|s| !s.value.is_empty());
            entry.content = Some(Text {
                value: body,
                html: true,
            });
        }
    }
}

/// Reads an article page. The probes say what each selector matched; a
/// `body` selector that matched nothing is an error (the page's layout
/// changed), the others only leave their field empty.
pub fn article(
    body: &[u8],
    content_type: Option<&str>,
    page: &Url,
    a: &ArticleSelectors,
    tz: Tz,
) -> Result<(Article, Vec<Probe>), ScrapeError> {
    let text = decode(body, content_type);
    crate::depth::html(&text, crate::depth::MAX_HTML)?;
    let mut doc = Html::parse_document(&text);
    for css in &a.remove {
        let sel = selector("article.remove", css)?;
        let ids: Vec<_> = doc.select(&sel).map(|e| e.id()).collect();
        for id in ids {
            if let Some(mut node) = doc.tree.get_mut(id) {
                node.detach();
            }
        }
    }
    let mut probes = Vec::new();
    let mut pick = |field: &'static str,
                    css: &Option<String>|
     -> Result<Option<ElementRef<'_>>, ScrapeError> {
        let Some(css) = css else { return Ok(None) };
        let sel = selector(field, css)?;
        let found = doc.select(&sel).next();
        probes.push(Probe {
            field,
            css: css.clone(),
            matched: doc.select(&sel).count(),
            sample: found
                .map(|el| crate::gate::cut(&text_of(el), 80))
                .filter(|t| !t.is_empty()),
        });
        Ok(found)
    };
    let title = pick("article.title", &a.title)?.map(text_of);
    let published = pick("article.date", &a.date)?.and_then(|el| {
        let machine = el.value().attr("datetime").or(el.value().attr("content"));
        machine
            .and_then(|d| dates::on_page(d, None, None, tz))
            .or_else(|| {
                dates::on_page(
                    &text_of(el),
                    a.date_format.as_deref(),
                    a.language.as_deref(),
                    tz,
                )
            })
    });
    let author = pick("article.author", &a.author)?.map(text_of);
    let category = pick("article.category", &a.category)?.map(text_of);
    let image = pick("article.image", &a.image)?
        .and_then(|el| {
            let v = el.value();
            v.attr("src")
                .or(v.attr("data-src"))
                .or(v.attr("content"))
                .or(v.attr("href"))
        })
        .and_then(|src| page.join(src.trim()).ok())
        .map(String::from);
    let raw_body = match pick("article.body", &a.body)? {
        Some(el) => Some(el.inner_html()),
        None if a.body.is_some() => {
            return Err(ScrapeError::NoMatch {
                field: "article.body",
                css: a.body.clone().unwrap_or_default(),
                url: page.to_string(),
            });
        }
        None if a.readability => readable_html(&doc.html(), page),
        None => None,
    };
    let body = raw_body
        .map(|html| crate::gate::sanitize_html(&html, Some(page.as_str())))
        .filter(|h| !h.trim().is_empty());
    if let (Some(b), Some(p)) = (&body, probes.iter_mut().find(|p| p.field == "article.body")) {
        p.sample = Some(crate::gate::cut(
            &squash(&crate::text::html_text(b, false)),
            80,
        ));
    }
    Ok((
        Article {
            title,
            published,
            author,
            category,
            image,
            body,
        },
        probes,
    ))
}

/// The main text of a page, by readability, sanitized with absolute URLs:
/// for sources whose feed carries only a summary.
pub fn readable(body: &[u8], content_type: Option<&str>, page: &Url) -> Option<String> {
    let text = decode(body, content_type);
    // dom_smoothie walks the tree recursively: a page too deep has no main
    // text to find.
    crate::depth::html(&text, crate::depth::MAX_HTML).ok()?;
    readable_html(&text, page)
        .map(|html| crate::gate::sanitize_html(&html, Some(page.as_str())))
        .filter(|h| !h.trim().is_empty())
}

/// Elements readability may score on one page: a bound on its work, far
/// above any article page (a 8 MiB page of empty divs would be refused).
const READABILITY_ELEMENTS: usize = 50_000;

fn readable_html(html: &str, page: &Url) -> Option<String> {
    let config = dom_smoothie::Config {
        max_elements_to_parse: READABILITY_ELEMENTS,
        // The page's JSON-LD is the site's metadata, not its text.
        disable_json_ld: true,
        ..Default::default()
    };
    let mut r = dom_smoothie::Readability::new(html, Some(page.as_str()), Some(config)).ok()?;
    let article = r.parse().ok()?;
    Some(article.content.to_string()).filter(|c| !c.trim().is_empty())
}
