//! Several `herald serve` nodes on one PostgreSQL database share one edition: each reader gets
//! it once, and when a node dies mid-send the others take its rows over when its lease runs out.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use herald::digest::{self, Built};
use herald::domain::ListSlug;
use herald::store::lists;

use crate::crash::{herald_over_smtp, newsroom, wait_with_limit};
use crate::helpers::TestApp;
use crate::smtp::RealSmtp;

const READERS: usize = 20_000;
const LEASE_SECS: &str = "3";

/// A 20,000-reader edition, built and waiting to be sent, on a PostgreSQL database.
async fn waiting_edition(server: &RealSmtp) -> (TestApp, i64) {
    let app = TestApp::spawn_on_postgres(|s| crate::helpers::smtp_settings(s, server.port)).await;
    newsroom(&app, READERS).await;
    let slug = ListSlug::parse("daily").expect("slug");
    let list = lists::find(&app.app.pool, &slug)
        .await
        .expect("list")
        .expect("list exists");
    let built = digest::build_edition(&app.app.pool, &app.app.settings, &list, app.app.clock.now())
        .await
        .expect("edition builds");
    let Built::Created { edition_id, .. } = built else {
        panic!("edition not created: {built:?}")
    };
    (app, edition_id)
}

/// A node process, killed if the test ends without stopping it.
struct Node(Option<Child>);

impl Node {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("running")
    }

    /// SIGTERM, and the node must be gone within 15 s.
    fn stop(mut self) {
        let mut child = self.0.take().expect("running");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        if wait_with_limit(&mut child, Duration::from_secs(15)).is_none() {
            let _ = child.kill();
            panic!("a node did not stop within 15 s of SIGTERM");
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `herald serve` as node `name`: at start it takes up the unfinished edition.
fn node(app: &TestApp, name: &str, smtp_port: u16) -> Node {
    let web = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    let bind = web.local_addr().expect("addr").to_string();
    drop(web);
    herald_over_smtp(app, smtp_port, 10, 4)
        .env("HERALD__DATABASE__NODE", name)
        .env("HERALD__DATABASE__LEASE_SECS", LEASE_SECS)
        .env("HERALD__WEB__BIND", &bind)
        .args(["serve"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(
            std::fs::File::create(app.dir.path().join(format!("node-{name}.log"))).expect("log"),
        )
        .spawn()
        .map(|child| Node(Some(child)))
        .expect("herald serve starts")
}

async fn unfinished(app: &TestApp, edition_id: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM deliveries
         WHERE edition_id = $1 AND status IN ('pending', 'sending', 'retry', 'deferred')",
    )
    .bind(edition_id)
    .fetch_one(&app.app.pool)
    .await
    .expect("count")
}

async fn wait_until_finished(app: &TestApp, edition_id: i64, limit: Duration) {
    let started = Instant::now();
    while unfinished(app, edition_id).await > 0 {
        assert!(
            started.elapsed() < limit,
            "the edition was not finished within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn tally(server: &RealSmtp) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for recipient in server.recipients() {
        *counts.entry(recipient).or_default() += 1;
    }
    counts
}

/// Rows each node sent, by node name (the claimant's name before its process id), as
/// `digest status --json` shows them.
async fn sent_by_node(app: &TestApp) -> HashMap<String, i64> {
    let status = app.run(&["--json", "digest", "status"]).await.json();
    let mut by_node = HashMap::new();
    for row in status[0]["nodes"].as_array().expect("nodes") {
        let claimant = row["node"].as_str().expect("node");
        let node = claimant.split(':').next().unwrap_or_default().to_string();
        *by_node.entry(node).or_default() += row["sent"].as_i64().expect("sent");
    }
    by_node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_database_send_an_edition_to_each_reader_once() {
    let server = RealSmtp::start();
    let (app, edition_id) = waiting_edition(&server).await;

    let alpha = node(&app, "alpha", server.port);
    let beta = node(&app, "beta", server.port);
    wait_until_finished(&app, edition_id, Duration::from_secs(300)).await;
    alpha.stop();
    beta.stop();

    let counts = tally(&server);
    assert_eq!(counts.len(), READERS, "every reader got the edition");
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "mailed twice: {:?}",
        &repeated[..repeated.len().min(5)]
    );
    let shares = sent_by_node(&app).await;
    assert_eq!(shares.values().sum::<i64>(), READERS as i64, "{shares:?}");
    assert!(
        shares.get("alpha").is_some_and(|n| *n > 0) && shares.get("beta").is_some_and(|n| *n > 0),
        "both nodes sent part of the edition: {shares:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_send_leaves_its_rows_to_the_other_and_nobody_is_missed() {
    let server = RealSmtp::start();
    let (app, edition_id) = waiting_edition(&server).await;

    let mut alpha = node(&app, "alpha", server.port);
    let beta = node(&app, "beta", server.port);
    server.wait_for(READERS / 4, Duration::from_secs(120));
    alpha.child().kill().expect("SIGKILL");
    alpha.child().wait().expect("reaped");
    // What the dead node held: claimed, perhaps accepted by the server, not recorded as sent.
    let in_flight: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM deliveries
         WHERE edition_id = $1 AND status = 'sending' AND claimed_by LIKE 'alpha:%'",
    )
    .bind(edition_id)
    .fetch_one(&app.app.pool)
    .await
    .expect("in flight");
    assert!(server.count() < READERS, "alpha was killed mid-send");
    assert!(in_flight > 0, "alpha held rows when it died");

    wait_until_finished(&app, edition_id, Duration::from_secs(300)).await;
    beta.stop();

    let counts = tally(&server);
    assert_eq!(counts.len(), READERS, "nobody missed the edition");
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    eprintln!("alpha held {in_flight} rows when it died; {duplicates} reader(s) got a duplicate");
    assert!(
        duplicates as i64 <= in_flight,
        "{duplicates} duplicates, more than the {in_flight} rows the dead node held"
    );
    assert!(
        counts.values().all(|n| *n <= 2),
        "nobody gets the edition more than twice"
    );
}

/// Right after an enqueue PostgreSQL's statistics still describe the table before it: its
/// claims would then sort every remaining row of the edition for each few rows they take. The
/// build refreshes them, which the row count the planner knows shows.
#[tokio::test]
async fn building_an_edition_gives_the_planner_its_rows() {
    let app = TestApp::spawn_on_postgres(|_| {}).await;
    newsroom(&app, 300).await;
    let slug = ListSlug::parse("daily").expect("slug");
    let list = lists::find(&app.app.pool, &slug)
        .await
        .expect("list")
        .expect("list exists");
    let planned_rows = || async {
        sqlx::query_scalar::<_, f32>("SELECT reltuples FROM pg_class WHERE relname = 'deliveries'")
            .fetch_one(&app.app.pool)
            .await
            .expect("pg_class")
    };
    assert!(
        planned_rows().await < 1.0,
        "a new table has no statistics yet"
    );
    digest::build_edition(&app.app.pool, &app.app.settings, &list, app.app.clock.now())
        .await
        .expect("edition builds");
    assert_eq!(planned_rows().await, 300.0);
}

/// Addresses compare byte by byte on PostgreSQL as on SQLite: the database's locale collation
/// would make every comparison in the address index a strcoll() call (and listings order
/// differently from SQLite). The newsroom's import joins its staging tables to `subscribers` by
/// address, which needs one collation on both sides: every reader it imported is stored.
#[tokio::test]
async fn addresses_are_compared_byte_by_byte() {
    let app = TestApp::spawn_on_postgres(|_| {}).await;
    newsroom(&app, 20).await;
    let collations: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT table_name::text, collation_name::text FROM information_schema.columns
         WHERE (table_name, column_name) IN (('subscribers', 'email'), ('bounce_reports', 'recipient'))
         ORDER BY table_name",
    )
    .fetch_all(&app.app.pool)
    .await
    .expect("columns");
    assert_eq!(
        collations,
        vec![
            ("bounce_reports".to_string(), Some("C".to_string())),
            ("subscribers".to_string(), Some("C".to_string())),
        ]
    );
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM subscribers")
        .fetch_one(&app.app.pool)
        .await
        .expect("count");
    assert_eq!(stored, 20);
}
