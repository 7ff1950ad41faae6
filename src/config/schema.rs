//! The shape of `newswire.toml`: one struct per table, as serde reads it.
//! Checking what the values mean is [`super::validate`]'s job.

use super::units::{duration, tz_name};
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub title: String,
    pub description: String,
    /// The news site itself; article permalinks default to `{url}/articles/{id}`.
    pub url: String,
    /// Where newswire is reachable by readers: self links, OPML, HTML pages.
    pub feeds_url: String,
    #[serde(default = "default_language")]
    pub language: String,
    #[serde(with = "tz_name")]
    pub timezone: Tz,
    pub author: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub logo: Option<String>,
    #[serde(default)]
    pub icon: Option<String>,
    #[serde(default)]
    pub copyright: Option<String>,
    /// Most items in one feed document.
    #[serde(default = "default_feed_size")]
    pub feed_size: usize,
    /// Minutes a reader may cache a feed (RSS `ttl`, HTTP max-age).
    #[serde(default = "default_ttl")]
    pub ttl: u32,
    /// The date in the `tag:` URIs (RFC 4151): a day the site owned its domain.
    /// Fixed once, because changing it changes every id.
    pub tag_start: NaiveDate,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// A timeline: feeds merged into one, newest first, each item once. Served at
/// `/timelines/{name}.rss|.atom|.json|.html`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeline {
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Local feeds merged in: category slugs, `breaking`, `all`.
    #[serde(default)]
    pub categories: Vec<String>,
    /// External sources merged in (`[[sources]]`, with aggregation).
    #[serde(default)]
    pub sources: Vec<String>,
    /// Most items in the timeline's documents.
    #[serde(default = "default_timeline_limit")]
    pub limit: usize,
}

/// An external feed (`[[sources]]`): polled, parsed, sanitized by the gate and
/// stored under its name, from where timelines (and categories) take its items.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    pub url: String,
    /// Shown instead of the upstream feed's own title.
    #[serde(default)]
    pub title: Option<String>,
    /// How often to poll; `fetch.interval` when unset, always within
    /// `fetch.min_interval..=fetch.max_interval`.
    #[serde(default, with = "duration::option")]
    pub interval: Option<Duration>,
    /// Keep only items whose title, summary or tags contain one of these words
    /// (case-insensitive); all when empty.
    #[serde(default)]
    pub include: Vec<String>,
    /// Drop items that contain one of these.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Local categories its items also appear in.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Fill items whose feed carries only a summary with the main text of
    /// their page, extracted by a readability crate. Opt-in: it costs a
    /// request per new item, to the upstream's site.
    #[serde(default)]
    pub readability: bool,
    /// Most items it keeps; `fetch.max_items` when unset.
    #[serde(default)]
    pub max_items: Option<usize>,
    /// Set for a `[[scrapes]]` entry: the page is HTML, read by selectors.
    #[serde(skip)]
    pub scrape: Option<std::sync::Arc<ScrapeConfig>>,
}

impl SourceConfig {
    /// A feed source with no options set.
    pub fn feed(name: String, url: String) -> SourceConfig {
        SourceConfig {
            name,
            url,
            title: None,
            interval: None,
            include: Vec::new(),
            exclude: Vec::new(),
            categories: Vec::new(),
            readability: false,
            max_items: None,
            scrape: None,
        }
    }

    /// A scrape is a source like any other: polled, listed, fetched now,
    /// merged into timelines by its name.
    pub fn scrape(scrape: ScrapeConfig) -> SourceConfig {
        SourceConfig {
            title: scrape.title.clone(),
            interval: scrape.interval,
            max_items: scrape.max_items,
            categories: vec![scrape.category.clone()],
            ..SourceConfig::feed(scrape.name.clone(), scrape.url.clone())
        }
        .with_scrape(scrape)
    }

    fn with_scrape(mut self, scrape: ScrapeConfig) -> SourceConfig {
        self.scrape = Some(std::sync::Arc::new(scrape));
        self
    }

    /// What its items are stored as coming from.
    pub fn item_source(&self) -> crate::model::Source {
        match self.scrape {
            Some(_) => crate::model::Source::Scrape(self.name.clone()),
            None => crate::model::Source::Feed(self.name.clone()),
        }
    }
}

/// An HTML page turned into items by CSS selectors (`[[scrapes]]`): a list
/// page, and optionally the article page behind each of its links. Polled as
/// a source like any other (it becomes one in [`Config::sources`]), under the
/// same fetch policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    pub name: String,
    /// The list page.
    pub url: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, with = "duration::option")]
    pub interval: Option<Duration>,
    /// Where the items go: `breaking` (ticker items) or a category slug.
    pub category: String,
    /// The zone of the page's times; `site.timezone` when unset.
    #[serde(default, with = "tz_name::option")]
    pub timezone: Option<Tz>,
    /// Most items it keeps; `fetch.max_items` when unset.
    #[serde(default)]
    pub max_items: Option<usize>,
    pub list: ListSelectors,
    #[serde(default)]
    pub article: Option<ArticleSelectors>,
}

/// Selectors of the list page: one `item` element per item, the others
/// inside it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListSelectors {
    pub item: String,
    /// Text holding `HH:MM` (a ticker, dated as the files' tickers are), or a
    /// full date read with `date_format`. Without it, an item whose text runs
    /// `HH:MM headline HH:MM headline` is split as in `feeds/breaking`.
    #[serde(default)]
    pub time: Option<String>,
    /// The headline's text; the item's own text when unset.
    #[serde(default)]
    pub title: Option<String>,
    /// The element whose `href` is the item's page.
    #[serde(default)]
    pub link: Option<String>,
    /// For full dates in `time`; the article's `date_format` when unset.
    #[serde(default)]
    pub date_format: Option<String>,
    /// The language of month and day names in `time`.
    #[serde(default)]
    pub language: Option<String>,
}

/// Selectors of the page behind each list link.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleSelectors {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
    /// A chrono format (`%A %d %B %Y - %H:%M`); RFC 3339, RFC 2822 and a
    /// `<time datetime>` are read without one.
    #[serde(default)]
    pub date_format: Option<String>,
    /// Of month and day names in dates: `en` (default) or `fr`.
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    /// Elements dropped from the page before anything is read: banners,
    /// widgets, "read more" links.
    #[serde(default)]
    pub remove: Vec<String>,
    /// Without `body`: the page's main text, by a readability crate.
    #[serde(default)]
    pub readability: bool,
}

/// How external feeds are fetched and kept (`[fetch]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fetch {
    /// Fetch from loopback, private and link-local addresses: for tests and
    /// intranets only, since a feed URL (or a redirect) could otherwise make the
    /// server probe its own network.
    pub allow_private_networks: bool,
    /// An OPML file (relative to the config file) whose outlines with an
    /// `xmlUrl` become sources, named by the slug of their text.
    pub opml: Option<PathBuf>,
    #[serde(with = "duration")]
    pub interval: Duration,
    #[serde(with = "duration")]
    pub min_interval: Duration,
    #[serde(with = "duration")]
    pub max_interval: Duration,
    /// The whole exchange with upstream, redirects and body included.
    #[serde(with = "duration")]
    pub timeout: Duration,
    #[serde(with = "duration")]
    pub connect_timeout: Duration,
    /// Largest upstream body, decoded, in bytes.
    pub max_body: usize,
    pub max_redirects: usize,
    /// Requests at once to one host.
    pub per_host: usize,
    /// Sources fetched at once by this instance.
    pub concurrency: usize,
    /// External items older than this are dropped from the store.
    #[serde(with = "duration")]
    pub retention: Duration,
    /// Most entries taken from one document (its first, in its order).
    pub max_entries: usize,
    /// Most items one source keeps in the store, unless its own
    /// `max_items` says otherwise: the oldest go first, never one its
    /// current document still carries.
    pub max_items: usize,
    /// The time reading, sanitizing and storing one document may take; a
    /// poll past it is cut off, reported and backed off.
    #[serde(with = "duration")]
    pub budget: Duration,
}

impl Default for Fetch {
    fn default() -> Self {
        Fetch {
            allow_private_networks: false,
            opml: None,
            interval: Duration::from_secs(15 * 60),
            min_interval: Duration::from_secs(60),
            max_interval: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_body: 8 << 20,
            max_redirects: 5,
            per_host: 2,
            concurrency: 16,
            retention: Duration::from_secs(30 * 24 * 3600),
            max_entries: 1000,
            max_items: 500,
            budget: Duration::from_secs(10),
        }
    }
}

impl Fetch {
    /// The most items a source keeps: its own bound or the default.
    pub fn max_items_of(&self, source: &SourceConfig) -> usize {
        source.max_items.unwrap_or(self.max_items)
    }

    /// A source's polling interval: its own or the default, within the bounds.
    pub fn interval_of(&self, source: &SourceConfig) -> Duration {
        source
            .interval
            .unwrap_or(self.interval)
            .clamp(self.min_interval, self.max_interval.max(self.min_interval))
    }
}

/// Most items in a timeline's documents when its entry does not say.
pub fn default_timeline_limit() -> usize {
    100
}

/// The most items a timeline document may hold.
pub const MAX_TIMELINE_LIMIT: usize = 1000;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    pub listen: SocketAddr,
    /// Largest request body the API accepts, in bytes.
    pub max_body: usize,
    /// Seconds a client may take to send its request headers, the next request's
    /// on a kept-alive connection included.
    pub header_timeout: u64,
    /// Seconds a client may leave a response unread before it is cut off.
    pub send_timeout: u64,
    /// Serve `/metrics` (Prometheus text format).
    pub metrics: bool,
    /// Connections open at once, in all; more are answered 503 and closed.
    pub max_connections: usize,
    /// Connections open at once from one client address.
    pub max_connections_per_client: usize,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: ([127, 0, 0, 1], 8080).into(),
            max_body: 1 << 20,
            header_timeout: 10,
            send_timeout: 60,
            metrics: true,
            max_connections: 16_384,
            max_connections_per_client: 1024,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `postgres://…` to share one database between instances; unset means SQLite.
    pub url: Option<String>,
    /// Folder of the SQLite database, relative to the config file; `./data` when unset.
    pub data_dir: Option<PathBuf>,
}

/// WebSub (W3C Recommendation): the hubs every feed and timeline advertises,
/// and the built-in one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSub {
    /// The built-in hub at `/websub/hub`: on by default, and advertised first.
    pub hub: bool,
    /// Other hubs to advertise, and to notify when a document changes.
    pub hubs: Vec<String>,
    /// Subscribe to the hubs external sources advertise (callbacks under
    /// `site.feeds_url`, which must then reach this site).
    pub subscribe: bool,
    /// The lease a subscription gets when it asks for none.
    #[serde(with = "duration")]
    pub lease: Duration,
    /// The longest lease granted; longer requests get this.
    #[serde(with = "duration")]
    pub max_lease: Duration,
    /// Subscriptions the built-in hub holds at most, in all: each change
    /// is sent to every one of them.
    pub max_subscriptions: usize,
    /// Subscriptions at most whose callbacks are on one host.
    pub max_per_callback_host: usize,
    /// Subscriptions at most asked for from one client address.
    pub max_per_client: usize,
    /// Subscription requests a minute from one client address (a burst of
    /// as many is allowed).
    pub requests_per_minute: u32,
}

impl Default for WebSub {
    fn default() -> Self {
        WebSub {
            hub: true,
            hubs: Vec::new(),
            subscribe: true,
            lease: Duration::from_secs(10 * 86_400),
            max_lease: Duration::from_secs(30 * 86_400),
            max_subscriptions: 10_000,
            max_per_callback_host: 100,
            max_per_client: 100,
            requests_per_minute: 60,
        }
    }
}

/// The widget other sites embed (`/embed/…`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Embed {
    /// Which sites may put the widget's page in a frame: sources of CSP's
    /// `frame-ancestors` (`https://example.com`, `https://*.example.org`,
    /// `'self'`). Empty, the default: any site.
    #[serde(rename = "frame-ancestors")]
    pub frame_ancestors: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Api {
    #[serde(rename = "token")]
    pub tokens: Vec<Token>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    pub name: String,
    pub token: String,
    /// What it may write: `articles`, `breaking`.
    pub scopes: Vec<Scope>,
}

impl std::fmt::Debug for Token {
    // Tokens never reach a log, not even through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Articles,
    Breaking,
    /// Read the external sources' state and fetch them now.
    Sources,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) site: Site,
    #[serde(default, rename = "category")]
    pub(super) categories: Vec<Category>,
    #[serde(default)]
    pub(super) timelines: Vec<Timeline>,
    #[serde(default)]
    pub(super) sources: Vec<SourceConfig>,
    #[serde(default)]
    pub(super) scrapes: Vec<ScrapeConfig>,
    #[serde(default)]
    pub(super) fetch: Fetch,
    #[serde(default)]
    pub(super) server: Server,
    #[serde(default)]
    pub(super) store: StoreConfig,
    #[serde(default)]
    pub(super) api: Api,
    #[serde(default)]
    pub(super) websub: WebSub,
    #[serde(default)]
    pub(super) embed: Embed,
}

fn default_language() -> String {
    "en".into()
}
fn default_feed_size() -> usize {
    50
}
/// The longest `site.ttl`, in minutes: a week.
pub(super) const MAX_TTL: u32 = 7 * 24 * 60;

fn default_ttl() -> u32 {
    5
}
