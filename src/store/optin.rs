//! Web sign-ups (double opt-in) and the confirm and unsubscribe links.

use crate::store::Pool;
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use tracing::instrument;

use crate::domain::{EmailAddress, SubscriberName, SubscriptionStatus, SubscriptionToken};
use crate::store::subscribers::{upsert_person, NameUpdate};
use crate::store::{begin_immediate, new_secret, to_db_time, Backend};

/// Where a sign-up finds a subscription that exists already.
#[derive(sqlx::FromRow)]
struct Standing {
    #[sqlx(try_from = "String")]
    status: SubscriptionStatus,
    confirmation_sent_at: Option<i64>,
    /// A confirmation mail is queued.
    confirmation_next_at: Option<i64>,
}

/// Records a sign-up from the web form and queues its confirmation mail, unless the person is
/// already active, a mail is already queued, or one went out within `cooldown` (so repeated
/// sign-ups cannot flood an address). True when a mail was queued.
///
/// An unconfirmed sign-up never changes an unsubscribed or bounced subscription: anyone can type
/// an address into the form. Such a person gets a confirmation mail, and only following its link
/// resubscribes them, with the new consent recorded then.
#[instrument(skip_all)]
pub async fn sign_up(
    pool: &Pool,
    list_id: i64,
    email: &EmailAddress,
    name: Option<&SubscriberName>,
    ip: Option<&str>,
    cooldown: Duration,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let mut tx = begin_immediate(pool).await.context("starting sign-up")?;
    let subscriber_id = upsert_person(&mut tx, email, name, NameUpdate::FillMissing, now).await?;
    let existing: Option<Standing> = sqlx::query_as(
        "SELECT status, confirmation_sent_at, confirmation_next_at
         FROM subscriptions WHERE list_id = $1 AND subscriber_id = $2",
    )
    .bind(list_id)
    .bind(subscriber_id)
    .fetch_optional(&mut *tx)
    .await
    .context("reading subscription")?;
    let queue = match &existing {
        None => true,
        Some(standing) if standing.status == SubscriptionStatus::Active => false,
        Some(standing) if standing.confirmation_next_at.is_some() => false,
        Some(standing) => standing
            .confirmation_sent_at
            .is_none_or(|sent| now.timestamp() - sent >= cooldown.num_seconds()),
    };
    if existing.is_none() {
        sqlx::query(
            "INSERT INTO subscriptions
                 (list_id, subscriber_id, status, consent_source, consent_at, consent_ip, updated_at,
                  unsubscribe_secret, confirm_secret)
             VALUES ($1, $2, 'pending', 'web', $3, $4, $3, $5, $6)",
        )
        .bind(list_id)
        .bind(subscriber_id)
        .bind(to_db_time(now))
        .bind(ip)
        .bind(new_secret())
        .bind(new_secret())
        .execute(&mut *tx)
        .await
        .context("storing subscription")?;
    }
    if queue {
        // Someone who left gets a fresh link: the links they had stopped working when they left.
        sqlx::query(
            "UPDATE subscriptions SET confirmation_requested_at = $1, confirmation_next_at = $1,
                 confirmation_attempts = 0,
                 confirm_secret = COALESCE(confirm_secret, $4)
             WHERE list_id = $2 AND subscriber_id = $3",
        )
        .bind(to_db_time(now))
        .bind(list_id)
        .bind(subscriber_id)
        .bind(new_secret())
        .execute(&mut *tx)
        .await
        .context("queueing the confirmation mail")?;
    }
    tx.commit().await.context("committing sign-up")?;
    Ok(queue)
}

/// A queued confirmation mail that is due.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConfirmationJob {
    pub list_id: i64,
    pub subscriber_id: i64,
    pub email: String,
    pub name: Option<String>,
    pub confirm_secret: String,
    /// The subscription's lasting secret, which binds the mail's bounce address to this reader.
    pub unsubscribe_secret: String,
    pub list_title: String,
    /// The list's language tag, for the mail's words.
    pub list_language: String,
    pub attempts: i64,
}

impl ConfirmationJob {
    pub fn token(&self) -> SubscriptionToken {
        SubscriptionToken::new(self.list_id, self.subscriber_id, &self.confirm_secret)
    }
}

/// Takes the confirmation mails due at `now`, oldest first (none for someone who is active by
/// now), for one node until `lease_until`: their next time moves to then, so another node
/// sharing the database does not send them too, and a node that dies mid-send leaves them to
/// be sent once the lease is over.
#[instrument(skip_all)]
pub async fn due_confirmations(
    pool: &Pool,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> anyhow::Result<Vec<ConfirmationJob>> {
    let skip_locked = match Backend::of(pool) {
        Backend::Postgres => " FOR UPDATE OF s SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let mut tx = begin_immediate(pool)
        .await
        .context("starting to take confirmation mails")?;
    let jobs: Vec<ConfirmationJob> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT s.list_id, s.subscriber_id, p.email, p.name,
                COALESCE(s.confirm_secret, '') AS confirm_secret,
                COALESCE(s.unsubscribe_secret, '') AS unsubscribe_secret, l.title AS list_title, l.language AS list_language,
                s.confirmation_attempts AS attempts
         FROM subscriptions s
         JOIN subscribers p ON p.id = s.subscriber_id
         JOIN lists l ON l.id = s.list_id
         WHERE s.confirmation_next_at <= $1 AND s.status != 'active'
         ORDER BY s.confirmation_next_at LIMIT $2{skip_locked}",
    )))
    .bind(to_db_time(now))
    .bind(limit)
    .fetch_all(&mut *tx)
    .await
    .context("reading due confirmation mails")?;
    for job in &jobs {
        due_again_at(&mut *tx, job, lease_until)
            .await
            .context("taking a confirmation mail")?;
    }
    tx.commit()
        .await
        .context("committing the confirmation mails taken")?;
    Ok(jobs)
}

/// The mail went out: the cooldown starts now.
#[instrument(skip_all)]
pub async fn confirmation_sent(
    pool: &Pool,
    job: &ConfirmationJob,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE subscriptions SET confirmation_sent_at = $1, confirmation_next_at = NULL,
             confirmation_attempts = 0
         WHERE list_id = $2 AND subscriber_id = $3",
    )
    .bind(to_db_time(now))
    .bind(job.list_id)
    .bind(job.subscriber_id)
    .execute(pool)
    .await
    .context("recording a confirmation mail")?;
    Ok(())
}

/// The send failed: try again at `next`, or never (`None`) once attempts are spent.
#[instrument(skip_all)]
pub async fn confirmation_failed(
    pool: &Pool,
    job: &ConfirmationJob,
    next: Option<DateTime<Utc>>,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE subscriptions SET confirmation_next_at = $1,
             confirmation_attempts = confirmation_attempts + 1
         WHERE list_id = $2 AND subscriber_id = $3",
    )
    .bind(next.map(to_db_time))
    .bind(job.list_id)
    .bind(job.subscriber_id)
    .execute(pool)
    .await
    .context("recording a failed confirmation mail")?;
    Ok(())
}

/// A mail taken but not tried (the server went down first): due again at `at`, uncharged.
#[instrument(skip_all)]
pub async fn confirmation_untried(
    pool: &Pool,
    job: &ConfirmationJob,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    due_again_at(pool, job, at)
        .await
        .context("putting back a confirmation mail")
}

/// Moves the job's mail to `at`, its attempts untouched: taken for a lease, or put back.
async fn due_again_at<'c>(
    executor: impl sqlx::Executor<'c, Database = sqlx::Any>,
    job: &ConfirmationJob,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE subscriptions SET confirmation_next_at = $1
         WHERE list_id = $2 AND subscriber_id = $3",
    )
    .bind(to_db_time(at))
    .bind(job.list_id)
    .bind(job.subscriber_id)
    .execute(executor)
    .await?;
    Ok(())
}

/// When the next queued confirmation mail is due.
pub async fn next_confirmation_at(pool: &Pool) -> anyhow::Result<Option<DateTime<Utc>>> {
    let at: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(confirmation_next_at) FROM subscriptions WHERE status != 'active'",
    )
    .fetch_one(pool)
    .await
    .context("reading the next confirmation mail")?;
    Ok(at.map(crate::store::from_db_time))
}

/// Which secret a link carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Confirm,
    Unsubscribe,
}

/// Confirms a pending subscription, or resubscribes someone who left or bounced and signed up
/// again (their new consent is recorded now). True when the link is valid.
pub async fn confirm(
    pool: &Pool,
    token: &SubscriptionToken,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    follow_link(
        pool,
        token,
        LinkPurpose::Confirm,
        "UPDATE subscriptions SET status = 'active', confirmed_at = $1, updated_at = $1,
             consent_source = 'web', consent_at = $1, unsubscribed_at = NULL,
             confirmation_next_at = NULL
         WHERE list_id = $2 AND subscriber_id = $3 AND status != 'active'",
        now,
    )
    .await
}

/// Unsubscribes at once. True when the link is valid.
pub async fn unsubscribe(
    pool: &Pool,
    token: &SubscriptionToken,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    follow_link(
        pool,
        token,
        LinkPurpose::Unsubscribe,
        "UPDATE subscriptions SET status = 'unsubscribed', unsubscribed_at = $1, updated_at = $1,
             confirm_secret = NULL, confirmation_next_at = NULL
         WHERE list_id = $2 AND subscriber_id = $3 AND status IN ('pending', 'active')",
        now,
    )
    .await
}

/// Checks the link's secret and, if it holds, applies `update` (binding now, list, subscriber).
#[instrument(skip_all, fields(purpose = ?purpose))]
async fn follow_link(
    pool: &Pool,
    token: &SubscriptionToken,
    purpose: LinkPurpose,
    update: &'static str,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let mut tx = begin_immediate(pool).await.context("starting link")?;
    if !valid(&mut tx, token, purpose).await? {
        return Ok(false);
    }
    sqlx::query(update)
        .bind(to_db_time(now))
        .bind(token.list_id)
        .bind(token.subscriber_id)
        .execute(&mut *tx)
        .await
        .context("following link")?;
    tx.commit().await.context("committing link")?;
    Ok(true)
}

async fn valid(
    conn: &mut crate::store::Connection,
    token: &SubscriptionToken,
    purpose: LinkPurpose,
) -> anyhow::Result<bool> {
    let stored: Option<Option<String>> = sqlx::query_scalar(match purpose {
        LinkPurpose::Confirm => {
            "SELECT confirm_secret FROM subscriptions WHERE list_id = $1 AND subscriber_id = $2"
        }
        LinkPurpose::Unsubscribe => {
            "SELECT unsubscribe_secret FROM subscriptions WHERE list_id = $1 AND subscriber_id = $2"
        }
    })
    .bind(token.list_id)
    .bind(token.subscriber_id)
    .fetch_optional(&mut *conn)
    .await
    .context("reading link secret")?;
    // Compare against something even when nothing is stored, so timing says nothing either.
    let secret = stored.flatten().unwrap_or_default();
    Ok(token.matches(&secret) && !secret.is_empty())
}
