//! Stories: articles and blog posts, upserted by URL.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{SqliteConnection, SqlitePool};
use tracing::instrument;

use crate::domain::{Score, Section, StoryTitle, StoryUrl};
use crate::store::{from_db_time, to_db_time};

/// A story as it arrives. `None` fields keep what is stored when the URL is known already.
#[derive(Debug, Clone)]
pub struct NewStory {
    pub url: StoryUrl,
    pub guid: Option<String>,
    pub title: StoryTitle,
    pub summary: Option<String>,
    pub author: Option<String>,
    pub section: Option<Section>,
    pub image_url: Option<StoryUrl>,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub score: Option<Score>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoryRecord {
    pub id: i64,
    pub url: String,
    pub title: String,
    pub summary: Option<String>,
    pub author: Option<String>,
    pub section: String,
    pub image_url: Option<String>,
    pub published_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    pub score: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct StoryRow {
    pub(crate) id: i64,
    url: String,
    title: String,
    summary: Option<String>,
    author: Option<String>,
    section: String,
    image_url: Option<String>,
    published_at: i64,
    updated_at: Option<i64>,
    score: i64,
}

impl From<StoryRow> for StoryRecord {
    fn from(row: StoryRow) -> Self {
        Self {
            id: row.id,
            url: row.url,
            title: row.title,
            summary: row.summary,
            author: row.author,
            section: row.section,
            image_url: row.image_url,
            published_at: from_db_time(row.published_at),
            updated_at: row.updated_at.map(from_db_time),
            score: row.score,
        }
    }
}

/// Whether an upsert created the story or changed a known one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Inserted,
    Updated,
}

/// Inserts the story, or updates the one stored under its URL. A story first seen without a
/// publish time is taken as published now. Run it inside a write transaction
/// ([`crate::store::begin_immediate`]) so the answer matches what was written.
#[instrument(skip_all, fields(url = %story.url))]
pub async fn upsert(
    conn: &mut SqliteConnection,
    story: &NewStory,
    now: DateTime<Utc>,
) -> anyhow::Result<Upserted> {
    let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM stories WHERE url = ?)")
        .bind(story.url.as_str())
        .fetch_one(&mut *conn)
        .await
        .context("looking up story")?;
    sqlx::query(
        "INSERT INTO stories
             (url, guid, title, summary, author, section, image_url, published_at, updated_at,
              score, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, COALESCE(?6, 'news'), ?7, COALESCE(?8, ?11), ?9,
                 COALESCE(?10, 0), ?11)
         ON CONFLICT (url) DO UPDATE SET
             guid = COALESCE(excluded.guid, stories.guid),
             title = excluded.title,
             summary = COALESCE(?4, stories.summary),
             author = COALESCE(?5, stories.author),
             section = COALESCE(?6, stories.section),
             image_url = COALESCE(?7, stories.image_url),
             published_at = COALESCE(?8, stories.published_at),
             updated_at = COALESCE(?9, stories.updated_at),
             score = COALESCE(?10, stories.score)",
    )
    .bind(story.url.as_str())
    .bind(story.guid.as_deref())
    .bind(story.title.as_str())
    .bind(story.summary.as_deref())
    .bind(story.author.as_deref())
    .bind(story.section.as_ref().map(Section::as_str))
    .bind(story.image_url.as_ref().map(StoryUrl::as_str))
    .bind(story.published_at.map(to_db_time))
    .bind(story.updated_at.map(to_db_time))
    .bind(story.score.map(Score::get))
    .bind(to_db_time(now))
    .execute(&mut *conn)
    .await
    .context("storing story")?;
    Ok(if known {
        Upserted::Updated
    } else {
        Upserted::Inserted
    })
}

/// Stories published at or after `since` (all when `None`), newest first.
#[instrument(skip_all)]
pub async fn published_since(
    pool: &SqlitePool,
    since: Option<DateTime<Utc>>,
) -> anyhow::Result<Vec<StoryRecord>> {
    let rows: Vec<StoryRow> = sqlx::query_as(
        "SELECT id, url, title, summary, author, section, image_url, published_at, updated_at, score
         FROM stories WHERE published_at >= ?
         ORDER BY published_at DESC, id DESC",
    )
    .bind(since.map_or(i64::MIN, to_db_time))
    .fetch_all(pool)
    .await
    .context("reading stories")?;
    Ok(rows.into_iter().map(StoryRecord::from).collect())
}

/// What storing a feed item did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedUpsert {
    Inserted,
    Updated,
    Unchanged,
}

/// Stores a feed item: found by guid, else by link, and updated in place when its title,
/// summary, author, link or updated time changed; never duplicated. A new item without a publish
/// time counts as published when first seen (`now`). Run inside a write transaction.
#[instrument(skip_all, fields(url = %story.url))]
pub async fn upsert_feed_item(
    conn: &mut SqliteConnection,
    story: &NewStory,
    now: DateTime<Utc>,
) -> anyhow::Result<FeedUpsert> {
    type Current = (
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<i64>,
    );
    let mut current: Option<Current> = None;
    if let Some(guid) = &story.guid {
        current = sqlx::query_as(
            "SELECT id, url, title, summary, author, updated_at FROM stories WHERE guid = ?",
        )
        .bind(guid)
        .fetch_optional(&mut *conn)
        .await
        .context("looking up feed item")?;
    }
    if current.is_none() {
        current = sqlx::query_as(
            "SELECT id, url, title, summary, author, updated_at FROM stories WHERE url = ?",
        )
        .bind(story.url.as_str())
        .fetch_optional(&mut *conn)
        .await
        .context("looking up feed item")?;
    }
    let Some((id, url, title, summary, author, updated_at)) = current else {
        upsert(conn, story, now).await?;
        return Ok(FeedUpsert::Inserted);
    };
    let unchanged = url == story.url.as_str()
        && title == story.title.as_str()
        && (story.summary.is_none() || summary == story.summary)
        && (story.author.is_none() || author == story.author)
        && (story.updated_at.is_none() || updated_at == story.updated_at.map(to_db_time));
    if unchanged {
        return Ok(FeedUpsert::Unchanged);
    }
    // A changed link moves the story, unless another story already has that link.
    sqlx::query(
        "UPDATE stories SET
             url = CASE WHEN EXISTS (SELECT 1 FROM stories WHERE url = ?1 AND id != ?8) THEN url ELSE ?1 END,
             guid = COALESCE(?2, guid), title = ?3, summary = COALESCE(?4, summary),
             author = COALESCE(?5, author), image_url = COALESCE(?6, image_url),
             updated_at = COALESCE(?7, updated_at)
         WHERE id = ?8",
    )
    .bind(story.url.as_str())
    .bind(story.guid.as_deref())
    .bind(story.title.as_str())
    .bind(story.summary.as_deref())
    .bind(story.author.as_deref())
    .bind(story.image_url.as_ref().map(StoryUrl::as_str))
    .bind(story.updated_at.map(to_db_time))
    .bind(id)
    .execute(&mut *conn)
    .await
    .context("updating feed item")?;
    Ok(FeedUpsert::Updated)
}
