//! What is known of an external source between its fetches: its state in
//! the store (validators, failures, lease), how each poll ended, and the
//! status an editor reads from them.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What the store keeps of one external source (a feed, a scraped page) between
/// fetches, shared by every instance: the poller of one instance claims a due
/// source with a lease, so each is fetched by one instance per interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchState {
    /// The source's name (a slug from the config).
    pub source: String,
    /// Where it is fetched from: the configured URL, then the target of a
    /// permanent redirect (301, 308).
    pub url: String,
    /// The URL the config gives it: when that changes, the source starts
    /// again there (validators dropped); `url` follows redirects.
    pub origin: String,
    /// Validators for the next conditional GET, as the upstream sent them.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    /// Consecutive failures, for the backoff.
    pub failures: u32,
    pub last_fetch: Option<DateTime<Utc>>,
    pub next_fetch: DateTime<Utc>,
    /// The instance holding the source now, and until when.
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    /// A hash of the last body fetched, so the same bytes again are not parsed.
    pub body_hash: Option<String>,
    /// Items of the source in the store after its last fetch.
    pub items: u64,
    /// When an editor paused it: the schedule leaves it alone until resumed.
    pub paused: Option<DateTime<Utc>>,
}

/// What came of one poll of a source. The API, `newswire fetch`'s table, the
/// metrics and the log all show this one enum, by [`FetchOutcome::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchOutcome {
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

impl FetchOutcome {
    pub const ALL: [FetchOutcome; 6] = [
        FetchOutcome::Fetched,
        FetchOutcome::NotModified,
        FetchOutcome::Unchanged,
        FetchOutcome::Gone,
        FetchOutcome::RetryAfter,
        FetchOutcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FetchOutcome::Fetched => "fetched",
            FetchOutcome::NotModified => "not_modified",
            FetchOutcome::Unchanged => "unchanged",
            FetchOutcome::Gone => "gone",
            FetchOutcome::RetryAfter => "retry_after",
            FetchOutcome::Failed => "failed",
        }
    }

    /// The outcome [`FetchOutcome::as_str`] names.
    pub fn parse(s: &str) -> Option<FetchOutcome> {
        FetchOutcome::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// Whether the source is working: what `newswire_source_up` says.
    pub fn is_up(self) -> bool {
        !matches!(self, FetchOutcome::Failed | FetchOutcome::Gone)
    }
}

impl std::fmt::Display for FetchOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One poll of a source as its attempt log keeps it: what an editor reads to
/// find why a source fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FetchAttempt {
    #[serde(skip)]
    pub source: String,
    pub at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub bytes: u64,
    pub millis: u64,
    pub outcome: FetchOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Where a source stands, as `GET /api/v1/sources` and the console show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceStatus {
    /// Never fetched.
    New,
    Ok,
    /// Its last fetch failed; its items stay.
    Failing,
    /// It answered 410: polling stopped.
    Gone,
    /// An editor paused it: not polled until resumed; its items stay.
    Paused,
}

impl FetchState {
    /// Where the source stands after its last fetch.
    pub fn status(&self) -> SourceStatus {
        match self {
            FetchState {
                paused: Some(_), ..
            } => SourceStatus::Paused,
            FetchState {
                last_fetch: None, ..
            } => SourceStatus::New,
            s if s.last_status == Some(410) => SourceStatus::Gone,
            s if s.last_error.is_some() => SourceStatus::Failing,
            _ => SourceStatus::Ok,
        }
    }

    /// A source never fetched: due at once.
    pub fn new(source: &str, url: &str, now: DateTime<Utc>) -> FetchState {
        FetchState {
            source: source.to_owned(),
            url: url.to_owned(),
            origin: url.to_owned(),
            etag: None,
            last_modified: None,
            last_status: None,
            last_error: None,
            failures: 0,
            last_fetch: None,
            next_fetch: now,
            lease_owner: None,
            lease_until: None,
            body_hash: None,
            items: 0,
            paused: None,
        }
    }
}
