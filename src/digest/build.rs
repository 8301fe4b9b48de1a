//! Creating an edition: once per (list, local date), with its deliveries enqueued in the same
//! transaction, so an edition never exists without its recipients.

use chrono::{DateTime, NaiveDate, Utc};
use tracing::{info, warn};

use crate::clicks::LinkKey;
use crate::digest::{plan, render};
use crate::domain::EditionState;
use crate::settings::Settings;
use crate::store::editions::{self, EditionContent, NewEdition};
use crate::store::lists::ListRecord;
use crate::store::{begin_immediate, deliveries};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Built {
    /// A new edition, with one pending delivery per active subscriber.
    Created { edition_id: i64, deliveries: u64 },
    /// Nothing qualified: the date is recorded as skipped, and no email is built.
    Skipped { edition_id: i64 },
    /// The date's edition existed already (this run resumes it, or it was skipped).
    Existing { edition_id: i64, skipped: bool },
}

impl Built {
    pub fn edition_id(self) -> i64 {
        match self {
            Self::Created { edition_id, .. }
            | Self::Skipped { edition_id }
            | Self::Existing { edition_id, .. } => edition_id,
        }
    }
}

/// The list's local date at `now`.
pub fn local_date(list: &ListRecord, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&list.schedule.timezone.tz()).date_naive()
}

/// Builds the list's edition for the local date of `now`, unless it exists.
pub async fn build_edition(
    pool: &crate::store::Pool,
    settings: &Settings,
    list: &ListRecord,
    now: DateTime<Utc>,
) -> anyhow::Result<Built> {
    let date = local_date(list, now);
    if let Some(existing) = editions::find(pool, list.id, date).await? {
        return Ok(Built::Existing {
            edition_id: existing.id,
            skipped: existing.status == EditionState::Skipped,
        });
    }
    let plan = plan(pool, list.clone(), settings, now).await?;
    let rendered = render(&plan, settings, &LinkKey::load(pool).await?);
    let (html, text) = match &rendered {
        Some(edition) => (edition.html.marked(), edition.text.marked()),
        None => (String::new(), String::new()),
    };
    let story_ids = plan.story_ids();
    let content = rendered.as_ref().map(|edition| EditionContent {
        subject: &edition.subject,
        html: &html,
        text: &text,
        story_ids: &story_ids,
    });

    let mut tx = begin_immediate(pool).await?;
    let created = editions::create(
        &mut tx,
        &NewEdition {
            list_id: list.id,
            local_date: date,
            content,
            built_at: now,
        },
    )
    .await?;
    let Some(edition_id) = created else {
        // Another process built it between our look and our write: use theirs.
        tx.rollback().await?;
        let existing = editions::find(pool, list.id, date)
            .await?
            .ok_or_else(|| anyhow::anyhow!("edition of {} for {date} vanished", list.slug))?;
        return Ok(Built::Existing {
            edition_id: existing.id,
            skipped: existing.status == EditionState::Skipped,
        });
    };
    if rendered.is_none() {
        tx.commit().await?;
        info!(list = %list.slug, %date, "no story qualifies: edition skipped");
        return Ok(Built::Skipped { edition_id });
    }
    let deliveries = deliveries::enqueue(&mut tx, edition_id, list.id).await?;
    tx.commit().await?;
    if let Err(error) = deliveries::refresh_statistics(pool).await {
        // Slower claims, not a failed edition: the role may not own the table.
        warn!(
            error = format!("{}", crate::error::OneLine(&error)),
            "could not refresh the planner's statistics"
        );
    }
    info!(list = %list.slug, %date, edition_id, deliveries, "edition built");
    Ok(Built::Created {
        edition_id,
        deliveries,
    })
}
