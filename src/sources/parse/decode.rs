//! Bytes to UTF-8 text, before any parser sees them: the BOM first, then the
//! XML declaration, then the HTTP charset, then UTF-8, with windows-1252 for
//! bytes that are not UTF-8 after all (the usual mislabel). The declaration is
//! dropped with the decoding done. Also: Atom 0.3 as the Atom 1.0 it became.

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
use std::borrow::Cow;

/// Atom 0.3, which feed-rs does not read (its elements are in another
/// namespace), as the Atom 1.0 it became: the namespace, and the elements that
/// were renamed (`issued` → `published`, `modified` → `updated`, `tagline` →
/// `subtitle`, `copyright` → `rights`, a person's `url` → `uri`). Done on
/// quick-xml's events, so it is as safe as the parse that follows.
pub mod atom03 {
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

    /// An element's name in Atom 1.0, its prefix kept.
    fn element(name: quick_xml::name::QName<'_>) -> String {
        let full = String::from_utf8_lossy(name.as_ref()).into_owned();
        match renamed(name.local_name().as_ref()) {
            Some(new) => match full.split_once(':') {
                Some((prefix, _)) => format!("{prefix}:{new}"),
                None => new.to_owned(),
            },
            None => full,
        }
    }

    fn start(e: &BytesStart<'_>) -> BytesStart<'static> {
        let mut out = BytesStart::new(element(e.name()));
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
                Event::End(e) => Event::End(BytesEnd::new(element(e.name()))),
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
pub fn charset(content_type: Option<&str>) -> Option<&'static Encoding> {
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
        if declared == UTF_8 {
            // Checked once: valid, it is the text as it is.
            match std::str::from_utf8(body) {
                Ok(text) => return strip_declaration(Cow::Borrowed(text)),
                Err(_) => (WINDOWS_1252, 0),
            }
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
    let Some(end) = trimmed.find("?>") else {
        return text;
    };
    let offset = text.len() - trimmed.len() + end + 2;
    match text {
        // Borrowed (UTF-8 as sent): a shorter slice, no copy.
        Cow::Borrowed(s) => Cow::Borrowed(&s[offset..]),
        Cow::Owned(mut s) => {
            s.drain(..offset);
            Cow::Owned(s)
        }
    }
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
    fn charset_parameter() {
        assert_eq!(
            charset(Some("text/xml; charset=\"windows-1252\"")),
            Some(WINDOWS_1252)
        );
        assert_eq!(charset(Some("application/rss+xml")), None);
        assert_eq!(charset(Some("text/xml; charset=nonsense")), None);
    }
}
