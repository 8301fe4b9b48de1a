//! `herald backup` while `digest send` writes, and the generated completions and man pages.

use std::time::Duration;

use sqlx::{Connection, SqliteConnection};

use crate::crash::{newsroom, send, wait_with_limit};
use crate::helpers::{herald, smtp_settings, stdout, TestApp};
use crate::smtp::RealSmtp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_digest_send_writes_is_whole_and_holds_every_committed_delivery() {
    if crate::postgres_db::selected() {
        // `herald backup` copies SQLite files; PostgreSQL is backed up by its own tools.
        return;
    }
    let server = RealSmtp::start_with_delay(0.02);
    let app = TestApp::spawn_on_system_clock(|s| smtp_settings(s, server.port)).await;
    let readers = newsroom(&app, 200).await;
    let mut sending = send(&app, server.port);
    server.wait_for(40, Duration::from_secs(60));

    let committed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'")
            .fetch_one(&app.app.pool)
            .await
            .expect("count");
    let copy = app.dir.path().join("backup.db");
    let database = app.app.settings.database.url.clone();
    let backed_up = herald(
        app.dir.path(),
        &[
            "--database",
            &database,
            "backup",
            &copy.display().to_string(),
        ],
    );
    let still_sending = sending.try_wait().expect("status").is_none();
    let finished = wait_with_limit(&mut sending, Duration::from_secs(120)).expect("send finishes");

    assert!(backed_up.status.success(), "{backed_up:?}");
    assert!(stdout(&backed_up).contains("integrity checked"));
    assert!(still_sending, "the backup was taken mid-send");
    assert!(finished.success());
    let mut opened = SqliteConnection::connect(&format!("sqlite://{}?mode=ro", copy.display()))
        .await
        .expect("the backup opens");
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut opened)
        .await
        .expect("check");
    assert_eq!(integrity, "ok");
    let (rows, sent): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COALESCE(SUM(status = 'sent'), 0) FROM deliveries")
            .fetch_one(&mut opened)
            .await
            .expect("deliveries");
    assert_eq!(
        rows,
        readers.len() as i64,
        "every delivery row is in the copy"
    );
    assert!(
        sent >= committed,
        "{sent} sent in the copy, {committed} committed before it"
    );

    let again = herald(
        app.dir.path(),
        &[
            "--database",
            &database,
            "backup",
            &copy.display().to_string(),
        ],
    );
    assert_eq!(
        again.status.code(),
        Some(2),
        "a backup never overwrites a file"
    );
}

#[test]
fn completions_and_man_pages_come_from_the_command_definitions() {
    let dir = tempfile::tempdir().expect("temp dir");
    for shell in ["bash", "zsh", "fish"] {
        let output = herald(dir.path(), &["completions", shell]);
        assert!(output.status.success(), "{shell}");
        let script = stdout(&output);
        for word in ["subscriber", "reactivate", "bounce", "list"] {
            assert!(script.contains(word), "{shell} completes {word}");
        }
    }
    let bash = dir.path().join("herald.bash");
    std::fs::write(&bash, herald(dir.path(), &["completions", "bash"]).stdout).expect("write");
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(&bash)
        .status()
        .expect("bash runs");
    assert!(checked.success(), "the bash script parses");

    let pages = dir.path().join("man");
    let output = herald(dir.path(), &["man", &pages.display().to_string()]);
    assert!(output.status.success());
    for page in [
        "herald.1",
        "herald-subscriber.1",
        "herald-digest.1",
        "herald-bounce.1",
    ] {
        let text = std::fs::read_to_string(pages.join(page)).expect(page);
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page} is a man page"
        );
    }
    let subscriber = std::fs::read_to_string(pages.join("herald-subscriber.1")).expect("page");
    assert!(subscriber.contains("reactivate"));
}
