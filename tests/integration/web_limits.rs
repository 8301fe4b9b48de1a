//! The web listener against connections that stay open and say nothing: they are closed after
//! the idle timeout, and past the cap new connections wait for a slot instead of failing.

use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use herald::web::listener::{ClientAddr, GuardedListener};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn serve(max_connections: usize, idle: Duration) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let app = Router::new().route("/healthz", get(|| async { "ok" }));
    tokio::spawn(async move {
        axum::serve(
            GuardedListener::with_limits(listener, max_connections, idle),
            app.into_make_service_with_connect_info::<ClientAddr>(),
        )
        .await
    });
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
