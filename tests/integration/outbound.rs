//! The one way out for mail: durable confirmations, today's edition for test copies and
//! previews, Message-IDs unique per installation, and senders with a display name.

use std::sync::Arc;

use chrono::Duration as Age;
use herald::clock::FixedClock;
use herald::delivery::confirmations::{self, Pass};
use herald::delivery::mailer::Mailer;
use herald::domain::{EmailAddress, ListSlug};
use herald::store::{lists, optin};
use herald::App;

use crate::helpers::{header, pinned_now, smtp_settings, TestApp};
use crate::smtp::{Fault, FaultySmtp, RealSmtp, ServerFault};

fn outbox_messages(app: &TestApp) -> Vec<Vec<u8>> {
    let mut files: Vec<_> = std::fs::read_dir(&app.app.settings.transport.outbox_dir)
        .expect("outbox")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect()
}

fn at(app: &TestApp, when: chrono::DateTime<chrono::Utc>) -> App {
    App {
        clock: Arc::new(FixedClock(when)),
        ..app.app.clone()
    }
}

/// A new list `daily`, as stored.
async fn daily_list(app: &TestApp) -> lists::ListRecord {
    app.add_list("daily").await;
    lists::require(&app.app.pool, &ListSlug::parse("daily").expect("slug"))
        .await
        .expect("list")
}

#[tokio::test]
async fn a_confirmation_mail_waits_out_a_dead_relay_and_its_cooldown_starts_once_it_is_sent() {
    let server = FaultySmtp::broken(ServerFault::Everything421).await;
    let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;
    let list = daily_list(&app).await;
    let eve = EmailAddress::parse("eve@example.org").expect("address");
    let cooldown = Age::minutes(10);
    let now = pinned_now();
    let sign_up = |when| {
        let pool = app.app.pool.clone();
        let eve = eve.clone();
        async move {
            optin::sign_up(&pool, list.id, &eve, None, None, cooldown, when)
                .await
                .expect("sign-up")
        }
    };
    let mailer = Mailer::new(&app.app).await.expect("mailer");

    assert!(sign_up(now).await, "the first sign-up queues a mail");
    let while_down = confirmations::send_due(&app.app, &mailer)
        .await
        .expect("pass");
    let attempts_while_down: i64 =
        sqlx::query_scalar("SELECT confirmation_attempts FROM subscriptions")
            .fetch_one(&app.app.pool)
            .await
            .expect("attempts");
    assert!(
        !sign_up(now).await,
        "a mail is queued already: no second one"
    );
    server.clear_faults().await;
    let back = confirmations::send_due(&at(&app, now + Age::minutes(1)), &mailer)
        .await
        .expect("pass");

    assert_eq!(while_down, Pass { sent: 0, failed: 1 });
    assert_eq!(back, Pass { sent: 1, failed: 0 });
    assert_eq!(
        attempts_while_down, 0,
        "a dead relay is never charged to the reader"
    );
    assert_eq!(server.accepted(), vec!["eve@example.org"]);
    assert!(
        !sign_up(now + Age::minutes(5)).await,
        "within the cooldown of the successful send"
    );
    assert!(
        sign_up(now + Age::minutes(12)).await,
        "the cooldown counts from the send, not the first request"
    );
}

#[tokio::test]
async fn a_confirmation_refused_for_good_is_given_up_at_once_like_an_edition() {
    let server = FaultySmtp::start(&[("eve@example.org", Fault::Reject)]).await;
    let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;
    let list = daily_list(&app).await;
    let eve = EmailAddress::parse("eve@example.org").expect("address");
    let now = pinned_now();
    optin::sign_up(
        &app.app.pool,
        list.id,
        &eve,
        None,
        None,
        Age::minutes(10),
        now,
    )
    .await
    .expect("sign-up");
    let mailer = Mailer::new(&app.app).await.expect("mailer");

    let first = confirmations::send_due(&app.app, &mailer)
        .await
        .expect("pass");
    let later = confirmations::send_due(&at(&app, now + Age::days(1)), &mailer)
        .await
        .expect("pass");

    assert_eq!(first, Pass { sent: 0, failed: 1 });
    assert_eq!(later, Pass::default(), "nothing left to try");
    assert_eq!(server.attempts("eve@example.org"), 1);
    let next: Option<i64> = sqlx::query_scalar("SELECT confirmation_next_at FROM subscriptions")
        .fetch_one(&app.app.pool)
        .await
        .expect("next");
    assert_eq!(next, None);
}

#[tokio::test]
async fn test_copies_and_previews_after_the_send_show_todays_edition() {
    let server = RealSmtp::start();
    let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;
    app.newsroom(&["ada@example.org"]).await;
    app.run(&["digest", "send", "--list", "daily"]).await.ok();

    let preview = app
        .run(&["digest", "preview", "--list", "daily", "--format", "text"])
        .await
        .ok();
    let copy = app
        .run(&[
            "digest",
            "send",
            "--list",
            "daily",
            "--to",
            "editor@example.org",
        ])
        .await
        .ok();

    assert!(preview.contains("Central bank holds rates"), "{preview}");
    assert!(copy.contains("sent a test copy"), "{copy}");
    let messages = server.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(
        header(&messages[0], "Subject").expect("Subject"),
        header(&messages[1], "Subject").expect("Subject"),
        "the test copy is the edition that went out"
    );
}

#[tokio::test]
async fn message_ids_differ_between_installations_and_stay_stable_within_one() {
    let first = TestApp::spawn().await;
    let second = TestApp::spawn().await;
    for app in [&first, &second] {
        app.newsroom(&["ada@example.org"]).await;
        app.run(&["digest", "send", "--list", "daily"]).await.ok();
    }

    let ids: Vec<String> = [&first, &second]
        .iter()
        .map(|app| header(&outbox_messages(app)[0], "Message-ID").expect("Message-ID"))
        .collect();
    let mailer = Mailer::new(&first.app).await.expect("mailer");

    assert_ne!(ids[0], ids[1], "same edition and reader, two installations");
    assert_eq!(mailer.message_key("1.1"), mailer.message_key("1.1"));
    assert!(
        ids[0].starts_with(&format!("<{}@", mailer.message_key("1.1"))),
        "{}",
        ids[0]
    );
}

#[tokio::test]
async fn senders_may_carry_a_display_name() {
    let app = TestApp::spawn_with(|s| {
        s.newsletter.from =
            herald::domain::Sender::parse("Herald Desk <desk@example.com>").expect("sender");
    })
    .await;
    app.newsroom(&["ada@example.org"]).await;
    app.run(&[
        "list",
        "add",
        "sport",
        "--from",
        "Sports Desk <sports@example.org>",
    ])
    .await
    .ok();
    app.add_confirmed("ben@example.org", "sport").await;

    app.run(&["digest", "send", "--list", "daily"]).await.ok();
    app.run(&["digest", "send", "--list", "sport"]).await.ok();
    let bad = app
        .run(&["list", "set", "sport", "--from", "Sports <not-an-address>"])
        .await;

    let froms: Vec<String> = outbox_messages(&app)
        .iter()
        .map(|raw| header(raw, "From").expect("From"))
        .collect();
    assert!(
        froms.contains(&"\"Herald Desk\" <desk@example.com>".to_string()),
        "{froms:?}"
    );
    assert!(
        froms.contains(&"\"Sports Desk\" <sports@example.org>".to_string()),
        "{froms:?}"
    );
    assert_eq!(bad.exit_code(), 2);
    let shown = app.run(&["list", "show", "sport"]).await.ok();
    assert!(
        shown.contains("Sports Desk <sports@example.org>"),
        "{shown}"
    );
}
