//! A PostgreSQL database of a test's own on the machine's server, dropped when the test ends.
//! The server is found at `HERALD_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432`).

use sqlx::{Connection, PgConnection};

/// The server's URL without a database.
pub fn server_url() -> String {
    std::env::var("HERALD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// Whether the suite's `TestApp`s run on PostgreSQL (`HERALD_TEST_DATABASE=postgres`).
pub fn selected() -> bool {
    std::env::var("HERALD_TEST_DATABASE").is_ok_and(|backend| backend == "postgres")
}

pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let name = format!("herald_test_{:016x}", rand::random::<u64>());
        let mut admin = admin().await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|error| panic!("creating database {name}: {error}"));
        admin.close().await.ok();
        let url = format!("{}/{name}", server_url());
        Self { name, url }
    }
}

pub async fn admin() -> PgConnection {
    let url = format!("{}/postgres", server_url());
    PgConnection::connect(&url).await.unwrap_or_else(|error| {
        panic!(
            "no PostgreSQL server at {url}: {error}\n\
             start one, or set HERALD_TEST_POSTGRES to a server on which this user may create databases and roles"
        )
    })
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = &self.name;
        admin_from_drop(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), name);
    }
}

/// A login role of a test's own, no superuser (so connection limits hold for it), that has the
/// rights of the server's admin role on every object; dropped when the test ends.
pub struct TestRole {
    pub name: String,
}

impl TestRole {
    pub async fn create() -> Self {
        let name = format!("herald_role_{:016x}", rand::random::<u64>());
        let mut admin = admin().await;
        let admin_role: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&mut admin)
            .await
            .expect("admin role");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE ROLE {name} LOGIN IN ROLE {admin_role}"
        )))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|error| panic!("creating role {name}: {error}"));
        admin.close().await.ok();
        Self { name }
    }

    /// Lets the role hold at most `connections` connections at once (new ones are refused).
    pub async fn limit_connections(&self, connections: u32) {
        let mut admin = admin().await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER ROLE {} CONNECTION LIMIT {connections}",
            self.name
        )))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|error| panic!("limiting role {}: {error}", self.name));
        admin.close().await.ok();
    }

    /// `database`'s URL, connecting as this role.
    pub fn url(&self, database: &TestDatabase) -> String {
        let mut url = url::Url::parse(&database.url).expect("database URL");
        url.set_username(&self.name).expect("a user name");
        url.set_password(None).expect("no password");
        url.to_string()
    }
}

impl Drop for TestRole {
    fn drop(&mut self) {
        // The role's sessions drop their temporary tables (the import's staging tables) as
        // they end, which the server finishes after the client has gone: until then those
        // tables keep the role from being dropped, so it is tried again for a while.
        let name = &self.name;
        admin_from_drop(format!("DROP ROLE IF EXISTS {name}"), name);
    }
}

/// Runs one admin statement from a `Drop`, which runs inside the test's runtime: from a thread
/// of its own. A failing statement is tried again for up to 10 s (a role whose ended sessions'
/// temporary tables are still being dropped, a database still being connected to).
fn admin_from_drop(statement: String, what: &str) {
    let done = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let mut admin = admin().await;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                let result = sqlx::query(sqlx::AssertSqlSafe(statement.as_str()))
                    .execute(&mut admin)
                    .await;
                if result.is_ok() || std::time::Instant::now() > deadline {
                    return result;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        })
    })
    .join();
    if let Ok(Err(error)) = done {
        eprintln!("could not drop {what}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_on_postgresql_and_resumes() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().expect("temp dir");
    for run in ["first", "second"] {
        let output = crate::helpers::herald(dir.path(), &["demo", "--database", &database.url]);
        assert!(
            output.status.success(),
            "{run}: {}",
            crate::helpers::stderr(&output)
        );
    }
    let sent = std::fs::read_dir(dir.path().join("outbox"))
        .expect("outbox")
        .count();
    assert_eq!(sent, 3, "one .eml per confirmed sample subscriber, once");
}
