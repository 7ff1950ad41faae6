//! `newswire.toml` to a typed, validated [`Config`]. Errors name the file, the key
//! and what was expected, because the person reading them is editing that file.

use crate::model::FeedId;
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    Parse {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{file}: key `{key}`: {message}")]
    Invalid {
        file: PathBuf,
        key: String,
        message: String,
    },
}

/// The whole configuration: the site, its categories and how to serve and store it.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from; content paths are relative to its folder.
    pub file: PathBuf,
    pub site: Site,
    pub categories: Vec<Category>,
    pub timelines: Vec<Timeline>,
    /// External feeds polled into the store (`[[sources]]`, and the outlines of
    /// `fetch.opml`), in config order.
    pub sources: Vec<SourceConfig>,
    pub fetch: Fetch,
    pub server: Server,
    pub store: StoreConfig,
    pub api: Api,
    pub websub: WebSub,
}

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
            scrape: None,
        }
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
        }
    }
}

impl Fetch {
    /// A source's polling interval: its own or the default, within the bounds.
    pub fn interval_of(&self, source: &SourceConfig) -> Duration {
        source
            .interval
            .unwrap_or(self.interval)
            .clamp(self.min_interval, self.max_interval.max(self.min_interval))
    }
}

/// Durations written as people write them: `90s`, `15m`, `2h`, `30d`, or a
/// number of seconds.
pub mod duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn parse(text: &str) -> Result<Duration, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let n: u64 = number
            .parse()
            .map_err(|_| format!("expected a duration such as \"15m\", got {text:?}"))?;
        let unit = match unit.trim() {
            "" | "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86400,
            _ => return Err(format!("unknown unit in {text:?} (s, m, h or d)")),
        };
        Ok(Duration::from_secs(n.saturating_mul(unit)))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(u64),
        Text(String),
    }

    fn from_raw(raw: Raw) -> Result<Duration, String> {
        match raw {
            Raw::Seconds(n) => Ok(Duration::from_secs(n)),
            Raw::Text(t) => parse(&t),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        from_raw(Raw::deserialize(d)?).map_err(serde::de::Error::custom)
    }

    pub mod option {
        use super::*;
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            Option::<Raw>::deserialize(d)?
                .map(from_raw)
                .transpose()
                .map_err(serde::de::Error::custom)
        }
    }
}

fn default_timeline_limit() -> usize {
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
}

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: ([127, 0, 0, 1], 8080).into(),
            max_body: 1 << 20,
            header_timeout: 10,
            send_timeout: 60,
            metrics: true,
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
}

impl Default for WebSub {
    fn default() -> Self {
        WebSub {
            hub: true,
            hubs: Vec::new(),
            subscribe: true,
            lease: Duration::from_secs(10 * 86_400),
            max_lease: Duration::from_secs(30 * 86_400),
        }
    }
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
struct RawConfig {
    site: Site,
    #[serde(default, rename = "category")]
    categories: Vec<Category>,
    #[serde(default)]
    timelines: Vec<Timeline>,
    #[serde(default)]
    sources: Vec<SourceConfig>,
    #[serde(default)]
    scrapes: Vec<ScrapeConfig>,
    #[serde(default)]
    fetch: Fetch,
    #[serde(default)]
    server: Server,
    #[serde(default)]
    store: StoreConfig,
    #[serde(default)]
    api: Api,
    #[serde(default)]
    websub: WebSub,
}

fn default_language() -> String {
    "en".into()
}
fn default_feed_size() -> usize {
    50
}
/// The longest `site.ttl`, in minutes: a week.
const MAX_TTL: u32 = 7 * 24 * 60;

fn default_ttl() -> u32 {
    5
}

mod tz_name {
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer};
    fn zone<E: serde::de::Error>(name: String) -> Result<Tz, E> {
        name.parse::<Tz>().map_err(|_| {
            E::custom(format!(
                "unknown time zone {name:?} (an IANA name such as \"Africa/Casablanca\")"
            ))
        })
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
        zone(String::deserialize(d)?)
    }
    pub mod option {
        use super::*;
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Tz>, D::Error> {
            Option::<String>::deserialize(d)?.map(zone).transpose()
        }
    }
}

impl Config {
    pub fn load(file: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
            file: file.to_owned(),
            source,
        })?;
        Config::parse(file, &text)
    }

    pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            file: file.to_owned(),
            line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
            message: e.message().to_owned(),
        })?;
        let mut config = Config {
            file: file.to_owned(),
            site: raw.site,
            categories: raw.categories,
            timelines: raw.timelines,
            sources: raw.sources,
            fetch: raw.fetch,
            server: raw.server,
            store: raw.store,
            api: raw.api,
            websub: raw.websub,
        };
        if let Some(opml) = config.fetch.opml.clone() {
            let path = config.root().join(&opml);
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                file: path.clone(),
                source,
            })?;
            let outlines =
                crate::sources::opml::sources(&text).map_err(|message| ConfigError::Invalid {
                    file: path.clone(),
                    key: "fetch.opml".into(),
                    message,
                })?;
            for (title, url) in outlines {
                let name =
                    crate::sources::opml::unique_slug(&title, &url, |n| config.source(n).is_some());
                config.sources.push(SourceConfig::feed(name, url));
            }
        }
        // A scrape is a source like any other: polled, listed, fetched now,
        // merged into timelines by its name.
        for scrape in raw.scrapes {
            config.sources.push(SourceConfig {
                title: scrape.title.clone(),
                interval: scrape.interval,
                categories: vec![scrape.category.clone()],
                scrape: Some(std::sync::Arc::new(scrape.clone())),
                ..SourceConfig::feed(scrape.name.clone(), scrape.url.clone())
            });
        }
        config.validate()?;
        Ok(config)
    }

    fn invalid(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.clone(),
            key: key.into(),
            message: message.into(),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let hubs = self
            .websub
            .hubs
            .iter()
            .enumerate()
            .map(|(i, hub)| (format!("websub.hubs[{i}]"), hub));
        for (key, url) in [
            ("site.url".to_owned(), &self.site.url),
            ("site.feeds_url".to_owned(), &self.site.feeds_url),
        ]
        .into_iter()
        .chain(hubs)
        {
            let parsed = url::Url::parse(url).ok();
            if !parsed
                .as_ref()
                .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            {
                return Err(self.invalid(
                    &key,
                    format!("expected an absolute http(s) URL, got {url:?}"),
                ));
            }
        }
        if self.websub.lease.is_zero() || self.websub.max_lease < self.websub.lease {
            return Err(self.invalid(
                "websub.max_lease",
                "leases must be positive, and max_lease at least lease",
            ));
        }
        if matches!(
            url::Url::parse(&self.site.url).map(|u| u.host().map(|h| h.to_owned())),
            Ok(Some(url::Host::Ipv6(_)))
        ) {
            return Err(self.invalid(
                "site.url",
                "its host names the tag: URIs of every id, so it must be a DNS name",
            ));
        }
        if self.site.feed_size == 0 {
            return Err(self.invalid("site.feed_size", "expected at least 1"));
        }
        // Readers poll at least weekly; more would also overflow max-age and
        // take the year archive pages are kept for.
        if self.site.ttl > MAX_TTL {
            return Err(self.invalid(
                "site.ttl",
                format!("expected at most {MAX_TTL} (minutes: a week)"),
            ));
        }
        // The connection clock ticks in whole seconds; 0 would cut every client.
        for (key, secs) in [
            ("server.header_timeout", self.server.header_timeout),
            ("server.send_timeout", self.server.send_timeout),
        ] {
            if secs == 0 {
                return Err(self.invalid(key, "expected at least 1 (seconds)"));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, c) in self.categories.iter().enumerate() {
            let key = format!("category[{i}].slug");
            let valid = !c.slug.is_empty()
                && c.slug
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !valid {
                return Err(self.invalid(
                    &key,
                    format!(
                        "expected lowercase letters, digits and '-', got {:?}",
                        c.slug
                    ),
                ));
            }
            if c.slug == FeedId::ALL || c.slug == FeedId::BREAKING {
                return Err(self.invalid(
                    &key,
                    format!("{:?} is reserved for a built-in feed", c.slug),
                ));
            }
            if !seen.insert(&c.slug) {
                return Err(self.invalid(&key, format!("category {:?} is defined twice", c.slug)));
            }
        }
        let mut names = std::collections::HashSet::new();
        for (i, t) in self.timelines.iter().enumerate() {
            let key = |field: &str| format!("timelines[{i}].{field}");
            if t.name.is_empty()
                || !t
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(self.invalid(
                    &key("name"),
                    format!(
                        "expected lowercase letters, digits and '-', got {:?}",
                        t.name
                    ),
                ));
            }
            if !names.insert(&t.name) {
                return Err(self.invalid(
                    &key("name"),
                    format!("timeline {:?} is defined twice", t.name),
                ));
            }
            for c in &t.categories {
                if c != FeedId::ALL && c != FeedId::BREAKING && self.category(c).is_none() {
                    return Err(self.invalid(
                        &key("categories"),
                        format!("unknown feed {c:?} (a category slug, \"breaking\" or \"all\")"),
                    ));
                }
            }
            if let Some(s) = t.sources.iter().find(|s| self.source(s).is_none()) {
                return Err(self.invalid(&key("sources"), format!("unknown source {s:?}")));
            }
            if t.categories.is_empty() && t.sources.is_empty() {
                return Err(self.invalid(
                    &key("categories"),
                    "a timeline merges at least one feed or source",
                ));
            }
            if !(1..=MAX_TIMELINE_LIMIT).contains(&t.limit) {
                return Err(
                    self.invalid(&key("limit"), format!("expected 1 to {MAX_TIMELINE_LIMIT}"))
                );
            }
        }
        self.validate_sources()?;
        for (i, t) in self.api.tokens.iter().enumerate() {
            if t.token.len() < 16 {
                return Err(self.invalid(
                    &format!("api.token[{i}].token"),
                    "expected at least 16 characters",
                ));
            }
        }
        Ok(())
    }

    fn validate_sources(&self) -> Result<(), ConfigError> {
        let f = &self.fetch;
        for (key, value) in [
            ("fetch.min_interval", f.min_interval),
            ("fetch.timeout", f.timeout),
            ("fetch.connect_timeout", f.connect_timeout),
        ] {
            if value.is_zero() {
                return Err(self.invalid(key, "expected a duration of at least 1s"));
            }
        }
        for (key, value) in [
            ("fetch.max_body", f.max_body),
            ("fetch.per_host", f.per_host),
            ("fetch.concurrency", f.concurrency),
        ] {
            if value == 0 {
                return Err(self.invalid(key, "expected at least 1"));
            }
        }
        let mut names = std::collections::HashSet::new();
        let scrapes = self.sources.iter().filter(|s| s.scrape.is_some()).count();
        let feeds = self.sources.len() - scrapes;
        for (i, s) in self.sources.iter().enumerate() {
            // Scrapes come after the feeds: name them by their own table.
            let key = |field: &str| match s.scrape {
                Some(_) => format!("scrapes[{}].{field}", i - feeds),
                None => format!("sources[{i}].{field}"),
            };
            if !is_slug(&s.name) {
                return Err(self.invalid(
                    &key("name"),
                    format!(
                        "expected lowercase letters, digits and '-', got {:?}",
                        s.name
                    ),
                ));
            }
            if !names.insert(&s.name) {
                return Err(self.invalid(
                    &key("name"),
                    format!("source {:?} is defined twice", s.name),
                ));
            }
            let url = url::Url::parse(&s.url).ok();
            if !url
                .as_ref()
                .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            {
                return Err(self.invalid(
                    &key("url"),
                    format!("expected an absolute http(s) URL, got {:?}", s.url),
                ));
            }
            if let Some(scrape) = &s.scrape {
                self.validate_scrape(scrape, &key)?;
            } else if let Some(c) = s.categories.iter().find(|c| self.category(c).is_none()) {
                return Err(self.invalid(&key("categories"), format!("unknown category {c:?}")));
            }
        }
        Ok(())
    }

    /// A scrape's category, selectors and languages; `key` names a field.
    fn validate_scrape(
        &self,
        s: &ScrapeConfig,
        key: &dyn Fn(&str) -> String,
    ) -> Result<(), ConfigError> {
        if s.category != FeedId::BREAKING && self.category(&s.category).is_none() {
            return Err(self.invalid(
                &key("category"),
                format!(
                    "unknown category {:?} (a category slug or \"breaking\")",
                    s.category
                ),
            ));
        }
        let a = s.article.clone().unwrap_or_default();
        let selectors = [
            ("list.item", Some(&s.list.item)),
            ("list.time", s.list.time.as_ref()),
            ("list.title", s.list.title.as_ref()),
            ("list.link", s.list.link.as_ref()),
            ("article.title", a.title.as_ref()),
            ("article.date", a.date.as_ref()),
            ("article.author", a.author.as_ref()),
            ("article.category", a.category.as_ref()),
            ("article.image", a.image.as_ref()),
            ("article.body", a.body.as_ref()),
        ];
        let removes = a.remove.iter().map(|r| ("article.remove", Some(r)));
        for (field, css) in selectors.into_iter().chain(removes) {
            if let Some(css) = css
                && let Err(e) = scraper::Selector::parse(css)
            {
                return Err(self.invalid(&key(field), format!("not a CSS selector: {css:?} ({e})")));
            }
        }
        for (field, lang) in [
            ("list.language", s.list.language.as_ref()),
            ("article.language", a.language.as_ref()),
        ] {
            if let Some(lang) = lang
                && !crate::sources::scrape::LANGUAGES.contains(&lang.as_str())
            {
                return Err(self.invalid(
                    &key(field),
                    format!(
                        "unknown language {lang:?} (one of: {})",
                        crate::sources::scrape::LANGUAGES.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn source(&self, name: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.name == name)
    }

    /// The folder content paths are relative to.
    pub fn root(&self) -> PathBuf {
        self.file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    pub fn category(&self, slug: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.slug == slug)
    }

    /// `all`, `breaking`, then the categories in config order. `all` comes first
    /// because readers that take the first autodiscovery link should get everything.
    pub fn timeline(&self, name: &str) -> Option<&Timeline> {
        self.timelines.iter().find(|t| t.name == name)
    }

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
            .then(|| format!("{}{}", self.feeds_base(), crate::websub::HUB_PATH))
    }

    /// Every hub a feed advertises: the built-in one first, then the others.
    pub fn hubs(&self) -> Vec<String> {
        self.hub_url()
            .into_iter()
            .chain(self.websub.hubs.iter().cloned())
            .collect()
    }

    pub fn site_base(&self) -> &str {
        self.site.url.trim_end_matches('/')
    }

    /// Where SQLite keeps its file: as configured (relative to the config file), else
    /// `./data`, so the content folder never holds the database.
    pub fn data_dir(&self) -> PathBuf {
        match &self.store.data_dir {
            Some(dir) if dir.is_absolute() => dir.clone(),
            Some(dir) => self.root().join(dir),
            None => PathBuf::from("data"),
        }
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

/// Lowercase ASCII letters, digits and `-`, not empty: names that fit a URL and
/// a file name as they are.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// 1-based line of a byte offset, for file:line messages.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[site]
title = "T"
description = "D"
url = "https://news.example.com"
feeds_url = "http://127.0.0.1:8080"
timezone = "Africa/Casablanca"
author = "Desk"
tag_start = "2026-02-01"
"#;

    #[test]
    fn minimal_config_gets_defaults() {
        let c = Config::parse(Path::new("x.toml"), MINIMAL).unwrap();
        assert_eq!(c.site.feed_size, 50);
        assert_eq!(c.tag_prefix(), "tag:news.example.com,2026-02-01:");
        assert_eq!(c.server.max_body, 1 << 20);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let bad_tz = MINIMAL.replace("Africa/Casablanca", "Mars/Olympus");
        let e = Config::parse(Path::new("site.toml"), &bad_tz)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("site.toml:7:"), "{e}");
        assert!(e.contains("Mars/Olympus"), "{e}");

        let reserved = format!("{MINIMAL}\n[[category]]\nslug = \"all\"\ntitle = \"All\"\n");
        let e = Config::parse(Path::new("site.toml"), &reserved)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("category[0].slug") && e.contains("reserved"),
            "{e}"
        );

        let no_time = format!("{MINIMAL}\n[server]\nsend_timeout = 0\n");
        let e = Config::parse(Path::new("site.toml"), &no_time)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("server.send_timeout") && e.contains("at least 1"),
            "{e}"
        );

        // A ttl past a week would overflow max-age (seconds in a u32).
        let forever = MINIMAL.replace("tag_start", "ttl = 4294967295\ntag_start");
        let e = Config::parse(Path::new("site.toml"), &forever)
            .unwrap_err()
            .to_string();
        assert!(e.contains("site.ttl") && e.contains("a week"), "{e}");
        let week = MINIMAL.replace("tag_start", "ttl = 10080\ntag_start");
        assert!(Config::parse(Path::new("site.toml"), &week).is_ok());
    }

    #[test]
    fn host_of_strips_port_and_path() {
        assert_eq!(
            host_of("https://user@news.example.com:8443/a?b"),
            "news.example.com"
        );
        // RFC 4151 tag authorities are lowercase DNS names.
        assert_eq!(host_of("https://News.Example.COM/"), "news.example.com");
    }
}
