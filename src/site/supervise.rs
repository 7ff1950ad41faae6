//! Background work is owned and watched, never fire-and-forget: the renderer, the
//! file watcher and the cluster follower (and, next, the poller and deliveries)
//! run under a [`Tasks`] supervisor. A task that panics or returns an error is
//! logged, counted in `newswire_task_restarts_total`, shown in `/healthz`, and
//! started again after a backoff, so feeds never go silently stale while the
//! process looks healthy.

use crate::lock::lock;
use crate::metrics::Metrics;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What `/healthz` shows of one task.
#[derive(Debug, Default)]
pub struct TaskState {
    alive: AtomicBool,
    restarts: AtomicU64,
    last_error: Mutex<Option<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TaskReport {
    pub alive: bool,
    pub restarts: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The first restart waits this long; each further one twice as long, up to
/// [`BACKOFF_MAX`], so a task that fails at once every time does not spin.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// A run this long resets the backoff.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

pub struct Tasks {
    tasks: Mutex<BTreeMap<&'static str, Arc<TaskState>>>,
    metrics: Arc<Metrics>,
}

impl Tasks {
    pub fn new(metrics: Arc<Metrics>) -> Arc<Tasks> {
        Arc::new(Tasks {
            tasks: Mutex::new(BTreeMap::new()),
            metrics,
        })
    }

    /// Runs `make()`'s future as the task `name`, and again whenever it panics or
    /// returns an error. A task that returns `Ok` has finished its work and is
    /// not restarted.
    pub fn spawn<F, Fut, E>(self: &Arc<Self>, name: &'static str, make: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let state = Arc::new(TaskState::default());
        lock(&self.tasks).insert(name, state.clone());
        let metrics = self.metrics.clone();
        let labels = Metrics::task_labels(name);
        tokio::spawn(async move {
            let mut backoff = BACKOFF_MIN;
            loop {
                state.alive.store(true, Ordering::Relaxed);
                metrics.task_up.get_or_create(&labels).set(1);
                let started = std::time::Instant::now();
                let reason = match tokio::spawn(make()).await {
                    Ok(Ok(())) => {
                        tracing::info!(task = name, "task finished");
                        state.alive.store(false, Ordering::Relaxed);
                        metrics.task_up.get_or_create(&labels).set(0);
                        return;
                    }
                    Ok(Err(e)) => e.to_string(),
                    Err(e) if e.is_panic() => {
                        format!("panicked: {}", panic_message(e.into_panic()))
                    }
                    Err(e) => format!("was cancelled: {e}"),
                };
                if started.elapsed() > HEALTHY_RUN {
                    backoff = BACKOFF_MIN;
                }
                state.alive.store(false, Ordering::Relaxed);
                state.restarts.fetch_add(1, Ordering::Relaxed);
                *lock(&state.last_error) = Some(reason.clone());
                metrics.task_up.get_or_create(&labels).set(0);
                metrics.task_restarts.get_or_create(&labels).inc();
                tracing::error!(
                    task = name,
                    "background task {reason}; restarting in {backoff:?}"
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        });
    }

    pub fn report(&self) -> BTreeMap<&'static str, TaskReport> {
        lock(&self.tasks)
            .iter()
            .map(|(name, s)| {
                (
                    *name,
                    TaskReport {
                        alive: s.alive.load(Ordering::Relaxed),
                        restarts: s.restarts.load(Ordering::Relaxed),
                        last_error: lock(&s.last_error).clone(),
                    },
                )
            })
            .collect()
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p
            .downcast_ref::<&str>()
            .map_or_else(|| "(no message)".to_owned(), |s| (*s).to_owned()),
    }
}

/// A test hook, compiled into debug builds only: with `NEWSWIRE_FAULT=render:N`
/// the renderer's first N passes panic, so the integration tests can watch the
/// supervisor restart it and the feeds catch up.
pub fn inject(point: &str) {
    #[cfg(debug_assertions)]
    {
        static FIRED: AtomicU64 = AtomicU64::new(0);
        let Ok(spec) = std::env::var("NEWSWIRE_FAULT") else {
            return;
        };
        let Some((at, times)) = spec.split_once(':') else {
            return;
        };
        if at == point
            && let Ok(times) = times.parse::<u64>()
            && FIRED.fetch_add(1, Ordering::Relaxed) < times
        {
            panic!("fault injected at {point} (NEWSWIRE_FAULT)");
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = point;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failing_task_is_restarted_and_reported() {
        let metrics = Metrics::new(Arc::new(crate::cache::Cache::default()));
        let tasks = Tasks::new(metrics.clone());
        let runs = Arc::new(AtomicU64::new(0));
        let r = runs.clone();
        tasks.spawn("flaky", move || {
            let r = r.clone();
            async move {
                match r.fetch_add(1, Ordering::Relaxed) {
                    0 => panic!("first run"),
                    1 => Err("second run".to_owned()),
                    _ => std::future::pending().await,
                }
            }
        });
        for _ in 0..100 {
            if runs.load(Ordering::Relaxed) >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let report = &tasks.report()["flaky"];
        assert_eq!(report.restarts, 2);
        assert!(report.alive);
        assert_eq!(report.last_error.as_deref(), Some("second run"));
        assert!(
            metrics
                .encode()
                .contains(r#"newswire_task_restarts_total{task="flaky"} 2"#)
        );
    }
}
