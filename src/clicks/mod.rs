//! What readers read, counted without knowing who: signed links that redirect to the story
//! (`link`), a verdict on each click (`verdict`), counts kept in memory and flushed in batches
//! (`counter`), and unique readers estimated from random per-message tags
//! (`domain::click_sketch`).
//!
//! Stored: per edition, story and place, the number of clicks and of filtered clicks, and the
//! sketches' registers. Never stored: who clicked, a subscriber id, an address, an IP address,
//! a user agent, a message tag or the time of a click.

pub mod counter;
pub mod link;
pub mod verdict;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use chrono::NaiveDate;
use tracing::warn;

pub use counter::{Click, ClickCounter};
pub use link::{LinkKey, LinkTarget, MessageTag, Place};

use crate::app::App;
use crate::shutdown::Shutdown;
use crate::store::clicks::{self, LinkDestination};
use crate::store::Pool;

/// How often counts are written: what a `kill -9` may lose at most.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

impl LinkKey {
    /// The installation's key, as the migrations made it.
    pub async fn load(pool: &Pool) -> anyhow::Result<Self> {
        let hex = clicks::link_key(pool).await?;
        let secret = (0..hex.len())
            .step_by(2)
            .map(|at| {
                hex.get(at..at + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .filter(|bytes| bytes.len() >= 16)
            .context("the installation's link key is damaged (installation.link_key)")?;
        Ok(Self::new(&secret))
    }
}

/// Where signed links lead, remembered: a click costs a database read only the first time a
/// link of an edition is followed.
#[derive(Debug, Default)]
pub struct Destinations {
    known: Mutex<HashMap<(i64, NaiveDate, i64), Option<LinkDestination>>>,
}

/// Links remembered at most; the memory is then cleared and filled again.
const DESTINATIONS_MAX: usize = 20_000;

impl Destinations {
    pub async fn find(
        &self,
        pool: &Pool,
        target: &LinkTarget,
    ) -> anyhow::Result<Option<LinkDestination>> {
        let key = (target.list_id, target.local_date, target.story_id);
        if let Some(known) = self.lock().get(&key) {
            return Ok(known.clone());
        }
        let found = clicks::destination(pool, key.0, key.1, key.2).await?;
        // An edition not built yet (a preview's link) may exist later: only hits are kept.
        if found.is_some() {
            let mut known = self.lock();
            if known.len() >= DESTINATIONS_MAX {
                known.clear();
            }
            known.insert(key, found.clone());
        }
        Ok(found)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(i64, NaiveDate, i64), Option<LinkDestination>>> {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Writes what was counted: every [`FLUSH_EVERY`] until `shutdown`, then the rest (call
/// [`flush`] with `everything` once the web server has stopped).
pub async fn keep_flushing(app: App, counter: Arc<ClickCounter>, mut shutdown: Shutdown) {
    let mut every = tokio::time::interval(FLUSH_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        if let Err(error) = flush(&app, &counter, false).await {
            warn!(
                "click counts not written, kept for the next try: {}",
                crate::error::OneLine(&error)
            );
        }
    }
}

/// Writes the counts whose verdict is known (all of them with `everything`); on failure they
/// stay in memory for the next flush.
pub async fn flush(app: &App, counter: &ClickCounter, everything: bool) -> anyhow::Result<()> {
    let batch = counter.take(app.clock.now(), everything);
    if batch.is_empty() {
        return Ok(());
    }
    if let Err(error) = clicks::add(&app.pool, &batch).await {
        counter.put_back(batch);
        return Err(error);
    }
    Ok(())
}
