//! XML Base (RFC 4287 section 2, W3C XML Base, RFC 3986): a relative URL in a
//! feed resolves against the `xml:base` in scope for the element that carries
//! it, each base itself resolved against the one in scope above it, and the
//! document's own URL at the top. The readers use what this pass records:
//! for each entry (`entry` or `item`, in document order) the base in scope
//! for the entry and for each of its child elements, so that links,
//! enclosures and the relative URLs inside content and summaries resolve
//! where the document says, not against the entry's link.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use url::Url;

/// The bases of one document: the feed's (its root, or an RSS channel) and
/// each entry's.
#[derive(Debug, Default)]
pub struct Scopes {
    /// The base in scope for the feed's own elements.
    pub feed: Option<Url>,
    pub entries: Vec<EntryScope>,
}

/// The bases in scope inside one entry.
#[derive(Debug, Clone)]
pub struct EntryScope {
    pub entry: Url,
    /// Each child element's local name and the base in scope for it (its
    /// own `xml:base` applied), in document order.
    pub children: Vec<(String, Url)>,
}

impl EntryScope {
    /// The base in scope for the `n`-th child called `local` (the entry's
    /// own when there is no such child).
    pub fn child(&self, local: &str, n: usize) -> &Url {
        self.children
            .iter()
            .filter(|(name, _)| name == local)
            .nth(n)
            .map_or(&self.entry, |(_, base)| base)
    }

    /// The base of the first child called one of `locals`, in that order of
    /// preference.
    pub fn first(&self, locals: &[&str]) -> &Url {
        locals
            .iter()
            .find_map(|l| self.children.iter().find(|(name, _)| name == l))
            .map_or(&self.entry, |(_, base)| base)
    }
}

/// The scopes of `xml`, fetched from `url`; `None` when it declares no
/// `xml:base` at all (every base is then the document's URL).
pub fn scopes(xml: &str, url: &Url) -> Option<Scopes> {
    if !xml.contains("xml:base") {
        return None;
    }
    let mut reader = Reader::from_str(xml);
    // The base in scope at each open element, and where an entry opened.
    let mut stack: Vec<Url> = Vec::new();
    let mut scopes = Scopes::default();
    let mut entry_depth: Option<usize> = None;
    loop {
        let (e, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(_)) => {
                stack.pop();
                if entry_depth.is_some_and(|d| stack.len() < d) {
                    entry_depth = None;
                }
                continue;
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => continue,
        };
        let parent = stack.last().unwrap_or(url);
        let base = own_base(&e)
            .and_then(|b| parent.join(&b).ok())
            .unwrap_or_else(|| parent.clone());
        let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        let depth = stack.len();
        match entry_depth {
            None if local == "entry" || local == "item" => {
                entry_depth = Some(depth + 1);
                scopes.entries.push(EntryScope {
                    entry: base.clone(),
                    children: Vec::new(),
                });
            }
            Some(d) if depth == d => {
                if let Some(entry) = scopes.entries.last_mut() {
                    entry.children.push((local, base.clone()));
                }
            }
            None if depth <= 1 && matches!(local.as_str(), "feed" | "rss" | "RDF" | "channel") => {
                scopes.feed = Some(base.clone());
            }
            _ => {}
        }
        if !empty {
            stack.push(base);
        } else if entry_depth.is_some_and(|d| d == depth + 1) {
            // An empty entry closes where it opens.
            entry_depth = None;
        }
    }
    Some(scopes)
}

/// An element's own `xml:base`, if it has one.
fn own_base(e: &BytesStart<'_>) -> Option<String> {
    e.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.as_ref() == b"xml:base")
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.trim().to_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_nest_and_resolve_against_those_above() {
        let xml = r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://host/blog/">
<entry xml:base="2026/"><link href="posts/medina.html"/>
  <content type="html" xml:base="../media/">x</content></entry>
<entry><link href="a.html"/><summary>y</summary></entry></feed>"#;
        let doc = Url::parse("http://host/feeds/atom.xml").unwrap();
        let s = scopes(xml, &doc).unwrap();
        assert_eq!(s.feed.as_ref().unwrap().as_str(), "http://host/blog/");
        assert_eq!(s.entries.len(), 2);
        assert_eq!(s.entries[0].entry.as_str(), "http://host/blog/2026/");
        assert_eq!(
            s.entries[0].child("link", 0).as_str(),
            "http://host/blog/2026/"
        );
        assert_eq!(
            s.entries[0].child("content", 0).as_str(),
            "http://host/blog/media/"
        );
        assert_eq!(
            s.entries[1].child("summary", 0).as_str(),
            "http://host/blog/"
        );
        assert!(scopes("<feed/>", &doc).is_none());
    }
}
