//! What a poll came to, as the API, `newswire fetch`'s table, the metrics and
//! the log show it: one enum of outcomes, one report per poll.

use super::PollError;
use chrono::{DateTime, Utc};
use std::fmt::Write;

/// What came of one poll of a source. The API, `newswire fetch`'s table, the
/// metrics and the log all show this one enum, by [`Outcome::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new document, read and taken.
    Fetched,
    /// 304: what we have is current.
    NotModified,
    /// The same body as last time (an upstream without validators).
    Unchanged,
    /// 410: polling stopped.
    Gone,
    /// 429 or 503 with Retry-After: back when it asked.
    RetryAfter,
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Fetched,
        Outcome::NotModified,
        Outcome::Unchanged,
        Outcome::Gone,
        Outcome::RetryAfter,
        Outcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Fetched => "fetched",
            Outcome::NotModified => "not_modified",
            Outcome::Unchanged => "unchanged",
            Outcome::Gone => "gone",
            Outcome::RetryAfter => "retry_after",
            Outcome::Failed => "failed",
        }
    }

    /// Whether the source is working: what `newswire_source_up` says.
    pub fn is_up(self) -> bool {
        !matches!(self, Outcome::Failed | Outcome::Gone)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one poll of one source came to: what `newswire fetch`, the API and
/// the log show.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub source: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Entries in the document, and how many were new or changed.
    pub entries: usize,
    pub created: usize,
    pub updated: usize,
    pub bytes: usize,
    pub url: String,
    pub next_fetch: DateTime<Utc>,
    pub millis: u64,
}

/// `newswire fetch --once`'s table: a row per source, its outcome, status,
/// entries, what was new and changed, time and error; and how many failed.
pub fn table(rows: &[(String, Result<Report, PollError>)]) -> (String, usize) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<24} {:<12} {:>6} {:>7} {:>7} {:>7} {:>9}  error",
        "source", "outcome", "status", "entries", "new", "changed", "ms"
    );
    let mut failed = 0;
    for (name, result) in rows {
        match result {
            Ok(r) => {
                if !r.outcome.is_up() {
                    failed += 1;
                }
                let _ = writeln!(
                    out,
                    "{:<24} {:<12} {:>6} {:>7} {:>7} {:>7} {:>9}  {}",
                    name,
                    // Display of an enum ignores the width unless it is a string.
                    r.outcome.to_string(),
                    r.status.map_or("-".into(), |s| s.to_string()),
                    r.entries,
                    r.created,
                    r.updated,
                    r.millis,
                    r.error.as_deref().unwrap_or("")
                );
            }
            Err(e) => {
                failed += 1;
                let _ = writeln!(
                    out,
                    "{name:<24} {:<12} {:>6} {:>7} {:>7} {:>7} {:>9}  {e}",
                    "error", "-", "-", "-", "-", "-"
                );
            }
        }
    }
    (out, failed)
}
