//! Connection workers: one OS thread per core, each running a single-threaded tokio
//! runtime that owns the connections handed to it for their whole life.
//!
//! The acceptor gives each new connection to the worker with the fewest open ones,
//! so long-lived keep-alive connections spread evenly. A request never moves
//! between threads, and what serving it touches (the connection's state, its
//! clock slot, the cache map through a lock-free read) is written by that thread
//! alone, so no cache line moves between cores per request.

use super::admit::Ticket;
use super::conns::{Conns, Limits, Slot};
use super::router::{self, Routed};
use super::sendfile::{Conn, Pending};
use super::state::State;
use crate::metrics::{Route, WorkerStats};
use bytes::Bytes;
use futures_util::future::Either;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;
use tokio::sync::mpsc;

enum Job {
    Serve(std::net::TcpStream, SocketAddr, Ticket),
    /// Finish the requests in flight, then close every connection.
    Drain,
}

struct Worker {
    inbox: mpsc::UnboundedSender<Job>,
    open: Arc<AtomicUsize>,
    thread: std::thread::JoinHandle<()>,
}

pub(super) struct Pool {
    workers: Vec<Worker>,
}

impl Pool {
    /// One worker per available core.
    pub fn start(state: Arc<State>, limits: Limits) -> std::io::Result<Pool> {
        let cores = crate::cores::cores();
        let mut http = http1::Builder::new();
        http.keep_alive(true);
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
                    .spawn(move || {
                        let local = tokio::task::LocalSet::new();
                        local.block_on(&runtime, run(rx, count, state, http, limits));
                    })?;
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
    pub fn dispatch(&self, stream: tokio::net::TcpStream, peer: SocketAddr, ticket: Ticket) {
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
        if worker.inbox.send(Job::Serve(stream, peer, ticket)).is_err() {
            worker.open.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Lets every connection finish its request and close; true if all closed
    /// within `limit`.
    pub async fn drain(&self, limit: Duration) -> bool {
        for w in &self.workers {
            let _ = w.inbox.send(Job::Drain);
        }
        let closed = async {
            while self
                .workers
                .iter()
                .any(|w| w.open.load(Ordering::Relaxed) > 0)
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(limit, closed).await.is_ok()
    }

    /// Closes the inboxes and waits for the workers. Any connection still open is
    /// dropped with its worker's runtime.
    pub async fn stop(self) {
        for w in self.workers {
            drop(w.inbox);
            let thread = w.thread;
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

async fn run(
    mut inbox: mpsc::UnboundedReceiver<Job>,
    open: Arc<AtomicUsize>,
    state: Arc<State>,
    http: http1::Builder,
    limits: Limits,
) {
    let conns = Rc::new(Conns::default());
    let stats = state.site.metrics.worker();
    let clock = conns.clone();
    tokio::task::spawn_local(async move { clock.run_clock(limits).await });
    while let Some(job) = inbox.recv().await {
        let (stream, peer, ticket) = match job {
            Job::Serve(stream, peer, ticket) => (stream, peer, ticket),
            Job::Drain => {
                conns.drain();
                continue;
            }
        };
        let stream = match tokio::net::TcpStream::from_std(stream) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%peer, "cannot register connection: {e}");
                open.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let slot = conns.open();
        let pending = Pending::default();
        let io = Conn::new(stream, pending.clone(), slot.clone());
        let service = Service {
            state: state.clone(),
            pending,
            slot: slot.clone(),
            stats: stats.clone(),
            peer: peer.ip(),
        };
        let conn = http.serve_connection(io, service);
        let open = open.clone();
        tokio::task::spawn_local(async move {
            let _ticket = ticket;
            match watch(conn, &slot).await {
                Ok(()) => {}
                Err(Ended::Cut) => tracing::debug!(%peer, "connection cut off: no progress"),
                Err(Ended::Http(e)) => tracing::debug!(%peer, "connection ended: {e}"),
            }
            open.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

enum Ended {
    Cut,
    Http(hyper::Error),
}

/// Runs a connection until it ends, the clock cuts it off, or a drain closes it
/// after its current request.
async fn watch(conn: http1::Connection<Conn, Service>, slot: &Slot) -> Result<(), Ended> {
    let mut conn = pin!(conn);
    let mut draining = false;
    std::future::poll_fn(|cx| {
        if slot.is_cut(cx) {
            return Poll::Ready(Err(Ended::Cut));
        }
        if slot.must_drain() && !draining {
            draining = true;
            conn.as_mut().graceful_shutdown();
        }
        conn.as_mut().poll(cx).map_err(Ended::Http)
    })
    .await
}

/// A connection's requests. Cached documents are answered in the call itself, with
/// no task, lock or shared count touched.
struct Service {
    state: Arc<State>,
    pending: Pending,
    slot: Rc<Slot>,
    /// This worker's counts for `/metrics`: written by this thread only.
    stats: Arc<WorkerStats>,
    /// The client's address, for what is bounded per client.
    peer: std::net::IpAddr,
}

fn body_len(resp: &Response<Full<Bytes>>) -> u64 {
    hyper::body::Body::size_hint(resp.body())
        .exact()
        .unwrap_or(0)
}

type Answer = Result<Response<Full<Bytes>>, Infallible>;

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Either<Ready<Answer>, Pin<Box<dyn Future<Output = Answer>>>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.slot.progress();
        let route = Route::of(req.uri().path());
        match router::route(&self.state, &self.pending, req, self.peer) {
            Routed::Now(resp) => {
                self.stats
                    .record(route, resp.status().as_u16(), body_len(&resp));
                Either::Left(ready(Ok(resp)))
            }
            Routed::Later(answer) => {
                let busy = self.slot.busy();
                let stats = self.stats.clone();
                Either::Right(Box::pin(async move {
                    let resp = answer.await;
                    drop(busy);
                    stats.record(route, resp.status().as_u16(), body_len(&resp));
                    Ok(resp)
                }))
            }
        }
    }
}
