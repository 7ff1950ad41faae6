//! What a poll came to, as the API, `newswire fetch`'s table, the metrics and
//! the log show it: one enum of outcomes, one report per poll.

use super::PollError;
use chrono::{DateTime, Utc};
use std::fmt::Write;

/// What came of one poll of a source (the model's, which the store keeps
/// in each source's attempt log).
pub use crate::model::FetchOutcome as Outcome;

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
