//! Any feed format to the items newswire stores: RSS 0.9x, 1.0 (RDF) and 2.0,
//! Atom 0.3 and 1.0, JSON Feed 1.0 and 1.1, each read by its reader
//! ([`formats`]) into one model ([`Entry`]), as Miniflux and feedparser do:
//!
//! - **Encodings** are decoded to UTF-8 before any parser sees the bytes
//!   ([`decode`]).
//! - **Dates** go through [`crate::sources::dates`], which reads what feed-rs
//!   alone drops.
//! - **Entities.** quick-xml (under every reader) reads no DTD and expands only
//!   the five predefined entities and character references: a billion-laughs
//!   document parses as text, with nothing expanded, and no external entity is
//!   ever fetched.
//! - **Items.** Each entry becomes an [`Item`] with its [`Origin`]: plain-text
//!   title, absolute links (xml:base, the response URL), the body as HTML for
//!   the gate. An entry is hashed as read ([`Entry::digest`]) so that a poll can
//!   skip entries it has stored already: sanitizing is most of an entry's cost.

mod base;
pub mod decode;
mod formats;

use crate::model::{Item, ItemKind, Origin, Person, Source};
use chrono::{DateTime, Utc};
use std::borrow::Cow;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: {0}")]
    NotAFeed(String),
    #[error(transparent)]
    Refused(#[from] crate::depth::Refused),
}

/// Text as a document gives it: HTML (or XHTML), or plain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub value: String,
    pub html: bool,
}

/// What a format's reader makes of a document.
struct Doc {
    title: Option<Text>,
    link: Option<String>,
    id: Option<String>,
    entries: Vec<Entry>,
    advertised: Advertised,
}

/// What a document says of where to subscribe to it (WebSub): its hubs and
/// its own URL (`rel="hub"`, `rel="self"`; JSON Feed `hubs`, `feed_url`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advertised {
    pub hubs: Vec<String>,
    pub topic: Option<String>,
}

/// A parsed upstream document: what it says of itself, and its entries.
#[derive(Debug)]
pub struct Parsed {
    pub title: Option<String>,
    /// Its home page.
    pub link: Option<String>,
    pub id: Option<String>,
    pub entries: Vec<Entry>,
    pub advertised: Advertised,
}

/// One entry as upstream sent it, in any format, not yet through the gate.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The upstream's id (guid, Atom id, JSON Feed id), if it gave one.
    pub id: Option<String>,
    pub title: Option<Text>,
    /// Absolute.
    pub link: Option<String>,
    pub summary: Option<Text>,
    pub content: Option<Text>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub authors: Vec<Person>,
    pub tags: Vec<String>,
    pub image: Option<String>,
    /// Where the relative URLs of its HTML (content, else summary) resolve:
    /// the `xml:base` in scope for that element, else the document's URL
    /// ([`base`]). `None` when the reader knows no base for it.
    pub base: Option<String>,
    /// A hash of all of the above: the same digest on a later poll means the
    /// entry has not changed.
    pub digest: String,
}

/// Parses an upstream body. `url` is where it came from (after redirects), the
/// base of relative URLs that nothing in the document resolves.
pub fn parse(body: &[u8], content_type: Option<&str>, url: &Url) -> Result<Parsed, ParseError> {
    parse_at_most(body, content_type, url, usize::MAX)
}

/// [`parse`], keeping the first `max` entries: those past it are not kept
/// (RSS, the usual flood, does not even read them).
pub fn parse_at_most(
    body: &[u8],
    content_type: Option<&str>,
    url: &Url,
    max: usize,
) -> Result<Parsed, ParseError> {
    let text = decode::decode(body, decode::charset(content_type));
    // Bounded before any reader sees it: some recurse once per level.
    match root(&text) {
        Root::Json => crate::depth::json(&text, crate::depth::MAX_JSON)?,
        _ => crate::depth::xml(&text, crate::depth::MAX_XML)?,
    }
    // Only a document of no root this reader knows can be Atom 0.3: the others
    // are not searched for its namespace.
    let text = match root(&text) {
        Root::Other => match decode::atom03::translate(&text) {
            Some(translated) => Cow::Owned(translated),
            None => text,
        },
        _ => text,
    };
    let doc = read(&text, url, max)?;
    let mut entries = doc.entries;
    entries.truncate(max);
    for e in &mut entries {
        e.digest = digest(e);
    }
    Ok(Parsed {
        title: doc.title.as_ref().map(plain).filter(|t| !t.is_empty()),
        id: doc
            .id
            .map(|id| id.trim().to_owned())
            .filter(|id| valid_id(id)),
        link: doc.link,
        entries,
        advertised: doc.advertised,
    })
}

/// [`read_with`], where a reader that panics fails the document instead of
/// the worker: quick-xml under feed-rs panicked on an XML declaration inside
/// a document (`set_encoding() called after prefix buffer was drained`,
/// found by fuzzing; such a document is now refused before, by
/// [`crate::depth`]), and a crate's next such bug must not take a poll, or
/// the process, with it.
fn read(text: &str, url: &Url, max: usize) -> Result<Doc, ParseError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_with(text, url, max)))
        .unwrap_or_else(|_| {
            Err(ParseError::NotAFeed(
                "the feed reader failed on this document (not well-formed)".into(),
            ))
        })
}

/// Picks the reader by the document's root; feed-rs takes what the others
/// refuse.
fn read_with(text: &str, url: &Url, max: usize) -> Result<Doc, ParseError> {
    let scopes = base::scopes(text, url);
    let scopes = scopes.as_ref();
    let fast = match root(text) {
        Root::Json => formats::json(text, url),
        Root::Rss => formats::rss(text, url, max, scopes),
        Root::AtomFeed => formats::atom(text, url, scopes),
        Root::Other => None,
    };
    match fast {
        Some(doc) => Ok(doc),
        None => formats::feed_rs(text, url, scopes),
    }
}

enum Root {
    Json,
    Rss,
    AtomFeed,
    Other,
}

/// The kind of document by its first element (or a JSON object).
fn root(text: &str) -> Root {
    let mut rest = text.trim_start();
    if rest.starts_with('{') {
        return Root::Json;
    }
    // Past comments, processing instructions and a DOCTYPE.
    while let Some(after) = rest.strip_prefix('<') {
        if after.starts_with(['?', '!']) {
            let Some(end) = after.find('>') else {
                return Root::Other;
            };
            rest = after[end + 1..].trim_start();
            continue;
        }
        let name: String = after
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
            .collect();
        return match name.as_str() {
            // The rss crate reads RSS 1.0 too, items outside the channel and
            // all (by the usual `rdf` prefix; another prefix goes to feed-rs).
            "rss" | "rdf:RDF" => Root::Rss,
            "feed" if text.contains("http://www.w3.org/2005/Atom") => Root::AtomFeed,
            _ => Root::Other,
        };
    }
    Root::Other
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

/// What an entry says, hashed field by field (nothing serialized on the way:
/// this runs for every entry of every changed document).
pub(crate) fn digest(e: &Entry) -> String {
    fn text(t: &Option<Text>) -> &[u8] {
        t.as_ref().map_or("", |t| t.value.as_str()).as_bytes()
    }
    let date = |d: Option<DateTime<Utc>>| d.map_or(0, |d| d.timestamp()).to_le_bytes();
    let (published, updated) = (date(e.published), date(e.updated));
    let none = "";
    let mut fields: Vec<&[u8]> = vec![
        e.id.as_deref().unwrap_or(none).as_bytes(),
        text(&e.title),
        e.link.as_deref().unwrap_or(none).as_bytes(),
        text(&e.summary),
        text(&e.content),
        &published,
        &updated,
        e.image.as_deref().unwrap_or(none).as_bytes(),
    ];
    fields.extend(e.authors.iter().flat_map(|p| {
        [Some(&p.name), p.email.as_ref(), p.uri.as_ref()]
            .into_iter()
            .map(|f| f.map_or(none, |s| s.as_str()).as_bytes())
    }));
    fields.extend(e.tags.iter().map(|t| t.as_bytes()));
    // The base resolves the body's URLs: another base is another entry.
    fields.extend(e.base.as_deref().map(str::as_bytes));
    crate::hash::fingerprint_fields(fields)
}

/// A Text construct as plain text. HTML (and XHTML) loses its markup; so does
/// "plain" text with markup in it, because RSS titles are plain text by the
/// spec and escaped HTML in practice (`&lt;b&gt;`, `&amp;nbsp;`), which a reader
/// would otherwise show as tags.
fn plain(t: &Text) -> String {
    // Without markup or references, HTML is its own text: no parse.
    if !t.value.contains(['<', '&']) {
        return t.value.clone();
    }
    crate::text::html_text(
        crate::text::truncate_bytes(&t.value, MAX_TEXT_MARKUP),
        false,
    )
}

/// The most of a title's or summary's markup that is read for its text: the
/// gate keeps 1,000 and 4,000 characters of them, and parsing a 2 MB title to
/// keep 1,000 characters took minutes.
const MAX_TEXT_MARKUP: usize = 64 << 10;

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
/// that change guids); `now` dates an entry that has no date. The entry is
/// taken, not copied: its body is most of its bytes.
pub fn to_item(
    entry: Entry,
    feed: &Parsed,
    source: &SourceInfo<'_>,
    upstream_id: String,
    now: DateTime<Utc>,
) -> Item {
    let summary_text = entry
        .summary
        .as_ref()
        .map(plain)
        .filter(|s| !s.trim().is_empty());
    // The body: the content, else an HTML summary (an RSS description often is
    // the whole article).
    let content_html = match (entry.content, entry.summary) {
        (Some(c), _) if c.html => Some(c.value),
        (Some(c), _) => Some(text_to_html(&c.value)),
        (None, Some(s)) if s.html => Some(s.value),
        _ => None,
    };
    let summary = summary_text;
    let title = entry
        .title
        .as_ref()
        .map(plain)
        .filter(|t| !t.trim().is_empty())
        .or_else(|| summary.as_ref().map(|s| crate::gate::cut(s, 100)))
        .or_else(|| entry.link.clone())
        .unwrap_or_else(|| "Untitled".into());
    // A date no feed can carry (before 1970, after the gate's slack: `1800`,
    // `9999`) is no date: the item is dated when first seen, as an undated
    // one is, rather than clamped to a date readers would take as real.
    let (earliest, latest) = crate::gate::window(now);
    let real = |d: &DateTime<Utc>| *d > earliest && *d <= latest;
    let dated = entry.published.filter(real).or(entry.updated.filter(real));
    let published = dated.unwrap_or(now);
    let updated = entry
        .updated
        .filter(real)
        .unwrap_or(published)
        .max(published);
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
        digest: entry.digest,
        first_seen: Some(now),
        page: false,
        also: Vec::new(),
    };
    let key = origin.key();
    Item {
        id: Origin::id_of_key(source.tag_prefix, &key),
        key,
        kind: ItemKind::Article,
        source: Source::Feed(source.name.to_owned()),
        category: None,
        title,
        link: entry.link,
        summary,
        content_html,
        published,
        updated,
        authors: entry.authors,
        tags: entry.tags,
        image: entry.image,
        origin: Some(origin),
        story: None,
    }
}

/// The id upstream gives an entry: its id (guid, Atom id, JSON Feed id), else
/// its link, else its title: what stays put when a summary is reworded.
pub fn upstream_id(entry: &Entry) -> String {
    if let Some(id) = entry.id.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
        return id.to_owned();
    }
    if let Some(link) = &entry.link {
        return link.clone();
    }
    let title = entry.title.as_ref().map(plain).unwrap_or_default();
    format!("title:{}", title.trim())
}

/// The link an entry is known by, for feeds whose guids change.
pub fn entry_link(entry: &Entry) -> Option<&str> {
    entry.link.as_deref()
}

fn text_to_html(text: &str) -> String {
    let escaped = quick_xml::escape::escape(text);
    format!("<p>{}</p>", escaped.replace("\n\n", "</p><p>"))
}

/// The benchmarks' corpus, which the reader tests compare readers on.
#[cfg(test)]
#[path = "../../../benches/corpus.rs"]
#[allow(dead_code)]
mod corpus;

#[cfg(test)]
mod tests {
    use super::*;

    use super::corpus;

    /// RSS and RDF as the rss crate read them, field by field, digest
    /// included: a store holds those ids and digests.
    fn same_as_the_crate(doc: &str, base: &Url) {
        let fast = formats::rss(doc, base, usize::MAX, None);
        let old = formats::rss_crate(doc, base);
        let (fast, old) = match (fast, old) {
            (Some(f), Some(o)) => (f, o),
            (None, None) => return,
            (f, o) => panic!(
                "one reader refused what the other read: ours {}, the crate's {}\n{doc}",
                f.is_some(),
                o.is_some()
            ),
        };
        assert_eq!(
            (&fast.title, &fast.link, &fast.id),
            (&old.title, &old.link, &old.id),
            "{doc}"
        );
        assert_eq!(fast.entries.len(), old.entries.len(), "{doc}");
        for (mut f, mut o) in fast.entries.into_iter().zip(old.entries) {
            f.digest = digest(&f);
            o.digest = digest(&o);
            assert_eq!(format!("{f:?}"), format!("{o:?}"), "{doc}");
        }
    }

    #[test]
    fn reads_rss_as_the_rss_crate_did() {
        let base = Url::parse("https://a.example/news/feed").unwrap();
        let mut docs: Vec<String> = (0..60)
            .map(corpus::feed)
            .filter(|(name, _, _)| name.ends_with(".rss") || name.ends_with(".rdf"))
            .map(|(_, _, body)| body)
            .collect();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        for file in [
            "upstream/rss2.xml",
            "upstream/rss091.xml",
            "upstream/rss092.xml",
            "upstream/rdf.xml",
            "upstream/cp1252.xml",
            "upstream/utf16.xml",
            "upstream/hostile.xml",
            "upstream/undated.xml",
            "upstream/partner.xml",
            "upstream/billion-laughs.xml",
            "site/summaries.xml",
        ] {
            let bytes = std::fs::read(dir.join(file)).unwrap();
            docs.push(decode::decode(&bytes, None).into_owned());
        }
        // What the wild web does to RSS: markup and entities where text
        // belongs, fields twice or empty, namespaces declared late, items
        // inside and outside the channel.
        docs.push(r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>A</title><title></title><link> https://a.example/ </link>
<item><title>One &amp; &nbsp;two &#233;&#x263A; <b>bold</b> tail</title><title>Second title</title><link>/one</link><link></link><guid isPermaLink="false"></guid>
<description><![CDATA[<p>Body & more</p>]]> after</description><category>World</category><category/><category domain="x"> Sport </category>
<enclosure url="/i.png" type="image/png"/><media:thumbnail url="/t.jpg"/><author>ed@a.example (Ed Itor)</author><pubDate>Tue, 19 Nov 2024 14:46:44 GMT</pubDate>
<dc:creator xmlns:dc="http://purl.org/dc/elements/1.1/">Late Ns</dc:creator></item>
<item xmlns:d="http://purl.org/dc/elements/1.1/"><d:creator>Ann</d:creator><d:creator>Bob</d:creator><d:date>2024-11-18T21:54+00:00</d:date><d:date>2020-01-01</d:date>
<media:content url="/v.mp4" type="video/mp4"/><media:content url="/c.jpg" medium="image"/><content:encoded>&lt;p&gt;x&lt;/p&gt;</content:encoded><guid>  g2  </guid></item>
<image><title>Not the title</title><link>https://not.example/</link></image></channel>
<item><title>Outside</title><link>https://a.example/out</link></item></rss>"#.into());
        docs.push(r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<item rdf:about="https://a.example/first"><title>Before the channel</title><link>https://a.example/first</link><dc:date>2024-11-18T21:54+00:00</dc:date></item>
<channel rdf:about="https://a.example/"><title>T</title><link>https://a.example/</link><items><rdf:Seq><rdf:li rdf:resource="https://a.example/one"/></rdf:Seq></items></channel>
<item rdf:about="https://a.example/one"><title>One</title><link>https://a.example/one</link><dc:creator>N</dc:creator></item></rdf:RDF>"#.into());
        for doc in &docs {
            same_as_the_crate(doc, &base);
        }
        // Cut anywhere, every small document is read alike or refused alike.
        for doc in docs.iter().filter(|d| d.len() < 4000) {
            for end in (0..doc.len()).filter(|&i| doc.is_char_boundary(i)) {
                same_as_the_crate(&doc[..end], &base);
            }
        }
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
        let e = &p.entries[0];
        assert_eq!(
            e.published.unwrap().to_rfc3339(),
            "2026-11-25T09:00:00+00:00"
        );
        assert_eq!(e.updated.unwrap().to_rfc3339(), "2026-11-25T10:00:00+00:00");
        assert_eq!(e.content.as_ref().unwrap().value, "<p>x</p>");
        assert_eq!(e.authors[0].uri.as_deref(), Some("https://o.example/n"));
    }

    /// The same entry read by the fast reader and by feed-rs is the same
    /// entry: same fields, same digest.
    #[test]
    fn the_fast_readers_agree_with_feed_rs() {
        let base = Url::parse("https://a.example/feed").unwrap();
        let rss = r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title><link>https://a.example/</link><description>d</description>
<item><title>One &amp; two</title><link>/one</link><guid>g1</guid><pubDate>Sat, 28 Nov 2026 09:30:00 +0100</pubDate><description>&lt;p&gt;Body&lt;/p&gt;</description><category>World</category></item></channel></rss>"#;
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:uuid:60a76c80-d399-11d9-b91c-0003939e0af6</id><updated>2026-11-28T12:00:00Z</updated><link href="https://a.example/"/>
<entry><title type="html">One &amp;amp; two</title><id>g1</id><link href="/one"/><updated>2026-11-28T11:00:00Z</updated><published>2026-11-28T10:00:00Z</published><author><name>N</name></author><content type="html">&lt;p&gt;x&lt;/p&gt;</content></entry></feed>"#;
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"T","home_page_url":"https://a.example/","items":[{"id":7,"url":"/one","title":"One","content_html":"<p>x</p>","date_published":"2026-11-28T10:00:00Z","authors":[{"name":"N"}],"tags":["t"]}]}"#;
        let rdf = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://a.example/"><title>T</title><link>https://a.example/</link><description>d</description><items><rdf:Seq><rdf:li rdf:resource="https://a.example/one"/></rdf:Seq></items></channel>
<item rdf:about="https://a.example/one"><title>One &amp; two</title><link>https://a.example/one</link><dc:date>2026-11-28T09:30+01:00</dc:date><dc:creator>N</dc:creator></item></rdf:RDF>"#;
        let fast = formats::rss(rdf, &base, usize::MAX, None).unwrap();
        let slow = formats::feed_rs(rdf, &base, None).unwrap();
        let (f, s) = (&fast.entries[0], &slow.entries[0]);
        assert_eq!(
            f.published.unwrap().to_rfc3339(),
            "2026-11-28T08:30:00+00:00"
        );
        assert_eq!(
            (&f.id, &f.link, f.published, &f.authors),
            (&s.id, &s.link, s.published, &s.authors)
        );
        assert_eq!(upstream_id(f), upstream_id(s), "the same ids as before");
        assert!(matches!(root(rdf), Root::Rss));
        for doc in [rss, atom] {
            let fast = formats::rss(doc, &base, usize::MAX, None)
                .or_else(|| formats::atom(doc, &base, None))
                .unwrap();
            let slow = formats::feed_rs(doc, &base, None).unwrap();
            let (mut f, mut s) = (fast.entries[0].clone(), slow.entries[0].clone());
            assert_eq!(f.link.as_deref(), Some("https://a.example/one"));
            assert_eq!(
                (plain(f.title.as_ref().unwrap()), f.published),
                (plain(s.title.as_ref().unwrap()), s.published),
                "{doc}"
            );
            // feed-rs says RSS descriptions are plain text; they are HTML.
            f.summary = None;
            s.summary = None;
            assert_eq!(
                (f.id, f.link, f.content, f.authors),
                (s.id, s.link, s.content, s.authors),
                "{doc}"
            );
        }
        let fast = formats::json(json, &base).unwrap();
        // A numeric id (JSON Feed 1.0 in the wild) is read as its digits;
        // feed-rs refuses the whole document for it.
        assert_eq!(fast.entries[0].id.as_deref(), Some("7"));
        assert!(formats::feed_rs(json, &base, None).is_err());
        let json = json.replace("\"id\":7", "\"id\":\"7\"");
        let slow = formats::feed_rs(&json, &base, None).unwrap();
        assert_eq!(fast.entries[0].published, slow.entries[0].published);
        // feed-rs leaves a JSON item's relative url as it is.
        assert_eq!(
            fast.entries[0].link.as_deref(),
            Some("https://a.example/one")
        );
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
}
