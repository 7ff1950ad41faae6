//! How deep a document nests, measured before any parser that recurses sees
//! it. atom_syndication reads extension elements, and feed-rs Media RSS
//! groups, by recursing once per level: 100,000 nested elements (1.1 MB)
//! overflow a thread's stack and abort the whole process. html5ever does not
//! recurse, but its tree builder walks the stack of open elements for every
//! start tag, so unclosed elements make it quadratic (2 MB of `<div>` took
//! minutes). Each scan here is one pass over the bytes, with no allocation:
//! a document that nests deeper than any real one is refused (a feed, a page,
//! an OPML file) or cut where it goes too deep (an entry's HTML).
//!
//! The XML pass also refuses an XML declaration anywhere but at the start:
//! not well-formed (XML 1.0 section 2.8), and quick-xml under feed-rs panics
//! on one (found by fuzzing). Only a pass that knows comments and CDATA can
//! tell it from a code sample in an entry.

/// Deepest element nesting a feed or OPML document may have. Real feeds nest
/// a handful of levels (rss, channel, item, media:group, media:content), an
/// Atom entry's XHTML content a few dozen.
pub const MAX_XML: usize = 256;

/// Deepest JSON nesting (serde_json's own limit is 128).
pub const MAX_JSON: usize = 64;

/// Deepest element nesting of an HTML page (counting only elements that
/// must be closed: `p`, `li` and their kind close themselves).
pub const MAX_HTML: usize = 512;

/// Deepest nesting of an entry's HTML (a title, a summary, a body) before it
/// is cut: what a body of real markup never reaches.
pub const MAX_FRAGMENT: usize = 128;

/// A document refused before any parser sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the document nests {what} deeper than {max} levels (at byte {at}): refused")]
    TooDeep {
        what: &'static str,
        max: usize,
        at: usize,
    },
    #[error(
        "the document has an XML declaration after its start (at byte {at}): not well-formed, refused"
    )]
    Declaration { at: usize },
}

/// Checks an XML document's element nesting. Markup inside comments, CDATA
/// sections and attribute values does not count; end tags close whatever is
/// open (a malformed document is the parser's to refuse).
pub fn xml(text: &str, max: usize) -> Result<(), Refused> {
    match deepest(text.as_bytes(), max, Markup::Xml) {
        Some(Stop::Deep(at)) => Err(Refused::TooDeep {
            what: "elements",
            max,
            at,
        }),
        Some(Stop::Declaration(at)) => Err(Refused::Declaration { at }),
        None => Ok(()),
    }
}

/// Checks an HTML page's nesting, as [`xml`] does, with HTML's void and
/// self-closing elements and raw-text elements taken into account.
pub fn html(text: &str, max: usize) -> Result<(), Refused> {
    match deepest(text.as_bytes(), max, Markup::Html) {
        Some(Stop::Deep(at) | Stop::Declaration(at)) => Err(Refused::TooDeep {
            what: "elements",
            max,
            at,
        }),
        None => Ok(()),
    }
}

/// An HTML fragment cut just before the tag that would take it deeper than
/// `max`: what a parser then repairs (closing what is open) costs no more
/// than `max` per element.
pub fn cut_html(text: &str, max: usize) -> &str {
    match deepest(text.as_bytes(), max, Markup::Html) {
        // The offset is a '<', an ASCII byte: a char boundary.
        Some(Stop::Deep(at) | Stop::Declaration(at)) => &text[..at],
        None => text,
    }
}

/// Checks a JSON document's nesting of arrays and objects.
pub fn json(text: &str, max: usize) -> Result<(), Refused> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (at, &b) in text.as_bytes().iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(Refused::TooDeep {
                        what: "arrays and objects",
                        max,
                        at,
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Markup {
    Xml,
    Html,
}

/// Where a scan stopped: the offset of the start tag that takes the
/// document past its bound, or of a misplaced XML declaration.
enum Stop {
    Deep(usize),
    Declaration(usize),
}

/// Where `bytes` goes past `max` levels, or (XML) holds a declaration after
/// its start, if anywhere.
fn deepest(bytes: &[u8], max: usize, markup: Markup) -> Option<Stop> {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(off) = find(&bytes[i..], b'<') {
        let at = i + off;
        let rest = &bytes[at + 1..];
        // Comments, CDATA, declarations and processing instructions: skip to
        // their end, whatever they hold.
        if rest.starts_with(b"!--") {
            i = skip_past(bytes, at + 4, b"-->");
            continue;
        }
        if rest.starts_with(b"![CDATA[") {
            i = skip_past(bytes, at + 9, b"]]>");
            continue;
        }
        if markup == Markup::Xml && declaration(rest) && !blank(&bytes[..at]) {
            return Some(Stop::Declaration(at));
        }
        if rest.starts_with(b"!") || rest.starts_with(b"?") {
            i = skip_past(bytes, at + 1, b">");
            continue;
        }
        if let Some(after) = rest.strip_prefix(b"/") {
            if markup == Markup::Xml || counts(name(after)) {
                depth = depth.saturating_sub(1);
            }
            i = skip_past(bytes, at + 2, b">");
            continue;
        }
        let tag = name(rest);
        if tag.is_empty() {
            // A lone '<' in text (HTML allows it): not a tag.
            i = at + 1;
            continue;
        }
        let (end, self_closing) = tag_end(bytes, at + 1);
        i = end;
        if self_closing || (markup == Markup::Html && !counts(tag)) {
            continue;
        }
        if markup == Markup::Html && raw_text(tag) {
            // Their content is text up to their end tag.
            i = skip_raw(bytes, end, tag);
            continue;
        }
        depth += 1;
        if depth > max {
            return Some(Stop::Deep(at));
        }
    }
    None
}

/// Whether markup after a '<' is an XML declaration (`?xml` then a space or
/// the end): the target `xml` in any case is reserved for it.
fn declaration(rest: &[u8]) -> bool {
    rest.len() > 4
        && rest[0] == b'?'
        && rest[1..4].eq_ignore_ascii_case(b"xml")
        && (rest[4].is_ascii_whitespace() || rest[4] == b'?')
}

/// Nothing but white space and a byte order mark: what real feeds put before
/// their declaration, which readers accept.
fn blank(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    bytes.iter().all(u8::is_ascii_whitespace)
}

/// memchr's SIMD search: every feed document and every body is scanned here,
/// mostly text between tags.
fn find(hay: &[u8], byte: u8) -> Option<usize> {
    memchr::memchr(byte, hay)
}

/// Where `needle` ends, searching from `from`; the end of `bytes` if it never
/// comes.
fn skip_past(bytes: &[u8], from: usize, needle: &[u8]) -> usize {
    let from = from.min(bytes.len());
    memchr::memmem::find(&bytes[from..], needle).map_or(bytes.len(), |p| from + p + needle.len())
}

/// A tag's name: what follows `<` up to a space, `/` or `>`.
fn name(rest: &[u8]) -> &[u8] {
    let len = rest
        .iter()
        .position(|b| b.is_ascii_whitespace() || matches!(b, b'/' | b'>'))
        .unwrap_or(rest.len());
    &rest[..len]
}

/// The end of a start tag that opens at `from` (past its `>`), quoted
/// attribute values skipped, and whether it closes itself (`/>`).
fn tag_end(bytes: &[u8], from: usize) -> (usize, bool) {
    let mut quote = None;
    let mut i = from;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'>' => return (i + 1, i > from && bytes[i - 1] == b'/'),
            None => {}
        }
        i += 1;
    }
    (bytes.len(), false)
}

/// Whether an HTML element adds a level: not a void element, nor one whose
/// end tag is optional (the next of its kind closes it).
fn counts(tag: &[u8]) -> bool {
    const FREE: &[&[u8]] = &[
        // Void elements.
        b"area",
        b"base",
        b"br",
        b"col",
        b"embed",
        b"hr",
        b"img",
        b"input",
        b"link",
        b"meta",
        b"source",
        b"track",
        b"wbr",
        b"param",
        b"keygen", // Optional end tags.
        b"p",
        b"li",
        b"dt",
        b"dd",
        b"option",
        b"optgroup",
        b"tr",
        b"td",
        b"th",
        b"rb",
        b"rt",
        b"rp",
        b"rtc",
        b"thead",
        b"tbody",
        b"tfoot",
        b"colgroup",
        b"caption",
        b"html",
        b"head",
        b"body",
    ];
    !FREE.iter().any(|f| f.eq_ignore_ascii_case(tag))
}

/// Elements whose content is text, not markup.
fn raw_text(tag: &[u8]) -> bool {
    [
        &b"script"[..],
        b"style",
        b"textarea",
        b"title",
        b"xmp",
        b"plaintext",
    ]
    .iter()
    .any(|t| t.eq_ignore_ascii_case(tag))
}

/// Past the end tag of a raw-text element, compared without case.
fn skip_raw(bytes: &[u8], from: usize, tag: &[u8]) -> usize {
    let mut i = from;
    while let Some(off) = find(&bytes[i.min(bytes.len())..], b'<') {
        let at = i + off;
        let rest = &bytes[at + 1..];
        if rest.first() == Some(&b'/') && name(&rest[1..]).eq_ignore_ascii_case(tag) {
            return skip_past(bytes, at + 2, b">");
        }
        i = at + 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_elements_are_counted_and_refused_past_the_bound() {
        let deep = "<a>".repeat(300) + &"</a>".repeat(300);
        assert!(xml(&deep, 256).is_err());
        assert!(xml(&deep, 300).is_ok());
        // Siblings do not nest; empty elements and markup in comments, CDATA
        // and attributes do not count.
        let wide = "<r>".to_owned() + &"<a><b/></a>".repeat(10_000) + "</r>";
        assert!(xml(&wide, 3).is_ok());
        let hidden = format!(
            "<r><!-- {} --><![CDATA[{}]]><x a='{}'/></r>",
            "<a>".repeat(500),
            "<a>".repeat(500),
            "<a>".repeat(500)
        );
        assert!(xml(&hidden, 2).is_ok(), "{hidden}");
        let e = xml(&deep, 10).unwrap_err();
        assert!(
            matches!(e, Refused::TooDeep { at: 30, .. }),
            "the offset of the 11th start tag: {e:?}"
        );
    }

    #[test]
    fn a_declaration_only_at_the_start() {
        let ok = "\u{feff} \n<?xml version=\"1.0\"?><rss><!-- <?xml x?> --><d><![CDATA[<?xml version=\"1.0\"?>]]></d><?xml-stylesheet href=\"s\"?></rss>";
        assert!(xml(ok, 10).is_ok());
        for bad in [
            "<?xml version=\"1.0\"?><rss><?xml version=\"1.0\" encoding=\"windows-1252\"?></rss>",
            "<rss><?XML version='1.0'?></rss>",
            "x<?xml version=\"1.0\"?><rss/>",
        ] {
            let e = xml(bad, 10).unwrap_err();
            assert!(matches!(e, Refused::Declaration { .. }), "{bad}: {e:?}");
        }
        // HTML has no declarations: a page's stray one is its parser's to skip.
        assert!(html("<p>a<?xml version='1.0'?>b</p>", 10).is_ok());
    }

    #[test]
    fn html_counts_only_what_must_be_closed() {
        // Paragraphs and list items close each other; breaks are void.
        let flat = "<p>a".repeat(5_000) + &"<li>b<br>".repeat(5_000);
        assert!(html(&flat, 2).is_ok());
        let divs = "<div>".repeat(1_000);
        assert!(html(&divs, 512).is_err());
        // Script content is text, whatever it looks like.
        let script = format!("<div><script>{}</script></div>", "<div>".repeat(1_000));
        assert!(html(&script, 1).is_ok());
        assert_eq!(cut_html("<b>x<i>y<u>z</u></i></b>", 2), "<b>x<i>y");
        assert_eq!(cut_html("plain < text", 2), "plain < text");
    }

    #[test]
    fn json_nesting_outside_strings() {
        assert!(json(&("[".repeat(100) + &"]".repeat(100)), 64).is_err());
        assert!(json(r#"{"a": "[[[[[[[[\"[[[[", "b": [1, {"c": 2}]}"#, 3).is_ok());
    }
}
