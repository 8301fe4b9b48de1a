//! The web server's listener: a cap on open connections with a share of it per client, and a
//! timeout on each connection that stays silent, so idle or half-sent connections (from one
//! client or many) can never use up the process's file descriptors and starve `/healthz` and
//! the sign-up form.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_io_timeout::TimeoutStream;

/// Connections open at once; the systemd unit's LimitNOFILE leaves room above it.
pub const MAX_CONNECTIONS: usize = 4096;
/// Connections one client (an IPv4 address, an IPv6 /64) may hold open at once: past it, its
/// new connections are closed at once, so one client cannot take every slot.
pub const MAX_CONNECTIONS_PER_CLIENT: usize = MAX_CONNECTIONS / 16;
/// A connection that sends nothing for this long (an idle keep-alive, a stalled request) is
/// closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(15);

/// How many connections the listener holds open, and for how long a silent one.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub per_client: usize,
    pub idle_timeout: Duration,
    /// Clients without a share of their own: the reverse proxies every reader comes through.
    pub unlimited_clients: Vec<IpAddr>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: MAX_CONNECTIONS,
            per_client: MAX_CONNECTIONS_PER_CLIENT,
            idle_timeout: IDLE_TIMEOUT,
            unlimited_clients: Vec::new(),
        }
    }
}

/// Connections open per client.
type OpenByClient = Arc<Mutex<HashMap<IpAddr, usize>>>;

pub struct GuardedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    open_by_client: OpenByClient,
    limits: ConnectionLimits,
}

impl GuardedListener {
    pub fn new(inner: TcpListener, limits: ConnectionLimits) -> Self {
        Self {
            inner,
            slots: Arc::new(Semaphore::new(limits.max_connections)),
            open_by_client: Arc::default(),
            limits,
        }
    }

    /// Counts a connection from `address` against its client's share; `None` past the share.
    fn admit(&self, address: &SocketAddr) -> Option<ClientShare> {
        let ip = address.ip();
        if self.limits.unlimited_clients.contains(&ip) {
            return Some(ClientShare::default());
        }
        let client = client_of(ip);
        let mut open = self
            .open_by_client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(client).or_default();
        if *count >= self.limits.per_client {
            return None;
        }
        *count += 1;
        Some(ClientShare {
            counted: Some((client, Arc::clone(&self.open_by_client))),
        })
    }
}

/// The unit a share is counted by: one IPv4 address, or one IPv6 /64 (what one host is given).
fn client_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(network.into())
            }
        },
        v4 => v4,
    }
}

/// One connection counted against its client's share until it is closed.
#[derive(Default)]
struct ClientShare {
    counted: Option<(IpAddr, OpenByClient)>,
}

impl Drop for ClientShare {
    fn drop(&mut self) {
        if let Some((client, open_by_client)) = self.counted.take() {
            let mut open = open_by_client
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(count) = open.get_mut(&client) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&client);
                }
            }
        }
    }
}

impl Listener for GuardedListener {
    type Io = GuardedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // Past the cap, new connections wait in the kernel's backlog until a slot frees up.
        let slot = loop {
            match Arc::clone(&self.slots).acquire_owned().await {
                Ok(slot) => break slot,
                // The semaphore is never closed; wait rather than spin if it ever were.
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        loop {
            match self.inner.accept().await {
                Ok((stream, address)) => {
                    // Over its share: closed at once (dropped), the slot kept for others.
                    let Some(share) = self.admit(&address) else {
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let mut io = TimeoutStream::new(stream);
                    io.set_read_timeout(Some(self.limits.idle_timeout));
                    io.set_write_timeout(Some(self.limits.idle_timeout));
                    return (
                        GuardedStream {
                            io: Box::pin(io),
                            _slot: slot,
                            _share: share,
                        },
                        address,
                    );
                }
                // Out of descriptors and the like: wait a moment rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// One accepted connection, holding its slot and its client's share until it is closed.
pub struct GuardedStream {
    io: Pin<Box<TimeoutStream<TcpStream>>>,
    _slot: OwnedSemaphorePermit,
    _share: ClientShare,
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.io.as_mut().poll_read(cx, buf)
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.as_mut().poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.as_mut().poll_shutdown(cx)
    }
}

/// The client's address, for handlers that take `ConnectInfo<ClientAddr>`.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, GuardedListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, GuardedListener>) -> Self {
        Self(*stream.remote_addr())
    }
}
