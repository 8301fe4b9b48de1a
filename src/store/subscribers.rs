//! Subscribers and their per-list subscriptions.

use crate::store::Pool;
use anyhow::Context;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use tracing::instrument;

use crate::domain::{ConsentSource, EmailAddress, SubscriberName, SubscriptionStatus};
use crate::store::StoreError;
use crate::store::{begin_immediate, from_db_time, new_secret, to_db_time};

/// One subscriber as seen from one list.
#[derive(Debug, Clone, Serialize)]
pub struct Subscription {
    pub email: EmailAddress,
    pub name: Option<String>,
    pub status: SubscriptionStatus,
    pub consent_source: ConsentSource,
    pub consent_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct SubscriptionRow {
    email: String,
    name: Option<String>,
    status: String,
    consent_source: String,
    consent_at: i64,
    confirmed_at: Option<i64>,
    unsubscribed_at: Option<i64>,
}

impl TryFrom<SubscriptionRow> for Subscription {
    type Error = anyhow::Error;
    fn try_from(row: SubscriptionRow) -> anyhow::Result<Self> {
        let corrupt = || format!("stored subscription of {:?} is not valid", row.email);
        Ok(Self {
            email: EmailAddress::parse(&row.email).with_context(corrupt)?,
            status: SubscriptionStatus::try_from(row.status.clone()).with_context(corrupt)?,
            consent_source: ConsentSource::try_from(row.consent_source.clone())
                .with_context(corrupt)?,
            name: row.name,
            consent_at: from_db_time(row.consent_at),
            confirmed_at: row.confirmed_at.map(from_db_time),
            unsubscribed_at: row.unsubscribed_at.map(from_db_time),
        })
    }
}

/// What `add` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// A new subscription with the requested status.
    Added(SubscriptionStatus),
    /// An existing subscription moved to the requested status (confirmed, or subscribed again).
    Changed {
        from: SubscriptionStatus,
        to: SubscriptionStatus,
    },
    /// Already there in a status the request does not change.
    Unchanged(SubscriptionStatus),
}

/// The consent that comes with a subscription request.
#[derive(Debug, Clone)]
pub struct Consent {
    pub source: ConsentSource,
    pub ip: Option<String>,
    pub confirmed: bool,
}

/// Subscribes `email` to the list. An admin's explicit add may confirm a pending subscription
/// and may subscribe again someone who left or bounced; an active subscription is never
/// downgraded.
#[instrument(skip_all)]
pub async fn add(
    pool: &Pool,
    list_id: i64,
    email: &EmailAddress,
    name: Option<&SubscriberName>,
    consent: &Consent,
    now: DateTime<Utc>,
) -> anyhow::Result<AddOutcome> {
    let wanted = if consent.confirmed {
        SubscriptionStatus::Active
    } else {
        SubscriptionStatus::Pending
    };
    let mut tx = begin_immediate(pool)
        .await
        .context("starting transaction")?;
    let subscriber_id = upsert_person(&mut tx, email, name, NameUpdate::Replace, now).await?;

    let existing: Option<String> = sqlx::query_scalar(
        "SELECT status FROM subscriptions WHERE list_id = $1 AND subscriber_id = $2",
    )
    .bind(list_id)
    .bind(subscriber_id)
    .fetch_optional(&mut *tx)
    .await
    .context("reading subscription")?;
    let existing = existing.map(SubscriptionStatus::try_from).transpose()?;

    let outcome = match existing {
        Some(current) if current == wanted || current == SubscriptionStatus::Active => {
            AddOutcome::Unchanged(current)
        }
        Some(current) => AddOutcome::Changed {
            from: current,
            to: wanted,
        },
        None => AddOutcome::Added(wanted),
    };
    if !matches!(outcome, AddOutcome::Unchanged(_)) {
        let confirmed_at = consent.confirmed.then(|| to_db_time(now));
        sqlx::query(
            "INSERT INTO subscriptions
                 (list_id, subscriber_id, status, consent_source, consent_at, consent_ip,
                  confirmed_at, updated_at, unsubscribe_secret)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (list_id, subscriber_id) DO UPDATE SET
                 status = excluded.status,
                 consent_source = excluded.consent_source,
                 consent_at = excluded.consent_at,
                 consent_ip = excluded.consent_ip,
                 confirmed_at = excluded.confirmed_at,
                 unsubscribed_at = NULL,
                 bounce_count = 0,
                 updated_at = excluded.updated_at",
        )
        .bind(list_id)
        .bind(subscriber_id)
        .bind(wanted.as_str())
        .bind(consent.source.as_str())
        .bind(to_db_time(now))
        .bind(consent.ip.as_deref())
        .bind(confirmed_at)
        .bind(to_db_time(now))
        .bind(new_secret())
        .execute(&mut *tx)
        .await
        .context("storing subscription")?;
    }
    tx.commit().await.context("committing subscription")?;
    Ok(outcome)
}

/// Whether a name given now replaces one already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameUpdate {
    /// An admin's input wins.
    Replace,
    /// A web form fills in a missing name but never overwrites one.
    FillMissing,
}

/// The subscriber's id, creating the person if needed.
pub(crate) async fn upsert_person(
    conn: &mut crate::store::Connection,
    email: &EmailAddress,
    name: Option<&SubscriberName>,
    update: NameUpdate,
    now: DateTime<Utc>,
) -> anyhow::Result<i64> {
    let sql = match update {
        NameUpdate::Replace => {
            "INSERT INTO subscribers (email, name, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (email) DO UPDATE SET name = COALESCE(excluded.name, subscribers.name)
             RETURNING id"
        }
        NameUpdate::FillMissing => {
            "INSERT INTO subscribers (email, name, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (email) DO UPDATE SET name = COALESCE(subscribers.name, excluded.name)
             RETURNING id"
        }
    };
    sqlx::query_scalar(sql)
        .bind(email.as_str())
        .bind(name.map(SubscriberName::as_str))
        .bind(to_db_time(now))
        .fetch_one(&mut *conn)
        .await
        .context("storing subscriber")
}

/// Marks the subscription unsubscribed. Returns the status it had before.
#[instrument(skip_all)]
pub async fn unsubscribe(
    pool: &Pool,
    list_id: i64,
    email: &EmailAddress,
    now: DateTime<Utc>,
) -> anyhow::Result<SubscriptionStatus> {
    let mut tx = begin_immediate(pool)
        .await
        .context("starting transaction")?;
    let Some(previous) = status_on(&mut tx, list_id, email).await? else {
        return Err(StoreError::NotFound(format!("{email} is not subscribed to this list")).into());
    };
    sqlx::query(
        "UPDATE subscriptions SET status = 'unsubscribed', unsubscribed_at = $1, updated_at = $2,
             confirm_secret = NULL, confirmation_next_at = NULL
         WHERE list_id = $3 AND status != 'unsubscribed'
           AND subscriber_id = (SELECT id FROM subscribers WHERE email = $4)",
    )
    .bind(to_db_time(now))
    .bind(to_db_time(now))
    .bind(list_id)
    .bind(email.as_str())
    .execute(&mut *tx)
    .await
    .context("unsubscribing")?;
    tx.commit().await.context("committing unsubscribe")?;
    Ok(previous)
}

/// The address's status on the list, inside `tx`; `None` when it is not on it.
async fn status_on(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    list_id: i64,
    email: &EmailAddress,
) -> anyhow::Result<Option<SubscriptionStatus>> {
    let status: Option<String> = sqlx::query_scalar(
        "SELECT s.status FROM subscriptions s JOIN subscribers p ON p.id = s.subscriber_id
         WHERE s.list_id = $1 AND p.email = $2",
    )
    .bind(list_id)
    .bind(email.as_str())
    .fetch_optional(&mut **tx)
    .await
    .context("reading the subscription")?;
    status
        .map(SubscriptionStatus::try_from)
        .transpose()
        .context("a stored subscription status")
}

/// Streams the list's subscriptions in address order, optionally of one status only.
pub fn for_list(
    pool: &Pool,
    list_id: i64,
    status: Option<SubscriptionStatus>,
) -> BoxStream<'_, anyhow::Result<Subscription>> {
    sqlx::query_as::<_, SubscriptionRow>(
        "SELECT p.email, p.name, s.status, s.consent_source, s.consent_at, s.confirmed_at,
                s.unsubscribed_at
         FROM subscriptions s JOIN subscribers p ON p.id = s.subscriber_id
         WHERE s.list_id = $1 AND ($2 IS NULL OR s.status = $2)
         ORDER BY p.email",
    )
    .bind(list_id)
    .bind(status.map(SubscriptionStatus::as_str))
    .fetch(pool)
    .map_err(|error| anyhow::Error::new(error).context("reading subscriptions"))
    .and_then(|row| async move { Subscription::try_from(row) })
    .boxed()
}

/// What erasing a person removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Erasure {
    pub subscriber: bool,
    pub subscriptions: u64,
}

/// Erases everything stored about the person (GDPR right to erasure). Rows in other tables that
/// refer to the subscriber go with it through `ON DELETE CASCADE`.
#[instrument(skip_all)]
pub async fn forget(pool: &Pool, email: &EmailAddress) -> anyhow::Result<Erasure> {
    let mut tx = begin_immediate(pool)
        .await
        .context("starting transaction")?;
    let subscriptions = sqlx::query(
        "DELETE FROM subscriptions WHERE subscriber_id = (SELECT id FROM subscribers WHERE email = $1)",
    )
    .bind(email.as_str())
    .execute(&mut *tx)
    .await
    .context("erasing subscriptions")?
    .rows_affected();
    let subscriber = sqlx::query("DELETE FROM subscribers WHERE email = $1")
        .bind(email.as_str())
        .execute(&mut *tx)
        .await
        .context("erasing subscriber")?
        .rows_affected()
        > 0;
    tx.commit().await.context("committing erasure")?;
    Ok(Erasure {
        subscriber,
        subscriptions,
    })
}

/// One address's standing on each list, for `subscriber show`.
#[derive(Debug, Clone, Serialize)]
pub struct Standing {
    pub list: String,
    pub status: String,
    pub bounce_count: i64,
    pub updated_at: DateTime<Utc>,
    /// The consent record: how (`cli`, `import`, `web`), when, and from which IP.
    pub consent_source: String,
    pub consent_at: DateTime<Utc>,
    pub consent_ip: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// The subscriber's id and standing on every list, or `None` for an unknown address.
#[instrument(skip_all)]
pub async fn standing(
    pool: &Pool,
    email: &EmailAddress,
) -> anyhow::Result<Option<(i64, Vec<Standing>)>> {
    let Some(id): Option<i64> = sqlx::query_scalar("SELECT id FROM subscribers WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(pool)
        .await
        .context("looking up the subscriber")?
    else {
        return Ok(None);
    };
    #[derive(sqlx::FromRow)]
    struct Row {
        list: String,
        status: String,
        bounce_count: i64,
        updated_at: i64,
        consent_source: String,
        consent_at: i64,
        consent_ip: Option<String>,
        confirmed_at: Option<i64>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT l.slug AS list, s.status, s.bounce_count, s.updated_at, s.consent_source,
                s.consent_at, s.consent_ip, s.confirmed_at
         FROM subscriptions s JOIN lists l ON l.id = s.list_id
         WHERE s.subscriber_id = $1 ORDER BY l.slug",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .context("reading subscriptions")?;
    let standing = rows
        .into_iter()
        .map(|row| Standing {
            list: row.list,
            status: row.status,
            bounce_count: row.bounce_count,
            updated_at: from_db_time(row.updated_at),
            consent_source: row.consent_source,
            consent_at: from_db_time(row.consent_at),
            consent_ip: row.consent_ip,
            confirmed_at: row.confirmed_at.map(from_db_time),
        })
        .collect();
    Ok(Some((id, standing)))
}

/// Makes a bounced subscription active again (an operator undoing a wrong classification).
/// Returns the status it had; only `bounced` changes.
#[instrument(skip_all)]
pub async fn reactivate(
    pool: &Pool,
    list_id: i64,
    email: &EmailAddress,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<SubscriptionStatus>> {
    let mut tx = begin_immediate(pool).await.context("starting reactivate")?;
    let previous = status_on(&mut tx, list_id, email).await?;
    if previous == Some(SubscriptionStatus::Bounced) {
        sqlx::query(
            "UPDATE subscriptions SET status = 'active', updated_at = $1
             WHERE list_id = $2 AND subscriber_id = (SELECT id FROM subscribers WHERE email = $3)",
        )
        .bind(to_db_time(now))
        .bind(list_id)
        .bind(email.as_str())
        .execute(&mut *tx)
        .await
        .context("reactivating")?;
    }
    tx.commit().await.context("committing reactivate")?;
    Ok(previous)
}
