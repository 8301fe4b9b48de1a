use crate::helpers::TestApp;

#[tokio::test]
async fn subscribers_are_pending_until_confirmed() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;

    app.run(&[
        "subscriber",
        "add",
        "pending@example.org",
        "--list",
        "news",
        "--name",
        "Pat",
    ])
    .await
    .ok();
    app.add_confirmed("active@example.org", "news").await;

    let all = serde_json::Value::Array(app.subscribers("news", None).await);
    let all = all.as_array().expect("array");
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["email"], "active@example.org");
    assert_eq!(all[0]["status"], "active");
    assert_eq!(all[1]["email"], "pending@example.org");
    assert_eq!(all[1]["name"], "Pat");
    assert_eq!(all[1]["status"], "pending");
    let active = serde_json::Value::Array(app.subscribers("news", Some("active")).await);
    assert_eq!(active.as_array().expect("array").len(), 1);
}

#[tokio::test]
async fn addresses_are_unique_case_insensitively_and_stored_lower_case() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;

    app.run(&[
        "subscriber",
        "add",
        "Ada.Lovelace@Example.ORG",
        "--list",
        "news",
    ])
    .await
    .ok();
    let again = app
        .run(&[
            "subscriber",
            "add",
            "ada.lovelace@example.org",
            "--list",
            "news",
        ])
        .await
        .ok();

    assert!(again.contains("already on news"), "{again}");
    let all = serde_json::Value::Array(app.subscribers("news", None).await);
    assert_eq!(all.as_array().expect("array").len(), 1);
    assert_eq!(all[0]["email"], "ada.lovelace@example.org");
}

#[tokio::test]
async fn confirmed_add_confirms_a_pending_subscription_but_never_downgrades() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;
    app.run(&["subscriber", "add", "a@example.org", "--list", "news"])
        .await
        .ok();

    app.add_confirmed("a@example.org", "news").await;
    app.run(&["subscriber", "add", "a@example.org", "--list", "news"])
        .await
        .ok();

    let all = serde_json::Value::Array(app.subscribers("news", None).await);
    assert_eq!(all[0]["status"], "active");
}

#[tokio::test]
async fn unsubscribed_people_keep_their_status_and_show_in_ls() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;
    app.add_confirmed("a@example.org", "news").await;

    app.run(&[
        "subscriber",
        "unsubscribe",
        "A@example.org",
        "--list",
        "news",
    ])
    .await
    .ok();
    let twice = app
        .run(&[
            "subscriber",
            "unsubscribe",
            "a@example.org",
            "--list",
            "news",
        ])
        .await
        .ok();

    assert!(twice.contains("already unsubscribed"), "{twice}");
    let all = serde_json::Value::Array(app.subscribers("news", None).await);
    assert_eq!(all[0]["status"], "unsubscribed");
    let active = serde_json::Value::Array(app.subscribers("news", Some("active")).await);
    assert!(active.as_array().expect("array").is_empty());
}

#[tokio::test]
async fn forget_erases_the_person_from_every_list() {
    let app = TestApp::spawn().await;
    app.add_list("one").await;
    app.add_list("two").await;
    for list in ["one", "two"] {
        app.run(&[
            "subscriber",
            "add",
            "gone@example.org",
            "--list",
            list,
            "--name",
            "Gone",
        ])
        .await
        .ok();
        app.run(&["subscriber", "add", "stays@example.org", "--list", list])
            .await
            .ok();
    }

    let erased = app
        .run(&["--json", "subscriber", "forget", "Gone@Example.org"])
        .await
        .json();

    assert_eq!(erased["erased"], true);
    assert_eq!(erased["subscriptions"], 2);
    let people: Vec<String> = sqlx::query_scalar("SELECT email FROM subscribers")
        .fetch_all(&app.app.pool)
        .await
        .expect("query");
    assert_eq!(people, vec!["stays@example.org".to_string()]);
    let named: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM subscribers WHERE name = 'Gone'")
        .fetch_one(&app.app.pool)
        .await
        .expect("query");
    assert_eq!(named, 0);
    let again = app
        .run(&["subscriber", "forget", "gone@example.org"])
        .await
        .ok();
    assert!(again.contains("nothing stored"), "{again}");
}

#[tokio::test]
async fn export_writes_csv_with_the_contract_header() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;
    app.run(&[
        "subscriber",
        "add",
        "b@example.org",
        "--list",
        "news",
        "--name",
        "Smith, Bo",
        "--confirmed",
    ])
    .await
    .ok();
    app.run(&["subscriber", "add", "a@example.org", "--list", "news"])
        .await
        .ok();

    let all = app
        .run(&["subscriber", "export", "--list", "news"])
        .await
        .ok();
    let active = app
        .run(&[
            "subscriber",
            "export",
            "--list",
            "news",
            "--status",
            "active",
        ])
        .await
        .ok();

    let mut lines = all.lines();
    assert!(lines
        .next()
        .expect("header")
        .starts_with("email,name,status"));
    assert!(lines
        .next()
        .expect("row")
        .starts_with("a@example.org,,pending,cli,"));
    assert!(lines
        .next()
        .expect("row")
        .starts_with("b@example.org,\"Smith, Bo\",active,cli,"));
    assert_eq!(active.lines().count(), 2);
}

#[tokio::test]
async fn exported_csv_imports_back_unchanged() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;
    app.add_list("copy").await;
    app.run(&[
        "subscriber",
        "add",
        "b@example.org",
        "--list",
        "news",
        "--name",
        "Bo \"B\" Smith",
        "--confirmed",
    ])
    .await
    .ok();
    let exported = app
        .run(&["subscriber", "export", "--list", "news"])
        .await
        .ok();
    let file = app.write_file("export.csv", exported.as_bytes());

    app.run(&[
        "subscriber",
        "import",
        &file,
        "--list",
        "copy",
        "--confirmed",
    ])
    .await
    .ok();

    let copy = serde_json::Value::Array(app.subscribers("copy", None).await);
    assert_eq!(copy[0]["email"], "b@example.org");
    assert_eq!(copy[0]["name"], "Bo \"B\" Smith");
    assert_eq!(copy[0]["status"], "active");
}

#[tokio::test]
async fn bad_subscriber_input_is_refused_with_exit_2_naming_the_value() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;

    for (args, named) in [
        (
            vec!["subscriber", "add", "not-an-address", "--list", "news"],
            "\"not-an-address\"",
        ),
        (
            vec!["subscriber", "add", "a@@example.org", "--list", "news"],
            "\"a@@example.org\"",
        ),
        (
            vec!["subscriber", "add", "a@b@example.org", "--list", "news"],
            "more than one '@'",
        ),
        (
            vec!["subscriber", "add", "a@example.org", "--list", "nope"],
            "unknown list \"nope\"",
        ),
        (
            vec!["subscriber", "ls", "--list", "news", "--status", "gone"],
            "\"gone\"",
        ),
        (
            vec!["subscriber", "export", "--list", "nope"],
            "unknown list \"nope\"",
        ),
        (
            vec![
                "subscriber",
                "unsubscribe",
                "x@example.org",
                "--list",
                "news",
            ],
            "x@example.org",
        ),
        (
            vec!["subscriber", "forget", "bad address"],
            "\"bad address\"",
        ),
    ] {
        let run = app.run(&args).await;
        assert_eq!(run.exit_code(), 2, "{args:?}");
        assert!(run.error().contains(named), "{args:?}: {}", run.error());
    }
    let all = serde_json::Value::Array(app.subscribers("news", None).await);
    assert!(all.as_array().expect("array").is_empty());
}

#[tokio::test]
async fn an_internationalised_domain_is_one_subscriber_whichever_way_it_is_written() {
    let app = TestApp::spawn().await;
    app.add_list("daily").await;

    app.run(&[
        "subscriber",
        "add",
        "user@bücher.example",
        "--list",
        "daily",
    ])
    .await
    .ok();
    app.run(&[
        "subscriber",
        "add",
        "user@xn--bcher-kva.example",
        "--list",
        "daily",
    ])
    .await
    .ok();

    let rows = app.subscribers("daily", None).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["email"], "user@xn--bcher-kva.example");
}
