//! Click counts and sketches (see `clicks`): added to, never joined to anyone.

use std::collections::HashMap;

use anyhow::Context;
use chrono::NaiveDate;
use serde::Serialize;
use tracing::instrument;

use crate::domain::click_sketch::Sketch;
use crate::domain::LinkPlace;
use crate::store::{begin_immediate, Backend, Pool};

/// One row of `story_clicks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TallyKey {
    pub edition_id: i64,
    pub story_id: i64,
    pub place: LinkPlace,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub clicks: i64,
    pub filtered: i64,
}

/// One row of `click_sketches`: a story of an edition, or (story 0) the whole edition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SketchKey {
    pub edition_id: i64,
    pub story_id: i64,
}

impl SketchKey {
    pub const WHOLE_EDITION: i64 = 0;
}

/// What one flush writes.
#[derive(Debug, Default)]
pub struct Batch {
    pub tallies: HashMap<TallyKey, Tally>,
    pub sketches: HashMap<SketchKey, Sketch>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.tallies.is_empty() && self.sketches.is_empty()
    }
}

/// The installation's key for counted links.
#[instrument(skip_all)]
pub async fn link_key(pool: &Pool) -> anyhow::Result<String> {
    sqlx::query_scalar("SELECT link_key FROM installation LIMIT 1")
        .fetch_one(pool)
        .await
        .context("reading the link key")
}

/// Where a signed link leads: the story of an edition that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkDestination {
    pub edition_id: i64,
    pub url: String,
}

/// The story's URL, if the list's edition of that date carried the story.
#[instrument(skip_all)]
pub async fn destination(
    pool: &Pool,
    list_id: i64,
    local_date: NaiveDate,
    story_id: i64,
) -> anyhow::Result<Option<LinkDestination>> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "SELECT e.id, s.url
         FROM editions e
         JOIN edition_stories es ON es.edition_id = e.id
         JOIN stories s ON s.id = es.story_id
         WHERE e.list_id = $1 AND e.local_date = $2 AND es.story_id = $3",
    )
    .bind(list_id)
    .bind(local_date.to_string())
    .bind(story_id)
    .fetch_optional(pool)
    .await
    .context("looking up a counted link")?;
    Ok(row.map(|(edition_id, url)| LinkDestination { edition_id, url }))
}

/// Adds a batch to the stored counts in one transaction. Sketches are merged register by
/// register under a row lock, so nodes flushing at once both count.
#[instrument(skip_all, fields(tallies = batch.tallies.len(), sketches = batch.sketches.len()))]
pub async fn add(pool: &Pool, batch: &Batch) -> anyhow::Result<()> {
    let backend = Backend::of(pool);
    let mut tx = begin_immediate(pool)
        .await
        .context("starting to write click counts")?;
    // One order on every node: two flushes never wait on each other in a circle.
    let mut tallies: Vec<_> = batch.tallies.iter().collect();
    tallies.sort_by_key(|(key, _)| **key);
    // Counts of an edition or story deleted since the click are dropped, not retried forever.
    for (key, tally) in tallies {
        sqlx::query(
            "INSERT INTO story_clicks (edition_id, story_id, place, clicks, filtered)
             SELECT $1, $2, $3, $4, $5
             WHERE EXISTS (SELECT 1 FROM edition_stories WHERE edition_id = $1 AND story_id = $2)
             ON CONFLICT (edition_id, story_id, place) DO UPDATE SET
                 clicks = story_clicks.clicks + excluded.clicks,
                 filtered = story_clicks.filtered + excluded.filtered",
        )
        .bind(key.edition_id)
        .bind(key.story_id)
        .bind(key.place.as_str())
        .bind(tally.clicks)
        .bind(tally.filtered)
        .execute(&mut *tx)
        .await
        .context("adding click counts")?;
    }
    let mut sketches: Vec<_> = batch.sketches.iter().collect();
    sketches.sort_by_key(|(key, _)| **key);
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let empty = Sketch::default();
    for (key, sketch) in sketches {
        // The row exists before it is read under a lock, so a node that inserts it at the same
        // moment is waited for, and its registers are merged rather than overwritten.
        sqlx::query(
            "INSERT INTO click_sketches (edition_id, story_id, registers)
             SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM editions WHERE id = $1)
             ON CONFLICT (edition_id, story_id) DO NOTHING",
        )
        .bind(key.edition_id)
        .bind(key.story_id)
        .bind(empty.as_bytes().to_vec())
        .execute(&mut *tx)
        .await
        .context("adding a click sketch")?;
        let stored: Option<Vec<u8>> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT registers FROM click_sketches WHERE edition_id = $1 AND story_id = $2{lock}"
        )))
        .bind(key.edition_id)
        .bind(key.story_id)
        .fetch_optional(&mut *tx)
        .await
        .context("reading a click sketch")?;
        let Some(stored) = stored else { continue };
        let mut merged = Sketch::from_bytes(stored);
        merged.merge(sketch);
        sqlx::query(
            "UPDATE click_sketches SET registers = $1 WHERE edition_id = $2 AND story_id = $3",
        )
        .bind(merged.as_bytes().to_vec())
        .bind(key.edition_id)
        .bind(key.story_id)
        .execute(&mut *tx)
        .await
        .context("writing a click sketch")?;
    }
    tx.commit().await.context("committing click counts")?;
    Ok(())
}

/// One edition's counts.
#[derive(Debug, Clone, Serialize)]
pub struct EditionClicks {
    pub list: String,
    pub date: NaiveDate,
    pub delivered: i64,
    pub clicks: i64,
    pub unique_clickers: u64,
    /// Unique clickers per delivered message; `null` before anything was delivered.
    pub click_rate: Option<f64>,
    pub filtered: i64,
    pub stories: Vec<StoryClicks>,
}

/// One story's counts in one edition.
#[derive(Debug, Clone, Serialize)]
pub struct StoryClicks {
    pub url: String,
    pub title: String,
    pub position: i64,
    pub clicks: i64,
    pub unique_clickers: u64,
    pub filtered: i64,
    /// Clicks by where the link stood: lead, section, thumbnail, archive.
    pub places: HashMap<&'static str, i64>,
}

#[derive(sqlx::FromRow)]
struct EditionRow {
    id: i64,
    slug: String,
    local_date: String,
    delivered: i64,
}

#[derive(sqlx::FromRow)]
struct StoryRow {
    story_id: i64,
    url: String,
    title: String,
    position: i64,
}

#[derive(sqlx::FromRow)]
struct TallyRow {
    story_id: i64,
    place: String,
    clicks: i64,
    filtered: i64,
}

/// The list's built editions whose local date is in `from..=until`, newest first.
#[instrument(skip_all)]
pub async fn editions(
    pool: &Pool,
    list_id: i64,
    from: NaiveDate,
    until: NaiveDate,
) -> anyhow::Result<Vec<EditionClicks>> {
    let rows: Vec<EditionRow> = sqlx::query_as(
        "SELECT e.id, l.slug, e.local_date,
                (SELECT COUNT(*) FROM deliveries d
                 WHERE d.edition_id = e.id AND d.status = 'sent') AS delivered
         FROM editions e JOIN lists l ON l.id = e.list_id
         WHERE e.list_id = $1 AND e.local_date >= $2 AND e.local_date <= $3
           AND e.status <> 'skipped'
         ORDER BY e.local_date DESC",
    )
    .bind(list_id)
    .bind(from.to_string())
    .bind(until.to_string())
    .fetch_all(pool)
    .await
    .context("reading editions for their clicks")?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let date = row
            .local_date
            .parse()
            .with_context(|| format!("stored edition #{} has no valid date", row.id))?;
        out.push(edition(pool, row.id, row.slug, date, row.delivered).await?);
    }
    Ok(out)
}

async fn edition(
    pool: &Pool,
    edition_id: i64,
    list: String,
    date: NaiveDate,
    delivered: i64,
) -> anyhow::Result<EditionClicks> {
    let stories: Vec<StoryRow> = sqlx::query_as(
        "SELECT s.id AS story_id, s.url, s.title, es.position
         FROM edition_stories es JOIN stories s ON s.id = es.story_id
         WHERE es.edition_id = $1 ORDER BY es.position",
    )
    .bind(edition_id)
    .fetch_all(pool)
    .await
    .context("reading an edition's stories")?;
    let tallies: Vec<TallyRow> = sqlx::query_as(
        "SELECT story_id, place, clicks, filtered FROM story_clicks WHERE edition_id = $1",
    )
    .bind(edition_id)
    .fetch_all(pool)
    .await
    .context("reading click counts")?;
    let sketches = sketches(pool, edition_id).await?;
    let unique = |story_id: i64| sketches.get(&story_id).map_or(0, Sketch::estimate);
    let stories: Vec<StoryClicks> = stories
        .into_iter()
        .map(|story| {
            let mut places = HashMap::new();
            let (mut clicks, mut filtered) = (0, 0);
            for tally in tallies.iter().filter(|t| t.story_id == story.story_id) {
                clicks += tally.clicks;
                filtered += tally.filtered;
                if let Some(place) = LinkPlace::parse(&tally.place) {
                    *places.entry(place.as_str()).or_default() += tally.clicks;
                }
            }
            StoryClicks {
                unique_clickers: unique(story.story_id),
                url: story.url,
                title: story.title,
                position: story.position,
                clicks,
                filtered,
                places,
            }
        })
        .collect();
    let unique_clickers = unique(SketchKey::WHOLE_EDITION);
    Ok(EditionClicks {
        list,
        date,
        delivered,
        clicks: stories.iter().map(|s| s.clicks).sum(),
        unique_clickers,
        click_rate: (delivered > 0).then(|| unique_clickers as f64 / delivered as f64),
        filtered: stories.iter().map(|s| s.filtered).sum(),
        stories,
    })
}

async fn sketches(pool: &Pool, edition_id: i64) -> anyhow::Result<HashMap<i64, Sketch>> {
    let rows: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT story_id, registers FROM click_sketches WHERE edition_id = $1")
            .bind(edition_id)
            .fetch_all(pool)
            .await
            .context("reading click sketches")?;
    Ok(rows
        .into_iter()
        .map(|(story_id, registers)| (story_id, Sketch::from_bytes(registers)))
        .collect())
}

/// A story's counts in each edition that carried it.
#[derive(Debug, Clone, Serialize)]
pub struct StoryInEdition {
    pub list: String,
    pub date: NaiveDate,
    pub position: i64,
    pub clicks: i64,
    pub unique_clickers: u64,
    pub filtered: i64,
}

#[derive(sqlx::FromRow)]
struct CarriedRow {
    edition_id: i64,
    slug: String,
    local_date: String,
    position: i64,
    clicks: i64,
    filtered: i64,
}

/// The story's counts, edition by edition, newest first.
#[instrument(skip_all)]
pub async fn story(pool: &Pool, story_id: i64) -> anyhow::Result<Vec<StoryInEdition>> {
    let rows: Vec<CarriedRow> = sqlx::query_as(
        "SELECT e.id AS edition_id, l.slug, e.local_date, es.position,
                CAST(COALESCE(SUM(c.clicks), 0) AS BIGINT) AS clicks,
                CAST(COALESCE(SUM(c.filtered), 0) AS BIGINT) AS filtered
         FROM edition_stories es
         JOIN editions e ON e.id = es.edition_id
         JOIN lists l ON l.id = e.list_id
         LEFT JOIN story_clicks c ON c.edition_id = es.edition_id AND c.story_id = es.story_id
         WHERE es.story_id = $1
         GROUP BY e.id, l.slug, e.local_date, es.position
         ORDER BY e.local_date DESC, l.slug",
    )
    .bind(story_id)
    .fetch_all(pool)
    .await
    .context("reading a story's clicks")?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let registers: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT registers FROM click_sketches WHERE edition_id = $1 AND story_id = $2",
        )
        .bind(row.edition_id)
        .bind(story_id)
        .fetch_optional(pool)
        .await
        .context("reading a click sketch")?;
        out.push(StoryInEdition {
            list: row.slug,
            date: row
                .local_date
                .parse()
                .with_context(|| format!("stored edition #{} has no valid date", row.edition_id))?,
            position: row.position,
            clicks: row.clicks,
            unique_clickers: registers.map_or(0, |r| Sketch::from_bytes(r).estimate()),
            filtered: row.filtered,
        });
    }
    Ok(out)
}
