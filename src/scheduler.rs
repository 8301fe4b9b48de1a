//! When editions go out. tokio-cron-scheduler wakes the daemon once a minute; the due times
//! themselves are computed here, on each list's local wall clock, and kept in SQLite.
//!
//! Why not one cron job per list: tokio-cron-scheduler's timezone jobs fix the UTC offset when
//! the job is created, so after a daylight-saving change they fire an hour off until re-created.
//! Computing each next time from the wall clock (`Schedule::next_after`) has no such drift, and
//! storing it makes missed editions visible after a restart.

use chrono::{DateTime, Duration, Utc};
use tracing::{info, warn};

use crate::app::App;
use crate::digest::{self, Built};
use crate::store::lists::{self, ListRecord};
use crate::store::schedule;

/// What one tick decided for one list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Not due yet (or just (re)scheduled); nothing to do.
    Waiting { next_due_at: Option<DateTime<Utc>> },
    /// Due (on time, or missed but within `schedule.catch_up_hours`): its edition was built or
    /// already existed; the caller delivers it.
    Send {
        edition_id: i64,
        due_at: DateTime<Utc>,
    },
    /// Due, but too long ago to be worth sending.
    Skipped { due_at: DateTime<Utc> },
}

/// How recently a list must have been added for its first due time to count from then: a tick
/// comes every minute, so two cover it.
const FRESH_LIST: Duration = Duration::minutes(2);

fn schedule_key(list: &ListRecord) -> String {
    format!("{}|{}", list.schedule.cron, list.schedule.timezone)
}

/// Looks at every list once at `now`: builds the editions that are due and moves each list's
/// next due time on. Safe to call as often as wanted: an edition is built at most once per list
/// and local date, and a due time is consumed once.
pub async fn tick(app: &App, now: DateTime<Utc>) -> anyhow::Result<Vec<(ListRecord, Decision)>> {
    let catch_up = Duration::hours(app.settings.schedule.catch_up_hours.into());
    let states = schedule::all(&app.pool).await?;
    let mut decisions = Vec::new();
    for list in lists::all(&app.pool).await? {
        let key = schedule_key(&list);
        let state = states.iter().find(|s| s.list_id == list.id);
        let stored = state.filter(|s| s.schedule_key.as_deref() == Some(key.as_str()));
        let mut stored_due = stored.and_then(|s| s.next_due_at);
        let never_scheduled = state.is_none_or(|s| s.schedule_key.is_none());
        if never_scheduled && list.created_at <= now && now - list.created_at <= FRESH_LIST {
            // A list added moments ago: its first due time counts from when it was added, so a
            // time between that and this tick (the CLI has just shown it) is not skipped.
            stored_due = list.schedule.next_after(list.created_at);
            schedule::set_next_due(&app.pool, list.id, stored_due, &key).await?;
        }
        let decision = match stored_due {
            // New list, or its schedule changed: the next time from now on.
            None => {
                let next = list.schedule.next_after(now);
                schedule::set_next_due(&app.pool, list.id, next, &key).await?;
                Decision::Waiting { next_due_at: next }
            }
            Some(due_at) if due_at > now => Decision::Waiting {
                next_due_at: Some(due_at),
            },
            Some(due_at) => {
                let next = list.schedule.next_after(now);
                let decision = if now - due_at <= catch_up {
                    let built = digest::build_edition(&app.pool, &app.settings, &list, now).await?;
                    match built {
                        Built::Created { .. } | Built::Existing { skipped: false, .. } => {
                            if due_at < now - Duration::minutes(5) {
                                info!(list = %list.slug, %due_at, "sending an edition missed while the daemon was down");
                            }
                            Decision::Send {
                                edition_id: built.edition_id(),
                                due_at,
                            }
                        }
                        Built::Skipped { .. } | Built::Existing { skipped: true, .. } => {
                            Decision::Waiting { next_due_at: next }
                        }
                    }
                } else {
                    warn!(list = %list.slug, %due_at, "an edition was missed by more than schedule.catch_up_hours; not sending it");
                    Decision::Skipped { due_at }
                };
                // The due time is consumed only once the edition exists, so a crash in between
                // builds it on the next tick.
                schedule::set_next_due(&app.pool, list.id, next, &key).await?;
                decision
            }
        };
        decisions.push((list, decision));
    }
    Ok(decisions)
}
