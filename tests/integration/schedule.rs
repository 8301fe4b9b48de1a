//! The scheduler's tick, called with an injected "now": due times on the local wall clock
//! (across daylight-saving changes), catch-up after downtime, one edition per day.

use chrono::{DateTime, Duration, TimeZone, Utc};
use herald::delivery::mailer::Mailer;
use herald::delivery::sender::{self, never_stop, SendOptions};
use herald::scheduler::{tick, Decision};
use herald::store::schedule;

use crate::helpers::TestApp;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("valid time")
}

async fn decision(app: &TestApp, now: DateTime<Utc>) -> Decision {
    let decisions = tick(&app.app, now).await.expect("tick");
    decisions.into_iter().next().expect("one list").1
}

async fn next_due(app: &TestApp) -> Option<DateTime<Utc>> {
    schedule::all(&app.app.pool).await.expect("schedules")[0].next_due_at
}

async fn story_at(app: &TestApp, path: &str, at: DateTime<Utc>) {
    let url = format!("https://news.example.org/{path}");
    app.run(&[
        "story",
        "add",
        "--url",
        &url,
        "--title",
        path,
        "--published-at",
        &at.to_rfc3339(),
    ])
    .await
    .ok();
}

async fn deliver(app: &TestApp, edition_id: i64) -> i64 {
    let mailer = Mailer::new(&app.app).await.expect("mailer");
    let options = SendOptions::from_settings(&app.app.settings);
    sender::deliver_edition(
        &app.app,
        edition_id,
        &mailer,
        &options,
        never_stop(),
        &|_, _| {},
    )
    .await
    .expect("delivered")
    .counts
    .sent
}

fn outbox_count(app: &TestApp) -> usize {
    std::fs::read_dir(&app.app.settings.transport.outbox_dir)
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test]
async fn berlin_mornings_stay_at_seven_local_across_both_dst_changes() {
    let app = TestApp::spawn().await;
    app.run(&[
        "list",
        "add",
        "berlin",
        "--schedule",
        "0 7 * * *",
        "--timezone",
        "Europe/Berlin",
    ])
    .await
    .ok();

    // March: 28th is CET (UTC+1), the 29th CEST (UTC+2).
    assert_eq!(
        decision(&app, utc(2026, 3, 27, 12, 0)).await,
        Decision::Waiting {
            next_due_at: Some(utc(2026, 3, 28, 6, 0))
        }
    );
    story_at(&app, "march-28", utc(2026, 3, 28, 5, 0)).await;
    assert!(matches!(
        decision(&app, utc(2026, 3, 28, 6, 0)).await,
        Decision::Send { .. }
    ));
    assert_eq!(
        next_due(&app).await,
        Some(utc(2026, 3, 29, 5, 0)),
        "07:00 CEST is 05:00 UTC"
    );
    story_at(&app, "march-29", utc(2026, 3, 29, 4, 0)).await;
    assert_eq!(
        decision(&app, utc(2026, 3, 29, 4, 59)).await,
        Decision::Waiting {
            next_due_at: Some(utc(2026, 3, 29, 5, 0))
        }
    );
    assert!(matches!(
        decision(&app, utc(2026, 3, 29, 5, 0)).await,
        Decision::Send { .. }
    ));

    // October: the 24th is CEST, the 25th CET again.
    assert_eq!(
        decision(&app, utc(2026, 10, 23, 12, 0)).await,
        Decision::Skipped {
            due_at: utc(2026, 3, 30, 5, 0)
        }
    );
    assert_eq!(next_due(&app).await, Some(utc(2026, 10, 24, 5, 0)));
    story_at(&app, "october-24", utc(2026, 10, 24, 4, 0)).await;
    assert!(matches!(
        decision(&app, utc(2026, 10, 24, 5, 0)).await,
        Decision::Send { .. }
    ));
    assert_eq!(
        next_due(&app).await,
        Some(utc(2026, 10, 25, 6, 0)),
        "07:00 CET is 06:00 UTC"
    );
    assert_eq!(
        decision(&app, utc(2026, 10, 25, 5, 0)).await,
        Decision::Waiting {
            next_due_at: Some(utc(2026, 10, 25, 6, 0))
        }
    );
}

#[tokio::test]
async fn an_edition_is_sent_once_even_when_the_schedule_fires_again_that_day() {
    let app = TestApp::spawn().await;
    app.run(&["list", "add", "twice", "--schedule", "0 7,9 * * *"])
        .await
        .ok();
    app.add_confirmed("a@example.org", "twice").await;
    decision(&app, utc(2026, 11, 28, 6, 0)).await;
    story_at(&app, "lead", utc(2026, 11, 28, 6, 30)).await;

    let Decision::Send {
        edition_id: first, ..
    } = decision(&app, utc(2026, 11, 28, 7, 0)).await
    else {
        panic!("due at 07:00")
    };
    let sent_first = deliver(&app, first).await;
    let Decision::Send {
        edition_id: second, ..
    } = decision(&app, utc(2026, 11, 28, 9, 0)).await
    else {
        panic!("due at 09:00")
    };
    let sent_second = deliver(&app, second).await;

    assert_eq!(first, second, "the same edition");
    assert_eq!((sent_first, sent_second), (1, 1));
    assert_eq!(outbox_count(&app), 1, "one message, not two");
    let editions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM editions")
        .fetch_one(&app.app.pool)
        .await
        .expect("count");
    assert_eq!(editions, 1);
}

#[tokio::test]
async fn a_missed_edition_is_sent_on_start_within_catch_up_hours_and_never_twice() {
    let app = TestApp::spawn_with(|s| s.schedule.catch_up_hours = 6).await;
    app.run(&["list", "add", "daily", "--schedule", "0 7 * * *"])
        .await
        .ok();
    app.add_confirmed("a@example.org", "daily").await;
    decision(&app, utc(2026, 11, 27, 12, 0)).await;
    story_at(&app, "overnight", utc(2026, 11, 28, 3, 0)).await;

    // The daemon was down at 07:00 and starts at 10:30: three and a half hours late.
    let Decision::Send { edition_id, due_at } = decision(&app, utc(2026, 11, 28, 10, 30)).await
    else {
        panic!("catch-up")
    };
    assert_eq!(due_at, utc(2026, 11, 28, 7, 0));
    assert_eq!(deliver(&app, edition_id).await, 1);
    // A restart later that day sends nothing more.
    assert_eq!(
        decision(&app, utc(2026, 11, 28, 11, 0)).await,
        Decision::Waiting {
            next_due_at: Some(utc(2026, 11, 29, 7, 0))
        }
    );

    // Down for a whole day: the next morning's edition is too late by the time it starts.
    story_at(&app, "late", utc(2026, 11, 29, 3, 0)).await;
    assert_eq!(
        decision(&app, utc(2026, 11, 29, 20, 0)).await,
        Decision::Skipped {
            due_at: utc(2026, 11, 29, 7, 0)
        }
    );
    assert_eq!(outbox_count(&app), 1);
}

#[tokio::test]
async fn a_schedule_changed_with_the_cli_is_picked_up_at_the_next_tick() {
    let app = TestApp::spawn().await;
    app.run(&["list", "add", "daily", "--schedule", "0 7 * * *"])
        .await
        .ok();
    decision(&app, utc(2026, 11, 28, 5, 0)).await;
    assert_eq!(next_due(&app).await, Some(utc(2026, 11, 28, 7, 0)));

    app.run(&["list", "set", "daily", "--schedule", "30 5 * * *"])
        .await
        .ok();

    assert_eq!(
        decision(&app, utc(2026, 11, 28, 5, 1)).await,
        Decision::Waiting {
            next_due_at: Some(utc(2026, 11, 28, 5, 30))
        }
    );
    // Due at 05:30; with no stories that day's edition is skipped and the next one is tomorrow.
    let due = utc(2026, 11, 28, 5, 1) + Duration::minutes(29);
    assert_eq!(
        decision(&app, due).await,
        Decision::Waiting {
            next_due_at: Some(utc(2026, 11, 29, 5, 30))
        }
    );
    let status = app.run(&["--json", "digest", "status"]).await.json();
    assert_eq!(status[0]["status"], "skipped");
}

#[tokio::test]
async fn a_list_added_moments_before_its_first_due_time_sends_that_day() {
    // "Now" for the CLI is 06:00:00; the list is due at 06:01, and the next tick comes at 06:01.
    let app = TestApp::spawn().await;
    app.run(&["list", "add", "daily", "--schedule", "1 6 * * *"])
        .await
        .ok();
    story_at(&app, "lead", utc(2026, 11, 28, 5, 0)).await;

    let at_due_time = decision(&app, utc(2026, 11, 28, 6, 1)).await;

    assert!(
        matches!(at_due_time, Decision::Send { due_at, .. } if due_at == utc(2026, 11, 28, 6, 1)),
        "the first due time is not skipped: {at_due_time:?}"
    );
    assert_eq!(next_due(&app).await, Some(utc(2026, 11, 29, 6, 1)));
}
