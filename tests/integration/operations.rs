//! The daemon as operators run it: the binary under SIGTERM, admin commands while it sends, and
//! the systemd unit.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Duration as Age;
use herald::{daemon, scheduler};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::helpers::{smtp_settings, TestApp};
use crate::smtp::RealSmtp;

#[test]
fn serve_exits_0_soon_after_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .current_dir(dir.path())
        .env("HERALD__WEB__BIND", "127.0.0.1:0")
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "serve keeps running"
    );

    let stopping = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill")
        .success());
    let output = child.wait_with_output().expect("exits");

    assert!(
        output.status.success(),
        "exit 0: {:?} {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "stopped in {:?}",
        stopping.elapsed()
    );
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("listening") && log.contains("stopping"),
        "one line per event on stderr: {log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes when stderr is not a terminal"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_succeed_while_the_daemon_sends_an_edition() {
    let server = RealSmtp::start_with_delay(0.002);
    let app = TestApp::spawn_on_system_clock(|s| smtp_settings(s, server.port)).await;
    app.run(&["list", "add", "daily", "--schedule", "* * * * *"])
        .await
        .ok();
    let published = (app.app.clock.now() - Age::hours(1)).to_rfc3339();
    app.run(&[
        "story",
        "add",
        "--url",
        "https://news.example.org/a",
        "--title",
        "Lead",
        "--published-at",
        &published,
    ])
    .await
    .ok();
    let emails: Vec<String> = (0..800).map(|i| format!("r{i}@example.org")).collect();
    app.import_confirmed("daily", &emails).await;
    // The daemon "was down" for the last minute: its first tick sends the missed edition.
    scheduler::tick(&app.app, app.app.clock.now() - Age::minutes(2))
        .await
        .expect("tick");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let (stop, stopped) = watch::channel(false);
    let daemon = tokio::spawn(daemon::serve(app.app.clone(), listener, stopped));
    server.wait_for(1, Duration::from_secs(20));

    let database = app.app.settings.database.url.clone();
    let admin = tokio::task::spawn_blocking(move || {
        (0..15)
            .map(|i| {
                let email = format!("admin{i}@example.org");
                let args: Vec<&str> = match i % 3 {
                    0 => vec![
                        "subscriber",
                        "add",
                        &email,
                        "--list",
                        "daily",
                        "--confirmed",
                    ],
                    1 => vec!["list", "set", "daily", "--title", "Daily"],
                    _ => vec!["digest", "status"],
                };
                let output = Command::new(env!("CARGO_BIN_EXE_herald"))
                    .env("HERALD__DATABASE__URL", &database)
                    .args(&args)
                    .output()
                    .expect("runs");
                (
                    args.join(" "),
                    output.status.code(),
                    String::from_utf8_lossy(&output.stderr).into_owned(),
                )
            })
            .collect::<Vec<_>>()
    });
    let results = admin.await.expect("admin commands");
    let delivered = server.wait_for(800, Duration::from_secs(60));
    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(10), daemon)
        .await
        .expect("stops")
        .expect("task")
        .expect("serve");

    for (command, code, stderr) in results {
        assert_eq!(code, Some(0), "{command}: {stderr}");
        assert!(!stderr.contains("locked"), "{command}: {stderr}");
    }
    assert_eq!(delivered, 800, "the daemon delivered the whole edition");
}

fn systemd_analyze(args: &[&str]) -> std::process::Output {
    Command::new("systemd-analyze")
        .args(args)
        .output()
        .expect("systemd-analyze (Debian's systemd package) runs")
}

#[test]
fn the_systemd_unit_verifies_and_its_exposure_is_at_most_1_5() {
    let dir = tempfile::tempdir().expect("temp dir");
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/herald.service"
    ))
    .expect("unit");
    // `verify` checks that ExecStart's binary exists: point it at the one just built.
    let unit = unit.replace("/usr/local/bin/herald", env!("CARGO_BIN_EXE_herald"));
    let path = dir.path().join("herald.service");
    std::fs::write(&path, unit).expect("write unit");
    let path = path.display().to_string();

    let verify = systemd_analyze(&["verify", &path]);
    let security = systemd_analyze(&["security", "--offline=true", &path]);

    assert!(
        verify.status.success(),
        "verify: {}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let report = String::from_utf8_lossy(&security.stdout);
    let level: f64 = report
        .lines()
        .find_map(|line| {
            line.split("Overall exposure level for herald.service:")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no exposure level in:\n{report}\n{}",
                String::from_utf8_lossy(&security.stderr)
            )
        });
    assert!(level <= 1.5, "exposure {level}");
    for directive in [
        "Type=notify",
        "WatchdogSec=",
        "DynamicUser=yes",
        "StateDirectory=herald",
        "LoadCredential=smtp-password",
        "LoadCredential=api-token",
    ] {
        assert!(
            std::fs::read_to_string(&path)
                .expect("unit")
                .contains(directive),
            "{directive}"
        );
    }
}
