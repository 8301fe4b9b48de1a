//! Bounce and complaint reports, and what they do to subscriptions.

use crate::store::Pool;
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Transaction;
use tracing::instrument;

use crate::domain::ReportKind;
use crate::store::{from_db_time, to_db_time};

/// The installation's key for VERP tags.
#[instrument(skip_all)]
pub async fn verp_key(pool: &Pool) -> anyhow::Result<String> {
    sqlx::query_scalar("SELECT bounce_key FROM installation LIMIT 1")
        .fetch_one(pool)
        .await
        .context("reading the bounce key")
}

/// One report to keep.
pub struct NewReport<'a> {
    pub source: &'a str,
    pub kind: ReportKind,
    pub fingerprint: &'a str,
    pub subscriber_id: Option<i64>,
    pub edition_id: Option<i64>,
    pub recipient: Option<&'a str>,
    pub status: Option<&'a str>,
    pub diagnostic: Option<&'a str>,
    pub feedback_type: Option<&'a str>,
    pub report_message_id: Option<&'a str>,
    pub action: &'a str,
    pub raw: &'a [u8],
}

/// What was done about the report with this fingerprint, if it came before.
#[instrument(skip_all)]
pub async fn seen_action(
    tx: &mut Transaction<'_, sqlx::Any>,
    fingerprint: &str,
) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar("SELECT action FROM bounce_reports WHERE fingerprint = $1")
        .bind(fingerprint)
        .fetch_optional(&mut **tx)
        .await
        .context("looking for the report")
}

/// Stores the report; `false` when the same report was stored before (an MTA's redelivery).
#[instrument(skip_all)]
pub async fn insert(
    tx: &mut Transaction<'_, sqlx::Any>,
    report: &NewReport<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO bounce_reports (received_at, source, kind, fingerprint, subscriber_id,
             edition_id, recipient, status, diagnostic, feedback_type, report_message_id,
             action, raw)
         VALUES ($1, $2, $3, $4, $5,
             (SELECT id FROM editions WHERE id = $6), $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (fingerprint) DO NOTHING",
    )
    .bind(to_db_time(now))
    .bind(report.source)
    .bind(report.kind.as_str())
    .bind(report.fingerprint)
    .bind(report.subscriber_id)
    .bind(report.edition_id)
    .bind(report.recipient)
    .bind(report.status)
    .bind(report.diagnostic)
    .bind(report.feedback_type)
    .bind(report.report_message_id)
    .bind(report.action)
    .bind(report.raw)
    .execute(&mut **tx)
    .await
    .context("storing the report")?
    .rows_affected();
    Ok(inserted == 1)
}

/// Whether the subscriber exists (a tag may outlive an erased reader).
pub async fn subscriber_exists(
    tx: &mut Transaction<'_, sqlx::Any>,
    subscriber_id: i64,
) -> anyhow::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM subscribers WHERE id = $1")
        .bind(subscriber_id)
        .fetch_optional(&mut **tx)
        .await
        .context("looking up the subscriber")?;
    Ok(found.is_some())
}

/// Whether `subscriber_id` was a recipient of `edition_id` (a tag made before tags carried a
/// reader's secret names a delivery; the delivery goes when its reader is erased).
pub async fn delivery_exists(
    tx: &mut Transaction<'_, sqlx::Any>,
    edition_id: i64,
    subscriber_id: i64,
) -> anyhow::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT subscriber_id FROM deliveries WHERE edition_id = $1 AND subscriber_id = $2",
    )
    .bind(edition_id)
    .bind(subscriber_id)
    .fetch_optional(&mut **tx)
    .await
    .context("looking up the delivery")?;
    Ok(found.is_some())
}

/// Where a reader's subscription is found: the list an edition went to, or a list.
#[derive(Debug, Clone, Copy)]
pub enum SubscriptionOf {
    Edition(i64),
    List(i64),
}

/// The lasting secret of the reader's subscription, while it exists.
pub async fn reader_secret(
    tx: &mut Transaction<'_, sqlx::Any>,
    of: SubscriptionOf,
    subscriber_id: i64,
) -> anyhow::Result<Option<String>> {
    let (edition_id, list_id) = match of {
        SubscriptionOf::Edition(edition_id) => (Some(edition_id), None),
        SubscriptionOf::List(list_id) => (None, Some(list_id)),
    };
    let secret: Option<Option<String>> = sqlx::query_scalar(
        "SELECT unsubscribe_secret FROM subscriptions
         WHERE subscriber_id = $1
           AND list_id = COALESCE($2, (SELECT list_id FROM editions WHERE id = $3))",
    )
    .bind(subscriber_id)
    .bind(list_id)
    .bind(edition_id)
    .fetch_optional(&mut **tx)
    .await
    .context("looking up the reader's secret")?;
    Ok(secret.flatten())
}

/// The subscriber with this address, if any (provider events name readers by address).
pub async fn subscriber_by_email(
    tx: &mut Transaction<'_, sqlx::Any>,
    email: &str,
) -> anyhow::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM subscribers WHERE email = $1")
        .bind(email.trim().to_ascii_lowercase())
        .fetch_optional(&mut **tx)
        .await
        .context("looking up the address")
}

/// Soft bounces of the subscriber since `since`.
pub async fn soft_count(
    tx: &mut Transaction<'_, sqlx::Any>,
    subscriber_id: i64,
    since: DateTime<Utc>,
) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM bounce_reports
         WHERE subscriber_id = $1 AND kind = 'soft' AND received_at >= $2",
    )
    .bind(subscriber_id)
    .bind(to_db_time(since))
    .fetch_one(&mut **tx)
    .await
    .context("counting soft bounces")
}

/// Marks the address bounced on every list it is on or joining; returns how many lists.
pub async fn mark_bounced(
    tx: &mut Transaction<'_, sqlx::Any>,
    subscriber_id: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    Ok(sqlx::query(
        "UPDATE subscriptions SET status = 'bounced', bounce_count = bounce_count + 1,
             confirm_secret = NULL, confirmation_next_at = NULL, updated_at = $1
         WHERE subscriber_id = $2 AND status IN ('active', 'pending')",
    )
    .bind(to_db_time(now))
    .bind(subscriber_id)
    .execute(&mut **tx)
    .await
    .context("marking the address bounced")?
    .rows_affected())
}

/// Unsubscribes the address from every list (a spam complaint); returns how many lists.
pub async fn unsubscribe_everywhere(
    tx: &mut Transaction<'_, sqlx::Any>,
    subscriber_id: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    Ok(sqlx::query(
        "UPDATE subscriptions SET status = 'unsubscribed', unsubscribed_at = $1,
             confirm_secret = NULL, confirmation_next_at = NULL, updated_at = $2
         WHERE subscriber_id = $3 AND status IN ('active', 'pending')",
    )
    .bind(to_db_time(now))
    .bind(to_db_time(now))
    .bind(subscriber_id)
    .execute(&mut **tx)
    .await
    .context("unsubscribing after a complaint")?
    .rows_affected())
}

/// A kept report's body and what was done about it, for releasing a held one.
#[derive(Debug, sqlx::FromRow)]
pub struct KeptReport {
    pub source: String,
    pub action: String,
    pub raw: Vec<u8>,
}

#[instrument(skip_all)]
pub async fn kept_report(pool: &Pool, report_id: i64) -> anyhow::Result<Option<KeptReport>> {
    sqlx::query_as("SELECT source, action, raw FROM bounce_reports WHERE id = $1")
        .bind(report_id)
        .fetch_optional(pool)
        .await
        .context("reading the report")
}

/// Records what was done about a report after it was kept (a held report released).
#[instrument(skip_all)]
pub async fn set_action(pool: &Pool, report_id: i64, action: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE bounce_reports SET action = $1 WHERE id = $2")
        .bind(action)
        .bind(report_id)
        .execute(pool)
        .await
        .context("recording what was done about the report")?;
    Ok(())
}

/// A stored report as `bounce ls` and `subscriber show` print it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub source: String,
    pub kind: ReportKind,
    pub email: Option<String>,
    pub edition_id: Option<i64>,
    pub status: Option<String>,
    pub diagnostic: Option<String>,
    pub feedback_type: Option<String>,
    pub action: String,
}

#[derive(sqlx::FromRow)]
struct ReportRow {
    id: i64,
    received_at: i64,
    source: String,
    #[sqlx(try_from = "String")]
    kind: ReportKind,
    email: Option<String>,
    edition_id: Option<i64>,
    status: Option<String>,
    diagnostic: Option<String>,
    feedback_type: Option<String>,
    action: String,
}

impl From<ReportRow> for ReportView {
    fn from(row: ReportRow) -> Self {
        Self {
            id: row.id,
            received_at: from_db_time(row.received_at),
            source: row.source,
            kind: row.kind,
            email: row.email,
            edition_id: row.edition_id,
            status: row.status,
            diagnostic: row.diagnostic,
            feedback_type: row.feedback_type,
            action: row.action,
        }
    }
}

/// Which reports to list.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub list_id: Option<i64>,
    pub subscriber_id: Option<i64>,
    pub since: Option<DateTime<Utc>>,
}

/// Reports newest first. With a list, only those about its readers.
#[instrument(skip_all)]
pub async fn list(pool: &Pool, filter: &ReportFilter) -> anyhow::Result<Vec<ReportView>> {
    let rows: Vec<ReportRow> = sqlx::query_as(
        "SELECT r.id, r.received_at, r.source, r.kind,
                COALESCE(p.email, r.recipient) AS email, r.edition_id, r.status, r.diagnostic,
                r.feedback_type, r.action
         FROM bounce_reports r LEFT JOIN subscribers p ON p.id = r.subscriber_id
         WHERE ($1 IS NULL OR r.subscriber_id IN
                    (SELECT subscriber_id FROM subscriptions WHERE list_id = $1))
           AND ($2 IS NULL OR r.subscriber_id = $2)
           AND ($3 IS NULL OR r.received_at >= $3)
         ORDER BY r.received_at DESC, r.id DESC",
    )
    .bind(filter.list_id)
    .bind(filter.subscriber_id)
    .bind(filter.since.map(to_db_time))
    .fetch_all(pool)
    .await
    .context("listing reports")?;
    Ok(rows.into_iter().map(ReportView::from).collect())
}

/// How many reports of one kind have come in.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KindCount {
    #[sqlx(try_from = "String")]
    pub kind: ReportKind,
    pub count: i64,
}

/// Reports by kind, for `/metrics`.
pub async fn counts_by_kind(pool: &Pool) -> anyhow::Result<Vec<KindCount>> {
    sqlx::query_as("SELECT kind, COUNT(*) AS count FROM bounce_reports GROUP BY kind ORDER BY kind")
        .fetch_all(pool)
        .await
        .context("counting reports")
}

/// Takes a provider's one-time webhook token for the body whose digest is `body_digest`: `true`
/// the first time, and again for the same body (the provider retrying); `false` when the token
/// came before with another body (a signature copied onto another event). Tokens seen before
/// `forget_before` are outside the signature window and pruned.
#[instrument(skip_all)]
pub async fn take_webhook_token(
    pool: &Pool,
    provider: &str,
    token: &str,
    body_digest: &str,
    now: DateTime<Utc>,
    forget_before: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let mut tx = crate::store::begin_immediate(pool).await?;
    sqlx::query("DELETE FROM webhook_tokens WHERE seen_at < $1")
        .bind(to_db_time(forget_before))
        .execute(&mut *tx)
        .await
        .context("pruning old webhook tokens")?;
    let taken = sqlx::query(
        "INSERT INTO webhook_tokens (provider, token, body_digest, seen_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (provider, token) DO NOTHING",
    )
    .bind(provider)
    .bind(token)
    .bind(body_digest)
    .bind(to_db_time(now))
    .execute(&mut *tx)
    .await
    .context("taking the webhook token")?
    .rows_affected()
        == 1;
    let same_body = taken || {
        let first: Option<String> = sqlx::query_scalar(
            "SELECT body_digest FROM webhook_tokens WHERE provider = $1 AND token = $2",
        )
        .bind(provider)
        .bind(token)
        .fetch_optional(&mut *tx)
        .await
        .context("looking up the webhook token")?;
        first.as_deref() == Some(body_digest)
    };
    tx.commit().await.context("committing the webhook token")?;
    Ok(same_body)
}
