//! Editions: what a list sent (or skipped) on one local date, and which stories it carried.

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{SqliteConnection, SqlitePool};
use tracing::instrument;

use crate::store::stories::{StoryRecord, StoryRow};
use crate::store::{from_db_time, to_db_time};

/// When the list's latest edition was built: the start of the next edition's story window.
#[instrument(skip_all)]
pub async fn latest_built_at(
    pool: &SqlitePool,
    list_id: i64,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let at: Option<i64> =
        sqlx::query_scalar("SELECT MAX(built_at) FROM editions WHERE list_id = ?")
            .bind(list_id)
            .fetch_one(pool)
            .await
            .context("reading latest edition")?;
    Ok(at.map(from_db_time))
}

/// Stories published in `(since, until]` that no edition of the list has carried yet.
#[instrument(skip_all)]
pub async fn uncarried_stories(
    pool: &SqlitePool,
    list_id: i64,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> anyhow::Result<Vec<StoryRecord>> {
    let rows: Vec<StoryRow> = sqlx::query_as(
        "SELECT s.id, s.url, s.title, s.summary, s.author, s.section, s.image_url,
                s.published_at, s.updated_at, s.score
         FROM stories s
         WHERE s.published_at > ? AND s.published_at <= ?
           AND NOT EXISTS (
               SELECT 1 FROM edition_stories es JOIN editions e ON e.id = es.edition_id
               WHERE es.story_id = s.id AND e.list_id = ?)
         ORDER BY s.published_at DESC, s.id DESC",
    )
    .bind(to_db_time(since))
    .bind(to_db_time(until))
    .bind(list_id)
    .fetch_all(pool)
    .await
    .context("reading candidate stories")?;
    Ok(rows.into_iter().map(StoryRecord::from).collect())
}

/// A built edition about to be stored.
pub struct NewEdition<'a> {
    pub list_id: i64,
    pub local_date: NaiveDate,
    /// `None` records a skipped edition: nothing qualified.
    pub content: Option<EditionContent<'a>>,
    pub built_at: DateTime<Utc>,
}

pub struct EditionContent<'a> {
    pub subject: &'a str,
    pub html: &'a str,
    pub text: &'a str,
    pub story_ids: &'a [i64],
}

/// Stores the edition unless one exists for that list and date already; returns the new id, or
/// `None` when another run created it first (the unique key decides, not a flag).
#[instrument(skip_all)]
pub async fn create(
    conn: &mut SqliteConnection,
    edition: &NewEdition<'_>,
) -> anyhow::Result<Option<i64>> {
    let content = edition.content.as_ref();
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO editions (list_id, local_date, status, subject, html, text, built_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (list_id, local_date) DO NOTHING
         RETURNING id",
    )
    .bind(edition.list_id)
    .bind(edition.local_date.to_string())
    .bind(if content.is_some() {
        "ready"
    } else {
        "skipped"
    })
    .bind(content.map(|c| c.subject))
    .bind(content.map(|c| c.html))
    .bind(content.map(|c| c.text))
    .bind(to_db_time(edition.built_at))
    .fetch_optional(&mut *conn)
    .await
    .context("storing edition")?;
    let Some(id) = id else { return Ok(None) };
    for (position, story_id) in content.map_or(&[][..], |c| c.story_ids).iter().enumerate() {
        sqlx::query(
            "INSERT INTO edition_stories (edition_id, story_id, position) VALUES (?, ?, ?)",
        )
        .bind(id)
        .bind(story_id)
        .bind(position as i64)
        .execute(&mut *conn)
        .await
        .context("storing edition stories")?;
    }
    Ok(Some(id))
}
