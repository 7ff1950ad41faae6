//! An article as an author or a CMS describes it ([`Draft`]), checked and turned into
//! an [`Item`]. Files and the ingest API both go through [`Draft::into_item`], so the
//! same article gets the same id and the same rendering whichever way it arrived.

use crate::config::Config;
use crate::gate::Trust;
use crate::localtime;
use crate::model::{Item, ItemKind, Person, Source};
use chrono::{DateTime, Utc};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Markdown(String),
    Html(String),
}

#[derive(Debug, Clone)]
pub struct Draft {
    /// The short id; derived from date and title when the author gives none.
    pub key: Option<String>,
    pub title: String,
    pub category: String,
    /// As written: RFC 3339 or local `YYYY-MM-DD HH:MM`.
    pub published: String,
    pub updated: Option<String>,
    pub author: Option<String>,
    pub summary: Option<String>,
    pub body: Body,
    pub link: Option<String>,
    pub image: Option<String>,
    pub tags: Vec<String>,
}

pub use crate::gate::{FieldError, check_url};

fn field(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

/// Longest derived summary, in characters.
const SUMMARY_CHARS: usize = 400;

impl Draft {
    pub fn into_item(self, config: &Config, source: Source) -> Result<Item, FieldError> {
        let tz = config.site.timezone;
        let title = self.title.trim().to_owned();
        if title.is_empty() {
            return Err(field("title", "must not be empty"));
        }
        if config.category(&self.category).is_none() {
            let known: Vec<_> = config.categories.iter().map(|c| c.slug.as_str()).collect();
            return Err(field(
                "category",
                format!(
                    "unknown category {:?} (known: {})",
                    self.category,
                    known.join(", ")
                ),
            ));
        }
        let published = localtime::parse_date(&self.published, tz)
            .map_err(|e| field("published", e.to_string()))?;
        let updated = match &self.updated {
            Some(u) => localtime::parse_date(u, tz).map_err(|e| field("updated", e.to_string()))?,
            None => published,
        };
        let key = match self.key {
            Some(k) => {
                check_key(&k).map_err(|m| field("id", m.to_string()))?;
                k
            }
            None => derive_key(&title, published, tz),
        };
        let content_html = match &self.body {
            Body::Markdown(md) => markdown_to_html(md),
            Body::Html(html) => html.clone(),
        };
        let summary = match self
            .summary
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
        {
            Some(s) => s,
            None => derive_summary(&self.body),
        };
        let link = self
            .link
            .filter(|l| !l.trim().is_empty())
            .unwrap_or_else(|| format!("{}/articles/{key}", config.site_base()));
        let item = Item {
            id: format!("{}article/{key}", config.tag_prefix()),
            key,
            kind: ItemKind::Article,
            source,
            category: Some(self.category),
            title,
            link: Some(link),
            summary: Some(summary).filter(|s| !s.is_empty()),
            content_html: Some(content_html).filter(|s| !s.trim().is_empty()),
            published,
            updated,
            authors: self
                .author
                .filter(|a| !a.trim().is_empty())
                .map(|name| Person {
                    name,
                    email: None,
                    uri: None,
                })
                .into_iter()
                .collect(),
            tags: self
                .tags
                .into_iter()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .collect(),
            image: self.image,
            origin: None,
            story: None,
        };
        crate::gate::admit(item, Trust::FirstParty, Utc::now())
    }
}

/// A key with characters a URL or a `tag:` URI would need escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected 1-200 of A-Z a-z 0-9 - _ . (not starting with '.'), got {0:?}")]
pub struct KeyError(pub String);

/// Keys appear in URLs and `tag:` URIs; keep them to characters that need no escaping.
pub fn check_key(key: &str) -> Result<(), KeyError> {
    let ok = !key.is_empty()
        && key.len() <= 200
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !key.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(KeyError(key.to_owned()))
    }
}

/// `2026-02-01-fuel-prices-rise-again`: the local publication day and the title, so
/// posting the same article twice without an id still makes one item.
pub fn derive_key(title: &str, published: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 80 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let day = localtime::in_zone(published, tz).format("%Y-%m-%d");
    if slug.is_empty() {
        format!("{day}-{}", &crate::hash::hash_hex(title.as_bytes())[..12])
    } else {
        format!("{day}-{slug}")
    }
}

pub fn markdown_to_html(md: &str) -> String {
    let mut html = String::with_capacity(md.len() * 3 / 2);
    pulldown_cmark::html::push_html(
        &mut html,
        Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH),
    );
    html
}

/// The first paragraph as plain text, cut at a word boundary.
fn derive_summary(body: &Body) -> String {
    let text = match body {
        Body::Markdown(md) => {
            let mut text = String::new();
            let mut in_paragraph = false;
            for event in Parser::new(md) {
                match event {
                    Event::Start(Tag::Paragraph) => in_paragraph = true,
                    Event::End(TagEnd::Paragraph) if !text.is_empty() => break,
                    Event::End(TagEnd::Paragraph) => in_paragraph = false,
                    Event::Text(t) | Event::Code(t) if in_paragraph => text.push_str(&t),
                    Event::SoftBreak | Event::HardBreak if in_paragraph => text.push(' '),
                    _ => {}
                }
            }
            text
        }
        Body::Html(html) => crate::text::html_text(html, true),
    };
    crate::gate::clean_text(&text, SUMMARY_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_key_is_day_and_title() {
        let t = localtime::parse_date("2026-02-01 00:30", chrono_tz::Africa::Casablanca).unwrap();
        // 00:30 local is still the 1st locally though it is the 31st in UTC.
        assert_eq!(
            derive_key("Fuel prices rise, again!", t, chrono_tz::Africa::Casablanca),
            "2026-02-01-fuel-prices-rise-again"
        );
    }

    #[test]
    fn summary_is_first_paragraph_text() {
        let body = Body::Markdown(
            "First *para* with [a link](https://x.example).\nSecond line.\n\nNext para.".into(),
        );
        assert_eq!(
            derive_summary(&body),
            "First para with a link. Second line."
        );
        assert_eq!(
            derive_summary(&Body::Html("<p>A &amp; <b>B</b></p><p>C</p>".into())),
            "A & B"
        );
    }

    #[test]
    fn drafts_pass_the_gate() {
        let config = crate::config::Config::parse(
            std::path::Path::new("t.toml"),
            "[site]\ntitle = \"T\"\ndescription = \"D\"\nurl = \"https://x.example\"\nfeeds_url = \"http://127.0.0.1:8080\"\n\
             timezone = \"Africa/Casablanca\"\nauthor = \"A\"\ntag_start = \"2026-02-01\"\n[[category]]\nslug = \"world\"\ntitle = \"World\"\n",
        )
        .unwrap();
        let draft = |title: &str, tags: Vec<String>| Draft {
            key: Some("k".into()),
            title: title.into(),
            category: "world".into(),
            published: "2026-02-01 10:00".into(),
            updated: None,
            author: None,
            summary: None,
            body: Body::Markdown("Body with a \u{1} inside <script>x()</script>".into()),
            link: None,
            image: None,
            tags,
        };
        let item = draft("Fine\u{7}", vec!["t".into(); 101])
            .into_item(&config, Source::Api)
            .unwrap();
        assert_eq!(item.title, "Fine");
        assert_eq!(item.tags, vec!["t".to_owned()]);
        let html = item.content_html.unwrap();
        assert!(
            html.contains("Body with a  inside") && !html.contains("script"),
            "{html}"
        );
        let mut future = draft("Fine", vec![]);
        future.published = "9999-01-01 10:00".into();
        assert_eq!(
            future.into_item(&config, Source::Api).unwrap_err().field,
            "published"
        );
    }

    #[test]
    fn keys_and_urls_are_checked() {
        assert!(check_key("salt-typhoon_2.v1").is_ok());
        assert!(check_key("../etc").is_err());
        assert!(check_key("a b").is_err());
        assert_eq!(
            check_url("https://News.Example/a b?q=\"x\"").as_deref(),
            Ok("https://news.example/a%20b?q=%22x%22")
        );
        assert!(check_url("/relative").is_err());
        assert!(check_url("javascript:alert(1)").is_err());
    }
}
