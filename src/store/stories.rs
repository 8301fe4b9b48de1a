//! Stories: articles and blog posts, upserted by URL.

use crate::store::{Connection, Pool};
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::instrument;

use crate::domain::{ImageSize, NewImage, Score, Section, StoryTitle, StoryUrl, Views};
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
    pub image: Option<NewImage>,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub score: Option<Score>,
    pub views: Option<Views>,
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
    pub image_size: Option<ImageSize>,
    pub image_caption: Option<String>,
    pub image_credit: Option<String>,
    pub published_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    pub score: i64,
    /// Page views the site sent.
    pub views: i64,
    /// Readers' clicks on the story in every edition that carried it (filtered ones apart).
    pub clicks: i64,
}

/// The columns a [`StoryRow`] reads, for queries elsewhere in the store (`s` is `stories`).
pub(crate) const STORY_COLUMNS: &str = "s.id, s.url, s.title, s.summary, s.author, s.section, \
     s.image_url, s.image_width, s.image_height, s.image_caption, s.image_credit, \
     s.published_at, s.updated_at, s.score, s.views, \
     (SELECT CAST(COALESCE(SUM(c.clicks), 0) AS BIGINT) FROM story_clicks c \
      WHERE c.story_id = s.id) AS clicks";

#[derive(sqlx::FromRow)]
pub(crate) struct StoryRow {
    pub(crate) id: i64,
    url: String,
    title: String,
    summary: Option<String>,
    author: Option<String>,
    section: String,
    image_url: Option<String>,
    image_width: Option<i64>,
    image_height: Option<i64>,
    image_caption: Option<String>,
    image_credit: Option<String>,
    published_at: i64,
    updated_at: Option<i64>,
    score: i64,
    views: i64,
    clicks: i64,
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
            image_size: match (row.image_width, row.image_height) {
                (Some(width), Some(height)) => ImageSize::new(
                    u64::try_from(width).unwrap_or(0),
                    u64::try_from(height).unwrap_or(0),
                ),
                _ => None,
            },
            image_caption: row.image_caption,
            image_credit: row.image_credit,
            published_at: from_db_time(row.published_at),
            updated_at: row.updated_at.map(from_db_time),
            score: row.score,
            views: row.views,
            clicks: row.clicks,
        }
    }
}

/// How an update treats the picture columns, with $7 the picture's link, $12/$13 its size and
/// $14/$15 its caption and credit: a new link forgets what was known of the old picture.
const IMAGE_UPDATE: &str = "
             image_width = CASE WHEN $7 IS NULL OR $7 = stories.image_url
                 THEN COALESCE($12, stories.image_width) ELSE $12 END,
             image_height = CASE WHEN $7 IS NULL OR $7 = stories.image_url
                 THEN COALESCE($13, stories.image_height) ELSE $13 END,
             image_caption = CASE WHEN $7 IS NULL OR $7 = stories.image_url
                 THEN COALESCE($14, stories.image_caption) ELSE $14 END,
             image_credit = CASE WHEN $7 IS NULL OR $7 = stories.image_url
                 THEN COALESCE($15, stories.image_credit) ELSE $15 END,
             image_checked_at = CASE WHEN $7 IS NULL OR $7 = stories.image_url
                 THEN stories.image_checked_at ELSE NULL END,
             image_url = COALESCE($7, stories.image_url)";

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
    conn: &mut Connection,
    story: &NewStory,
    now: DateTime<Utc>,
) -> anyhow::Result<Upserted> {
    let known: i64 = sqlx::query_scalar(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM stories WHERE url = $1) THEN 1 ELSE 0 END",
    )
    .bind(story.url.as_str())
    .fetch_one(&mut *conn)
    .await
    .context("looking up story")?;
    let image = story.image.as_ref();
    let image_size = image.and_then(|image| image.size);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO stories
             (url, guid, title, summary, author, section, image_url, published_at, updated_at,
              score, created_at, image_width, image_height, image_caption, image_credit, views)
         VALUES ($1, $2, $3, $4, $5, COALESCE($6, 'news'), $7, COALESCE($8, $11), $9,
                 COALESCE($10, 0), $11, $12, $13, $14, $15, COALESCE($16, 0))
         ON CONFLICT (url) DO UPDATE SET
             guid = COALESCE(excluded.guid, stories.guid),
             title = excluded.title,
             summary = COALESCE($4, stories.summary),
             author = COALESCE($5, stories.author),
             section = COALESCE($6, stories.section),
             {IMAGE_UPDATE},
             published_at = COALESCE($8, stories.published_at),
             updated_at = COALESCE($9, stories.updated_at),
             score = COALESCE($10, stories.score),
             views = COALESCE($16, stories.views)",
    )))
    .bind(story.url.as_str())
    .bind(story.guid.as_deref())
    .bind(story.title.as_str())
    .bind(story.summary.as_deref())
    .bind(story.author.as_deref())
    .bind(story.section.as_ref().map(Section::as_str))
    .bind(image.map(|image| image.url.as_str()))
    .bind(story.published_at.map(to_db_time))
    .bind(story.updated_at.map(to_db_time))
    .bind(story.score.map(Score::get))
    .bind(to_db_time(now))
    .bind(image_size.map(|size| i64::from(size.width)))
    .bind(image_size.map(|size| i64::from(size.height)))
    .bind(image.and_then(|image| image.caption.as_deref()))
    .bind(image.and_then(|image| image.credit.as_deref()))
    .bind(story.views.map(Views::get))
    .execute(&mut *conn)
    .await
    .context("storing story")?;
    Ok(if known != 0 {
        Upserted::Updated
    } else {
        Upserted::Inserted
    })
}

/// Stories published at or after `since` (all when `None`), newest first.
#[instrument(skip_all)]
pub async fn published_since(
    pool: &Pool,
    since: Option<DateTime<Utc>>,
) -> anyhow::Result<Vec<StoryRecord>> {
    let rows: Vec<StoryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STORY_COLUMNS} FROM stories s WHERE s.published_at >= $1
         ORDER BY s.published_at DESC, s.id DESC",
    )))
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

/// How many stories have a URL outside `site` (a prefix such as `https://news.example.org/`).
#[instrument(skip_all)]
pub async fn count_outside(pool: &Pool, site: &str) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM stories WHERE url NOT LIKE $1")
        .bind(format!("{site}%"))
        .fetch_one(pool)
        .await
        .context("counting stories")
}

/// A feed item as stored, what an update compares against.
#[derive(sqlx::FromRow)]
struct StoredItem {
    id: i64,
    url: String,
    title: String,
    summary: Option<String>,
    author: Option<String>,
    updated_at: Option<i64>,
    image_url: Option<String>,
}

/// Stores a feed item: found by guid, else by link, and updated in place when its title,
/// summary, author, link or updated time changed; never duplicated. A new item without a publish
/// time counts as published when first seen (`now`). Run inside a write transaction.
#[instrument(skip_all, fields(url = %story.url))]
pub async fn upsert_feed_item(
    conn: &mut Connection,
    story: &NewStory,
    now: DateTime<Utc>,
) -> anyhow::Result<FeedUpsert> {
    let mut current: Option<StoredItem> = None;
    if let Some(guid) = &story.guid {
        current = sqlx::query_as(
            "SELECT id, url, title, summary, author, updated_at, image_url FROM stories WHERE guid = $1",
        )
        .bind(guid)
        .fetch_optional(&mut *conn)
        .await
        .context("looking up feed item")?;
    }
    if current.is_none() {
        current = sqlx::query_as(
            "SELECT id, url, title, summary, author, updated_at, image_url FROM stories WHERE url = $1",
        )
        .bind(story.url.as_str())
        .fetch_optional(&mut *conn)
        .await
        .context("looking up feed item")?;
    }
    let Some(StoredItem {
        id,
        url,
        title,
        summary,
        author,
        updated_at,
        image_url,
    }) = current
    else {
        upsert(conn, story, now).await?;
        return Ok(FeedUpsert::Inserted);
    };
    let unchanged = url == story.url.as_str()
        && title == story.title.as_str()
        && (story.summary.is_none() || summary == story.summary)
        && (story.author.is_none() || author == story.author)
        && (story.updated_at.is_none() || updated_at == story.updated_at.map(to_db_time))
        && story
            .image
            .as_ref()
            .is_none_or(|image| image_url.as_deref() == Some(image.url.as_str()));
    if unchanged {
        return Ok(FeedUpsert::Unchanged);
    }
    // A changed link moves the story, unless another story already has that link.
    let image = story.image.as_ref();
    let image_size = image.and_then(|image| image.size);
    // [`IMAGE_UPDATE`] is shared with `upsert` and names its parameters by number ($7, $12 to
    // $15), so this statement binds every number up to 15; $6, $10 and $11 are unused here.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE stories SET
             url = CASE WHEN EXISTS (SELECT 1 FROM stories WHERE url = $1 AND id != $8) THEN url ELSE $1 END,
             guid = COALESCE($2, guid), title = $3, summary = COALESCE($4, summary),
             author = COALESCE($5, author), {IMAGE_UPDATE},
             updated_at = COALESCE($9, updated_at)
         WHERE id = $8",
    )))
    .bind(story.url.as_str())
    .bind(story.guid.as_deref())
    .bind(story.title.as_str())
    .bind(story.summary.as_deref())
    .bind(story.author.as_deref())
    .bind(None::<&str>)
    .bind(image.map(|image| image.url.as_str()))
    .bind(id)
    .bind(story.updated_at.map(to_db_time))
    .bind(None::<i64>)
    .bind(None::<i64>)
    .bind(image_size.map(|size| i64::from(size.width)))
    .bind(image_size.map(|size| i64::from(size.height)))
    .bind(image.and_then(|image| image.caption.as_deref()))
    .bind(image.and_then(|image| image.credit.as_deref()))
    .execute(&mut *conn)
    .await
    .context("updating feed item")?;
    Ok(FeedUpsert::Updated)
}

/// A story's picture whose size is not known yet.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UnmeasuredPicture {
    pub story_id: i64,
    pub url: String,
}

/// Pictures never measured of stories published since `since`, newest first (they are the ones
/// the next edition carries; older stories will not be mailed again).
#[instrument(skip_all)]
pub async fn unmeasured_pictures(
    pool: &Pool,
    since: DateTime<Utc>,
    limit: u32,
) -> anyhow::Result<Vec<UnmeasuredPicture>> {
    sqlx::query_as(
        "SELECT id AS story_id, image_url AS url FROM stories
         WHERE image_url IS NOT NULL AND image_width IS NULL AND image_checked_at IS NULL
           AND published_at >= $1
         ORDER BY published_at DESC LIMIT $2",
    )
    .bind(to_db_time(since))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .context("reading pictures to measure")
}

/// Records what measuring the picture found (`None`: it could not be read; not tried again
/// until the story gets another picture). Nothing changes if the story's picture changed since.
#[instrument(skip_all)]
pub async fn record_picture_size(
    pool: &Pool,
    picture: &UnmeasuredPicture,
    size: Option<ImageSize>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE stories SET image_width = COALESCE($1, image_width),
                            image_height = COALESCE($2, image_height), image_checked_at = $3
         WHERE id = $4 AND image_url = $5",
    )
    .bind(size.map(|size| i64::from(size.width)))
    .bind(size.map(|size| i64::from(size.height)))
    .bind(to_db_time(now))
    .bind(picture.story_id)
    .bind(&picture.url)
    .execute(pool)
    .await
    .context("recording a picture's size")?;
    Ok(())
}

/// The id of the story stored under `url`.
#[instrument(skip_all)]
pub async fn id_by_url(pool: &Pool, url: &StoryUrl) -> anyhow::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM stories WHERE url = $1")
        .bind(url.as_str())
        .fetch_optional(pool)
        .await
        .context("looking up a story by URL")
}
