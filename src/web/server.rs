//! Serving the router over HTTP/1.1 on the [`GuardedListener`], with a bound on how long a
//! client may take to send a request's headers: the listener's idle timeout closes silent
//! connections, this closes those that trickle a byte at a time (slowloris), which an idle
//! timeout alone never does. axum's own `serve` offers no such bound.

use std::future::Future;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower::ServiceExt;
use tracing::debug;

use super::listener::{ClientAddr, GuardedListener};

/// A request's headers must arrive within this long of its first byte.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long open requests may take to finish after `shutdown` fires.
const DRAIN: Duration = Duration::from_secs(5);

/// Serves `router` until `shutdown` resolves, then lets open requests finish (for at most a few
/// seconds) and returns.
pub async fn serve(
    mut listener: GuardedListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, address) = tokio::select! {
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        // Handlers that need the client's address take `ConnectInfo<ClientAddr>`.
        let service = router
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo(ClientAddr(address)));
                request.map(axum::body::Body::new)
            });
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                debug!("connection from {address} ended: {error}");
            }
        });
    }
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        debug!("requests still open after {DRAIN:?} of shutdown were dropped");
    }
}
