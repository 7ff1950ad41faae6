//! An article as an author or a CMS describes it ([`Draft`]), checked and turned into
//! an [`Item`]. Files and the ingest API both go through [`Draft::into_item`], so the
//! same article gets the same id and the same rendering whichever way it arrived.

use crate::config::Config;
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

/// A draft field that is wrong, named as the author wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

fn field(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

/// Refuses characters XML 1.0 cannot carry, not even escaped (controls other than
/// tab and newlines, U+FFFE, U+FFFF): one of them would break every feed the item
/// is in, whichever way it arrived.
pub fn check_text<'a>(
    field: &'static str,
    values: impl IntoIterator<Item = &'a String>,
) -> Result<(), FieldError> {
    let allowed = |c: char| match c {
        '\t' | '\n' | '\r' => true,
        c => !c.is_control() && c != '\u{FFFE}' && c != '\u{FFFF}',
    };
    match values
        .into_iter()
        .flat_map(|v| v.chars())
        .find(|&c| !allowed(c))
    {
        Some(c) => Err(FieldError {
            field,
            message: format!("contains U+{:04X}, a character XML cannot carry", c as u32),
        }),
        None => Ok(()),
    }
}

/// Most tags an item may carry, and their longest length: every read has a limit.
const MAX_TAGS: usize = 100;
const MAX_TAG_CHARS: usize = 100;

/// Longest derived summary, in characters.
const SUMMARY_CHARS: usize = 400;

impl Draft {
    pub fn into_item(self, config: &Config, source: Source) -> Result<Item, FieldError> {
        let tz = config.site.timezone;
        let (body_field, body_text) = match &self.body {
            Body::Markdown(md) => ("content_markdown", md),
            Body::Html(html) => ("content_html", html),
        };
        check_text("title", [&self.title])?;
        check_text("summary", &self.summary)?;
        check_text("author", &self.author)?;
        check_text(body_field, [body_text])?;
        check_text("link", &self.link)?;
        check_text("image", &self.image)?;
        check_text("tags", &self.tags)?;
        if self.tags.len() > MAX_TAGS || self.tags.iter().any(|t| t.chars().count() > MAX_TAG_CHARS)
        {
            return Err(field(
                "tags",
                format!("at most {MAX_TAGS} tags of at most {MAX_TAG_CHARS} characters"),
            ));
        }
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
        if updated < published {
            return Err(field("updated", "is earlier than published"));
        }
        let key = match self.key {
            Some(k) => {
                check_key(&k).map_err(|m| field("id", m))?;
                k
            }
            None => derive_key(&title, published, tz),
        };
        let [link, image] = [("link", &self.link), ("image", &self.image)].map(|(name, url)| {
            url.as_deref()
                .map(|u| check_url(u).map_err(|m| field(name, m)))
                .transpose()
        });
        let (link, image) = (link?, image?);
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
        let link = link.unwrap_or_else(|| format!("{}/articles/{key}", config.site_base()));
        Ok(Item {
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
            image,
        })
    }
}

/// Keys appear in URLs and `tag:` URIs; keep them to characters that need no escaping.
pub fn check_key(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.len() <= 200
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !key.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected 1-200 of A-Z a-z 0-9 - _ . (not starting with '.'), got {key:?}"
        ))
    }
}

/// An absolute http(s) URL in the form every feed format can carry: the url crate
/// lowercases the host, turns an IDN into punycode and percent-encodes what a URI
/// may not contain (spaces, quotes, non-ASCII). Callers store what it returns.
pub fn check_url(url: &str) -> Result<String, String> {
    let bad = || format!("expected an absolute http(s) URL, got {url:?}");
    let parsed = url::Url::parse(url).map_err(|e| format!("{}: {e}", bad()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(bad());
    }
    Ok(parsed.into())
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
        format!("{day}-{}", &crate::cache::hash_hex(title.as_bytes())[..12])
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
        Body::Html(html) => html_text(html),
    };
    cut(&text, SUMMARY_CHARS)
}

/// Text of an HTML fragment up to its first paragraph end, for a summary only: the
/// result is escaped again wherever it is written, so this needs no sanitizing.
fn html_text(html: &str) -> String {
    let first = html.find("</p>").map(|i| &html[..i]).unwrap_or(html);
    let mut text = String::new();
    let mut in_tag = false;
    for c in first.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    quick_xml::escape::unescape(&text)
        .map(|t| t.into_owned())
        .unwrap_or(text)
}

fn cut(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let mut out: String = text.chars().take(max).collect();
    if let Some(space) = out.rfind(' ') {
        out.truncate(space);
    }
    out.push('…');
    out
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
    fn text_xml_cannot_carry_is_refused_whatever_the_source() {
        assert!(check_text("title", [&"tab\tand newline\n".to_owned()]).is_ok());
        let e = check_text("title", [&"bell\u{7}".to_owned()]).unwrap_err();
        assert_eq!(
            (e.field, e.message.as_str()),
            ("title", "contains U+0007, a character XML cannot carry")
        );
        assert!(check_text("tags", &["ok".to_owned(), "\u{FFFF}".to_owned()]).is_err());
    }

    #[test]
    fn drafts_check_text_and_tag_limits() {
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
            body: Body::Markdown("Body with a \u{1} inside".into()),
            link: None,
            image: None,
            tags,
        };
        let e = draft("Fine", vec![])
            .into_item(&config, Source::Api)
            .unwrap_err();
        assert_eq!(e.field, "content_markdown");
        let mut ok = draft("Fine", vec!["t".into(); 100]);
        ok.body = Body::Markdown("clean".into());
        assert!(ok.into_item(&config, Source::Api).is_ok());
        let mut too_many = draft("Fine", vec!["t".into(); 101]);
        too_many.body = Body::Markdown("clean".into());
        assert_eq!(
            too_many.into_item(&config, Source::Api).unwrap_err().field,
            "tags"
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
