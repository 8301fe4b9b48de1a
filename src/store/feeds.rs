//! Feeds to poll, with what the last poll left behind.

use crate::store::Pool;
use anyhow::Context;
use chrono::{DateTime, Utc};
use tracing::instrument;

use crate::domain::{Section, StoryUrl};
use crate::store::StoreError;
use crate::store::{from_db_time, to_db_time};

#[derive(Debug, Clone)]
pub struct FeedRecord {
    pub id: i64,
    pub url: String,
    pub section: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// SHA-256 of the last body the parser failed on: the same body is not parsed again.
    pub failed_digest: Option<String>,
}

#[derive(sqlx::FromRow)]
struct FeedRow {
    id: i64,
    url: String,
    section: String,
    etag: Option<String>,
    last_modified: Option<String>,
    last_polled_at: Option<i64>,
    last_error: Option<String>,
    failed_digest: Option<String>,
}

fn record(row: FeedRow) -> FeedRecord {
    FeedRecord {
        id: row.id,
        url: row.url,
        section: row.section,
        etag: row.etag,
        last_modified: row.last_modified,
        last_polled_at: row.last_polled_at.map(from_db_time),
        last_error: row.last_error,
        failed_digest: row.failed_digest,
    }
}

/// A feed's cache validators, sent back on the next poll so an unchanged feed costs a 304.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What one poll tells about the body the parser failed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailedBody {
    /// Nothing new was learned (not fetched, not modified, or the same body that failed
    /// before): keep what is recorded.
    Keep,
    /// The parser failed on the body with this digest.
    Failed(String),
    /// A body was parsed: forget any failed one.
    Clear,
}

#[instrument(skip_all)]
pub async fn add(
    pool: &Pool,
    url: &StoryUrl,
    section: &Section,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let inserted = sqlx::query("INSERT INTO feeds (url, section, created_at) VALUES ($1, $2, $3) ON CONFLICT (url) DO NOTHING")
        .bind(url.as_str())
        .bind(section.as_str())
        .bind(to_db_time(now))
        .execute(pool)
        .await
        .context("storing feed")?
        .rows_affected();
    if inserted == 0 {
        return Err(
            StoreError::Conflict(format!("feed {:?} is already there", url.as_str())).into(),
        );
    }
    Ok(())
}

#[instrument(skip_all)]
pub async fn all(pool: &Pool) -> anyhow::Result<Vec<FeedRecord>> {
    let rows: Vec<FeedRow> = sqlx::query_as(
        "SELECT id, url, section, etag, last_modified, last_polled_at, last_error, failed_digest
         FROM feeds ORDER BY url",
    )
    .fetch_all(pool)
    .await
    .context("reading feeds")?;
    Ok(rows.into_iter().map(record).collect())
}

#[instrument(skip_all)]
pub async fn remove(pool: &Pool, url: &StoryUrl) -> anyhow::Result<()> {
    let removed = sqlx::query("DELETE FROM feeds WHERE url = $1")
        .bind(url.as_str())
        .execute(pool)
        .await
        .context("removing feed")?
        .rows_affected();
    if removed == 0 {
        return Err(StoreError::NotFound(format!("unknown feed {:?}", url.as_str())).into());
    }
    Ok(())
}

/// Takes the feed for one poll by `claimant` until `lease_until`, unless another node is polling
/// it now or, with `polled_before`, polled it since then: nodes sharing a database poll each
/// feed once per interval between them. False when the feed is not this node's to poll.
#[instrument(skip_all)]
pub async fn take_for_poll(
    pool: &Pool,
    id: i64,
    claimant: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    polled_before: Option<DateTime<Utc>>,
) -> anyhow::Result<bool> {
    let taken = sqlx::query(
        "UPDATE feeds SET polling_by = $1, polling_until = $2
         WHERE id = $3 AND (polling_until IS NULL OR polling_until < $4)
           AND ($5 IS NULL OR last_polled_at IS NULL OR last_polled_at < $5)",
    )
    .bind(claimant)
    .bind(to_db_time(lease_until))
    .bind(id)
    .bind(to_db_time(now))
    .bind(polled_before.map(to_db_time))
    .execute(pool)
    .await
    .context("taking a feed to poll")?
    .rows_affected();
    Ok(taken == 1)
}

/// What one poll left: new validators on success, the error otherwise.
#[instrument(skip_all)]
pub async fn record_poll(
    pool: &Pool,
    id: i64,
    validators: Option<Validators>,
    error: Option<&str>,
    failed_body: &FailedBody,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let (set_failed, failed_digest) = match failed_body {
        FailedBody::Keep => (false, None),
        FailedBody::Failed(digest) => (true, Some(digest.as_str())),
        FailedBody::Clear => (true, None),
    };
    let set_validators = validators.is_some();
    let Validators {
        etag,
        last_modified,
    } = validators.unwrap_or_default();
    sqlx::query(
        "UPDATE feeds SET last_polled_at = $1, last_error = $2,
             polling_by = NULL, polling_until = NULL,
             etag = CASE WHEN $3 THEN $4 ELSE etag END,
             last_modified = CASE WHEN $5 THEN $6 ELSE last_modified END,
             failed_digest = CASE WHEN $7 THEN $8 ELSE failed_digest END
         WHERE id = $9",
    )
    .bind(to_db_time(now))
    .bind(error)
    .bind(set_validators)
    .bind(etag)
    .bind(set_validators)
    .bind(last_modified)
    .bind(set_failed)
    .bind(failed_digest)
    .bind(id)
    .execute(pool)
    .await
    .context("recording poll")?;
    Ok(())
}
