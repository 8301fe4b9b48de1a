//! Bounces and complaints that come back as mail: each delivery's envelope sender is tagged
//! (VERP), the returned report is read and classified, and kept as evidence with what Herald
//! did about it. Reports arrive on stdin (`herald bounce ingest`, for an MTA's pipe) or from a
//! Maildir the daemon polls.

pub mod held;
pub mod imap;
pub mod ingest;
pub mod maildir;
pub mod providers;
pub mod report;
pub mod verp;

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use tracing::{info, warn};

use crate::app::App;
use crate::shutdown::Shutdown;
use crate::store::bounces;
use verp::Verp;

/// How one read of a mailbox went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MailboxPoll {
    /// Reports about Herald's deliveries, stored and removed from the mailbox.
    pub removed: u64,
    /// Other messages, left in place.
    pub left: u64,
}

/// A mailbox the daemon reads reports from (a Maildir, IMAP). It reads each message once and
/// removes only reports about Herald's own deliveries, once they are stored.
pub trait Mailbox: Send {
    /// For log lines: "Maildir", "IMAP".
    fn kind(&self) -> &'static str;

    /// Reads every message not read before. A failure leaves the message for the next poll.
    fn poll(
        &mut self,
        app: &App,
        verp: Option<&Verp>,
    ) -> impl Future<Output = anyhow::Result<MailboxPoll>> + Send;
}

/// The daemon's mailbox reader: a poll every `bounces.poll_interval_secs`, until `shutdown`.
pub async fn keep_reading(app: App, mut mailbox: impl Mailbox, mut shutdown: Shutdown) {
    let kind = mailbox.kind();
    let verp = match verp(&app).await {
        Ok(verp) => verp,
        Err(error) => {
            return tracing::error!(
                "bounce mailbox ({kind}) off: {}",
                crate::error::OneLine(&error)
            )
        }
    };
    let interval = Duration::from_secs(app.settings.bounces.poll_interval_secs);
    loop {
        match mailbox.poll(&app, verp.as_ref()).await {
            Ok(poll) if poll.removed > 0 => {
                info!(reports = poll.removed, "bounce mailbox ({kind}) read")
            }
            Ok(_) => {}
            Err(error) => warn!(
                "reading the bounce mailbox ({kind}): {}",
                crate::error::OneLine(&error)
            ),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// The installation's VERP, when `bounces.domain` is set.
pub async fn verp(app: &App) -> anyhow::Result<Option<Verp>> {
    let Some(domain) = &app.settings.bounces.domain else {
        return Ok(None);
    };
    let key = bounces::verp_key(&app.pool).await?;
    Ok(Some(Verp::new(
        &app.settings.bounces.local_part,
        domain,
        key.as_bytes(),
    )))
}
