//! `/healthz` and `/metrics` (Prometheus text format, names prefixed `herald_`).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::RETRY_AFTER_SECS;
use super::{internal, WebState};
use crate::store;

/// How long `/healthz` waits for another writer before it says the database is busy.
const WRITE_PATIENCE: Duration = Duration::from_millis(500);

/// 200 while the database answers and takes writes; 503 when it does not (a sign-up or story
/// would fail), saying which: busy, read-only or unavailable. The body also names feeds whose last poll failed, which need an
/// operator's look but no restart.
pub async fn healthz(State(state): State<WebState>) -> Response {
    let pool = &state.app.pool;
    if let Err(error) = store::writable(pool, WRITE_PATIENCE).await {
        if store::is_read_only(&error) {
            tracing::error!("health check: the database is read-only to this process");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "database read-only: sign-ups, stories and sends cannot be stored (check the \
                 permissions of the database file and its directory)\n",
            )
                .into_response();
        }
        if !store::is_busy(&error) {
            tracing::error!("health check: {}", crate::error::OneLine(&error));
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
        }
        tracing::warn!("health check: the database is busy: another process holds its write lock");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(
                header::RETRY_AFTER,
                header::HeaderValue::from(RETRY_AFTER_SECS),
            )],
            "database busy: another process holds its write lock\n",
        )
            .into_response();
    }
    match sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM feeds WHERE last_error IS NOT NULL")
        .fetch_one(pool)
        .await
    {
        Ok(0) => (StatusCode::OK, "ok\n").into_response(),
        Ok(failing) => (
            StatusCode::OK,
            format!("ok\nfeeds failing: {failing} (see `herald feed ls`)\n"),
        )
            .into_response(),
        Err(error) => {
            tracing::error!("health check: {error}");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

pub async fn metrics(State(state): State<WebState>) -> Response {
    match render(&state).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => internal(error),
    }
}

async fn render(state: &WebState) -> anyhow::Result<String> {
    let pool = &state.app.pool;
    let mut out = String::new();
    let gauge = |out: &mut String, name: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    };

    for (name, help, sql) in [
        (
            "herald_editions",
            "Editions by status.",
            "SELECT status, COUNT(*) FROM editions GROUP BY status ORDER BY status",
        ),
        (
            "herald_deliveries",
            "Deliveries by outcome.",
            "SELECT status, COUNT(*) FROM deliveries GROUP BY status ORDER BY status",
        ),
    ] {
        gauge(&mut out, name, help);
        let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(pool).await?;
        for (status, count) in rows {
            let _ = writeln!(out, "{name}{{status=\"{status}\"}} {count}");
        }
    }

    gauge(
        &mut out,
        "herald_subscribers",
        "Subscriptions by list and status.",
    );
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT l.slug, s.status, COUNT(*) FROM subscriptions s JOIN lists l ON l.id = s.list_id
         GROUP BY l.slug, s.status ORDER BY l.slug, s.status",
    )
    .fetch_all(pool)
    .await?;
    for (list, status, count) in rows {
        let _ = writeln!(
            out,
            "herald_subscribers{{list=\"{list}\",status=\"{status}\"}} {count}"
        );
    }

    gauge(
        &mut out,
        "herald_feeds",
        "Feeds by the outcome of their last poll (ok, failing, or not polled yet).",
    );
    let (ok, failing, unpolled): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE last_polled_at IS NOT NULL AND last_error IS NULL),
                COUNT(*) FILTER (WHERE last_error IS NOT NULL),
                COUNT(*) FILTER (WHERE last_polled_at IS NULL AND last_error IS NULL)
         FROM feeds",
    )
    .fetch_one(pool)
    .await?;
    for (state, count) in [("ok", ok), ("failing", failing), ("never_polled", unpolled)] {
        let _ = writeln!(out, "herald_feeds{{state=\"{state}\"}} {count}");
    }

    let reports = crate::store::bounces::counts_by_kind(pool).await?;
    let count_of = |kind: &str| {
        reports
            .iter()
            .find(|(k, _)| k == kind)
            .map_or(0, |(_, count)| *count)
    };
    let _ = writeln!(
        out,
        "# HELP herald_bounces_total Bounce reports received, by kind (hard, soft, delayed).\n# TYPE herald_bounces_total counter"
    );
    for kind in ["hard", "soft", "delayed"] {
        let _ = writeln!(
            out,
            "herald_bounces_total{{kind=\"{kind}\"}} {}",
            count_of(kind)
        );
    }
    let _ = writeln!(
        out,
        "# HELP herald_complaints_total Spam complaints (ARF abuse reports) received.\n# TYPE herald_complaints_total counter\nherald_complaints_total {}",
        count_of("complaint")
    );

    gauge(
        &mut out,
        "herald_last_successful_send_timestamp_seconds",
        "When each list last finished sending an edition.",
    );
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT l.slug, MAX(e.completed_at) FROM editions e JOIN lists l ON l.id = e.list_id
         WHERE e.status = 'sent' AND e.completed_at IS NOT NULL GROUP BY l.slug ORDER BY l.slug",
    )
    .fetch_all(pool)
    .await?;
    for (list, at) in rows {
        let _ = writeln!(
            out,
            "herald_last_successful_send_timestamp_seconds{{list=\"{list}\"}} {at}"
        );
    }

    gauge(
        &mut out,
        "herald_node_deliveries",
        "Deliveries of unfinished editions by the node (and process) that claimed them, by state.",
    );
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT d.claimed_by, d.status, COUNT(*) FROM deliveries d
         JOIN editions e ON e.id = d.edition_id
         WHERE e.status IN ('ready', 'sending') AND d.claimed_by IS NOT NULL
           AND d.status IN ('sending', 'sent', 'failed')
         GROUP BY d.claimed_by, d.status ORDER BY d.claimed_by, d.status",
    )
    .fetch_all(pool)
    .await?;
    for (node, status, count) in rows {
        let _ = writeln!(
            out,
            "herald_node_deliveries{{node=\"{}\",status=\"{status}\"}} {count}",
            node.replace(['\\', '"', '\n'], "_")
        );
    }

    state.app.metrics.write_send_histogram(&mut out);
    let metrics = &state.app.metrics;
    for (name, help, value) in [
        (
            "herald_subscribe_requests_total",
            "Sign-up form submissions.",
            &metrics.subscribe_requests,
        ),
        (
            "herald_subscribe_rate_limited_total",
            "Sign-ups refused by the per-address rate limit.",
            &metrics.subscribe_rate_limited,
        ),
        (
            "herald_confirmation_emails_total",
            "Double opt-in emails sent.",
            &metrics.confirmations_sent,
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
            value.load(Ordering::Relaxed)
        );
    }
    Ok(out)
}
