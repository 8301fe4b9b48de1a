//! `herald db copy`: an install moves from SQLite to PostgreSQL and back with every row, and a
//! target that holds data is refused.

use crate::helpers::{herald, stderr, stdout, TestApp};
use crate::postgres_db::TestDatabase;

fn count(raw: &str, table: &str) -> i64 {
    raw.lines()
        .find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some(table)).then(|| words.next()?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no count for {table} in {raw}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_moves_to_postgres_and_back_with_every_row_and_refuses_a_full_target() {
    let app = TestApp::spawn_on_system_clock(|_| {}).await;
    if app.postgres.is_some() {
        // The suite's PostgreSQL pass: the copy's source must be SQLite here.
        return;
    }
    app.newsroom(&["ann@example.org", "bob@example.org"]).await;
    app.run(&["subscriber", "add", "cat@example.org", "--list", "daily"])
        .await
        .ok();
    app.run(&["digest", "send", "--list", "daily"]).await.ok();
    // The newest reader is erased: their id must name nobody else, on either side of the copy.
    let erased_id: i64 = sqlx::query_scalar("SELECT MAX(id) FROM subscribers")
        .fetch_one(&app.app.pool)
        .await
        .expect("id");
    let forgot = app.run(&["subscriber", "forget", "cat@example.org"]).await;
    assert_eq!(forgot.exit_code(), 0, "{}", forgot.stderr);
    let sqlite = app.app.settings.database.url.clone();
    let postgres = TestDatabase::create().await;
    let dir = app.dir.path();

    let there = herald(
        dir,
        &["--database", &sqlite, "db", "copy", "--to", &postgres.url],
    );
    assert!(there.status.success(), "{}", stderr(&there));
    let copied = stdout(&there);
    assert_eq!(count(&copied, "subscribers"), 2);
    assert_eq!(count(&copied, "deliveries"), 2);
    assert!(copied.contains("row count checked"), "{copied}");

    // The copy is a working install: it shows the same edition and takes new rows.
    let status = herald(
        dir,
        &["--json", "--database", &postgres.url, "digest", "status"],
    );
    let status: serde_json::Value = serde_json::from_str(&stdout(&status)).expect("json");
    assert_eq!(status[0]["sent"], 2);
    let added = herald(
        dir,
        &[
            "--database",
            &postgres.url,
            "subscriber",
            "add",
            "dan@example.org",
            "--list",
            "daily",
        ],
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let dan_id: i64 = {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(&postgres.url)
            .await
            .expect("connect");
        sqlx::query_scalar("SELECT id FROM subscribers WHERE email = 'dan@example.org'")
            .fetch_one(&mut connection)
            .await
            .expect("dan")
    };
    assert!(
        dan_id > erased_id,
        "PostgreSQL reused id {dan_id} (erased: {erased_id})"
    );

    let again = herald(
        dir,
        &["--database", &sqlite, "db", "copy", "--to", &postgres.url],
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("not empty"), "{}", stderr(&again));

    // Erased on PostgreSQL too: the copy home must still never hand out dan's id.
    let forgot = herald(
        dir,
        &[
            "--database",
            &postgres.url,
            "subscriber",
            "forget",
            "dan@example.org",
        ],
    );
    assert!(forgot.status.success(), "{}", stderr(&forgot));

    let back = dir.join("back.db");
    let back_url = format!("sqlite://{}", back.display());
    let home = herald(
        dir,
        &["--database", &postgres.url, "db", "copy", "--to", &back_url],
    );
    assert!(home.status.success(), "{}", stderr(&home));
    assert_eq!(count(&stdout(&home), "subscribers"), 2);
    let added = herald(
        dir,
        &[
            "--database",
            &back_url,
            "subscriber",
            "add",
            "eve@example.org",
            "--list",
            "daily",
        ],
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let listed = herald(
        dir,
        &[
            "--json",
            "--database",
            &back_url,
            "subscriber",
            "ls",
            "--list",
            "daily",
        ],
    );
    let listed: serde_json::Value = serde_json::from_str(&stdout(&listed)).expect("json");
    assert_eq!(listed.as_array().expect("array").len(), 3);
    let eve_id: i64 = {
        use sqlx::Connection;
        let mut connection = sqlx::SqliteConnection::connect(&back_url)
            .await
            .expect("back");
        sqlx::query_scalar("SELECT id FROM subscribers WHERE email = 'eve@example.org'")
            .fetch_one(&mut connection)
            .await
            .expect("eve")
    };
    assert!(
        eve_id > dan_id,
        "SQLite reused id {eve_id} (erased: {dan_id})"
    );
}

#[test]
fn an_unreachable_postgres_server_is_named_at_once_without_its_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = "postgres://herald:hunter2secret@127.0.0.1:1/herald";
    let started = std::time::Instant::now();
    let output = herald(dir.path(), &["--database", url, "list", "ls"]);
    let said = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(said.contains("cannot connect to PostgreSQL"), "{said}");
    assert!(said.contains("Connection refused"), "{said}");
    assert!(
        !said.contains("hunter2secret"),
        "the password was echoed: {said}"
    );
}
