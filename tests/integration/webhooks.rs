//! `POST /webhooks/{ses|postmark|mailgun}` over real HTTP with the providers' documented
//! payloads (`tests/fixtures/bounces/*.json`): each behind the secret, each event doing to its
//! reader what it says, and an unreadable body kept without effect.

use std::path::Path;

use herald::settings::SecretSetting;

use crate::daemon::Daemon;

const SECRET: &str = "webhook-secret-0123456789";

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bounces")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

async fn daemon() -> Daemon {
    daemon_with(|_| {}).await
}

async fn daemon_with(adjust: impl FnOnce(&mut herald::settings::Settings)) -> Daemon {
    let daemon = Daemon::start_with(None, |s| {
        s.bounces.domain = Some("bounce.example.org".into());
        s.bounces.webhook_secret = SecretSetting::from_value("bounces.webhook_secret", SECRET);
        adjust(s);
    })
    .await;
    daemon.app.add_list("daily").await;
    for reader in [
        "ses-bounce@example.net",
        "ses-complaint@example.net",
        "pm-bounce@example.net",
        "pm-soft@example.net",
        "pm-spam@example.net",
        "mg-failed@example.net",
        "mg-complained@example.net",
        "bystander@example.net",
    ] {
        daemon.app.add_confirmed(reader, "daily").await;
    }
    // Edition 1 went to every reader: the events below are about its deliveries.
    let sent = daemon.app.run(&["digest", "send", "--list", "daily"]).await;
    assert_eq!(sent.exit_code(), 0, "{}", sent.stderr);
    daemon
}

/// The fixture filled in for `reader`, with the VERP address of a delivery to them.
async fn payload(daemon: &Daemon, name: &str, reader: &str) -> String {
    let verp = herald::bounces::verp(&daemon.app.app)
        .await
        .expect("key")
        .expect("VERP on");
    let address = crate::helpers::delivery_bounce_address(&daemon.app.app, &verp, 1, reader).await;
    let timestamp = daemon.app.app.clock.now().timestamp().to_string();
    let body = fixture(name)
        .replace("{{RECIPIENT}}", reader)
        .replace("{{VERP}}", &address)
        .replace("{{TIMESTAMP}}", &timestamp);
    let token = serde_json::from_str::<serde_json::Value>(&body.replace("{{SIGNATURE}}", ""))
        .ok()
        .and_then(|value| value.pointer("/signature/token").cloned())
        .and_then(|token| token.as_str().map(str::to_string))
        .unwrap_or_default();
    body.replace(
        "{{SIGNATURE}}",
        &mailgun_signature(SECRET, &timestamp, &token),
    )
}

fn mailgun_signature(key: &str, timestamp: &str, token: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.as_bytes());
    aws_lc_rs::hmac::sign(&key, format!("{timestamp}{token}").as_bytes())
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

async fn post(
    daemon: &Daemon,
    provider: &str,
    password: Option<&str>,
    body: String,
) -> (u16, serde_json::Value) {
    let mut request = daemon
        .http
        .post(format!("{}/webhooks/{provider}", daemon.base))
        .header("content-type", "application/json")
        .body(body);
    if let Some(password) = password {
        request = request.basic_auth("herald", Some(password));
    }
    let response = request.send().await.expect("POST");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_events_bounce_and_unsubscribe_exactly_their_readers() {
    let daemon = daemon().await;
    let cases = [
        ("ses", "ses-bounce.json", "ses-bounce@example.net"),
        ("ses", "ses-complaint.json", "ses-complaint@example.net"),
        ("postmark", "postmark-bounce.json", "pm-bounce@example.net"),
        (
            "postmark",
            "postmark-soft-bounce.json",
            "pm-soft@example.net",
        ),
        (
            "postmark",
            "postmark-spam-complaint.json",
            "pm-spam@example.net",
        ),
        ("mailgun", "mailgun-failed.json", "mg-failed@example.net"),
        (
            "mailgun",
            "mailgun-complained.json",
            "mg-complained@example.net",
        ),
    ];
    for (provider, name, reader) in cases {
        let body = payload(&daemon, name, reader).await;
        let (status, answer) = post(&daemon, provider, Some(SECRET), body.clone()).await;
        assert_eq!(status, 200, "{name}: {answer}");
        assert_eq!(answer["processed"], 1, "{name}: {answer}");
        // The provider delivers it again: nothing changes twice.
        assert_eq!(post(&daemon, provider, Some(SECRET), body).await.0, 200);
    }

    for (reader, status) in [
        ("ses-bounce@example.net", "bounced"),
        ("ses-complaint@example.net", "unsubscribed"),
        ("pm-bounce@example.net", "bounced"),
        ("pm-soft@example.net", "active"),
        ("pm-spam@example.net", "unsubscribed"),
        ("mg-failed@example.net", "bounced"),
        ("mg-complained@example.net", "unsubscribed"),
        ("bystander@example.net", "active"),
    ] {
        assert_eq!(daemon.app.status_of(reader).await, status, "{reader}");
    }
    let reports = daemon.app.run(&["--json", "bounce", "ls"]).await.json();
    let reports = reports.as_array().expect("array");
    assert_eq!(reports.len(), cases.len(), "each event kept once");
    let ses = reports
        .iter()
        .find(|report| report["email"] == "ses-bounce@example.net")
        .expect("the SES bounce");
    assert_eq!(ses["edition_id"], 1, "the edition its VERP tag names");
    assert_eq!(ses["status"], "5.1.1");

    let (_, metrics) = {
        let response = daemon
            .http
            .get(format!("{}/metrics", daemon.base))
            .send()
            .await
            .expect("metrics");
        (response.status(), response.text().await.expect("body"))
    };
    assert!(
        metrics.contains("herald_bounces_total{kind=\"hard\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("herald_complaints_total 3"), "{metrics}");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_refuse_anyone_without_the_secret() {
    let daemon = daemon().await;
    let bounce = payload(&daemon, "postmark-bounce.json", "pm-bounce@example.net").await;

    assert_eq!(post(&daemon, "postmark", None, bounce.clone()).await.0, 401);
    assert_eq!(
        post(&daemon, "postmark", Some("wrong"), bounce.clone())
            .await
            .0,
        401
    );
    assert_eq!(
        post(&daemon, "ses", Some(&SECRET[..10]), bounce).await.0,
        401
    );
    let forged = payload(&daemon, "mailgun-failed.json", "mg-failed@example.net")
        .await
        .replace("\"signature\": \"", "\"signature\": \"00");
    assert_eq!(post(&daemon, "mailgun", None, forged).await.0, 401);
    let stale = fixture("mailgun-failed.json")
        .replace("{{RECIPIENT}}", "mg-failed@example.net")
        .replace("{{VERP}}", "news@example.org")
        .replace("{{TIMESTAMP}}", "1000000000")
        .replace(
            "{{SIGNATURE}}",
            &mailgun_signature(
                SECRET,
                "1000000000",
                "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
            ),
        );
    assert_eq!(
        post(&daemon, "mailgun", None, stale).await.0,
        401,
        "a replay"
    );
    assert_eq!(
        post(&daemon, "sendgrid", Some(SECRET), "{}".into()).await.0,
        404
    );

    for reader in ["pm-bounce@example.net", "mg-failed@example.net"] {
        assert_eq!(daemon.app.status_of(reader).await, "active", "{reader}");
    }
    let reports = daemon.app.run(&["--json", "bounce", "ls"]).await.json();
    assert!(reports.as_array().expect("array").is_empty());
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_event_is_kept_and_refused_and_sns_is_only_confirmed_at_amazon() {
    let daemon = daemon().await;

    let (status, answer) = post(&daemon, "ses", Some(SECRET), "{\"Type\": \"Notif".into()).await;
    assert_eq!(status, 400, "{answer}");
    let (status, _) = post(&daemon, "postmark", Some(SECRET), "{\"Email\": 3}".into()).await;
    assert_eq!(status, 400);
    let reports = daemon.app.run(&["--json", "bounce", "ls"]).await.json();
    let reports = reports.as_array().expect("array");
    assert_eq!(reports.len(), 2, "both kept as evidence");
    assert!(reports
        .iter()
        .all(|report| report["kind"] == "unrecognised"));

    let elsewhere = fixture("ses-subscription.json")
        .replace("{{SUBSCRIBE_URL}}", "https://attacker.example/confirm");
    let (status, answer) = post(&daemon, "ses", Some(SECRET), elsewhere).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]
        .as_str()
        .expect("error")
        .contains("Amazon SNS"));
    assert_eq!(
        daemon.app.status_of("bystander@example.net").await,
        "active"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_secret_the_webhooks_are_off() {
    let daemon = Daemon::start(None).await;
    let (status, answer) = post(&daemon, "postmark", Some(SECRET), "{}".into()).await;
    assert_eq!(status, 404);
    assert!(answer["error"]
        .as_str()
        .expect("error")
        .contains("webhook_secret"));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailgun_signature_carries_only_the_event_it_came_with() {
    let daemon = daemon().await;
    let body = payload(&daemon, "mailgun-failed.json", "mg-failed@example.net").await;
    let (status, answer) = post(&daemon, "mailgun", None, body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    // Mailgun retrying the same event is fine.
    assert_eq!(post(&daemon, "mailgun", None, body.clone()).await.0, 200);

    // The same signature object with another reader's complaint: refused, nobody touched.
    let mut replayed: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    replayed["event-data"]["recipient"] = "bystander@example.net".into();
    replayed["event-data"]["event"] = "complained".into();
    let (status, answer) = post(&daemon, "mailgun", None, replayed.to_string()).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(
        daemon.app.status_of("bystander@example.net").await,
        "active"
    );
    assert_eq!(
        daemon.app.status_of("mg-failed@example.net").await,
        "bounced"
    );

    // What is kept carries no credential a reader of the database could replay.
    let token = serde_json::from_str::<serde_json::Value>(&body).expect("JSON")["signature"]
        ["token"]
        .as_str()
        .expect("token")
        .to_string();
    let kept: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT raw FROM bounce_reports WHERE source = 'mailgun'")
            .fetch_all(&daemon.app.app.pool)
            .await
            .expect("kept");
    assert!(!kept.is_empty());
    for raw in kept {
        let raw = String::from_utf8(raw).expect("utf-8");
        assert!(!raw.contains(&token), "{raw}");
        assert!(!raw.contains("signature"), "{raw}");
        assert!(
            raw.contains("mg-failed@example.net"),
            "the event itself is kept: {raw}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_naming_more_readers_than_the_limit_is_held_until_an_admin_releases_it() {
    let daemon = daemon_with(|s| s.bounces.webhook_max_readers = 3).await;
    let many = [
        "ses-bounce@example.net",
        "pm-bounce@example.net",
        "pm-soft@example.net",
        "mg-failed@example.net",
    ];
    let body = |readers: &[&str]| {
        let mut outer: serde_json::Value =
            serde_json::from_str(&fixture("ses-bounce.json")).expect("JSON");
        let mut message: serde_json::Value =
            serde_json::from_str(outer["Message"].as_str().expect("Message")).expect("JSON");
        message["mail"]["source"] = "news@example.org".into();
        message["bounce"]["bouncedRecipients"] = readers
            .iter()
            .map(|reader| serde_json::json!({ "emailAddress": reader, "status": "5.1.1" }))
            .collect();
        outer["Message"] = message.to_string().into();
        outer.to_string()
    };

    let (status, answer) = post(&daemon, "ses", Some(SECRET), body(&many)).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["held"], 4, "{answer}");
    for reader in many {
        assert_eq!(daemon.app.status_of(reader).await, "active", "{reader}");
    }
    let reports = daemon.app.run(&["--json", "bounce", "ls"]).await.json();
    let held = &reports[0];
    assert!(
        held["action"].as_str().expect("action").starts_with("held"),
        "{held}"
    );

    // Under the limit, applied at once.
    let (status, answer) = post(&daemon, "ses", Some(SECRET), body(&many[..1])).await;
    assert_eq!((status, &answer["processed"]), (200, &1.into()), "{answer}");

    let id = held["id"].as_i64().expect("id").to_string();
    let released = daemon.app.run(&["bounce", "release", &id]).await;
    assert_eq!(released.exit_code(), 0, "{}", released.stderr);
    assert!(
        released.stdout.contains("applied to 4"),
        "{}",
        released.stdout
    );
    for reader in many {
        assert_eq!(daemon.app.status_of(reader).await, "bounced", "{reader}");
    }
    assert_eq!(
        daemon.app.status_of("bystander@example.net").await,
        "active"
    );
    let again = daemon.app.run(&["bounce", "release", &id]).await;
    assert_eq!(again.exit_code(), 2, "only a held report is released");
    let error = format!("{:#}", again.result.expect_err("refused"));
    assert!(error.contains("not held"), "{error}");
    daemon.stop().await;
}
