//! Bounces and complaints that come back as mail: each delivery's envelope sender is tagged
//! (VERP), the returned report is read and classified, and kept as evidence with what Herald
//! did about it. Reports arrive on stdin (`herald bounce ingest`, for an MTA's pipe) or from a
//! Maildir the daemon polls.

pub mod imap;
pub mod ingest;
pub mod maildir;
pub mod providers;
pub mod report;
pub mod verp;

use crate::app::App;
use crate::store::bounces;
use verp::Verp;

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
