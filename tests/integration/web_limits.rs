//! The web server against connections that stay open and say nothing or trickle: they are
//! closed after the idle or header-read timeout, past the cap new connections wait for a slot
//! instead of failing, and thousands of idle ones never keep `/healthz` from answering.

use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use herald::web::listener::{ConnectionLimits, GuardedListener};
use herald::web::server::{self, RequestTimeouts};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn serve(max_connections: usize, idle: Duration) -> std::net::SocketAddr {
    let limits = ConnectionLimits {
        max_connections,
        idle_timeout: idle,
        ..ConnectionLimits::default()
    };
    serve_with(limits, RequestTimeouts::default()).await
}

async fn serve_with(limits: ConnectionLimits, timeouts: RequestTimeouts) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/echo",
            axum::routing::post(|body: String| async move { body }),
        );
    tokio::spawn(server::serve(
        GuardedListener::new(listener, limits),
        app,
        timeouts,
        std::future::pending(),
    ));
    address
}

/// Where the daemon listens.
fn address_of(daemon: &crate::daemon::Daemon) -> std::net::SocketAddr {
    daemon
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("address")
}

/// A connection to `address` from `source`, one of the loopback addresses (all of 127/8 is
/// this host), as from another client.
async fn connect_from(source: &str, address: std::net::SocketAddr) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(format!("{source}:0").parse().expect("source"))?;
    socket.connect(address).await
}

async fn healthz(address: std::net::SocketAddr) -> String {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    answer
}

#[tokio::test]
async fn a_connection_that_says_nothing_is_closed_after_the_idle_timeout() {
    let address = serve(16, Duration::from_millis(500)).await;
    let mut idle = TcpStream::connect(address).await.expect("connect");
    let mut half_sent = TcpStream::connect(address).await.expect("connect");
    half_sent
        .write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .expect("write");

    let started = Instant::now();
    let mut buffer = [0u8; 64];
    let idle_read = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buffer)).await;
    let half_read = tokio::time::timeout(Duration::from_secs(5), half_sent.read(&mut buffer)).await;

    assert!(
        matches!(idle_read, Ok(Ok(0)) | Ok(Err(_))),
        "the idle connection is closed: {idle_read:?}"
    );
    assert!(
        matches!(half_read, Ok(Ok(0)) | Ok(Err(_))),
        "the half-sent request is closed: {half_read:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn past_the_cap_a_request_waits_for_a_slot_and_is_answered() {
    let address = serve(2, Duration::from_millis(700)).await;
    let _hogs = [
        TcpStream::connect(address).await.expect("connect"),
        TcpStream::connect(address).await.expect("connect"),
    ];

    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(5), healthz(address))
        .await
        .expect("answered once the idle connections are closed");

    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "it waited for a slot: the cap holds ({:?})",
        started.elapsed()
    );
    assert!(answer.ends_with("ok"), "{answer}");
}

#[tokio::test]
async fn a_request_trickled_a_byte_at_a_time_is_closed_after_the_header_read_timeout() {
    // The idle timeout alone would never fire: a byte arrives every 200 ms.
    let limits = ConnectionLimits {
        max_connections: 16,
        idle_timeout: Duration::from_secs(5),
        ..ConnectionLimits::default()
    };
    let timeouts = RequestTimeouts {
        header_read: Duration::from_secs(1),
        ..RequestTimeouts::default()
    };
    let address = serve_with(limits, timeouts).await;
    let mut slow = TcpStream::connect(address).await.expect("connect");
    let started = Instant::now();

    let mut closed_after = None;
    for byte in b"GET /healthz HTTP/1.1\r\nX-Padding: "
        .iter()
        .chain([b'a'; 100].iter())
    {
        if slow.write_all(&[*byte]).await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        let mut buffer = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(200), slow.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed_after = Some(started.elapsed());
                break;
            }
            Ok(Ok(_)) => panic!("an answer to an unfinished request"),
            Err(_) => {}
        }
    }

    let closed_after = closed_after.expect("the trickling connection is closed");
    assert!(
        closed_after < Duration::from_secs(4),
        "closed after {closed_after:?}"
    );
}

#[tokio::test]
async fn a_body_trickled_a_byte_at_a_time_is_cut_off_at_the_body_deadline() {
    let limits = ConnectionLimits {
        idle_timeout: Duration::from_secs(5),
        ..ConnectionLimits::default()
    };
    let timeouts = RequestTimeouts {
        body_read: Duration::from_secs(1),
        ..RequestTimeouts::default()
    };
    let address = serve_with(limits, timeouts).await;
    let mut slow = TcpStream::connect(address).await.expect("connect");
    slow.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        .await
        .expect("headers");
    let started = Instant::now();
    let mut answer = Vec::new();
    for _ in 0..100 {
        if slow.write_all(b"a").await.is_err() {
            break;
        }
        let mut buffer = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(200), slow.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(read)) => answer.extend_from_slice(&buffer[..read]),
            Err(_) => {}
        }
    }
    let elapsed = started.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        elapsed < Duration::from_secs(4),
        "still open after {elapsed:?}"
    );
    assert!(
        !answer.contains(&"a".repeat(100)),
        "the body was never taken whole: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_idle_connections_from_eight_clients_do_not_keep_healthz_from_answering() {
    // Both ends of every connection live in this process.
    rlimit::increase_nofile_limit(10_000).expect("raise the open-file limit");
    let daemon = crate::daemon::Daemon::start(None).await;
    let address = address_of(&daemon);
    let mut idle = Vec::with_capacity(2_000);
    for i in 0..2_000 {
        let source = format!("127.0.0.{}", 2 + i % 8);
        idle.push(connect_from(&source, address).await.expect("connect"));
    }

    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(5), healthz(address))
        .await
        .expect("answered");

    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "answered in {:?}",
        started.elapsed()
    );
    drop(idle);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_past_the_cap_gets_its_share_and_others_are_still_answered() {
    rlimit::increase_nofile_limit(20_000).expect("raise the open-file limit");
    let daemon = crate::daemon::Daemon::start(None).await;
    let address = address_of(&daemon);
    let mut hog = Vec::with_capacity(4_200);
    for _ in 0..4_200 {
        if let Ok(stream) = connect_from("127.0.0.2", address).await {
            hog.push(stream);
        }
    }

    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(5), healthz(address))
        .await
        .expect("answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "answered in {:?}",
        started.elapsed()
    );

    // The server closed every connection past the client's share.
    let mut open = 0;
    for stream in &mut hog {
        let mut buffer = [0u8; 1];
        if tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buffer))
            .await
            .is_err()
        {
            open += 1;
        }
    }
    assert!(
        open <= herald::web::listener::MAX_CONNECTIONS_PER_CLIENT,
        "{open} connections of one client left open"
    );
    drop(hog);
    daemon.stop().await;
}
