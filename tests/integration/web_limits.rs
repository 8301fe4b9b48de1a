//! The web server against connections that stay open and say nothing or trickle: they are
//! closed after the idle or header-read timeout, past the cap new connections wait for a slot
//! instead of failing, and thousands of idle ones never keep `/healthz` from answering.

use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use herald::web::listener::GuardedListener;
use herald::web::server::{self, HEADER_READ_TIMEOUT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn serve(max_connections: usize, idle: Duration) -> std::net::SocketAddr {
    serve_with(max_connections, idle, HEADER_READ_TIMEOUT).await
}

async fn serve_with(
    max_connections: usize,
    idle: Duration,
    header_read: Duration,
) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let app = Router::new().route("/healthz", get(|| async { "ok" }));
    tokio::spawn(server::serve(
        GuardedListener::with_limits(listener, max_connections, idle),
        app,
        header_read,
        std::future::pending(),
    ));
    address
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
    let address = serve_with(16, Duration::from_secs(5), Duration::from_secs(1)).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_idle_connections_do_not_keep_healthz_from_answering_within_a_second() {
    // Both ends of every connection live in this process.
    rlimit::increase_nofile_limit(10_000).expect("raise the open-file limit");
    let daemon = crate::daemon::Daemon::start(None).await;
    let address: std::net::SocketAddr = daemon
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    let mut idle = Vec::with_capacity(2_000);
    for _ in 0..2_000 {
        idle.push(TcpStream::connect(address).await.expect("connect"));
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
