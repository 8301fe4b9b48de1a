use crate::helpers::TestApp;

async fn statuses(app: &TestApp, list: &str) -> Vec<(String, String, String)> {
    let all = serde_json::Value::Array(app.subscribers(list, None).await);
    all.as_array()
        .expect("array")
        .iter()
        .map(|row| {
            (
                row["email"].as_str().expect("email").to_string(),
                row["name"].as_str().unwrap_or_default().to_string(),
                row["status"].as_str().expect("status").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn import_reads_columns_in_any_order_with_quoted_fields_and_ignores_unknown_ones() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;
    let file = app.write_file(
        "people.csv",
        b"source,Name,EMAIL\nweb,\"Lovelace, Ada\",ada@example.org\nshop,\"Grace \"\"Amazing\"\" Hopper\",grace@example.org\n",
    );

    let out = app
        .run(&["subscriber", "import", &file, "--list", "news"])
        .await
        .ok();

    assert!(
        out.contains("2 rows: 2 stored, 0 unchanged, 0 rejected"),
        "{out}"
    );
    assert_eq!(
        statuses(&app, "news").await,
        vec![
            (
                "ada@example.org".into(),
                "Lovelace, Ada".into(),
                "pending".into()
            ),
            (
                "grace@example.org".into(),
                "Grace \"Amazing\" Hopper".into(),
                "pending".into()
            ),
        ]
    );
}

#[tokio::test]
async fn confirmed_import_makes_rows_active_with_consent_source_import() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;
    let file = app.write_file("people.csv", b"email\na@example.org\n");

    app.run(&[
        "subscriber",
        "import",
        &file,
        "--list",
        "news",
        "--confirmed",
    ])
    .await
    .ok();

    let exported = app
        .run(&["subscriber", "export", "--list", "news"])
        .await
        .ok();
    assert!(
        exported.contains("a@example.org,,active,import,"),
        "{exported}"
    );
}

#[tokio::test]
async fn rejected_rows_are_reported_with_file_and_line_while_valid_rows_are_kept() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;
    let mut csv = b"email,name\n".to_vec();
    csv.extend_from_slice(b"good@example.org,Good\n"); // line 2
    csv.extend_from_slice(b",No Address\n"); // line 3
    csv.extend_from_slice(b"two@@example.org,Two Ats\n"); // line 4
    csv.extend_from_slice(b"GOOD@Example.org,Shouting\n"); // line 5: duplicate of line 2
    csv.extend_from_slice(b"caf\xe9@example.org,Latin-1\n"); // line 6: not UTF-8
    csv.extend_from_slice(b"also.good@example.org,\"Also\nGood\"\n"); // lines 7-8
    csv.extend_from_slice(b"last@example.org\n"); // line 9: short row, no name
    let file = app.write_file("mixed.csv", &csv);

    let run = app
        .run(&["subscriber", "import", &file, "--list", "news"])
        .await;

    assert_eq!(run.exit_code(), 2);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{}", run.stderr);
    assert!(
        lines[0].starts_with(&format!("{file}:3: no email address")),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(&format!(
            "{file}:4: invalid email address \"two@@example.org\""
        )),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(&format!(
            "{file}:5: duplicate address good@example.org (first seen on line 2)"
        )),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with(&format!(
            "{file}:6: the email column is not valid UTF-8: \"caf\u{fffd}@example.org\""
        )),
        "{}",
        lines[3]
    );
    assert!(
        run.stdout
            .contains("7 rows: 3 stored, 0 unchanged, 4 rejected"),
        "{}",
        run.stdout
    );
    let stored: Vec<String> = statuses(&app, "news")
        .await
        .into_iter()
        .map(|(email, _, _)| email)
        .collect();
    assert_eq!(
        stored,
        vec![
            "also.good@example.org",
            "good@example.org",
            "last@example.org"
        ]
    );
}

#[tokio::test]
async fn importing_the_same_file_twice_changes_nothing() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;
    let rows: String = (0..12_000)
        .map(|i| format!("reader{i}@example.org,Reader {i}\n"))
        .collect();
    let file = app.write_file("big.csv", format!("email,name\n{rows}").as_bytes());

    let first = app
        .run(&["--json", "subscriber", "import", &file, "--list", "news"])
        .await
        .json();
    let before = app
        .run(&["subscriber", "export", "--list", "news"])
        .await
        .ok();
    let second = app
        .run(&["--json", "subscriber", "import", &file, "--list", "news"])
        .await
        .json();
    let after = app
        .run(&["subscriber", "export", "--list", "news"])
        .await
        .ok();

    assert_eq!(first["stored"], 12_000);
    assert_eq!(second["stored"], 0);
    assert_eq!(second["unchanged"], 12_000);
    assert_eq!(before, after);
}

#[tokio::test]
async fn repeats_are_found_however_far_apart_across_batches_and_the_first_line_wins() {
    // Four rows more than a batch holds, so the file is stored in two batches (and on
    // PostgreSQL each batch over two connections).
    let app = TestApp::spawn().await;
    app.add_list("news").await;
    let mut rows: String = (0..100_000)
        .map(|i| format!("reader{i}@example.org\n"))
        .collect();
    rows.push_str(
        "Reader7@EXAMPLE.org\nlate@example.org\nreader99999@example.org\nLATE@example.org\n",
    );
    let file = app.write_file("batches.csv", format!("email\n{rows}").as_bytes());

    let run = app
        .run(&["subscriber", "import", &file, "--list", "news"])
        .await;

    assert_eq!(run.exit_code(), 2);
    assert!(
        run.stdout
            .contains("100004 rows: 100001 stored, 0 unchanged, 3 rejected"),
        "{}",
        run.stdout
    );
    let reported: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.contains("duplicate address"))
        .collect();
    assert_eq!(reported.len(), 3, "{}", run.stderr);
    for (line, expected) in reported.iter().zip([
        ":100002: duplicate address reader7@example.org (first seen on line 9)",
        ":100004: duplicate address reader99999@example.org (first seen on line 100001)",
        ":100005: duplicate address late@example.org (first seen on line 100003)",
    ]) {
        assert!(line.ends_with(expected), "{line}");
    }
    let exported = app
        .run(&["subscriber", "export", "--list", "news"])
        .await
        .ok();
    assert_eq!(exported.lines().count(), 1 + 100_001);
}

#[tokio::test]
async fn a_plain_import_never_resubscribes_someone_who_left() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;
    app.add_confirmed("left@example.org", "news").await;
    app.run(&[
        "subscriber",
        "unsubscribe",
        "left@example.org",
        "--list",
        "news",
    ])
    .await
    .ok();
    let file = app.write_file("people.csv", b"email\nleft@example.org\n");

    app.run(&[
        "subscriber",
        "import",
        &file,
        "--list",
        "news",
        "--confirmed",
    ])
    .await
    .ok();

    assert_eq!(statuses(&app, "news").await[0].2, "unsubscribed");
}

#[tokio::test]
async fn a_file_without_an_email_column_is_refused_and_stores_nothing() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;
    let file = app.write_file("wrong.csv", b"mail,name\na@example.org,A\n");

    let run = app
        .run(&["subscriber", "import", &file, "--list", "news"])
        .await;

    assert_eq!(run.exit_code(), 2);
    assert!(
        run.error()
            .contains(&format!("{file}:1: the header row has no \"email\" column")),
        "{}",
        run.error()
    );
    assert!(statuses(&app, "news").await.is_empty());
}

#[tokio::test]
async fn import_refuses_a_missing_file_and_an_unknown_list() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;
    let file = app.write_file("ok.csv", b"email\na@example.org\n");

    let missing = app
        .run(&[
            "subscriber",
            "import",
            "/nonexistent/people.csv",
            "--list",
            "news",
        ])
        .await;
    let unknown = app
        .run(&["subscriber", "import", &file, "--list", "nope"])
        .await;

    assert_eq!(missing.exit_code(), 2);
    assert!(missing.error().contains("/nonexistent/people.csv"));
    assert_eq!(unknown.exit_code(), 2);
    assert!(unknown.error().contains("\"nope\""));
}

#[tokio::test]
async fn exported_names_are_never_live_spreadsheet_formulas_and_reimport_unchanged() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;
    app.add_list("copy").await;
    let formula = "=HYPERLINK(\"https://evil.example\",\"Click\")";
    app.run(&[
        "subscriber",
        "add",
        "mallory@example.org",
        "--list",
        "news",
        "--name",
        formula,
    ])
    .await
    .ok();

    let exported = app
        .run(&["subscriber", "export", "--list", "news"])
        .await
        .ok();
    let file = app.write_file("export.csv", exported.as_bytes());
    app.run(&["subscriber", "import", &file, "--list", "copy"])
        .await
        .ok();

    let cell = exported.lines().nth(1).expect("a row");
    assert!(
        cell.starts_with("mallory@example.org,\"'=HYPERLINK"),
        "the name starts with an apostrophe: {cell}"
    );
    assert_eq!(
        statuses(&app, "copy").await[0].1,
        formula,
        "importing the export gives the name back as it was"
    );
}

#[tokio::test]
async fn a_stray_quote_never_swallows_the_rows_after_it() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;
    let file = app.write_file(
        "stray.csv",
        b"email,name\n\"ada@example.org,Ada\nbob@example.org,Bob\ncarol@example.org,\"Carol\"\ndan@example.org,Dan\n",
    );

    let run = app
        .run(&["subscriber", "import", &file, "--list", "news"])
        .await;

    assert_eq!(run.exit_code(), 2);
    assert!(
        run.stderr.starts_with(&format!(
            "{file}:2: a quote (\") is opened and never closed"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains("4 rows: 3 stored, 0 unchanged, 1 rejected"),
        "{}",
        run.stdout
    );
    let stored = statuses(&app, "news").await;
    let names: Vec<(&str, &str)> = stored
        .iter()
        .map(|(email, name, _)| (email.as_str(), name.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("bob@example.org", "Bob"),
            ("carol@example.org", "Carol"),
            ("dan@example.org", "Dan"),
        ],
        "nobody holds another person's address as a name"
    );
}

#[tokio::test]
async fn in_a_large_file_one_stray_quote_costs_one_reported_row() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;
    let mut csv = String::from("email,name\n");
    for i in 0..3000 {
        if i == 1000 {
            csv.push_str(&format!("reader{i}@example.org,\"Reader {i}\n"));
        } else {
            csv.push_str(&format!("reader{i}@example.org,Reader {i}\n"));
        }
    }
    let file = app.write_file("large.csv", csv.as_bytes());

    let run = app
        .run(&["subscriber", "import", &file, "--list", "news"])
        .await;

    assert!(
        run.stdout
            .contains("3000 rows: 2999 stored, 0 unchanged, 1 rejected"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!("{file}:1002:")),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_line_without_end_is_refused_briefly_and_the_rest_is_kept() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;
    let mut csv = b"email,name\nada@example.org,Ada\n".to_vec();
    csv.extend(std::iter::repeat_n(b'x', 5_000_000));
    csv.extend_from_slice(b"\nbob@example.org,Bob\n");
    let file = app.write_file("long.csv", &csv);

    let run = app
        .run(&["subscriber", "import", &file, "--list", "news"])
        .await;

    assert_eq!(run.exit_code(), 2);
    assert!(
        run.stderr.len() < 500,
        "a short report: {} bytes",
        run.stderr.len()
    );
    assert!(
        run.stderr.contains(":3: the line is longer than"),
        "{}",
        run.stderr
    );
    assert_eq!(statuses(&app, "news").await.len(), 2);
}

#[tokio::test]
async fn an_export_imported_into_another_database_keeps_who_left_as_left() {
    let old = TestApp::spawn().await;
    old.add_list("news").await;
    for email in ["stays@example.org", "left@example.org", "gone@example.org"] {
        old.add_confirmed(email, "news").await;
    }
    old.run(&[
        "subscriber",
        "unsubscribe",
        "left@example.org",
        "--list",
        "news",
    ])
    .await
    .ok();
    sqlx::query("UPDATE subscriptions SET status = 'bounced' WHERE subscriber_id = (SELECT id FROM subscribers WHERE email = 'gone@example.org')")
        .execute(&old.app.pool)
        .await
        .expect("bounce");
    let exported = old
        .run(&["subscriber", "export", "--list", "news"])
        .await
        .ok();

    let new = TestApp::spawn().await;
    new.add_list("news").await;
    let file = new.write_file("export.csv", exported.as_bytes());
    new.run(&[
        "subscriber",
        "import",
        &file,
        "--list",
        "news",
        "--confirmed",
    ])
    .await
    .ok();

    let statuses: Vec<(String, String)> = statuses(&new, "news")
        .await
        .into_iter()
        .map(|(email, _, status)| (email, status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("gone@example.org".into(), "bounced".into()),
            ("left@example.org".into(), "unsubscribed".into()),
            ("stays@example.org".into(), "active".into()),
        ]
    );
}

#[tokio::test]
async fn one_batch_of_new_and_known_readers_subscribes_confirms_and_names_each_once() {
    let app = TestApp::spawn().await;
    app.add_list("news").await;
    app.add_list("sports").await;
    // Known before the import: on another list without a name, pending on this one, and
    // active here under a name of their own.
    app.add_confirmed("elsewhere@example.org", "sports").await;
    app.run(&["subscriber", "add", "pending@example.org", "--list", "news"])
        .await
        .ok();
    app.run(&[
        "subscriber",
        "add",
        "named@example.org",
        "--list",
        "news",
        "--name",
        "Their Own",
        "--confirmed",
    ])
    .await
    .ok();
    let file = app.write_file(
        "mixed.csv",
        b"email,name\nnew@example.org,New\nelsewhere@example.org,Else\n\
          pending@example.org,Pending\nnamed@example.org,From File\n",
    );

    let summary = app
        .run(&[
            "--json",
            "subscriber",
            "import",
            &file,
            "--list",
            "news",
            "--confirmed",
        ])
        .await
        .json();

    // Added: new and elsewhere; confirmed: pending; named was already active.
    assert_eq!(summary["stored"], 3, "{summary}");
    assert_eq!(summary["unchanged"], 1, "{summary}");
    let row = |email: &str, name: &str| (email.to_string(), name.to_string(), "active".to_string());
    assert_eq!(
        statuses(&app, "news").await,
        [
            row("elsewhere@example.org", "Else"),
            row("named@example.org", "Their Own"),
            row("new@example.org", "New"),
            row("pending@example.org", "Pending"),
        ]
    );
    assert_eq!(
        statuses(&app, "sports").await,
        [row("elsewhere@example.org", "Else")]
    );
}
