//! The WebSub rows the store keeps: subscriptions to this site's hub, the
//! outbox of their deliveries, and the subscriptions this site holds at other
//! hubs. The hub and the subscriber (`crate::websub`) use them; the store
//! knows nothing of who does.

use chrono::{DateTime, Utc};

/// A verified subscription of a callback to a topic (a feed's URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub topic: String,
    pub callback: String,
    /// The subscriber's `hub.secret`: deliveries carry `X-Hub-Signature`.
    pub secret: Option<String>,
    pub lease_until: DateTime<Utc>,
    /// The address that asked for it, and the host of its callback: what the
    /// hub's bounds count.
    pub client: String,
    pub callback_host: String,
}

/// A subscription request as the hub's bounds weigh it: who asks (the
/// client's address), where it would call back, and for which topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asking<'a> {
    pub client: &'a str,
    pub callback_host: &'a str,
    pub topic: &'a str,
    pub callback: &'a str,
}

/// How many live subscriptions there are, in all and of one requester:
/// what the hub's bounds are checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubscriptionCounts {
    pub total: usize,
    pub of_client: usize,
    pub of_callback_host: usize,
    /// The one asked about exists already (a renewal adds nothing).
    pub exists: bool,
}

/// One change of one topic, to deliver to one subscriber: the document whose
/// identity ETag is `etag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub topic: String,
    pub callback: String,
    pub etag: String,
    /// Tries so far, this one included.
    pub attempts: u32,
    pub secret: Option<String>,
    /// A later change of the same topic is queued for the same subscriber:
    /// this one need not be sent.
    pub superseded: bool,
}

/// A subscription this site holds at another site's hub, for one of its
/// sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub source: String,
    pub hub: String,
    pub topic: String,
    /// Ours, sent with the request: the hub signs deliveries with it.
    pub secret: String,
    pub requested: DateTime<Utc>,
    /// Set when the hub verified the request.
    pub lease_until: Option<DateTime<Utc>>,
    /// When the hub last verified a request of ours: one sent later is
    /// pending, and only a pending one is answered.
    pub verified: Option<DateTime<Utc>>,
}

/// What became of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Delivered (or no longer to be: superseded, or given up on).
    Done { id: i64 },
    /// To be tried again at `next`.
    Retry {
        id: i64,
        next: DateTime<Utc>,
        error: String,
    },
}
