//! Mailing lists.

use crate::store::Pool;
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::instrument;

use crate::domain::{
    CronExpr, Language, ListSlug, ListTitle, MaxStories, Schedule, Sender, Timezone,
};
use crate::store::StoreError;
use crate::store::{from_db_time, to_db_time};

#[derive(Debug, Clone)]
pub struct ListRecord {
    pub id: i64,
    pub slug: ListSlug,
    pub title: ListTitle,
    pub schedule: Schedule,
    pub max_stories: MaxStories,
    /// Overrides `newsletter.from` for this list.
    pub from_address: Option<Sender>,
    /// The language every word of its editions and pages is in.
    pub language: Language,
    /// Whether stories after the lead show their picture as a thumbnail.
    pub thumbnails: bool,
    /// Whether story links go through a counted redirect (see `clicks`).
    pub click_counting: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewList {
    pub slug: ListSlug,
    pub title: ListTitle,
    pub schedule: Schedule,
    pub max_stories: MaxStories,
    pub from_address: Option<Sender>,
    pub language: Language,
    pub thumbnails: bool,
    pub click_counting: bool,
}

/// The fields `list set` changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ListChanges {
    pub title: Option<ListTitle>,
    pub cron: Option<CronExpr>,
    pub timezone: Option<Timezone>,
    pub max_stories: Option<MaxStories>,
    pub from_address: Option<Sender>,
    pub language: Option<Language>,
    pub thumbnails: Option<bool>,
    pub click_counting: Option<bool>,
}

/// How many subscriptions of a list are in each status.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct StatusCounts {
    pub pending: i64,
    pub active: i64,
    pub unsubscribed: i64,
    pub bounced: i64,
}

#[derive(sqlx::FromRow)]
struct ListRow {
    id: i64,
    slug: String,
    title: String,
    schedule: String,
    timezone: String,
    max_stories: i64,
    from_address: Option<String>,
    language: String,
    /// 0 or 1: both databases store the flag as an integer.
    thumbnails: i64,
    click_counting: i64,
    created_at: i64,
}

impl TryFrom<ListRow> for ListRecord {
    type Error = anyhow::Error;
    fn try_from(row: ListRow) -> anyhow::Result<Self> {
        let corrupt = || format!("stored list #{} is not valid", row.id);
        Ok(Self {
            id: row.id,
            slug: ListSlug::parse(&row.slug).with_context(corrupt)?,
            title: ListTitle::parse(&row.title).with_context(corrupt)?,
            schedule: Schedule {
                cron: CronExpr::parse(&row.schedule).with_context(corrupt)?,
                timezone: Timezone::parse(&row.timezone).with_context(corrupt)?,
            },
            max_stories: MaxStories::parse(row.max_stories).with_context(corrupt)?,
            from_address: row
                .from_address
                .as_deref()
                .map(Sender::parse)
                .transpose()
                .with_context(corrupt)?,
            language: Language::parse(&row.language).with_context(corrupt)?,
            thumbnails: row.thumbnails != 0,
            click_counting: row.click_counting != 0,
            created_at: from_db_time(row.created_at),
        })
    }
}

const COLUMNS: &str =
    "id, slug, title, schedule, timezone, max_stories, from_address, language, thumbnails, \
     click_counting, created_at";

#[instrument(skip_all, fields(slug = %list.slug))]
pub async fn insert(pool: &Pool, list: &NewList, now: DateTime<Utc>) -> anyhow::Result<ListRecord> {
    let row: Option<ListRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO lists (slug, title, schedule, timezone, max_stories, from_address, language,
                            thumbnails, click_counting, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (slug) DO NOTHING
         RETURNING {COLUMNS}",
    )))
    .bind(list.slug.as_str())
    .bind(list.title.as_str())
    .bind(list.schedule.cron.as_str())
    .bind(list.schedule.timezone.name())
    .bind(i64::from(list.max_stories.get()))
    .bind(list.from_address.as_ref().map(Sender::to_string))
    .bind(list.language.to_string())
    .bind(i64::from(list.thumbnails))
    .bind(i64::from(list.click_counting))
    .bind(to_db_time(now))
    .bind(to_db_time(now))
    .fetch_optional(pool)
    .await
    .context("inserting list")?;
    match row {
        Some(row) => row.try_into(),
        None => Err(
            StoreError::Conflict(format!("list {:?} already exists", list.slug.as_str())).into(),
        ),
    }
}

#[instrument(skip_all, fields(slug = %slug))]
pub async fn update(
    pool: &Pool,
    slug: &ListSlug,
    changes: &ListChanges,
    now: DateTime<Utc>,
) -> anyhow::Result<ListRecord> {
    let row: Option<ListRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE lists SET
             title = COALESCE($1, title),
             schedule = COALESCE($2, schedule),
             timezone = COALESCE($3, timezone),
             max_stories = COALESCE($4, max_stories),
             from_address = COALESCE($5, from_address),
             language = COALESCE($6, language),
             thumbnails = COALESCE($7, thumbnails),
             click_counting = COALESCE($8, click_counting),
             updated_at = $9
         WHERE slug = $10
         RETURNING {COLUMNS}",
    )))
    .bind(changes.title.as_ref().map(ListTitle::as_str))
    .bind(changes.cron.as_ref().map(CronExpr::as_str))
    .bind(changes.timezone.map(Timezone::name))
    .bind(changes.max_stories.map(|n| i64::from(n.get())))
    .bind(changes.from_address.as_ref().map(Sender::to_string))
    .bind(changes.language.as_ref().map(Language::to_string))
    .bind(changes.thumbnails.map(i64::from))
    .bind(changes.click_counting.map(i64::from))
    .bind(to_db_time(now))
    .bind(slug.as_str())
    .fetch_optional(pool)
    .await
    .context("updating list")?;
    match row {
        Some(row) => row.try_into(),
        None => Err(unknown(slug).into()),
    }
}

#[instrument(skip_all, fields(slug = %slug))]
pub async fn find(pool: &Pool, slug: &ListSlug) -> anyhow::Result<Option<ListRecord>> {
    let row: Option<ListRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM lists WHERE slug = $1"
    )))
    .bind(slug.as_str())
    .fetch_optional(pool)
    .await
    .context("reading list")?;
    row.map(ListRecord::try_from).transpose()
}

#[instrument(skip_all)]
pub async fn get(pool: &Pool, id: i64) -> anyhow::Result<ListRecord> {
    let row: ListRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM lists WHERE id = $1"
    )))
    .bind(id)
    .fetch_one(pool)
    .await
    .context("reading list")?;
    row.try_into()
}

/// The list, or a bad-input error naming the slug.
pub async fn require(pool: &Pool, slug: &ListSlug) -> anyhow::Result<ListRecord> {
    find(pool, slug).await?.ok_or_else(|| unknown(slug).into())
}

#[instrument(skip_all)]
/// How many lists there are.
#[instrument(skip_all)]
pub async fn count(pool: &Pool) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM lists")
        .fetch_one(pool)
        .await
        .context("counting lists")
}

pub async fn all(pool: &Pool) -> anyhow::Result<Vec<ListRecord>> {
    let rows: Vec<ListRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM lists ORDER BY slug"
    )))
    .fetch_all(pool)
    .await
    .context("reading lists")?;
    rows.into_iter().map(ListRecord::try_from).collect()
}

/// Deletes the list and, through the foreign keys, its subscriptions.
#[instrument(skip_all, fields(slug = %slug))]
pub async fn delete(pool: &Pool, slug: &ListSlug) -> anyhow::Result<()> {
    let deleted = sqlx::query("DELETE FROM lists WHERE slug = $1")
        .bind(slug.as_str())
        .execute(pool)
        .await
        .context("deleting list")?
        .rows_affected();
    if deleted == 0 {
        return Err(unknown(slug).into());
    }
    Ok(())
}

#[instrument(skip_all)]
pub async fn status_counts(pool: &Pool, list_id: i64) -> anyhow::Result<StatusCounts> {
    let (pending, active, unsubscribed, bounced): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT
             COUNT(*) FILTER (WHERE status = 'pending'),
             COUNT(*) FILTER (WHERE status = 'active'),
             COUNT(*) FILTER (WHERE status = 'unsubscribed'),
             COUNT(*) FILTER (WHERE status = 'bounced')
         FROM subscriptions WHERE list_id = $1",
    )
    .bind(list_id)
    .fetch_one(pool)
    .await
    .context("counting subscriptions")?;
    Ok(StatusCounts {
        pending,
        active,
        unsubscribed,
        bounced,
    })
}

fn unknown(slug: &ListSlug) -> StoreError {
    StoreError::NotFound(format!("unknown list {:?}", slug.as_str()))
}
