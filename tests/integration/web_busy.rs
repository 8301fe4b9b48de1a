//! Another process holding the database's write lock (a long import, a backup, a stuck
//! script): web requests that must write answer 503 with `Retry-After` within seconds, JSON on
//! the API, and `/healthz` says so; once the lock is gone everything works again.

use std::time::{Duration, Instant};

use herald::settings::SecretSetting;
use sqlx::{Connection, SqliteConnection};

use crate::daemon::Daemon;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

async fn request(
    daemon: &Daemon,
    method: reqwest::Method,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, Option<String>, String, Duration) {
    let started = Instant::now();
    let response = daemon
        .http
        .request(method, format!("{}{path}", daemon.base))
        .header("content-type", content_type)
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().expect("ascii").to_string());
    let text = response.text().await.expect("body");
    (status, retry_after, text, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_database_answers_503_with_retry_after_and_healthz_notices() {
    if crate::postgres_db::selected() {
        // SQLite's database-wide write lock is what this test holds; PostgreSQL has none.
        return;
    }
    let daemon = Daemon::start_with(None, |s| {
        s.api.token = SecretSetting::from_value("api.token", TOKEN)
    })
    .await;
    daemon.app.add_list("daily").await;
    let story = r#"{"url": "https://news.example.org/a", "title": "First"}"#;
    let form = "email=ann%40example.org&list=daily";
    let json = "application/json";
    let urlencoded = "application/x-www-form-urlencoded";

    let mut holder = SqliteConnection::connect(&daemon.app.app.settings.database.url)
        .await
        .expect("second connection");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .expect("write lock");

    let (health, health_retry, health_body, _) =
        request(&daemon, reqwest::Method::GET, "/healthz", "text/plain", "").await;
    let (api, api_retry, api_body, api_took) =
        request(&daemon, reqwest::Method::PUT, "/api/stories", json, story).await;
    let (signup, signup_retry, signup_body, signup_took) = request(
        &daemon,
        reqwest::Method::POST,
        "/subscribe",
        urlencoded,
        form,
    )
    .await;

    assert_eq!(health, 503, "{health_body}");
    assert!(health_body.contains("busy"), "{health_body}");
    assert_eq!(health_retry.as_deref(), Some("10"));
    assert_eq!(api, 503, "{api_body}");
    assert_eq!(api_retry.as_deref(), Some("10"));
    let problem: serde_json::Value = serde_json::from_str(&api_body).expect("JSON body");
    assert!(problem["error"].as_str().expect("error").contains("busy"));
    assert_eq!(signup, 503, "{signup_body}");
    assert_eq!(signup_retry.as_deref(), Some("10"));
    for took in [api_took, signup_took] {
        assert!(took < Duration::from_secs(10), "answered in {took:?}");
    }

    sqlx::query("ROLLBACK")
        .execute(&mut holder)
        .await
        .expect("release");
    let (health, _, _, _) =
        request(&daemon, reqwest::Method::GET, "/healthz", "text/plain", "").await;
    let (api, _, _, _) = request(&daemon, reqwest::Method::PUT, "/api/stories", json, story).await;
    let (signup, _, _, _) = request(
        &daemon,
        reqwest::Method::POST,
        "/subscribe",
        urlencoded,
        form,
    )
    .await;
    assert_eq!((health, api, signup), (200, 200, 200));
    daemon.stop().await;
}

/// `herald serve` on a database it may read but not write (permissions changed, a file copied
/// from read-only storage, a PostgreSQL primary turned standby): `/healthz` says so with 503,
/// where it once answered `ok` while every sign-up failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_says_read_only_when_the_database_takes_no_writes() {
    let app = crate::helpers::TestApp::spawn().await;
    let url = app.app.settings.database.url.clone();
    let postgres = crate::postgres_db::selected();
    let served = if postgres {
        url.clone()
    } else {
        // As SQLite opens a file this user may not write (root may write any file).
        format!("{url}?mode=ro")
    };
    let port = crate::helpers::free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .current_dir(app.dir.path())
        .env("HERALD__DATABASE__URL", &served)
        .env("HERALD__WEB__BIND", format!("127.0.0.1:{port}"))
        .arg("serve")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    herald::feeds::install_tls_provider();
    let client = reqwest::Client::new();
    let healthz = || async {
        let response = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .ok()?;
        Some((response.status().as_u16(), response.text().await.ok()?))
    };
    let mut answer = None;
    for _ in 0..100 {
        answer = healthz().await;
        if answer.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if postgres && answer.as_ref().is_some_and(|(status, _)| *status == 200) {
        // A failover leaves the daemon connected to a standby: new sessions are read-only.
        let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect");
        sqlx::query(sqlx::AssertSqlSafe(
            "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_read_only = on', current_database()); END $$",
        ))
        .execute(&mut admin)
        .await
        .expect("read-only");
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .execute(&mut admin)
        .await
        .expect("sessions ended");
        for _ in 0..50 {
            answer = healthz().await;
            if answer.as_ref().is_some_and(|(status, _)| *status != 200) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    child.kill().ok();
    let output = child.wait_with_output().expect("stopped");
    let (status, body) = answer.unwrap_or_else(|| {
        panic!(
            "serve never answered: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(status, 503, "{body}");
    assert!(body.starts_with("database read-only"), "{body}");
}
