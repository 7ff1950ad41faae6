//! What the values of a parsed config must mean: URLs that are URLs, slugs
//! that fit a URL, timelines of feeds that exist, selectors that parse. Each
//! error names the key, because the person reading it is editing that file.

use super::{Config, ConfigError, MAX_TIMELINE_LIMIT, MAX_TTL, ScrapeConfig, is_slug};
use crate::model::FeedId;
use std::collections::HashSet;

/// The longest selector taken: a selector is a few dozen characters, and
/// one of megabytes would only cost parsing time (the preview takes the same).
pub const MAX_SELECTOR: usize = 1000;

/// The longest URL taken (bytes): browsers and servers commonly stop at 8 KiB
/// for a whole request line, and no feed's address comes near.
pub const MAX_URL: usize = 4096;

impl Config {
    /// A name that fits a URL and a file name as it is, and that no other
    /// `what` of the config has.
    fn check_name<'a>(
        &self,
        key: &str,
        what: &str,
        name: &'a str,
        seen: &mut HashSet<&'a str>,
    ) -> Result<(), ConfigError> {
        if !is_slug(name) {
            return Err(self.invalid(
                key,
                format!("expected lowercase letters, digits and '-', got {name:?}"),
            ));
        }
        if !seen.insert(name) {
            return Err(self.invalid(key, format!("{what} {name:?} is defined twice")));
        }
        Ok(())
    }

    /// Text that documents show as is (titles, descriptions): no character
    /// XML 1.0 refuses (C0 controls but tab and line ends, U+FFFE, U+FFFF)
    /// nor C1 controls, which a reader would show as garbage. Entries come
    /// from editors through the API too, not only from this file.
    fn check_text(&self, key: &str, text: Option<&str>) -> Result<(), ConfigError> {
        let bad = |c: char| {
            (c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
                || ('\u{7f}'..='\u{9f}').contains(&c)
                || matches!(c, '\u{fffe}' | '\u{ffff}')
        };
        match text.and_then(|t| t.chars().find(|c| bad(*c))) {
            Some(c) => Err(self.invalid(
                key,
                format!(
                    "expected text without control characters, got U+{:04X}",
                    c as u32
                ),
            )),
            None => Ok(()),
        }
    }

    /// An absolute http(s) URL as written: the URL parser would quietly drop
    /// a tab or newline and percent-encode a space, a control character or
    /// markup, so a pasted fragment (`<script>`, a second line) became a
    /// fetched URL no editor wrote. Long ones are refused too: no feed's
    /// address runs to [`MAX_URL`] bytes.
    fn check_http_url(&self, key: &str, url: &str) -> Result<(), ConfigError> {
        if url.len() > MAX_URL {
            return Err(self.invalid(
                key,
                format!("a URL is at most {MAX_URL} bytes, got {}", url.len()),
            ));
        }
        if let Some(c) = url
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '\\'))
        {
            return Err(self.invalid(
                key,
                format!(
                    "a URL cannot hold {}: percent-encode it ({:?})",
                    match c {
                        '<' | '>' | '"' | '\\' => format!("{c:?}"),
                        _ => format!("U+{:04X}", c as u32),
                    },
                    url.chars().take(80).collect::<String>()
                ),
            ));
        }
        let parsed = url::Url::parse(url).ok();
        if parsed
            .as_ref()
            .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        {
            Ok(())
        } else {
            Err(self.invalid(
                key,
                format!("expected an absolute http(s) URL, got {url:?}"),
            ))
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (i, source) in self.embed.frame_ancestors.iter().enumerate() {
            // One CSP source each: a space, `;` or `,` would end it and
            // start another directive or policy.
            let one = !source.is_empty()
                && source
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b','));
            if !one {
                return Err(self.invalid(
                    &format!("embed.frame-ancestors[{i}]"),
                    format!(
                        "expected one CSP source such as \"https://example.com\", got {source:?}"
                    ),
                ));
            }
        }
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
            self.check_http_url(&key, url)?;
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
        let mut seen = HashSet::new();
        for (key, text) in [
            ("site.title", Some(&self.site.title)),
            ("site.description", Some(&self.site.description)),
            ("site.author", Some(&self.site.author)),
        ] {
            self.check_text(key, text.map(String::as_str))?;
        }
        for (i, c) in self.categories.iter().enumerate() {
            self.check_text(&format!("category[{i}].title"), Some(&c.title))?;
            self.check_text(
                &format!("category[{i}].description"),
                c.description.as_deref(),
            )?;
            let key = format!("category[{i}].slug");
            if c.slug == FeedId::ALL || c.slug == FeedId::BREAKING {
                return Err(self.invalid(
                    &key,
                    format!("{:?} is reserved for a built-in feed", c.slug),
                ));
            }
            self.check_name(&key, "category", &c.slug, &mut seen)?;
        }
        let mut names = HashSet::new();
        for (i, t) in self.timelines.iter().enumerate() {
            let key = |field: &str| format!("timelines[{i}].{field}");
            self.check_name(&key("name"), "timeline", &t.name, &mut names)?;
            self.check_text(&key("title"), Some(&t.title))?;
            self.check_text(&key("description"), t.description.as_deref())?;
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
            // Each member once: a list naming one source thousands of times
            // (what an API client may send) would be merged that many times.
            for (field, members) in [("categories", &t.categories), ("sources", &t.sources)] {
                let mut seen = HashSet::new();
                if let Some(m) = members.iter().find(|m| !seen.insert(m.as_str())) {
                    return Err(self.invalid(&key(field), format!("{m:?} is named twice")));
                }
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
            if t.token.chars().count() < 16 {
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
        let mut names = HashSet::new();
        let scrapes = self.sources.iter().filter(|s| s.scrape.is_some()).count();
        let feeds = self.sources.len() - scrapes;
        for (i, s) in self.sources.iter().enumerate() {
            // Scrapes come after the feeds: name them by their own table.
            let key = |field: &str| match s.scrape {
                Some(_) => format!("scrapes[{}].{field}", i - feeds),
                None => format!("sources[{i}].{field}"),
            };
            self.check_name(&key("name"), "source", &s.name, &mut names)?;
            self.check_text(&key("title"), s.title.as_deref())?;
            self.check_http_url(&key("url"), &s.url)?;
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
                && css.chars().count() > MAX_SELECTOR
            {
                return Err(self.invalid(
                    &key(field),
                    format!("a selector is at most {MAX_SELECTOR} characters"),
                ));
            }
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
                && !crate::localtime::LANGUAGES.contains(&lang.as_str())
            {
                return Err(self.invalid(
                    &key(field),
                    format!(
                        "unknown language {lang:?} (one of: {})",
                        crate::localtime::LANGUAGES.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}
