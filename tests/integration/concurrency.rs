//! Two processes writing at once (an import and an admin, or the CLI and the daemon) must both
//! succeed: write transactions take the lock up front and wait for each other.

use std::sync::Arc;

use herald::clock::FixedClock;
use herald::App;

use crate::helpers::{pinned_now, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_on_separate_connections_never_see_database_is_locked() {
    let first = TestApp::spawn().await;
    first.add_list("news").await;
    // A second App on the same file: its own pool, as a second process would have.
    let second = App::build_with_clock(
        first.app.settings.clone(),
        Arc::new(FixedClock(pinned_now())),
    )
    .await
    .expect("second app");
    let rows: String = (0..20_000)
        .map(|i| format!("bulk{i}@example.org\n"))
        .collect();
    let file = first.write_file("bulk.csv", format!("email\n{rows}").as_bytes());

    let import_args = [
        "subscriber",
        "import",
        &file,
        "--list",
        "news",
        "--confirmed",
    ];
    let import = first.run(&import_args);
    let admin = async {
        let second = TestApp {
            app: second,
            dir: tempfile::tempdir().expect("temp dir"),
            postgres: None,
        };
        for i in 0..40 {
            let email = format!("admin{i}@example.org");
            second.add_confirmed(&email, "news").await;
            if i % 10 == 0 {
                second
                    .run(&["subscriber", "unsubscribe", &email, "--list", "news"])
                    .await
                    .ok();
            }
        }
    };
    let (import, ()) = tokio::join!(import, admin);

    import.ok();
    let shown = first.run(&["--json", "list", "show", "news"]).await.json();
    assert_eq!(shown["subscribers"]["active"], 20_000 + 36);
    assert_eq!(shown["subscribers"]["unsubscribed"], 4);
}
