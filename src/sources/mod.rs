//! Third-party content in (Miniflux's `reader/` split): `fetch` is the HTTP
//! client every external source goes through, `parse` turns any feed format
//! into items (with `dates` for the dates feed-rs drops), `scrape` reads HTML
//! pages by configured selectors, `opml` reads
//! subscription lists, `discover` finds a site's feeds from its address and
//! `preview` shows what a feed or a scrape would store. Nothing here writes the store: the poller
//! ([`crate::poller`]) does, with what these return.

pub mod dates;
pub mod discover;
pub mod fetch;
pub mod opml;
pub mod parse;
pub mod preview;
pub mod scrape;
