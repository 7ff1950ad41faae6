//! Polling external sources: claim what is due, fetch it, parse it, put new and
//! changed entries through the gate, write them, and say when to come back.
//!
//! The work is shared through the store, not a protocol of our own: each
//! instance claims due sources with a lease ([`Store::claim_due`]; `FOR UPDATE
//! SKIP LOCKED` on PostgreSQL), so a source is fetched by one instance per
//! interval, and a dead instance's sources are claimed again when its leases
//! run out.
//!
//! What a poll costs follows what changed:
//! - a 304 costs a request;
//! - the same body again (an upstream without validators) costs a hash;
//! - a changed body is parsed, but only entries whose digest is new go through
//!   the gate (sanitizing is most of an entry's cost) and into the store, in one
//!   batch per document.
//!
//! Dedupe across polls is by upstream id. A feed whose guids change on every
//! poll (a CMS that mints them per request) is caught per entry: an entry whose
//! id is new but whose link (unique in the document) is already stored for the
//! same source under another id *is* that stored item, and keeps its id.

use super::fetch::{Fetcher, Outcome, Policy, Request};
use super::parse::{self, Parsed, SourceInfo};
use super::scrape;
use crate::config::{Config, SourceConfig};
use crate::gate::{self, Trust};
use crate::metrics::Metrics;
use crate::model::{FeedId, FetchState, Item, Source};
use crate::site::supervise::lock;
use crate::store::{Claim, Ownership, Store, StoreError, Written};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most stored items of a source read back to learn their digests.
const KNOWN_MAX: usize = 5_000;
/// A source that answered 410 is not polled again for this long (in effect,
/// until someone changes its URL or the store's row).
const GONE_FOR: chrono::Duration = chrono::Duration::days(365 * 100);

/// What one poll of one source came to: what `newswire fetch`, the API and
/// the log show.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub source: String,
    /// `fetched`, `not_modified`, `unchanged` (the same body again), `gone`,
    /// `retry_after` or `failed`.
    pub outcome: &'static str,
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

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("unknown source {0:?}")]
    Unknown(String),
    #[error("source {0:?} is being fetched by another instance")]
    Busy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What this instance remembers of a source's stored items: digest by
/// upstream id, and upstream id by link. Rebuilt from the store when missing,
/// so it is only a cache: a stale one costs a redundant sanitize, never a
/// wrong write.
#[derive(Default)]
struct Known {
    loaded: bool,
    digests: HashMap<String, String>,
    links: HashMap<String, String>,
    /// Article pages behind the current list (scrapes, readability), by
    /// link: validators for a conditional GET, and what the page gave.
    pages: HashMap<String, Page>,
}

struct Page {
    etag: Option<String>,
    last_modified: Option<String>,
    article: scrape::Article,
}

/// Marks the digest of an entry whose page could not be read, so that the
/// next poll tries the page again instead of taking the entry as known.
const PARTIAL: &str = "~partial";

pub struct Poller {
    config: Arc<Config>,
    store: Arc<dyn Store>,
    fetcher: Fetcher,
    /// This instance's name in leases.
    owner: String,
    metrics: Arc<Metrics>,
    changed: Arc<dyn Fn(&Written) + Send + Sync>,
    known: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Known>>>>,
    slots: Arc<tokio::sync::Semaphore>,
    /// Set once the configured sources are in the store.
    registered: tokio::sync::OnceCell<()>,
    /// The queue of states to save, batched by [`save_batches`].
    saver: tokio::sync::OnceCell<tokio::sync::mpsc::Sender<PendingSave>>,
    /// Subscribes to the WebSub hubs sources advertise.
    subscriber: Arc<crate::websub::subscriber::Subscriber>,
}

/// A source's state after a fetch, and its report or why there is none.
type Attempt = (FetchState, Result<Report, String>);

type PendingSave = (
    FetchState,
    tokio::sync::oneshot::Sender<Result<bool, StoreError>>,
);

/// Writes the states queued since the last write in one transaction, each
/// waiting fetch told its own outcome. Ends when every sender is gone.
async fn save_batches(
    store: Arc<dyn Store>,
    owner: String,
    mut rx: tokio::sync::mpsc::Receiver<PendingSave>,
) {
    const MAX_BATCH: usize = 256;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (states, replies): (Vec<FetchState>, Vec<_>) = batch.drain(..).unzip();
        match store.save_fetch_states(&states, &owner).await {
            Ok(saved) => {
                for (reply, ok) in replies.into_iter().zip(saved) {
                    let _ = reply.send(Ok(ok));
                }
            }
            Err(e) => {
                let e = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Unavailable(e.clone())));
                }
            }
        }
    }
}

impl Poller {
    pub fn new(
        config: Arc<Config>,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        changed: Arc<dyn Fn(&Written) + Send + Sync>,
    ) -> Result<Arc<Poller>, super::fetch::FetchError> {
        Ok(Arc::new(Poller {
            subscriber: crate::websub::subscriber::Subscriber::new(config.clone(), store.clone())?,
            fetcher: Fetcher::new(Policy::configured(&config))?,
            owner: instance_name(),
            slots: Arc::new(tokio::sync::Semaphore::new(config.fetch.concurrency)),
            config,
            store,
            metrics,
            changed,
            known: Mutex::new(HashMap::new()),
            registered: tokio::sync::OnceCell::new(),
            saver: tokio::sync::OnceCell::new(),
        }))
    }

    /// Registers the configured sources in the store (new ones are due at once;
    /// known ones keep their state), once per process.
    pub async fn register(&self) -> Result<(), StoreError> {
        self.registered
            .get_or_try_init(|| self.add_sources())
            .await
            .map(|_| ())
    }

    async fn add_sources(&self) -> Result<(), StoreError> {
        let now = Utc::now();
        let states: Vec<FetchState> = self
            .config
            .sources
            .iter()
            .map(|s| FetchState::new(&s.name, &s.url, now))
            .collect();
        self.store.add_sources(&states).await
    }

    /// How long a claim holds: the fetch's own limit plus time to parse and
    /// write. An instance killed mid-fetch gives its sources up after this.
    fn lease(&self) -> Duration {
        self.config.fetch.timeout + Duration::from_secs(10)
    }

    /// Polls due sources until the process ends: a claim about every second,
    /// as many fetches at once as `fetch.concurrency` allows.
    pub async fn run(self: Arc<Self>) -> Result<(), String> {
        self.register().await.map_err(|e| e.to_string())?;
        let mut last_expiry: Option<Instant> = None;
        loop {
            let free = self.slots.available_permits();
            if free > 0 {
                match self.claim(None, free).await {
                    Ok(claimed) => {
                        for state in claimed {
                            let permit = self.slots.clone().acquire_owned().await;
                            let poller = self.clone();
                            tokio::spawn(async move {
                                let attempt = poller.attempt(state).await;
                                drop(permit);
                                if let Err(e) = poller.settle(attempt).await {
                                    tracing::warn!("saving a fetch failed: {e}");
                                }
                            });
                        }
                    }
                    Err(e) => tracing::warn!("claiming due sources failed: {e}"),
                }
            }
            if last_expiry.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
                last_expiry = Some(Instant::now());
                self.expire().await;
            }
            // About a second, at a random phase: instances that claim at a
            // fixed rhythm would leave the work to whichever ticks first.
            let pause = 500 + (unit_random("tick") * 1000.0) as u64;
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }

    /// Claims up to `limit` sources (due ones, or those of `only`) for as
    /// many leases in a row as it takes `fetch.concurrency` slots to fetch
    /// them all, so the last of a group is still ours when its turn comes.
    async fn claim(
        &self,
        only: Option<&[String]>,
        limit: usize,
    ) -> Result<Vec<FetchState>, StoreError> {
        self.claim_after(only, limit, 0).await
    }

    /// [`Poller::claim`] for sources fetched after `ahead` others already
    /// queued on the same slots.
    async fn claim_after(
        &self,
        only: Option<&[String]>,
        limit: usize,
        ahead: usize,
    ) -> Result<Vec<FetchState>, StoreError> {
        let now = Utc::now();
        let turns = (ahead + limit)
            .div_ceil(self.config.fetch.concurrency.max(1))
            .max(1);
        let lease = self
            .lease()
            .saturating_mul(u32::try_from(turns).unwrap_or(u32::MAX));
        let until = now + chrono::Duration::from_std(lease).unwrap_or_default();
        self.store
            .claim_due(&Claim {
                owner: &self.owner,
                only,
                now,
                until,
                limit,
            })
            .await
    }

    /// Fetches one source now, due or not (the API's and the CLI's "fetch
    /// now"), unless another instance holds it.
    pub async fn fetch_now(self: &Arc<Self>, name: &str) -> Result<Report, PollError> {
        self.fetch_many(&[name.to_owned()], |_| {})
            .await
            .pop()
            .map_or_else(
                || Err(PollError::Busy(name.to_owned())),
                |(_, result)| result,
            )
    }

    /// Fetches the named sources now, due or not, `fetch.concurrency` at a
    /// time (`newswire fetch --once`): groups of sixteen times that claimed in
    /// one statement each, their states saved in batches. `done` sees each
    /// result as it comes.
    pub async fn fetch_many(
        self: &Arc<Self>,
        names: &[String],
        mut done: impl FnMut(&str),
    ) -> Vec<(String, Result<Report, PollError>)> {
        let mut results = Vec::with_capacity(names.len());
        if let Err(e) = self.register().await {
            let e = e.to_string();
            return names
                .iter()
                .map(|n| {
                    (
                        n.clone(),
                        Err(PollError::Store(StoreError::Unavailable(e.clone()))),
                    )
                })
                .collect();
        }
        let slots = Arc::new(tokio::sync::Semaphore::new(self.config.fetch.concurrency));
        // Every group is claimed as soon as the one before is queued, not when
        // it is done: the slots never wait for a claim, nor for a group's
        // slowest fetch. Each group's lease covers the turns queued before it.
        let mut tasks = tokio::task::JoinSet::new();
        let mut queued = 0;
        for chunk in names.chunks(self.config.fetch.concurrency.max(1) * 16) {
            let (known, unknown): (Vec<String>, Vec<String>) = chunk
                .iter()
                .cloned()
                .partition(|n| self.config.source(n).is_some());
            for n in unknown {
                done(&n);
                results.push((n.clone(), Err(PollError::Unknown(n))));
            }
            let claimed = match self.claim_after(Some(&known), known.len(), queued).await {
                Ok(c) => c,
                Err(e) => {
                    let e = e.to_string();
                    for n in known {
                        done(&n);
                        let error = PollError::Store(StoreError::Unavailable(e.clone()));
                        results.push((n, Err(error)));
                    }
                    continue;
                }
            };
            let held: HashSet<&str> = claimed.iter().map(|s| s.source.as_str()).collect();
            for n in known.iter().filter(|n| !held.contains(n.as_str())) {
                done(n);
                results.push((n.clone(), Err(PollError::Busy(n.clone()))));
            }
            queued += claimed.len();
            for state in claimed {
                let poller = self.clone();
                let slots = slots.clone();
                tasks.spawn(async move {
                    let name = state.source.clone();
                    let attempt = {
                        let _slot = slots.acquire_owned().await;
                        poller.attempt(state).await
                    };
                    (name, poller.settle(attempt).await.map_err(PollError::from))
                });
            }
        }
        while let Some(joined) = tasks.join_next().await {
            if let Ok((name, result)) = joined {
                done(&name);
                results.push((name, result));
            }
        }
        results
    }

    /// The subscriber to the hubs sources advertise.
    pub fn subscriber(&self) -> &Arc<crate::websub::subscriber::Subscriber> {
        &self.subscriber
    }

    /// Takes a document a source's hub pushed (its signature checked by the
    /// caller) as a poll's would be: the number of entries created and
    /// updated.
    pub async fn pushed(
        &self,
        name: &str,
        body: &[u8],
        content_type: Option<&str>,
    ) -> Result<(usize, usize), String> {
        let source = self
            .config
            .source(name)
            .cloned()
            .ok_or_else(|| format!("no source {name:?}"))?;
        let state = self
            .store
            .fetch_states()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|s| s.source == name)
            .ok_or_else(|| format!("source {name:?} was never fetched"))?;
        let url = url::Url::parse(&state.url).map_err(|e| e.to_string())?;
        let now = Utc::now();
        let taken = match self.read(&source, body, content_type, &url, now) {
            Ok(parsed) => {
                self.take(&source, &state, parsed, now, Instant::now())
                    .await
            }
            Err(e) => Err(e),
        };
        let taken = taken.map_err(|e| match e {
            TakeError::Parse(e) => e,
            TakeError::Store(e) => format!("store: {e}"),
        })?;
        let created = count(&taken.written, crate::store::Outcome::Created);
        let updated = count(&taken.written, crate::store::Outcome::Updated);
        tracing::info!(source = name, created, updated, "pushed by its hub");
        Ok((created, updated))
    }

    /// Drops external items older than `fetch.retention`.
    async fn expire(&self) {
        let before = Utc::now() - retention(&self.config);
        for s in &self.config.sources {
            match self.store.expire(&s.item_source(), before).await {
                Ok(w) => (self.changed)(&w),
                Err(e) => tracing::warn!(source = s.name, "expiring old items failed: {e}"),
            }
        }
    }

    /// Saves the state an attempt left: the poll's report, unless the lease
    /// was lost meanwhile. Apart from [`Poller::attempt`] so that a fetch
    /// slot is free while the state waits for its batch to be written.
    async fn settle(&self, (state, report): Attempt) -> Result<Report, StoreError> {
        let name = state.source.clone();
        let saved = self.save(state).await?;
        let report = report.map_err(StoreError::Unavailable)?;
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
    async fn attempt(&self, mut state: FetchState) -> Attempt {
        let started = Instant::now();
        let now = Utc::now();
        let Some(source) = self.config.source(&state.source).cloned() else {
            // Removed from the config: leave it alone for a day.
            state.next_fetch = now + chrono::Duration::days(1);
            let error = format!("source {:?} is not configured", state.source);
            return (state, Err(error));
        };
        let interval = self.config.fetch.interval_of(&source);
        let request = Request {
            url: state.url.clone(),
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        let outcome = self.fetcher.fetch(&request).await;
        let mut report = Report {
            source: source.name.clone(),
            outcome: "failed",
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
            report.outcome = "failed";
            report.status = status;
            report.error = Some(error);
        };
        match outcome {
            Outcome::Fetched {
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
                    report.outcome = "unchanged";
                    succeeded(&mut state, 200, now, interval);
                } else {
                    let mut advertised = None;
                    let taken = match self.read(&source, &body, content_type.as_deref(), &url, now)
                    {
                        Ok(parsed) => {
                            advertised = Some(parsed.advertised.clone());
                            self.take(&source, &state, parsed, now, started).await
                        }
                        Err(e) => Err(e),
                    };
                    // A hub advertised: ask it for pushes, beside the fetch.
                    if taken.is_ok()
                        && let Some(advertised) = advertised.filter(|a| !a.hubs.is_empty())
                    {
                        let (subscriber, name, url) = (
                            self.subscriber.clone(),
                            source.name.clone(),
                            url.to_string(),
                        );
                        tokio::spawn(async move {
                            subscriber.maybe_subscribe(&name, &url, &advertised).await;
                        });
                    }
                    match taken {
                        Ok(taken) => {
                            state.items = taken.stored as u64;
                            report.outcome = "fetched";
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
                        Err(TakeError::Store(e)) => {
                            // Nothing was written: fetch again, not in an hour.
                            failed(&mut state, &mut report, Some(200), format!("store: {e}"));
                        }
                    }
                }
                if report.outcome != "failed" && validated {
                    state.etag = etag;
                    state.last_modified = last_modified;
                }
            }
            Outcome::NotModified { moved } => {
                if let Some(m) = moved {
                    state.url = m.to_string();
                }
                report.outcome = "not_modified";
                succeeded(&mut state, 304, now, interval);
            }
            Outcome::Gone => {
                report.outcome = "gone";
                report.status = Some(410);
                report.error = Some("gone (410): polling stopped".into());
                state.last_status = Some(410);
                state.last_error = report.error.clone();
                state.next_fetch = now + GONE_FOR;
            }
            Outcome::RetryAfter { status, after } => {
                report.outcome = "retry_after";
                report.status = Some(status);
                let wait = after.clamp(interval, self.config.fetch.max_interval.max(interval));
                report.error = Some(format!("asked to come back in {}s", after.as_secs()));
                state.last_status = Some(status);
                state.last_error = report.error.clone();
                state.next_fetch = now + chrono::Duration::from_std(wait).unwrap_or_default();
            }
            Outcome::Failed { status, error } => failed(&mut state, &mut report, status, error),
        }
        report.status = report.status.or(state.last_status);
        state.last_fetch = Some(now);
        report.next_fetch = state.next_fetch;
        report.url = state.url.clone();
        report.millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.record(&report);
        (state, Ok(report))
    }

    /// Saves a state through the batcher: states saved at about the same time
    /// (a round of fetches) share one transaction, so a round of 304s costs
    /// a commit per batch, not per source.
    async fn save(&self, state: FetchState) -> Result<bool, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let saver = self
            .saver
            .get_or_init(|| async {
                let (tx, rx) = tokio::sync::mpsc::channel(1024);
                tokio::spawn(save_batches(self.store.clone(), self.owner.clone(), rx));
                tx
            })
            .await;
        if saver.send((state, reply)).await.is_err() {
            return Err(StoreError::Unavailable("the state saver stopped".into()));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable("the state saver stopped".into())))
    }

    fn record(&self, report: &Report) {
        let m = &self.metrics;
        m.fetches
            .get_or_create(&Metrics::labels("outcome", report.outcome))
            .inc();
        m.fetch_seconds.observe(report.millis as f64 / 1000.0);
        for (outcome, n) in [("created", report.created), ("updated", report.updated)] {
            m.fetch_items
                .get_or_create(&Metrics::labels("outcome", outcome))
                .inc_by(n as u64);
        }
        m.source_up
            .get_or_create(&Metrics::labels("source", &report.source))
            .set(i64::from(
                report.outcome != "failed" && report.outcome != "gone",
            ));
        match &report.error {
            Some(e) if report.outcome == "failed" => {
                tracing::warn!(source = report.source, status = ?report.status, "fetch failed: {e}")
            }
            _ => tracing::info!(
                source = report.source,
                outcome = report.outcome,
                entries = report.entries,
                created = report.created,
                updated = report.updated,
                ms = report.millis,
                "fetched"
            ),
        }
    }

    /// Reads a body: a feed in any format, or a scraped page by its selectors.
    fn read(
        &self,
        source: &SourceConfig,
        body: &[u8],
        content_type: Option<&str>,
        url: &url::Url,
        now: DateTime<Utc>,
    ) -> Result<Parsed, TakeError> {
        let parsed = match &source.scrape {
            Some(s) => {
                let tz = s.timezone.unwrap_or(self.config.site.timezone);
                scrape::list(body, content_type, url, s, tz, now)
                    .map(|(parsed, _)| parsed)
                    .map_err(|e| e.to_string())
            }
            None => parse::parse(body, content_type, url).map_err(|e| e.to_string()),
        };
        parsed.map_err(TakeError::Parse)
    }

    /// Writes a document's new and changed entries: the number of entries in
    /// the document, what the write did, the items stored, and what went wrong
    /// with article pages (their entries are written without them, and tried
    /// again next poll).
    async fn take(
        &self,
        source: &SourceConfig,
        state: &FetchState,
        mut parsed: Parsed,
        now: DateTime<Utc>,
        started: Instant,
    ) -> Result<Taken, TakeError> {
        let known = self.known(&source.name).await?;
        let mut known = known.lock().await;
        // Pages are read while the lease holds; the rest wait for the next poll.
        let deadline = started + self.lease().saturating_sub(Duration::from_secs(5));
        let pages = self
            .read_pages(source, &mut parsed, &mut known, deadline)
            .await;
        let entries = parsed.entries.len();
        let items = self.select(source, state, &mut parsed, &known, now);
        let written = if items.is_empty() {
            Written::default()
        } else {
            self.store
                .upsert(&items, Ownership::Take)
                .await
                .map_err(TakeError::Store)?
        };
        (self.changed)(&written);
        for item in &items {
            if let Some(o) = &item.origin {
                known
                    .digests
                    .insert(o.upstream_id.clone(), o.digest.clone());
                if let Some(link) = &item.link {
                    known.links.insert(link.clone(), o.upstream_id.clone());
                }
            }
        }
        Ok(Taken {
            entries,
            written,
            stored: known.digests.len(),
            problem: pages.problem,
            deferred: pages.deferred,
        })
    }

    /// Fetches the pages behind new and changed entries, `fetch.per_host` at
    /// a time under the fetch policy, and fills the entries from them: a
    /// scrape's article pages, or a `readability` source's pages for entries
    /// that came with a summary only. A page seen before is asked for with
    /// its validators, and one whose entry has not changed is not asked for
    /// at all.
    async fn read_pages(
        &self,
        source: &SourceConfig,
        parsed: &mut Parsed,
        known: &mut Known,
        deadline: Instant,
    ) -> Pages {
        use futures_util::StreamExt;
        let selectors = match &source.scrape {
            Some(s) => match &s.article {
                Some(a) => Some((a.clone(), s.timezone.unwrap_or(self.config.site.timezone))),
                None => return Pages::default(),
            },
            None if source.readability => None,
            None => return Pages::default(),
        };
        let todo: Vec<usize> = parsed
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.link.is_some()
                    && known.digests.get(&parse::upstream_id(e)) != Some(&e.digest)
                    && (selectors.is_some() || e.content.is_none())
            })
            .map(|(i, _)| i)
            .collect();
        let requests: Vec<(usize, Request)> = todo
            .iter()
            .map(|&i| {
                let link = parsed.entries[i].link.clone().expect("filtered on links");
                let memo = known.pages.get(&link);
                let request = Request {
                    etag: memo.and_then(|m| m.etag.clone()),
                    last_modified: memo.and_then(|m| m.last_modified.clone()),
                    url: link,
                };
                (i, request)
            })
            .collect();
        let fetcher = &self.fetcher;
        let mut fetches = futures_util::stream::iter(requests)
            .map(|(i, r)| async move {
                let outcome = fetcher.fetch(&r).await;
                (i, r.url, outcome)
            })
            .buffer_unordered(self.config.fetch.per_host.max(1));
        let mut results = Vec::with_capacity(todo.len());
        while let Ok(Some(done)) = tokio::time::timeout_at(deadline.into(), fetches.next()).await {
            results.push(done);
        }
        drop(fetches);
        // Entries whose page was not reached in time have no digest of their
        // own yet: the next poll reads them.
        let reached: HashSet<usize> = results.iter().map(|(i, _, _)| *i).collect();
        let unreached: Vec<usize> = todo
            .iter()
            .copied()
            .filter(|i| !reached.contains(i))
            .collect();
        for &i in &unreached {
            parsed.entries[i].digest.push_str(PARTIAL);
        }
        let mut failures = Vec::new();
        for (i, link, outcome) in results {
            let read = match outcome {
                Outcome::Fetched {
                    body,
                    url,
                    etag,
                    last_modified,
                    content_type,
                    ..
                } => {
                    self.metrics.fetch_bytes.inc_by(body.len() as u64);
                    let article = match &selectors {
                        Some((a, tz)) => {
                            scrape::article(&body, content_type.as_deref(), &url, a, *tz)
                                .map(|(article, _)| article)
                                .map_err(|e| e.to_string())
                        }
                        None => scrape::readable(&body, content_type.as_deref(), &url)
                            .map(|body| scrape::Article {
                                body: Some(body),
                                ..Default::default()
                            })
                            .ok_or_else(|| format!("no main text found on {url}")),
                    };
                    article.map(|article| Page {
                        etag,
                        last_modified,
                        article,
                    })
                }
                Outcome::NotModified { .. } => known
                    .pages
                    .remove(&link)
                    .ok_or_else(|| format!("{link}: 304 for a page never read")),
                Outcome::Failed { status, error } => Err(format!(
                    "{link}: {}{error}",
                    status.map(|s| format!("{s} ")).unwrap_or_default()
                )),
                Outcome::Gone => Err(format!("{link}: gone (410)")),
                Outcome::RetryAfter { status, .. } => {
                    Err(format!("{link}: {status}, asked to wait"))
                }
            };
            let entry = &mut parsed.entries[i];
            match read {
                Ok(page) => {
                    page.article.clone().fill(entry);
                    known.pages.insert(link, page);
                }
                Err(e) => {
                    entry.digest.push_str(PARTIAL);
                    failures.push(e);
                }
            }
        }
        // Only the pages of the current list are worth remembering.
        let current: HashSet<&str> = parsed
            .entries
            .iter()
            .filter_map(|e| e.link.as_deref())
            .collect();
        known
            .pages
            .retain(|link, _| current.contains(link.as_str()));
        Pages {
            problem: failures.first().map(|first| {
                format!(
                    "{} of {} article pages unread, first: {first}",
                    failures.len(),
                    todo.len()
                )
            }),
            deferred: !unreached.is_empty(),
        }
    }

    /// The entries of a document to write: new or changed, kept by the
    /// source's filters, recent enough, through the gate. The document's
    /// entries are taken.
    fn select(
        &self,
        source: &SourceConfig,
        state: &FetchState,
        parsed: &mut Parsed,
        known: &Known,
        now: DateTime<Utc>,
    ) -> Vec<Item> {
        let tag_prefix = self.config.tag_prefix();
        let info = SourceInfo {
            name: &source.name,
            title: source.title.as_deref(),
            feed_url: &state.url,
            categories: &source.categories,
            tag_prefix: &tag_prefix,
        };
        let oldest = now - retention(&self.config);
        // Links that occur once in the document: only those can stand for an
        // entry whose id changed.
        let mut link_count: HashMap<&str, usize> = HashMap::new();
        for e in &parsed.entries {
            if let Some(l) = parse::entry_link(e) {
                *link_count.entry(l).or_default() += 1;
            }
        }
        // The id each entry is stored under, and whether it is new or changed.
        let mut seen = HashSet::new();
        let ids: Vec<Option<String>> = parsed
            .entries
            .iter()
            .map(|entry| {
                let mut id = parse::upstream_id(entry);
                if !known.digests.contains_key(&id)
                    && let Some(link) = parse::entry_link(entry)
                    && link_count.get(link) == Some(&1)
                    && let Some(stored) = known.links.get(link)
                {
                    id = stored.clone();
                }
                let fresh =
                    seen.insert(id.clone()) && known.digests.get(&id) != Some(&entry.digest);
                fresh.then_some(id)
            })
            .collect();
        drop(link_count);
        // Entries are taken into items: their bodies are not copied.
        let entries = std::mem::take(&mut parsed.entries);
        let mut items = Vec::new();
        for (entry, id) in entries.into_iter().zip(ids) {
            let Some(id) = id else { continue };
            let mut item = parse::to_item(entry, parsed, &info, id, now);
            if let Some(scrape) = &source.scrape {
                scraped(&mut item, scrape);
            }
            if item.published < oldest || !wanted(source, &item) {
                continue;
            }
            match gate::admit(item, Trust::Lenient, now) {
                Ok(mut item) => {
                    crate::merge::keep_story_keys(&mut item);
                    // Every entry needs a link readers agree on (without one,
                    // feedparser takes the Atom id for it, others nothing):
                    // an item with none links to its source's site, else its
                    // feed. After the story keys, which must not match on it.
                    if item.link.is_none()
                        && let Some(o) = &item.origin
                    {
                        item.link = Some(o.feed_link.clone().unwrap_or_else(|| o.feed_url.clone()));
                    }
                    items.push(item);
                }
                Err(e) => tracing::debug!(source = source.name, "entry refused: {e}"),
            }
        }
        items
    }

    async fn known(&self, source: &str) -> Result<Arc<tokio::sync::Mutex<Known>>, TakeError> {
        let entry = lock(&self.known)
            .entry(source.to_owned())
            .or_default()
            .clone();
        {
            let mut k = entry.lock().await;
            if !k.loaded {
                let stored = self
                    .store
                    .list(&FeedId::Source(source.to_owned()), None, KNOWN_MAX)
                    .await
                    .map_err(TakeError::Store)?;
                for item in stored {
                    if let Some(o) = item.origin {
                        if let Some(link) = item.link {
                            k.links.insert(link, o.upstream_id.clone());
                        }
                        k.digests.insert(o.upstream_id, o.digest);
                    }
                }
                k.loaded = true;
            }
        }
        Ok(entry)
    }
}

/// What [`Poller::take`] did with a document.
struct Taken {
    entries: usize,
    written: Written,
    stored: usize,
    problem: Option<String>,
    /// Pages left for the next poll: the same document must be read again.
    deferred: bool,
}

/// What reading the pages behind a document's entries came to.
#[derive(Default)]
struct Pages {
    /// Pages that failed, said for the source's state.
    problem: Option<String>,
    /// Pages not reached before the lease ran out.
    deferred: bool,
}

enum TakeError {
    /// Not a feed, or a page whose selectors matched nothing.
    Parse(String),
    Store(StoreError),
}

impl From<StoreError> for TakeError {
    fn from(e: StoreError) -> Self {
        TakeError::Store(e)
    }
}

/// A scraped item is the site's own content read off its pages: a ticker
/// line in `breaking`, else an article of its category, with nothing to
/// credit (its page is not a feed).
fn scraped(item: &mut Item, scrape: &crate::config::ScrapeConfig) {
    item.source = Source::Scrape(scrape.name.clone());
    if scrape.category == crate::model::FeedId::BREAKING {
        item.kind = crate::model::ItemKind::Breaking;
    } else {
        item.category = Some(scrape.category.clone());
    }
    if let Some(o) = item.origin.as_mut() {
        o.page = true;
    }
}

fn succeeded(state: &mut FetchState, status: u16, now: DateTime<Utc>, interval: Duration) {
    state.failures = 0;
    state.last_status = Some(status);
    state.last_error = None;
    state.next_fetch = now + next_poll(interval, &state.source);
}

/// The wait after a good fetch: the interval less up to a tenth of it, at
/// random. Sources added together would otherwise stay due together, and go
/// to the first instances that claim in each round while others sit idle
/// (never later than the interval: that is what the config promises).
fn next_poll(interval: Duration, source: &str) -> chrono::Duration {
    let factor = 1.0 - 0.1 * unit_random(source);
    chrono::Duration::from_std(interval.mul_f64(factor)).unwrap_or_default()
}

fn count(written: &Written, outcome: crate::store::Outcome) -> usize {
    written.outcomes.iter().filter(|o| **o == outcome).count()
}

fn retention(config: &Config) -> chrono::Duration {
    chrono::Duration::from_std(config.fetch.retention).unwrap_or(chrono::Duration::days(30))
}

/// The source's keyword filters: any `include` word (when there are some), and
/// no `exclude` word, in the title, summary or tags, ignoring case.
fn wanted(source: &SourceConfig, item: &Item) -> bool {
    if source.include.is_empty() && source.exclude.is_empty() {
        return true;
    }
    let text = format!(
        "{} {} {}",
        item.title,
        item.summary.as_deref().unwrap_or(""),
        item.tags.join(" ")
    )
    .to_lowercase();
    let has = |w: &String| text.contains(&w.to_lowercase());
    (source.include.is_empty() || source.include.iter().any(has)) && !source.exclude.iter().any(has)
}

/// The wait after `failures` failures in a row: the interval, doubled per
/// further failure, capped at a day, with ±20% jitter so sources that failed
/// together (a host down) do not come back together.
pub fn backoff(interval: Duration, failures: u32, source: &str) -> chrono::Duration {
    let doubled = interval.saturating_mul(1 << failures.saturating_sub(1).min(16));
    let capped = doubled.min(Duration::from_secs(24 * 3600).max(interval));
    let jitter = 0.8 + 0.4 * unit_random(source);
    chrono::Duration::from_std(capped.mul_f64(jitter)).unwrap_or_default()
}

/// A number in [0, 1) that differs per call: std's randomly keyed hasher,
/// enough for jitter.
fn unit_random(salt: &str) -> f64 {
    use std::hash::BuildHasher;
    let n = std::collections::hash_map::RandomState::new().hash_one(salt);
    (n >> 11) as f64 / (1u64 << 53) as f64
}

/// This process's name in leases: host, process id and a random part, so two
/// instances never share one.
pub fn instance_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "newswire".into());
    let random = (unit_random("instance") * 1e9) as u64;
    format!("{host}-{}-{random:09}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_filters() {
        let mut source = SourceConfig {
            include: vec!["Morocco".into()],
            exclude: vec!["SPONSORED".into()],
            ..SourceConfig::feed("s".into(), "https://s.example/".into())
        };
        let item = |title: &str, tags: &[&str]| {
            let mut it = crate::store::conformance::item("x", "world", 0);
            it.title = title.into();
            it.summary = None;
            it.tags = tags.iter().map(|t| t.to_string()).collect();
            it
        };
        assert!(wanted(&source, &item("Rain in morocco", &[])));
        assert!(wanted(&source, &item("Rain", &["Morocco"])), "tags count");
        assert!(
            !wanted(&source, &item("Rain in Spain", &[])),
            "include misses"
        );
        assert!(
            !wanted(&source, &item("Sponsored: Morocco trips", &[])),
            "exclude wins"
        );
        source.include.clear();
        assert!(wanted(&source, &item("Rain in Spain", &[])));
    }

    #[test]
    fn polls_come_within_the_last_tenth_of_the_interval() {
        let i = Duration::from_secs(600);
        let waits: std::collections::BTreeSet<i64> = (0..50)
            .map(|_| next_poll(i, "s").num_milliseconds())
            .collect();
        assert!(
            waits.iter().all(|w| (540_000..=600_000).contains(w)),
            "{waits:?}"
        );
        assert!(waits.len() > 1, "spread: {waits:?}");
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let i = Duration::from_secs(60);
        for (failures, base) in [(1, 60.0), (2, 120.0), (3, 240.0), (30, 86400.0)] {
            let got = backoff(i, failures, "s").num_milliseconds() as f64 / 1000.0;
            assert!(
                (base * 0.8..=base * 1.2).contains(&got),
                "{failures} failures: {got}s"
            );
        }
        let spread: HashSet<i64> = (0..20)
            .map(|_| backoff(i, 1, "s").num_milliseconds())
            .collect();
        assert!(spread.len() > 10, "jitter varies");
    }
}
