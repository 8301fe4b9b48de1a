//! Each list's next due time, kept in SQLite so a restart knows what it missed.

use crate::store::Pool;
use anyhow::Context;
use chrono::{DateTime, Utc};
use tracing::instrument;

use crate::store::{from_db_time, to_db_time};

/// A list's stored schedule state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueState {
    pub list_id: i64,
    pub next_due_at: Option<DateTime<Utc>>,
    pub schedule_key: Option<String>,
}

#[instrument(skip_all)]
pub async fn all(pool: &Pool) -> anyhow::Result<Vec<DueState>> {
    let rows: Vec<(i64, Option<i64>, Option<String>)> =
        sqlx::query_as("SELECT id, next_due_at, schedule_key FROM lists ORDER BY id")
            .fetch_all(pool)
            .await
            .context("reading schedules")?;
    Ok(rows
        .into_iter()
        .map(|(list_id, next, schedule_key)| DueState {
            list_id,
            next_due_at: next.map(from_db_time),
            schedule_key,
        })
        .collect())
}

#[instrument(skip_all)]
pub async fn set_next_due(
    pool: &Pool,
    list_id: i64,
    next_due_at: Option<DateTime<Utc>>,
    schedule_key: &str,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE lists SET next_due_at = $1, schedule_key = $2 WHERE id = $3")
        .bind(next_due_at.map(to_db_time))
        .bind(schedule_key)
        .bind(list_id)
        .execute(pool)
        .await
        .context("storing next due time")?;
    Ok(())
}
