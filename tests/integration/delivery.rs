//! Delivery through a real SMTP server (aiosmtpd) and through the fault injector.

use std::time::Duration;

use chrono::Duration as Age;
use herald::delivery::mailer::Mailer;
use herald::delivery::sender::{self, never_stop, SendOptions};
use herald::digest::{self, Built};
use herald::domain::ListSlug;
use herald::store::lists;

use crate::helpers::{header, smtp_settings, TestApp};
use crate::smtp::{Fault, FaultySmtp, RealSmtp};

/// A list "daily" with two stories and the given confirmed subscribers.
async fn newsroom(app: &TestApp, subscribers: &[&str]) {
    app.add_list("daily").await;
    let now = app.app.clock.now();
    for (path, title, hours) in [
        ("lead", "Central bank holds rates", 2),
        ("second", "Tram line approved", 4),
    ] {
        let published = (now - Age::hours(hours)).to_rfc3339();
        let url = format!("https://news.example.org/{path}");
        app.run(&[
            "story",
            "add",
            "--url",
            &url,
            "--title",
            title,
            "--score",
            "5",
            "--published-at",
            &published,
        ])
        .await
        .ok();
    }
    for email in subscribers {
        app.add_confirmed(email, "daily").await;
    }
}

async fn delivery_status(app: &TestApp, email: &str) -> (String, i64) {
    sqlx::query_as("SELECT d.status, d.attempts FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email = $1")
        .bind(email)
        .fetch_one(&app.app.pool)
        .await
        .expect("delivery row")
}

async fn subscription_status(app: &TestApp, email: &str) -> String {
    sqlx::query_scalar("SELECT x.status FROM subscriptions x JOIN subscribers s ON s.id = x.subscriber_id WHERE s.email = $1")
        .bind(email)
        .fetch_one(&app.app.pool)
        .await
        .expect("subscription")
}

#[tokio::test]
async fn an_edition_reaches_every_active_subscriber_once_through_a_real_smtp_server() {
    let server = RealSmtp::start();
    let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;
    newsroom(&app, &["a@example.org", "b@example.org", "c@example.org"]).await;
    app.run(&[
        "subscriber",
        "add",
        "pending@example.org",
        "--list",
        "daily",
    ])
    .await
    .ok();
    app.add_confirmed("left@example.org", "daily").await;
    app.run(&[
        "subscriber",
        "unsubscribe",
        "left@example.org",
        "--list",
        "daily",
    ])
    .await
    .ok();
    app.add_confirmed("bounced@example.org", "daily").await;
    sqlx::query("UPDATE subscriptions SET status = 'bounced' WHERE subscriber_id = (SELECT id FROM subscribers WHERE email = 'bounced@example.org')")
        .execute(&app.app.pool)
        .await
        .expect("mark bounced");

    let first = app.run(&["digest", "send", "--list", "daily"]).await;
    let second = app.run(&["digest", "send", "--list", "daily"]).await;

    first.ok();
    second.ok();
    let mut recipients = server.recipients();
    recipients.sort();
    assert_eq!(
        recipients,
        vec!["a@example.org", "b@example.org", "c@example.org"]
    );
    for raw in server.messages() {
        let to = header(&raw, "To").expect("To");
        assert!(header(&raw, "From")
            .expect("From")
            .contains("<digest@example.com>"));
        assert!(header(&raw, "Subject")
            .expect("Subject")
            .starts_with("Herald Daily, 28 Nov: "));
        assert!(header(&raw, "Date").is_some());
        assert!(header(&raw, "Message-ID")
            .expect("Message-ID")
            .ends_with("@example.com>"));
        assert_eq!(header(&raw, "MIME-Version").as_deref(), Some("1.0"));
        assert!(header(&raw, "Content-Type")
            .expect("Content-Type")
            .starts_with("multipart/alternative"));
        assert_eq!(
            header(&raw, "List-Id").as_deref(),
            Some("daily <daily.example.com>")
        );
        let unsubscribe = header(&raw, "List-Unsubscribe").expect("List-Unsubscribe");
        assert!(
            unsubscribe.starts_with("<http://127.0.0.1:8080/unsubscribe/"),
            "{unsubscribe}"
        );
        assert_eq!(
            header(&raw, "List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
        let parsed = mailparse::parse_mail(&raw).expect("parses");
        let html = parsed.subparts[1].get_body().expect("html");
        assert!(html.contains(&to), "personalised for {to}");
        assert!(
            html.contains(unsubscribe.trim_matches(['<', '>'])),
            "visible unsubscribe link"
        );
    }
    let status = app
        .run(&["--json", "digest", "status", "--list", "daily"])
        .await
        .json();
    assert_eq!(status[0]["status"], "sent");
    assert_eq!(status[0]["total"], 3);
    assert_eq!(status[0]["sent"], 3);
    assert_eq!(status[0]["pending"], 0);
    assert_eq!(status[0]["failed"], 0);
}

#[tokio::test]
async fn people_who_join_or_leave_after_the_edition_was_built_are_not_mailed_it() {
    let server = RealSmtp::start();
    let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;
    newsroom(&app, &["stays@example.org", "leaves@example.org"]).await;
    let list = lists::require(&app.app.pool, &ListSlug::parse("daily").expect("slug"))
        .await
        .expect("list");
    let built = digest::build_edition(&app.app.pool, &app.app.settings, &list, app.app.clock.now())
        .await
        .expect("built");
    assert!(
        matches!(built, Built::Created { deliveries: 2, .. }),
        "{built:?}"
    );
    app.add_confirmed("late@example.org", "daily").await;
    app.run(&[
        "subscriber",
        "unsubscribe",
        "leaves@example.org",
        "--list",
        "daily",
    ])
    .await
    .ok();

    app.run(&["digest", "send", "--list", "daily"]).await.ok();

    assert_eq!(server.recipients(), vec!["stays@example.org"]);
    assert_eq!(
        delivery_status(&app, "leaves@example.org").await.0,
        "cancelled"
    );
}

#[tokio::test]
async fn temporary_failures_are_retried_with_backoff_until_accepted() {
    let server = FaultySmtp::start(&[("slow@example.org", Fault::TempFail(2))]).await;
    let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;
    newsroom(&app, &["ok@example.org", "slow@example.org"]).await;

    app.run(&["digest", "send", "--list", "daily"]).await.ok();

    let mut accepted = server.accepted();
    accepted.sort();
    assert_eq!(accepted, vec!["ok@example.org", "slow@example.org"]);
    assert_eq!(server.attempts("slow@example.org"), 3);
    assert_eq!(
        delivery_status(&app, "slow@example.org").await,
        ("sent".to_string(), 3)
    );
    assert_eq!(
        subscription_status(&app, "slow@example.org").await,
        "active"
    );
}

#[tokio::test]
async fn a_recipient_deferred_through_max_attempts_keeps_the_edition_open_without_a_bounce() {
    let server = FaultySmtp::start(&[("down@example.org", Fault::TempFail(99))]).await;
    let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;
    newsroom(&app, &["ok@example.org", "down@example.org"]).await;

    let run = app
        .run(&["--json", "digest", "send", "--list", "daily"])
        .await;

    assert_eq!(run.exit_code(), 1, "an unfinished edition is not a success");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("json report");
    assert_eq!(report["sent"], 1);
    assert_eq!(report["failed"], 0);
    assert_eq!(report["deferred"], 1);
    assert_eq!(server.attempts("down@example.org"), 3);
    assert_eq!(
        delivery_status(&app, "down@example.org").await,
        ("deferred".to_string(), 3)
    );
    assert_eq!(
        subscription_status(&app, "down@example.org").await,
        "active"
    );
    let status = app
        .run(&["--json", "digest", "status", "--list", "daily"])
        .await
        .json();
    assert_eq!(status[0]["status"], "sending");
    assert_eq!(status[0]["pending"], 1);
    assert!(
        status[0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("temporary failures")),
        "{status}"
    );

    server.clear_faults().await;
    app.run(&["digest", "send", "--list", "daily"]).await.ok();

    let mut accepted = server.accepted();
    accepted.sort();
    assert_eq!(accepted, vec!["down@example.org", "ok@example.org"]);
    let status = app
        .run(&["--json", "digest", "status", "--list", "daily"])
        .await
        .json();
    assert_eq!(status[0]["status"], "sent");
    assert_eq!(status[0]["last_error"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_5xx_is_not_retried_and_bounces_the_address() {
    let server = FaultySmtp::start(&[("gone@example.org", Fault::Reject)]).await;
    let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;
    newsroom(&app, &["ok@example.org", "gone@example.org"]).await;

    app.run(&["digest", "send", "--list", "daily"]).await.ok();

    assert_eq!(server.accepted(), vec!["ok@example.org"]);
    assert_eq!(server.attempts("gone@example.org"), 1);
    assert_eq!(
        delivery_status(&app, "gone@example.org").await,
        ("failed".to_string(), 1)
    );
    assert_eq!(
        subscription_status(&app, "gone@example.org").await,
        "bounced"
    );
    let bounces: i64 = sqlx::query_scalar("SELECT bounce_count FROM subscriptions x JOIN subscribers s ON s.id = x.subscriber_id WHERE s.email = 'gone@example.org'")
        .fetch_one(&app.app.pool)
        .await
        .expect("count");
    assert_eq!(bounces, 1);
}

#[tokio::test]
async fn a_connection_dropped_mid_data_is_retried_and_the_message_arrives_once() {
    let server = FaultySmtp::start(&[("flaky@example.org", Fault::DropInData(1))]).await;
    let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;
    newsroom(
        &app,
        &["a@example.org", "flaky@example.org", "z@example.org"],
    )
    .await;

    app.run(&["digest", "send", "--list", "daily"]).await.ok();

    let mut accepted = server.accepted();
    accepted.sort();
    assert_eq!(
        accepted,
        vec!["a@example.org", "flaky@example.org", "z@example.org"]
    );
    // The drop was the connection's fault, not the reader's: the retry is not charged.
    assert_eq!(
        delivery_status(&app, "flaky@example.org").await,
        ("sent".to_string(), 1)
    );
    assert_eq!(server.attempts("flaky@example.org"), 2);
}

#[tokio::test]
async fn a_server_that_answers_too_slowly_is_a_temporary_failure() {
    let server =
        FaultySmtp::start(&[("slow@example.org", Fault::SlowOnce(Duration::from_secs(4)))]).await;
    let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;
    newsroom(&app, &["slow@example.org"]).await;

    app.run(&["digest", "send", "--list", "daily"]).await.ok();

    // A server too slow to answer is the server's failure: sent again, not charged.
    assert_eq!(
        delivery_status(&app, "slow@example.org").await,
        ("sent".to_string(), 1)
    );
    assert_eq!(server.attempts("slow@example.org"), 2);
    // The slow first attempt reached the server too: this is the one duplicate SMTP allows.
    assert!(server.accepted().len() <= 2);
}

#[tokio::test]
async fn a_test_copy_goes_to_one_address_and_records_nothing() {
    let server = RealSmtp::start();
    let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;
    newsroom(&app, &["reader@example.org"]).await;

    let out = app
        .run(&[
            "digest",
            "send",
            "--list",
            "daily",
            "--to",
            "Editor@Example.org",
        ])
        .await
        .ok();
    let dry = app
        .run(&["digest", "send", "--list", "daily", "--dry-run"])
        .await
        .ok();

    assert!(out.contains("sent a test copy"), "{out}");
    assert!(
        dry.contains("would build") && dry.contains("1 subscriber"),
        "{dry}"
    );
    assert_eq!(server.recipients(), vec!["editor@example.org"]);
    let editions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM editions")
        .fetch_one(&app.app.pool)
        .await
        .expect("count");
    assert_eq!(editions, 0, "neither --to nor --dry-run records an edition");
}

#[tokio::test]
async fn an_edition_with_no_stories_is_skipped_once_and_mails_nobody() {
    let server = RealSmtp::start();
    let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;
    app.add_list("daily").await;
    app.add_confirmed("a@example.org", "daily").await;

    let run = app.run(&["digest", "send", "--list", "daily"]).await;
    app.run(&[
        "story",
        "add",
        "--url",
        "https://news.example.org/late",
        "--title",
        "Late story",
    ])
    .await
    .ok();
    let again = app.run(&["digest", "send", "--list", "daily"]).await;

    assert!(run.stderr.contains("nothing to send"), "{}", run.stderr);
    assert!(
        again.stderr.contains("nothing to send"),
        "the day stays skipped: {}",
        again.stderr
    );
    assert!(server.messages().is_empty());
    let status = app.run(&["--json", "digest", "status"]).await.json();
    assert_eq!(status[0]["status"], "skipped");
}

#[tokio::test]
async fn the_file_transport_writes_one_eml_per_message() {
    let app = TestApp::spawn().await;
    newsroom(&app, &["a@example.org", "b@example.org"]).await;

    app.run(&["digest", "send", "--list", "daily"]).await.ok();

    let outbox = app.app.settings.transport.outbox_dir.clone();
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .expect("outbox")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    for file in files {
        assert_eq!(file.extension().and_then(|e| e.to_str()), Some("eml"));
        let raw = std::fs::read(&file).expect("read");
        assert!(header(&raw, "List-Unsubscribe-Post").is_some());
    }
}

#[tokio::test]
async fn the_send_loop_is_a_library_call_that_reports_its_outcome() {
    let server = RealSmtp::start();
    let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;
    newsroom(&app, &["a@example.org", "b@example.org"]).await;
    let list = lists::require(&app.app.pool, &ListSlug::parse("daily").expect("slug"))
        .await
        .expect("list");
    let built = digest::build_edition(&app.app.pool, &app.app.settings, &list, app.app.clock.now())
        .await
        .expect("built");
    let mailer = Mailer::new(&app.app).await.expect("mailer");
    let options = SendOptions::from_settings(&app.app.settings);

    let report = sender::deliver_edition(
        &app.app,
        built.edition_id(),
        &mailer,
        &options,
        never_stop(),
        &|_, _| {},
    )
    .await
    .expect("delivered");
    let again = sender::deliver_edition(
        &app.app,
        built.edition_id(),
        &mailer,
        &options,
        never_stop(),
        &|_, _| {},
    )
    .await
    .expect("resumed");

    assert!(report.completed());
    assert_eq!((report.counts.sent, report.counts.total), (2, 2));
    assert_eq!(again.counts.sent, 2);
    assert_eq!(
        server.messages().len(),
        2,
        "a finished edition sends nothing more"
    );
    let locks = app.dir.path().join("herald.db.locks");
    let left = std::fs::read_dir(&locks).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "a finished edition leaves no lock file behind");
}

#[tokio::test]
async fn resend_sends_deferred_deliveries_again_on_purpose() {
    let server = FaultySmtp::start(&[("greylisted@example.org", Fault::TempFail(3))]).await;
    let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;
    newsroom(&app, &["ok@example.org", "greylisted@example.org"]).await;
    let first = app.run(&["digest", "send", "--list", "daily"]).await;
    assert_eq!(first.exit_code(), 1);
    assert_eq!(
        delivery_status(&app, "greylisted@example.org").await.0,
        "deferred"
    );

    let unknown = app
        .run(&[
            "digest",
            "resend",
            "--list",
            "daily",
            "--date",
            "2026-11-27",
        ])
        .await;
    let resent = app
        .run(&[
            "digest",
            "resend",
            "--list",
            "daily",
            "--date",
            "2026-11-28",
        ])
        .await;

    assert_eq!(unknown.exit_code(), 2);
    assert!(
        unknown.error().contains("no edition for 2026-11-27"),
        "{}",
        unknown.error()
    );
    let out = resent.ok();
    assert!(out.contains("2 sent"), "{out}");
    let mut accepted = server.accepted();
    accepted.sort();
    assert_eq!(accepted, vec!["greylisted@example.org", "ok@example.org"]);
    assert_eq!(
        delivery_status(&app, "greylisted@example.org").await,
        ("sent".to_string(), 1)
    );
}

#[tokio::test]
async fn an_internationalised_domain_goes_on_the_wire_in_punycode() {
    let server = RealSmtp::start();
    let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;
    newsroom(&app, &["leser@bücher.example"]).await;

    app.run(&["digest", "send", "--list", "daily"]).await.ok();

    assert_eq!(server.recipients(), vec!["leser@xn--bcher-kva.example"]);
    let raw = String::from_utf8_lossy(&server.messages()[0]).into_owned();
    assert!(
        raw.lines()
            .any(|line| line.starts_with("To:") && line.contains("leser@xn--bcher-kva.example")),
        "{raw}"
    );
}
