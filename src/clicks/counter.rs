//! Clicks counted in memory and written in small batches: a click costs a redirect, never a
//! database write, and a `kill -9` loses at most one flush interval of counts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use super::link::{MessageTag, Place};
use super::verdict::Filtered;
pub use crate::store::clicks::{Batch, SketchKey, Tally, TallyKey};

/// A message clicked this soon after it was made may be a scanner fetching every link on
/// arrival: its clicks wait [`BURST`] for the verdict.
pub const SCANNER_DELAY: Duration = Duration::seconds(300);
/// The window in which a scanner fetches a message's links.
pub const BURST: Duration = Duration::seconds(2);
/// Different stories of one message within [`BURST`] that make it a scanner, not a reader.
pub const BURST_STORIES: usize = 3;
/// Messages waiting for their verdict at most; past this, clicks are taken as reads at once,
/// so memory stays bounded whatever arrives.
const PENDING_MAX: usize = 100_000;

/// A click on a link that resolved to a story of an edition.
#[derive(Debug, Clone, Copy)]
pub struct Click {
    pub edition_id: i64,
    pub story_id: i64,
    /// Where the link stood; a click without a tag counts under [`Place::Archive`].
    pub place: Place,
    pub tag: Option<MessageTag>,
    pub filtered: Option<Filtered>,
    pub at: DateTime<Utc>,
}

/// Another batch's counts added to this one's (a failed flush's, kept for the next).
fn absorb(batch: &mut Batch, other: Batch) {
    for (key, tally) in other.tallies {
        let mine = batch.tallies.entry(key).or_default();
        mine.clicks += tally.clicks;
        mine.filtered += tally.filtered;
    }
    for (key, sketch) in other.sketches {
        batch.sketches.entry(key).or_default().merge(&sketch);
    }
}

fn read(batch: &mut Batch, key: TallyKey, nonce: Option<u64>) {
    batch.tallies.entry(key).or_default().clicks += 1;
    if let Some(nonce) = nonce {
        for story_id in [key.story_id, SketchKey::WHOLE_EDITION] {
            batch
                .sketches
                .entry(SketchKey {
                    edition_id: key.edition_id,
                    story_id,
                })
                .or_default()
                .add(nonce);
        }
    }
}

fn filter(batch: &mut Batch, key: TallyKey) {
    batch.tallies.entry(key).or_default().filtered += 1;
}

/// One message's clicks soon after it was made, waiting for the burst verdict.
#[derive(Debug)]
struct Pending {
    first_at: DateTime<Utc>,
    clicks: Vec<TallyKey>,
}

#[derive(Debug, Default)]
struct State {
    batch: Batch,
    pending: HashMap<u64, Pending>,
}

/// Shared by the web handlers (which record) and the daemon's flusher (which takes batches).
#[derive(Debug, Default)]
pub struct ClickCounter {
    state: Mutex<State>,
    reads: AtomicU64,
    filtered: AtomicU64,
}

impl ClickCounter {
    pub fn record(&self, click: Click) {
        let key = TallyKey {
            edition_id: click.edition_id,
            story_id: click.story_id,
            place: if click.tag.is_some() {
                click.place
            } else {
                Place::Archive
            },
        };
        let mut state = self.lock();
        if click.filtered.is_some() {
            filter(&mut state.batch, key);
            self.filtered.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let Some(tag) = click.tag else {
            read(&mut state.batch, key, None);
            self.reads.fetch_add(1, Ordering::Relaxed);
            return;
        };
        // A window that has closed gets its verdict before this click opens a new one.
        let closed = state
            .pending
            .get(&tag.nonce)
            .is_some_and(|pending| click.at - pending.first_at > BURST);
        if closed {
            if let Some(pending) = state.pending.remove(&tag.nonce) {
                self.decide(&mut state.batch, tag.nonce, pending);
            }
        }
        let soon_after_delivery = click.at - tag.issued_at < SCANNER_DELAY;
        if let Some(pending) = state.pending.get_mut(&tag.nonce) {
            pending.clicks.push(key);
        } else if soon_after_delivery && state.pending.len() < PENDING_MAX {
            state.pending.insert(
                tag.nonce,
                Pending {
                    first_at: click.at,
                    clicks: vec![key],
                },
            );
        } else {
            read(&mut state.batch, key, Some(tag.nonce));
            self.reads.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Everything counted so far whose verdict is known at `now` (with `everything`, every
    /// waiting message is decided now: at shutdown).
    pub fn take(&self, now: DateTime<Utc>, everything: bool) -> Batch {
        let mut state = self.lock();
        let due: Vec<u64> = state
            .pending
            .iter()
            .filter(|(_, pending)| everything || now - pending.first_at > BURST)
            .map(|(nonce, _)| *nonce)
            .collect();
        for nonce in due {
            if let Some(pending) = state.pending.remove(&nonce) {
                self.decide(&mut state.batch, nonce, pending);
            }
        }
        std::mem::take(&mut state.batch)
    }

    /// A batch that could not be written, kept for the next flush.
    pub fn put_back(&self, batch: Batch) {
        absorb(&mut self.lock().batch, batch);
    }

    /// Clicks decided since start: reads and filtered.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.reads.load(Ordering::Relaxed),
            self.filtered.load(Ordering::Relaxed),
        )
    }

    fn decide(&self, batch: &mut Batch, nonce: u64, pending: Pending) {
        let mut stories: Vec<i64> = pending.clicks.iter().map(|key| key.story_id).collect();
        stories.sort_unstable();
        stories.dedup();
        let burst = stories.len() >= BURST_STORIES;
        for key in pending.clicks {
            if burst {
                filter(batch, key);
                self.filtered.fetch_add(1, Ordering::Relaxed);
            } else {
                read(batch, key, Some(nonce));
                self.reads.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves counts, not broken invariants: keep counting.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 5, 6, 0, 0)
            .single()
            .expect("a time")
            + Duration::seconds(seconds)
    }

    fn click(story_id: i64, nonce: u64, issued: i64, seconds: i64) -> Click {
        Click {
            edition_id: 1,
            story_id,
            place: Place::Section,
            tag: Some(MessageTag {
                nonce,
                issued_at: at(issued),
            }),
            filtered: None,
            at: at(seconds),
        }
    }

    fn sums(batch: &Batch) -> Tally {
        batch
            .tallies
            .values()
            .fold(Tally::default(), |sum, t| Tally {
                clicks: sum.clicks + t.clicks,
                filtered: sum.filtered + t.filtered,
            })
    }

    #[test]
    fn a_scanner_fetching_every_link_on_arrival_is_filtered() {
        let counter = ClickCounter::default();
        for story in 1..=4 {
            counter.record(click(story, 7, 0, 3));
        }
        // A reader of another message, the same moment, two stories.
        counter.record(click(1, 8, 0, 3));
        counter.record(click(2, 8, 0, 4));
        assert!(counter.take(at(4), false).is_empty(), "verdicts wait");
        let batch = counter.take(at(10), false);
        assert_eq!(
            sums(&batch),
            Tally {
                clicks: 2,
                filtered: 4
            }
        );
        let whole = SketchKey {
            edition_id: 1,
            story_id: SketchKey::WHOLE_EDITION,
        };
        assert_eq!(batch.sketches[&whole].estimate(), 1);
        assert_eq!(counter.totals(), (2, 4));
    }

    #[test]
    fn later_clicks_count_at_once_and_archive_clicks_have_their_place() {
        let counter = ClickCounter::default();
        counter.record(click(1, 9, 0, 3_600));
        counter.record(click(2, 9, 0, 3_600));
        counter.record(click(3, 9, 0, 3_600));
        counter.record(Click {
            tag: None,
            ..click(1, 0, 0, 3_600)
        });
        let batch = counter.take(at(3_600), false);
        assert_eq!(sums(&batch).clicks, 4);
        assert_eq!(
            batch.tallies[&TallyKey {
                edition_id: 1,
                story_id: 1,
                place: Place::Archive
            }]
                .clicks,
            1
        );
        let failed = counter.take(at(3_601), false);
        assert!(failed.is_empty());
        counter.put_back(batch);
        assert_eq!(sums(&counter.take(at(3_602), true)).clicks, 4);
    }
}
