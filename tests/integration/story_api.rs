//! `PUT /api/stories` over real HTTP.

use herald::settings::SecretSetting;

use crate::daemon::Daemon;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

async fn put(daemon: &Daemon, token: Option<&str>, body: String) -> (u16, serde_json::Value) {
    let mut request = daemon
        .http
        .put(format!("{}/api/stories", daemon.base))
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
