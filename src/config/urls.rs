//! The URLs of the site: where newswire is reachable, the `tag:` authority,
//! the hubs every document advertises.

use super::Config;

/// Where the built-in WebSub hub answers.
pub const HUB_PATH: &str = "/websub/hub";

impl Config {
    /// The `tag:` URI prefix of every id this site mints: `tag:news.example.com,2026-02-01:`.
    pub fn tag_prefix(&self) -> String {
        format!(
            "tag:{},{}:",
            host_of(&self.site.url),
            self.site.tag_start.format("%Y-%m-%d")
        )
    }

    /// The newswire base URL without a trailing slash.
    pub fn feeds_base(&self) -> &str {
        self.site.feeds_url.trim_end_matches('/')
    }

    /// The built-in WebSub hub's URL, when it is on.
    pub fn hub_url(&self) -> Option<String> {
        self.websub
            .hub
            .then(|| format!("{}{}", self.feeds_base(), HUB_PATH))
    }

    /// Every hub a feed advertises: the built-in one first, then the others.
    pub fn hubs(&self) -> Vec<String> {
        self.hub_url()
            .into_iter()
            .chain(self.websub.hubs.iter().cloned())
            .collect()
    }

    /// The `Link` header of a topic's documents and of its WebSub
    /// deliveries: its hubs, then itself.
    pub fn link_header(&self, topic: &str) -> String {
        self.hubs()
            .iter()
            .map(|h| format!("<{h}>; rel=\"hub\""))
            .chain(std::iter::once(format!("<{topic}>; rel=\"self\"")))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn site_base(&self) -> &str {
        self.site.url.trim_end_matches('/')
    }
}

/// The host of an http(s) URL, lowercased, without port or credentials: the
/// authority of the site's `tag:` URIs.
pub fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}
