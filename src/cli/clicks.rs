//! `herald digest stats` and `herald story stats`: what readers clicked, counted without
//! knowing who (see `clicks`).

use chrono::{Duration, NaiveDate};

use crate::app::App;
use crate::cli::Output;
use crate::domain::{ListSlug, StoryUrl};
use crate::error::BadInput;
use crate::store::{clicks, lists, stories};

/// Editions shown when neither a date nor a number of days is given.
pub const DEFAULT_DAYS: u32 = 7;

/// Which editions `digest stats` shows.
#[derive(Debug, Clone, Copy)]
pub enum Period {
    Date(NaiveDate),
    /// The last N local dates, today's included.
    Days(u32),
}

impl Period {
    pub fn parse(date: Option<&str>, days: Option<u32>) -> Result<Self, BadInput> {
        match (date, days) {
            (Some(date), _) => date
                .parse()
                .map(Self::Date)
                .map_err(|_| BadInput(format!("--date {date:?}: expected YYYY-MM-DD"))),
            (None, Some(0)) => Err(BadInput::new("--days 0: give 1 or more")),
            (None, Some(days)) => Ok(Self::Days(days)),
            (None, None) => Ok(Self::Days(DEFAULT_DAYS)),
        }
    }
}

pub async fn digest_stats(
    app: &App,
    slug: &str,
    period: Period,
    output: &mut Output<'_>,
) -> anyhow::Result<()> {
    let list = lists::require(&app.pool, &ListSlug::parse(slug)?).await?;
    let (from, until) = match period {
        Period::Date(date) => (date, date),
        Period::Days(days) => {
            let today = crate::digest::build::local_date(&list, app.clock.now());
            (today - Duration::days(i64::from(days) - 1), today)
        }
    };
    let editions = clicks::editions(&app.pool, list.id, from, until).await?;
    if output.json {
        return output.print_json(&editions);
    }
    if editions.is_empty() {
        writeln!(
            output.out,
            "no edition of {} from {from} to {until}",
            list.slug
        )?;
        return Ok(());
    }
    for (index, edition) in editions.iter().enumerate() {
        if index > 0 {
            writeln!(output.out)?;
        }
        writeln!(
            output.out,
            "{} {}: delivered {}, clicks {}, unique clickers ~{} ({}), filtered {}",
            edition.list,
            edition.date,
            edition.delivered,
            edition.clicks,
            edition.unique_clickers,
            edition.click_rate.map_or_else(
                || "no rate".to_string(),
                |rate| format!("{:.1}%", rate * 100.0)
            ),
            edition.filtered,
        )?;
        let rows: Vec<Vec<String>> = edition
            .stories
            .iter()
            .map(|story| {
                let mut places: Vec<String> = story
                    .places
                    .iter()
                    .filter(|(_, clicks)| **clicks > 0)
                    .map(|(place, clicks)| format!("{place} {clicks}"))
                    .collect();
                places.sort();
                vec![
                    story.position.to_string(),
                    story.clicks.to_string(),
                    format!("~{}", story.unique_clickers),
                    story.filtered.to_string(),
                    places.join(", "),
                    story.url.clone(),
                ]
            })
            .collect();
        output.print_table(
            &["#", "CLICKS", "UNIQUE", "FILTERED", "WHERE", "URL"],
            &rows,
        )?;
    }
    Ok(())
}

pub async fn story_stats(app: &App, url: &str, output: &mut Output<'_>) -> anyhow::Result<()> {
    let url = StoryUrl::parse(url)?;
    let story_id = stories::id_by_url(&app.pool, &url)
        .await?
        .ok_or_else(|| BadInput(format!("no story with URL {url}")))?;
    let editions = clicks::story(&app.pool, story_id).await?;
    if output.json {
        return output.print_json(&editions);
    }
    if editions.is_empty() {
        writeln!(output.out, "no edition carried {url}")?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = editions
        .iter()
        .map(|edition| {
            vec![
                edition.list.clone(),
                edition.date.to_string(),
                edition.position.to_string(),
                edition.clicks.to_string(),
                format!("~{}", edition.unique_clickers),
                edition.filtered.to_string(),
            ]
        })
        .collect();
    output.print_table(
        &["LIST", "DATE", "#", "CLICKS", "UNIQUE", "FILTERED"],
        &rows,
    )
}
