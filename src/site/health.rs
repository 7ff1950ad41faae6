//! What `/healthz` says: whether the site serves what the store holds, and
//! what is wrong when it does not.

use super::Site;
use crate::lock::lock;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What `/healthz` says: whether the site is serving what the store holds.
#[derive(Debug, serde::Serialize)]
pub struct Health {
    /// `ok`, or `degraded` with the reasons: a store that cannot be reached, a
    /// background task not running, or changes waiting too long to be rendered.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    pub documents: usize,
    pub content_problems: usize,
    /// Age of the oldest change not yet in the served documents, in seconds.
    pub unrendered_seconds: f64,
    pub store: StoreHealth,
    /// The config file at its last reading (after a change or SIGHUP).
    pub config: super::ConfigCheck,
    pub tasks: BTreeMap<&'static str, crate::site::supervise::TaskReport>,
    /// Sources whose last poll was cut off for spending its budget: the
    /// site serves on, the source is backed off (not a reason to be
    /// `degraded`: an upstream's document is not this instance's fault).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources_cut_off: Vec<crate::poller::CutOff>,
    /// Managed catalog entries left out of the config in force, and why (a
    /// reason to be `degraded`: an editor's source or timeline is not
    /// served, and only the log said so).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub catalog_left_out: Vec<super::LeftOut>,
}

#[derive(Debug, serde::Serialize)]
pub struct StoreHealth {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_seconds_ago: Option<f64>,
}

/// Changes older than this and not rendered make the site `degraded`.
const STALE_AFTER: Duration = Duration::from_secs(10);
/// A store check older than this is itself a sign of trouble (the follower runs
/// it every 500 ms).
const STORE_CHECK_STALE: Duration = Duration::from_secs(10);

impl Site {
    pub fn health(&self) -> Health {
        let now = Instant::now();
        let (pending, rendering) = *lock(&self.pending_since);
        let oldest = [pending, rendering].into_iter().flatten().min();
        let unrendered = oldest.map_or(Duration::ZERO, |t| now - t);
        let tasks = self.tasks.report();
        let store = match &*lock(&self.store_check) {
            None => StoreHealth {
                status: "unchecked",
                error: None,
                checked_seconds_ago: None,
            },
            Some((at, error)) => StoreHealth {
                status: match error {
                    None if now - *at < STORE_CHECK_STALE => "ok",
                    None => "stale",
                    Some(_) => "unreachable",
                },
                error: error.clone(),
                checked_seconds_ago: Some((now - *at).as_secs_f64()),
            },
        };
        let mut reasons = Vec::new();
        if !matches!(store.status, "ok" | "unchecked") {
            reasons.push(format!(
                "store {}: serving the last rendered feeds",
                store.status
            ));
        }
        for (name, t) in &tasks {
            if !t.alive {
                reasons.push(format!("{name} not running (restarts: {})", t.restarts));
            }
        }
        let config = lock(&self.config_check).clone();
        if let super::ConfigCheck::Refused { error } = &config {
            reasons.push(format!(
                "config refused, the running config stays in force: {error}"
            ));
        }
        let left_out = self.left_out();
        for l in &left_out {
            reasons.push(format!(
                "catalog {} {:?} left out of the config in force: {}",
                l.kind, l.name, l.why
            ));
        }
        if unrendered > STALE_AFTER {
            reasons.push(format!(
                "changes waiting {:.0} s to be rendered",
                unrendered.as_secs_f64()
            ));
        }
        Health {
            status: if reasons.is_empty() { "ok" } else { "degraded" },
            reasons,
            documents: self.cache.size().0,
            content_problems: lock(&self.diagnostics).len(),
            unrendered_seconds: unrendered.as_secs_f64(),
            store,
            config,
            tasks,
            sources_cut_off: self.poller.get().map(|p| p.cut_offs()).unwrap_or_default(),
            catalog_left_out: left_out,
        }
    }
}
