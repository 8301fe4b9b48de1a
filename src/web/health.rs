//! `/healthz` and `/metrics` (Prometheus text format, names prefixed `herald_`).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::WebError;
use super::error::RETRY_AFTER_SECS;
use super::WebState;
use crate::domain::ReportKind;
use crate::store::{self, stats};

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
    match stats::feed_states(pool).await.map(|feeds| feeds.failing) {
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

pub async fn metrics(State(state): State<WebState>) -> Result<Response, WebError> {
    let text = render(&state).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

async fn render(state: &WebState) -> anyhow::Result<String> {
    let pool = &state.app.pool;
    let mut out = String::new();
    let gauge = |out: &mut String, name: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    };

    for (name, help, rows) in [
        (
            "herald_editions",
            "Editions by status.",
            stats::editions_by_state(pool).await?,
        ),
        (
            "herald_deliveries",
            "Deliveries by outcome.",
            stats::deliveries_by_state(pool).await?,
        ),
    ] {
        gauge(&mut out, name, help);
        for row in rows {
            let _ = writeln!(out, "{name}{{status=\"{}\"}} {}", row.status, row.count);
        }
    }

    gauge(
        &mut out,
        "herald_subscribers",
        "Subscriptions by list and status.",
    );
    for row in stats::subscriptions_by_list(pool).await? {
        let _ = writeln!(
            out,
            "herald_subscribers{{list=\"{}\",status=\"{}\"}} {}",
            row.list, row.status, row.count
        );
    }

    gauge(
        &mut out,
        "herald_feeds",
        "Feeds by the outcome of their last poll (ok, failing, or not polled yet).",
    );
    let feeds = stats::feed_states(pool).await?;
    for (state, count) in [
        ("ok", feeds.ok),
        ("failing", feeds.failing),
        ("never_polled", feeds.never_polled),
    ] {
        let _ = writeln!(out, "herald_feeds{{state=\"{state}\"}} {count}");
    }

    let reports = crate::store::bounces::counts_by_kind(pool).await?;
    let count_of = |kind: ReportKind| {
        reports
            .iter()
            .find(|row| row.kind == kind)
            .map_or(0, |row| row.count)
    };
    let _ = writeln!(
        out,
        "# HELP herald_bounces_total Bounce reports received, by kind (hard, soft, delayed).\n# TYPE herald_bounces_total counter"
    );
    for kind in [ReportKind::Hard, ReportKind::Soft, ReportKind::Delayed] {
        let _ = writeln!(
            out,
            "herald_bounces_total{{kind=\"{}\"}} {}",
            kind.as_str(),
            count_of(kind)
        );
    }
    let _ = writeln!(
        out,
        "# HELP herald_complaints_total Spam complaints (ARF abuse reports) received.\n# TYPE herald_complaints_total counter\nherald_complaints_total {}",
        count_of(ReportKind::Complaint)
    );

    gauge(
        &mut out,
        "herald_last_successful_send_timestamp_seconds",
        "When each list last finished sending an edition.",
    );
    for send in stats::last_sends(pool).await? {
        let _ = writeln!(
            out,
            "herald_last_successful_send_timestamp_seconds{{list=\"{}\"}} {}",
            send.list, send.at
        );
    }

    gauge(
        &mut out,
        "herald_node_deliveries",
        "Deliveries of unfinished editions by the node (and process) that claimed them, by state.",
    );
    for row in stats::node_deliveries(pool).await? {
        let _ = writeln!(
            out,
            "herald_node_deliveries{{node=\"{}\",status=\"{}\"}} {}",
            row.node.replace(['\\', '"', '\n'], "_"),
            row.status,
            row.count
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
    let (reads, filtered) = state.links.counter.totals();
    let name = "herald_clicks_total";
    let _ = writeln!(
        out,
        "# HELP {name} Clicks on counted story links since start, by verdict (read, or \
         filtered as a scanner or prefetch).\n# TYPE {name} counter\n\
         {name}{{verdict=\"read\"}} {reads}\n{name}{{verdict=\"filtered\"}} {filtered}"
    );
    Ok(out)
}
