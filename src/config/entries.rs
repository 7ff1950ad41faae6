//! The catalog in the config: the entries the file declares, as the store
//! keeps them, and the config in force, which is the file's with the
//! managed entries (added through the API) that fit beside it.

use super::{Config, ConfigError, ScrapeConfig, SourceConfig, Timeline};
use crate::model::{CatalogEntry, EntryKind};
use std::collections::HashSet;

/// Why an entry does not fit: the field at fault (`url`, `list.item`,
/// `sources`) and what was expected, for the editor who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct EntryError {
    pub field: String,
    pub message: String,
}

impl EntryError {
    pub fn new(field: &str, message: impl Into<String>) -> EntryError {
        EntryError {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// From a check of the whole config: `sources[3].url` names field `url`.
    fn of(e: ConfigError) -> EntryError {
        match e {
            ConfigError::Invalid { key, message, .. } => {
                let field = key.split_once("].").map_or(key.as_str(), |(_, f)| f);
                EntryError::new(field, message)
            }
            other => EntryError::new("", other.to_string()),
        }
    }
}

/// An entry made typed.
enum Typed {
    Source(SourceConfig),
    Timeline(Timeline),
}

fn typed(entry: &CatalogEntry) -> Result<Typed, EntryError> {
    fn read<T: serde::de::DeserializeOwned>(body: &serde_json::Value) -> Result<T, EntryError> {
        serde_path_to_error::deserialize(body).map_err(|e| {
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
            // An unknown or missing key is named in serde's message, not
            // in the path (which stops at the table holding it).
            let named = ["unknown field `", "missing field `"]
                .iter()
                .find_map(|p| message.strip_prefix(p)?.split('`').next());
            let field = match (path.as_str(), named) {
                (".", Some(key)) => key.to_owned(),
                (path, Some(key)) if path == key || path.ends_with(&format!(".{key}")) => {
                    path.to_owned()
                }
                (".", None) => String::new(),
                (path, Some(key)) => format!("{path}.{key}"),
                (path, None) => path.to_owned(),
            };
            EntryError::new(&field, message)
        })
    }
    let body = &entry.body;
    if body.get("name").and_then(|n| n.as_str()) != Some(entry.name.as_str()) {
        return Err(EntryError::new("name", "the entry's name must be its own"));
    }
    Ok(match entry.kind {
        EntryKind::Source => Typed::Source(read::<SourceConfig>(body)?),
        EntryKind::Scrape => Typed::Source(SourceConfig::scrape(read::<ScrapeConfig>(body)?)),
        EntryKind::Timeline => Typed::Timeline(read::<Timeline>(body)?),
    })
}

impl Config {
    /// Whether the file declares an entry of this kind's namespace and name.
    pub fn declares(&self, kind: EntryKind, name: &str) -> bool {
        self.declared
            .iter()
            .any(|e| e.kind.space() == kind.space() && e.name == name)
    }

    /// Adds a typed entry where the file would have it: feeds before the
    /// scrapes (whose keys are counted after them), scrapes and timelines last.
    fn push(&mut self, entry: Typed) {
        match entry {
            Typed::Source(s) if s.scrape.is_some() => self.sources.push(s),
            Typed::Source(s) => {
                let at = self
                    .sources
                    .iter()
                    .position(|s| s.scrape.is_some())
                    .unwrap_or(self.sources.len());
                self.sources.insert(at, s);
            }
            Typed::Timeline(t) => return self.timelines.push(t),
        }
        self.index_sources();
    }

    /// Takes out the entry of this namespace and name (when it was not
    /// declared by the file).
    fn remove(&mut self, kind: EntryKind, name: &str) {
        match kind.space() {
            "timelines" => self.timelines.retain(|t| t.name != name),
            _ => {
                self.sources.retain(|s| s.name != name);
                self.index_sources();
            }
        }
    }

    /// The config in force: this file's, with each of `entries` the file
    /// does not declare, in order. An entry that does not fit (no longer:
    /// the file it was checked against changed) is left out and returned
    /// with why; the rest stay in force.
    pub fn with_entries(
        &self,
        entries: &[CatalogEntry],
    ) -> (Config, Vec<(EntryKind, String, EntryError)>) {
        let mut refused = Vec::new();
        let mut taken = HashSet::new();
        let mut fitting = Vec::new();
        for e in entries {
            if self.declares(e.kind, &e.name) || !taken.insert((e.kind.space(), e.name.as_str())) {
                continue;
            }
            match typed(e) {
                Ok(t) => fitting.push((e, t)),
                Err(why) => refused.push((e.kind, e.name.clone(), why)),
            }
        }
        let mut all = self.clone();
        let mut trial = Vec::new();
        for (e, t) in fitting {
            trial.push(e);
            all.push(t);
        }
        if all.validate().is_ok() {
            return (all, refused);
        }
        // Some entry is at fault: take them one at a time, so the others
        // stay in force.
        let mut config = self.clone();
        for e in trial {
            match config.try_entry(e) {
                Ok(next) => config = next,
                Err(why) => refused.push((e.kind, e.name.clone(), why)),
            }
        }
        (config, refused)
    }

    /// This config with `entry` added, or in place of the managed entry of
    /// its name: what the API checks before it writes anything.
    pub fn try_entry(&self, entry: &CatalogEntry) -> Result<Config, EntryError> {
        if self.declares(entry.kind, &entry.name) {
            return Err(EntryError::new(
                "name",
                format!(
                    "{:?} is declared in {}; change it there",
                    entry.name,
                    self.file.display()
                ),
            ));
        }
        let typed = typed(entry)?;
        let mut next = self.clone();
        next.remove(entry.kind, &entry.name);
        next.push(typed);
        next.validate().map_err(EntryError::of)?;
        Ok(next)
    }

    /// This config without the managed entry: refused while a timeline
    /// merges the source.
    pub fn without_entry(&self, kind: EntryKind, name: &str) -> Result<Config, EntryError> {
        if self.declares(kind, name) {
            return Err(EntryError::new(
                "name",
                format!(
                    "{name:?} is declared in {}; remove it there",
                    self.file.display()
                ),
            ));
        }
        let mut next = self.clone();
        next.remove(kind, name);
        if let Some(t) = next
            .timelines
            .iter()
            .find(|t| t.sources.iter().any(|s| s == name))
        {
            return Err(EntryError::new(
                "name",
                format!(
                    "timeline {:?} merges {name:?}; take it out there first",
                    t.name
                ),
            ));
        }
        next.validate().map_err(EntryError::of)?;
        Ok(next)
    }
}

/// The entries a config file declares, read from its tables (and the
/// outlines of `fetch.opml`, which have a name and a URL).
pub(super) fn declared(
    text: &str,
    outlines: &[SourceConfig],
) -> Result<Vec<CatalogEntry>, toml::de::Error> {
    let table: toml::Table = toml::from_str(text)?;
    let mut entries = Vec::new();
    for (key, kind) in [
        ("sources", EntryKind::Source),
        ("scrapes", EntryKind::Scrape),
        ("timelines", EntryKind::Timeline),
    ] {
        let Some(toml::Value::Array(tables)) = table.get(key) else {
            continue;
        };
        for t in tables {
            let body = serde_json::to_value(t).unwrap_or_default();
            let name = body
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or_default();
            entries.push(CatalogEntry {
                kind,
                name: name.to_owned(),
                body: body.clone(),
                declared: true,
            });
        }
    }
    for s in outlines {
        entries.push(CatalogEntry {
            kind: EntryKind::Source,
            name: s.name.clone(),
            body: serde_json::json!({ "name": s.name, "url": s.url }),
            declared: true,
        });
    }
    Ok(entries)
}
