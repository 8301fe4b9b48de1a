use crate::helpers::TestApp;

#[tokio::test]
async fn a_list_is_created_with_settings_defaults_and_shown() {
    let app = TestApp::spawn().await;

    app.run(&[
        "list",
        "add",
        "morning",
        "--title",
        "Morning Briefing",
        "--timezone",
        "Europe/Berlin",
    ])
    .await
    .ok();

    let shown = app.run(&["--json", "list", "show", "morning"]).await.json();
    assert_eq!(shown["slug"], "morning");
    assert_eq!(shown["title"], "Morning Briefing");
    assert_eq!(shown["schedule"], "0 7 * * *");
    assert_eq!(shown["timezone"], "Europe/Berlin");
    assert_eq!(shown["max_stories"], 10);
    assert_eq!(shown["subscribers"]["active"], 0);
}

#[tokio::test]
async fn list_ls_json_has_the_contract_fields() {
    let app = TestApp::spawn().await;
    app.run(&[
        "list",
        "add",
        "b-list",
        "--schedule",
        "30 6 * * 1-5",
        "--max-stories",
        "5",
    ])
    .await
    .ok();
    app.run(&["list", "add", "a-list"]).await.ok();

    let lists = app.run(&["--json", "list", "ls"]).await.json();

    let lists = lists.as_array().expect("array");
    assert_eq!(lists.len(), 2);
    assert_eq!(lists[0]["slug"], "a-list");
    assert_eq!(lists[0]["title"], "a-list");
    assert_eq!(lists[1]["schedule"], "30 6 * * 1-5");
    assert_eq!(lists[1]["timezone"], "UTC");
    let text = app.run(&["list", "ls"]).await.ok();
    assert!(
        text.contains("a-list") && text.contains("30 6 * * 1-5"),
        "{text}"
    );
}

#[tokio::test]
async fn list_set_changes_only_the_given_fields() {
    let app = TestApp::spawn().await;
    app.run(&["list", "add", "daily", "--title", "Daily"])
        .await
        .ok();

    app.run(&[
        "list",
        "set",
        "daily",
        "--schedule",
        "0 18 * * *",
        "--timezone",
        "America/New_York",
    ])
    .await
    .ok();

    let shown = app.run(&["--json", "list", "show", "daily"]).await.json();
    assert_eq!(shown["title"], "Daily");
    assert_eq!(shown["schedule"], "0 18 * * *");
    assert_eq!(shown["timezone"], "America/New_York");
}

#[tokio::test]
async fn list_rm_deletes_the_list_and_its_subscriptions() {
    let app = TestApp::spawn().await;
    app.add_list("gone").await;
    app.add_confirmed("a@example.org", "gone").await;

    app.run(&["list", "rm", "gone"]).await.ok();

    let missing = app.run(&["list", "show", "gone"]).await;
    assert_eq!(missing.exit_code(), 2);
    assert!(missing.error().contains("unknown list \"gone\""));
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM subscriptions")
        .fetch_one(&app.app.pool)
        .await
        .expect("count");
    assert_eq!(count, 0);
}

#[tokio::test]
async fn bad_list_input_is_refused_with_exit_2_naming_the_value() {
    let app = TestApp::spawn().await;
    app.add_list("taken").await;

    for (args, named) in [
        (vec!["list", "add", "Not A Slug"], "\"Not A Slug\""),
        (
            vec!["list", "add", "x", "--timezone", "Mars/Olympus_Mons"],
            "\"Mars/Olympus_Mons\"",
        ),
        (
            vec!["list", "add", "x", "--schedule", "0 7 * *"],
            "\"0 7 * *\"",
        ),
        (
            vec!["list", "add", "x", "--schedule", "99 7 * * *"],
            "\"99 7 * * *\"",
        ),
        (vec!["list", "add", "x", "--max-stories", "0"], "0"),
        (
            vec!["list", "add", "x", "--from", "not-an-address"],
            "\"not-an-address\"",
        ),
        (vec!["list", "add", "taken"], "\"taken\" already exists"),
        (
            vec!["list", "set", "nope", "--title", "X"],
            "unknown list \"nope\"",
        ),
        (
            vec!["list", "set", "taken", "--timezone", "Nowhere"],
            "\"Nowhere\"",
        ),
        (vec!["list", "rm", "nope"], "unknown list \"nope\""),
    ] {
        let run = app.run(&args).await;
        assert_eq!(run.exit_code(), 2, "{args:?}");
        assert!(run.error().contains(named), "{args:?}: {}", run.error());
    }
    let lists = app.run(&["--json", "list", "ls"]).await.json();
    assert_eq!(
        lists.as_array().expect("array").len(),
        1,
        "nothing but the first list stored"
    );
}
