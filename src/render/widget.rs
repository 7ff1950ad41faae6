//! Headlines for other sites' pages: a page to put in an `<iframe>`, and the
//! data its script twin (`/embed/{feed}.js`) builds the same list from.
//!
//! The page needs no script to show anything: its one script only tells the
//! host page its height. The script twin never turns item text into markup:
//! it gets the items as JSON and makes elements and text nodes of them
//! (`assets/widget.js`). Both show the same list, with the same styles
//! ([`CSS`]), dates in the site's zone and language written here, so the
//! two never disagree.

use super::FeedData;
use crate::config::Config;
use crate::model::{FeedId, Format, Item};
use crate::view::Look;
use quick_xml::escape::escape;
use serde::Serialize;
use std::fmt::Write;

/// The widget's styles, for the page (`assets/widget.css`) and the script,
/// which adopts them into its shadow root as a constructed stylesheet (no
/// `<style>` element, so a host page's `style-src` need not allow it).
/// `:host` resets what the host page's styles would hand down.
pub const CSS: &str = ":host{all:initial;display:block}\
.nw{font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;color:#1c1e21;background:#fff;\
margin:0;padding:.6rem .8rem;border:1px solid #dadde1;border-radius:8px;box-sizing:border-box;text-align:start}\
.nw[data-theme=dark]{color:#e4e6eb;background:#18191a;border-color:#3a3b3c}\
@media (prefers-color-scheme:dark){.nw[data-theme=auto]{color:#e4e6eb;background:#18191a;border-color:#3a3b3c}}\
.nw h2{font-size:.8em;font-weight:700;letter-spacing:.04em;text-transform:uppercase;margin:0 0 .3rem;opacity:.75}\
.nw h2 a{font-weight:inherit}\
.nw ol{list-style:none;margin:0;padding:0}\
.nw li{margin:0;padding:.5rem 0;border-top:1px solid rgba(127,127,127,.25)}\
.nw li:first-child{border-top:0}\
.nw a{color:inherit;text-decoration:none;font-weight:600}\
.nw a:hover,.nw a:focus{text-decoration:underline}\
.nw .meta{display:block;font-size:.8em;opacity:.7;margin-top:.1em}\
.nw p{margin:.25em 0 0;font-size:.9em}\
.nw img{display:block;max-width:100%;height:auto;border-radius:4px;margin:.35rem 0 0}\
.nw .empty{opacity:.7;margin:0}\
body{margin:0;background:transparent}";

/// Tells the host page the frame's height, so its snippet can size the
/// frame to the list (`postMessage`; the host checks who sent it).
pub const FRAME_JS: &str = include_str!("assets/frame.js");

/// Renders the list into the host page, inside a shadow root.
const WIDGET_JS: &str = include_str!("assets/widget.js");

/// The builder on the index and feed pages: previews the widget with the
/// options chosen and writes the snippets to copy.
pub const BUILDER_JS: &str = include_str!("assets/builder.js");

/// Where the widget's shared files are served.
pub const ASSETS: &str = "/embed/assets/";

/// The most characters of a summary a widget shows.
const SUMMARY_CHARS: usize = 240;

/// The script twin of every feed's widget: the same file at every
/// `/embed/{feed}.js`, which reads its data from its own address.
pub fn script() -> Vec<u8> {
    let css = serde_json::to_string(CSS).expect("a string is JSON");
    // One scope per copy: a host page may hold several widgets.
    format!("(() => {{\n\"use strict\";\nconst NEWSWIRE_CSS = {css};\n{WIDGET_JS}}})();\n")
        .into_bytes()
}

/// `/embed/world.html`, `/embed/timelines/wire.html` (and `.js`, `.json`).
pub fn path(feed: &FeedId, ext: &str) -> String {
    match feed {
        FeedId::Timeline(name) => format!("/embed/timelines/{name}.{ext}"),
        _ => format!("/embed/{feed}.{ext}"),
    }
}

/// From a widget's page to the shared files, relative: right behind any
/// proxy prefix and on any host the page is reached at.
fn assets_from(feed: &FeedId) -> &'static str {
    match feed {
        FeedId::Timeline(_) => "../assets/",
        _ => "assets/",
    }
}

/// One headline as both forms of the widget show it.
#[derive(Serialize)]
struct Headline<'a> {
    id: &'a str,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    /// RFC 3339, for `<time datetime>`.
    date_published: String,
    /// The same time in the site's words and zone.
    when: String,
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
}

fn headline<'a>(data: &'a FeedData<'_>, item: &'a Item, look: Look) -> Headline<'a> {
    let config = data.config;
    let locale = crate::localtime::locale(&config.site.language);
    let source = item
        .origin
        .as_ref()
        .filter(|o| !o.page)
        .map(|o| {
            o.feed_title
                .as_deref()
                .or_else(|| config.source(&o.source).and_then(|s| s.title.as_deref()))
                .unwrap_or(o.source.as_str())
        })
        .unwrap_or(config.site.title.as_str());
    // Only links a browser follows to a page: the gate made them absolute.
    let web = |u: &&str| u.starts_with("https://") || u.starts_with("http://");
    Headline {
        id: &item.id,
        title: &item.title,
        url: item.link.as_deref().filter(web),
        date_published: data.local(item.published).to_rfc3339(),
        when: crate::localtime::in_words(item.published, config.site.timezone, locale),
        source,
        summary: look
            .summary
            .then_some(item.summary.as_deref())
            .flatten()
            .map(|s| cut(s, SUMMARY_CHARS)),
        image: look
            .image
            .then_some(item.image.as_deref())
            .flatten()
            .filter(web),
    }
}

/// At most `max` characters of `s`, cut after a word, with an ellipsis.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let head: String = s.chars().take(max).collect();
    let at = head.rfind(char::is_whitespace).unwrap_or(head.len());
    format!("{}…", head[..at].trim_end())
}

/// The data `/embed/{feed}.js` builds its list from: the view's items as
/// the page shows them, the look, and how often to look again (`ttl`).
pub fn data(data: &FeedData<'_>, look: Look) -> Vec<u8> {
    #[derive(Serialize)]
    struct Data<'a> {
        title: String,
        home_page_url: String,
        /// Seconds until the list may have changed: the feeds' `ttl`.
        ttl: u32,
        theme: &'static str,
        time: bool,
        items: Vec<Headline<'a>>,
    }
    let doc = Data {
        title: data.title(),
        home_page_url: data.url(Format::Html),
        ttl: data.config.site.ttl * 60,
        theme: look.theme.as_str(),
        time: look.time,
        items: data.items.iter().map(|i| headline(data, i, look)).collect(),
    };
    serde_json::to_vec(&doc).expect("plain data serializes")
}

/// The page to put in an `<iframe>`.
pub fn page(data: &FeedData<'_>, look: Look) -> Vec<u8> {
    let config = data.config;
    let title = data.title();
    let assets = assets_from(data.feed);
    let mut out = String::with_capacity(4096);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<link rel=\"stylesheet\" href=\"{assets}widget.css\">\n\
         <script src=\"{assets}frame.js\" defer></script>\n</head>\n<body>\n\
         <section class=\"nw\" data-theme=\"{}\">\n<h2><a href=\"{}\" target=\"_blank\" rel=\"noopener\">{}</a></h2>\n",
        escape(config.site.language.as_str()),
        escape(title.as_str()),
        look.theme.as_str(),
        escape(data.url(Format::Html).as_str()),
        escape(title.as_str()),
    );
    if data.items.is_empty() {
        out.push_str("<p class=\"empty\">No headlines.</p>\n");
    } else {
        out.push_str("<ol>\n");
        for item in data.items {
            let h = headline(data, item, look);
            out.push_str("<li>");
            if let Some(image) = h.image {
                let _ = write!(
                    out,
                    "<img src=\"{}\" alt=\"\" loading=\"lazy\" referrerpolicy=\"no-referrer\">",
                    escape(image)
                );
            }
            match h.url {
                Some(url) => {
                    let _ = write!(
                        out,
                        "<a href=\"{}\" target=\"_blank\" rel=\"noopener\">{}</a>",
                        escape(url),
                        escape(h.title)
                    );
                }
                None => out.push_str(&escape(h.title)),
            }
            out.push_str("<span class=\"meta\">");
            if look.time {
                let _ = write!(
                    out,
                    "<time datetime=\"{}\">{}</time> · ",
                    h.date_published,
                    escape(h.when.as_str())
                );
            }
            let _ = write!(out, "{}</span>", escape(h.source));
            if let Some(summary) = &h.summary {
                let _ = write!(out, "<p>{}</p>", escape(summary.as_str()));
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ol>\n");
    }
    out.push_str("</section>\n</body>\n</html>\n");
    out.into_bytes()
}

/// The snippets a host page copies, with absolute addresses under the
/// site's `feeds_url`.
pub fn snippets(config: &Config, feed: &FeedId) -> (String, String) {
    let base = config.feeds_base();
    let page = format!("{base}{}?limit=5", path(feed, "html"));
    let origin = url::Url::parse(base)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let frame = format!(
        "<iframe src=\"{page}\" title=\"{}\" data-newswire style=\"width:100%;border:0\" height=\"420\"></iframe>\n\
         <script>addEventListener(\"message\", e => {{ if (e.origin !== \"{origin}\" || !e.data || e.data.newswire !== \"resize\") return;\n\
         \u{20} for (const f of document.querySelectorAll(\"iframe[data-newswire]\")) if (f.contentWindow === e.source) f.style.height = e.data.height + \"px\"; }});</script>",
        crate::catalog::title(config, feed).replace('"', "&quot;")
    );
    let script = format!(
        "<script src=\"{base}{}\" data-limit=\"5\" async></script>",
        path(feed, "js")
    );
    (frame, script)
}
