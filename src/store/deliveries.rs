//! Deliveries: the per-message state machine, with set-based enqueueing and batched bookkeeping.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::QueryBuilder;
use crate::store::{Connection, Pool};
use tracing::instrument;

use crate::store::{begin_immediate, from_db_time, to_db_time};

/// One row per active subscriber of the list, in one statement.
#[instrument(skip_all)]
pub async fn enqueue(
    conn: &mut Connection,
    edition_id: i64,
    list_id: i64,
) -> anyhow::Result<u64> {
    let inserted = sqlx::query(
        "INSERT INTO deliveries (edition_id, subscriber_id, status)
         SELECT $1, subscriber_id, 'pending' FROM subscriptions
         WHERE list_id = $2 AND status = 'active'
         ORDER BY subscriber_id",
    )
    .bind(edition_id)
    .bind(list_id)
    .execute(&mut *conn)
    .await
    .context("enqueueing deliveries")?
    .rows_affected();
    Ok(inserted)
}

/// A claimed delivery, with what the message needs.
#[derive(Debug, Clone)]
pub struct Job {
    pub subscriber_id: i64,
    pub email: String,
    pub name: Option<String>,
    pub unsubscribe_secret: String,
    pub attempts: i64,
}

/// id, email, name, subscription status (if any), unsubscribe secret.
type RecipientRow = (i64, String, Option<String>, Option<String>, String);

/// Marks up to `limit` due rows `sending` (committed before any SMTP work) and returns them.
/// Pending rows are taken in subscriber order after `cursor`; due retries from the start.
/// Rows whose subscription is no longer active are cancelled on the way: nobody who left is
/// mailed.
#[instrument(skip_all)]
pub async fn claim(
    pool: &Pool,
    edition_id: i64,
    list_id: i64,
    cursor: i64,
    limit: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Job>> {
    let mut tx = begin_immediate(pool).await.context("starting claim")?;
    let claimed: Vec<(i64, i64)> = sqlx::query_as(
        "UPDATE deliveries SET status = 'sending', attempts = attempts + 1
         WHERE edition_id = $1 AND subscriber_id IN (
             SELECT subscriber_id FROM deliveries
             WHERE edition_id = $1 AND subscriber_id > $2 AND status = 'pending'
             ORDER BY subscriber_id LIMIT $3)
         RETURNING subscriber_id, attempts",
    )
    .bind(edition_id)
    .bind(cursor)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await
    .context("claiming deliveries")?;
    let claimed = if claimed.is_empty() {
        sqlx::query_as(
            "UPDATE deliveries SET status = 'sending', attempts = attempts + 1
             WHERE edition_id = $1 AND subscriber_id IN (
                 SELECT subscriber_id FROM deliveries
                 WHERE edition_id = $1 AND status = 'retry' AND next_attempt_at <= $2
                 ORDER BY subscriber_id LIMIT $3)
             RETURNING subscriber_id, attempts",
        )
        .bind(edition_id)
        .bind(to_db_time(now))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await
        .context("claiming retries")?
    } else {
        claimed
    };
    if claimed.is_empty() {
        tx.commit().await.context("committing claim")?;
        return Ok(Vec::new());
    }

    let mut details = QueryBuilder::<sqlx::Any>::new(
        "SELECT p.id, p.email, p.name, s.status, COALESCE(s.unsubscribe_secret, '')
         FROM subscribers p LEFT JOIN subscriptions s ON s.subscriber_id = p.id AND s.list_id = ",
    );
    details.push_bind(list_id).push(" WHERE p.id IN (");
    let mut ids = details.separated(", ");
    for (id, _) in &claimed {
        ids.push_bind(id);
    }
    details.push(")");
    let rows: Vec<RecipientRow> = details
        .build_query_as()
        .fetch_all(&mut *tx)
        .await
        .context("reading recipients")?;

    let mut jobs = Vec::with_capacity(claimed.len());
    let mut cancelled = Vec::new();
    for (id, attempts) in claimed {
        match rows.iter().find(|row| row.0 == id) {
            Some((_, email, name, Some(status), secret)) if status == "active" => jobs.push(Job {
                subscriber_id: id,
                email: email.clone(),
                name: name.clone(),
                unsubscribe_secret: secret.clone(),
                attempts,
            }),
            _ => cancelled.push(id),
        }
    }
    for id in cancelled {
        sqlx::query(
            "UPDATE deliveries SET status = 'cancelled' WHERE edition_id = $1 AND subscriber_id = $2",
        )
        .bind(edition_id)
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("cancelling delivery")?;
    }
    tx.commit().await.context("committing claim")?;
    jobs.sort_by_key(|job| job.subscriber_id);
    Ok(jobs)
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Sent,
    /// The recipient's temporary failure: try again at the given time.
    Retry {
        error: String,
        at: DateTime<Utc>,
    },
    /// The recipient's temporary failures outlasted `max_attempts`: unfinished, for a later
    /// run (or `digest resend`) to try again. Not the reader's fault, never a bounce.
    Deferred {
        error: String,
    },
    /// Refused for good for this recipient. A bounce also stops mail to the address on this
    /// list.
    Failed {
        error: String,
        bounce: bool,
    },
    /// Not attempted, or failed through the server's fault or a stop: back in the queue at
    /// once, and the attempt does not count against the row.
    Requeue {
        error: String,
    },
}

/// Records a batch of outcomes in one transaction (group commit).
#[instrument(skip_all, fields(count = results.len()))]
pub async fn record(
    pool: &Pool,
    edition_id: i64,
    list_id: i64,
    results: &[(i64, Outcome)],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut tx = begin_immediate(pool).await.context("starting record")?;
    // The common case, sent, is one statement for the whole batch.
    let sent: Vec<i64> = results
        .iter()
        .filter(|(_, outcome)| *outcome == Outcome::Sent)
        .map(|(id, _)| *id)
        .collect();
    for chunk in sent.chunks(500) {
        let mut update = QueryBuilder::<sqlx::Any>::new("UPDATE deliveries SET status = 'sent', last_error = NULL, next_attempt_at = NULL, sent_at = ");
        update
            .push_bind(to_db_time(now))
            .push(" WHERE edition_id = ")
            .push_bind(edition_id)
            .push(" AND subscriber_id IN (");
        let mut ids = update.separated(", ");
        for id in chunk {
            ids.push_bind(id);
        }
        update.push(")");
        update
            .build()
            .execute(&mut *tx)
            .await
            .context("recording sent deliveries")?;
    }
    for (subscriber_id, outcome) in results {
        let (status, error, next, uncharged) = match outcome {
            Outcome::Sent => continue,
            Outcome::Retry { error, at } => ("retry", error, Some(to_db_time(*at)), 0),
            Outcome::Deferred { error } => ("deferred", error, None, 0),
            Outcome::Failed { error, .. } => ("failed", error, None, 0),
            Outcome::Requeue { error } => ("retry", error, Some(to_db_time(now)), 1),
        };
        sqlx::query(
            "UPDATE deliveries SET status = $1, last_error = $2, next_attempt_at = $3,
                 attempts = MAX(attempts - $4, 0)
             WHERE edition_id = $5 AND subscriber_id = $6",
        )
        .bind(status)
        .bind(error)
        .bind(next)
        .bind(uncharged)
        .bind(edition_id)
        .bind(subscriber_id)
        .execute(&mut *tx)
        .await
        .context("recording delivery")?;
        if let Outcome::Failed { bounce: true, .. } = outcome {
            sqlx::query(
                "UPDATE subscriptions SET status = 'bounced', bounce_count = bounce_count + 1,
                     confirm_secret = NULL,
                     updated_at = $1
                 WHERE list_id = $2 AND subscriber_id = $3 AND status = 'active'",
            )
            .bind(to_db_time(now))
            .bind(list_id)
            .bind(subscriber_id)
            .execute(&mut *tx)
            .await
            .context("recording bounce")?;
        }
    }
    tx.commit().await.context("committing delivery results")?;
    Ok(())
}

/// Puts rows claimed but not attempted (a stop, a lost connection before the attempt) back.
#[instrument(skip_all)]
pub async fn release(
    pool: &Pool,
    edition_id: i64,
    subscriber_ids: &[i64],
) -> anyhow::Result<()> {
    let mut tx = begin_immediate(pool).await.context("starting release")?;
    for id in subscriber_ids {
        sqlx::query(
            "UPDATE deliveries SET status = 'pending', attempts = MAX(attempts - 1, 0)
             WHERE edition_id = $1 AND subscriber_id = $2 AND status = 'sending'",
        )
        .bind(edition_id)
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("releasing delivery")?;
    }
    tx.commit().await.context("committing release")?;
    Ok(())
}

/// Rows left `sending` by a process that died: they may or may not have reached the server, so
/// they are sent again (at most one duplicate each). Only call with the edition's send lock held.
#[instrument(skip_all)]
pub async fn recover_in_flight(pool: &Pool, edition_id: i64) -> anyhow::Result<u64> {
    let recovered = sqlx::query(
        "UPDATE deliveries SET status = 'pending' WHERE edition_id = $1 AND status = 'sending'",
    )
    .bind(edition_id)
    .execute(pool)
    .await
    .context("recovering in-flight deliveries")?
    .rows_affected();
    Ok(recovered)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct DeliveryCounts {
    pub total: i64,
    pub pending: i64,
    pub sending: i64,
    pub retry: i64,
    pub deferred: i64,
    pub sent: i64,
    pub failed: i64,
    pub cancelled: i64,
}

impl DeliveryCounts {
    /// Rows not yet sent, failed for their recipient, or cancelled.
    pub fn unfinished(&self) -> i64 {
        self.pending + self.sending + self.retry + self.deferred
    }
}

#[instrument(skip_all)]
pub async fn counts(pool: &Pool, edition_id: i64) -> anyhow::Result<DeliveryCounts> {
    sqlx::query_as(
        "SELECT COUNT(*) AS total,
                COALESCE(SUM(status = 'pending'), 0) AS pending,
                COALESCE(SUM(status = 'sending'), 0) AS sending,
                COALESCE(SUM(status = 'retry'), 0) AS retry,
                COALESCE(SUM(status = 'deferred'), 0) AS deferred,
                COALESCE(SUM(status = 'sent'), 0) AS sent,
                COALESCE(SUM(status = 'failed'), 0) AS failed,
                COALESCE(SUM(status = 'cancelled'), 0) AS cancelled
         FROM deliveries WHERE edition_id = $1",
    )
    .bind(edition_id)
    .fetch_one(pool)
    .await
    .context("counting deliveries")
}

/// Puts the edition's deferred rows back in the queue with a fresh allowance of attempts, for
/// a run that tries again on purpose (a resumed `digest send`, `digest resend`, the daemon).
#[instrument(skip_all)]
pub async fn requeue_deferred(pool: &Pool, edition_id: i64) -> anyhow::Result<u64> {
    let requeued = sqlx::query(
        "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = NULL
         WHERE edition_id = $1 AND status = 'deferred'",
    )
    .bind(edition_id)
    .execute(pool)
    .await
    .context("requeueing deferred deliveries")?
    .rows_affected();
    Ok(requeued)
}

/// When the earliest waiting retry is due.
pub async fn next_retry_at(
    pool: &Pool,
    edition_id: i64,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let at: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(next_attempt_at) FROM deliveries WHERE edition_id = $1 AND status = 'retry'",
    )
    .bind(edition_id)
    .fetch_one(pool)
    .await
    .context("reading next retry")?;
    Ok(at.map(from_db_time))
}
