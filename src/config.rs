//! `newswire.toml` to a typed, validated [`Config`]. Errors name the file, the key
//! and what was expected, because the person reading them is editing that file.

use crate::model::FeedId;
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
    pub server: Server,
    pub store: StoreConfig,
    pub api: Api,
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
    server: Server,
    #[serde(default)]
    store: StoreConfig,
    #[serde(default)]
    api: Api,
}

fn default_language() -> String {
    "en".into()
}
fn default_feed_size() -> usize {
    50
}
fn default_ttl() -> u32 {
    5
}

mod tz_name {
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
        let name = String::deserialize(d)?;
        name.parse::<Tz>().map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown time zone {name:?} (an IANA name such as \"Africa/Casablanca\")"
            ))
        })
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
        let config = Config {
            file: file.to_owned(),
            site: raw.site,
            categories: raw.categories,
            timelines: raw.timelines,
            server: raw.server,
            store: raw.store,
            api: raw.api,
        };
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
        for (key, url) in [
            ("site.url", &self.site.url),
            ("site.feeds_url", &self.site.feeds_url),
        ] {
            let parsed = url::Url::parse(url).ok();
            if !parsed
                .as_ref()
                .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            {
                return Err(self.invalid(
                    key,
                    format!("expected an absolute http(s) URL, got {url:?}"),
                ));
            }
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
            if let Some(s) = t.sources.first() {
                return Err(self.invalid(&key("sources"), format!("unknown source {s:?}")));
            }
            if t.categories.is_empty() {
                return Err(self.invalid(&key("categories"), "a timeline merges at least one feed"));
            }
            if !(1..=MAX_TIMELINE_LIMIT).contains(&t.limit) {
                return Err(
                    self.invalid(&key("limit"), format!("expected 1 to {MAX_TIMELINE_LIMIT}"))
                );
            }
        }
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
