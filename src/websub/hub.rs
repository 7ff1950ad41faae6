//! The built-in hub and the publisher's side of WebSub.
//!
//! - **Subscribing** is two steps, as the spec has it: a request is checked
//!   ([`Hub::request`]) and answered `202 Accepted`, then intent is verified
//!   in the background by a GET to the callback that must echo a random
//!   challenge ([`Hub::verify`]); only then is the subscription stored.
//!   Callbacks follow the fetcher's rule: no private networks unless
//!   `fetch.allow_private_networks`, checked after resolution.
//! - **Publishing**: the renderer reports the documents whose bytes changed
//!   ([`Hub::published`]); each topic among them is queued in the store's
//!   outbox for its subscribers, and the other configured hubs are pinged.
//! - **Delivering** ([`Hub::run`]): claimed from the outbox, at most
//!   [`IN_FLIGHT`] at once, each with its own timeout, so a slow or dead
//!   subscriber holds one slot and delays no one else; failures are retried
//!   with exponential backoff and jitter, then given up.

use crate::cache::Cache;
use crate::config::Config;
use crate::model::Format;
use crate::sources::fetch::check_literal;
use crate::store::Store;
use crate::store::{Delivery, Settled, Subscription};
use chrono::Utc;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use url::Url;

/// Deliveries under way at once, per instance.
pub const IN_FLIGHT: usize = 256;
/// A callback's time to answer a challenge or a delivery.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claimed delivery is this instance's: past it (the instance
/// died), another takes it over.
const CLAIM: Duration = Duration::from_secs(60);
/// Tries before a delivery is given up.
const MAX_ATTEMPTS: u32 = 10;
/// The longest wait between tries.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Largest form a subscription request may send.
pub const MAX_REQUEST: usize = 16 * 1024;
/// The spec's bound on `hub.secret`.
const MAX_SECRET: usize = 199;
/// Verifications (challenge GETs) under way at once, per instance: past it,
/// requests are refused for a while instead of piling up tasks that each
/// wait on a callback for [`CALLBACK_TIMEOUT`].
const VERIFYING: usize = 64;

/// What a subscriber asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Subscribe,
    Unsubscribe,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Subscribe => "subscribe",
            Mode::Unsubscribe => "unsubscribe",
        }
    }
}

/// A checked subscription request, to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub mode: Mode,
    pub topic: String,
    pub callback: String,
    pub lease: Duration,
    pub secret: Option<String>,
}

/// What a subscription request is answered.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The request is wrong: 400 with the reason.
    #[error("{0}")]
    Refused(String),
    /// The topic is not a feed of this site: 404.
    #[error("{0} is not a feed of this site")]
    UnknownTopic(String),
}

/// Why a subscription request's intent was not verified (or, verified, not
/// stored): logged, as the spec has the hub answer before it verifies.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the callback is not a URL: {0}")]
    Url(#[from] url::ParseError),
    #[error("the callback did not answer: {0}")]
    NoAnswer(reqwest::Error),
    #[error("the callback answered {0}")]
    Status(u16),
    #[error("the callback answered more than the challenge")]
    TooLong,
    #[error("the callback did not echo the challenge")]
    NoEcho,
    #[error("not stored: {0}")]
    Store(crate::store::StoreError),
}

pub struct Hub {
    config: Arc<Config>,
    store: Arc<dyn Store>,
    cache: Arc<Cache>,
    client: reqwest::Client,
    /// Every feed's and timeline's URL in each feed format.
    topics: HashSet<String>,
    wake: Notify,
    owner: String,
    verifying: Arc<Semaphore>,
}

impl Hub {
    pub fn new(
        config: Arc<Config>,
        store: Arc<dyn Store>,
        cache: Arc<Cache>,
    ) -> Result<Arc<Hub>, crate::sources::fetch::FetchError> {
        let client = super::client(&config, CALLBACK_TIMEOUT)?;
        let topics = crate::catalog::feeds(&config)
            .iter()
            .flat_map(|feed| {
                [Format::Rss, Format::Atom, Format::Json]
                    .map(|f| crate::render::feed_url(&config, feed, f))
            })
            .collect();
        Ok(Arc::new(Hub {
            owner: format!("{}-websub", crate::instance::instance_name()),
            config,
            store,
            cache,
            client,
            topics,
            wake: Notify::new(),
            verifying: Arc::new(Semaphore::new(VERIFYING)),
        }))
    }

    /// The cache path of a topic of this site.
    fn path_of<'t>(&self, topic: &'t str) -> Option<&'t str> {
        self.topics
            .contains(topic)
            .then(|| topic.strip_prefix(self.config.feeds_base()))
            .flatten()
    }

    /// Reads a subscription request's form (`hub.mode`, `hub.topic`,
    /// `hub.callback`, `hub.lease_seconds`, `hub.secret`).
    pub fn request(&self, form: &[u8]) -> Result<Request, HubError> {
        let refused = |m: &str| HubError::Refused(m.to_owned());
        let (mut mode, mut topic, mut callback, mut lease, mut secret) =
            (None, None, None, None, None);
        for (k, v) in url::form_urlencoded::parse(form) {
            match k.as_ref() {
                "hub.mode" => mode = Some(v.into_owned()),
                "hub.topic" => topic = Some(v.into_owned()),
                "hub.callback" => callback = Some(v.into_owned()),
                "hub.lease_seconds" => lease = Some(v.into_owned()),
                "hub.secret" => secret = Some(v.into_owned()),
                _ => {}
            }
        }
        let mode = match mode.as_deref() {
            Some("subscribe") => Mode::Subscribe,
            Some("unsubscribe") => Mode::Unsubscribe,
            Some(other) => {
                return Err(HubError::Refused(format!(
                    "hub.mode must be subscribe or unsubscribe, not {other:?}"
                )));
            }
            None => return Err(refused("hub.mode is required")),
        };
        let topic = topic.ok_or_else(|| refused("hub.topic is required"))?;
        if self.path_of(&topic).is_none() {
            return Err(HubError::UnknownTopic(topic));
        }
        let callback = callback.ok_or_else(|| refused("hub.callback is required"))?;
        let parsed = Url::parse(&callback)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| refused("hub.callback must be an absolute http(s) URL"))?;
        if callback.len() > 2048 {
            return Err(refused("hub.callback is longer than 2048 bytes"));
        }
        check_literal(&parsed, self.config.fetch.allow_private_networks)
            .map_err(|e| HubError::Refused(e.to_string()))?;
        let websub = &self.config.websub;
        let lease = match lease.as_deref().map(str::trim) {
            None | Some("") => websub.lease,
            Some(n) => n
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(Duration::from_secs)
                .ok_or_else(|| refused("hub.lease_seconds must be a positive number"))?
                .min(websub.max_lease),
        };
        if secret.as_ref().is_some_and(|s| s.len() > MAX_SECRET) {
            return Err(refused("hub.secret must be shorter than 200 bytes"));
        }
        Ok(Request {
            mode,
            topic,
            callback,
            lease,
            secret: secret.filter(|s| !s.is_empty()),
        })
    }

    /// A place among the verifications under way, or `None` when all are
    /// taken: the request is to be refused (503), not queued.
    pub fn admit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.verifying.clone().try_acquire_owned().ok()
    }

    /// Verifies a request's intent with the GET challenge, then stores (or
    /// removes) the subscription. The error says why it was not.
    pub async fn verify(&self, req: Request) -> Result<(), VerifyError> {
        let challenge = super::token();
        let mut url = Url::parse(&req.callback)?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("hub.mode", req.mode.as_str())
                .append_pair("hub.topic", &req.topic)
                .append_pair("hub.challenge", &challenge);
            if req.mode == Mode::Subscribe {
                q.append_pair("hub.lease_seconds", &req.lease.as_secs().to_string());
            }
        }
        let resp = self
            .client
            .get(url)
            .send()
            .await
            .map_err(VerifyError::NoAnswer)?;
        if !resp.status().is_success() {
            return Err(VerifyError::Status(resp.status().as_u16()));
        }
        let body = read_limited(resp, challenge.len() + 64).await?;
        if body.trim_ascii() != challenge.as_bytes() {
            return Err(VerifyError::NoEcho);
        }
        let stored = match req.mode {
            Mode::Subscribe => {
                let lease = chrono::Duration::from_std(req.lease).unwrap_or_default();
                self.store
                    .websub_subscribe(&Subscription {
                        topic: req.topic,
                        callback: req.callback,
                        secret: req.secret,
                        lease_until: Utc::now() + lease,
                    })
                    .await
            }
            Mode::Unsubscribe => self
                .store
                .websub_unsubscribe(&req.topic, &req.callback)
                .await
                .map(|_| ()),
        };
        stored.map_err(VerifyError::Store)
    }

    /// Queues the documents whose bytes changed (`(path, etag)`) for their
    /// subscribers and wakes the deliveries; pings the other hubs in the
    /// background. Awaited by the renderer, so changes are queued in the order
    /// they were rendered (a later change supersedes an earlier one).
    pub async fn published(self: &Arc<Self>, changed: Vec<(String, String)>) {
        let base = self.config.feeds_base();
        let topics: Vec<(String, String)> = changed
            .into_iter()
            .map(|(path, etag)| (format!("{base}{path}"), etag))
            .filter(|(topic, _)| self.topics.contains(topic))
            .collect();
        if topics.is_empty() {
            return;
        }
        if self.config.websub.hub {
            match self.store.websub_enqueue(&topics, Utc::now()).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::debug!(deliveries = n, "queued WebSub deliveries");
                    self.wake.notify_one();
                }
                Err(e) => tracing::warn!("queueing WebSub deliveries failed: {e}"),
            }
        }
        if self.config.websub.hubs.is_empty() {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            for hub in &this.config.websub.hubs {
                for (topic, _) in &topics {
                    // WebSub leaves publishing to each hub: PubSubHubbub's
                    // `hub.url` and the `hub.topic` others read, both.
                    let ping = super::post_form(
                        &this.client,
                        hub,
                        &[
                            ("hub.mode", "publish"),
                            ("hub.topic", topic),
                            ("hub.url", topic),
                        ],
                    )
                    .await;
                    match ping {
                        Ok(r) if r.status().is_success() => {}
                        Ok(r) => tracing::warn!(hub, topic, "the hub answered {}", r.status()),
                        Err(e) => tracing::warn!(hub, topic, "pinging the hub failed: {e}"),
                    }
                }
            }
        });
    }

    /// Delivers queued changes until the process ends: claims as many as
    /// there are free slots, each sent in its own task, their outcomes
    /// written in batches.
    pub async fn run(self: Arc<Self>) -> Result<(), tokio::sync::AcquireError> {
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        let (tx, rx) = tokio::sync::mpsc::channel(IN_FLIGHT * 4);
        tokio::spawn(settle_batches(self.store.clone(), rx));
        let mut last_expiry: Option<std::time::Instant> = None;
        loop {
            // Wait for a free slot, then claim as many as are free.
            drop(slots.acquire().await?);
            let free = slots.available_permits();
            let now = Utc::now();
            let until = now + chrono::Duration::from_std(CLAIM).unwrap_or_default();
            let claimed = match self.store.websub_claim(&self.owner, now, until, free).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("claiming WebSub deliveries failed: {e}");
                    Vec::new()
                }
            };
            let busy = !claimed.is_empty();
            for delivery in claimed {
                let permit = slots.clone().acquire_owned().await?;
                let (hub, tx) = (self.clone(), tx.clone());
                tokio::spawn(async move {
                    let settled = hub.deliver(delivery).await;
                    drop(permit);
                    let _ = tx.send(settled).await;
                });
            }
            if last_expiry.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
                last_expiry = Some(std::time::Instant::now());
                match self.store.websub_expire(Utc::now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(subscriptions = n, "expired WebSub leases dropped"),
                    Err(e) => tracing::warn!("expiring WebSub leases failed: {e}"),
                }
            }
            if !busy {
                // Other instances' changes and retries come due without a
                // wake-up here: look again within a second.
                let _ = tokio::time::timeout(Duration::from_secs(1), self.wake.notified()).await;
            }
        }
    }

    /// One delivery: the document as this instance serves it, if it is the
    /// change that was queued.
    async fn deliver(&self, d: Delivery) -> Settled {
        let id = d.id;
        if d.superseded {
            return Settled::Done { id };
        }
        let Some(path) = self.path_of(&d.topic) else {
            return Settled::Done { id };
        };
        let Some(entry) = self.cache.get(path) else {
            return retry(&d, "the document is not rendered here".into());
        };
        let current = entry.identity.etag.to_str().unwrap_or_default();
        // Another instance rendered this change first: wait a little for
        // ours, then send what we have (a later change is queued anyway).
        if current != d.etag && d.attempts < 3 {
            return Settled::Retry {
                id,
                next: Utc::now() + chrono::Duration::seconds(1),
                error: "the change is not rendered here yet".into(),
            };
        }
        let body = entry.identity.body.clone();
        let content_type = entry
            .identity
            .headers
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let mut req = self
            .client
            .post(&d.callback)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header(reqwest::header::LINK, self.config.link_header(&d.topic));
        if let Some(secret) = &d.secret {
            req = req.header("X-Hub-Signature", super::sign::signature(secret, &body));
        }
        match req.body(body).send().await {
            Ok(r) if r.status().is_success() => Settled::Done { id },
            Ok(r) => retry(&d, format!("the callback answered {}", r.status())),
            Err(e) => retry(&d, format!("the callback did not answer: {e}")),
        }
    }
}

/// Tried again after 2^attempts seconds (at most an hour), give or take a
/// fifth, or given up after [`MAX_ATTEMPTS`].
fn retry(d: &Delivery, error: String) -> Settled {
    if d.attempts >= MAX_ATTEMPTS {
        tracing::warn!(
            callback = d.callback,
            topic = d.topic,
            "WebSub delivery given up after {} tries: {error}",
            d.attempts
        );
        return Settled::Done { id: d.id };
    }
    let base = Duration::from_secs(1 << d.attempts.min(12)).min(MAX_BACKOFF);
    let jitter = 0.8 + 0.4 * (d.id.wrapping_mul(2_654_435_761) % 1000) as f64 / 1000.0;
    let wait = base.mul_f64(jitter);
    tracing::debug!(
        callback = d.callback,
        "WebSub delivery failed, again in {wait:?}: {error}"
    );
    Settled::Retry {
        id: d.id,
        next: Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default(),
        error,
    }
}

/// Writes outcomes as they come, those that came together in one
/// transaction. Ends when every sender is gone.
async fn settle_batches(store: Arc<dyn Store>, mut rx: tokio::sync::mpsc::Receiver<Settled>) {
    let mut batch = Vec::with_capacity(IN_FLIGHT);
    while rx.recv_many(&mut batch, IN_FLIGHT).await > 0 {
        if let Err(e) = store.websub_settle(&batch, Utc::now()).await {
            // Unwritten, the claims run out and the deliveries are tried again.
            tracing::warn!("recording WebSub deliveries failed: {e}");
        }
        batch.clear();
    }
}

/// At most `max` bytes of a response's body.
async fn read_limited(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, VerifyError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(VerifyError::NoAnswer)? {
        body.extend_from_slice(&chunk);
        if body.len() > max {
            return Err(VerifyError::TooLong);
        }
    }
    Ok(body)
}
