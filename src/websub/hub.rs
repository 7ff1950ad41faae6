//! The built-in hub and the publisher's side of WebSub.
//!
//! - **Subscribing** is two steps, as the spec has it: a request is checked
//!   ([`Hub::request`]) and answered `202 Accepted`, then intent is verified
//!   in the background by a GET to the callback that must echo a random
//!   challenge ([`Hub::verify`]); only then is the subscription stored.
//!   Callbacks follow the fetcher's rule: no private networks unless
//!   `fetch.allow_private_networks`, checked after resolution.
//! - **Bounds.** Subscriptions are bounded in all, per callback host and
//!   per client address (`websub.max_subscriptions`, `max_per_callback_host`,
//!   `max_per_client`), and requests per address per minute
//!   (`websub.requests_per_minute`): anyone may subscribe, and every change
//!   is then sent to every subscriber, so what one client can make the hub
//!   send is bounded.
//! - **Publishing and delivering** are [`super::deliver`]'s.

use crate::cache::Cache;
use crate::config::Config;
use crate::model::Format;
use crate::sources::fetch::check_literal;
use crate::store::{Store, Subscription};
use chrono::Utc;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use url::Url;

/// A callback's time to answer a challenge or a delivery.
pub(super) const CALLBACK_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest form a subscription request may send.
pub const MAX_REQUEST: usize = 16 * 1024;
/// The spec's bound on `hub.secret`.
const MAX_SECRET: usize = 199;
/// Verifications (challenge GETs) under way at once, per instance: past it,
/// requests are refused for a while instead of piling up tasks that each
/// wait on a callback for [`CALLBACK_TIMEOUT`].
const VERIFYING: usize = 64;
/// Client addresses whose request rate is remembered at once.
const RATE_CLIENTS: usize = 16_384;

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
    /// One of the hub's bounds on subscriptions is reached: 429.
    #[error("{0}")]
    TooMany(String),
    /// The client asks too often: 429, with when to come back.
    #[error("too many subscription requests from this address; again in {} s", .0.as_secs().max(1))]
    TooOften(Duration),
    /// The store could not say: 503.
    #[error("subscriptions cannot be counted now")]
    Store(#[from] crate::store::StoreError),
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
    #[error("not stored: {0}")]
    Bounds(HubError),
}

/// The host a callback URL calls back, as the bounds count it.
fn callback_host(callback: &str) -> String {
    Url::parse(callback)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default()
}

/// Every feed's URL in each feed format.
fn topics(config: &Config) -> HashSet<String> {
    crate::catalog::feeds(config)
        .iter()
        .flat_map(|feed| {
            [Format::Rss, Format::Atom, Format::Json]
                .map(|f| crate::render::feed_url(config, feed, f))
        })
        .collect()
}

pub struct Hub {
    config: Arc<arc_swap::ArcSwap<Config>>,
    pub(super) store: Arc<dyn Store>,
    pub(super) cache: Arc<Cache>,
    pub(super) client: reqwest::Client,
    /// Every feed's and timeline's URL in each feed format, as the config
    /// in force has them.
    topics: arc_swap::ArcSwap<HashSet<String>>,
    pub(super) wake: Notify,
    pub(super) owner: String,
    verifying: Arc<Semaphore>,
    /// Changes noted by the renderer and not yet queued: the latest ETag of
    /// each topic.
    pub(super) pending: Mutex<HashMap<String, String>>,
    /// Subscription requests per client address.
    rate: crate::rate::Rate,
    /// Held from a verified subscription's bounds check to its write, so
    /// that verifications finishing together cannot pass a bound together.
    storing: tokio::sync::Mutex<()>,
}

impl Hub {
    pub fn new(
        live: Arc<arc_swap::ArcSwap<Config>>,
        store: Arc<dyn Store>,
        cache: Arc<Cache>,
    ) -> Result<Arc<Hub>, crate::sources::fetch::FetchError> {
        let config = live.load_full();
        let client = super::client(&config, CALLBACK_TIMEOUT)?;
        let topics = arc_swap::ArcSwap::from_pointee(topics(&config));
        let per_minute = config.websub.requests_per_minute;
        let rate = crate::rate::Rate::new(per_minute, per_minute, RATE_CLIENTS);
        Ok(Arc::new(Hub {
            owner: format!("{}-websub", crate::instance::instance_name()),
            config: live,
            store,
            cache,
            client,
            topics,
            wake: Notify::new(),
            verifying: Arc::new(Semaphore::new(VERIFYING)),
            pending: Mutex::new(HashMap::new()),
            rate,
            storing: tokio::sync::Mutex::new(()),
        }))
    }

    /// The config in force.
    pub(super) fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    /// This site's topics, as the config in force has them.
    pub(super) fn topics(&self) -> Arc<HashSet<String>> {
        self.topics.load_full()
    }

    /// Takes in the config in force: its feeds are the topics.
    pub fn reconfigured(&self) {
        self.topics.store(Arc::new(topics(&self.config())));
    }

    /// The cache path of a topic of this site.
    pub(super) fn path_of(&self, topic: &str) -> Option<String> {
        self.topics
            .load()
            .contains(topic)
            .then(|| {
                topic
                    .strip_prefix(self.config().feeds_base())
                    .map(str::to_owned)
            })
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
        // The URL parser would encode them, but the callback is kept as sent
        // (a subscription is known by it), and no store keeps a NUL.
        if callback.chars().any(char::is_control) {
            return Err(refused("hub.callback must not hold control characters"));
        }
        check_literal(&parsed, self.config().fetch.allow_private_networks)
            .map_err(|e| HubError::Refused(e.to_string()))?;
        let websub = &self.config().websub;
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
        if secret.as_ref().is_some_and(|s| s.contains('\0')) {
            return Err(refused("hub.secret must not hold NUL"));
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

    /// Whether `client` may ask anything now: within its rate of requests,
    /// checked before the request is read.
    pub fn rate(&self, client: IpAddr) -> Result<(), HubError> {
        self.rate.take(client).map_err(HubError::TooOften)
    }

    /// Whether `req` of `client` is within the bounds on subscriptions (a
    /// subscription that exists already adds nothing).
    pub async fn bounds(&self, req: &Request, client: IpAddr) -> Result<(), HubError> {
        if req.mode == Mode::Subscribe {
            self.room_for(req, client).await?;
        }
        Ok(())
    }

    /// Err when a new subscription `req` of `client` would pass a bound.
    async fn room_for(&self, req: &Request, client: IpAddr) -> Result<(), HubError> {
        let w = &self.config().websub;
        let counts = self
            .store
            .websub_counts(
                &crate::store::Asking {
                    client: &client.to_string(),
                    callback_host: &callback_host(&req.callback),
                    topic: &req.topic,
                    callback: &req.callback,
                },
                Utc::now(),
            )
            .await?;
        if counts.exists {
            return Ok(());
        }
        let full = |what: &str, key: &str, n: usize| {
            HubError::TooMany(format!(
                "{what} has {n} subscriptions already, the most this hub takes ({key})"
            ))
        };
        if counts.total >= w.max_subscriptions {
            return Err(full("this hub", "websub.max_subscriptions", counts.total));
        }
        if counts.of_callback_host >= w.max_per_callback_host {
            let key = "websub.max_per_callback_host";
            return Err(full("the callback's host", key, counts.of_callback_host));
        }
        if counts.of_client >= w.max_per_client {
            return Err(full(
                "this address",
                "websub.max_per_client",
                counts.of_client,
            ));
        }
        Ok(())
    }

    /// Verifies a request's intent with the GET challenge, then stores (or
    /// removes) the subscription. The error says why it was not. The bounds
    /// are checked again before storing: others may have been verified
    /// meanwhile.
    pub async fn verify(&self, req: Request, client: IpAddr) -> Result<(), VerifyError> {
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
                let _storing = self.storing.lock().await;
                self.room_for(&req, client)
                    .await
                    .map_err(VerifyError::Bounds)?;
                let lease = chrono::Duration::from_std(req.lease).unwrap_or_default();
                self.store
                    .websub_subscribe(&Subscription {
                        callback_host: callback_host(&req.callback),
                        topic: req.topic,
                        callback: req.callback,
                        secret: req.secret,
                        lease_until: Utc::now() + lease,
                        client: client.to_string(),
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
