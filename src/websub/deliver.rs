//! The hub's deliveries: changes noted by the renderer are queued in the
//! store's outbox for each subscriber (and pinged to other hubs) by this
//! loop, outside the render pass; claimed from the outbox, at most
//! [`IN_FLIGHT`] at once, each with its own timeout; retried with
//! exponential backoff and jitter, then given up.
//!
//! What one change can cost: each subscriber gets the new document once
//! (and up to [`MAX_ATTEMPTS`] tries if it fails), so a change of one topic
//! sends at most `websub.max_subscriptions` documents, each at most the
//! size of a feed document.

use super::hub::Hub;
use crate::store::{Delivery, Settled, Store};
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Deliveries under way at once, per instance.
pub const IN_FLIGHT: usize = 256;
/// How long a claimed delivery is this instance's: past it (the instance
/// died), another takes it over.
const CLAIM: Duration = Duration::from_secs(60);

/// The longest wait between claims when none of this instance's changes
/// queued a delivery: how soon other instances' and retried deliveries
/// are picked up.
const CLAIM_EVERY: Duration = Duration::from_secs(1);
/// Tries before a delivery is given up.
pub const MAX_ATTEMPTS: u32 = 10;
/// The longest wait between tries.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

impl Hub {
    /// Takes the documents a render pass changed (`(path, etag)`): noted
    /// at once, and queued for their subscribers (and pinged to the other
    /// hubs) by [`Hub::run`], outside the render pass. Per topic only the
    /// latest change is kept: a later change supersedes an earlier one
    /// anyway, and the note stays as small as the site's set of topics.
    pub fn published(&self, changed: Vec<(String, String)>) {
        let config = self.config();
        let base = config.feeds_base();
        let mut pending = crate::lock::lock(&self.pending);
        for (path, etag) in changed {
            let topic = format!("{base}{path}");
            if self.topics().contains(&topic) {
                pending.insert(topic, etag);
            }
        }
        if !pending.is_empty() {
            self.wake.notify_one();
        }
    }

    /// Queues what [`Hub::published`] noted for the built-in hub's
    /// subscribers, and pings the other hubs in the background. Put back to
    /// be tried again when the store cannot take it. Returns how many
    /// deliveries it queued.
    async fn publish(self: &Arc<Self>) -> usize {
        let topics: Vec<(String, String)> = std::mem::take(&mut *crate::lock::lock(&self.pending))
            .into_iter()
            .collect();
        if topics.is_empty() {
            return 0;
        }
        let mut queued = 0;
        if self.config().websub.hub {
            match self.store.websub_enqueue(&topics, Utc::now()).await {
                Ok(n) => {
                    tracing::debug!(deliveries = n, "queued WebSub deliveries");
                    queued = n;
                }
                Err(e) => {
                    tracing::warn!("queueing WebSub deliveries failed: {e}");
                    let mut pending = crate::lock::lock(&self.pending);
                    for (topic, etag) in topics {
                        // A newer change noted meanwhile stays.
                        pending.entry(topic).or_insert(etag);
                    }
                    return 0;
                }
            }
        }
        if self.config().websub.hubs.is_empty() {
            return queued;
        }
        let this = self.clone();
        tokio::spawn(async move {
            for hub in &this.config().websub.hubs {
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
        queued
    }

    /// Delivers queued changes until the process ends: claims as many as
    /// there are free slots, each sent in its own task, their outcomes
    /// written in batches. It claims when it queued deliveries, when its
    /// last claim found some (more may wait), and at least every
    /// [`CLAIM_EVERY`] otherwise (other instances' changes, retries come
    /// due); not after each change that queued nothing: under a stream of
    /// writes with no subscriber, a claim per render pass was four of the
    /// database's round trips.
    pub async fn run(self: Arc<Self>) -> Result<(), tokio::sync::AcquireError> {
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        let (tx, rx) = tokio::sync::mpsc::channel(IN_FLIGHT * 4);
        tokio::spawn(settle_batches(self.store.clone(), rx));
        let mut last_expiry: Option<std::time::Instant> = None;
        // Whether the last claim found deliveries, and when it was.
        let mut last_claim: Option<(bool, std::time::Instant)> = None;
        loop {
            let queued = self.publish().await;
            if !self.config().websub.hub {
                // Pings to other hubs only: nothing to deliver here.
                self.wake.notified().await;
                continue;
            }
            let due = last_claim.is_none_or(|(busy, at)| busy || at.elapsed() >= CLAIM_EVERY);
            let mut busy = false;
            if due || queued > 0 {
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
                busy = !claimed.is_empty();
                last_claim = Some((busy, std::time::Instant::now()));
                for delivery in claimed {
                    let permit = slots.clone().acquire_owned().await?;
                    let (hub, tx) = (self.clone(), tx.clone());
                    tokio::spawn(async move {
                        let settled = hub.deliver(delivery).await;
                        drop(permit);
                        let _ = tx.send(settled).await;
                    });
                }
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
                let _ = tokio::time::timeout(CLAIM_EVERY, self.wake.notified()).await;
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
        let Some(entry) = self.cache.get(&path) else {
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
            .header(reqwest::header::LINK, self.config().link_header(&d.topic));
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
