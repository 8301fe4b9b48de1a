//! `herald config check`: every stage a send depends on, tried without sending, secrets hidden.

use crate::helpers::{smtp_settings, TestApp};
use crate::smtp::{FaultySmtp, RealSmtp, ServerFault};

const PASSWORD: &str = "hunter2-very-secret";

fn with_password(settings: &mut herald::settings::Settings) {
    settings.smtp.username = Some("herald".into());
    settings.smtp.password = herald::settings::SecretSetting::from_value("smtp.password", PASSWORD);
}

#[tokio::test]
async fn a_working_setup_passes_every_stage_and_sends_nothing() {
    let server = RealSmtp::start();
    let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;

    let out = app.run(&["config", "check"]).await.ok();

    for stage in ["settings:", "database:", "transport:", "dkim:", "api:"] {
        assert!(out.contains(stage), "{stage} in {out}");
    }
    assert!(
        out.contains(&format!("smtp 127.0.0.1:{}: connected", server.port)),
        "{out}"
    );
    assert_eq!(server.count(), 0, "a check sends no mail");
}

#[tokio::test]
async fn a_wrong_password_fails_at_the_transport_stage_without_showing_it() {
    let server = FaultySmtp::broken(ServerFault::Auth535).await;
    let app = TestApp::spawn_with(|s| {
        smtp_settings(s, server.port);
        with_password(s);
    })
    .await;

    let run = app.run(&["config", "check"]).await;

    assert_eq!(run.exit_code(), 1);
    let error = run.error();
    assert!(
        error.starts_with("config check failed at transport")
            && error.contains("AUTH: permanent error (535)"),
        "{error}"
    );
    assert!(
        run.stdout.contains("database:"),
        "stages before it are shown"
    );
    for text in [&error, &run.stdout, &run.stderr] {
        assert!(!text.contains(PASSWORD), "the password leaked: {text}");
    }
}

#[tokio::test]
async fn a_password_is_described_never_shown_when_the_check_passes() {
    let server = FaultySmtp::start(&[]).await;
    let app = TestApp::spawn_with(|s| {
        smtp_settings(s, server.port);
        with_password(s);
    })
    .await;

    let out = app.run(&["config", "check"]).await.ok();

    assert!(out.contains("AUTH as herald"), "{out}");
    assert!(out.contains("smtp.password set"), "{out}");
    assert!(!out.contains(PASSWORD), "{out}");
}

#[tokio::test]
async fn an_unusable_dkim_key_fails_at_the_dkim_stage() {
    let app = TestApp::spawn().await;
    let key = app.write_file("dkim.pem", b"not a key at all");
    let mut app = app;
    app.app.settings.dkim = Some(herald::settings::DkimSettings {
        selector: "s1".into(),
        domain: "example.com".into(),
        private_key_file: key.into(),
        second: None,
    });

    let run = app.run(&["config", "check"]).await;

    assert_eq!(run.exit_code(), 2, "a bad key file is bad input");
    assert!(
        run.error().starts_with("config check failed at dkim"),
        "{}",
        run.error()
    );
    assert!(run.stdout.contains("transport:"), "{}", run.stdout);
}
