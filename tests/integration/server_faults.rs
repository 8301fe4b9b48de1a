//! A failing server is never a reader's fault: for each way a relay or our own side fails, no
//! subscriber changes state, `digest send` exits 1 with one line naming the stage, the edition
//! stays resumable, and once the fault is gone a second run delivers to every reader once.

use std::time::Duration;

use herald::delivery::breaker::Halt;
use herald::delivery::failure::Stage;
use herald::delivery::mailer::Mailer;
use herald::delivery::sender::{self, never_stop, SendOptions};
use herald::digest;
use herald::domain::ListSlug;
use herald::store::lists;

use crate::helpers::{smtp_settings, TestApp};
use crate::smtp::{FaultySmtp, ServerFault};

const READERS: [&str; 6] = [
    "ada@example.org",
    "ben@example.org",
    "cy@example.org",
    "dee@example.org",
    "eve@example.org",
    "fay@example.org",
];

/// A list "daily" with one story and six confirmed readers.
async fn newsroom(app: &TestApp) {
    app.newsroom(&READERS).await;
}

fn with_password(settings: &mut herald::settings::Settings) {
    settings.smtp.username = Some("herald".into());
    settings.smtp.password = herald::settings::SecretSetting::from_value("smtp.password", "secret");
}

/// Every reader still active, with no bounce counted and no delivery given up.
async fn assert_no_reader_harmed(app: &TestApp) {
    let harmed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM subscriptions WHERE status != 'active' OR bounce_count != 0",
    )
    .fetch_one(&app.app.pool)
    .await
    .expect("count");
    assert_eq!(harmed, 0, "a server fault changed a reader's standing");
    let sent_editions: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM editions WHERE status = 'sent'")
            .fetch_one(&app.app.pool)
            .await
            .expect("count");
    assert_eq!(sent_editions, 0, "an unfinished edition was marked sent");
    let failed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM deliveries WHERE status IN ('failed', 'deferred')",
    )
    .fetch_one(&app.app.pool)
    .await
    .expect("count");
    assert_eq!(failed, 0, "a server fault failed a reader's delivery");
}

/// The fault is gone: a second `digest send` delivers to every reader, each exactly once.
async fn assert_recovers(app: &TestApp, server: &FaultySmtp) {
    server.clear_faults().await;
    let again = app.run(&["digest", "send", "--list", "daily"]).await;
    if let Err(error) = &again.result {
        panic!("second run failed: {error:#}\n{}", again.stderr);
    }
    let mut accepted = server.accepted();
    accepted.sort();
    assert_eq!(accepted, READERS, "every reader exactly once");
    let status = app
        .run(&["--json", "digest", "status", "--list", "daily"])
        .await
        .json();
    assert_eq!(status[0]["status"], "sent");
    assert_eq!(status[0]["sent"], READERS.len());
}

/// Runs `digest send` against a server broken by `fault`, checks it fails safe naming
/// `stage`, then that it recovers.
async fn fails_safe_and_recovers(
    fault: ServerFault,
    stage: &str,
    adjust: impl FnOnce(&mut herald::settings::Settings),
) {
    let server = FaultySmtp::broken(fault).await;
    let app = TestApp::spawn_with(|s| {
        smtp_settings(s, server.port);
        s.smtp.timeout_secs = 1;
        adjust(s);
    })
    .await;
    newsroom(&app).await;

    let run = app.run(&["digest", "send", "--list", "daily"]).await;

    assert_eq!(run.exit_code(), 1, "{fault:?}: {}", run.stderr);
    let error = run.error();
    assert!(!error.contains('\n'), "one line: {error}");
    assert!(
        error.contains(&format!("smtp 127.0.0.1:{}", server.port)) && error.contains(stage),
        "{fault:?} names the server and the stage {stage:?}: {error}"
    );
    assert_no_reader_harmed(&app).await;
    assert_recovers(&app, &server).await;
}

#[tokio::test]
async fn a_554_greeting_stops_the_run_before_anything_is_built() {
    fails_safe_and_recovers(ServerFault::Greeting554, "greeting", |_| {}).await;
}

#[tokio::test]
async fn a_refused_sender_stops_the_run_at_the_first_message() {
    fails_safe_and_recovers(
        ServerFault::MailFrom550,
        "MAIL FROM: permanent error (550)",
        |_| {},
    )
    .await;
}

#[tokio::test]
async fn a_wrong_password_stops_the_run_and_bounces_nobody() {
    fails_safe_and_recovers(
        ServerFault::Auth535,
        "AUTH: permanent error (535)",
        with_password,
    )
    .await;
}

#[tokio::test]
async fn a_server_answering_421_to_everything_stops_the_run() {
    fails_safe_and_recovers(ServerFault::Everything421, "transient error (421)", |_| {}).await;
}

#[tokio::test]
async fn a_server_that_never_greets_stops_the_run_within_the_timeout() {
    let started = std::time::Instant::now();
    fails_safe_and_recovers(
        ServerFault::SilentAfterConnect,
        "no answer within 1 s",
        |_| {},
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_server_that_never_answers_the_final_dot_pauses_then_gives_up() {
    fails_safe_and_recovers(ServerFault::SilentAfterData, "end of DATA", |_| {}).await;
}

#[tokio::test]
async fn a_server_that_dies_mid_edition_leaves_the_rest_for_the_next_run() {
    fails_safe_and_recovers(
        ServerFault::DiesAfter(2),
        "gave up after backing off",
        |_| {},
    )
    .await;
}

/// The failures a probe catches, met mid-run instead (the server broke after the run began):
/// the send loop itself stops, names the stage, and changes no reader.
#[tokio::test]
async fn the_send_loop_stops_on_session_failures_without_touching_readers() {
    for (fault, stage, permanent) in [
        (ServerFault::Greeting554, Stage::Greeting, true),
        (ServerFault::Auth535, Stage::Auth, true),
        (ServerFault::Everything421, Stage::Greeting, false),
        (ServerFault::SilentAfterConnect, Stage::Greeting, false),
    ] {
        let server = FaultySmtp::broken(fault).await;
        let app = TestApp::spawn_with(|s| {
            smtp_settings(s, server.port);
            s.smtp.timeout_secs = 1;
            with_password(s);
        })
        .await;
        newsroom(&app).await;
        let list = lists::require(&app.app.pool, &ListSlug::parse("daily").expect("slug"))
            .await
            .expect("list");
        let built =
            digest::build_edition(&app.app.pool, &app.app.settings, &list, app.app.clock.now())
                .await
                .expect("built");
        let mailer = Mailer::new(&app.app).await.expect("mailer");

        let report = sender::deliver_edition(
            &app.app,
            built.edition_id(),
            &mailer,
            &SendOptions::from_settings(&app.app.settings),
            never_stop(),
            &|_, _| {},
        )
        .await
        .expect("the run ends with a report");

        let halt = report.halt.clone().expect("halted");
        assert_eq!(halt.failure().stage, stage, "{fault:?}: {halt}");
        assert_eq!(
            matches!(halt, Halt::Refused(_)),
            permanent,
            "{fault:?}: {halt}"
        );
        assert_eq!(report.counts.unfinished(), READERS.len() as i64);
        assert_no_reader_harmed(&app).await;
        assert_recovers(&app, &server).await;
    }
}

#[tokio::test]
async fn a_full_outbox_disk_pauses_then_gives_up_and_loses_nothing() {
    let app = TestApp::spawn_with(|s| {
        s.delivery.retry_base_secs = 0;
        s.delivery.max_attempts = 3;
    })
    .await;
    newsroom(&app).await;
    let list = lists::require(&app.app.pool, &ListSlug::parse("daily").expect("slug"))
        .await
        .expect("list");
    let edition =
        digest::build_edition(&app.app.pool, &app.app.settings, &list, app.app.clock.now())
            .await
            .expect("built")
            .edition_id();
    // Every message's file lands on /dev/full: the kernel's own "No space left on device".
    let outbox = app.app.settings.transport.outbox_dir.clone();
    std::fs::create_dir_all(&outbox).expect("outbox");
    let subscribers: Vec<i64> = sqlx::query_scalar("SELECT subscriber_id FROM deliveries")
        .fetch_all(&app.app.pool)
        .await
        .expect("rows");
    for id in &subscribers {
        std::os::unix::fs::symlink(
            "/dev/full",
            outbox.join(format!(".{edition}-{id}.eml.partial")),
        )
        .expect("symlink");
    }

    let run = app.run(&["digest", "send", "--list", "daily"]).await;

    assert_eq!(run.exit_code(), 1);
    let error = run.error();
    assert!(
        error.contains("outbox write") && error.contains("No space left on device"),
        "{error}"
    );
    assert!(!error.contains('\n'), "one line: {error}");
    assert_no_reader_harmed(&app).await;

    for id in &subscribers {
        std::fs::remove_file(outbox.join(format!(".{edition}-{id}.eml.partial"))).expect("rm");
    }
    app.run(&["digest", "send", "--list", "daily"]).await.ok();
    let written = std::fs::read_dir(&outbox)
        .expect("outbox")
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "eml"))
        .count();
    assert_eq!(written, READERS.len());
    let status = app.run(&["--json", "digest", "status"]).await.json();
    assert_eq!(status[0]["status"], "sent");
}

#[tokio::test]
async fn starttls_to_a_private_relay_fails_without_its_ca_and_delivers_with_smtp_ca_file() {
    let certificates = tempfile::tempdir().expect("dir");
    let (ca, certificate, key) = crate::helpers::private_ca(certificates.path());
    let server = crate::smtp::RealSmtp::start_with_tls(&certificate, &key);
    let mut app = TestApp::spawn_with(|s| {
        smtp_settings(s, server.port);
        s.smtp.tls = herald::settings::SmtpTls::StartTls;
    })
    .await;
    newsroom(&app).await;

    let refused = app.run(&["digest", "send", "--list", "daily"]).await;
    app.app.settings.smtp.ca_file = Some(ca);
    let trusted = app.run(&["digest", "send", "--list", "daily"]).await;

    assert_eq!(refused.exit_code(), 1);
    let error = refused.error();
    assert!(
        error.contains(&format!("smtp 127.0.0.1:{}: TLS", server.port))
            && error.contains("UnknownIssuer"),
        "{error}"
    );
    if let Err(error) = &trusted.result {
        panic!("with smtp.ca_file: {error:#}");
    }
    let mut recipients = server.recipients();
    recipients.sort();
    assert_eq!(recipients, READERS, "every reader once, over TLS");
}

#[tokio::test]
async fn an_unreadable_ca_file_is_named_at_start() {
    let app = TestApp::spawn_with(|s| {
        smtp_settings(s, 9);
        s.smtp.tls = herald::settings::SmtpTls::StartTls;
        s.smtp.ca_file = Some("/nonexistent/relay-ca.pem".into());
    })
    .await;
    newsroom(&app).await;

    let run = app.run(&["digest", "send", "--list", "daily"]).await;

    assert_eq!(run.exit_code(), 1);
    assert!(
        run.error()
            .contains("smtp.ca_file /nonexistent/relay-ca.pem"),
        "{}",
        run.error()
    );
    let editions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM editions")
        .fetch_one(&app.app.pool)
        .await
        .expect("count");
    assert_eq!(editions, 0);
}

#[tokio::test]
async fn the_daemon_resumes_an_edition_a_dead_relay_left_unfinished() {
    let server = FaultySmtp::broken(ServerFault::DiesAfter(2)).await;
    let app = TestApp::spawn_on_system_clock(|s| smtp_settings(s, server.port)).await;
    newsroom(&app).await;
    let stopped_short = app.run(&["digest", "send", "--list", "daily"]).await;
    assert_eq!(stopped_short.exit_code(), 1);
    server.clear_faults().await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let daemon = tokio::spawn(herald::daemon::serve(app.app.clone(), listener, stopped));
    let started = std::time::Instant::now();
    while server.accepted().len() < READERS.len() && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(10), daemon)
        .await
        .expect("stops")
        .expect("task")
        .expect("serve");

    let mut accepted = server.accepted();
    accepted.sort();
    assert_eq!(
        accepted, READERS,
        "the rest went out once the relay was back"
    );
    let status = app.run(&["--json", "digest", "status"]).await.json();
    assert_eq!(status[0]["status"], "sent");
}

#[tokio::test]
async fn a_username_for_a_server_that_offers_no_auth_stops_before_anything_is_built() {
    let server = crate::smtp::RealSmtp::start();
    let app = TestApp::spawn_with(|s| {
        smtp_settings(s, server.port);
        with_password(s);
    })
    .await;
    newsroom(&app).await;

    let run = app.run(&["digest", "send", "--list", "daily"]).await;

    assert_eq!(run.exit_code(), 1);
    assert!(
        run.error()
            .contains(&format!("smtp 127.0.0.1:{}: AUTH", server.port)),
        "{}",
        run.error()
    );
    assert_no_reader_harmed(&app).await;
    assert!(server.messages().is_empty());
}
