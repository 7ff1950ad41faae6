//! WebSub (W3C Recommendation, 2018): readers and syndicating sites learn of a
//! change within a second instead of at their next poll.
//!
//! - **Publisher.** Every feed and timeline advertises its hubs and itself
//!   (`rel="hub"`, `rel="self"`) in the document and in `Link` headers; when a
//!   document's bytes change, the change is queued for the built-in hub's
//!   subscribers and the other configured hubs are pinged ([`hub::Hub`]).
//! - **Built-in hub** (`POST /websub/hub`, on by default): subscriptions to
//!   this site's own feeds, verified by the GET challenge, leased, and kept in
//!   the store; each change is delivered with the new body, signed with the
//!   subscriber's secret. Deliveries go through an outbox in the store, so the
//!   same change rendered by several instances is delivered once, and a
//!   delivery a killed instance held is taken over when its claim runs out.

pub mod hub;
pub mod sign;

use chrono::{DateTime, Utc};

/// Where the built-in hub answers.
pub const HUB_PATH: &str = "/websub/hub";

/// A verified subscription of a callback to a topic (a feed's URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub topic: String,
    pub callback: String,
    /// The subscriber's `hub.secret`: deliveries carry `X-Hub-Signature`.
    pub secret: Option<String>,
    pub lease_until: DateTime<Utc>,
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
