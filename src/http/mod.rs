//! The hyper service. It moves bytes and checks preconditions, encodings and auth;
//! every domain decision is made in `site`, `ingest` and below.

// `Problem` is this layer's one error (RFC 9457), 128 bytes, made once per
// refused request and answered at once: boxing it would allocate on every
// refusal to save a copy.
#![allow(clippy::result_large_err)]

mod admit;
pub mod api;
pub mod auth;
mod catalog;
mod conns;
mod console;
pub mod feeds;
mod on_demand;
pub mod problem;
mod respond;
pub mod router;
mod sendfile;
mod sources;
pub mod state;
mod views;
mod websub;
mod workers;

use crate::site::Site;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long in-flight requests get to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves until `shutdown` resolves, then stops accepting and drains open
/// connections (up to [`DRAIN`]).
///
/// This task only accepts; connections are served by [`workers`], one
/// single-threaded runtime per core, the way nginx runs one process per core. A
/// feed request is a cache lookup and a write, so what it costs is mostly the
/// scheduling around it: keeping each connection on one thread avoids the
/// work-stealing hand-offs and cross-core wake-ups of a shared runtime. Writes
/// to the API still run on the calling (main) runtime, next to the store.
pub async fn serve(
    site: Arc<Site>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = conns::Limits {
        head: site.config().server.header_timeout,
        send: site.config().server.send_timeout,
    };
    let admission = admit::Admission::new(
        site.config().server.max_connections,
        site.config().server.max_connections_per_client,
    );
    let state = Arc::new(state::State::new(site));
    let pool = workers::Pool::start(state, limits)?;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                match admission.admit(peer.ip()) {
                    Some(ticket) => pool.dispatch(stream, peer, ticket),
                    None => {
                        tracing::debug!(%peer, "connection refused: too many open");
                        // Whatever fits in the socket's buffer now; then closed.
                        let _ = stream.try_write(admit::REFUSED);
                    }
                }
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("shutting down: draining open connections");
    if pool.drain(DRAIN).await {
        tracing::info!("all connections closed");
    } else {
        tracing::warn!("drain timed out; closing remaining connections");
    }
    pool.stop().await;
    Ok(())
}
