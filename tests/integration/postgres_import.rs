//! The PostgreSQL import's own connections, beside the pool's. Always on PostgreSQL.

use std::time::{Duration, Instant};

use herald::App;

use crate::helpers::TestApp;
use crate::postgres_db::{admin, TestRole};

/// `herald subscriber import` opens two connections of its own besides its pool. A role whose
/// connection limit leaves it only one imports over that one, and stores every row.
#[tokio::test]
async fn an_import_at_the_connection_limit_works_over_the_connections_it_gets() {
    let owner = TestApp::spawn_on_postgres(|_| {}).await;
    owner.add_list("news").await;
    let rows: String = (0..5_000)
        .map(|i| format!("reader{i}@example.org\n"))
        .collect();
    let file = owner.write_file("readers.csv", format!("email\n{rows}").as_bytes());
    let role = TestRole::create().await;
    let database = owner.postgres.as_ref().expect("a PostgreSQL database");
    let mut settings = owner.app.settings.clone();
    settings.database.url = role.url(database);
    let limited = TestApp {
        app: App::build(settings).await.expect("app builds"),
        dir: tempfile::tempdir().expect("temp dir"),
        postgres: None,
    };

    // Room for exactly one more connection than the role's pool holds now (once the connection
    // that checked the server before the pool has gone).
    let mut admin = admin().await;
    let held = limited.app.pool.size();
    let started = Instant::now();
    loop {
        let open: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE usename = $1")
                .bind(&role.name)
                .fetch_one(&mut admin)
                .await
                .expect("connections");
        if open == i64::from(held) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{open} connections, pool {held}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    role.limit_connections(held + 1).await;

    let run = limited
        .run(&["subscriber", "import", &file, "--list", "news"])
        .await;

    assert!(
        run.stdout
            .contains("5000 rows: 5000 stored, 0 unchanged, 0 rejected"),
        "{}{}",
        run.stdout,
        run.error()
    );
}
