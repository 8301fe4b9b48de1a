//! Editions: what a list sent (or skipped) on one local date, and which stories it carried.

use crate::domain::EditionState;
use crate::store::{Connection, Pool};
use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use tracing::instrument;

use crate::store::stories::{StoryRecord, StoryRow, STORY_COLUMNS};
use crate::store::{from_db_time, to_db_time};

/// When the list's latest edition was built: the start of the next edition's story window.
#[instrument(skip_all)]
pub async fn latest_built_at(pool: &Pool, list_id: i64) -> anyhow::Result<Option<DateTime<Utc>>> {
    let at: Option<i64> =
        sqlx::query_scalar("SELECT MAX(built_at) FROM editions WHERE list_id = $1")
            .bind(list_id)
            .fetch_one(pool)
            .await
            .context("reading latest edition")?;
    Ok(at.map(from_db_time))
}

/// Stories published in `(since, until]` that no edition of the list has carried yet.
#[instrument(skip_all)]
pub async fn uncarried_stories(
    pool: &Pool,
    list_id: i64,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> anyhow::Result<Vec<StoryRecord>> {
    let rows: Vec<StoryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STORY_COLUMNS}
         FROM stories s
         WHERE s.published_at > $1 AND s.published_at <= $2 AND s.withdrawn_at IS NULL
           AND NOT EXISTS (
               SELECT 1 FROM edition_stories es JOIN editions e ON e.id = es.edition_id
               WHERE es.story_id = s.id AND e.list_id = $3)
         ORDER BY s.published_at DESC, s.id DESC",
    )))
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
    conn: &mut Connection,
    edition: &NewEdition<'_>,
) -> anyhow::Result<Option<i64>> {
    let content = edition.content.as_ref();
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO editions (list_id, local_date, status, subject, html, text, built_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (list_id, local_date) DO NOTHING
         RETURNING id",
    )
    .bind(edition.list_id)
    .bind(edition.local_date.to_string())
    .bind(EditionState::built(content.is_some()).as_str())
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
            "INSERT INTO edition_stories (edition_id, story_id, position) VALUES ($1, $2, $3)",
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

/// A stored edition.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EditionRecord {
    pub id: i64,
    pub list_id: i64,
    pub local_date: String,
    #[sqlx(try_from = "String")]
    pub status: EditionState,
    pub subject: Option<String>,
    pub html: Option<String>,
    pub text: Option<String>,
    pub built_at: i64,
}

const EDITION_COLUMNS: &str = "id, list_id, local_date, status, subject, html, text, built_at";

#[instrument(skip_all)]
pub async fn find(
    pool: &Pool,
    list_id: i64,
    local_date: NaiveDate,
) -> anyhow::Result<Option<EditionRecord>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {EDITION_COLUMNS} FROM editions WHERE list_id = $1 AND local_date = $2"
    )))
    .bind(list_id)
    .bind(local_date.to_string())
    .fetch_optional(pool)
    .await
    .context("reading edition")
}

#[instrument(skip_all)]
pub async fn get(pool: &Pool, id: i64) -> anyhow::Result<EditionRecord> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {EDITION_COLUMNS} FROM editions WHERE id = $1"
    )))
    .bind(id)
    .fetch_one(pool)
    .await
    .context("reading edition")
}

/// How many stories the edition carries.
#[instrument(skip_all)]
pub async fn story_count(pool: &Pool, edition_id: i64) -> anyhow::Result<usize> {
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM edition_stories WHERE edition_id = $1")
            .bind(edition_id)
            .fetch_one(pool)
            .await
            .context("counting the edition's stories")?;
    Ok(usize::try_from(count).unwrap_or_default())
}

/// Moves a ready edition to `sending`, or a sending one to `sent` once nothing is unfinished.
#[instrument(skip_all)]
pub async fn set_status(
    pool: &Pool,
    id: i64,
    status: EditionState,
    completed_at: Option<DateTime<Utc>>,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE editions SET status = $1, completed_at = COALESCE($2, completed_at) WHERE id = $3",
    )
    .bind(status.as_str())
    .bind(completed_at.map(to_db_time))
    .bind(id)
    .execute(pool)
    .await
    .context("updating edition status")?;
    Ok(())
}

/// Editions built since `since` that still have deliveries to make (a run stopped short: a
/// dead relay, a stop, deferred recipients), oldest first.
#[instrument(skip_all)]
pub async fn unfinished(pool: &Pool, since: DateTime<Utc>) -> anyhow::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT e.id FROM editions e
         WHERE e.status IN ('ready', 'sending') AND e.built_at >= $1
           AND EXISTS (SELECT 1 FROM deliveries d WHERE d.edition_id = e.id
                       AND d.status IN ('pending', 'sending', 'retry', 'deferred'))
         ORDER BY e.built_at",
    )
    .bind(to_db_time(since))
    .fetch_all(pool)
    .await
    .context("reading unfinished editions")
}

/// Records why the edition's last run stopped short; `None` once it is finished.
#[instrument(skip_all)]
pub async fn set_last_error(pool: &Pool, id: i64, error: Option<&str>) -> anyhow::Result<()> {
    sqlx::query("UPDATE editions SET last_error = $1 WHERE id = $2")
        .bind(error)
        .bind(id)
        .execute(pool)
        .await
        .context("recording why the edition stopped")?;
    Ok(())
}

/// One line of `digest status` (its `--json` shape too).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct EditionStatus {
    pub list: String,
    pub date: String,
    #[sqlx(try_from = "String")]
    pub status: EditionState,
    pub total: i64,
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// Why the last run stopped short, if the edition is unfinished.
    pub last_error: Option<String>,
    #[serde(skip)]
    pub edition_id: i64,
    /// Each node's (and process's) share: what it sent, what it holds now.
    #[sqlx(skip)]
    pub nodes: Vec<crate::store::deliveries::NodeProgress>,
}

/// Editions newest first, with delivery counts and each node's share; `pending` counts every
/// unfinished row.
#[instrument(skip_all)]
pub async fn status_report(
    pool: &Pool,
    list_id: Option<i64>,
) -> anyhow::Result<Vec<EditionStatus>> {
    let mut rows: Vec<EditionStatus> = sqlx::query_as(
        "SELECT e.id AS edition_id, l.slug AS list, e.local_date AS date, e.status,
                COUNT(d.subscriber_id) AS total,
                COUNT(*) FILTER (WHERE d.status IN ('pending', 'sending', 'retry', 'deferred')) AS pending,
                COUNT(*) FILTER (WHERE d.status = 'sent') AS sent,
                COUNT(*) FILTER (WHERE d.status = 'failed') AS failed,
                COUNT(*) FILTER (WHERE d.status = 'cancelled') AS cancelled,
                e.last_error
         FROM editions e JOIN lists l ON l.id = e.list_id
         LEFT JOIN deliveries d ON d.edition_id = e.id
         WHERE $1 IS NULL OR e.list_id = $1
         GROUP BY e.id, l.slug
         ORDER BY e.local_date DESC, l.slug",
    )
    .bind(list_id)
    .fetch_all(pool)
    .await
    .context("reading edition status")?;
    for share in crate::store::deliveries::progress_by_node(pool, list_id).await? {
        if let Some(row) = rows
            .iter_mut()
            .find(|row| row.edition_id == share.edition_id)
        {
            row.nodes.push(share);
        }
    }
    Ok(rows)
}

/// An edition as the archive lists it.
#[derive(Debug, Clone)]
pub struct ArchivedEdition {
    pub local_date: NaiveDate,
    /// The lead story's title (the subject, for an edition whose stories are gone).
    pub headline: String,
    pub stories: i64,
    pub built_at: DateTime<Utc>,
    /// The title of the story readers clicked most, once any was clicked.
    pub most_read: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ArchivedRow {
    local_date: String,
    headline: Option<String>,
    subject: Option<String>,
    stories: i64,
    built_at: i64,
    most_read: Option<String>,
}

/// How many editions of the list were mailed (not skipped).
#[instrument(skip_all)]
pub async fn published_count(pool: &Pool, list_id: i64) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM editions WHERE list_id = $1 AND status != 'skipped'")
        .bind(list_id)
        .fetch_one(pool)
        .await
        .context("counting archived editions")
}

/// A page of the list's mailed editions, newest first, each with its lead headline.
#[instrument(skip_all)]
pub async fn published(
    pool: &Pool,
    list_id: i64,
    limit: u32,
    offset: u64,
) -> anyhow::Result<Vec<ArchivedEdition>> {
    let rows: Vec<ArchivedRow> = sqlx::query_as(
        "SELECT e.local_date, e.subject, e.built_at,
                (SELECT s.title FROM edition_stories es JOIN stories s ON s.id = es.story_id
                 WHERE es.edition_id = e.id ORDER BY es.position LIMIT 1) AS headline,
                (SELECT COUNT(*) FROM edition_stories es WHERE es.edition_id = e.id) AS stories,
                (SELECT s.title FROM story_clicks c JOIN stories s ON s.id = c.story_id
                 WHERE c.edition_id = e.id
                 GROUP BY s.id, s.title HAVING SUM(c.clicks) > 0
                 ORDER BY SUM(c.clicks) DESC, s.id LIMIT 1) AS most_read
         FROM editions e
         WHERE e.list_id = $1 AND e.status != 'skipped'
         ORDER BY e.local_date DESC LIMIT $2 OFFSET $3",
    )
    .bind(list_id)
    .bind(i64::from(limit))
    .bind(i64::try_from(offset).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await
    .context("reading archive")?;
    rows.into_iter()
        .map(|row| {
            Ok(ArchivedEdition {
                local_date: row
                    .local_date
                    .parse()
                    .with_context(|| format!("stored edition date {:?}", row.local_date))?,
                headline: crate::domain::text::single_line(
                    row.headline.or(row.subject).as_deref().unwrap_or_default(),
                ),
                stories: row.stories,
                built_at: from_db_time(row.built_at),
                most_read: row
                    .most_read
                    .as_deref()
                    .map(crate::domain::text::single_line),
            })
        })
        .collect()
}

/// The stories an edition carries, in their order.
#[instrument(skip_all)]
pub async fn stories_of(pool: &Pool, edition_id: i64) -> anyhow::Result<Vec<StoryRecord>> {
    let rows: Vec<StoryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STORY_COLUMNS}
         FROM edition_stories es JOIN stories s ON s.id = es.story_id
         WHERE es.edition_id = $1
         ORDER BY es.position",
    )))
    .bind(edition_id)
    .fetch_all(pool)
    .await
    .context("reading an edition's stories")?;
    Ok(rows.into_iter().map(StoryRecord::from).collect())
}

/// These stories, unless withdrawn (editors' pins, which may lie outside the usual window).
#[instrument(skip_all)]
pub async fn pinnable(pool: &Pool, story_ids: &[i64]) -> anyhow::Result<Vec<StoryRecord>> {
    let mut out = Vec::with_capacity(story_ids.len());
    for story_id in story_ids {
        let row: Option<StoryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {STORY_COLUMNS} FROM stories s WHERE s.id = $1 AND s.withdrawn_at IS NULL",
        )))
        .bind(story_id)
        .fetch_optional(pool)
        .await
        .context("reading a pinned story")?;
        out.extend(row.map(StoryRecord::from));
    }
    Ok(out)
}
