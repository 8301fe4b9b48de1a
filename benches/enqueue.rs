//! Builds an edition for a list of 1,000,000 active subscribers (HERALD_BENCH_ROWS to change)
//! and prints how long creating it took: choosing and rendering the stories, and enqueueing one
//! delivery per subscriber in one INSERT ... SELECT. Run: `cargo bench --bench enqueue`; with
//! `HERALD_BENCH_DATABASE=postgres://...` (an empty database) on PostgreSQL.

use std::io::{BufWriter, Write};
use std::time::Instant;

use chrono::Duration;
use herald::clock;
use herald::digest::{self, Built};
use herald::domain::{ListSlug, ListTitle, MaxStories, Schedule, StoryTitle, StoryUrl};
use herald::import::subscribers_csv::{self, CsvImport};
use herald::settings::Settings;
use herald::store::lists::{self, NewList};
use herald::store::stories::{self, NewStory};
use herald::store::{begin_immediate, deliveries};
use herald::App;

fn main() -> anyhow::Result<()> {
    let rows: u64 = std::env::var("HERALD_BENCH_ROWS")
        .ok()
        .and_then(|raw| raw.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let csv_path = dir.path().join("subscribers.csv");
    let mut file = BufWriter::new(std::fs::File::create(&csv_path)?);
    writeln!(file, "email")?;
    for i in 0..rows {
        writeln!(file, "reader{i:07}@example.org")?;
    }
    file.flush()?;
    drop(file);

    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async {
        let mut settings = Settings::defaults();
        settings.database.url = std::env::var("HERALD_BENCH_DATABASE")
            .unwrap_or_else(|_| dir.path().join("bench.db").display().to_string());
        let app = App::build_with_clock(settings, clock::system()).await?;
        let now = app.clock.now();
        let defaults = app.settings.lists.clone();
        let list = lists::insert(
            &app.pool,
            &NewList {
                slug: ListSlug::parse("bench")?,
                title: ListTitle::parse("Bench")?,
                schedule: Schedule { cron: defaults.schedule, timezone: defaults.timezone },
                max_stories: MaxStories::parse(10)?,
                from_address: None,
                language: herald::domain::Language::english(),
                thumbnails: false,
                click_counting: true,
            },
            now,
        )
        .await?;
        let input = Box::new(std::io::BufReader::new(std::fs::File::open(&csv_path)?));
        let job = CsvImport { source: "subscribers.csv", list_id: list.id, confirmed: true, now };
        subscribers_csv::import(&app.pool, job, input, &mut std::io::sink(), &|_, _| {}).await?;
        let mut tx = begin_immediate(&app.pool).await?;
        for i in 0..20 {
            let story = NewStory {
                url: StoryUrl::parse(&format!("https://news.example.org/{i}"))?,
                guid: None,
                title: StoryTitle::parse(&format!("Story {i}"))?,
                summary: Some("A summary.".into()),
                author: None,
                section: None,
                image: None,
                published_at: Some(now - Duration::hours(i)),
                updated_at: None,
                score: None,
                views: None,
            };
            stories::upsert(&mut tx, &story, now).await?;
        }
        tx.commit().await?;

        let started = Instant::now();
        let built = digest::build_edition(&app.pool, &app.settings, &list, now).await?;
        let seconds = started.elapsed().as_secs_f64();
        let Built::Created { edition_id, deliveries: queued } = built else {
            anyhow::bail!("expected a new edition, got {built:?}");
        };
        let counted = deliveries::counts(&app.pool, edition_id).await?.pending;
        println!(
            "built an edition for {rows} subscribers in {seconds:.2} s: {queued} deliveries enqueued ({counted} pending), {:.0} rows/s",
            queued as f64 / seconds
        );
        anyhow::Ok(())
    })
}
