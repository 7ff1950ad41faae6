//! Sources from an OPML subscription list (`fetch.opml`): what feed readers
//! export and what partners send, so a site can take a list as it is.

use crate::config::{Config, ConfigError, SourceConfig};
use quick_xml::events::Event;

/// The outlines of `fetch.opml` (a file relative to the config) as feed
/// sources, each named by the slug of its text, unique among the config's:
/// what the site adds when it is assembled ([`Config::load_with`]), since the
/// config reads no other file.
pub fn expand(config: &Config) -> Result<Vec<SourceConfig>, ConfigError> {
    let Some(opml) = &config.fetch.opml else {
        return Ok(Vec::new());
    };
    let path = config.root().join(opml);
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        file: path.clone(),
        source,
    })?;
    let outlines = sources(&text).map_err(|e| ConfigError::Invalid {
        file: path.clone(),
        key: "fetch.opml".into(),
        message: e.to_string(),
    })?;
    let mut added: Vec<SourceConfig> = Vec::with_capacity(outlines.len());
    for (title, url) in outlines {
        let name = unique_slug(&title, &url, |n| {
            config.source(n).is_some() || added.iter().any(|s| s.name == n)
        });
        added.push(SourceConfig::feed(name, url));
    }
    Ok(added)
}

/// An OPML document that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpmlError {
    #[error("bad attribute: {0}")]
    Attribute(String),
    #[error("not well-formed OPML at byte {at}: {message}")]
    Xml { at: u64, message: String },
    #[error(transparent)]
    Refused(#[from] crate::depth::Refused),
}

/// The (text, xmlUrl) of every `<outline>` with an `xmlUrl`, at any depth, in
/// document order. quick-xml reads no DTD and expands no entity but the five
/// predefined ones, so an OPML file cannot make it read anything else.
pub fn sources(text: &str) -> Result<Vec<(String, String)>, OpmlError> {
    crate::depth::xml(text, crate::depth::MAX_XML)?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == b"outline" => {
                let mut label = None;
                let mut url = None;
                for attr in e.attributes().flatten() {
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|err| OpmlError::Attribute(err.to_string()))?
                        .into_owned();
                    match attr.key.local_name().as_ref() {
                        b"xmlUrl" => url = Some(value),
                        // `text` is required by OPML 2.0; `title` is what some
                        // exporters fill instead.
                        b"text" => label = Some(value),
                        b"title" if label.is_none() => label = Some(value),
                        _ => {}
                    }
                }
                if let Some(url) = url.filter(|u| !u.trim().is_empty()) {
                    out.push((label.unwrap_or_default(), url.trim().to_owned()));
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(OpmlError::Xml {
                    at: reader.error_position(),
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// A source name from an outline's text (`Agence Maghreb Arabe Presse` →
/// `agence-maghreb-arabe-presse`), else from its URL's host, made unique with
/// `-2`, `-3`… when `taken` says the name is used.
pub fn unique_slug(text: &str, url: &str, taken: impl Fn(&str) -> bool) -> String {
    let mut base = slug(text);
    if base.is_empty() {
        base = slug(&crate::config::host_of(url));
    }
    if base.is_empty() {
        base = "source".into();
    }
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|name| !taken(name))
        .expect("some suffix is free")
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 60 {
            break;
        }
    }
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outlines_with_xml_url_at_any_depth() {
        let opml = r#"<?xml version="1.0"?>
<opml version="2.0"><head><title>x</title></head><body>
  <outline text="News">
    <outline text="Agence &amp; Co" type="rss" xmlUrl="https://a.example/feed"/>
    <outline title="Only title" xmlUrl=" https://b.example/rss "/>
  </outline>
  <outline text="No feed" htmlUrl="https://c.example/"/>
</body></opml>"#;
        assert_eq!(
            sources(opml).unwrap(),
            [
                (
                    "Agence & Co".to_owned(),
                    "https://a.example/feed".to_owned()
                ),
                ("Only title".to_owned(), "https://b.example/rss".to_owned()),
            ]
        );
        assert!(sources("<opml><body><outline xmlUrl='x'").is_err());
    }

    #[test]
    fn slugs_are_unique_and_fit_urls() {
        let taken = |n: &str| n == "agence-co" || n == "agence-co-2";
        assert_eq!(unique_slug("Agence & Co", "", taken), "agence-co-3");
        assert_eq!(unique_slug("Élan", "", |_| false), "lan");
        assert_eq!(
            unique_slug("", "https://Wire.Example.org/x", |_| false),
            "wire-example-org"
        );
        assert_eq!(unique_slug("", "not a url", |_| false), "source");
    }
}
