//! What `/metrics` reports, in the Prometheus/OpenMetrics text format through
//! prometheus-client. Other stages register their own metrics into [`Metrics`]
//! (the fetcher's will join them the same way).
//!
//! Serving must not write memory another core writes, per request (see
//! `http/workers.rs`): so HTTP counts live in one [`WorkerStats`] per worker,
//! written by that worker's thread alone, and are summed only when `/metrics` is
//! read. Everything else (renders, store writes, tasks) happens far less often and
//! uses prometheus-client's own atomics.

mod timed;
pub use timed::Timed;

use crate::cache::Cache;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

type Labels = Vec<(&'static str, String)>;

/// The registry and the metrics the domain stages record.
pub struct Metrics {
    registry: Mutex<Registry>,
    http: Arc<HttpStats>,
    pub render_passes: Counter,
    /// Documents rendered on demand (archive pages, ticker days, views, widgets): one per
    /// document however many ask at once.
    pub on_demand_renders: Counter,
    pub render_seconds: Histogram,
    pub store_write_seconds: Family<Labels, Histogram>,
    pub task_restarts: Family<Labels, Counter>,
    pub task_up: Family<Labels, Gauge>,
    /// Upstream fetches by outcome (fetched, not_modified, unchanged, gone,
    /// retry_after, failed).
    pub fetches: Family<Labels, Counter>,
    pub fetch_bytes: Counter,
    pub fetch_seconds: Histogram,
    /// Items an upstream fetch wrote, by outcome (created, updated).
    pub fetch_items: Family<Labels, Counter>,
    /// Per source: 1 when its last fetch worked, 0 when it failed.
    pub source_up: Family<Labels, Gauge>,
    /// Per source: polls cut off for spending their budget.
    pub fetch_cut_off: Family<Labels, Counter>,
    /// Per source: when its last fetch worked (Unix seconds), its failures
    /// in a row, and its items in the store. One series per configured
    /// source: the catalog bounds the labels.
    pub source_last_success: Family<Labels, Gauge>,
    pub source_failures: Family<Labels, Gauge>,
    pub source_items: Family<Labels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn latency_buckets() -> Histogram {
    // 0.1 ms to about 6.5 s.
    Histogram::new(exponential_buckets(0.0001, 3.0, 11))
}

impl Metrics {
    pub fn new(cache: Arc<Cache>) -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("newswire");
        let http = Arc::new(HttpStats::default());
        registry.register_collector(Box::new(http.clone()));
        registry.register_collector(Box::new(CacheStats(cache)));
        let m = Metrics {
            registry: Mutex::new(Registry::default()),
            http,
            render_passes: Counter::default(),
            on_demand_renders: Counter::default(),
            render_seconds: latency_buckets(),
            store_write_seconds: Family::new_with_constructor(latency_buckets),
            task_restarts: Family::default(),
            task_up: Family::default(),
            fetches: Family::default(),
            fetch_bytes: Counter::default(),
            fetch_seconds: latency_buckets(),
            fetch_items: Family::default(),
            source_up: Family::default(),
            source_last_success: Family::default(),
            source_failures: Family::default(),
            source_items: Family::default(),
            fetch_cut_off: Family::default(),
        };
        registry.register(
            "render_passes",
            "Render passes (each renders the feeds changed since the last)",
            m.render_passes.clone(),
        );
        registry.register(
            "on_demand_renders",
            "Documents rendered on demand (archive pages, ticker days, views, widgets), each once however many ask",
            m.on_demand_renders.clone(),
        );
        registry.register(
            "render_seconds",
            "Duration of a render pass, store reads included",
            m.render_seconds.clone(),
        );
        registry.register(
            "store_write_seconds",
            "Duration of a store write (upsert, sync, delete, import) until committed",
            m.store_write_seconds.clone(),
        );
        registry.register(
            "task_restarts",
            "Background tasks restarted after a panic or a failure",
            m.task_restarts.clone(),
        );
        registry.register(
            "task_up",
            "1 while a background task runs, 0 while it waits to be restarted",
            m.task_up.clone(),
        );
        registry.register(
            "fetches",
            "Fetches of external sources, by outcome",
            m.fetches.clone(),
        );
        registry.register(
            "fetch_bytes",
            "Bytes of upstream bodies received (decoded)",
            m.fetch_bytes.clone(),
        );
        registry.register(
            "fetch_seconds",
            "Duration of a source's fetch, parse and store write",
            m.fetch_seconds.clone(),
        );
        registry.register(
            "fetch_items",
            "Items written from external sources, by outcome",
            m.fetch_items.clone(),
        );
        registry.register(
            "source_up",
            "1 when a source's last fetch worked, 0 when it failed",
            m.source_up.clone(),
        );
        registry.register(
            "source_last_success_timestamp_seconds",
            "When a source's last working fetch ended (Unix time), as this instance saw it",
            m.source_last_success.clone(),
        );
        registry.register(
            "source_failures",
            "A source's failed fetches in a row (what its backoff counts)",
            m.source_failures.clone(),
        );
        registry.register(
            "source_items",
            "A source's items in the store after its last fetch",
            m.source_items.clone(),
        );
        registry.register(
            "fetch_cut_off",
            "Polls of a source cut off for spending their budget (fetch.budget)",
            m.fetch_cut_off.clone(),
        );
        *m.registry.lock().unwrap_or_else(PoisonError::into_inner) = registry;
        Arc::new(m)
    }

    /// Adds metrics of another stage (the fetcher, the hub) under `newswire_`.
    pub fn register(
        &self,
        name: &str,
        help: &str,
        metric: impl prometheus_client::registry::Metric,
    ) {
        self.registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .register(name, help, metric);
    }

    /// A new HTTP worker's counters, summed into `/metrics` from now on.
    pub fn worker(&self) -> Arc<WorkerStats> {
        let w = Arc::new(WorkerStats::default());
        self.http
            .workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(w.clone());
        w
    }

    /// The text exposition (OpenMetrics 1.0, which Prometheus reads).
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(8 << 10);
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        prometheus_client::encoding::text::encode(&mut out, &registry)
            .expect("writing to a String cannot fail");
        out
    }

    pub fn task_labels(task: &str) -> Labels {
        vec![("task", task.to_owned())]
    }

    /// Drops a source's series once the catalog no longer has it, so that
    /// their number stays bounded by the catalog.
    pub fn forget_source(&self, name: &str) {
        let source = Metrics::labels("source", name);
        for family in [
            &self.source_up,
            &self.source_last_success,
            &self.source_failures,
            &self.source_items,
        ] {
            family.remove(&source);
        }
        self.fetch_cut_off.remove(&source);
    }

    pub fn labels(name: &'static str, value: &str) -> Labels {
        vec![(name, value.to_owned())]
    }
}

/// What a request was for, as `/metrics` groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Feed,
    Page,
    Api,
    Health,
    Metrics,
    Other,
}

const ROUTES: [(Route, &str); 6] = [
    (Route::Feed, "feed"),
    (Route::Page, "page"),
    (Route::Api, "api"),
    (Route::Health, "health"),
    (Route::Metrics, "metrics"),
    (Route::Other, "other"),
];

impl Route {
    /// By path alone: a comparison or two, on every request.
    pub fn of(path: &str) -> Route {
        if path.starts_with("/feeds/") || path.starts_with("/timelines/") {
            Route::Feed
        } else if path.starts_with("/api/") {
            Route::Api
        } else if path == "/" || path == "/feeds.opml" {
            Route::Page
        } else if path == "/healthz" {
            Route::Health
        } else if path == "/metrics" {
            Route::Metrics
        } else {
            Route::Other
        }
    }
}

/// The statuses counted one by one; any other counts as `other`.
const STATUSES: [u16; 17] = [
    200, 201, 204, 304, 400, 401, 403, 404, 405, 408, 409, 413, 415, 431, 500, 503, 0,
];

fn status_index(status: u16) -> usize {
    STATUSES
        .iter()
        .position(|&s| s == status)
        .unwrap_or(STATUSES.len() - 1)
}

/// One worker's HTTP counts. Only its own thread writes them, so an increment is a
/// plain load and store (no locked instruction), and the struct is aligned so that
/// two workers' counts never share a cache line.
#[repr(align(128))]
#[derive(Default)]
pub struct WorkerStats {
    requests: [[AtomicU64; STATUSES.len()]; ROUTES.len()],
    bytes: [AtomicU64; ROUTES.len()],
}

impl WorkerStats {
    /// Counts one answered request. Call from the owning worker's thread only.
    pub fn record(&self, route: Route, status: u16, body_bytes: u64) {
        let r = route as usize;
        let bump =
            |a: &AtomicU64, n: u64| a.store(a.load(Ordering::Relaxed) + n, Ordering::Relaxed);
        bump(&self.requests[r][status_index(status)], 1);
        bump(&self.bytes[r], body_bytes);
    }
}

#[derive(Default, Debug)]
struct HttpStats {
    workers: Mutex<Vec<Arc<WorkerStats>>>,
}

impl std::fmt::Debug for WorkerStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WorkerStats")
    }
}

impl Collector for HttpStats {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let workers = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
        let sum = |f: &dyn Fn(&WorkerStats) -> u64| workers.iter().map(|w| f(w)).sum::<u64>();
        let mut requests = encoder.encode_descriptor(
            "http_requests",
            "HTTP requests answered, by route class and status",
            None,
            MetricType::Counter,
        )?;
        for (r, (_, route)) in ROUTES.iter().enumerate() {
            for (s, status) in STATUSES.iter().enumerate() {
                let n = sum(&|w| w.requests[r][s].load(Ordering::Relaxed));
                if n == 0 {
                    continue;
                }
                let status = if *status == 0 {
                    "other".to_owned()
                } else {
                    status.to_string()
                };
                let labels = [("route", route.to_string()), ("status", status)];
                ConstCounter::new(n).encode(requests.encode_family(&labels)?)?;
            }
        }
        let mut bytes = encoder.encode_descriptor(
            "http_response_body_bytes",
            "Bytes of response bodies sent, by route class",
            None,
            MetricType::Counter,
        )?;
        for (r, (_, route)) in ROUTES.iter().enumerate() {
            let n = sum(&|w| w.bytes[r].load(Ordering::Relaxed));
            let labels = [("route", route.to_string())];
            ConstCounter::new(n).encode(bytes.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// Documents in the cache and the bytes they hold, every encoding counted.
struct CacheStats(Arc<Cache>);

impl std::fmt::Debug for CacheStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheStats")
    }
}

impl Collector for CacheStats {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (documents, bytes) = self.0.size();
        let docs = encoder.encode_descriptor(
            "documents",
            "Rendered documents being served",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(documents as i64).encode(docs)?;
        let cached = encoder.encode_descriptor(
            "cache_bytes",
            "Bytes of rendered documents held, every encoding counted",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(bytes as i64).encode(cached)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_are_summed_when_read() {
        let m = Metrics::new(Arc::new(Cache::default()));
        let (a, b) = (m.worker(), m.worker());
        a.record(Route::Feed, 200, 1000);
        b.record(Route::Feed, 200, 500);
        b.record(Route::Feed, 304, 0);
        a.record(Route::Api, 418, 10);
        let text = m.encode();
        assert!(
            text.contains(r#"newswire_http_requests_total{route="feed",status="200"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"newswire_http_requests_total{route="feed",status="304"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"newswire_http_requests_total{route="api",status="other"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"newswire_http_response_body_bytes_total{route="feed"} 1500"#),
            "{text}"
        );
        assert!(text.contains("newswire_documents 0"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
