//! One poll of one source: fetch it, take what changed, and say what came of
//! it, in the report `newswire fetch`, the API and the log show.

use super::report::{Outcome, Report};
use super::schedule::{backoff, succeeded};
use super::take::{Body, TakeError};
use super::{PollError, Poller};
use crate::metrics::Metrics;
use crate::model::FetchState;
use crate::sources::fetch::{Outcome as Fetched, Request};
use crate::store::Written;
use chrono::Utc;
use std::time::Instant;

/// A source that answered 410 is not polled again for this long (in effect,
/// until someone changes its URL or the store's row).
const GONE_FOR: chrono::Duration = chrono::Duration::days(365 * 100);

/// A source's state after a fetch, and its report or why there is none.
pub(super) type Attempt = (FetchState, Result<Report, PollError>);

impl Poller {
    /// Saves the state an attempt left: the poll's report, unless the lease
    /// was lost meanwhile. Apart from [`Poller::attempt`] so that a fetch
    /// slot is free while the state waits for its batch to be written.
    pub(super) async fn settle(&self, (state, report): Attempt) -> Result<Report, PollError> {
        let name = state.source.clone();
        // The poll as the source's attempt log keeps it.
        let logged = report.as_ref().ok().map(|r| crate::model::FetchAttempt {
            source: r.source.clone(),
            at: state.last_fetch.unwrap_or_else(Utc::now),
            status: r.status,
            bytes: r.bytes as u64,
            millis: r.millis,
            outcome: r.outcome,
            error: r.error.clone(),
        });
        let saved = self.save(state, logged).await?;
        let report = report?;
        if !saved {
            tracing::warn!(
                source = name,
                "lease lost while fetching: another instance holds the source now"
            );
        }
        Ok(report)
    }

    /// Fetches and takes a claimed source: its new state, and the report (or
    /// why there is none).
    pub(super) async fn attempt(&self, state: FetchState) -> Attempt {
        self.attempt_with(state, None).await
    }

    /// [`Poller::attempt`], with the response when it was read already
    /// (a source added from a preview of its feed).
    pub(super) async fn attempt_with(
        &self,
        mut state: FetchState,
        given: Option<Fetched>,
    ) -> Attempt {
        let started = Instant::now();
        let now = Utc::now();
        let Some(source) = self.config().source(&state.source).cloned() else {
            // Removed from the config: leave it alone for a day.
            state.next_fetch = now + chrono::Duration::days(1);
            let error = PollError::Unknown(state.source.clone());
            return (state, Err(error));
        };
        let interval = self.config().fetch.interval_of(&source);
        let request = Request {
            url: state.url.clone(),
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        let outcome = match given {
            Some(outcome) => outcome,
            None => self.fetcher.fetch(&request).await,
        };
        let mut report = Report {
            source: source.name.clone(),
            outcome: Outcome::Failed,
            status: None,
            error: None,
            entries: 0,
            created: 0,
            updated: 0,
            bytes: 0,
            url: state.url.clone(),
            next_fetch: now,
            millis: 0,
        };
        let failed = |state: &mut FetchState, report: &mut Report, status, error: String| {
            state.failures = state.failures.saturating_add(1);
            state.last_status = status;
            state.last_error = Some(error.clone());
            state.next_fetch = now + backoff(interval, state.failures, &source.name);
            report.outcome = Outcome::Failed;
            report.status = status;
            report.error = Some(error);
        };
        match outcome {
            Fetched::Fetched {
                body,
                url,
                moved,
                etag,
                last_modified,
                content_type,
            } => {
                if let Some(m) = moved {
                    state.url = m.to_string();
                }
                let mut validated = true;
                report.bytes = body.len();
                self.metrics.fetch_bytes.inc_by(body.len() as u64);
                let hash = crate::hash::fingerprint(&body);
                if state.body_hash.as_deref() == Some(hash.as_str()) {
                    report.outcome = Outcome::Unchanged;
                    succeeded(&mut state, 200, now, interval);
                } else {
                    let body = Body {
                        bytes: body,
                        content_type,
                        url: url.clone(),
                    };
                    let taken = self.take(&source, &state, body, now, started).await;
                    // A hub advertised: ask it for pushes, beside the fetch.
                    if let Ok(taken) = &taken
                        && !taken.advertised.hubs.is_empty()
                    {
                        let (subscriber, name, url, advertised) = (
                            self.subscriber.clone(),
                            source.name.clone(),
                            url.to_string(),
                            taken.advertised.clone(),
                        );
                        tokio::spawn(async move {
                            subscriber.maybe_subscribe(&name, &url, &advertised).await;
                        });
                    }
                    match taken {
                        Ok(taken) => {
                            state.items = taken.stored as u64;
                            report.outcome = Outcome::Fetched;
                            report.entries = taken.entries;
                            report.created = count(&taken.written, crate::store::Outcome::Created);
                            report.updated = count(&taken.written, crate::store::Outcome::Updated);
                            match taken.problem {
                                // Written without some pages: the same list
                                // again must be read again, to retry them.
                                Some(problem) => {
                                    failed(&mut state, &mut report, Some(200), problem);
                                }
                                None => {
                                    // With pages left over, neither the hash nor
                                    // the validators: the next poll reads it all.
                                    if taken.deferred {
                                        validated = false;
                                    } else {
                                        state.body_hash = Some(hash);
                                    }
                                    succeeded(&mut state, 200, now, interval);
                                }
                            }
                        }
                        Err(TakeError::Parse(e)) => {
                            failed(&mut state, &mut report, Some(200), e);
                        }
                        Err(TakeError::Overrun(e)) => {
                            self.cut_off(&source.name, &e);
                            failed(&mut state, &mut report, Some(200), e.to_string());
                        }
                        Err(TakeError::Store(e)) => {
                            // Nothing was written: fetch again, not in an hour.
                            failed(&mut state, &mut report, Some(200), format!("store: {e}"));
                        }
                    }
                }
                if report.outcome != Outcome::Failed && validated {
                    state.etag = etag;
                    state.last_modified = last_modified;
                }
            }
            Fetched::NotModified { moved } => {
                if let Some(m) = moved {
                    state.url = m.to_string();
                }
                report.outcome = Outcome::NotModified;
                succeeded(&mut state, 304, now, interval);
            }
            Fetched::Gone => {
                report.outcome = Outcome::Gone;
                report.status = Some(410);
                report.error = Some("gone (410): polling stopped".into());
                state.last_status = Some(410);
                state.last_error = report.error.clone();
                state.next_fetch = now + GONE_FOR;
            }
            Fetched::RetryAfter { status, after } => {
                report.outcome = Outcome::RetryAfter;
                report.status = Some(status);
                let wait = after.clamp(interval, self.config().fetch.max_interval.max(interval));
                report.error = Some(format!("asked to come back in {}s", after.as_secs()));
                state.last_status = Some(status);
                state.last_error = report.error.clone();
                state.next_fetch = now + chrono::Duration::from_std(wait).unwrap_or_default();
            }
            Fetched::Failed { status, error } => failed(&mut state, &mut report, status, error),
        }
        report.status = report.status.or(state.last_status);
        state.last_fetch = Some(now);
        report.next_fetch = state.next_fetch;
        report.url = state.url.clone();
        report.millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.record(&report, &state);
        (state, Ok(report))
    }

    pub(super) fn record(&self, report: &Report, state: &FetchState) {
        let m = &self.metrics;
        m.fetches
            .get_or_create(&Metrics::labels("outcome", report.outcome.as_str()))
            .inc();
        m.fetch_seconds.observe(report.millis as f64 / 1000.0);
        for (outcome, n) in [("created", report.created), ("updated", report.updated)] {
            m.fetch_items
                .get_or_create(&Metrics::labels("outcome", outcome))
                .inc_by(n as u64);
        }
        if report.outcome != Outcome::Failed {
            crate::lock::lock(&self.cut_offs).remove(&report.source);
        }
        let source = Metrics::labels("source", &report.source);
        m.source_up
            .get_or_create(&source)
            .set(i64::from(report.outcome.is_up()));
        if report.outcome.is_up()
            && let Some(at) = state.last_fetch
        {
            m.source_last_success
                .get_or_create(&source)
                .set(at.timestamp());
        }
        m.source_failures
            .get_or_create(&source)
            .set(i64::from(state.failures));
        m.source_items
            .get_or_create(&source)
            .set(i64::try_from(state.items).unwrap_or(i64::MAX));
        match &report.error {
            Some(e) if report.outcome == Outcome::Failed => {
                tracing::warn!(source = report.source, status = ?report.status, "fetch failed: {e}")
            }
            // Nothing new: the attempt log and the metrics keep the poll, and
            // a line each would be most of the log (and, written at once to
            // stderr, about a seventh of a round of 304s' CPU on the async
            // workers).
            None if matches!(report.outcome, Outcome::NotModified | Outcome::Unchanged) => {
                tracing::debug!(
                    source = report.source,
                    outcome = report.outcome.as_str(),
                    ms = report.millis,
                    "fetched"
                )
            }
            _ => tracing::info!(
                source = report.source,
                outcome = report.outcome.as_str(),
                entries = report.entries,
                created = report.created,
                updated = report.updated,
                ms = report.millis,
                "fetched"
            ),
        }
    }
}

pub(super) fn count(written: &Written, outcome: crate::store::Outcome) -> usize {
    written.outcomes.iter().filter(|o| **o == outcome).count()
}
