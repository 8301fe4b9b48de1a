use crate::helpers::TestApp;

#[tokio::test]
async fn story_add_upserts_by_url() {
    let app = TestApp::spawn().await;

    app.run(&[
        "story",
        "add",
        "--url",
        "https://news.example.org/a",
        "--title",
        "First take",
        "--summary",
        "Short.",
        "--section",
        "blog",
        "--author",
        "Kim",
        "--score",
        "3",
        "--published-at",
        "2026-11-27T20:00:00+01:00",
    ])
    .await
    .ok();
    let updated = app
        .run(&[
            "story",
            "add",
            "--url",
            "https://news.example.org/a",
            "--title",
            "Better take",
            "--score",
            "9",
        ])
        .await
        .ok();

    assert!(updated.contains("updated"), "{updated}");
    let stories = app.run(&["--json", "story", "ls"]).await.json();
    let stories = stories.as_array().expect("array");
    assert_eq!(stories.len(), 1);
    assert_eq!(stories[0]["url"], "https://news.example.org/a");
    assert_eq!(stories[0]["title"], "Better take");
    assert_eq!(stories[0]["section"], "blog");
    assert_eq!(stories[0]["score"], 9);
    assert_eq!(stories[0]["summary"], "Short.");
    assert_eq!(stories[0]["published_at"], "2026-11-27T19:00:00+00:00");
}

#[tokio::test]
async fn story_ls_since_filters_by_publish_time() {
    let app = TestApp::spawn().await;
    for (url, at) in [
        ("https://a.example/old", "2026-11-20T00:00:00Z"),
        ("https://a.example/new", "2026-11-28T05:00:00Z"),
    ] {
        app.run(&[
            "story",
            "add",
            "--url",
            url,
            "--title",
            "T",
            "--published-at",
            at,
        ])
        .await
        .ok();
    }
    app.run(&[
        "story",
        "add",
        "--url",
        "https://a.example/now",
        "--title",
        "Now",
    ])
    .await
    .ok();

    let recent = app
        .run(&["--json", "story", "ls", "--since", "2026-11-27T00:00:00Z"])
        .await
        .json();

    let urls: Vec<&str> = recent
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["url"].as_str().expect("url"))
        .collect();
    assert_eq!(urls, vec!["https://a.example/now", "https://a.example/new"]);
    assert_eq!(
        recent[0]["published_at"], "2026-11-28T06:00:00+00:00",
        "unstamped stories are published now"
    );
}

#[tokio::test]
async fn bad_story_input_is_refused_with_exit_2_naming_the_value() {
    let app = TestApp::spawn().await;

    for (args, named) in [
        (
            vec![
                "story",
                "add",
                "--url",
                "javascript:alert(1)",
                "--title",
                "X",
            ],
            "\"javascript:alert(1)\"",
        ),
        (
            vec!["story", "add", "--url", "ftp://a.example/x", "--title", "X"],
            "\"ftp://a.example/x\"",
        ),
        (
            vec![
                "story",
                "add",
                "--url",
                "https://a.example/",
                "--title",
                " \r\n ",
            ],
            "title",
        ),
        (
            vec![
                "story",
                "add",
                "--url",
                "https://a.example/",
                "--title",
                "X",
                "--section",
                "<b>",
            ],
            "\"<b>\"",
        ),
        (
            vec![
                "story",
                "add",
                "--url",
                "https://a.example/",
                "--title",
                "X",
                "--published-at",
                "yesterday",
            ],
            "\"yesterday\"",
        ),
        (
            vec![
                "story",
                "add",
                "--url",
                "https://a.example/",
                "--title",
                "X",
                "--image-url",
                "data:image/png;base64,AA",
            ],
            "data:image/png",
        ),
        (vec!["story", "ls", "--since", "last week"], "\"last week\""),
    ] {
        let run = app.run(&args).await;
        assert_eq!(run.exit_code(), 2, "{args:?}");
        assert!(run.error().contains(named), "{args:?}: {}", run.error());
    }
    let stories = app.run(&["--json", "story", "ls"]).await.json();
    assert!(stories.as_array().expect("array").is_empty());
}

#[tokio::test]
async fn story_import_reads_a_json_array() {
    let app = TestApp::spawn().await;
    let file = app.write_file(
        "stories.json",
        br#"[
            {"url": "https://a.example/1", "title": "One", "section": "news", "score": 5,
             "published_at": "2026-11-28T01:00:00Z", "author": "Ann", "summary": "S", "image_url": "https://a.example/1.png",
             "updated_at": "2026-11-28T02:00:00Z", "extra": "ignored"},
            {"url": "https://a.example/2", "title": "Two"}
        ]"#,
    );

    let report = app.run(&["--json", "story", "import", &file]).await.json();

    assert_eq!(report["inserted"], 2);
    let stories = app.run(&["--json", "story", "ls"]).await.json();
    let one = stories
        .as_array()
        .expect("array")
        .iter()
        .find(|s| s["url"] == "https://a.example/1")
        .expect("one");
    assert_eq!(one["author"], "Ann");
    assert_eq!(one["image_url"], "https://a.example/1.png");
    assert_eq!(one["updated_at"], "2026-11-28T02:00:00+00:00");
}

#[tokio::test]
async fn story_import_names_every_broken_json_line_and_stores_nothing_like_the_api() {
    let app = TestApp::spawn().await;
    let file = app.write_file(
        "stories.jsonl",
        concat!(
            "{\"url\": \"https://a.example/1\", \"title\": \"One\"}\n",
            "{\"url\": \"https://a.example/2\", \"title\": \n",
            "\n",
            "{\"url\": \"javascript:alert(1)\", \"title\": \"Evil\"}\n",
            "{\"title\": \"No link\"}\n",
            "{\"url\": \"https://a.example/5\"}\n",
            "{\"url\": \"https://a.example/1\", \"title\": \"One, updated\", \"score\": 7}\n",
        )
        .as_bytes(),
    );

    let run = app.run(&["story", "import", &file]).await;

    assert_eq!(run.exit_code(), 2);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{}", run.stderr);
    assert!(
        lines[0].starts_with(&format!("{file}:2: invalid JSON")),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(&format!("{file}:4: field \"url\""))
            && lines[1].contains("javascript:alert(1)"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(&format!("{file}:5: field \"url\" is missing")),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with(&format!("{file}:6: field \"title\" is missing")),
        "{}",
        lines[3]
    );
    assert!(
        run.stdout.contains("0 added, 0 updated, 4 rejected"),
        "{}",
        run.stdout
    );
    assert!(
        run.error().contains("nothing was stored"),
        "{}",
        run.error()
    );
    let stories = app.run(&["--json", "story", "ls"]).await.json();
    assert!(stories.as_array().expect("array").is_empty());

    let fixed = app.write_file(
        "fixed.jsonl",
        b"{\"url\": \"https://a.example/1\", \"title\": \"One\"}\n{\"url\": \"https://a.example/1\", \"title\": \"One, updated\", \"score\": 7}\n",
    );
    let run = app.run(&["story", "import", &fixed]).await;
    assert_eq!(run.exit_code(), 0, "{}", run.stderr);
    let stories = app.run(&["--json", "story", "ls"]).await.json();
    assert_eq!(stories.as_array().expect("array").len(), 1);
    assert_eq!(stories[0]["title"], "One, updated");
    assert_eq!(stories[0]["score"], 7);
}

#[tokio::test]
async fn an_array_with_one_bad_item_stores_nothing_as_the_api_refuses_it_whole() {
    let app = TestApp::spawn().await;
    let file = app.write_file(
        "stories.json",
        br#"[{"url":"https://a.example/1","title":"Good"},{"url":"javascript:1","title":"Bad"}]"#,
    );

    let run = app.run(&["story", "import", &file]).await;

    assert_eq!(run.exit_code(), 2);
    assert!(
        run.stderr
            .contains(&format!("{file}: item 2: field \"url\"")),
        "{}",
        run.stderr
    );
    let stories = app.run(&["--json", "story", "ls"]).await.json();
    assert!(stories.as_array().expect("array").is_empty());
}

#[tokio::test]
async fn a_broken_json_array_is_refused_whole_with_its_position() {
    let app = TestApp::spawn().await;
    let file = app.write_file(
        "broken.json",
        b"[\n{\"url\": \"https://a.example/1\", \"title\": \"One\"},\n{oops}\n]",
    );

    let run = app.run(&["story", "import", &file]).await;

    assert_eq!(run.exit_code(), 2);
    assert!(
        run.error().contains(&format!("{file}:3:")),
        "{}",
        run.error()
    );
    let stories = app.run(&["--json", "story", "ls"]).await.json();
    assert!(stories.as_array().expect("array").is_empty());
}
