//! Deliveries: the per-message state machine, with set-based enqueueing and batched bookkeeping.

use crate::domain::{DeliveryState, SubscriptionStatus};
use crate::store::{Connection, Pool};
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::instrument;

use crate::store::{begin_immediate, from_db_time, placeholders, to_db_time, Backend, IdSet};

/// One row per active subscriber of the list, in one statement.
#[instrument(skip_all)]
pub async fn enqueue(conn: &mut Connection, edition_id: i64, list_id: i64) -> anyhow::Result<u64> {
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

/// Brings PostgreSQL's statistics of `deliveries` up to date after an enqueue. Until its
/// autovacuum comes round they describe the table before it (yesterday's edition, all sent):
/// the new pending rows then look rare, and every claim of a few rows would sort all the
/// edition's remaining rows instead of walking the index from its cursor, a cost that grows
/// with the edition. ANALYZE reads a fixed-size sample, so it stays well under a second.
/// SQLite has no such statistics here (no ANALYZE has been run), and its planner walks the
/// index.
#[instrument(skip_all)]
pub async fn refresh_statistics(pool: &Pool) -> anyhow::Result<()> {
    if Backend::of(pool) == Backend::Postgres {
        sqlx::query("ANALYZE deliveries")
            .execute(pool)
            .await
            .context("analysing the deliveries table")?;
    }
    Ok(())
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

/// Who claims rows and for how long: the claim holds until `lease_until`, and the claimant
/// renews it while it works ([`renew_leases`]). Rows whose lease ran out belong to a claimant
/// that died or lost the database, and any node may take them.
#[derive(Debug, Clone, Copy)]
pub struct Claimant<'a> {
    pub name: &'a str,
    pub lease_until: DateTime<Utc>,
}

/// Which due rows a claim takes, in subscriber order: pending rows after the run's cursor
/// first; once none is left, due retries and rows whose claimant's lease ran out, from the
/// start. Both read `$1` edition, `$2` cursor or now, `$4` claimant.
#[derive(Debug, Clone, Copy)]
enum Due {
    Pending,
    Retries,
}

impl Due {
    fn condition(self) -> &'static str {
        match self {
            Self::Pending => "subscriber_id > $2 AND status = 'pending'",
            Self::Retries => {
                "((status = 'retry' AND next_attempt_at <= $2)
                  OR (status = 'sending' AND lease_until < $2 AND claimed_by IS DISTINCT FROM $4))"
            }
        }
    }

    fn from(self, cursor: i64, now: DateTime<Utc>) -> i64 {
        match self {
            Self::Pending => cursor,
            Self::Retries => to_db_time(now),
        }
    }
}

/// A claimed row with its reader, as the claim reads them.
#[derive(sqlx::FromRow)]
struct ClaimedRow {
    subscriber_id: i64,
    attempts: i64,
    email: Option<String>,
    name: Option<String>,
    /// The subscription's status on the edition's list, if the reader still has one.
    status: Option<String>,
    unsubscribe_secret: String,
}

/// Marks up to `limit` due rows `sending` (committed before any SMTP work) and returns them.
/// Pending rows are taken in subscriber order after `cursor`; due retries and rows whose
/// claimant's lease ran out from the start. Rows whose subscription is no longer active are
/// cancelled on the way: nobody who left is mailed.
#[instrument(skip_all)]
pub async fn claim(
    pool: &Pool,
    edition_id: i64,
    list_id: i64,
    cursor: i64,
    limit: i64,
    now: DateTime<Utc>,
    claimant: Claimant<'_>,
) -> anyhow::Result<Vec<Job>> {
    let claim = ClaimQuery {
        edition_id,
        list_id,
        limit,
        claimant,
    };
    let mut rows = Vec::new();
    for due in [Due::Pending, Due::Retries] {
        let from = due.from(cursor, now);
        rows = match Backend::of(pool) {
            Backend::Postgres => claim.in_one_statement(pool, due, from).await?,
            Backend::Sqlite => claim.in_one_transaction(pool, due, from).await?,
        };
        if !rows.is_empty() {
            break;
        }
    }
    let mut jobs = Vec::with_capacity(rows.len());
    let mut cancelled = Vec::new();
    for row in rows {
        match row {
            ClaimedRow {
                subscriber_id,
                attempts,
                email: Some(email),
                name,
                status: Some(status),
                unsubscribe_secret,
            } if status == SubscriptionStatus::Active.as_str() => jobs.push(Job {
                subscriber_id,
                email,
                name,
                unsubscribe_secret,
                attempts,
            }),
            _ => cancelled.push(row.subscriber_id),
        }
    }
    // Claimed first and cancelled after: a crash in between leaves the rows `sending` under
    // a lease, and whoever takes them when it runs out cancels them then.
    let backend = Backend::of(pool);
    for chunk in cancelled.chunks(IdSet::chunk_size(backend)) {
        let ids = IdSet::new(backend, chunk);
        let cancel = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE deliveries SET status = 'cancelled' WHERE edition_id = $1 AND {}",
            ids.condition("subscriber_id", 2)
        )))
        .bind(edition_id);
        ids.bind(cancel)
            .execute(pool)
            .await
            .context("cancelling deliveries")?;
    }
    jobs.sort_by_key(|job| job.subscriber_id);
    Ok(jobs)
}

/// One claim's parameters, shared by both databases' ways of running it.
struct ClaimQuery<'a> {
    edition_id: i64,
    list_id: i64,
    limit: i64,
    claimant: Claimant<'a>,
}

impl ClaimQuery<'_> {
    /// PostgreSQL: the rows are picked, marked and read with their readers in one statement,
    /// one round trip and one commit. Several nodes claim at once: each skips rows another
    /// is claiming instead of waiting for them. The readers are looked up row by row
    /// (`OFFSET 0` keeps the planner from turning the lookups into a join): with statistics
    /// from before a large import, it would hash the list's whole subscriptions for a claim
    /// of a few rows.
    async fn in_one_statement(
        &self,
        pool: &Pool,
        due: Due,
        from: i64,
    ) -> anyhow::Result<Vec<ClaimedRow>> {
        let condition = due.condition();
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH picked AS (
                 SELECT subscriber_id FROM deliveries
                 WHERE edition_id = $1 AND {condition}
                 ORDER BY subscriber_id LIMIT $3 FOR UPDATE SKIP LOCKED),
             claimed AS (
                 UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1,
                     claimed_by = $4, lease_until = $5
                 FROM picked
                 WHERE d.edition_id = $1 AND d.subscriber_id = picked.subscriber_id
                 RETURNING d.subscriber_id, d.attempts)
             SELECT c.subscriber_id, c.attempts, p.email, p.name, s.status,
                    COALESCE(s.unsubscribe_secret, '') AS unsubscribe_secret
             FROM claimed c
             LEFT JOIN LATERAL (SELECT email, name FROM subscribers
                                WHERE id = c.subscriber_id OFFSET 0) p ON TRUE
             LEFT JOIN LATERAL (SELECT status, unsubscribe_secret FROM subscriptions
                                WHERE list_id = $6 AND subscriber_id = c.subscriber_id
                                OFFSET 0) s ON TRUE"
        )))
        .bind(self.edition_id)
        .bind(from)
        .bind(self.limit)
        .bind(self.claimant.name)
        .bind(to_db_time(self.claimant.lease_until))
        .bind(self.list_id)
        .fetch_all(pool)
        .await
        .context("claiming deliveries")
    }

    /// SQLite: one writer at a time and no row locks to skip; its `UPDATE ... RETURNING`
    /// cannot join, so the readers are read in a second statement of the same transaction.
    async fn in_one_transaction(
        &self,
        pool: &Pool,
        due: Due,
        from: i64,
    ) -> anyhow::Result<Vec<ClaimedRow>> {
        let condition = due.condition();
        let mut tx = begin_immediate(pool).await.context("starting claim")?;
        let claimed: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE deliveries SET status = 'sending', attempts = attempts + 1,
                 claimed_by = $4, lease_until = $5
             WHERE edition_id = $1 AND subscriber_id IN (
                 SELECT subscriber_id FROM deliveries
                 WHERE edition_id = $1 AND {condition}
                 ORDER BY subscriber_id LIMIT $3)
             RETURNING subscriber_id, attempts",
        )))
        .bind(self.edition_id)
        .bind(from)
        .bind(self.limit)
        .bind(self.claimant.name)
        .bind(to_db_time(self.claimant.lease_until))
        .fetch_all(&mut *tx)
        .await
        .context("claiming deliveries")?;
        if claimed.is_empty() {
            tx.commit().await.context("committing claim")?;
            return Ok(Vec::new());
        }
        let ids = placeholders(2, claimed.len());
        let mut details = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT p.id, p.email, p.name,
                 (SELECT s.status FROM subscriptions s
                  WHERE s.list_id = $1 AND s.subscriber_id = p.id) AS status,
                 COALESCE((SELECT s.unsubscribe_secret FROM subscriptions s
                           WHERE s.list_id = $1 AND s.subscriber_id = p.id), '')
                     AS unsubscribe_secret
             FROM subscribers p
             WHERE p.id IN ({ids})"
        )))
        .bind(self.list_id);
        for (id, _) in &claimed {
            details = details.bind(*id);
        }
        let readers: Vec<ReaderRow> = details
            .fetch_all(&mut *tx)
            .await
            .context("reading recipients")?;
        tx.commit().await.context("committing claim")?;
        let mut by_id: std::collections::HashMap<i64, ReaderRow> =
            readers.into_iter().map(|row| (row.id, row)).collect();
        Ok(claimed
            .into_iter()
            .map(
                |(subscriber_id, attempts)| match by_id.remove(&subscriber_id) {
                    Some(reader) => ClaimedRow {
                        subscriber_id,
                        attempts,
                        email: Some(reader.email),
                        name: reader.name,
                        status: reader.status,
                        unsubscribe_secret: reader.unsubscribe_secret,
                    },
                    None => ClaimedRow {
                        subscriber_id,
                        attempts,
                        email: None,
                        name: None,
                        status: None,
                        unsubscribe_secret: String::new(),
                    },
                },
            )
            .collect())
    }
}

/// A claimed row's reader, as SQLite's claim reads them.
#[derive(sqlx::FromRow)]
struct ReaderRow {
    id: i64,
    email: String,
    name: Option<String>,
    status: Option<String>,
    unsubscribe_secret: String,
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
    /// The recipient's temporary failures outlasted `max_attempts`: stored as `deferred`,
    /// unfinished, for a later run (or `digest resend`) to try again. Not the reader's fault,
    /// never a bounce.
    Exhausted {
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

impl Outcome {
    /// The state a claimed (`Sending`) delivery moves to after this attempt: the one place
    /// that decides it.
    pub fn next_state(&self) -> DeliveryState {
        match self {
            Self::Sent => DeliveryState::Sent,
            Self::Retry { .. } | Self::Requeue { .. } => DeliveryState::Retry,
            Self::Exhausted { .. } => DeliveryState::Deferred,
            Self::Failed { .. } => DeliveryState::Failed,
        }
    }
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
    let backend = Backend::of(pool);
    // The common case, sent, is one statement for the whole batch. On PostgreSQL a batch of
    // nothing else is that statement alone, its own transaction: one round trip.
    let sent: Vec<i64> = results
        .iter()
        .filter(|(_, outcome)| *outcome == Outcome::Sent)
        .map(|(id, _)| *id)
        .collect();
    if backend == Backend::Postgres && sent.len() == results.len() {
        mark_sent(IdSet::new(backend, &sent), edition_id, now)
            .execute(pool)
            .await
            .context("recording sent deliveries")?;
        return Ok(());
    }
    let mut tx = begin_immediate(pool).await.context("starting record")?;
    for chunk in sent.chunks(IdSet::chunk_size(backend)) {
        mark_sent(IdSet::new(backend, chunk), edition_id, now)
            .execute(&mut *tx)
            .await
            .context("recording sent deliveries")?;
    }
    for (subscriber_id, outcome) in results {
        let (error, next, uncharged) = match outcome {
            Outcome::Sent => continue,
            Outcome::Retry { error, at } => (error, Some(to_db_time(*at)), 0),
            Outcome::Exhausted { error } | Outcome::Failed { error, .. } => (error, None, 0),
            Outcome::Requeue { error } => (error, Some(to_db_time(now)), 1),
        };
        let status = outcome.next_state();
        sqlx::query(
            "UPDATE deliveries SET status = $1, last_error = $2, next_attempt_at = $3,
                 attempts = CASE WHEN attempts > $4 THEN attempts - $4 ELSE 0 END
             WHERE edition_id = $5 AND subscriber_id = $6",
        )
        .bind(status.as_str())
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

fn mark_sent(
    ids: IdSet<'_>,
    edition_id: i64,
    now: DateTime<Utc>,
) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    let query = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE deliveries SET status = 'sent', last_error = NULL, next_attempt_at = NULL,
             sent_at = $1
         WHERE edition_id = $2 AND {}",
        ids.condition("subscriber_id", 3)
    )))
    .bind(to_db_time(now))
    .bind(edition_id);
    ids.bind(query)
}

/// Puts rows claimed but not attempted (a stop, a lost connection before the attempt) back.
#[instrument(skip_all)]
pub async fn release(pool: &Pool, edition_id: i64, subscriber_ids: &[i64]) -> anyhow::Result<()> {
    let mut tx = begin_immediate(pool).await.context("starting release")?;
    for id in subscriber_ids {
        sqlx::query(
            "UPDATE deliveries SET status = 'pending', attempts = CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END
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
                COUNT(*) FILTER (WHERE status = 'pending') AS pending,
                COUNT(*) FILTER (WHERE status = 'sending') AS sending,
                COUNT(*) FILTER (WHERE status = 'retry') AS retry,
                COUNT(*) FILTER (WHERE status = 'deferred') AS deferred,
                COUNT(*) FILTER (WHERE status = 'sent') AS sent,
                COUNT(*) FILTER (WHERE status = 'failed') AS failed,
                COUNT(*) FILTER (WHERE status = 'cancelled') AS cancelled
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

/// When this run should look for work again: at the earliest waiting retry, and when the
/// earliest lease of another claimant's row runs out (a node that dies leaves its rows to the
/// others then).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Waiting {
    pub retry_at: Option<DateTime<Utc>>,
    pub lease_ends_at: Option<DateTime<Utc>>,
}

pub async fn waiting(pool: &Pool, edition_id: i64, claimant: &str) -> anyhow::Result<Waiting> {
    let (retry_at, lease_ends_at): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT MIN(CASE WHEN status = 'retry' THEN next_attempt_at END),
                MIN(CASE WHEN status = 'sending' THEN lease_until END)
         FROM deliveries
         WHERE edition_id = $1
           AND (status = 'retry' OR (status = 'sending' AND claimed_by IS DISTINCT FROM $2))",
    )
    .bind(edition_id)
    .bind(claimant)
    .fetch_one(pool)
    .await
    .context("reading next retry")?;
    Ok(Waiting {
        retry_at: retry_at.map(from_db_time),
        lease_ends_at: lease_ends_at.map(from_db_time),
    })
}

/// Extends the claimant's leases on the edition's rows it holds in flight.
pub async fn renew_leases(
    pool: &Pool,
    edition_id: i64,
    claimant: Claimant<'_>,
) -> anyhow::Result<u64> {
    // On PostgreSQL a row locked now is being recorded or claimed: it leaves `sending` or
    // gets a fresh lease, so it is skipped rather than waited for (waiting could deadlock with
    // a record that locks the same rows in another order).
    let skip_locked = match Backend::of(pool) {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let renewed = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE deliveries SET lease_until = $1
         WHERE edition_id = $2 AND status = 'sending' AND claimed_by = $3
           AND subscriber_id IN (
               SELECT subscriber_id FROM deliveries
               WHERE edition_id = $2 AND status = 'sending' AND claimed_by = $3{skip_locked})",
    )))
    .bind(to_db_time(claimant.lease_until))
    .bind(edition_id)
    .bind(claimant.name)
    .execute(pool)
    .await
    .context("renewing delivery leases")?
    .rows_affected();
    Ok(renewed)
}

/// One claimant's share of an edition: what it sent and what it holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct NodeProgress {
    #[serde(skip)]
    pub edition_id: i64,
    pub node: String,
    pub sent: i64,
    pub failed: i64,
    pub sending: i64,
    /// When its lease on the rows it holds runs out (Unix seconds), if it holds any.
    pub lease_until: Option<i64>,
}

/// Progress per claimant (node and process) of every edition, or of one list's, in one pass
/// over the deliveries: by edition, busiest claimant first.
pub async fn progress_by_node(
    pool: &Pool,
    list_id: Option<i64>,
) -> anyhow::Result<Vec<NodeProgress>> {
    sqlx::query_as(
        "SELECT d.edition_id, d.claimed_by AS node,
                COUNT(*) FILTER (WHERE d.status = 'sent') AS sent,
                COUNT(*) FILTER (WHERE d.status = 'failed') AS failed,
                COUNT(*) FILTER (WHERE d.status = 'sending') AS sending,
                MAX(CASE WHEN d.status = 'sending' THEN d.lease_until END) AS lease_until
         FROM deliveries d JOIN editions e ON e.id = d.edition_id
         WHERE d.claimed_by IS NOT NULL AND ($1 IS NULL OR e.list_id = $1)
         GROUP BY d.edition_id, d.claimed_by
         ORDER BY d.edition_id, COUNT(*) DESC, d.claimed_by",
    )
    .bind(list_id)
    .fetch_all(pool)
    .await
    .context("reading progress per node")
}
