//! Personalises one rendered edition for 100,000 subscribers and builds each complete MIME
//! message (headers, both quoted-printable parts, formatted bytes), on one thread. Criterion
//! reports the throughput in messages per second. Run: `cargo bench --bench personalise`.

use std::hint::black_box;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use herald::delivery::message::{ListIdentity, PreparedEdition, Recipient};
use herald::digest::ranking::SectionStories;
use herald::digest::{self, EditionPlan};
use herald::domain::{CronExpr, EmailAddress, ListSlug, ListTitle, MaxStories, Schedule, Timezone};
use herald::settings::Settings;
use herald::store::lists::ListRecord;
use herald::store::stories::StoryRecord;

const SUBSCRIBERS: usize = 100_000;

fn edition_plan() -> EditionPlan {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 28, 6, 0, 0)
        .single()
        .expect("valid time");
    let story = |id: i64, section: &str| StoryRecord {
        id,
        url: format!("https://news.example.org/2026/11/28/story-{id}?utm_source=herald"),
        title: format!(
            "Story {id}: the council's budget vote, and what it means for the city's schools"
        ),
        summary: Some(
            "The council voted late on Friday to approve a budget that shifts money from road \
             repairs to schools, after a debate that ran past midnight and drew hundreds of \
             residents to the chamber.\n\nOpponents said the plan leaves potholes unfixed for \
             another winter; supporters pointed to crowded classrooms."
                .to_string(),
        ),
        author: Some("Kim Lee".to_string()),
        section: section.to_string(),
        image_url: None,
        image_size: None,
        image_caption: None,
        image_credit: None,
        published_at: now - chrono::Duration::hours(id),
        updated_at: None,
        score: 100 - id,
        views: 0,
        clicks: 0,
    };
    let list = ListRecord {
        id: 1,
        slug: ListSlug::parse("morning").expect("slug"),
        title: ListTitle::parse("Morning Briefing").expect("title"),
        schedule: Schedule {
            cron: CronExpr::parse("0 7 * * *").expect("cron"),
            timezone: Timezone::parse("Europe/Berlin").expect("tz"),
        },
        max_stories: MaxStories::parse(12).expect("max"),
        from_address: None,
        language: herald::domain::Language::english(),
        thumbnails: false,
        click_counting: true,
        created_at: now,
    };
    EditionPlan {
        list,
        local_date: now.date_naive(),
        since: now - chrono::Duration::hours(24),
        built_at: now,
        pinned: Vec::new(),
        note: None,
        subject: None,
        sections: vec![
            SectionStories {
                section: "news".into(),
                stories: (1..=8).map(|id| story(id, "news")).collect(),
            },
            SectionStories {
                section: "blog".into(),
                stories: (9..=12).map(|id| story(id, "blog")).collect(),
            },
        ],
    }
}

fn personalise(c: &mut Criterion) {
    let settings = Settings::defaults();
    let plan = edition_plan();
    let edition = digest::render(
        &plan,
        &settings,
        &herald::clicks::LinkKey::new(b"bench links"),
    )
    .expect("rendered");
    let from = &settings.newsletter.from;
    let identity = ListIdentity {
        slug: &plan.list.slug,
        title: plan.list.title.as_str(),
        from: lettre::message::Mailbox::new(
            Some(settings.newsletter.name.clone()),
            from.address().as_str().parse().expect("sender"),
        ),
        domain: from.address().domain(),
    };
    let prepared = PreparedEdition::new(
        &edition,
        &identity,
        &settings.newsletter,
        &herald::clicks::LinkKey::new(b"bench links"),
    )
    .expect("prepared");
    let recipients: Vec<(EmailAddress, String, String, String)> = (0..SUBSCRIBERS)
        .map(|i| {
            (
                EmailAddress::parse(&format!("reader{i}@example-{}.org", i % 97)).expect("address"),
                format!("Reader {i}"),
                settings.web.url(&format!(
                    "unsubscribe/{:032x}",
                    (i as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                )),
                format!("e1.s{i}"),
            )
        })
        .collect();
    let sample = prepared
        .message(
            &Recipient {
                email: &recipients[0].0,
                name: Some(&recipients[0].1),
                unsubscribe_url: &recipients[0].2,
                message_key: &recipients[0].3,
                bounce_tag: None,
                tag_links: true,
            },
            plan.built_at,
        )
        .expect("message")
        .formatted();
    println!("one message is {} bytes", sample.len());

    let mut group = c.benchmark_group("personalise");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(SUBSCRIBERS as u64));
    group.bench_function("100k messages", |b| {
        b.iter(|| {
            for (email, name, unsubscribe_url, key) in &recipients {
                let recipient = Recipient {
                    email,
                    name: Some(name),
                    unsubscribe_url,
                    message_key: key,
                    bounce_tag: None,
                    tag_links: true,
                };
                let message = prepared
                    .message(&recipient, plan.built_at)
                    .expect("message");
                black_box(message.formatted());
            }
        });
    });
    group.finish();
}

criterion_group!(benches, personalise);
criterion_main!(benches);
