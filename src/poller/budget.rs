//! Reading an untrusted document is CPU work whose cost its author chooses.
//! It runs off the async workers (a blocking thread), a few at a time (one
//! per core: the HTTP workers and the renderer keep a share of the machine
//! whatever upstreams send), and within a budget per poll (`fetch.budget`):
//! the work checks its clock between entries and pages, and the poll stops
//! waiting for it once the budget is spent, so a source that would keep a
//! core busy is cut off, reported and backed off, while the rest of the
//! site carries on. What one step can cost is bounded beforehand (nesting
//! depth, markup read for a title, bodies cut at 1 MiB), so a step that
//! overruns still ends soon after.

use super::Poller;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The CPU time a poll may spend, counted only while its work runs (not
/// while it waits for a core or for the network).
#[derive(Debug, Clone)]
pub(super) struct Budget {
    left: Duration,
    total: Duration,
}

/// The running step's share of a [`Budget`]: what it checks between units
/// of work.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    deadline: Instant,
    total: Duration,
}

/// A poll that spent its budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Overrun {
    #[error(
        "reading and sanitizing the document took more than its budget of {0:?} (fetch.budget): cut off"
    )]
    Budget(Duration),
    #[error("reading the document failed: a reader panicked ({0})")]
    Panicked(String),
}

impl Budget {
    pub(super) fn new(total: Duration) -> Budget {
        Budget { left: total, total }
    }
}

impl Clock {
    /// Err once the step's share of the budget is spent.
    pub(super) fn check(&self) -> Result<(), Overrun> {
        if Instant::now() > self.deadline {
            Err(Overrun::Budget(self.total))
        } else {
            Ok(())
        }
    }
}

impl Poller {
    /// Runs `work` on a blocking thread once a core is free, with what is
    /// left of `budget`; the time it took is taken from the budget. Past the
    /// budget (and a second's grace for the step to notice), the poll stops
    /// waiting: the step finishes on its own, holding its core until then.
    pub(super) async fn bounded<T, F>(&self, budget: &mut Budget, work: F) -> Result<T, Overrun>
    where
        T: Send + 'static,
        F: FnOnce(Clock) -> Result<T, Overrun> + Send + 'static,
    {
        if budget.left.is_zero() {
            return Err(Overrun::Budget(budget.total));
        }
        let core = Arc::clone(&self.cores)
            .acquire_owned()
            .await
            .map_err(|e| Overrun::Panicked(e.to_string()))?;
        let (left, total) = (budget.left, budget.total);
        let started = Instant::now();
        let handle = tokio::task::spawn_blocking(move || {
            let _core = core;
            work(Clock {
                deadline: Instant::now() + left,
                total,
            })
        });
        let result = match tokio::time::timeout(left + GRACE, handle).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) if e.is_panic() => Err(Overrun::Panicked(panic_text(e.into_panic()))),
            Ok(Err(e)) => Err(Overrun::Panicked(e.to_string())),
            Err(_) => Err(Overrun::Budget(total)),
        };
        budget.left = budget.left.saturating_sub(started.elapsed());
        result
    }
}

/// How long past its budget a step may take to notice before the poll stops
/// waiting for it.
const GRACE: Duration = Duration::from_secs(1);

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p
            .downcast_ref::<&str>()
            .map_or_else(|| "no message".to_owned(), |s| (*s).to_owned()),
    }
}
