use chrono::Duration;
use herald::delivery::message::Recipient;
use herald::digest::template::{Kind, SlotValues};
use herald::digest::{self, EditionPlan, RenderedEdition};
use herald::domain::{EmailAddress, ListSlug};
use herald::store::editions::{self, EditionContent, NewEdition};
use herald::store::lists;

use crate::helpers::{pinned_now, scored_story as story, TestApp};

/// Adds a story published `hours_ago` before the pinned now.
async fn plan(app: &TestApp, slug: &str) -> EditionPlan {
    let list = lists::require(&app.app.pool, &ListSlug::parse(slug).expect("slug"))
        .await
        .expect("list");
    digest::plan(&app.app.pool, list, &app.app.settings, app.app.clock.now())
        .await
        .expect("plan")
}

fn titles(plan: &EditionPlan) -> Vec<(String, Vec<String>)> {
    plan.sections
        .iter()
        .map(|s| {
            (
                s.section.clone(),
                s.stories.iter().map(|story| story.title.clone()).collect(),
            )
        })
        .collect()
}

/// Records the plan as an edition built at `built_at`, as a send would.
async fn record(app: &TestApp, plan: &EditionPlan, built_at: chrono::DateTime<chrono::Utc>) {
    let ids = plan.story_ids();
    let mut conn = app.app.pool.acquire().await.expect("conn");
    editions::create(
        &mut conn,
        &NewEdition {
            list_id: plan.list.id,
            local_date: built_at.date_naive(),
            content: Some(EditionContent {
                subject: "s",
                html: "h",
                text: "t",
                story_ids: &ids,
            }),
            built_at,
        },
    )
    .await
    .expect("edition stored")
    .expect("new edition");
}

fn fill(edition: &RenderedEdition, kind: Kind, name: Option<&str>) -> String {
    let values = SlotValues {
        name,
        email: "reader@example.com",
        unsubscribe_url: "https://herald.example.org/unsubscribe/TOKEN",
        click_tag: "",
    };
    match kind {
        Kind::Html => edition.html.fill(kind, &values),
        Kind::Text => edition.text.fill(kind, &values),
    }
}

#[tokio::test]
async fn the_first_edition_takes_the_last_24_hours_ranked_by_votes_with_decay() {
    let app = TestApp::spawn().await;
    app.add_list("daily").await;
    story(&app, "old", "Too old", "news", 1000, 30).await;
    story(&app, "fresh-few", "Fresh, few votes", "news", 10, 1).await;
    story(&app, "older-many", "Older, many votes", "news", 1000, 10).await;
    story(&app, "fresh-same", "Equal votes, newer", "news", 50, 2).await;
    story(&app, "stale-same", "Equal votes, older", "news", 50, 8).await;
    story(&app, "future", "Not yet published", "news", 10, -2).await;

    let plan = plan(&app, "daily").await;

    assert_eq!(
        titles(&plan),
        vec![(
            "news".to_string(),
            vec![
                "Older, many votes".to_string(),
                "Equal votes, newer".to_string(),
                "Fresh, few votes".to_string(),
                "Equal votes, older".to_string(),
            ]
        )]
    );
    assert_eq!(plan.since, pinned_now() - Duration::hours(24));
}

#[tokio::test]
async fn later_editions_take_what_was_published_since_the_previous_one_and_never_repeat() {
    let app = TestApp::spawn().await;
    app.add_list("daily").await;
    story(&app, "a", "Carried yesterday", "news", 10, 20).await;
    story(&app, "b", "Left out yesterday", "news", 0, 19).await;
    let yesterday = plan(&app, "daily").await;
    record(&app, &yesterday, pinned_now() - Duration::hours(18)).await;
    story(&app, "c", "New today", "news", 1, 3).await;
    // The site re-dates a carried story: it must not come round again.
    story(&app, "a", "Carried yesterday, updated", "news", 99, 1).await;

    let today = plan(&app, "daily").await;

    assert_eq!(today.since, pinned_now() - Duration::hours(18));
    assert_eq!(
        titles(&today),
        vec![("news".to_string(), vec!["New today".to_string()])]
    );
}

#[tokio::test]
async fn max_stories_caps_the_edition_and_each_section_keeps_a_slot() {
    let app = TestApp::spawn().await;
    app.run(&["list", "add", "short", "--max-stories", "3"])
        .await
        .ok();
    for i in 0..5 {
        story(
            &app,
            &format!("n{i}"),
            &format!("News {i}"),
            "news",
            100 - i,
            1,
        )
        .await;
    }
    story(&app, "b", "A quiet blog post", "blog", 0, 12).await;
    story(&app, "s", "Match report", "sports", 1, 12).await;

    let plan = plan(&app, "short").await;

    assert_eq!(
        titles(&plan),
        vec![
            ("news".to_string(), vec!["News 0".to_string()]),
            ("blog".to_string(), vec!["A quiet blog post".to_string()]),
            ("sports".to_string(), vec!["Match report".to_string()]),
        ]
    );
    let edition = digest::render(
        &plan,
        &app.app.settings,
        &herald::clicks::LinkKey::new(b"test links"),
    )
    .expect("rendered");
    let text = fill(&edition, Kind::Text, None);
    let headings: Vec<&str> = text
        .lines()
        .filter(|l| ["TOP STORIES", "FROM THE BLOGS", "SPORTS"].contains(l))
        .collect();
    assert_eq!(headings, vec!["TOP STORIES", "FROM THE BLOGS", "SPORTS"]);
}

#[tokio::test]
async fn an_empty_window_builds_no_email() {
    let app = TestApp::spawn().await;
    app.add_list("daily").await;
    story(&app, "old", "Last week", "news", 5, 24 * 7).await;

    let plan = plan(&app, "daily").await;
    let preview = app.run(&["digest", "preview", "--list", "daily"]).await;

    assert!(plan.is_empty());
    assert!(digest::render(
        &plan,
        &app.app.settings,
        &herald::clicks::LinkKey::new(b"test links")
    )
    .is_none());
    assert!(preview.stdout.is_empty());
    assert!(
        preview.stderr.contains("nothing to preview"),
        "{}",
        preview.stderr
    );
    assert_eq!(preview.exit_code(), 0);
}

#[tokio::test]
async fn untrusted_story_text_is_escaped_and_bad_links_never_rendered() {
    let app = TestApp::spawn().await;
    app.add_list("daily").await;
    app.run(&[
        "story",
        "add",
        "--url",
        "https://news.example.org/x?a=1&b=\"2\"",
        "--title",
        "<script>alert('t')</script> Rates\r\nBcc: victim@example.org",
        "--summary",
        "<img src=x onerror=alert(1)> and <a href=\"javascript:alert(2)\">click</a>",
        "--author",
        "\"><b onmouseover=alert(3)>Mallory",
        "--score",
        "9",
    ])
    .await
    .ok();
    // A row written around the validation (an old import, a hand edit) still cannot link out.
    sqlx::query(
        "INSERT INTO stories (url, title, section, published_at, score, created_at)
         VALUES ('javascript:alert(4)', 'Evil link', 'news', $1, 1, $2)",
    )
    .bind(pinned_now().timestamp() - 60)
    .bind(pinned_now().timestamp())
    .execute(&app.app.pool)
    .await
    .expect("raw insert");

    let mut plan = plan(&app, "daily").await;
    // Direct links, so the story's own URL shows as written (counted links are checked below).
    plan.list.click_counting = false;
    let edition = digest::render(
        &plan,
        &app.app.settings,
        &herald::clicks::LinkKey::new(b"test links"),
    )
    .expect("rendered");
    let html = fill(&edition, Kind::Html, Some("<b>Eve</b>"));

    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("&lt;script&gt;alert('t')&lt;/script&gt;"));
    assert!(!html.contains("<img src=x"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains("<b onmouseover"));
    assert!(
        !html.to_lowercase().contains("href=\"javascript:"),
        "no javascript: link"
    );
    assert!(!html.contains("Evil link"));
    assert!(html.contains("Hello &lt;b&gt;Eve&lt;/b&gt;,"));
    assert!(
        html.contains("href=\"https://news.example.org/x?a=1&amp;b=%222%22\""),
        "{html}"
    );
    assert!(!edition.subject.contains(['\r', '\n']));
    assert!(edition.subject.chars().count() <= 78, "{}", edition.subject);
}

#[tokio::test]
async fn cr_lf_in_a_stored_title_cannot_inject_a_header() {
    let app = TestApp::spawn().await;
    app.add_list("daily").await;
    sqlx::query(
        "INSERT INTO stories (url, title, section, published_at, score, created_at)
         VALUES ('https://news.example.org/inject', $1, 'news', $2, 1, $3)",
    )
    .bind("Lead\r\nBcc: victim@example.org\r\nX-Evil: 1")
    .bind(pinned_now().timestamp() - 60)
    .bind(pinned_now().timestamp())
    .execute(&app.app.pool)
    .await
    .expect("raw insert");

    let eml = app
        .run(&["digest", "preview", "--list", "daily", "--format", "eml"])
        .await
        .ok();
    let parsed = mailparse::parse_mail(eml.as_bytes()).expect("parses");

    assert!(parsed
        .headers
        .iter()
        .all(|h| !h.get_key().eq_ignore_ascii_case("bcc")));
    assert!(parsed
        .headers
        .iter()
        .all(|h| !h.get_key().eq_ignore_ascii_case("x-evil")));
    let subject = parsed
        .headers
        .iter()
        .find(|h| h.get_key() == "Subject")
        .expect("subject")
        .get_value();
    assert_eq!(
        subject,
        "Herald Daily, 28 Nov: Lead Bcc: victim@example.org X-Evil: 1"
    );
}

#[tokio::test]
async fn the_message_carries_every_header_the_contract_names() {
    let app = TestApp::spawn().await;
    app.run(&[
        "list",
        "add",
        "daily",
        "--title",
        "Morning Briefing",
        "--from",
        "news@herald.example.org",
    ])
    .await
    .ok();
    story(&app, "lead", "Central bank holds rates", "news", 10, 1).await;
    story(&app, "post", "Café culture, explained", "blog", 3, 2).await;
    let plan = plan(&app, "daily").await;
    let edition = digest::render(
        &plan,
        &app.app.settings,
        &herald::clicks::LinkKey::new(b"test links"),
    )
    .expect("rendered");
    let mailer = herald::delivery::mailer::Mailer::new(&app.app)
        .await
        .expect("mailer");
    let prepared = mailer
        .prepare_edition(&edition, &plan.list)
        .expect("prepared");
    let to = EmailAddress::parse("ada@example.org").expect("address");
    let unsubscribe = "http://127.0.0.1:8080/unsubscribe/abc123";

    let message = prepared
        .message(
            &Recipient {
                email: &to,
                name: Some("Ada Lovelace"),
                unsubscribe_url: unsubscribe,
                message_key: "e1.s7",
                bounce_tag: None,
                tag_links: false,
            },
            pinned_now(),
        )
        .expect("message")
        .formatted();
    let parsed = mailparse::parse_mail(&message).expect("parses");
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.get_key().eq_ignore_ascii_case(name))
            .map(|h| h.get_value())
            .unwrap_or_else(|| panic!("no {name} header"))
    };

    assert_eq!(header("From"), "\"Herald Daily\" <news@herald.example.org>");
    assert_eq!(header("To"), "\"Ada Lovelace\" <ada@example.org>");
    assert_eq!(
        header("Subject"),
        "Herald Daily, 28 Nov: Central bank holds rates"
    );
    assert_eq!(header("Date"), "Sat, 28 Nov 2026 06:00:00 +0000");
    assert_eq!(header("Message-ID"), "<e1.s7@herald.example.org>");
    assert_eq!(header("MIME-Version"), "1.0");
    assert_eq!(
        header("List-Id"),
        "Morning Briefing <daily.herald.example.org>"
    );
    assert_eq!(header("List-Unsubscribe"), format!("<{unsubscribe}>"));
    assert_eq!(
        header("List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
    assert_eq!(parsed.subparts.len(), 2);
    assert_eq!(parsed.subparts[0].ctype.mimetype, "text/plain");
    assert_eq!(parsed.subparts[1].ctype.mimetype, "text/html");

    let values = SlotValues {
        name: Some("Ada Lovelace"),
        email: "ada@example.org",
        unsubscribe_url: unsubscribe,
        click_tag: "",
    };
    let text = parsed.subparts[0].get_body().expect("text body");
    let html = parsed.subparts[1].get_body().expect("html body");
    assert_eq!(
        text.replace("\r\n", "\n"),
        edition.text.fill(Kind::Text, &values)
    );
    assert_eq!(
        html.replace("\r\n", "\n"),
        edition.html.fill(Kind::Html, &values)
    );
    assert!(text.contains("Café culture, explained"));
    assert!(
        html.contains(&format!("href=\"{unsubscribe}\"")),
        "visible unsubscribe link"
    );
    assert!(
        html.contains("href=\"http://127.0.0.1:8080/archive/daily/2026-11-28\""),
        "view in browser"
    );
    assert!(html.contains("1 Example Street"), "postal address");
    for line in String::from_utf8_lossy(&message).split("\r\n") {
        assert!(line.len() <= 998, "line too long: {}", line.len());
    }
}

#[tokio::test]
async fn preview_writes_each_format_and_records_nothing() {
    let app = TestApp::spawn().await;
    app.add_list("daily").await;
    story(&app, "lead", "Central bank holds rates", "news", 10, 1).await;
    let out = app.dir.path().join("preview.html");

    let html = app
        .run(&["digest", "preview", "--list", "daily"])
        .await
        .ok();
    let text = app
        .run(&["digest", "preview", "--list", "daily", "--format", "text"])
        .await
        .ok();
    let wrote = app
        .run(&[
            "digest",
            "preview",
            "--list",
            "daily",
            "--out",
            &out.display().to_string(),
        ])
        .await;

    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("Hello Reader,"));
    assert!(text.contains("1. Central bank holds rates"));
    assert!(wrote.stderr.contains("preview.html"));
    assert_eq!(std::fs::read_to_string(&out).expect("written"), html);
    let editions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM editions")
        .fetch_one(&app.app.pool)
        .await
        .expect("count");
    assert_eq!(editions, 0);
    let unknown = app.run(&["digest", "preview", "--list", "nope"]).await;
    assert_eq!(unknown.exit_code(), 2);
}
