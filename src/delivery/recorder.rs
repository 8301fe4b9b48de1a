//! Group commit of send outcomes: workers hand each outcome over and go on sending; one task
//! writes whatever has gathered in one transaction, so SQLite is not the bottleneck. A worker
//! learns that its outcome is durable from the [`Receipt`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;

use crate::app::App;
use crate::delivery::write_turn::WriteTurn;
use crate::store::deliveries::{self, Outcome};
use crate::store::Backend;

/// Outcomes written in one transaction at most.
const GROUP: usize = 512;

/// What a run has done so far, shared by its workers and its recorder.
#[derive(Debug, Default)]
pub struct Tally {
    sent: AtomicU64,
    failed: AtomicU64,
    /// Rows claimed but not yet recorded: while any is, more work may still appear (a retry).
    in_flight: AtomicU64,
    recorded: Notify,
}

impl Tally {
    pub fn claimed(&self, rows: usize) {
        self.in_flight.fetch_add(rows as u64, Ordering::SeqCst);
    }

    /// Claimed rows given back unattempted.
    pub fn released(&self, rows: usize) {
        self.in_flight.fetch_sub(rows as u64, Ordering::SeqCst);
        self.recorded.notify_waiters();
    }

    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Messages sent and failed so far in this run.
    pub fn done(&self) -> (u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }

    /// Resolves after the next commit of outcomes (or release).
    pub async fn next_commit(&self) {
        self.recorded.notified().await;
    }

    fn committed(&self, outcome: &Outcome) {
        let counter = match outcome {
            Outcome::Sent => Some(&self.sent),
            Outcome::Failed { .. } | Outcome::Exhausted { .. } => Some(&self.failed),
            Outcome::Retry { .. } | Outcome::Requeue { .. } => None,
        };
        if let Some(counter) = counter {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Pending {
    subscriber_id: i64,
    outcome: Outcome,
    committed: oneshot::Sender<()>,
}

/// Resolves once the outcome it was given for is committed (or the recorder has failed, which
/// the run learns from [`Recorder::finish`]).
pub struct Receipt(oneshot::Receiver<()>);

impl Receipt {
    pub async fn committed(self) {
        let _ = self.0.await;
    }
}

/// A worker's way to the recorder.
#[derive(Clone)]
pub struct Outcomes(mpsc::Sender<Pending>);

impl Outcomes {
    pub async fn record(&self, subscriber_id: i64, outcome: Outcome) -> anyhow::Result<Receipt> {
        let (committed, receipt) = oneshot::channel();
        self.0
            .send(Pending {
                subscriber_id,
                outcome,
                committed,
            })
            .await
            .map_err(|_| anyhow::anyhow!("the delivery recorder has stopped"))?;
        Ok(Receipt(receipt))
    }
}

/// How long a group waits on PostgreSQL for the rest of the workers' outcomes once one has
/// come. A PostgreSQL commit is a round trip and a flush of its log, and costs about the same
/// for one row as for a group: a group of every worker's outcome is one commit where a group
/// of whoever came first would be several, each of which the next waits behind. A SQLite
/// commit costs little next to the wait.
const GATHER: Duration = Duration::from_millis(1);

/// Adds to `group` until it holds an outcome from each worker or [`GATHER`] has passed.
async fn gather(receiver: &mut mpsc::Receiver<Pending>, group: &mut Vec<Pending>, workers: usize) {
    let until = tokio::time::Instant::now() + GATHER;
    while group.len() < workers {
        let more = workers - group.len();
        match tokio::time::timeout_at(until, receiver.recv_many(group, more)).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

pub struct Recorder {
    task: JoinHandle<anyhow::Result<()>>,
}

impl Recorder {
    /// `writes` is the run's [`WriteTurn`], shared with its claims and lease renewals;
    /// `workers` the run's sending workers.
    pub fn start(
        app: App,
        edition_id: i64,
        list_id: i64,
        tally: Arc<Tally>,
        writes: WriteTurn,
        workers: usize,
    ) -> (Self, Outcomes) {
        // Each worker hands over one outcome at a time and waits for its commit.
        let capacity = workers * 2;
        let gathers = Backend::of(&app.pool) == Backend::Postgres;
        let (sender, mut receiver) = mpsc::channel::<Pending>(capacity.max(1));
        let task = tokio::spawn(async move {
            let mut group = Vec::new();
            while receiver.recv_many(&mut group, GROUP).await > 0 {
                if gathers {
                    gather(&mut receiver, &mut group, workers).await;
                }
                let outcomes: Vec<(i64, Outcome)> = group
                    .iter()
                    .map(|pending| (pending.subscriber_id, pending.outcome.clone()))
                    .collect();
                {
                    let _turn = writes.take().await;
                    deliveries::record(&app.pool, edition_id, list_id, &outcomes, app.clock.now())
                        .await?;
                }
                for pending in group.drain(..) {
                    tally.committed(&pending.outcome);
                    let _ = pending.committed.send(());
                }
                tally.recorded.notify_waiters();
            }
            Ok(())
        });
        (Self { task }, Outcomes(sender))
    }

    /// Waits for every outcome handed over to be written; call once every [`Outcomes`] is gone.
    pub async fn finish(self) -> anyhow::Result<()> {
        self.task.await.context("delivery recorder panicked")?
    }
}
