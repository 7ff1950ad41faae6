//! HTML pages into items by configured selectors (`[[scrapes]]`): a site with
//! no feed and no CMS hook, read as a person reads it.
//!
//! - **The list page** gives one entry per `list.item` element. A ticker's
//!   `HH:MM` times are dated by the same code as the files' tickers
//!   ([`crate::content::ticker`]): the newest item is today's (yesterday's when
//!   its time is still to come), and the list steps back a day where it
//!   crosses midnight. A ticker that runs together in one element is split as
//!   `feeds/breaking` is.
//! - **Article pages** (`[scrapes.article]`) fill the body, date, author,
//!   category and image; `remove` drops noise first, relative URLs become
//!   absolute, and the gate sanitizes what is left. With `readability`, the
//!   main text is found by dom_smoothie (a port of Mozilla's Readability).
//! - **Ids** are the item's link, or for a ticker line without one its day,
//!   time and headline; so a headline corrected under the same link updates
//!   its item.
//! - **A layout change** that leaves a selector matching nothing is an error,
//!   never an empty list: the source is reported failing and keeps its items.
//!
//! Parsing is html5ever's (through scraper), as in a browser.

mod article;
mod list;
pub mod report;

pub use article::{Article, article, readable};
pub use list::list;

use super::parse;
use scraper::{ElementRef, Selector};
use std::borrow::Cow;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ScrapeError {
    #[error("{field} `{css}` matched nothing on {url} (has the page's layout changed?)")]
    NoMatch {
        field: &'static str,
        css: String,
        url: String,
    },
    #[error("{field} `{css}` is not a CSS selector")]
    Selector { field: &'static str, css: String },
    #[error(transparent)]
    Refused(#[from] crate::depth::Refused),
}

/// What one selector matched, for `newswire scrape --dry-run`.
#[derive(Debug, Clone)]
pub struct Probe {
    pub field: &'static str,
    pub css: String,
    /// Elements matched: in how many list items, or on the article page.
    pub matched: usize,
    /// What it gave, as text (cut short).
    pub sample: Option<String>,
}

fn selector(field: &'static str, css: &str) -> Result<Selector, ScrapeError> {
    Selector::parse(css).map_err(|_| ScrapeError::Selector {
        field,
        css: css.to_owned(),
    })
}

/// An element's text as a reader sees it: whitespace runs made one space.
fn text_of(el: ElementRef<'_>) -> String {
    squash(&el.text().collect::<String>())
}

/// Text with each run of whitespace made one space, as a browser shows it.
pub fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A page's text: the encoding from the BOM, the HTTP charset, then a
/// `<meta charset>` near the top, else UTF-8 (windows-1252 when it is not).
pub fn decode<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    let declared = parse::decode::charset(content_type).or_else(|| meta_charset(body));
    parse::decode::decode(body, declared)
}

fn meta_charset(body: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = String::from_utf8_lossy(&body[..body.len().min(2048)]).to_ascii_lowercase();
    let at = head.find("charset=")? + "charset=".len();
    let name: String = head[at..]
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    encoding_rs::Encoding::for_label(name.as_bytes())
}

#[cfg(test)]
mod tests;
