//! Feeds to poll, with what the last poll left behind.

use crate::store::Pool;
use anyhow::Context;
use chrono::{DateTime, Utc};
use tracing::instrument;

use crate::domain::{Section, StoryUrl};
use crate::error::BadInput;
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
}

type FeedRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

fn record(row: FeedRow) -> FeedRecord {
    let (id, url, section, etag, last_modified, polled, last_error) = row;
    FeedRecord {
        id,
        url,
        section,
        etag,
        last_modified,
        last_polled_at: polled.map(from_db_time),
        last_error,
    }
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
        return Err(BadInput(format!("feed {:?} is already there", url.as_str())).into());
    }
    Ok(())
}

#[instrument(skip_all)]
pub async fn all(pool: &Pool) -> anyhow::Result<Vec<FeedRecord>> {
    let rows: Vec<FeedRow> = sqlx::query_as(
        "SELECT id, url, section, etag, last_modified, last_polled_at, last_error FROM feeds ORDER BY url",
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
        return Err(BadInput(format!("unknown feed {:?}", url.as_str())).into());
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
    validators: Option<(Option<String>, Option<String>)>,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let (set_validators, etag, last_modified) = match validators {
        Some((etag, modified)) => (true, etag, modified),
        None => (false, None, None),
    };
    sqlx::query(
        "UPDATE feeds SET last_polled_at = $1, last_error = $2,
             polling_by = NULL, polling_until = NULL,
             etag = CASE WHEN $3 THEN $4 ELSE etag END,
             last_modified = CASE WHEN $5 THEN $6 ELSE last_modified END
         WHERE id = $7",
    )
    .bind(to_db_time(now))
    .bind(error)
    .bind(set_validators)
    .bind(etag)
    .bind(set_validators)
    .bind(last_modified)
    .bind(id)
    .execute(pool)
    .await
    .context("recording poll")?;
    Ok(())
}
