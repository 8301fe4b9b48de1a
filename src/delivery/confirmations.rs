//! Double opt-in mails: queued in the database by the sign-up, sent here by the daemon through
//! the [`Mailer`], retried with backoff, and never lost to a restart. A failure is logged
//! without the reader's address.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::Notify;
use tracing::{error, warn};

use crate::app::App;
use crate::bounces::verp::{ReaderTag, Tag};
use crate::delivery::failure::{redact_addresses, Fate, SendError};
use crate::delivery::mailer::{ConfirmationContent, Mailer};
use crate::delivery::sender::{SendOptions, Shutdown};
use crate::domain::{EmailAddress, Language};
use crate::store::optin::{self, ConfirmationJob};
use crate::templates::pages;

/// How many due mails one pass takes.
const BATCH: i64 = 50;
/// The longest the sender sleeps without a nudge, so a retry falls due on time.
const IDLE: Duration = Duration::from_secs(30);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    pub sent: u64,
    pub failed: u64,
}

/// Sends every confirmation mail that is due now. A refusal for good is not retried; a failure
/// of the relay or of our side ends the pass and charges no mail (all wait out a pause).
pub async fn send_due(app: &App, mailer: &Mailer) -> anyhow::Result<Pass> {
    let options = SendOptions::from_settings(&app.settings);
    let mut pass = Pass::default();
    let now = app.clock.now();
    let lease_until = app.settings.database.lease_until(now);
    let jobs = optin::due_confirmations(&app.pool, now, lease_until, BATCH).await?;
    for (tried, job) in jobs.iter().enumerate() {
        match send_one(app, mailer, job).await {
            Ok(()) => {
                optin::confirmation_sent(&app.pool, job, app.clock.now()).await?;
                app.metrics
                    .confirmations_sent
                    .fetch_add(1, Ordering::Relaxed);
                pass.sent += 1;
            }
            Err(failure) => {
                pass.failed += 1;
                let attempts = u32::try_from(job.attempts + 1).unwrap_or(u32::MAX);
                let reason = redact_addresses(&failure.to_string());
                let (list_id, subscriber_id) = (job.list_id, job.subscriber_id);
                let retry_at = |delay: Duration| {
                    now + chrono::Duration::from_std(delay.max(Duration::from_secs(10)))
                        .unwrap_or_default()
                };
                match failure.fate(attempts, &options) {
                    Fate::RetryAfter(delay) => {
                        warn!(
                            list_id,
                            subscriber_id, "confirmation mail not sent, will retry: {reason}"
                        );
                        optin::confirmation_failed(&app.pool, job, Some(retry_at(delay))).await?;
                    }
                    Fate::Failed { .. } | Fate::Exhausted => {
                        error!(
                            list_id,
                            subscriber_id,
                            "confirmation mail given up after {attempts} attempt(s): {reason}"
                        );
                        optin::confirmation_failed(&app.pool, job, None).await?;
                    }
                    Fate::Uncharged => {
                        // The relay or our side failed: no mail of this pass is charged, and
                        // all wait out a pause rather than hammer a server that is down.
                        warn!("confirmation mails paused: {reason}");
                        let resume = retry_at(options.backoff(1));
                        for untried in &jobs[tried..] {
                            optin::confirmation_untried(&app.pool, untried, resume).await?;
                        }
                        break;
                    }
                }
            }
        }
    }
    Ok(pass)
}

async fn send_one(app: &App, mailer: &Mailer, job: &ConfirmationJob) -> Result<(), SendError> {
    let settings = &app.settings;
    let to = EmailAddress::parse(&job.email)
        .map_err(|error| SendError::Unsendable(error.to_string()))?;
    let confirm_url = settings.web.url(&format!("confirm/{}", job.token()));
    let language = Language::parse(&job.list_language).unwrap_or_else(|_| Language::english());
    let locale = settings.locale.catalogues.locale(&language);
    let (subject, text, html) = pages::confirmation_email(
        &settings.newsletter,
        &locale,
        &job.list_title,
        job.name.as_deref(),
        &confirm_url,
    );
    let key = format!(
        "confirm.{}.{}.{}",
        job.list_id, job.subscriber_id, job.attempts
    );
    let outgoing = mailer
        .confirmation(
            &ConfirmationContent {
                to: &to,
                subject: &subject,
                text: &text,
                html: &html,
                key: &key,
                bounce_tag: Some(ReaderTag {
                    tag: Tag::Confirmation {
                        list_id: Some(job.list_id),
                        subscriber_id: job.subscriber_id,
                    },
                    reader_secret: &job.unsubscribe_secret,
                }),
            },
            app.clock.now(),
        )
        .map_err(|error| SendError::Unsendable(format!("{}", crate::error::OneLine(&error))))?;
    let name = format!("confirm-{}-{}", job.list_id, job.subscriber_id);
    mailer.send_one(&outgoing, &name).await
}

/// The daemon's confirmation sender: a pass whenever a sign-up queues a mail (`nudge`), when a
/// retry falls due, and at least every [`IDLE`]; until `shutdown`.
pub async fn run(app: App, mailer: Mailer, nudge: std::sync::Arc<Notify>, mut shutdown: Shutdown) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        if let Err(failure) = send_due(&app, &mailer).await {
            error!(
                "sending confirmation mails: {}",
                crate::error::OneLine(&failure)
            );
        }
        let wait = match optin::next_confirmation_at(&app.pool).await {
            Ok(Some(at)) => (at - app.clock.now())
                .to_std()
                .unwrap_or_default()
                .min(IDLE),
            _ => IDLE,
        };
        tokio::select! {
            _ = nudge.notified() => {}
            _ = tokio::time::sleep(wait.max(Duration::from_millis(200))) => {}
            _ = shutdown.changed() => {}
        }
    }
}
