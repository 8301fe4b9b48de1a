//! `herald digest plan`: what the edition will hold is what it then holds.

use chrono::{DateTime, Duration, Utc};

use crate::helpers::{pinned_now, TestApp};

async fn story(app: &TestApp, path: &str, section: &str, score: i64, hours_ago: i64) {
    let published = (pinned_now() - Duration::hours(hours_ago)).to_rfc3339();
    app.run(&[
        "story",
        "add",
        "--url",
        &format!("https://news.example.org/{path}"),
        "--title",
        &format!("Story {path}"),
        "--section",
        section,
        "--score",
        &score.to_string(),
        "--published-at",
        &published,
    ])
    .await
    .ok();
}

fn urls(value: &serde_json::Value) -> Vec<String> {
    value["stories"]
        .as_array()
        .expect("stories")
        .iter()
        .map(|story| story["url"].as_str().expect("url").to_string())
        .collect()
}

#[tokio::test]
async fn the_plan_is_exactly_what_the_edition_then_holds() {
    let app = TestApp::spawn().await;
    app.run(&[
        "list",
        "add",
        "daily",
        "--schedule",
        "30 7 * * *",
        "--timezone",
        "Asia/Kolkata",
        "--max-stories",
        "4",
    ])
    .await
    .ok();
    for (path, section, score, hours_ago) in [
        ("a", "news", 10, 1),
        ("b", "news", 90, 9),
        ("c", "blog", 3, 2),
        ("d", "news", 40, 4),
        ("e", "sports", 1, 20),
        ("f", "news", 0, 22),
    ] {
        story(&app, path, section, score, hours_ago).await;
    }
    app.add_confirmed("ada@example.org", "daily").await;
    // 06:00 UTC is 11:30 in Kolkata: today's send (07:30) has passed, tomorrow's is to come.
    let today = app
        .run(&["--json", "digest", "plan", "--list", "daily"])
        .await
        .json();
    assert_eq!(today["date"], "2026-11-28");
    assert_eq!(today["built"], false);
    assert_eq!(today["groups"][0]["zone"], "Asia/Kolkata");
    assert_eq!(today["groups"][0]["local_time"], "07:30");
    assert_eq!(today["groups"][0]["utc"], "2026-11-28T02:00:00Z");
    assert_eq!(today["groups"][0]["readers"], 1);
    let planned = urls(&today);
    assert_eq!(planned.len(), 4);
    assert_eq!(today["stories"][0]["rank"], 1);
    assert_eq!(today["stories"][0]["pinned"], false);

    // Nothing changes in between: the edition built now holds the plan, in its order.
    app.run(&["digest", "send", "--list", "daily"]).await.ok();
    let built = app
        .run(&["--json", "digest", "plan", "--list", "daily"])
        .await
        .json();
    assert_eq!(built["built"], true);
    assert_eq!(urls(&built), planned);

    // Tomorrow's plan is made for its send time, and a past date without an edition is refused.
    let tomorrow = app
        .run(&[
            "--json",
            "digest",
            "plan",
            "--list",
            "daily",
            "--date",
            "2026-11-29",
        ])
        .await
        .json();
    let utc: DateTime<Utc> = tomorrow["groups"][0]["utc"]
        .as_str()
        .expect("utc")
        .parse()
        .expect("RFC 3339");
    assert_eq!(utc.to_rfc3339(), "2026-11-29T02:00:00+00:00");
    let past = app
        .run(&["digest", "plan", "--list", "daily", "--date", "2026-11-01"])
        .await;
    assert_eq!(past.exit_code(), 2, "{}", past.error());
    let text = app.run(&["digest", "plan", "--list", "daily"]).await.ok();
    assert!(
        text.contains("daily 2026-11-28 (built): 4 stories"),
        "{text}"
    );
}
