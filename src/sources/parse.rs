//! Any feed format to the items newswire stores: RSS 0.9x, 1.0 (RDF) and 2.0,
//! Atom 0.3 and 1.0, JSON Feed 1.0 and 1.1, through feed-rs (one model for all,
//! as Miniflux and feedparser have), with what feed-rs leaves to its caller:
//!
//! - **Encodings.** The bytes are decoded here, to UTF-8, before feed-rs sees
//!   them: the BOM first, then the XML declaration, then the HTTP charset, then
//!   UTF-8, with windows-1252 for bytes that are not UTF-8 after all (the usual
//!   mislabel). The declaration is dropped with the decoding done.
//! - **Dates** through [`super::dates`], feed-rs's hook for its own parser.
//! - **Entities.** quick-xml (under feed-rs) reads no DTD and expands only the
//!   five predefined entities and character references; a billion-laughs
//!   document parses as text, with nothing expanded.
//! - **Items.** Each entry becomes an [`Item`] with its [`Origin`]: plain-text
//!   title, absolute links (xml:base, the feed's link, the response URL), the
//!   body as HTML for the gate. An entry is hashed as parsed ([`Entry::digest`])
//!   so a poll can skip entries it has stored already: sanitizing is most of the
//!   cost of an entry.

use crate::model::{Item, ItemKind, Origin, Person, Source};
use chrono::{DateTime, Utc};
use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
use feed_rs::model::{Entry as RawEntry, Feed, Text};
use std::borrow::Cow;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: {0}")]
    NotAFeed(String),
}

/// A parsed upstream document: what it says of itself, and its entries.
#[derive(Debug)]
pub struct Parsed {
    pub title: Option<String>,
    /// Its home page.
    pub link: Option<String>,
    pub id: Option<String>,
    pub entries: Vec<Entry>,
}

/// One entry as upstream sent it, not yet through the gate.
#[derive(Debug)]
pub struct Entry {
    pub raw: RawEntry,
    /// A hash of the entry as parsed: the same digest on a later poll means the
    /// entry has not changed.
    pub digest: String,
}

/// Parses an upstream body. `url` is where it came from (after redirects), the
/// base of relative URLs that nothing else in the document resolves.
pub fn parse(body: &[u8], content_type: Option<&str>, url: &Url) -> Result<Parsed, ParseError> {
    let text = decode(body, charset(content_type));
    let text = match atom03::translate(&text) {
        Some(translated) => Cow::Owned(translated),
        None => text,
    };
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(url.as_str()))
        .sanitize_content(false)
        .timestamp_parser(super::dates::parse)
        // No made-up ids: an entry without one is identified by its link
        // (then its title) in `upstream_id`, which survives a reworded summary.
        .id_generator(|_, _, _| String::new())
        .build();
    let feed: Feed = parser
        .parse(text.as_bytes())
        .map_err(|e| ParseError::NotAFeed(e.to_string()))?;
    let link = alternate(&feed.links).map(str::to_owned);
    Ok(Parsed {
        title: feed.title.as_ref().map(plain).filter(|t| !t.is_empty()),
        id: Some(feed.id.trim().to_owned()).filter(|id| valid_id(id)),
        link,
        entries: feed
            .entries
            .into_iter()
            .map(|raw| Entry {
                digest: digest(&raw),
                raw,
            })
            .collect(),
    })
}

/// An upstream feed id fit to be an Atom `<source><id>`, which must be an IRI
/// validators accept: an http(s) URL, a `tag:` URI, or a URN with a valid
/// namespace (`urn:uuid:…`). Others are dropped, and the feed's URL stands in.
fn valid_id(id: &str) -> bool {
    if id.starts_with("tag:") && !id.contains(char::is_whitespace) {
        return true;
    }
    if let Some(rest) = id.strip_prefix("urn:") {
        let Some((nid, nss)) = rest.split_once(':') else {
            return false;
        };
        return (2..=32).contains(&nid.len())
            && nid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !nid.starts_with('-')
            && !nss.is_empty()
            && !nss.contains(char::is_whitespace);
    }
    crate::gate::check_url(id).is_ok()
}

fn digest(raw: &RawEntry) -> String {
    let bytes = serde_json::to_vec(raw).unwrap_or_default();
    crate::hash::hash_hex(&bytes)
}

/// Atom 0.3, which feed-rs does not read (its elements are in another
/// namespace), as the Atom 1.0 it became: the namespace, and the elements that
/// were renamed (`issued` → `published`, `modified` → `updated`, `tagline` →
/// `subtitle`, `copyright` → `rights`, a person's `url` → `uri`). Done on
/// quick-xml's events, so it is as safe as the parse that follows.
mod atom03 {
    use quick_xml::events::{BytesEnd, BytesStart, Event};

    const NS: &str = "http://purl.org/atom/ns#";
    const ATOM: &str = "http://www.w3.org/2005/Atom";

    fn renamed(local: &[u8]) -> Option<&'static str> {
        Some(match local {
            b"issued" => "published",
            b"modified" => "updated",
            b"tagline" => "subtitle",
            b"copyright" => "rights",
            b"url" => "uri",
            _ => return None,
        })
    }

    fn start(e: &BytesStart<'_>) -> BytesStart<'static> {
        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        let name = match renamed(e.local_name().as_ref()) {
            Some(new) => match name.split_once(':') {
                Some((prefix, _)) => format!("{prefix}:{new}"),
                None => new.to_owned(),
            },
            None => name,
        };
        let mut out = BytesStart::new(name);
        for attr in e.attributes().flatten() {
            let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
            let raw = String::from_utf8_lossy(&attr.value).into_owned();
            let is_ns = key == "xmlns" || key.starts_with("xmlns:");
            if is_ns && raw == NS {
                out.push_attribute((key.as_str(), ATOM));
            } else if key != "mode" && key != "version" {
                // Attribute values stay escaped as they were read.
                out.push_attribute(quick_xml::events::attributes::Attribute {
                    key: quick_xml::name::QName(key.as_bytes()),
                    value: raw.as_bytes().into(),
                });
            }
        }
        out
    }

    pub fn translate(text: &str) -> Option<String> {
        if !text.contains(NS) {
            return None;
        }
        let mut reader = quick_xml::Reader::from_str(text);
        let mut writer = quick_xml::Writer::new(Vec::with_capacity(text.len()));
        loop {
            let event = match reader.read_event().ok()? {
                Event::Eof => break,
                Event::Start(e) => Event::Start(start(&e)),
                Event::Empty(e) => Event::Empty(start(&e)),
                Event::End(e) => {
                    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                    let name = match renamed(e.local_name().as_ref()) {
                        Some(new) => match name.split_once(':') {
                            Some((prefix, _)) => format!("{prefix}:{new}"),
                            None => new.to_owned(),
                        },
                        None => name,
                    };
                    Event::End(BytesEnd::new(name))
                }
                // A DTD is dropped: nothing after this reads one anyway.
                Event::DocType(_) | Event::Decl(_) => continue,
                other => other,
            };
            writer.write_event(event).ok()?;
        }
        String::from_utf8(writer.into_inner()).ok()
    }
}

/// The charset parameter of a Content-Type.
fn charset(content_type: Option<&str>) -> Option<&'static Encoding> {
    let ct = content_type?;
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| Encoding::for_label(v.trim().trim_matches('"').as_bytes()))?
    })
}

/// The document as UTF-8 text, by the rules in the module doc.
pub fn decode<'a>(body: &'a [u8], http: Option<&'static Encoding>) -> Cow<'a, str> {
    let (encoding, skip) = if let Some((enc, bom)) = Encoding::for_bom(body) {
        (enc, bom)
    } else if body.starts_with(&[0x3C, 0x00, 0x3F, 0x00]) {
        (UTF_16LE, 0)
    } else if body.starts_with(&[0x00, 0x3C, 0x00, 0x3F]) {
        (UTF_16BE, 0)
    } else {
        let declared = declared_encoding(body).or(http).unwrap_or(UTF_8);
        // A declaration of UTF-16 on bytes without a BOM or the UTF-16 shape of
        // `<?` is wrong: they are ASCII-compatible.
        let declared = if declared == UTF_16LE || declared == UTF_16BE {
            UTF_8
        } else {
            declared
        };
        if declared == UTF_8 && std::str::from_utf8(body).is_err() {
            (WINDOWS_1252, 0)
        } else {
            (declared, 0)
        }
    };
    let (text, _) = encoding.decode_without_bom_handling(&body[skip..]);
    strip_declaration(text)
}

/// The `encoding` of an XML declaration at the start of an ASCII-compatible
/// document.
fn declared_encoding(body: &[u8]) -> Option<&'static Encoding> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &body[start..];
    if !rest.starts_with(b"<?xml") {
        return None;
    }
    let end = rest.iter().take(200).position(|&b| b == b'>')?;
    let decl = std::str::from_utf8(&rest[..end]).ok()?;
    let at = decl.find("encoding")?;
    let value = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let label = value[1..].split(quote).next()?;
    Encoding::for_label(label.trim().as_bytes())
}

/// The text without its XML declaration, which names an encoding the text is
/// no longer in.
fn strip_declaration(text: Cow<'_, str>) -> Cow<'_, str> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with("<?xml") {
        return text;
    }
    match trimmed.find("?>") {
        Some(end) => {
            let offset = text.len() - trimmed.len() + end + 2;
            Cow::Owned(text[offset..].to_owned())
        }
        None => text,
    }
}

/// A Text construct as plain text. HTML (and XHTML) loses its markup; so does
/// "plain" text with markup in it, because RSS titles are plain text by the
/// spec and escaped HTML in practice (`&lt;b&gt;`, `&amp;nbsp;`), which a reader
/// would otherwise show as tags.
fn plain(t: &Text) -> String {
    if t.content_type.subty() == "plain" && !t.content.contains(['<', '&']) {
        return t.content.clone();
    }
    crate::gate::html_text(&t.content, false)
}

/// The page a list of links points readers to: `alternate` (or no rel) with an
/// HTML or no type, else the first link.
fn alternate(links: &[feed_rs::model::Link]) -> Option<&str> {
    let html = |l: &&feed_rs::model::Link| {
        matches!(l.rel.as_deref(), None | Some("alternate"))
            && l.media_type.as_deref().is_none_or(|t| t.contains("html"))
    };
    links
        .iter()
        .find(html)
        .or_else(|| {
            links
                .iter()
                .find(|l| !matches!(l.rel.as_deref(), Some("self" | "hub" | "enclosure")))
        })
        .map(|l| l.href.as_str())
}

/// What the poller knows of the source an entry comes from.
pub struct SourceInfo<'a> {
    pub name: &'a str,
    /// The configured title, which replaces the feed's own.
    pub title: Option<&'a str>,
    /// Where the feed is fetched from now.
    pub feed_url: &'a str,
    pub categories: &'a [String],
    pub tag_prefix: &'a str,
}

/// An entry as an [`Item`], before the gate. `upstream_id` is the id it is
/// stored under (see [`upstream_id`], and the poller's link rule for feeds
/// that change guids); `now` dates an entry that has no date.
pub fn to_item(
    entry: &Entry,
    feed: &Parsed,
    source: &SourceInfo<'_>,
    upstream_id: String,
    now: DateTime<Utc>,
) -> Item {
    let raw = &entry.raw;
    let link = alternate(&raw.links).map(str::to_owned);
    let summary_html = raw
        .summary
        .as_ref()
        .filter(|s| s.content_type.subty() != "plain");
    let content = raw.content.as_ref().and_then(|c| {
        let body = c.body.as_ref()?;
        Some(if c.content_type.subty() == "plain" {
            text_to_html(body)
        } else {
            body.clone()
        })
    });
    // The body: the content, else an HTML summary (RSS description often is the
    // whole article).
    let content_html = content.or_else(|| summary_html.map(|s| s.content.clone()));
    let summary = raw
        .summary
        .as_ref()
        .map(plain)
        .filter(|s| !s.trim().is_empty());
    let title = raw
        .title
        .as_ref()
        .map(plain)
        .filter(|t| !t.trim().is_empty())
        .or_else(|| summary.as_ref().map(|s| crate::gate::cut(s, 100)))
        .or_else(|| link.clone())
        .unwrap_or_else(|| "Untitled".into());
    let dated = raw.published.or(raw.updated);
    let published = dated.unwrap_or(now);
    let updated = raw.updated.unwrap_or(published).max(published);
    let origin = Origin {
        source: source.name.to_owned(),
        upstream_id,
        feed_title: source
            .title
            .map(str::to_owned)
            .or_else(|| feed.title.clone()),
        feed_url: source.feed_url.to_owned(),
        feed_id: feed.id.clone(),
        dated: dated.is_some(),
        feed_link: feed.link.clone(),
        categories: source.categories.to_vec(),
        digest: entry.digest.clone(),
        also: Vec::new(),
    };
    let image = raw
        .media
        .iter()
        .flat_map(|m| {
            m.thumbnails.iter().map(|t| t.image.uri.clone()).chain(
                m.content
                    .iter()
                    .filter(|c| c.content_type.as_ref().is_some_and(|t| t.ty() == "image"))
                    .filter_map(|c| c.url.as_ref().map(|u| u.to_string())),
            )
        })
        .next();
    Item {
        id: origin.public_id(source.tag_prefix),
        key: origin.key(),
        kind: ItemKind::Article,
        source: Source::Feed(source.name.to_owned()),
        category: None,
        title,
        link,
        summary,
        content_html,
        published,
        updated,
        authors: raw
            .authors
            .iter()
            .filter_map(|p| {
                Some(Person {
                    name: p.name.clone().or_else(|| p.email.clone())?,
                    email: p.email.clone(),
                    uri: p.uri.clone(),
                })
            })
            .collect(),
        tags: raw
            .categories
            .iter()
            .map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()))
            .collect(),
        image,
        origin: Some(origin),
    }
}

/// The id upstream gives an entry: its id (guid, Atom id, JSON Feed id), else
/// its link, else its title: what stays put when a summary is reworded.
pub fn upstream_id(entry: &Entry) -> String {
    let raw = &entry.raw;
    if !raw.id.trim().is_empty() {
        return raw.id.trim().to_owned();
    }
    if let Some(link) = alternate(&raw.links) {
        return link.to_owned();
    }
    let title = raw.title.as_ref().map(plain).unwrap_or_default();
    format!("title:{}", title.trim())
}

/// The link an entry is known by, for feeds whose guids change.
pub fn entry_link(entry: &Entry) -> Option<&str> {
    alternate(&entry.raw.links)
}

fn text_to_html(text: &str) -> String {
    let escaped = quick_xml::escape::escape(text);
    format!("<p>{}</p>", escaped.replace("\n\n", "</p><p>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_follows_bom_then_declaration_then_http() {
        let latin = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xe9</a>";
        assert_eq!(decode(latin, None), "<a>caf\u{e9}</a>");
        // The declaration wins over the HTTP charset.
        assert_eq!(decode(latin, Some(UTF_8)), "<a>caf\u{e9}</a>");
        // Without a declaration, the HTTP charset.
        assert_eq!(
            decode(b"<a>\x93q\x94</a>", Some(WINDOWS_1252)),
            "<a>\u{201c}q\u{201d}</a>"
        );
        // Bytes that are not UTF-8, declared as nothing: windows-1252.
        assert_eq!(decode(b"<a>\x80</a>", None), "<a>\u{20ac}</a>");
        // UTF-16 with a BOM, and without.
        let mut le = vec![0xFF, 0xFE];
        le.extend(
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>\u{e9}</a>"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        );
        assert_eq!(decode(&le, Some(UTF_8)), "<a>\u{e9}</a>");
        let be: Vec<u8> = "<?xml version=\"1.0\"?><a>\u{e9}</a>"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(decode(&be, None), "<a>\u{e9}</a>");
        assert_eq!(decode("<a>é</a>".as_bytes(), None), "<a>é</a>");
    }

    #[test]
    fn atom_0_3_reads_as_atom_1_0() {
        let body = br#"<?xml version="1.0"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old &amp; gold</title>
<link rel="alternate" type="text/html" href="https://o.example/"/>
<entry><title>E</title><id>tag:o,2026:1</id><link rel="alternate" type="text/html" href="https://o.example/e"/>
<issued>2026-11-25T09:00:00Z</issued><modified>2026-11-25T10:00:00Z</modified>
<author><name>N</name><url>https://o.example/n</url></author>
<content type="text/html" mode="escaped">&lt;p&gt;x&lt;/p&gt;</content></entry></feed>"#;
        let p = parse(body, None, &Url::parse("https://o.example/feed").unwrap()).unwrap();
        assert_eq!(p.title.as_deref(), Some("Old & gold"));
        let e = &p.entries[0].raw;
        assert_eq!(
            e.published.unwrap().to_rfc3339(),
            "2026-11-25T09:00:00+00:00"
        );
        assert_eq!(e.updated.unwrap().to_rfc3339(), "2026-11-25T10:00:00+00:00");
        assert_eq!(
            e.content.as_ref().unwrap().body.as_deref(),
            Some("<p>x</p>")
        );
        assert_eq!(e.authors[0].uri.as_deref(), Some("https://o.example/n"));
    }

    #[test]
    fn feed_ids_validators_accept() {
        for ok in [
            "urn:uuid:60a76c80-d399-11d9-b91c-0003939e0af6",
            "tag:a.example,2026:x",
            "https://a.example/feed",
        ] {
            assert!(valid_id(ok), "{ok}");
        }
        for bad in ["urn:x:16", "urn:uuid:", "feed 1", "1234", "urn:-a:b"] {
            assert!(!valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn charset_parameter() {
        assert_eq!(
            charset(Some("text/xml; charset=\"windows-1252\"")),
            Some(WINDOWS_1252)
        );
        assert_eq!(charset(Some("application/rss+xml")), None);
        assert_eq!(charset(Some("text/xml; charset=nonsense")), None);
    }
}
