//! A webhook body that names more readers than `bounces.webhook_max_readers` is held: kept,
//! not applied, until an admin has looked at it and releases it (`herald bounce release ID`).
//! A leaked webhook secret then costs at most that many readers, not the whole list.

use anyhow::Context;
use serde_json::Value;
use tracing::warn;

use crate::app::App;
use crate::bounces::ingest::ingest_event;
use crate::bounces::providers::{Event, Provider};
use crate::bounces::report::ReportKind;
use crate::bounces::verp::Verp;
use crate::error::BadInput;
use crate::fingerprint::fingerprint;
use crate::store::begin_immediate;
use crate::store::bounces::{self, NewReport};

/// How a held report's `action` begins, until it is released.
pub const HELD: &str = "held";

/// Keeps `kept` (the body without credentials) as one held report naming no reader.
pub async fn hold(
    app: &App,
    provider: Provider,
    kept: &[u8],
    readers: usize,
) -> anyhow::Result<()> {
    let limit = app.settings.bounces.webhook_max_readers;
    let action = format!(
        "{HELD}: it names {readers} readers, more than bounces.webhook_max_readers ({limit}); \
         nothing applied until `herald bounce release` is run for it"
    );
    let diagnostic = format!("a webhook body naming {readers} readers");
    let mut tx = begin_immediate(&app.pool).await?;
    let stored = bounces::insert(
        &mut tx,
        &NewReport {
            source: provider.source(),
            kind: ReportKind::Unrecognised,
            fingerprint: &fingerprint(&[kept, HELD.as_bytes()]),
            subscriber_id: None,
            edition_id: None,
            recipient: None,
            status: None,
            diagnostic: Some(&diagnostic),
            feedback_type: None,
            report_message_id: None,
            action: &action,
            raw: kept,
        },
        app.clock.now(),
    )
    .await?;
    tx.commit().await.context("committing the held report")?;
    if stored {
        warn!(
            source = provider.source(),
            readers, "a webhook body was held, not applied: {action}"
        );
    }
    Ok(())
}

/// Applies a held report's events, as the webhook would have; returns how many it applied.
pub async fn release(app: &App, verp: Option<&Verp>, report_id: i64) -> anyhow::Result<usize> {
    let held = bounces::kept_report(&app.pool, report_id)
        .await?
        .ok_or_else(|| {
            BadInput(format!(
                "no report with id {report_id} (see `herald bounce ls`)"
            ))
        })?;
    if !held.action.starts_with(HELD) {
        return Err(BadInput(format!(
            "report {report_id} is not held (what Herald did: {})",
            held.action
        ))
        .into());
    }
    let provider = Provider::parse(&held.source).ok_or_else(|| {
        BadInput(format!(
            "report {report_id} came from {:?}, not a provider's webhook",
            held.source
        ))
    })?;
    let event = serde_json::from_slice::<Value>(&held.raw)
        .map_err(|error| format!("not JSON: {error}"))
        .and_then(|body| provider.read(&body))
        .map_err(|reason| BadInput(format!("report {report_id}'s kept body: {reason}")))?;
    let Event::Reports(reports) = event else {
        return Err(BadInput(format!("report {report_id} holds no bounce or complaint")).into());
    };
    for (part, report) in reports.iter().enumerate() {
        ingest_event(app, verp, report, &held.raw, part, provider.source()).await?;
    }
    let action = format!(
        "released by an admin: applied to {} reader(s)",
        reports.len()
    );
    bounces::set_action(&app.pool, report_id, &action).await?;
    Ok(reports.len())
}
