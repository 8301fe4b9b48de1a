//! Serving the router over HTTP/1.1 on the [`GuardedListener`], with bounds on how long a
//! client may take to send a request's headers and then its body: the listener's idle timeout
//! closes silent connections, these close those that trickle a byte at a time (slowloris),
//! which an idle timeout alone never does. axum's own `serve` offers no such bound.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower::ServiceExt;
use tracing::debug;

use super::listener::{ClientAddr, GuardedListener};

/// A request's headers must arrive within this long of its first byte.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// And its body within this long of its headers.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a client may take to send one request.
#[derive(Debug, Clone, Copy)]
pub struct RequestTimeouts {
    pub header_read: Duration,
    pub body_read: Duration,
}

impl Default for RequestTimeouts {
    fn default() -> Self {
        Self {
            header_read: HEADER_READ_TIMEOUT,
            body_read: BODY_READ_TIMEOUT,
        }
    }
}

/// A request body that fails once its deadline passes, however steadily it trickles in.
struct BodyWithDeadline {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl Body for BodyWithDeadline {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err("the request body did not arrive in time".into())));
        }
        Pin::new(&mut self.inner)
            .poll_frame(cx)
            .map_err(axum::BoxError::from)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// How long open requests may take to finish after `shutdown` fires.
const DRAIN: Duration = Duration::from_secs(5);

/// Serves `router` until `shutdown` resolves, then lets open requests finish (for at most a few
/// seconds) and returns.
pub async fn serve(
    mut listener: GuardedListener,
    router: Router,
    timeouts: RequestTimeouts,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
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
                request.map(|inner| {
                    axum::body::Body::new(BodyWithDeadline {
                        inner,
                        deadline: Box::pin(tokio::time::sleep(timeouts.body_read)),
                    })
                })
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
