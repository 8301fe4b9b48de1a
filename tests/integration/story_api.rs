//! `PUT /api/stories` over real HTTP.

use herald::settings::SecretSetting;

use crate::daemon::Daemon;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

async fn put(daemon: &Daemon, token: Option<&str>, body: String) -> (u16, serde_json::Value) {
    put_at(daemon, "/api/stories", token, body).await
}

async fn put_at(
    daemon: &Daemon,
    path: &str,
    token: Option<&str>,
    body: String,
) -> (u16, serde_json::Value) {
    let mut request = daemon
        .http
        .put(format!("{}{path}", daemon.base))
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.expect("PUT");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_story_api_upserts_with_a_valid_token_and_names_bad_fields() {
    let daemon = Daemon::start_with(None, |s| {
        s.api.token = SecretSetting::from_value("api.token", TOKEN)
    })
    .await;
    let one = r#"{"url": "https://news.example.org/a", "title": "First", "score": 3}"#.to_string();

    assert_eq!(put(&daemon, None, one.clone()).await.0, 401);
    assert_eq!(put(&daemon, Some("wrong-token"), one.clone()).await.0, 401);
    assert_eq!(
        put(&daemon, Some(&TOKEN[..31]), one.clone()).await.0,
        401,
        "a prefix is not the token"
    );
    let (created, report) = put(&daemon, Some(TOKEN), one).await;
    assert_eq!((created, report["inserted"].as_u64()), (200, Some(1)));

    let array = r#"[{"url": "https://news.example.org/a", "title": "First", "score": 40},
                    {"url": "https://news.example.org/b", "title": "Second", "section": "blog"}]"#;
    let (updated, report) = put(&daemon, Some(TOKEN), array.to_string()).await;
    assert_eq!(updated, 200);
    assert_eq!(
        (report["inserted"].as_u64(), report["updated"].as_u64()),
        (Some(1), Some(1))
    );
    let stories = daemon.app.run(&["--json", "story", "ls"]).await.json();
    let first = stories
        .as_array()
        .expect("array")
        .iter()
        .find(|s| s["url"] == "https://news.example.org/a")
        .expect("a");
    assert_eq!(first["score"], 40, "votes update in place");

    let (invalid, error) = put(&daemon, Some(TOKEN), "{not json".into()).await;
    assert_eq!(invalid, 400);
    assert!(error["error"]
        .as_str()
        .expect("message")
        .contains("invalid JSON"));
    let (missing, error) = put(&daemon, Some(TOKEN), r#"{"title": "No link"}"#.into()).await;
    assert_eq!(missing, 422);
    assert!(
        error["error"]
            .as_str()
            .expect("message")
            .contains("\"url\""),
        "{error}"
    );
    let (bad_item, error) =
        put(&daemon, Some(TOKEN), r#"[{"url": "https://news.example.org/c", "title": "C"}, {"url": "https://news.example.org/d"}]"#.into()).await;
    assert_eq!(bad_item, 422);
    assert!(
        error["error"]
            .as_str()
            .expect("message")
            .contains("item 2: field \"title\" is missing"),
        "{error}"
    );
    let (evil, error) = put(
        &daemon,
        Some(TOKEN),
        r#"{"url": "javascript:alert(1)", "title": "X"}"#.into(),
    )
    .await;
    assert_eq!(evil, 422);
    assert!(error["error"]
        .as_str()
        .expect("message")
        .contains("javascript:alert(1)"));
    let stories = daemon.app.run(&["--json", "story", "ls"]).await.json();
    assert_eq!(
        stories.as_array().expect("array").len(),
        2,
        "rejected requests store nothing"
    );

    let huge = format!(
        r#"{{"url": "https://news.example.org/h", "title": "H", "summary": "{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    assert_eq!(put(&daemon, Some(TOKEN), huge).await.0, 413);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_story_api_is_off_without_a_token() {
    let daemon = Daemon::start(None).await;
    let (status, _) = put(
        &daemon,
        Some("anything"),
        r#"{"url": "https://a.example/", "title": "T"}"#.into(),
    )
    .await;
    assert_eq!(status, 404);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cms_pins_and_drops_stories_of_an_edition_not_yet_built() {
    let daemon = Daemon::start_with(None, |s| {
        s.api.token = SecretSetting::from_value("api.token", TOKEN)
    })
    .await;
    daemon
        .app
        .run(&["list", "add", "daily", "--max-stories", "3"])
        .await
        .ok();
    let stories = r#"[{"url": "https://news.example.org/top", "title": "Top", "score": 900},
                      {"url": "https://news.example.org/mid", "title": "Mid", "score": 50},
                      {"url": "https://news.example.org/low", "title": "Low", "score": 0}]"#;
    assert_eq!(put(&daemon, Some(TOKEN), stories.to_string()).await.0, 200);
    let plan = daemon
        .app
        .run(&["--json", "digest", "plan", "--list", "daily"])
        .await
        .json();
    let date = plan["date"].as_str().expect("date").to_string();
    let pins = format!("/api/lists/daily/editions/{date}/pins");
    let drops = format!("/api/lists/daily/editions/{date}/drops");

    let low = r#"[{"url": "https://news.example.org/low"}]"#.to_string();
    assert_eq!(put_at(&daemon, &pins, None, low.clone()).await.0, 401);
    assert_eq!(put_at(&daemon, &pins, Some(TOKEN), low).await.0, 200);
    let top = r#"["https://news.example.org/top"]"#.to_string();
    assert_eq!(put_at(&daemon, &drops, Some(TOKEN), top).await.0, 200);
    let plan = daemon
        .app
        .run(&["--json", "digest", "plan", "--list", "daily"])
        .await
        .json();
    let order: Vec<&str> = plan["stories"]
        .as_array()
        .expect("stories")
        .iter()
        .map(|story| story["url"].as_str().expect("url"))
        .collect();
    assert_eq!(
        order,
        [
            "https://news.example.org/low",
            "https://news.example.org/mid"
        ]
    );

    // Bad items are named, and nothing changes; an unknown list or a built edition is refused.
    let (status, answer) = put_at(
        &daemon,
        &pins,
        Some(TOKEN),
        r#"[{"url": "https://news.example.org/mid"}, {"url": "https://news.example.org/nope"}]"#
            .to_string(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(answer["error"]
        .as_str()
        .expect("error")
        .starts_with("item 2: no stored story"));
    let (status, answer) = put_at(
        &daemon,
        &pins,
        Some(TOKEN),
        r#"[{"url": "https://news.example.org/mid", "position": 9}]"#.to_string(),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    let unknown = "/api/lists/nope/editions/2026-12-05/pins";
    assert_eq!(
        put_at(&daemon, unknown, Some(TOKEN), "[]".into()).await.0,
        404
    );
    daemon
        .app
        .run(&["digest", "send", "--list", "daily"])
        .await
        .ok();
    let (status, answer) = put_at(&daemon, &drops, Some(TOKEN), "[]".into()).await;
    assert_eq!(status, 409, "{answer}");
    let picks: Vec<(String, String)> =
        sqlx::query_as("SELECT pick, changed_by FROM edition_picks ORDER BY pick")
            .fetch_all(&daemon.app.app.pool)
            .await
            .expect("picks");
    assert_eq!(
        picks,
        [("drop".into(), "api".into()), ("pin".into(), "api".into())]
    );
    daemon.stop().await;
}
