//! Connection workers: one OS thread per core, each running a single-threaded tokio
//! runtime that owns the connections handed to it for their whole life.
//!
//! The acceptor gives each new connection to the worker with the fewest open ones,
//! so long-lived keep-alive connections spread evenly. A request never moves
//! between threads, so serving one costs no cross-core wake-up.

use super::router::{self, State};
use super::sendfile::{Conn, Pending};
use hyper::server::conn::http1;
use hyper_util::rt::TokioTimer;
use hyper_util::server::graceful::Watcher;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// An accepted connection on its way to a worker.
struct Accepted {
    stream: std::net::TcpStream,
    peer: SocketAddr,
    watcher: Watcher,
}

struct Worker {
    inbox: mpsc::UnboundedSender<Accepted>,
    open: Arc<AtomicUsize>,
    thread: std::thread::JoinHandle<()>,
}

pub(super) struct Pool {
    workers: Vec<Worker>,
}

impl Pool {
    /// One worker per available core.
    pub fn start(state: Arc<State>, header_timeout: Duration) -> std::io::Result<Pool> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .keep_alive(true);
        let workers = (0..cores)
            .map(|i| {
                let (inbox, rx) = mpsc::unbounded_channel();
                let open = Arc::new(AtomicUsize::new(0));
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let (state, http, count) = (state.clone(), http.clone(), open.clone());
                let thread = std::thread::Builder::new()
                    .name(format!("newswire-http-{i}"))
                    .spawn(move || runtime.block_on(run(rx, count, state, http)))?;
                Ok(Worker {
                    inbox,
                    open,
                    thread,
                })
            })
            .collect::<std::io::Result<_>>()?;
        Ok(Pool { workers })
    }

    /// Hands a connection to the least busy worker.
    pub fn dispatch(&self, stream: tokio::net::TcpStream, peer: SocketAddr, watcher: Watcher) {
        // Leave the acceptor's runtime; the worker registers the socket with its own.
        let stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(%peer, "dropping connection: {e}");
                return;
            }
        };
        let worker = self
            .workers
            .iter()
            .min_by_key(|w| w.open.load(Ordering::Relaxed))
            .expect("a pool has at least one worker");
        worker.open.fetch_add(1, Ordering::Relaxed);
        let accepted = Accepted {
            stream,
            peer,
            watcher,
        };
        if worker.inbox.send(accepted).is_err() {
            worker.open.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Closes the inboxes and waits for the workers. Called after the drain, so any
    /// connection still open then is dropped with its worker's runtime.
    pub async fn stop(self) {
        for w in self.workers {
            drop(w.inbox);
            let thread = w.thread;
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

async fn run(
    mut inbox: mpsc::UnboundedReceiver<Accepted>,
    open: Arc<AtomicUsize>,
    state: Arc<State>,
    http: http1::Builder,
) {
    while let Some(Accepted {
        stream,
        peer,
        watcher,
    }) = inbox.recv().await
    {
        let stream = match tokio::net::TcpStream::from_std(stream) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%peer, "cannot register connection: {e}");
                open.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let pending = Pending::default();
        let io = Conn::new(stream, pending.clone());
        let service = hyper::service::service_fn(move |req| {
            router::handle(state.clone(), pending.clone(), req)
        });
        let conn = watcher.watch(http.serve_connection(io, service));
        let open = open.clone();
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
            open.fetch_sub(1, Ordering::Relaxed);
        });
    }
}
