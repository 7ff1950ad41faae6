//! The catalog's entries as the store keeps them: what an editor or the
//! config file declared, before the config makes them typed and checked.

use serde::Serialize;

/// What an entry is; sources and scrapes share one namespace, since a
/// scrape is polled (and merged into timelines) as a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Source,
    Scrape,
    Timeline,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Source => "source",
            EntryKind::Scrape => "scrape",
            EntryKind::Timeline => "timeline",
        }
    }

    pub fn parse(text: &str) -> Option<EntryKind> {
        [EntryKind::Source, EntryKind::Scrape, EntryKind::Timeline]
            .into_iter()
            .find(|k| k.as_str() == text)
    }

    /// The namespace its names live in.
    pub fn space(self) -> &'static str {
        match self {
            EntryKind::Source | EntryKind::Scrape => "sources",
            EntryKind::Timeline => "timelines",
        }
    }
}

/// One source, scrape or timeline: its keys as JSON, as the config file's
/// `[[sources]]`, `[[scrapes]]` or `[[timelines]]` table holds them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogEntry {
    pub kind: EntryKind,
    pub name: String,
    pub body: serde_json::Value,
    /// From the config file (which wins for what it declares), rather than
    /// added through the API ("managed").
    pub declared: bool,
}

/// The whole catalog at one version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// Bumped by every change, on any instance.
    pub version: i64,
    /// In the order they were first added.
    pub entries: Vec<CatalogEntry>,
}
