//! The human side: an HTML index with feed autodiscovery, and one HTML page per feed
//! (the alternate link of the feeds, and the page ticker items without their own
//! page link to, by anchor).

use super::{FeedData, feed_url};
use crate::config::Config;
use crate::model::anchor;
use crate::model::{FeedId, Format, Item, ItemKind};
use quick_xml::escape::escape;
use std::fmt::Write;

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}\
li{margin:.4rem 0}time{color:#555;font-size:.9em}code{font-size:.9em}";

fn head(out: &mut String, config: &Config, title: &str, feeds: &[FeedId]) {
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n",
        escape(config.site.language.as_str()),
        escape(title)
    );
    for feed in feeds {
        let data = FeedData {
            config,
            feed,
            items: &[],
            tombstones: &[],
            modified: None,
            archive: super::Archive::Current { pages: 0 },
        };
        for format in Format::FEEDS {
            let _ = writeln!(
                out,
                "<link rel=\"alternate\" type=\"{}\" title=\"{} ({})\" href=\"{}\">",
                format.mime(),
                escape(data.title().as_str()),
                format.label(),
                escape(feed_url(config, feed, format).as_str())
            );
        }
    }
    out.push_str("</head>\n<body>\n");
}

fn item_list(out: &mut String, config: &Config, items: &[Item]) {
    out.push_str("<ul>\n");
    for it in items {
        let local = crate::localtime::in_zone(it.published, config.site.timezone);
        let id = if it.kind == ItemKind::Breaking {
            anchor(&it.key)
        } else {
            format!("a-{}", anchor(&it.key))
        };
        let _ = write!(
            out,
            "<li id=\"{}\"><time datetime=\"{}\">{}</time> ",
            escape(id.as_str()),
            local.to_rfc3339(),
            local.format("%Y-%m-%d %H:%M")
        );
        let ticker_pages = format!("{}/breaking/", config.feeds_base());
        match &it.link {
            // A ticker item's own link points to a ticker page: show it as text.
            Some(l)
                if !l.starts_with(&feed_url(config, &FeedId::breaking(), Format::Html))
                    && !l.starts_with(&ticker_pages) =>
            {
                let _ = write!(
                    out,
                    "<a href=\"{}\">{}</a>",
                    escape(l.as_str()),
                    escape(it.title.as_str())
                );
            }
            _ => out.push_str(&escape(it.title.as_str())),
        }
        if let Some(s) = &it.summary {
            let _ = write!(out, "<br>{}", escape(s.as_str()));
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n");
}

pub fn feed_page(data: &FeedData<'_>) -> Vec<u8> {
    let mut out = String::with_capacity(8192);
    let title = data.title();
    head(
        &mut out,
        data.config,
        &title,
        std::slice::from_ref(data.feed),
    );
    let _ = write!(
        out,
        "<h1>{}</h1>\n<p>{}</p>\n<p>",
        escape(title.as_str()),
        escape(data.description().as_str())
    );
    for format in Format::FEEDS {
        let _ = write!(
            out,
            "<a href=\"{}\">{}</a> ",
            escape(data.url(format).as_str()),
            format.label()
        );
    }
    out.push_str("</p>\n");
    item_list(&mut out, data.config, data.items);
    out.push_str("</body>\n</html>\n");
    out.into_bytes()
}

/// The ticker of one day, in the site's zone: the permanent page its items
/// without a page of their own link to.
pub fn ticker_day(config: &Config, day: chrono::NaiveDate, items: &[Item]) -> Vec<u8> {
    let mut out = String::with_capacity(4096);
    let title = format!(
        "{}, {}",
        crate::catalog::title(config, &FeedId::breaking()),
        day.format("%Y-%m-%d")
    );
    head(&mut out, config, &title, &[FeedId::breaking()]);
    let _ = writeln!(out, "<h1>{}</h1>", escape(title.as_str()));
    item_list(&mut out, config, items);
    out.push_str("</body>\n</html>\n");
    out.into_bytes()
}

pub fn index(config: &Config, latest: &[Item]) -> Vec<u8> {
    let mut out = String::with_capacity(16384);
    let feeds = crate::catalog::feeds(config);
    head(&mut out, config, &config.site.title, &feeds);
    let _ = write!(
        out,
        "<h1>{}</h1>\n<p>{}</p>\n<h2>Feeds</h2>\n<ul>\n",
        escape(config.site.title.as_str()),
        escape(config.site.description.as_str())
    );
    for feed in &feeds {
        let data = FeedData {
            config,
            feed,
            items: &[],
            tombstones: &[],
            modified: None,
            archive: super::Archive::Current { pages: 0 },
        };
        let _ = write!(
            out,
            "<li><a href=\"{}\">{}</a>:",
            escape(data.url(Format::Html).as_str()),
            escape(data.title().as_str())
        );
        for format in Format::FEEDS {
            let _ = write!(
                out,
                " <a href=\"{}\"><code>{feed}.{}</code></a>",
                escape(data.url(format).as_str()),
                format.ext()
            );
        }
        out.push_str("</li>\n");
    }
    let _ = write!(
        out,
        "<li><a href=\"{}/feeds.opml\">All feeds as OPML</a></li>\n</ul>\n<h2>Latest</h2>\n",
        escape(config.feeds_base())
    );
    item_list(&mut out, config, latest);
    out.push_str("</body>\n</html>\n");
    out.into_bytes()
}
