//! The one gate every item passes before the store, whatever its source: article
//! files, ticker lists, the ingest API, `import`, `migrate` (and, next, external
//! feeds and scraped pages).
//!
//! Nothing the gate lets through can make a served document invalid or unsafe:
//!
//! - **Dates** are cut to whole seconds and must lie in the [`window`]: from 1970-01-01 (HTTP dates and Unix
//!   time start there; RFC 822 and RFC 3339 could go further back, `Last-Modified`
//!   cannot) to [`FUTURE_SLACK`] after the write, so an item cannot push a feed's
//!   validators into the future.
//! - **Text** loses the characters XML 1.0 forbids even escaped, and is capped.
//! - **URLs** are absolute http(s), normalized by the url crate.
//! - **HTML** goes through one ammonia allow-list ([`sanitize_html`]): no script,
//!   style, iframe, object or embed, no event handlers, no `javascript:` or `data:`
//!   URLs; relative URLs are resolved against the item's link.
//!
//! First-party content ([`Trust::FirstParty`]) that breaks a rule the author can fix
//! (a date, a URL, an empty title) is refused with the field named. Content we do
//! not author ([`Trust::Lenient`]: migrated history, later external feeds) is
//! repaired instead: dates are clamped, bad URLs dropped.

use crate::model::{Item, Person};
use chrono::{DateTime, Duration, Timelike, Utc};

mod html;

pub use html::sanitize_html;

/// A field that is wrong, named as the author wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

/// How the gate treats a rule an item breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Our own content: refuse, so the author hears of it (400, `file:line`).
    FirstParty,
    /// Content someone else wrote: repair what can be repaired, never refuse for a
    /// date or a URL.
    Lenient,
}

/// How far after the write an item's dates may lie: clock skew between a CMS and
/// us, not scheduled publishing (a feed shows what is published).
pub const FUTURE_SLACK: Duration = Duration::hours(1);

/// Longest title, author name, tag and plain-text summary, in characters, and
/// most tags; longer text is cut at a word boundary with an ellipsis.
pub const MAX_TITLE: usize = 1_000;
pub const MAX_SUMMARY: usize = 4_000;
pub const MAX_NAME: usize = 200;
pub const MAX_TAG: usize = 100;
pub const MAX_TAGS: usize = 100;
pub const MAX_AUTHORS: usize = 20;
/// Largest HTML body, in bytes, before sanitizing. A 1 MiB API body cannot exceed
/// it; a longer file or upstream body is cut and the cut repaired by ammonia.
pub const MAX_HTML: usize = 1 << 20;

/// The dates every format (RSS 2.0's RFC 822, Atom's RFC 3339, JSON Feed's RFC 3339)
/// and HTTP's `Last-Modified` can all carry, for a write made at `now`.
pub fn window(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (DateTime::UNIX_EPOCH, now + FUTURE_SLACK)
}

/// Checks and cleans one item. `now` is the time of the write. Relative URLs
/// in its HTML resolve against its link.
pub fn admit(item: Item, trust: Trust, now: DateTime<Utc>) -> Result<Item, FieldError> {
    admit_based(item, trust, now, None)
}

/// [`admit`], with relative URLs in the item's HTML resolved against `base`
/// (where the document it came in says its body is) rather than its link.
pub fn admit_based(
    mut item: Item,
    trust: Trust,
    now: DateTime<Utc>,
    base: Option<&str>,
) -> Result<Item, FieldError> {
    item.title = clean_text(&item.title, MAX_TITLE);
    if item.title.is_empty() {
        return Err(FieldError::new("title", "must not be empty"));
    }
    item.summary = item
        .summary
        .map(|s| clean_text(&s, MAX_SUMMARY))
        .filter(|s| !s.is_empty());
    item.category = item.category.map(|c| clean_text(&c, MAX_TAG));
    item.tags = clean_tags(item.tags);
    item.authors = item
        .authors
        .into_iter()
        .filter_map(|a| clean_person(a, trust).transpose())
        .take(MAX_AUTHORS)
        .collect::<Result<_, _>>()?;
    item.link = url_field("link", item.link, trust)?;
    item.image = url_field("image", item.image, trust)?;
    (item.published, item.updated) = dates(item.published, item.updated, trust, now)?;
    // An external item's credit is upstream text too: it is rendered as the
    // RSS and Atom `<source>`, a `rel="via"` link and JSON's `_source`.
    if let Some(origin) = item.origin.as_mut() {
        origin.feed_title = origin
            .feed_title
            .take()
            .map(|t| clean_text(&t, MAX_TITLE))
            .filter(|t| !t.is_empty());
        origin.feed_link = url_field("link", origin.feed_link.take(), Trust::Lenient)?;
        origin.feed_id = origin
            .feed_id
            .take()
            .map(|id| clean_text(&id, MAX_TITLE))
            .filter(|id| !id.is_empty());
        origin.feed_url = strip_forbidden(&origin.feed_url);
    }
    let base = base.or(item.link.as_deref());
    item.content_html = item
        .content_html
        .map(|html| sanitize_html(&html, base))
        .filter(|h| !h.trim().is_empty());
    // What its story is, from what readers will see of it.
    item.story = Some(Box::new(item.story_print()));
    Ok(item)
}

fn dates(
    published: DateTime<Utc>,
    updated: DateTime<Utc>,
    trust: Trust,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), FieldError> {
    let (earliest, latest) = window(now);
    let check = |field: &'static str, t: DateTime<Utc>| {
        if (earliest..=latest).contains(&t) {
            Ok(t)
        } else if trust == Trust::Lenient {
            Ok(t.clamp(earliest, now))
        } else {
            Err(FieldError::new(
                field,
                format!(
                    "{} is outside the dates feeds can carry: from {} to one hour after now ({})",
                    t.to_rfc3339(),
                    earliest.format("%Y-%m-%d"),
                    latest.format("%Y-%m-%dT%H:%M:%SZ"),
                ),
            ))
        }
    };
    // Whole seconds: RSS dates have no fraction, and a reader that drops a
    // fraction's offset with it (newsboat does) would date the item hours off.
    let whole = |t: DateTime<Utc>| t.with_nanosecond(0).unwrap_or(t);
    let published = whole(check("published", published)?);
    let updated = whole(check("updated", updated)?);
    if updated < published {
        return match trust {
            Trust::FirstParty => Err(FieldError::new("updated", "is earlier than published")),
            Trust::Lenient => Ok((published, published)),
        };
    }
    Ok((published, updated))
}

fn url_field(
    field: &'static str,
    url: Option<String>,
    trust: Trust,
) -> Result<Option<String>, FieldError> {
    let Some(url) = url
        .map(|u| strip_forbidden(u.trim()))
        .filter(|u| !u.is_empty())
    else {
        return Ok(None);
    };
    match (check_url(&url), trust) {
        (Ok(u), _) => Ok(Some(u)),
        (Err(e), Trust::FirstParty) => Err(FieldError::new(field, e.to_string())),
        (Err(_), Trust::Lenient) => Ok(None),
    }
}

fn clean_person(p: Person, trust: Trust) -> Result<Option<Person>, FieldError> {
    let name = clean_text(&p.name, MAX_NAME);
    if name.is_empty() {
        return Ok(None);
    }
    Ok(Some(Person {
        name,
        email: p
            .email
            .map(|e| clean_text(&e, MAX_NAME))
            .filter(|e| e.contains('@') && !e.contains(char::is_whitespace)),
        uri: url_field("author", p.uri, trust)?,
    }))
}

fn clean_tags(tags: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len().min(MAX_TAGS));
    for t in tags {
        let t = clean_text(&t, MAX_TAG);
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
        if out.len() == MAX_TAGS {
            break;
        }
    }
    out
}

/// XML 1.0's `Char` production: tab, newlines and the rest of Unicode except the
/// C0 controls, surrogates (which a Rust `char` cannot be) and U+FFFE/U+FFFF.
/// C1 controls (U+0080-U+009F) are allowed by XML 1.0 but are never text anyone
/// meant (they are mis-decoded windows-1252), and the W3C validator flags them.
pub fn xml_char(c: char) -> bool {
    match c {
        '\t' | '\n' | '\r' => true,
        c => !c.is_control() && c != '\u{FFFE}' && c != '\u{FFFF}',
    }
}

pub fn strip_forbidden(s: &str) -> String {
    without_forbidden(s).into_owned()
}

/// [`strip_forbidden`], copying only when there is something to remove
/// (nearly all text is clean).
pub fn without_forbidden(s: &str) -> std::borrow::Cow<'_, str> {
    if xml_clean(s) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(s.chars().filter(|&c| xml_char(c)).collect())
}

/// Whether every character of `s` is an [`xml_char`], read as UTF-8 bytes
/// rather than decoded characters (every body is checked twice, before and
/// after the sanitizer): what XML forbids is the C0 controls but tab, line
/// feed and carriage return, DEL, the C1 controls (`C2 80` to `C2 9F`), and
/// U+FFFE and U+FFFF (`EF BF BE`, `EF BF BF`).
pub fn xml_clean(s: &str) -> bool {
    let b = s.as_bytes();
    // Blocks are searched for a byte that may start a forbidden character
    // (a loop the compiler vectorizes); only a block with one is read byte
    // by byte, looking ahead past its end where a character runs on.
    let suspect = |c: u8| {
        (c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r')) || matches!(c, 0x7f | 0xc2 | 0xef)
    };
    let forbidden_at = |i: usize| match b[i] {
        b'\t' | b'\n' | b'\r' => false,
        0..=0x1f | 0x7f => true,
        0xc2 => matches!(b.get(i + 1), Some(0x80..=0x9f)),
        0xef => b.get(i + 1) == Some(&0xbf) && matches!(b.get(i + 2), Some(0xbe | 0xbf)),
        _ => false,
    };
    b.chunks(BLOCK).enumerate().all(|(k, block)| {
        !block.iter().fold(false, |any, &c| any | suspect(c))
            || !(k * BLOCK..k * BLOCK + block.len()).any(forbidden_at)
    })
}

const BLOCK: usize = 64;

/// Plain text for a title, name or summary: forbidden characters removed, runs of
/// whitespace made one space, cut to `max` characters at a word boundary.
pub fn clean_text(s: &str, max: usize) -> String {
    // The common case, already clean (single spaces, nothing forbidden, short
    // enough), is one scan and one copy.
    let mut prev_space = true;
    let mut count = 0;
    let clean = s.chars().all(|c| {
        count += 1;
        let ok = if c == ' ' {
            !prev_space
        } else {
            !c.is_whitespace() && xml_char(c)
        };
        prev_space = c == ' ';
        ok
    });
    if clean && !prev_space && count <= max {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len().min(max * 4));
    for word in s.split_whitespace() {
        let word: String = word.chars().filter(|&c| xml_char(c)).collect();
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word);
    }
    cut(&out, max)
}

/// `text` cut to at most `max` characters, at a space if there is one, with an
/// ellipsis when anything was cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    if let Some(space) = out.rfind(' ') {
        out.truncate(space);
    }
    out.push('…');
    out
}

/// An absolute http(s) URL in the form every feed format can carry: the url crate
/// lowercases the host, turns an IDN into punycode and percent-encodes what a URI
/// may not contain (spaces, quotes, non-ASCII). Callers store what it returns.
pub fn check_url(url: &str) -> Result<String, UrlError> {
    let bad = || UrlError {
        url: url.to_owned(),
        why: None,
    };
    let parsed = url::Url::parse(url).map_err(|e| UrlError {
        why: Some(e.to_string()),
        ..bad()
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(bad());
    }
    // RFC 3986 allows `http://[::1]/`, but the W3C validator and feed readers
    // built on its URI grammar reject the brackets: a feed is no place for one.
    if matches!(parsed.host(), Some(url::Host::Ipv6(_))) {
        return Err(UrlError {
            why: Some("an IPv6 address as the host".into()),
            ..bad()
        });
    }
    Ok(parsed.into())
}

/// A URL the formats cannot carry, and why when the url crate said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an absolute http(s) URL, got {url:?}{}", why.as_ref().map(|w| format!(": {w}")).unwrap_or_default())]
pub struct UrlError {
    pub url: String,
    pub why: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The byte scan says what the character test says, of any text.
    #[test]
    fn bytes_and_characters_agree_on_what_xml_forbids() {
        use proptest::prelude::*;
        let edge = prop_oneof![
            Just('\u{0}'),
            Just('\t'),
            Just('\u{1f}'),
            Just('\u{7f}'),
            Just('\u{80}'),
            Just('\u{9f}'),
            Just('\u{a0}'),
            Just('\u{c2}'),
            Just('\u{fffd}'),
            Just('\u{fffe}'),
            Just('\u{ffff}'),
            Just('\u{10000}'),
            Just('\u{bfbf}'),
            any::<char>(),
        ];
        // Padded, so that characters fall across the scan's blocks.
        proptest!(ProptestConfig::with_cases(1000), |(
            pad in 0usize..140,
            chars in proptest::collection::vec(edge, 0..12),
        )| {
            let s: String = "a".repeat(pad) + &chars.into_iter().collect::<String>();
            prop_assert_eq!(xml_clean(&s), s.chars().all(xml_char), "{:?}", s);
            prop_assert!(xml_clean(&without_forbidden(&s)));
        });
    }

    fn item() -> Item {
        let t = Utc.with_ymd_and_hms(2026, 2, 1, 12, 0, 0).unwrap();
        Item {
            id: "tag:x,2026:article/a".into(),
            key: "a".into(),
            category: Some("world".into()),
            title: "Title".into(),
            link: Some("https://news.example.com/articles/a".into()),
            ..Item::sample("a", t)
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap()
    }

    #[test]
    fn hostile_html_is_cleaned_and_relative_urls_resolved() {
        let mut it = item();
        it.content_html = Some(
            r#"<p onclick="x()">Hi <script>alert(1)</script><a href="javascript:alert(1)">j</a>
            <a href="/more">more</a><img src="img/a.png" onerror="x()"><iframe src="https://e.vil"></iframe>
            <object data="x"></object><embed src="x"><style>p{}</style><img src="data:image/png;base64,AA"></p>"#
                .into(),
        );
        let out = admit(it, Trust::FirstParty, now())
            .unwrap()
            .content_html
            .unwrap();
        for bad in [
            "script",
            "onclick",
            "onerror",
            "javascript:",
            "iframe",
            "object",
            "embed",
            "style",
            "data:",
        ] {
            assert!(!out.contains(bad), "{bad} left in {out}");
        }
        assert!(
            out.contains(r#"href="https://news.example.com/more""#),
            "{out}"
        );
        assert!(
            out.contains(r#"src="https://news.example.com/articles/img/a.png""#),
            "{out}"
        );
    }

    #[test]
    fn forbidden_characters_are_removed_and_text_capped() {
        let mut it = item();
        it.title = "bell\u{7} and \u{FFFF}form feed\u{c}".into();
        it.tags = vec!["a\u{1}".into(), "a".into(), "x".repeat(500)];
        let out = admit(it, Trust::FirstParty, now()).unwrap();
        assert_eq!(out.title, "bell and form feed");
        assert_eq!(out.tags.len(), 2);
        assert!(out.tags[1].chars().count() <= MAX_TAG);
        let mut long = item();
        long.title = "word ".repeat(1000);
        assert!(
            admit(long, Trust::FirstParty, now())
                .unwrap()
                .title
                .chars()
                .count()
                <= MAX_TITLE
        );
    }

    #[test]
    fn dates_outside_the_window_are_refused_first_party_and_clamped_otherwise() {
        for bad in [
            Utc.with_ymd_and_hms(1969, 12, 31, 23, 59, 59).unwrap(),
            now() + Duration::hours(2),
            Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0).unwrap(),
        ] {
            let mut it = item();
            it.published = bad;
            it.updated = bad;
            let e = admit(it.clone(), Trust::FirstParty, now()).unwrap_err();
            assert_eq!(e.field, "published");
            let fixed = admit(it, Trust::Lenient, now()).unwrap();
            assert!(fixed.published <= now() && fixed.published.timestamp() >= 0);
        }
        let mut edge = item();
        edge.published = now() + Duration::minutes(59);
        edge.updated = edge.published;
        assert!(admit(edge, Trust::FirstParty, now()).is_ok());
    }

    #[test]
    fn urls_must_be_absolute_http() {
        for bad in [
            "javascript:alert(1)",
            "/relative",
            "data:text/html,x",
            "ftp://x.example/a",
        ] {
            let mut it = item();
            it.image = Some(bad.into());
            assert_eq!(
                admit(it.clone(), Trust::FirstParty, now())
                    .unwrap_err()
                    .field,
                "image"
            );
            assert_eq!(admit(it, Trust::Lenient, now()).unwrap().image, None);
        }
        assert_eq!(
            check_url("https://News.Example/a b?q=\"x\"").as_deref(),
            Ok("https://news.example/a%20b?q=%22x%22")
        );
    }
}
