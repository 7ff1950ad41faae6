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

mod attempt;
mod budget;
mod known;
mod pages;
mod report;
mod save;
mod schedule;
mod strangers;
mod take;

pub use budget::Overrun;
pub use report::{Outcome, Report, table};
pub use schedule::backoff;

use attempt::count;
use known::Known;
use save::PendingSave;
use schedule::unit_random;
use take::{TakeError, retention};

use crate::config::{Config, SourceConfig};
use crate::lock::lock;
use crate::metrics::Metrics;
use crate::model::FetchState;
use crate::sources::fetch::{Fetcher, Policy};
use crate::store::{Claim, Claiming, Store, StoreError, Written};
use bytes::Bytes;
use chrono::Utc;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("unknown source {0:?}")]
    Unknown(String),
    #[error("source {0:?} is being fetched by another instance")]
    Busy(String),
    #[error("source {0:?} was never fetched")]
    NeverFetched(String),
    /// A document that could not be read (not a feed, a page whose
    /// selectors match nothing); the message says why.
    #[error("{0}")]
    Document(String),
    #[error(transparent)]
    Overrun(#[from] Overrun),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A source whose document cost more than its budget at its last poll.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CutOff {
    pub source: String,
    pub at: chrono::DateTime<Utc>,
    pub error: String,
}

pub struct Poller {
    /// The config in force, shared with the site: sources come and go
    /// with the catalog.
    config: Arc<arc_swap::ArcSwap<Config>>,
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
    /// Cores for reading documents (see [`budget`]).
    cores: Arc<tokio::sync::Semaphore>,
    /// Sources cut off at their last poll, until one succeeds.
    cut_offs: Mutex<std::collections::BTreeMap<String, CutOff>>,
    /// Sources in the store the config in force lacks.
    strangers: Mutex<strangers::Strangers>,
}

impl Poller {
    pub fn new(
        live: Arc<arc_swap::ArcSwap<Config>>,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        changed: Arc<dyn Fn(&Written) + Send + Sync>,
    ) -> Result<Arc<Poller>, crate::sources::fetch::FetchError> {
        // How to fetch (`[fetch]`, `[websub]`) is the config's at start.
        let config = live.load_full();
        Ok(Arc::new(Poller {
            subscriber: crate::websub::subscriber::Subscriber::new(config.clone(), store.clone())?,
            fetcher: Fetcher::new(Policy::configured(&config))?,
            owner: crate::instance::instance_name(),
            slots: Arc::new(tokio::sync::Semaphore::new(config.fetch.concurrency)),
            config: live,
            store,
            metrics,
            changed,
            known: Mutex::new(HashMap::new()),
            registered: tokio::sync::OnceCell::new(),
            saver: tokio::sync::OnceCell::new(),
            cores: Arc::new(tokio::sync::Semaphore::new(crate::cores::cores())),
            cut_offs: Mutex::new(std::collections::BTreeMap::new()),
            strangers: Mutex::default(),
        }))
    }

    /// The config in force.
    pub(super) fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    /// The fetcher every poll goes through: one client, one policy, its
    /// connections pooled; the preview borrows it.
    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    /// Registers the configured sources in the store (new ones are due at once;
    /// known ones keep their state), once per process.
    pub async fn register(&self) -> Result<(), StoreError> {
        self.registered
            .get_or_try_init(|| self.add_sources())
            .await
            .map(|_| ())
    }

    /// Registers the sources of the config in force (after a reload, or a
    /// change to the catalog): new ones are due at once.
    pub async fn add_sources(&self) -> Result<(), StoreError> {
        let now = Utc::now();
        let states: Vec<FetchState> = self
            .config()
            .sources
            .iter()
            .map(|s| FetchState::new(&s.name, &s.url, now))
            .collect();
        self.store.add_sources(&states).await
    }

    /// How long a claim holds: the fetch's own limit plus time to parse and
    /// write. An instance killed mid-fetch gives its sources up after this.
    fn lease(&self) -> Duration {
        self.config().fetch.timeout + Duration::from_secs(10)
    }

    /// Polls due sources until the process ends: a claim about every second,
    /// as many fetches at once as `fetch.concurrency` allows.
    pub async fn run(self: Arc<Self>) -> Result<(), StoreError> {
        self.register().await?;
        let mut last_expiry: Option<Instant> = None;
        loop {
            let free = self.slots.available_permits();
            if free > 0 {
                let config = self.config();
                let except = self.strangers(&config);
                match self.claim(Claiming::Due { except: &except }, free).await {
                    Ok(claimed) => {
                        for state in self.keep_known(&config, claimed).await {
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

    /// Claims up to `limit` sources for as many leases in a row as it takes
    /// `fetch.concurrency` slots to fetch them all, so the last of a group is
    /// still ours when its turn comes.
    async fn claim(
        &self,
        which: Claiming<'_>,
        limit: usize,
    ) -> Result<Vec<FetchState>, StoreError> {
        self.claim_after(which, limit, 0).await
    }

    /// [`Poller::claim`] for sources fetched after `ahead` others already
    /// queued on the same slots.
    async fn claim_after(
        &self,
        which: Claiming<'_>,
        limit: usize,
        ahead: usize,
    ) -> Result<Vec<FetchState>, StoreError> {
        let now = Utc::now();
        let turns = (ahead + limit)
            .div_ceil(self.config().fetch.concurrency.max(1))
            .max(1);
        let lease = self
            .lease()
            .saturating_mul(u32::try_from(turns).unwrap_or(u32::MAX));
        let until = now + chrono::Duration::from_std(lease).unwrap_or_default();
        self.store
            .claim_due(&Claim {
                owner: &self.owner,
                which,
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

    /// A new source's first poll, of a response already read (the preview
    /// it was added from): the upstream is asked once, not twice.
    pub async fn first_fetch(
        self: &Arc<Self>,
        name: &str,
        fetched: crate::sources::fetch::Outcome,
    ) -> Result<Report, PollError> {
        self.register().await?;
        let only = [name.to_owned()];
        let mut claimed = self.claim(Claiming::Named(&only), 1).await?;
        let Some(state) = claimed.pop() else {
            return Err(PollError::Busy(name.to_owned()));
        };
        let attempt = self.attempt_with(state, Some(fetched)).await;
        self.settle(attempt).await
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
        let slots = Arc::new(tokio::sync::Semaphore::new(self.config().fetch.concurrency));
        // Every group is claimed as soon as the one before is queued, not when
        // it is done: the slots never wait for a claim, nor for a group's
        // slowest fetch. Each group's lease covers the turns queued before it.
        let mut tasks = tokio::task::JoinSet::new();
        let mut queued = 0;
        for chunk in names.chunks(self.config().fetch.concurrency.max(1) * 16) {
            let (known, unknown): (Vec<String>, Vec<String>) = chunk
                .iter()
                .cloned()
                .partition(|n| self.config().source(n).is_some());
            for n in unknown {
                done(&n);
                results.push((n.clone(), Err(PollError::Unknown(n))));
            }
            let claimed = match self
                .claim_after(Claiming::Named(&known), known.len(), queued)
                .await
            {
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
                    (name, poller.settle(attempt).await)
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
    ) -> Result<(usize, usize), PollError> {
        let source = self
            .config()
            .source(name)
            .cloned()
            .ok_or_else(|| PollError::Unknown(name.to_owned()))?;
        let state = self
            .store
            .fetch_states()
            .await?
            .into_iter()
            .find(|s| s.source == name)
            .ok_or_else(|| PollError::NeverFetched(name.to_owned()))?;
        let url = url::Url::parse(&state.url).map_err(|e| PollError::Document(e.to_string()))?;
        let body = take::Body {
            bytes: Bytes::copy_from_slice(body),
            content_type: content_type.map(str::to_owned),
            url,
        };
        let taken = self
            .take(&source, &state, body, Utc::now(), Instant::now())
            .await;
        let taken = taken.map_err(|e| match e {
            TakeError::Parse(e) => PollError::Document(e),
            TakeError::Overrun(e) => {
                self.cut_off(name, &e);
                PollError::Overrun(e)
            }
            TakeError::Store(e) => PollError::Store(e),
        })?;
        let created = count(&taken.written, crate::store::Outcome::Created);
        let updated = count(&taken.written, crate::store::Outcome::Updated);
        tracing::info!(source = name, created, updated, "pushed by its hub");
        Ok((created, updated))
    }

    /// Notes a source cut off for spending its budget: logged, counted, and
    /// shown by `/healthz` until a poll of it succeeds.
    fn cut_off(&self, source: &str, why: &Overrun) {
        tracing::warn!(source, "cut off: {why}");
        self.metrics
            .fetch_cut_off
            .get_or_create(&Metrics::labels("source", source))
            .inc();
        lock(&self.cut_offs).insert(
            source.to_owned(),
            CutOff {
                source: source.to_owned(),
                at: Utc::now(),
                error: why.to_string(),
            },
        );
    }

    /// The sources cut off at their last poll.
    pub fn cut_offs(&self) -> Vec<CutOff> {
        lock(&self.cut_offs).values().cloned().collect()
    }

    /// Lets go of the items sources no longer carry: those out of their
    /// documents for longer than `fetch.retention`, and past each source's
    /// `max_items`. What a source's document still carries stays.
    async fn expire(&self) {
        for s in &self.config().sources {
            if let Err(e) = self.prune(s).await {
                tracing::warn!(source = s.name, "letting old items go failed: {e}");
            }
        }
    }

    /// [`Poller::expire`] for one source, and the renderer told.
    async fn prune(&self, source: &SourceConfig) -> Result<(), StoreError> {
        let prune = crate::store::Prune {
            unseen_before: Utc::now() - retention(&self.config()),
            max_items: self.config().fetch.max_items_of(source),
        };
        let written = self.store.prune(&source.item_source(), &prune).await?;
        (self.changed)(&written);
        Ok(())
    }
}
