//! Snapshots of a fixed edition's HTML and text: a change to the templates shows up here as a
//! reviewable diff (`cargo insta review`, or INSTA_UPDATE=always).

use chrono::Duration;
use herald::digest::template::{Kind, SlotValues};
use herald::digest::{self};
use herald::domain::ListSlug;
use herald::store::lists;

use crate::helpers::{pinned_now, TestApp};

#[tokio::test]
async fn a_fixed_edition_renders_as_snapshotted() {
    let mut app = TestApp::spawn().await;
    app.app.settings.newsletter.logo_url =
        Some("https://herald.example.org/logo.png".parse().expect("url"));
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
    for (path, title, section, score, hours, author, summary) in [
        ("rates", "Central bank holds rates for a fourth month", "news", 120, 3, Some("Kim Lee"),
         Some("The bank kept its main rate at 3.5%, citing sticky services inflation.\n\nMarkets had priced the decision in.")),
        ("tram", "City council approves the new tram line", "news", 45, 5, None, Some("Construction starts in spring.")),
        ("servers", "Why we moved our servers back home", "blog", 30, 8, Some("Ops team"), None),
        ("derby", "Derby ends in a draw", "sports", 12, 2, None, None),
    ] {
        let published = (pinned_now() - Duration::hours(hours)).to_rfc3339();
        let url = format!("https://news.example.org/{path}");
        let score = score.to_string();
        let mut args = vec!["story", "add", "--url", &url, "--title", title, "--section", section, "--score", &score, "--published-at", &published];
        if let Some(author) = author {
            args.extend(["--author", author]);
        }
        if let Some(summary) = summary {
            args.extend(["--summary", summary]);
        }
        app.run(&args).await.ok();
    }
    let list = lists::require(&app.app.pool, &ListSlug::parse("morning").expect("slug"))
        .await
        .expect("list");
    let plan = digest::plan(&app.app.pool, list, &app.app.settings, pinned_now())
        .await
        .expect("plan");
    let edition = digest::render(
        &plan,
        &app.app.settings,
        &herald::clicks::LinkKey::new(b"test links"),
    )
    .expect("rendered");
    let values = SlotValues {
        name: Some("Ada"),
        email: "ada@example.org",
        unsubscribe_url: "https://herald.example.org/unsubscribe/TOKEN",
        click_tag: "",
    };

    insta::assert_snapshot!("subject", edition.subject);
    insta::assert_snapshot!("text", edition.text.fill(Kind::Text, &values));
    // One tag per line, so a template change reads as a small diff.
    insta::assert_snapshot!(
        "html",
        edition.html.fill(Kind::Html, &values).replace("><", ">\n<")
    );
}
