//! Imports a generated CSV of subscribers (1,000,000 rows unless HERALD_BENCH_ROWS says
//! otherwise) into a fresh SQLite file and prints rows per second, for the first import and for
//! a second, idempotent one. Run: `cargo bench --bench import`.

use std::io::{BufWriter, Write};
use std::time::Instant;

use herald::clock;
use herald::domain::{ListSlug, ListTitle, MaxStories, Schedule};
use herald::import::subscribers_csv::{self, CsvImport};
use herald::settings::Settings;
use herald::store::lists::{self, NewList};
use herald::App;

fn main() -> anyhow::Result<()> {
    let rows: u64 = std::env::var("HERALD_BENCH_ROWS")
        .ok()
        .and_then(|raw| raw.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let csv_path = dir.path().join("subscribers.csv");
    let mut file = BufWriter::new(std::fs::File::create(&csv_path)?);
    writeln!(file, "name,email,signup_source")?;
    for i in 0..rows {
        writeln!(
            file,
            "Reader {i},reader{i:07}@example-{}.org,newsletter-box",
            i % 97
        )?;
    }
    file.flush()?;
    drop(file);
    let size = std::fs::metadata(&csv_path)?.len();
    println!(
        "generated {rows} rows ({:.1} MiB)",
        size as f64 / 1_048_576.0
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut settings = Settings::defaults();
        settings.database.url = dir.path().join("bench.db").display().to_string();
        let app = App::build_with_clock(settings, clock::system()).await?;
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
            app.clock.now(),
        )
        .await?;
        for run in ["first import", "second import (idempotent)"] {
            let input = Box::new(std::io::BufReader::new(std::fs::File::open(&csv_path)?));
            let started = Instant::now();
            let report = subscribers_csv::import(
                &app.pool,
                CsvImport { source: "subscribers.csv", list_id: list.id, confirmed: true, now: app.clock.now() },
                input,
                &mut std::io::sink(),
                &|_, _| {},
            )
            .await?;
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "{run}: {} rows in {seconds:.2} s = {:.0} rows/s ({} stored, {} unchanged, {} rejected)",
                report.rows,
                report.rows as f64 / seconds,
                report.stored,
                report.unchanged,
                report.rejected
            );
        }
        anyhow::Ok(())
    })
}
