//! When a source comes up again: after a good fetch, its interval less a
//! little at random; after failures, an exponential backoff with jitter.

use crate::model::FetchState;
use chrono::{DateTime, Utc};
use std::time::Duration;

pub(super) fn succeeded(
    state: &mut FetchState,
    status: u16,
    now: DateTime<Utc>,
    interval: Duration,
) {
    state.failures = 0;
    state.last_status = Some(status);
    state.last_error = None;
    state.next_fetch = now + next_poll(interval, &state.source);
}

/// The wait after a good fetch: the interval less up to a tenth of it, at
/// random. Sources added together would otherwise stay due together, and go
/// to the first instances that claim in each round while others sit idle
/// (never later than the interval: that is what the config promises).
pub(super) fn next_poll(interval: Duration, source: &str) -> chrono::Duration {
    let factor = 1.0 - 0.1 * unit_random(source);
    chrono::Duration::from_std(interval.mul_f64(factor)).unwrap_or_default()
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
pub(super) fn unit_random(salt: &str) -> f64 {
    use std::hash::BuildHasher;
    let n = std::collections::hash_map::RandomState::new().hash_one(salt);
    (n >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

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
