//! `herald demo`: a zero-setup tour. A sample list, stories and subscribers, and a real edition
//! delivered through the file transport.

use chrono::{DateTime, Duration, Utc};

use crate::domain::{
    ConsentSource, EmailAddress, ListSlug, ListTitle, MaxStories, Schedule, Score, Section,
    StoryTitle, StoryUrl, SubscriberName,
};
use crate::store::begin_immediate;
use crate::store::lists::{self, ListRecord, NewList};
use crate::store::stories::{self, NewStory};
use crate::store::subscribers::{self, Consent};
use crate::App;

pub const LIST_SLUG: &str = "demo";

/// Where the sample stories live.
const STORY_SITE: &str = "https://news.example.org/";

/// What in the database is not the demo's (lists by name, or foreign stories): the demo
/// refuses to write beside real data, whose next digest its sample stories would lead.
pub async fn foreign_content(pool: &crate::store::Pool) -> anyhow::Result<Vec<String>> {
    let mut found: Vec<String> = lists::all(pool)
        .await?
        .into_iter()
        .map(|list| list.slug.to_string())
        .filter(|slug| slug != LIST_SLUG)
        .map(|slug| format!("list {slug}"))
        .collect();
    let stories = crate::store::stories::count_outside(pool, STORY_SITE).await?;
    if stories > 0 {
        found.push(format!("{stories} stories of its own"));
    }
    Ok(found)
}

/// (path, title, section, score, hours ago, author, summary)
type SampleStory = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    i64,
    Option<&'static str>,
    &'static str,
);

/// How many sample stories the demo list gets.
pub const STORY_COUNT: usize = 6;

const STORIES: [SampleStory; STORY_COUNT] = [
    ("economy/rates", "Central bank holds rates for a fourth month as inflation cools", "news", 412, 3, Some("Kim Lee"),
     "The bank kept its main rate at 3.5%, citing sticky services inflation, but signalled that a cut could come in the spring if wage growth keeps slowing."),
    ("city/tram", "Council approves the eastern tram line after a six-hour debate", "news", 230, 5, Some("Sam Ortiz"),
     "Construction starts in April; the line links the university with the new housing district."),
    ("science/comet", "Amateur astronomer spots a new comet from her balcony", "news", 180, 2, None,
     "It will be visible to the naked eye in late January, weather permitting."),
    ("sport/derby", "Derby ends in a draw after a late equaliser", "news", 95, 9, None,
     "A header in the 93rd minute kept the league table as it was."),
    ("engineering/sqlite", "Why we moved our newsroom tools to SQLite", "blog", 96, 7, Some("Ops team"),
     "One file, no server, and backups that are just a copy."),
    ("letters/editor", "From the editor: how we choose what goes on the front page", "blog", 40, 11, Some("Ana Weiss"),
     "Votes matter, but so does what you have not heard about yet."),
];

/// (email, name, confirmed): the unconfirmed one shows that pending people get nothing.
const SUBSCRIBERS: [(&str, &str, bool); 4] = [
    ("ada@example.org", "Ada Lovelace", true),
    ("grace@example.org", "Grace Hopper", true),
    ("alan@example.org", "Alan Turing", true),
    ("pending@example.org", "Not Yet Confirmed", false),
];

/// Creates (or reuses) the sample list with fresh sample stories and subscribers.
pub async fn seed(app: &App, now: DateTime<Utc>) -> anyhow::Result<ListRecord> {
    let slug = ListSlug::parse(LIST_SLUG)?;
    let list = match lists::find(&app.pool, &slug).await? {
        Some(list) => list,
        None => {
            let defaults = &app.settings.lists;
            let new = NewList {
                slug,
                title: ListTitle::parse("Herald Demo Daily")?,
                schedule: Schedule {
                    cron: defaults.schedule.clone(),
                    timezone: defaults.timezone,
                },
                max_stories: MaxStories::parse(10)?,
                from_address: None,
                language: crate::domain::Language::english(),
                thumbnails: false,
                click_counting: true,
            };
            lists::insert(&app.pool, &new, now).await?
        }
    };
    let mut tx = begin_immediate(&app.pool).await?;
    for (path, title, section, score, hours_ago, author, summary) in STORIES {
        let story = NewStory {
            url: StoryUrl::parse(&format!("{STORY_SITE}{path}"))?,
            guid: None,
            title: StoryTitle::parse(title)?,
            summary: Some(summary.to_string()),
            author: author.map(str::to_string),
            section: Some(Section::parse(section)?),
            image: None,
            published_at: Some(now - Duration::hours(hours_ago)),
            updated_at: None,
            score: Some(Score::parse(score)?),
            views: None,
        };
        stories::upsert(&mut tx, &story, now).await?;
    }
    tx.commit().await?;
    for (email, name, confirmed) in SUBSCRIBERS {
        let consent = Consent {
            source: ConsentSource::Cli,
            ip: None,
            confirmed,
        };
        subscribers::add(
            &app.pool,
            list.id,
            &EmailAddress::parse(email)?,
            SubscriberName::parse(name).as_ref(),
            &consent,
            now,
        )
        .await?;
    }
    Ok(list)
}
