//! Web sign-ups (double opt-in) and the confirm and unsubscribe links.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use sqlx::SqlitePool;
use tracing::instrument;

use crate::domain::{EmailAddress, SubscriberName, SubscriptionToken};
use crate::store::subscribers::{upsert_person, NameUpdate};
use crate::store::{begin_immediate, to_db_time};

/// A confirmation mail to send now.
#[derive(Debug, Clone)]
pub struct ConfirmationDue {
    pub token: SubscriptionToken,
    pub name: Option<String>,
}

/// Records a sign-up from the web form. Returns the confirmation mail to send, if any: none for
/// someone already active, and none within `cooldown` of the previous one, so repeated
/// sign-ups cannot flood an address. People who left or bounced sign up again as pending.
#[instrument(skip_all)]
pub async fn sign_up(
    pool: &SqlitePool,
    list_id: i64,
    email: &EmailAddress,
    name: Option<&SubscriberName>,
    ip: Option<&str>,
    cooldown: Duration,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<ConfirmationDue>> {
    let mut tx = begin_immediate(pool).await.context("starting sign-up")?;
    let subscriber_id = upsert_person(&mut tx, email, name, NameUpdate::FillMissing, now).await?;
    let existing: Option<(String, Option<i64>)> = sqlx::query_as(
        "SELECT status, confirmation_sent_at FROM subscriptions WHERE list_id = ? AND subscriber_id = ?",
    )
    .bind(list_id)
    .bind(subscriber_id)
    .fetch_optional(&mut *tx)
    .await
    .context("reading subscription")?;
    let send = match &existing {
        Some((status, _)) if status == "active" => false,
        Some((status, Some(sent))) if status == "pending" => {
            now.timestamp() - sent >= cooldown.num_seconds()
        }
        _ => true,
    };
    if existing
        .as_ref()
        .is_none_or(|(status, _)| status != "pending" && status != "active")
    {
        sqlx::query(
            "INSERT INTO subscriptions
                 (list_id, subscriber_id, status, consent_source, consent_at, consent_ip, updated_at,
                  unsubscribe_secret, confirm_secret)
             VALUES (?1, ?2, 'pending', 'web', ?3, ?4, ?3, lower(hex(randomblob(16))), lower(hex(randomblob(16))))
             ON CONFLICT (list_id, subscriber_id) DO UPDATE SET
                 status = 'pending', consent_source = 'web', consent_at = ?3, consent_ip = ?4,
                 confirmed_at = NULL, unsubscribed_at = NULL, updated_at = ?3,
                 confirm_secret = lower(hex(randomblob(16)))",
        )
        .bind(list_id)
        .bind(subscriber_id)
        .bind(to_db_time(now))
        .bind(ip)
        .execute(&mut *tx)
        .await
        .context("storing subscription")?;
    }
    let due = if send {
        let (secret, name): (Option<String>, Option<String>) = sqlx::query_as(
            "UPDATE subscriptions SET confirmation_sent_at = ?,
                 confirm_secret = COALESCE(confirm_secret, lower(hex(randomblob(16))))
             WHERE list_id = ? AND subscriber_id = ?
             RETURNING confirm_secret, (SELECT name FROM subscribers WHERE id = subscriber_id)",
        )
        .bind(to_db_time(now))
        .bind(list_id)
        .bind(subscriber_id)
        .fetch_one(&mut *tx)
        .await
        .context("stamping confirmation")?;
        secret.map(|secret| ConfirmationDue {
            token: SubscriptionToken::new(list_id, subscriber_id, &secret),
            name,
        })
    } else {
        None
    };
    tx.commit().await.context("committing sign-up")?;
    Ok(due)
}

/// Which secret a link carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Confirm,
    Unsubscribe,
}

/// Confirms a pending subscription. True when the link is valid (whatever the status was).
pub async fn confirm(
    pool: &SqlitePool,
    token: &SubscriptionToken,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    follow_link(
        pool,
        token,
        LinkPurpose::Confirm,
        "UPDATE subscriptions SET status = 'active', confirmed_at = ?1, updated_at = ?1
         WHERE list_id = ?2 AND subscriber_id = ?3 AND status = 'pending'",
        now,
    )
    .await
}

/// Unsubscribes at once. True when the link is valid.
pub async fn unsubscribe(
    pool: &SqlitePool,
    token: &SubscriptionToken,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    follow_link(
        pool,
        token,
        LinkPurpose::Unsubscribe,
        "UPDATE subscriptions SET status = 'unsubscribed', unsubscribed_at = ?1, updated_at = ?1
         WHERE list_id = ?2 AND subscriber_id = ?3 AND status IN ('pending', 'active')",
        now,
    )
    .await
}

/// Checks the link's secret and, if it holds, applies `update` (binding now, list, subscriber).
#[instrument(skip_all, fields(purpose = ?purpose))]
async fn follow_link(
    pool: &SqlitePool,
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
    conn: &mut sqlx::SqliteConnection,
    token: &SubscriptionToken,
    purpose: LinkPurpose,
) -> anyhow::Result<bool> {
    let stored: Option<Option<String>> = sqlx::query_scalar(match purpose {
        LinkPurpose::Confirm => {
            "SELECT confirm_secret FROM subscriptions WHERE list_id = ? AND subscriber_id = ?"
        }
        LinkPurpose::Unsubscribe => {
            "SELECT unsubscribe_secret FROM subscriptions WHERE list_id = ? AND subscriber_id = ?"
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
