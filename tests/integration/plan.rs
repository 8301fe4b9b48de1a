//! `herald digest plan`: what the edition will hold is what it then holds.

use chrono::{DateTime, Utc};

use crate::helpers::{scored_story, TestApp};

async fn story(app: &TestApp, path: &str, section: &str, score: i64, hours_ago: i64) {
    scored_story(
        app,
        path,
        &format!("Story {path}"),
        section,
        score,
        hours_ago,
    )
    .await;
}

async fn plan_of(app: &TestApp, list: &str) -> serde_json::Value {
    app.run(&["--json", "digest", "plan", "--list", list])
        .await
        .json()
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
    let today = plan_of(&app, "daily").await;
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
    let built = plan_of(&app, "daily").await;
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

fn url(path: &str) -> String {
    format!("https://news.example.org/{path}")
}

#[tokio::test]
async fn a_pinned_story_leads_and_a_dropped_one_is_absent_whatever_their_scores() {
    let app = TestApp::spawn().await;
    app.run(&["list", "add", "daily", "--max-stories", "3"])
        .await
        .ok();
    story(&app, "top", "news", 500, 1).await;
    story(&app, "second", "news", 90, 1).await;
    story(&app, "third", "news", 40, 1).await;
    story(&app, "quiet", "news", 0, 20).await;
    app.add_confirmed("ada@example.org", "daily").await;

    app.run(&["digest", "pin", &url("quiet"), "--list", "daily"])
        .await
        .ok();
    app.run(&["digest", "drop", &url("top"), "--list", "daily"])
        .await
        .ok();
    let plan = plan_of(&app, "daily").await;
    assert_eq!(
        urls(&plan),
        [url("quiet"), url("second"), url("third")],
        "{plan}"
    );
    assert_eq!(plan["stories"][0]["pinned"], true);
    assert_eq!(plan["stories"][1]["pinned"], false);

    // A pin at a position; taking back the drop brings the top story back.
    app.run(&[
        "digest",
        "pin",
        &url("quiet"),
        "--list",
        "daily",
        "--position",
        "2",
    ])
    .await
    .ok();
    app.run(&["digest", "undrop", &url("top"), "--list", "daily"])
        .await
        .ok();
    let plan = plan_of(&app, "daily").await;
    assert_eq!(urls(&plan), [url("top"), url("quiet"), url("second")]);

    app.run(&["digest", "send", "--list", "daily"]).await.ok();
    let built = plan_of(&app, "daily").await;
    assert_eq!(urls(&built), urls(&plan), "the edition holds the plan");
    assert_eq!(built["stories"][1]["pinned"], true);
    let outbox = std::fs::read_dir(&app.app.settings.transport.outbox_dir)
        .expect("outbox")
        .count();
    assert_eq!(outbox, 1);

    // The edition is built: picks for it are refused, and change nothing.
    let late = app
        .run(&["digest", "drop", &url("quiet"), "--list", "daily"])
        .await;
    assert_eq!(late.exit_code(), 2);
    assert!(late.error().contains("built already"), "{}", late.error());
}

#[tokio::test]
async fn a_withdrawn_story_is_in_no_later_edition_of_any_list() {
    let app = TestApp::spawn().await;
    app.add_list("english").await;
    app.add_list("arabic").await;
    story(&app, "retracted", "news", 900, 1).await;
    story(&app, "other", "news", 1, 1).await;
    let before = plan_of(&app, "english").await;
    assert_eq!(urls(&before)[0], url("retracted"));
    app.run(&["digest", "pin", &url("retracted"), "--list", "arabic"])
        .await
        .ok();
    let said = app
        .run(&["story", "withdraw", &url("retracted")])
        .await
        .ok();
    assert!(said.contains("withdrawn"), "{said}");
    for list in ["english", "arabic"] {
        let plan = plan_of(&app, list).await;
        assert_eq!(urls(&plan), [url("other")], "{list}: {plan}");
    }
    let pin = app
        .run(&["digest", "pin", &url("retracted"), "--list", "english"])
        .await;
    assert_eq!(pin.exit_code(), 2);
    // The story itself is kept: withdrawing deletes nothing.
    let stored = app.run(&["--json", "story", "ls"]).await.json();
    assert!(stored.to_string().contains("retracted"));
}

#[tokio::test]
async fn bad_picks_are_refused_with_the_reason_and_change_nothing() {
    let app = TestApp::spawn().await;
    app.run(&["list", "add", "daily", "--max-stories", "3"])
        .await
        .ok();
    story(&app, "a", "news", 1, 1).await;
    for (args, reason) in [
        (
            vec![
                "digest",
                "pin",
                "https://news.example.org/nope",
                "--list",
                "daily",
            ],
            "no stored story",
        ),
        (
            vec![
                "digest",
                "pin",
                "https://news.example.org/a",
                "--list",
                "daily",
                "--date",
                "2026-11-01",
            ],
            "is past",
        ),
        (
            vec![
                "digest",
                "pin",
                "https://news.example.org/a",
                "--list",
                "daily",
                "--position",
                "4",
            ],
            "1 to 3",
        ),
        (
            vec![
                "digest",
                "drop",
                "https://news.example.org/a",
                "--list",
                "daily",
                "--date",
                "soon",
            ],
            "expected YYYY-MM-DD",
        ),
    ] {
        let run = app.run(&args).await;
        assert_eq!(run.exit_code(), 2, "{args:?}");
        assert!(run.error().contains(reason), "{args:?}: {}", run.error());
    }
    let picks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM edition_picks")
        .fetch_one(&app.app.pool)
        .await
        .expect("count");
    assert_eq!(picks, 0);
}

/// The only message in the outbox: subject, text part, HTML part.
fn sent(app: &TestApp) -> (String, String, String) {
    let outbox = &app.app.settings.transport.outbox_dir;
    let mut files = std::fs::read_dir(outbox).expect("outbox");
    let raw = std::fs::read(files.next().expect("a message").expect("entry").path()).expect("eml");
    assert!(files.next().is_none(), "one message");
    let parsed = mailparse::parse_mail(&raw).expect("parses");
    let subject = mailparse::MailHeaderMap::get_first_value(parsed.headers.as_slice(), "Subject")
        .expect("subject");
    (
        subject,
        parsed.subparts[0]
            .get_body()
            .expect("text")
            .replace("\r\n", "\n"),
        parsed.subparts[1].get_body().expect("html"),
    )
}

#[tokio::test]
async fn the_desks_note_and_subject_of_the_day_reach_mail_and_archive_in_english_and_arabic() {
    let daemon = crate::daemon::Daemon::start(None).await;
    for (list, language, note, subject, expected_html) in [
        (
            "daily",
            "en",
            "Good *morning*. <b>Read</b> [the budget](https://news.example.org/budget).\n\n[x](javascript:alert(1))",
            "Budget day: what it means for you",
            "<em>morning</em>. &lt;b&gt;Read&lt;/b&gt; <a",
        ),
        (
            "sabah",
            "ar",
            "صباح الخير. اقرأ **BBC** اليوم.",
            "يوم الميزانية",
            "صباح الخير. اقرأ <strong>BBC</strong> اليوم.",
        ),
    ] {
        let app = &daemon.app;
        app.run(&["list", "add", list, "--language", language])
            .await
            .ok();
        if list == "daily" {
            app.add_story("lead", "Central bank holds rates", 1).await;
        }
        app.add_confirmed(&format!("reader@{list}.example.org"), list)
            .await;
        let file = app.write_file("note.md", note.as_bytes());
        app.run(&["digest", "note", "--list", list, "--file", &file, "--subject", subject])
            .await
            .ok();
        let outbox = &app.app.settings.transport.outbox_dir;
        let _ = std::fs::remove_dir_all(outbox);
        app.run(&["digest", "send", "--list", list]).await.ok();
        let (sent_subject, text, html) = sent(app);
        assert_eq!(sent_subject, subject);
        assert!(html.contains(expected_html), "{list}: {html}");
        assert!(!html.contains("javascript:"), "{html}");
        if language == "ar" {
            assert!(html.contains("<p class=\"h-text\" dir=\"rtl\""), "{html}");
            assert!(text.contains("صباح الخير. اقرأ BBC اليوم."), "{text}");
        } else {
            assert!(text.contains("Good morning. <b>Read</b> the budget."), "{text}");
            assert!(text.contains("\nhttps://news.example.org/budget\n"), "{text}");
        }
        let date = plan_of(app, list).await["date"]
            .as_str()
            .expect("date")
            .to_string();
        let (status, archive) = daemon.get(&format!("/archive/{list}/{date}")).await;
        assert_eq!(status, 200);
        assert!(archive.contains(expected_html), "{list}: {archive}");
    }
    let app = &daemon.app;
    for (name, body, reason) in [
        (
            "bad.md",
            "Hello <script>alert(1)</script>".to_string(),
            "<script>",
        ),
        ("long.md", "a".repeat(2_001), "at most 2000"),
    ] {
        let file = app.write_file(name, body.as_bytes());
        let args = [
            "digest",
            "note",
            "--list",
            "daily",
            "--date",
            "2099-01-01",
            "--file",
            &file,
        ];
        let refused = app.run(&args).await;
        assert_eq!(refused.exit_code(), 2);
        assert!(refused.error().contains(reason), "{}", refused.error());
    }
    daemon.stop().await;
}
