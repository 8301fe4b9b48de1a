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

async fn admin() -> PgConnection {
    let url = format!("{}/postgres", server_url());
    PgConnection::connect(&url).await.unwrap_or_else(|error| {
        panic!(
            "no PostgreSQL server at {url}: {error}\n\
             start one, or set HERALD_TEST_POSTGRES to a server this user may create databases on"
        )
    })
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime: drop the database from a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let mut admin = admin().await;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("could not drop test database {}: {error}", self.name);
        }
    }
}
