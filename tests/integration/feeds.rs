//! Feed polling against fixtures served on 127.0.0.1 by a small axum app in the test.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::helpers::{utf16, TestApp};

const RSS: &str = r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>Site news</title><link>https://news.example.org/</link><description>d</description>
<item><title>Rates held</title><link>https://news.example.org/rates</link><guid>urn:news:1</guid>
  <description>&lt;p&gt;The bank &lt;b&gt;held&lt;/b&gt; rates.&lt;/p&gt;&lt;script&gt;alert('x')&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;</description>
  <pubDate>Sat, 28 Nov 2026 05:00:00 GMT</pubDate><author>kim@example.org (Kim Lee)</author></item>
<item><title>No guid here</title><link>https://news.example.org/no-guid</link><description>Plain text.</description></item>
<item><title>Bad link</title><link>javascript:alert(1)</link></item>
</channel></rss>"#;

const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title><id>urn:blog</id><updated>2026-11-28T04:00:00Z</updated>
<entry><title>Why SQLite</title><id>urn:blog:1</id><link href="https://blog.example.org/sqlite"/>
  <updated>2026-11-28T04:00:00Z</updated><published>2026-11-28T03:00:00Z</published>
  <author><name>Ops team</name></author><summary type="html">One &lt;em&gt;file&lt;/em&gt;.</summary></entry>
</feed>"#;

const JSON_FEED: &str = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "JSON",
  "items": [{"id": "json-1", "url": "https://news.example.org/json", "title": "From JSON Feed",
             "content_html": "<p>Hello <b>world</b></p>", "date_published": "2026-11-28T02:00:00Z"}]}"#;

#[derive(Clone, Default)]
struct Fixtures {
    changed: Arc<AtomicBool>,
    conditional_hits: Arc<AtomicUsize>,
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

fn xml_bytes(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

async fn changing(State(fixtures): State<Fixtures>) -> Response {
    let title = if fixtures.changed.load(Ordering::SeqCst) {
        "Rates held, updated"
    } else {
        "Rates held"
    };
    xml(RSS.replace(
        "<title>Rates held</title>",
        &format!("<title>{title}</title>"),
    ))
}

async fn conditional(State(fixtures): State<Fixtures>, headers: HeaderMap) -> Response {
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some("\"v1\"")
    {
        fixtures.conditional_hits.fetch_add(1, Ordering::SeqCst);
        return StatusCode::NOT_MODIFIED.into_response();
    }
    (
        [
            (header::ETAG, "\"v1\""),
            (header::CONTENT_TYPE, "application/atom+xml"),
        ],
        ATOM,
    )
        .into_response()
}

async fn serve_fixtures() -> (String, Fixtures) {
    let fixtures = Fixtures::default();
    let app = Router::new()
        .route("/rss.xml", get(|| async { xml(RSS.to_string()) }))
        .route("/atom.xml", get(|| async { xml(ATOM.to_string()) }))
        .route(
            "/feed.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/feed+json")], JSON_FEED) }),
        )
        .route(
            "/utf16be.xml",
            get(|| async {
                xml_bytes(utf16(
                    &RSS.replace("version=\"1.0\"?>", "version=\"1.0\" encoding=\"UTF-16\"?>"),
                    true,
                    true,
                ))
            }),
        )
        .route("/changing.xml", get(changing))
        .route("/conditional.xml", get(conditional))
        .route(
            "/fixed-later.xml",
            get(|State(fixtures): State<Fixtures>| async move {
                if fixtures.changed.load(Ordering::SeqCst) {
                    xml(RSS.to_string())
                } else {
                    xml("<rss><channel><item><title>unclosed".into())
                }
            }),
        )
        .route(
            "/malformed.xml",
            get(|| async { xml("<rss><channel><item><title>unclosed".into()) }),
        )
        .route(
            "/error.xml",
            get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route(
            "/slow.xml",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                xml(RSS.to_string())
            }),
        )
        .route(
            "/huge.xml",
            get(|| async { xml(format!("{RSS}<!-- {} -->", "x".repeat(200_000))) }),
        )
        .with_state(fixtures.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, fixtures)
}

async fn feed_app() -> TestApp {
    TestApp::spawn_with(|s| {
        s.feeds.timeout_secs = 1;
        s.feeds.max_bytes = 50_000;
    })
    .await
}

async fn stories(app: &TestApp) -> Vec<serde_json::Value> {
    match app.run(&["--json", "story", "ls"]).await.json() {
        serde_json::Value::Array(rows) => rows,
        other => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rss_atom_and_json_feed_items_become_stories_with_html_reduced_to_text() {
    let (base, _) = serve_fixtures().await;
    let app = feed_app().await;
    app.run(&["feed", "add", &format!("{base}/rss.xml")])
        .await
        .ok();
    app.run(&[
        "feed",
        "add",
        &format!("{base}/atom.xml"),
        "--section",
        "blog",
    ])
    .await
    .ok();
    app.run(&["feed", "add", &format!("{base}/feed.json")])
        .await
        .ok();

    let report = app.run(&["--json", "feed", "poll"]).await.json();

    let by_url = |url: &str| {
        report
            .as_array()
            .expect("array")
            .iter()
            .find(|r| r["url"] == url)
            .cloned()
            .expect("reported")
    };
    assert_eq!(by_url(&format!("{base}/rss.xml"))["inserted"], 2);
    assert_eq!(
        by_url(&format!("{base}/rss.xml"))["skipped"],
        1,
        "the javascript: link is skipped"
    );
    let all = stories(&app).await;
    let story = |url: &str| {
        all.iter()
            .find(|s| s["url"] == url)
            .cloned()
            .unwrap_or_else(|| panic!("{url} missing"))
    };
    let rates = story("https://news.example.org/rates");
    assert_eq!(rates["section"], "news");
    assert_eq!(rates["published_at"], "2026-11-28T05:00:00+00:00");
    let summary = rates["summary"].as_str().expect("summary");
    assert!(summary.contains("The bank held rates."), "{summary}");
    assert!(
        !summary.contains('<') && !summary.contains("alert"),
        "no markup or script survives: {summary}"
    );
    assert_eq!(story("https://blog.example.org/sqlite")["section"], "blog");
    assert_eq!(
        story("https://blog.example.org/sqlite")["author"],
        "Ops team"
    );
    assert_eq!(
        story("https://news.example.org/json")["summary"],
        "Hello world"
    );
    let first_seen = story("https://news.example.org/no-guid");
    assert_eq!(
        first_seen["published_at"], "2026-11-28T06:00:00+00:00",
        "no date: first seen (now)"
    );
    assert!(!all.iter().any(|s| s["url"]
        .as_str()
        .unwrap_or_default()
        .starts_with("javascript")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_updated_item_is_changed_in_place_and_never_duplicated() {
    let (base, fixtures) = serve_fixtures().await;
    let app = feed_app().await;
    app.run(&["feed", "add", &format!("{base}/changing.xml")])
        .await
        .ok();
    app.run(&["feed", "poll"]).await.ok();

    let unchanged = app.run(&["--json", "feed", "poll"]).await.json();
    fixtures.changed.store(true, Ordering::SeqCst);
    let updated = app.run(&["--json", "feed", "poll"]).await.json();

    assert_eq!(unchanged[0]["unchanged"], 2);
    assert_eq!(unchanged[0]["inserted"], 0);
    assert_eq!(updated[0]["updated"], 1);
    assert_eq!(updated[0]["inserted"], 0);
    let all = stories(&app).await;
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|s| s["title"] == "Rates held, updated"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_feed_costs_a_304() {
    let (base, fixtures) = serve_fixtures().await;
    let app = feed_app().await;
    app.run(&["feed", "add", &format!("{base}/conditional.xml")])
        .await
        .ok();

    app.run(&["feed", "poll"]).await.ok();
    let second = app.run(&["--json", "feed", "poll"]).await.json();

    assert_eq!(second[0]["not_modified"], true);
    assert_eq!(fixtures.conditional_hits.load(Ordering::SeqCst), 1);
    assert_eq!(stories(&app).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_feeds_are_recorded_and_reported_while_the_others_are_stored() {
    let (base, _) = serve_fixtures().await;
    let app = feed_app().await;
    for path in [
        "rss.xml",
        "malformed.xml",
        "error.xml",
        "slow.xml",
        "huge.xml",
    ] {
        app.run(&["feed", "add", &format!("{base}/{path}")])
            .await
            .ok();
    }
    app.run(&["feed", "add", "http://127.0.0.1:9/unreachable.xml"])
        .await
        .ok();

    let poll = app.run(&["feed", "poll"]).await;
    let feeds = app.run(&["--json", "feed", "ls"]).await.json();

    assert_eq!(poll.exit_code(), 1, "non-zero when a feed failed");
    assert!(
        poll.error().contains("5 of 6 feed(s) failed"),
        "{}",
        poll.error()
    );
    let error_of = |path: &str| {
        feeds
            .as_array()
            .expect("array")
            .iter()
            .find(|f| f["url"].as_str().expect("url").ends_with(path))
            .expect("feed")["last_error"]
            .clone()
    };
    assert!(error_of("/rss.xml").is_null());
    assert!(error_of("/malformed.xml")
        .as_str()
        .expect("error")
        .contains("not a valid"));
    assert!(error_of("/error.xml")
        .as_str()
        .expect("error")
        .contains("500"));
    assert!(error_of("/slow.xml")
        .as_str()
        .expect("error")
        .contains("timed out"));
    assert!(error_of("/huge.xml")
        .as_str()
        .expect("error")
        .contains("max_bytes"));
    assert!(error_of("/unreachable.xml")
        .as_str()
        .expect("error")
        .contains("connect"));
    assert!(feeds
        .as_array()
        .expect("array")
        .iter()
        .all(|f| !f["last_polled_at"].is_null()));
    assert_eq!(
        stories(&app).await.len(),
        2,
        "the good feed's items are stored"
    );
    assert!(poll.stdout.contains("rss.xml: 2 new"), "{}", poll.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_that_failed_is_skipped_until_its_body_changes() {
    let (base, fixtures) = serve_fixtures().await;
    let app = feed_app().await;
    let added = app
        .run(&["feed", "add", &format!("{base}/fixed-later.xml")])
        .await;
    assert_eq!(added.exit_code(), 0);
    let last_error = |feeds: serde_json::Value| feeds[0]["last_error"].clone();

    assert_eq!(app.run(&["feed", "poll"]).await.exit_code(), 1);
    let first = last_error(app.run(&["--json", "feed", "ls"]).await.json());
    assert!(
        first.as_str().expect("error").contains("not a valid"),
        "{first}"
    );

    for _ in 0..2 {
        assert_eq!(app.run(&["feed", "poll"]).await.exit_code(), 1);
        let again = last_error(app.run(&["--json", "feed", "ls"]).await.json());
        let again = again.as_str().expect("error");
        assert!(
            again.starts_with("unchanged since it failed, not parsed again: "),
            "{again}"
        );
        assert!(
            again.ends_with(first.as_str().expect("error")),
            "the first cause kept: {again}"
        );
    }

    fixtures.changed.store(true, Ordering::SeqCst);
    let fixed = app.run(&["feed", "poll"]).await;
    assert_eq!(fixed.exit_code(), 0, "{}", fixed.error());
    assert!(last_error(app.run(&["--json", "feed", "ls"]).await.json()).is_null());
    assert_eq!(stories(&app).await.len(), 2);
    let forgotten: Option<String> = sqlx::query_scalar("SELECT failed_digest FROM feeds")
        .fetch_one(&app.app.pool)
        .await
        .expect("feed");
    assert_eq!(forgotten, None, "a parsed body clears the failed one");
}

#[tokio::test]
async fn feed_commands_refuse_bad_input_with_exit_2() {
    let app = TestApp::spawn().await;
    app.run(&[
        "feed",
        "add",
        "https://news.example.org/feed.xml",
        "--section",
        "blog",
    ])
    .await
    .ok();

    for (args, named) in [
        (
            vec!["feed", "add", "javascript:alert(1)"],
            "javascript:alert(1)",
        ),
        (
            vec!["feed", "add", "https://news.example.org/feed.xml"],
            "already there",
        ),
        (
            vec![
                "feed",
                "add",
                "https://news.example.org/x.xml",
                "--section",
                "<b>",
            ],
            "\"<b>\"",
        ),
        (
            vec!["feed", "rm", "https://news.example.org/unknown.xml"],
            "unknown feed",
        ),
    ] {
        let run = app.run(&args).await;
        assert_eq!(run.exit_code(), 2, "{args:?}");
        assert!(run.error().contains(named), "{args:?}: {}", run.error());
    }
    let listed = app.run(&["--json", "feed", "ls"]).await.json();
    assert_eq!(listed[0]["url"], "https://news.example.org/feed.xml");
    assert_eq!(listed[0]["section"], "blog");
    assert!(listed[0]["last_polled_at"].is_null());
    assert!(listed[0]["last_error"].is_null());
    app.run(&["feed", "rm", "https://news.example.org/feed.xml"])
        .await
        .ok();
    assert!(app
        .run(&["--json", "feed", "ls"])
        .await
        .json()
        .as_array()
        .expect("array")
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_polls_feeds_on_its_own() {
    let (base, _) = serve_fixtures().await;
    let daemon = crate::daemon::Daemon::start_with(None, |s| s.feeds.poll_interval_secs = 1).await;
    daemon
        .app
        .run(&["feed", "add", &format!("{base}/feed.json")])
        .await
        .ok();

    let mut found = false;
    for _ in 0..50 {
        if !stories(&daemon.app).await.is_empty() {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    assert!(found, "the daemon polled the feed within 5 s");
    let listed = daemon.app.run(&["--json", "feed", "ls"]).await.json();
    assert!(!listed[0]["last_polled_at"].is_null());
    daemon.stop().await;
}

#[test]
fn utf16_feeds_in_either_byte_order_with_or_without_a_mark_parse_without_panicking() {
    let section = herald::domain::Section::parse("news").expect("section");
    let declared = RSS.replace("version=\"1.0\"?>", "version=\"1.0\" encoding=\"UTF-16\"?>");
    for big_endian in [true, false] {
        for bom in [true, false] {
            let body = utf16(&declared, big_endian, bom);
            let (stories, skipped) = herald::feeds::parse(&body, None, &section)
                .unwrap_or_else(|error| panic!("big endian {big_endian}, bom {bom}: {error}"));
            assert_eq!(
                (stories.len(), skipped),
                (2, 1),
                "big endian {big_endian}, bom {bom}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_utf16be_feed_is_polled_like_any_other_and_the_next_feed_still_is() {
    let (base, _) = serve_fixtures().await;
    let app = feed_app().await;
    for path in ["utf16be.xml", "atom.xml"] {
        app.run(&["feed", "add", &format!("{base}/{path}")])
            .await
            .ok();
    }

    let run = app.run(&["feed", "poll"]).await;

    assert_eq!(run.exit_code(), 0, "{}", run.stderr);
    let titles: Vec<String> = stories(&app)
        .await
        .iter()
        .map(|s| s["title"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(titles.contains(&"Rates held".to_string()), "{titles:?}");
    assert!(titles.contains(&"Why SQLite".to_string()), "{titles:?}");
}
