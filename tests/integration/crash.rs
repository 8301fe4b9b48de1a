//! `herald digest send` as a child process, killed mid-edition: nobody is missed, and
//! duplicates stay within the messages that were in flight.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Duration as Age;

use crate::helpers::{smtp_settings, TestApp};
use crate::smtp::{FaultySmtp, RealSmtp, ServerFault};

const CONCURRENCY: usize = 4;

pub(crate) async fn newsroom(app: &TestApp, subscribers: usize) -> Vec<String> {
    app.add_list("daily").await;
    let published = (app.app.clock.now() - Age::hours(1)).to_rfc3339();
    app.run(&[
        "story",
        "add",
        "--url",
        "https://news.example.org/lead",
        "--title",
        "Lead",
        "--published-at",
        &published,
    ])
    .await
    .ok();
    let emails: Vec<String> = (0..subscribers)
        .map(|i| format!("reader{i:03}@example.org"))
        .collect();
    app.import_confirmed("daily", &emails).await;
    emails
}

pub(crate) fn send(app: &TestApp, port: u16) -> Child {
    send_with(app, port, &[])
}

/// `digest send` as a child process, with these settings in its environment besides.
fn send_with(app: &TestApp, port: u16, settings: &[(&str, &str)]) -> Child {
    herald_over_smtp(app, port, 5, CONCURRENCY)
        .envs(settings.iter().copied())
        .args(["digest", "send", "--list", "daily"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("herald starts")
}

/// The built binary on the app's database, sending through the SMTP server on `port` with
/// `timeout_secs` per answer and `concurrency` connections, with no inherited Herald settings.
pub(crate) fn herald_over_smtp(
    app: &TestApp,
    port: u16,
    timeout_secs: u32,
    concurrency: usize,
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
    for (key, _) in std::env::vars() {
        if key.starts_with("HERALD") {
            command.env_remove(key);
        }
    }
    command
        .current_dir(app.dir.path())
        .env("HERALD__DATABASE__URL", &app.app.settings.database.url)
        .env("HERALD__TRANSPORT__KIND", "smtp")
        .env("HERALD__SMTP__HOST", "127.0.0.1")
        .env("HERALD__SMTP__PORT", port.to_string())
        .env("HERALD__SMTP__TLS", "none")
        .env("HERALD__SMTP__TIMEOUT_SECS", timeout_secs.to_string())
        .env("HERALD__DELIVERY__CONCURRENCY", concurrency.to_string())
        .env("HERALD__DELIVERY__RETRY_BASE_SECS", "0");
    command
}

pub(crate) fn wait_with_limit(
    child: &mut Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn tally(server: &RealSmtp) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for recipient in server.recipients() {
        *counts.entry(recipient).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_killed_at_several_points_misses_nobody_and_duplicates_only_in_flight_messages() {
    let server = RealSmtp::start_with_delay(0.04);
    let app = TestApp::spawn_on_system_clock(|s| smtp_settings(s, server.port)).await;
    let emails = newsroom(&app, 240).await;
    let kill_points = [10, 90, 170];

    let mut in_flight_at_kills = 0;
    for kill_at in kill_points {
        let mut child = send(&app, server.port);
        let reached = server.wait_for(kill_at, Duration::from_secs(60));
        assert!(
            reached >= kill_at,
            "only {reached} messages before the kill point {kill_at}"
        );
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        // What the dead process had marked in flight: the only rows that may be sent twice.
        let in_flight: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status = 'sending'")
                .fetch_one(&app.app.pool)
                .await
                .expect("count");
        in_flight_at_kills += in_flight as usize;
    }
    let mut last = send(&app, server.port);
    let status =
        wait_with_limit(&mut last, Duration::from_secs(120)).expect("the last run finishes");

    assert!(status.success(), "the resumed send completes");
    let counts = tally(&server);
    let missed: Vec<&String> = emails.iter().filter(|e| !counts.contains_key(*e)).collect();
    assert!(missed.is_empty(), "missed: {missed:?}");
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    assert!(
        counts.values().all(|&n| n <= 2),
        "nobody gets more than one duplicate: {counts:?}"
    );
    assert!(
        duplicates <= in_flight_at_kills,
        "{duplicates} duplicates, {in_flight_at_kills} rows in flight at the kills"
    );
    // Each connection has at most two accepted-but-unrecorded messages at any moment.
    assert!(
        duplicates <= kill_points.len() * 2 * CONCURRENCY,
        "{duplicates} duplicates"
    );
    let status = app
        .run(&["--json", "digest", "status", "--list", "daily"])
        .await
        .json();
    assert_eq!(status[0]["sent"], 240);
    assert_eq!(status[0]["status"], "sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_claiming_finishes_in_flight_messages_and_a_rerun_sends_no_duplicate() {
    let server = RealSmtp::start_with_delay(0.04);
    let app = TestApp::spawn_on_system_clock(|s| smtp_settings(s, server.port)).await;
    let emails = newsroom(&app, 160).await;

    let mut child = send(&app, server.port);
    server.wait_for(40, Duration::from_secs(60));
    let stopping = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status =
        wait_with_limit(&mut child, Duration::from_secs(10)).expect("exits within 10 s of SIGTERM");
    let stopped_in = stopping.elapsed();
    let after_stop = server.count();
    let mut rerun = send(&app, server.port);
    let finished = wait_with_limit(&mut rerun, Duration::from_secs(120)).expect("rerun finishes");

    assert_eq!(
        status.code(),
        Some(1),
        "a stopped send says the edition is unfinished"
    );
    assert!(
        stopped_in < Duration::from_secs(5),
        "stopped in {stopped_in:?}"
    );
    assert!(after_stop < emails.len(), "stopped before the end");
    assert!(finished.success());
    let counts = tally(&server);
    assert_eq!(counts.len(), emails.len(), "everyone got the edition");
    assert!(
        counts.values().all(|&n| n == 1),
        "a graceful stop leaves no duplicate: {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_the_server_hangs_after_data_exits_within_10_s_and_loses_nobody() {
    let server = FaultySmtp::broken(ServerFault::SilentAfterData).await;
    let app = TestApp::spawn_on_system_clock(|s| smtp_settings(s, server.port)).await;
    let emails = newsroom(&app, 20).await;
    // A timeout far beyond the stop: only the stop grace can end the hung messages.
    let mut child = send_with(&app, server.port, &[("HERALD__SMTP__TIMEOUT_SECS", "300")]);
    let started = Instant::now();
    while server.data_received() < CONCURRENCY {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "messages reach the server"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let stopping = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status =
        wait_with_limit(&mut child, Duration::from_secs(10)).expect("exits within 10 s of SIGTERM");
    let stopped_in = stopping.elapsed();

    assert_eq!(status.code(), Some(1), "the edition is unfinished");
    assert!(
        stopped_in < Duration::from_secs(10),
        "stopped in {stopped_in:?}"
    );
    let (left_sending, given_up, harmed): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM deliveries WHERE status = 'sending'),
                (SELECT COUNT(*) FROM deliveries WHERE status IN ('failed', 'deferred')),
                (SELECT COUNT(*) FROM subscriptions WHERE status != 'active')",
    )
    .fetch_one(&app.app.pool)
    .await
    .expect("counts");
    assert_eq!(left_sending, 0, "in-flight rows went back to the queue");
    assert_eq!(
        (given_up, harmed),
        (0, 0),
        "no reader was charged for the hang"
    );

    server.clear_faults().await;
    let mut rerun = send(&app, server.port);
    let finished = wait_with_limit(&mut rerun, Duration::from_secs(60)).expect("rerun finishes");
    assert!(finished.success());
    let mut accepted = server.accepted();
    accepted.sort();
    assert_eq!(
        accepted, emails,
        "everyone once: the hung messages were never accepted"
    );
}
