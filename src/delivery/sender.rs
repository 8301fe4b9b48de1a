//! The send loop: deliver one edition to every queued subscriber, exactly once where SMTP allows.
//!
//! `concurrency` workers each hold one SMTP connection and loop: claim a small batch of rows,
//! send them one by one, hand each outcome to the [`Recorder`]. Guarantees, and how they are kept:
//! - a row is marked `sending` and committed before its SMTP transaction (the claim), and
//!   `sent` after the server's 250. A worker sends its next message while the previous outcome
//!   is being committed, but waits for that commit before handing over the next, so at most two
//!   messages per connection are ever accepted-but-unrecorded: a crash resends at most that many
//!   duplicates (each row at most once), and loses nothing;
//! - each claim names its claimant (node and process) and holds a lease that the run renews
//!   while it works: on PostgreSQL several nodes send one edition together, each skipping the
//!   rows another is claiming, and the rows of a node that dies go to the others when its lease
//!   runs out. On SQLite one process sends an edition at a time ([`EditionLock`]), so rows
//!   still `sending` when the lock is taken belong to a dead process and are sent again at once;
//! - only the server's answer to a recipient changes that recipient's row for good; a failure
//!   of the server or of our side puts the row back uncharged and feeds the circuit breaker
//!   ([`Breaker`]), which pauses, gives up, or stops the run at once for a permanent refusal;
//! - a stop request ends claiming, gives in-flight messages [`STOP_GRACE`] to finish and puts
//!   the rest back (an abandoned message may have reached the server: the one duplicate);
//! - a database failure ends the run at once; what its workers held stays `sending` and the
//!   next run sends it, as after a crash.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::app::App;
use crate::bounces::verp::{ReaderTag, Tag};
use crate::delivery::breaker::{Breaker, Halt};
use crate::delivery::edition_lock::EditionLock;
use crate::delivery::failure::Fate;
use crate::delivery::failure::SendError;
use crate::delivery::mailer::{Mailer, Outgoing};
use crate::delivery::message::{PreparedEdition, Recipient};
pub use crate::delivery::options::SendOptions;
use crate::delivery::rate::RateLimiter;
use crate::delivery::recorder::{Outcomes, Receipt, Recorder, Tally};
use crate::delivery::transport::Connection;
use crate::delivery::write_turn::WriteTurn;
use crate::digest::RenderedEdition;
use crate::domain::EditionState;
use crate::domain::{EmailAddress, SubscriptionToken};
use crate::store::deliveries::{self, Claimant, DeliveryCounts, Job, Outcome};
use crate::store::{editions, lists, Backend};

/// How long in-flight messages may take to finish after a stop request before they are
/// abandoned and put back, so SIGTERM ends a run within seconds whatever the server does.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// Rows a worker claims at a time at most: enough to keep claims cheap, few enough that the
/// last batches spread over every connection. A small edition is claimed in smaller batches
/// so that every connection gets a share.
const CLAIM_BATCH: i64 = 32;

/// How often a run with nothing left to claim looks again at rows other nodes hold.
const LEASE_POLL: Duration = Duration::from_secs(1);

/// How often progress is reported while workers run.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

pub use crate::shutdown::{never_stop, Shutdown};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub edition_id: i64,
    pub counts: DeliveryCounts,
    /// Rows a dead process had left `sending`, sent again by this run.
    pub recovered: u64,
    /// The run was asked to stop before the edition was finished.
    pub stopped: bool,
    /// The server's failure that ended the run early, if one did.
    pub halt: Option<Halt>,
}

impl DeliveryReport {
    pub fn completed(&self) -> bool {
        self.counts.unfinished() == 0
    }
}

/// Progress as the run goes: messages sent and failed so far in this run.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Delivers every unfinished row of the edition and returns when none is left (or on stop).
pub async fn deliver_edition(
    app: &App,
    edition_id: i64,
    mailer: &Mailer,
    options: &SendOptions,
    shutdown: Shutdown,
    progress: Progress<'_>,
) -> anyhow::Result<DeliveryReport> {
    let lock = EditionLock::acquire(app, edition_id)?;
    let Some(started) = prepare(app, edition_id, mailer, options, &shutdown).await? else {
        // A skipped edition has nothing to send.
        let counts = deliveries::counts(&app.pool, edition_id).await?;
        return Ok(DeliveryReport {
            edition_id,
            counts,
            recovered: 0,
            stopped: false,
            halt: None,
        });
    };
    let Started {
        run,
        recorder,
        mut workers,
        recovered,
    } = started;
    let failure = supervise(app, &run, &mut workers, progress).await;
    recorder.finish().await?;
    if let Some(error) = failure {
        return Err(error);
    }
    let (sent, failed) = run.tally.done();
    progress(sent, failed);
    finish(app, &run, lock, recovered).await
}

/// A run ready to send: its shared state, its recorder and how many rows it took back.
struct Started {
    run: Arc<Run>,
    recorder: Recorder,
    workers: JoinSet<anyhow::Result<()>>,
    recovered: u64,
}

/// Takes back what a dead process left in flight, prepares the message once for every
/// reader, and starts the workers and the recorder. `None` for an edition with nothing to send.
async fn prepare(
    app: &App,
    edition_id: i64,
    mailer: &Mailer,
    options: &SendOptions,
    shutdown: &Shutdown,
) -> anyhow::Result<Option<Started>> {
    let pool = &app.pool;
    let edition = editions::get(pool, edition_id).await?;
    let (Some(subject), Some(html), Some(text)) = (&edition.subject, &edition.html, &edition.text)
    else {
        return Ok(None);
    };
    // Under SQLite's file lock, rows left `sending` are a dead process's: resend them now. On
    // PostgreSQL another node may be sending them: they are taken when their lease runs out.
    let recovered = match Backend::of(pool) {
        Backend::Sqlite => deliveries::recover_in_flight(pool, edition_id).await?,
        Backend::Postgres => 0,
    };
    if recovered > 0 {
        warn!(
            edition_id,
            recovered, "resending deliveries a stopped process left in flight"
        );
    }
    let list = lists::get(pool, edition.list_id).await?;
    let rendered = RenderedEdition::stored(subject, html, text);
    let prepared = mailer.prepare_edition(&rendered, &list)?;
    editions::set_status(pool, edition_id, EditionState::Sending, None).await?;

    let concurrency = options.concurrency.max(1);
    let queued = deliveries::counts(pool, edition_id).await?.unfinished();
    let claim_batch = (queued / (concurrency as i64 * 4)).clamp(1, CLAIM_BATCH);
    let tally = Arc::new(Tally::default());
    let writes = WriteTurn::for_backend(Backend::of(pool));
    let (recorder, outcomes) = Recorder::start(
        app.clone(),
        edition_id,
        list.id,
        tally.clone(),
        writes.clone(),
        concurrency,
    );
    let run = Arc::new(Run {
        app: app.clone(),
        edition_id,
        list_id: list.id,
        prepared,
        mailer: mailer.clone(),
        options: options.clone(),
        breaker: Breaker::new(options.max_attempts, options.retry_base),
        shutdown: shutdown.clone(),
        rate: RateLimiter::per_second(options.rate_per_second),
        tally,
        writes,
        claim_batch,
        claimant: app.claimant(),
        cursor: AtomicI64::new(0),
        announced_retry: AtomicI64::new(i64::MIN),
    });
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        workers.spawn(run.clone().work(outcomes.clone()));
    }
    Ok(Some(Started {
        run,
        recorder,
        workers,
        recovered,
    }))
}

/// Waits for the workers, renewing the run's leases and reporting progress. The first failure
/// of a worker (or of a renewal) stops the others and is returned.
async fn supervise(
    app: &App,
    run: &Run,
    workers: &mut JoinSet<anyhow::Result<()>>,
    progress: Progress<'_>,
) -> Option<anyhow::Error> {
    let mut failure = None;
    let mut ticks = tokio::time::interval(PROGRESS_EVERY);
    // Renewed well before it runs out, so a slow server never lets another node take a row this
    // one is still sending.
    let mut renewals = tokio::time::interval(app.settings.database.lease / 3);
    renewals.tick().await;
    loop {
        tokio::select! {
            _ = renewals.tick() => {
                if let Err(error) = run.renew_leases().await {
                    failure = failure.or(Some(error));
                }
            }
            joined = workers.join_next() => match joined {
                None => break,
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(error))) => failure = failure.or(Some(error)),
                Some(Err(panic)) => failure = failure.or(Some(anyhow::anyhow!("delivery worker failed: {panic}"))),
            },
            _ = ticks.tick() => {
                let (sent, failed) = run.tally.done();
                progress(sent, failed);
            }
        }
        if failure.is_some() {
            workers.abort_all();
        }
    }
    failure
}

/// Says why an unfinished edition stopped, and marks a finished one sent.
async fn finish(
    app: &App,
    run: &Run,
    lock: EditionLock,
    recovered: u64,
) -> anyhow::Result<DeliveryReport> {
    let (pool, edition_id) = (&app.pool, run.edition_id);
    let counts = deliveries::counts(pool, edition_id).await?;
    let halt = run.breaker.halt();
    let unfinished_because = match &halt {
        _ if counts.unfinished() == 0 => None,
        Some(halt) => Some(halt.to_string()),
        None if counts.deferred > 0 => Some(format!(
            "{} recipient(s) kept answering with temporary failures through {} attempts",
            counts.deferred, run.options.max_attempts
        )),
        None => None,
    };
    if let Some(halt) = &halt {
        if counts.unfinished() > 0 {
            warn!(edition_id, "delivery stopped: {halt}");
        }
    }
    editions::set_last_error(pool, edition_id, unfinished_because.as_deref()).await?;
    if counts.unfinished() == 0 {
        editions::set_status(pool, edition_id, EditionState::Sent, Some(app.clock.now())).await?;
        lock.release_finished();
    }
    Ok(DeliveryReport {
        edition_id,
        counts,
        recovered,
        stopped: *run.shutdown.borrow() && counts.unfinished() > 0,
        halt,
    })
}

/// One edition's run, shared by its workers.
struct Run {
    app: App,
    edition_id: i64,
    list_id: i64,
    prepared: PreparedEdition,
    mailer: Mailer,
    options: SendOptions,
    breaker: Breaker,
    shutdown: Shutdown,
    rate: RateLimiter,
    tally: Arc<Tally>,
    writes: WriteTurn,
    claim_batch: i64,
    /// The name this run's claims carry.
    claimant: String,
    /// Pending rows after this subscriber id are still to be claimed in this run.
    cursor: AtomicI64,
    /// The retry time last logged, so that idle workers announce a wait once.
    announced_retry: AtomicI64,
}

/// What a worker does next when its batch is empty.
enum Next {
    Send(Vec<Job>),
    /// Other workers' outcomes may still schedule retries.
    AwaitOutcomes,
    RetryAt(DateTime<Utc>),
    Done,
}

impl Run {
    /// One connection's loop. Each message is sent while the previous outcome is committed;
    /// the next outcome is handed over only after that commit (the duplicate bound above).
    async fn work(self: Arc<Self>, outcomes: Outcomes) -> anyhow::Result<()> {
        let mut connection: Option<Connection> = None;
        let mut batch: VecDeque<Job> = VecDeque::new();
        let mut uncommitted: Option<Receipt> = None;
        while !self.winding_down() {
            let Some(job) = batch.pop_front() else {
                match self.next().await? {
                    Next::Send(jobs) => batch.extend(jobs),
                    Next::AwaitOutcomes => {
                        // A commit notice may come just before the wait starts: look again soon.
                        let commit = tokio::time::timeout(PROGRESS_EVERY, self.tally.next_commit());
                        self.until_stopped_or(async { _ = commit.await }).await
                    }
                    Next::RetryAt(at) => self.sleep_until_retry(at).await,
                    Next::Done => break,
                }
                continue;
            };
            self.rate.wait().await;
            let outcome = tokio::select! {
                outcome = self.attempt(&job, &mut connection) => outcome,
                _ = self.stop_grace_over() => {
                    // The server may have the message already: resending it is the one duplicate.
                    connection = None;
                    Outcome::Requeue { error: "stopped while in flight".into() }
                }
            };
            if let Some(previous) = uncommitted.take() {
                previous.committed().await;
            }
            uncommitted = Some(outcomes.record(job.subscriber_id, outcome).await?);
        }
        if let Some(last) = uncommitted {
            last.committed().await;
        }
        if !batch.is_empty() {
            let unattempted: Vec<i64> = batch.iter().map(|job| job.subscriber_id).collect();
            deliveries::release(&self.app.pool, self.edition_id, &unattempted).await?;
            self.tally.released(unattempted.len());
        }
        if let Some(connection) = connection {
            connection.close().await;
        }
        Ok(())
    }

    fn claimant_until(&self, now: DateTime<Utc>) -> Claimant<'_> {
        Claimant {
            name: &self.claimant,
            lease_until: self.app.settings.database.lease_until(now),
        }
    }

    async fn renew_leases(&self) -> anyhow::Result<()> {
        let _turn = self.writes.take().await;
        let claimant = self.claimant_until(self.app.clock.now());
        deliveries::renew_leases(&self.app.pool, self.edition_id, claimant).await?;
        Ok(())
    }

    fn winding_down(&self) -> bool {
        *self.shutdown.borrow() || self.breaker.halt().is_some()
    }

    async fn next(&self) -> anyhow::Result<Next> {
        let jobs = {
            let _turn = self.writes.take().await;
            let pool = &self.app.pool;
            let cursor = self.cursor.load(Ordering::SeqCst);
            let (edition, list, now) = (self.edition_id, self.list_id, self.app.clock.now());
            let claimant = self.claimant_until(now);
            let jobs =
                deliveries::claim(pool, edition, list, cursor, self.claim_batch, now, claimant)
                    .await?;
            if let Some(last) = jobs.last() {
                self.cursor.fetch_max(last.subscriber_id, Ordering::SeqCst);
            }
            self.tally.claimed(jobs.len());
            jobs
        };
        if !jobs.is_empty() {
            return Ok(Next::Send(jobs));
        }
        if self.tally.in_flight() > 0 {
            return Ok(Next::AwaitOutcomes);
        }
        let waiting = deliveries::waiting(&self.app.pool, self.edition_id, &self.claimant).await?;
        // Another node's rows usually finish long before their lease would run out: look again
        // soon rather than at the lease's end.
        let soon =
            self.app.clock.now() + chrono::Duration::from_std(LEASE_POLL).unwrap_or_default();
        let lease_check = waiting.lease_ends_at.map(|at| at.min(soon));
        Ok(match (waiting.retry_at, lease_check) {
            (Some(retry), Some(lease)) => Next::RetryAt(retry.min(lease)),
            (Some(at), None) | (None, Some(at)) => Next::RetryAt(at),
            (None, None) => Next::Done,
        })
    }

    async fn sleep_until_retry(&self, at: DateTime<Utc>) {
        let wait = (at - self.app.clock.now()).to_std().unwrap_or_default();
        if self.announced_retry.swap(at.timestamp(), Ordering::SeqCst) != at.timestamp() {
            info!(
                edition_id = self.edition_id,
                wait_secs = wait.as_secs(),
                "waiting to retry temporary failures"
            );
        }
        self.until_stopped_or(tokio::time::sleep(wait)).await;
    }

    /// Waits for `event`, and no longer than until a stop or halt.
    async fn until_stopped_or(&self, event: impl std::future::Future<Output = ()>) {
        let mut shutdown = self.shutdown.clone();
        let mut halted = self.breaker.halted();
        tokio::select! {
            _ = event => {}
            Ok(_) = shutdown.wait_for(|stop| *stop) => {}
            Ok(_) = halted.wait_for(|halted| *halted) => {}
        }
    }

    async fn attempt(self: &Arc<Self>, job: &Job, connection: &mut Option<Connection>) -> Outcome {
        let now = self.app.clock.now();
        let Some(admission) = self.breaker.admit().await else {
            return Outcome::Requeue {
                error: "not attempted: the run stopped".into(),
            };
        };
        match self.send(job, connection, now).await {
            Ok(()) => {
                self.breaker.succeeded();
                Outcome::Sent
            }
            Err(failure) => {
                let attempts = u32::try_from(job.attempts).unwrap_or(u32::MAX);
                let fate = failure.fate(attempts, &self.options);
                match &failure {
                    SendError::Server(server) => self.breaker.failed(admission, server),
                    // The server answered for this recipient: it is alive.
                    SendError::Rejected { .. } => self.breaker.succeeded(),
                    SendError::Deferred { .. } | SendError::Unsendable(_) => {}
                }
                let error = match &failure {
                    SendError::Unsendable(error) => error.clone(),
                    other => other.to_string(),
                };
                match fate {
                    Fate::Failed { bounce } => Outcome::Failed { error, bounce },
                    Fate::Exhausted => Outcome::Exhausted {
                        error: format!("{attempts} attempts: {error}"),
                    },
                    Fate::RetryAfter(delay) => Outcome::Retry {
                        error,
                        at: now + chrono::Duration::from_std(delay).unwrap_or_default(),
                    },
                    Fate::Uncharged => Outcome::Requeue { error },
                }
            }
        }
    }

    /// Resolves [`STOP_GRACE`] after a stop request; never without one.
    async fn stop_grace_over(&self) {
        let mut shutdown = self.shutdown.clone();
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
        tokio::time::sleep(STOP_GRACE).await;
    }

    /// One reader's message, signed.
    fn build(&self, job: &Job, now: DateTime<Utc>) -> Result<Outgoing, SendError> {
        let email = EmailAddress::parse(&job.email)
            .map_err(|error| SendError::Unsendable(error.to_string()))?;
        let token =
            SubscriptionToken::new(self.list_id, job.subscriber_id, &job.unsubscribe_secret);
        let unsubscribe_url = self.app.settings.web.url(&format!("unsubscribe/{token}"));
        let key = self
            .mailer
            .message_key(&format!("{}.{}", self.edition_id, job.subscriber_id));
        let recipient = Recipient {
            email: &email,
            name: job.name.as_deref(),
            unsubscribe_url: &unsubscribe_url,
            message_key: &key,
            bounce_tag: Some(ReaderTag {
                tag: Tag::Delivery {
                    edition_id: self.edition_id,
                    subscriber_id: job.subscriber_id,
                },
                reader_secret: &job.unsubscribe_secret,
            }),
            tag_links: true,
        };
        self.mailer.edition_message(&self.prepared, &recipient, now)
    }

    async fn send(
        self: &Arc<Self>,
        job: &Job,
        connection: &mut Option<Connection>,
        now: DateTime<Utc>,
    ) -> Result<(), SendError> {
        let outgoing = if self.mailer.signer().is_some() {
            // Signing is the costliest step by far: off the async threads, so that while one
            // message is signed the connections of the others keep moving.
            let (shared, job) = (Arc::clone(self), job.clone());
            tokio::task::spawn_blocking(move || shared.build(&job, now))
                .await
                .map_err(|error| SendError::ours(format!("signing: {error}")))??
        } else {
            self.build(job, now)?
        };

        if connection.as_ref().is_none_or(|open| !open.is_usable()) {
            *connection = Some(self.mailer.transport().connect().await?);
        }
        let Some(open) = connection.as_mut() else {
            return Err(SendError::ours("no connection".into()));
        };
        let started = std::time::Instant::now();
        let result = open
            .send(
                &outgoing.envelope,
                &outgoing.bytes,
                &format!("{}-{}", self.edition_id, job.subscriber_id),
            )
            .await;
        self.app.metrics.observe_send(started.elapsed());
        if !open.is_usable() {
            *connection = None;
        }
        result
    }
}
