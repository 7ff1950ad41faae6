//! `newswire.toml` to a typed, validated [`Config`]. Errors name the file, the key
//! and what was expected, because the person reading them is editing that file.

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

mod entries;
mod schema;
mod units;
mod urls;
mod validate;

pub use entries::EntryError;
pub use schema::*;
pub use units::{duration, is_slug, line_of};
pub use urls::{HUB_PATH, host_of};
pub use validate::MAX_SELECTOR;

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
    pub embed: Embed,
    /// The sources, scrapes and timelines the file declares, as the
    /// catalog keeps them: the file wins for these names.
    pub declared: Vec<crate::model::CatalogEntry>,
    /// The fingerprint of the file's text: a watch that starts after the
    /// file changed sees that it did.
    pub fingerprint: String,
    /// Where each of `sources` is, by name ([`Config::index_sources`]): a
    /// round of polls looks every source up twice, which a scan of the
    /// list made quadratic in the number of sources.
    source_at: std::collections::HashMap<String, usize>,
}

impl Config {
    pub fn load(file: &Path) -> Result<Config, ConfigError> {
        Config::load_with(file, |_| Ok(Vec::new()))
    }

    /// [`Config::load`], with feed sources that `more` finds elsewhere than in
    /// the file (the site reads the outlines of `fetch.opml`: the config reads
    /// no other file), checked with the rest.
    pub fn load_with(
        file: &Path,
        more: impl FnOnce(&Config) -> Result<Vec<SourceConfig>, ConfigError>,
    ) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
            file: file.to_owned(),
            source,
        })?;
        Config::parse_with(file, &text, more)
    }

    pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
        Config::parse_with(file, text, |_| Ok(Vec::new()))
    }

    /// [`Config::parse`] with more feed sources (see [`Config::load_with`]),
    /// which come after the `[[sources]]` and before the scrapes.
    pub fn parse_with(
        file: &Path,
        text: &str,
        more: impl FnOnce(&Config) -> Result<Vec<SourceConfig>, ConfigError>,
    ) -> Result<Config, ConfigError> {
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
            embed: raw.embed,
            declared: Vec::new(),
            fingerprint: crate::hash::fingerprint(text.as_bytes()),
            source_at: std::collections::HashMap::new(),
        };
        let more = more(&config)?;
        config.declared = entries::declared(text, &more).map_err(|e| ConfigError::Parse {
            file: file.to_owned(),
            line: 1,
            message: e.message().to_owned(),
        })?;
        config.sources.extend(more);
        config
            .sources
            .extend(raw.scrapes.into_iter().map(SourceConfig::scrape));
        config.index_sources();
        config.validate()?;
        Ok(config)
    }

    pub(super) fn invalid(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.clone(),
            key: key.into(),
            message: message.into(),
        }
    }

    pub fn source(&self, name: &str) -> Option<&SourceConfig> {
        // The name is checked: a list changed without a new index is still
        // answered right, by a scan.
        let indexed = self.source_at.get(name).and_then(|&i| self.sources.get(i));
        match indexed.filter(|s| s.name == name) {
            Some(s) => Some(s),
            None => self.sources.iter().find(|s| s.name == name),
        }
    }

    /// Indexes `sources` by name again, after they changed.
    pub(crate) fn index_sources(&mut self) {
        self.source_at = (self.sources.iter().enumerate())
            .map(|(i, s)| (s.name.clone(), i))
            .collect();
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

    /// The error a config in `site.toml` gets.
    fn refused(text: &str) -> String {
        Config::parse(Path::new("site.toml"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let bad_tz = MINIMAL.replace("Africa/Casablanca", "Mars/Olympus");
        let e = refused(&bad_tz);
        assert!(e.starts_with("site.toml:7:"), "{e}");
        assert!(e.contains("Mars/Olympus"), "{e}");

        let reserved = format!("{MINIMAL}\n[[category]]\nslug = \"all\"\ntitle = \"All\"\n");
        let e = refused(&reserved);
        assert!(
            e.contains("category[0].slug") && e.contains("reserved"),
            "{e}"
        );

        let no_time = format!("{MINIMAL}\n[server]\nsend_timeout = 0\n");
        let e = refused(&no_time);
        assert!(
            e.contains("server.send_timeout") && e.contains("at least 1"),
            "{e}"
        );

        // A ttl past a week would overflow max-age (seconds in a u32).
        let forever = MINIMAL.replace("tag_start", "ttl = 4294967295\ntag_start");
        let e = refused(&forever);
        assert!(e.contains("site.ttl") && e.contains("a week"), "{e}");
        let control = MINIMAL.replace("title = \"T\"", "title = \"T\\u0007\"");
        let e = refused(&control);
        assert!(e.contains("site.title") && e.contains("U+0007"), "{e}");

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
