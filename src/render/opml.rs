//! OPML 2.0: the subscription list of every feed, so a reader imports the site
//! in one step; and the catalog of external sources, so an editor can take
//! them to a reader or to another newswire.

use super::feed_url;
use crate::config::Config;
use crate::model::Format;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

type Outlines<'a> = Box<dyn Fn(&mut Writer<Vec<u8>>) -> std::io::Result<()> + 'a>;

/// An OPML document titled `title` whose body `outlines` writes.
fn document(config: &Config, title: &str, outlines: Outlines<'_>) -> Vec<u8> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let write = |w: &mut Writer<Vec<u8>>| -> std::io::Result<()> {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        w.create_element("opml")
            .with_attribute(("version", "2.0"))
            .write_inner_content(|w| {
                w.create_element("head").write_inner_content(|w| {
                    w.create_element("title")
                        .write_text_content(BytesText::new(title))?;
                    w.create_element("ownerName")
                        .write_text_content(BytesText::new(&config.site.author))?;
                    w.create_element("docs")
                        .write_text_content(BytesText::new("http://opml.org/spec2.opml"))?;
                    Ok(())
                })?;
                w.create_element("body")
                    .write_inner_content(|w| outlines(w))?;
                Ok(())
            })?;
        Ok(())
    };
    write(&mut w).expect("writing XML to a Vec cannot fail");
    let mut out = w.into_inner();
    out.push(b'\n');
    out
}

/// Every feed and timeline of the site.
pub fn render(config: &Config) -> Vec<u8> {
    document(
        config,
        &config.site.title,
        Box::new(|w| {
            for feed in crate::catalog::feeds(config) {
                let data = super::FeedData {
                    config,
                    feed: &feed,
                    items: &[],
                    tombstones: &[],
                    modified: None,
                    archive: super::Archive::Current { pages: 0 },
                    query: "",
                };
                let title = data.title();
                w.create_element("outline")
                    .with_attributes([
                        ("type", "rss"),
                        ("text", title.as_str()),
                        ("title", title.as_str()),
                        ("description", data.description().as_str()),
                        ("xmlUrl", feed_url(config, &feed, Format::Rss).as_str()),
                        ("htmlUrl", feed_url(config, &feed, Format::Html).as_str()),
                        ("language", config.site.language.as_str()),
                        ("version", "RSS2"),
                    ])
                    .write_empty()?;
            }
            Ok(())
        }),
    )
}

/// The external feeds the site polls (`[[sources]]`, and `fetch.opml`'s
/// outlines), by name; scrapes have no feed to subscribe to.
pub fn sources(config: &Config) -> Vec<u8> {
    let title = format!("{}: sources", config.site.title);
    document(
        config,
        &title,
        Box::new(|w| {
            for s in config.sources.iter().filter(|s| s.scrape.is_none()) {
                let text = s.title.as_deref().unwrap_or(&s.name);
                w.create_element("outline")
                    .with_attributes([
                        ("type", "rss"),
                        ("text", text),
                        ("title", text),
                        ("xmlUrl", s.url.as_str()),
                    ])
                    .write_empty()?;
            }
            Ok(())
        }),
    )
}
