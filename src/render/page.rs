//! The human side: an HTML index with feed autodiscovery, and one HTML page per feed
//! (the alternate link of the feeds, and the page ticker items without their own
//! page link to, by anchor).

use super::{FeedData, feed_url, widget};
use crate::config::Config;
use crate::model::anchor;
use crate::model::{FeedId, Format, Item, ItemKind};
use quick_xml::escape::escape;
use std::fmt::Write;

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}\
li{margin:.4rem 0}time{color:#555;font-size:.9em}code{font-size:.9em}\
#embed form{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin:.5rem 0}\
#embed input[type=number]{width:4.5rem}#embed iframe{width:100%;border:0;min-height:8rem}\
#embed pre{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:.6rem;border-radius:6px}";

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
            query: "",
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
    embed_section(&mut out, data.config, data.feed, None);
    out.push_str("</body>\n</html>\n");
    out.into_bytes()
}

/// "Embed": the widget's options, a live preview, and the snippets to copy.
/// Without a script the form previews into the frame (it targets it) and
/// the snippets are those for five headlines; `builder.js` keeps both in
/// step with the options as they change. `feeds` lists the feeds to pick
/// from (the index); a feed's page embeds itself.
fn embed_section(out: &mut String, config: &Config, feed: &FeedId, feeds: Option<&[FeedId]>) {
    // Relative to the page (`/feeds/x.html`, `/timelines/x.html`, `/`):
    // right behind any proxy prefix and on any host it is reached at.
    let up = if feeds.is_some() { "" } else { "../" };
    let rel = |f: &FeedId| format!("{up}{}", widget::path(f, "html").trim_start_matches('/'));
    let size = crate::catalog::size(config, feed);
    let _ = write!(
        out,
        "<section id=\"embed\">\n<h2>Embed</h2>\n\
         <p>Put these headlines on another site, as a frame or as a script.</p>\n\
         <form id=\"nw-builder\" action=\"{}\" method=\"get\" target=\"nw-preview\">\n",
        escape(rel(feed).as_str())
    );
    if let Some(feeds) = feeds {
        out.push_str("<label>Feed <select id=\"nw-feed\">");
        for f in feeds {
            let _ = write!(
                out,
                "<option value=\"{}\"{}>{}</option>",
                escape(rel(f).as_str()),
                if f == feed { " selected" } else { "" },
                escape(crate::catalog::title(config, f).as_str())
            );
        }
        out.push_str("</select></label>\n");
    }
    let _ = write!(
        out,
        "<label>Headlines <input type=\"number\" name=\"limit\" min=\"1\" max=\"{size}\" value=\"5\"></label>\n\
         <label>About <input type=\"search\" name=\"filter\" maxlength=\"200\" placeholder=\"any words\"></label>\n\
         <label>Not about <input type=\"search\" name=\"filterout\" maxlength=\"200\"></label>\n\
         <label>Theme <select name=\"theme\"><option value=\"auto\">auto</option><option value=\"light\">light</option><option value=\"dark\">dark</option></select></label>\n\
         <label>Times <select name=\"time\"><option value=\"1\">shown</option><option value=\"0\">hidden</option></select></label>\n\
         <label><input type=\"checkbox\" name=\"summary\" value=\"1\"> summaries</label>\n\
         <label><input type=\"checkbox\" name=\"image\" value=\"1\"> images</label>\n\
         <button>Preview</button>\n</form>\n\
         <iframe id=\"nw-preview\" name=\"nw-preview\" title=\"Widget preview\" src=\"{}?limit=5\" height=\"420\"></iframe>\n",
        escape(rel(feed).as_str())
    );
    let (frame, script) = widget::snippets(config, feed);
    let _ = write!(
        out,
        "<h3>As a frame</h3>\n<pre><code id=\"nw-snippet-frame\">{}</code></pre>\n\
         <h3>As a script</h3>\n<pre><code id=\"nw-snippet-script\">{}</code></pre>\n\
         <p>The script renders into a shadow root, so neither page's styles reach the other; under a \
         Content-Security-Policy it needs <code>script-src</code> and <code>connect-src</code> for this site, \
         and no <code>style-src</code>.</p>\n</section>\n<script src=\"{up}{}builder.js\" defer></script>\n",
        escape(frame.as_str()),
        escape(script.as_str()),
        widget::ASSETS.trim_start_matches('/'),
    );
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
            query: "",
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
    embed_section(&mut out, config, &FeedId::all(), Some(&feeds));
    out.push_str("</body>\n</html>\n");
    out.into_bytes()
}
