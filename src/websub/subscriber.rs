//! The subscriber's side: an external source whose document advertises a
//! hub is subscribed to there, so its changes arrive pushed instead of at the
//! next poll. The callback is `{site.feeds_url}/websub/callback/{source}`,
//! the secret ours and random, the subscription kept in the store (any
//! instance may receive the hub's challenge or a delivery). Polling goes on
//! at the source's interval regardless: if the hub goes quiet or drops the
//! subscription, nothing is missed for longer than it was before.
//!
//! A subscription is asked for after a fetch that finds a hub and no
//! subscription for it; renewed at half its lease; asked for again an hour
//! after a request the hub never verified.

use super::sign;
use crate::config::Config;
use crate::sources::fetch::check_literal;
use crate::sources::parse::Advertised;
use crate::store::Remote;
use crate::store::Store;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// Where hubs call back: the source's name follows.
pub const CALLBACK_PREFIX: &str = "/websub/callback/";

/// A request the hub has not verified within this is sent again.
const UNVERIFIED: chrono::Duration = chrono::Duration::hours(1);

/// Why a subscription request to a hub failed.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error("the hub is not a URL: {0}")]
    Url(#[from] url::ParseError),
    #[error(transparent)]
    NotPublic(#[from] crate::sources::fetch::NotPublic),
    #[error("{0}")]
    Request(#[from] reqwest::Error),
    #[error("the hub answered {0}")]
    Status(u16),
}

/// Why a pushed delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("no subscription for this source")]
    NotSubscribed,
    #[error("an unsigned delivery")]
    Unsigned,
    #[error("a signature that is not ours")]
    NotOurs,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

pub struct Subscriber {
    config: Arc<Config>,
    store: Arc<dyn Store>,
    client: reqwest::Client,
}

impl Subscriber {
    pub fn new(
        config: Arc<Config>,
        store: Arc<dyn Store>,
    ) -> Result<Arc<Subscriber>, crate::sources::fetch::FetchError> {
        let client = super::client(&config, Duration::from_secs(30))?;
        Ok(Arc::new(Subscriber {
            config,
            store,
            client,
        }))
    }

    /// Where the hub calls back for a source: its name, then a token only
    /// the hub we asked knows ([`sign::callback_token`]).
    fn callback(&self, source: &str, secret: &str) -> String {
        format!(
            "{}{CALLBACK_PREFIX}{source}/{}",
            self.config.feeds_base(),
            sign::callback_token(secret)
        )
    }

    /// The subscription a call to `/websub/callback/{source}/{token}` is
    /// about, if it is one we hold and the token is its own: checked before
    /// anything else of the call is read.
    pub async fn expected(&self, source: &str, token: &str) -> Result<Remote, PushError> {
        let remote = self
            .store
            .websub_remote(source)
            .await?
            .ok_or(PushError::NotSubscribed)?;
        if sign::same(&sign::callback_token(&remote.secret), token) {
            Ok(remote)
        } else {
            Err(PushError::NotSubscribed)
        }
    }

    /// After a fetch of `source` (from `url`) whose document advertises
    /// hubs: subscribes at the first, or renews, when it is time. What goes
    /// wrong is logged; polling goes on either way.
    pub async fn maybe_subscribe(&self, source: &str, url: &str, advertised: &Advertised) {
        if !self.config.websub.subscribe {
            return;
        }
        let Some(hub) = advertised.hubs.first() else {
            return;
        };
        let topic = advertised.topic.clone().unwrap_or_else(|| url.to_owned());
        let now = Utc::now();
        let current = match self.store.websub_remote(source).await {
            Ok(c) => c.filter(|r| r.hub == *hub && r.topic == topic),
            Err(e) => {
                tracing::warn!(source, "reading the WebSub subscription failed: {e}");
                return;
            }
        };
        if current.as_ref().is_some_and(|r| !due(r, now)) {
            return;
        }
        let remote = Remote {
            source: source.to_owned(),
            hub: hub.clone(),
            topic,
            secret: current
                .as_ref()
                .map_or_else(super::token, |r| r.secret.clone()),
            requested: now,
            verified: current.as_ref().and_then(|r| r.verified),
            lease_until: current.and_then(|r| r.lease_until),
        };
        if let Err(e) = self.store.websub_remote_save(&remote).await {
            tracing::warn!(source, "recording the WebSub subscription failed: {e}");
            return;
        }
        if let Err(e) = self.request(&remote).await {
            tracing::warn!(
                source,
                hub = remote.hub,
                "subscribing at the hub failed: {e}"
            );
        } else {
            tracing::info!(
                source,
                hub = remote.hub,
                topic = remote.topic,
                "asked the hub for pushes"
            );
        }
    }

    async fn request(&self, r: &Remote) -> Result<(), SubscribeError> {
        let hub = url::Url::parse(&r.hub)?;
        check_literal(&hub, self.config.fetch.allow_private_networks)?;
        let lease = self.config.websub.lease.as_secs().to_string();
        let callback = self.callback(&r.source, &r.secret);
        let pairs = [
            ("hub.mode", "subscribe"),
            ("hub.topic", r.topic.as_str()),
            ("hub.callback", callback.as_str()),
            ("hub.secret", r.secret.as_str()),
            ("hub.lease_seconds", lease.as_str()),
        ];
        let resp = super::post_form(&self.client, hub.as_str(), &pairs).await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(SubscribeError::Status(resp.status().as_u16()))
        }
    }

    /// The hub's verification of `source`'s subscription (the callback's
    /// query): the challenge to echo when it is the subscription we asked
    /// for, which is then live for the lease the hub grants.
    pub async fn verify(&self, mut remote: Remote, query: &[(String, String)]) -> Option<String> {
        let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let source = remote.source.clone();
        if param("hub.topic") != Some(remote.topic.as_str()) {
            return None;
        }
        match param("hub.mode")? {
            // Only a request we sent and the hub has not verified yet.
            "subscribe" if !pending(&remote, Utc::now()) => None,
            "subscribe" => {
                let challenge = param("hub.challenge")?.to_owned();
                // As the hub grants it, within our own bounds (a lease of
                // centuries would overflow the date it ends at).
                let lease = param("hub.lease_seconds")
                    .and_then(|s| s.parse::<u64>().ok())
                    .filter(|s| *s > 0)
                    .map_or(self.config.websub.lease, Duration::from_secs)
                    .min(self.config.websub.max_lease);
                let lease = chrono::Duration::from_std(lease).unwrap_or_default();
                remote.lease_until = Some(Utc::now() + lease);
                // The lease counts from now: renewal at its half.
                remote.requested = Utc::now();
                remote.verified = Some(remote.requested);
                self.store.websub_remote_save(&remote).await.ok()?;
                Some(challenge)
            }
            "denied" => {
                tracing::warn!(
                    source,
                    reason = param("hub.reason").unwrap_or_default(),
                    "the hub denied the subscription; polling only"
                );
                remote.lease_until = None;
                self.store.websub_remote_save(&remote).await.ok()?;
                Some(String::new())
            }
            _ => None,
        }
    }

    /// Whether a delivery's signature header can be checked at all: looked
    /// at before its body is read.
    pub fn signed(signature: Option<&str>) -> Result<&str, PushError> {
        let signature = signature.ok_or(PushError::Unsigned)?;
        if sign::well_formed(signature) {
            Ok(signature)
        } else {
            Err(PushError::NotOurs)
        }
    }

    /// Whether a delivery's body is signed with the subscription's secret.
    pub fn authentic(remote: &Remote, body: &[u8], signature: &str) -> Result<(), PushError> {
        if sign::verify(&remote.secret, body, signature) {
            Ok(())
        } else {
            Err(PushError::NotOurs)
        }
    }
}

/// Whether we asked for a subscription the hub has not verified yet (and
/// asked within the hour it has to).
fn pending(r: &Remote, now: DateTime<Utc>) -> bool {
    let unverified = r.verified.is_none_or(|at| at < r.requested);
    unverified && now - r.requested <= UNVERIFIED
}

/// Whether a subscription should be asked for again: unverified for an
/// hour, or past half its lease.
fn due(r: &Remote, now: DateTime<Utc>) -> bool {
    match r.lease_until {
        None => now - r.requested > UNVERIFIED,
        Some(until) => now > r.requested + (until - r.requested) / 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renews_at_half_the_lease_and_asks_again_when_unverified() {
        let now = Utc::now();
        let r = |requested: i64, lease: Option<i64>| Remote {
            source: "s".into(),
            hub: "https://hub.example/".into(),
            topic: "https://s.example/feed".into(),
            secret: "x".into(),
            requested: now - chrono::Duration::hours(requested),
            lease_until: lease.map(|h| now + chrono::Duration::hours(h)),
            verified: None,
        };
        assert!(!due(&r(0, None), now), "just asked");
        assert!(due(&r(2, None), now), "never verified");
        assert!(!due(&r(1, Some(10)), now), "early in its lease");
        assert!(due(&r(10, Some(2)), now), "past half its lease");
    }

    #[test]
    fn only_a_request_not_yet_verified_is_pending() {
        let now = Utc::now();
        let mut r = Remote {
            source: "s".into(),
            hub: "https://hub.example/".into(),
            topic: "https://s.example/feed".into(),
            secret: "x".into(),
            requested: now - chrono::Duration::minutes(5),
            lease_until: None,
            verified: None,
        };
        assert!(pending(&r, now), "asked, not answered");
        r.verified = Some(r.requested);
        r.lease_until = Some(now + chrono::Duration::days(5));
        assert!(!pending(&r, now), "answered: a second answer is forged");
        r.requested = now;
        assert!(pending(&r, now), "a renewal asked for");
        r.requested = now - chrono::Duration::hours(2);
        r.verified = None;
        assert!(!pending(&r, now), "asked too long ago");
        let token = sign::callback_token("secret");
        assert_eq!(token.len(), 32);
        assert_ne!(token, sign::callback_token("another"));
    }
}
