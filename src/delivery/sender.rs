//! The send loop: deliver one edition to every queued subscriber, exactly once where SMTP allows.
//!
//! Guarantees, and how they are kept:
//! - a row is marked `sending` and committed before its SMTP transaction, and `sent` after the
//!   server's 250. A worker may send its next message while the previous outcome is being
//!   committed, but reports it only after that commit, so at most two messages per connection
//!   are ever accepted-but-unrecorded: a crash resends at most that many duplicates (each row at
//!   most once), and loses nothing;
//! - one process sends an edition at a time (an OS file lock, released by the kernel when the
//!   process dies), so rows still `sending` when the lock is taken belong to a dead process and
//!   are sent again;
//! - outcomes are written in group commits, so SQLite is not the bottleneck;
//! - only the server's answer to a recipient changes that recipient's row for good; a failure
//!   of the server or of our side puts the row back uncharged and feeds the circuit breaker
//!   ([`Breaker`]), which pauses, gives up, or stops the run at once for a permanent refusal;
//! - a stop request ends claiming, gives in-flight messages [`STOP_GRACE`] to finish and puts
//!   the rest back (an abandoned message may have reached the server: the one duplicate).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot, watch, Mutex, Notify};
use tracing::{info, warn};

use crate::app::App;
use crate::delivery::breaker::{Breaker, Halt};
use crate::delivery::failure::SendError;
use crate::delivery::mailer::{Mailer, Outgoing};
use crate::delivery::message::{PreparedEdition, Recipient};
use crate::delivery::rate::RateLimiter;
use crate::delivery::transport::Connection;
use crate::digest::RenderedEdition;
use crate::domain::{EmailAddress, SubscriptionToken};
use crate::settings::{Settings, TransportKind};
use crate::store::deliveries::{self, DeliveryCounts, Job, Outcome};
use crate::store::{editions, lists};

/// How fast and how persistently to send.
#[derive(Debug, Clone)]
pub struct SendOptions {
    pub concurrency: usize,
    /// Messages per second over all connections; 0 for no limit.
    pub rate_per_second: u32,
    pub max_attempts: u32,
    /// The first retry waits this long; each further one twice as long.
    pub retry_base: Duration,
}

impl SendOptions {
    /// From `[delivery]`; over SMTP, also at most `smtp.pool_size` connections (one message is
    /// in flight per connection).
    pub fn from_settings(settings: &Settings) -> Self {
        let delivery = &settings.delivery;
        let concurrency = match settings.transport.kind {
            TransportKind::Smtp => delivery.concurrency.min(settings.smtp.pool_size),
            TransportKind::File => delivery.concurrency,
        };
        let settings = delivery;
        Self {
            concurrency: concurrency as usize,
            rate_per_second: settings.rate_per_second,
            max_attempts: settings.max_attempts,
            retry_base: Duration::from_secs(settings.retry_base_secs),
        }
    }

    /// The delay before retry number `attempt` (1 for the first retry).
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.retry_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
    }
}

/// How long in-flight messages may take to finish after a stop request before they are
/// abandoned and put back, so SIGTERM ends a run within seconds whatever the server does.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// A stop request: `true` once the run should wind down.
pub type Shutdown = watch::Receiver<bool>;

/// A shutdown that never fires, for callers with nothing to stop them.
pub fn never_stop() -> Shutdown {
    let (sender, receiver) = watch::channel(false);
    // Leaking one sender keeps the channel open for the life of the process; it is tiny.
    std::mem::forget(sender);
    receiver
}

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

/// Holds the edition's send lock for as long as it lives.
struct EditionLock {
    held: Option<(std::fs::File, PathBuf)>,
}

impl EditionLock {
    fn acquire(app: &App, edition_id: i64) -> anyhow::Result<Self> {
        let Some(path) = lock_path(app, edition_id)? else {
            return Ok(Self { held: None });
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Self {
                held: Some((file, path)),
            }),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "edition {edition_id} is being sent by another herald process; it will finish it"
            ),
            Err(std::fs::TryLockError::Error(error)) => {
                Err(error).with_context(|| format!("locking {}", path.display()))
            }
        }
    }

    /// A finished edition needs no lock any more: remove its file (still holding the lock, so
    /// no other process is in the middle of it) rather than keep one file per edition forever.
    fn release_finished(self) {
        if let Some((file, path)) = self.held {
            let _ = std::fs::remove_file(&path);
            drop(file);
        }
    }
}

fn lock_path(app: &App, edition_id: i64) -> anyhow::Result<Option<PathBuf>> {
    let options = crate::store::connect_options(&app.settings.database.url)?;
    let database = options.get_filename();
    if database.as_os_str().is_empty() || database.to_string_lossy().contains(":memory:") {
        return Ok(None);
    }
    let mut dir = database.as_os_str().to_owned();
    dir.push(".locks");
    Ok(Some(
        PathBuf::from(dir).join(format!("edition-{edition_id}.lock")),
    ))
}

struct Shared {
    app: App,
    edition_id: i64,
    list_id: i64,
    prepared: PreparedEdition,
    mailer: Mailer,
    options: SendOptions,
    breaker: Breaker,
    shutdown: Shutdown,
    stopping: AtomicBool,
    in_flight: AtomicI64,
    recorded: Notify,
    rate: RateLimiter,
    /// Claims and outcome commits take turns here instead of in SQLite's busy handler, which
    /// sleeps for milliseconds when two of our own connections want the write lock at once.
    writes: Mutex<()>,
}

struct Recorded {
    subscriber_id: i64,
    outcome: Outcome,
    ack: oneshot::Sender<()>,
}

/// Delivers every unfinished row of the edition and returns when none is left (or on stop).
pub async fn deliver_edition(
    app: &App,
    edition_id: i64,
    mailer: &Mailer,
    options: &SendOptions,
    mut shutdown: Shutdown,
    progress: Progress<'_>,
) -> anyhow::Result<DeliveryReport> {
    let lock = EditionLock::acquire(app, edition_id)?;
    let pool = &app.pool;
    let edition = editions::get(pool, edition_id).await?;
    let (Some(subject), Some(html), Some(text)) = (&edition.subject, &edition.html, &edition.text)
    else {
        // A skipped edition has nothing to send.
        let counts = deliveries::counts(pool, edition_id).await?;
        return Ok(DeliveryReport {
            edition_id,
            counts,
            recovered: 0,
            stopped: false,
            halt: None,
        });
    };
    let recovered = deliveries::recover_in_flight(pool, edition_id).await?;
    if recovered > 0 {
        warn!(
            edition_id,
            recovered, "resending deliveries a stopped process left in flight"
        );
    }
    let list = lists::get(pool, edition.list_id).await?;
    let rendered = RenderedEdition::stored(subject, html, text);
    let prepared = mailer.prepare_edition(&rendered, &list)?;
    editions::set_status(pool, edition_id, "sending", None).await?;

    let shared = Arc::new(Shared {
        app: app.clone(),
        edition_id,
        list_id: list.id,
        prepared,
        mailer: mailer.clone(),
        options: options.clone(),
        breaker: Breaker::new(options.max_attempts, options.retry_base),
        shutdown: shutdown.clone(),
        stopping: AtomicBool::new(false),
        in_flight: AtomicI64::new(0),
        recorded: Notify::new(),
        rate: RateLimiter::per_second(options.rate_per_second),
        writes: Mutex::new(()),
    });
    let concurrency = options.concurrency.max(1);
    let (job_sender, job_receiver) = mpsc::channel::<Job>(concurrency);
    let job_receiver = Arc::new(Mutex::new(job_receiver));
    let (result_sender, result_receiver) = mpsc::channel::<Recorded>(concurrency * 2);
    let released = Arc::new(Mutex::new(Vec::<i64>::new()));

    let sent = Arc::new(AtomicI64::new(0));
    let failed = Arc::new(AtomicI64::new(0));
    let recorder = tokio::spawn(record_outcomes(
        shared.clone(),
        result_receiver,
        sent.clone(),
        failed.clone(),
    ));
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            tokio::spawn(work(
                shared.clone(),
                job_receiver.clone(),
                result_sender.clone(),
                released.clone(),
            ))
        })
        .collect();
    drop(result_sender);

    let claim_batch = (concurrency * 16).min(512) as i64;
    let mut cursor = 0;
    let mut pending_jobs: VecDeque<Job> = VecDeque::new();
    let mut halted = shared.breaker.halted();
    let outcome: anyhow::Result<()> = async {
        loop {
            if *shutdown.borrow() || *halted.borrow() {
                break;
            }
            if pending_jobs.is_empty() {
                let jobs = {
                    let _turn = shared.writes.lock().await;
                    deliveries::claim(
                        pool,
                        edition_id,
                        list.id,
                        cursor,
                        claim_batch,
                        app.clock.now(),
                    )
                    .await?
                };
                if let Some(last) = jobs.last() {
                    cursor = cursor.max(last.subscriber_id);
                }
                shared
                    .in_flight
                    .fetch_add(jobs.len() as i64, Ordering::SeqCst);
                pending_jobs.extend(jobs);
            }
            if !pending_jobs.is_empty() {
                tokio::select! {
                    permit = job_sender.reserve() => match (permit, pending_jobs.pop_front()) {
                        (Ok(permit), Some(job)) => permit.send(job),
                        _ => break,
                    },
                    _ = shutdown.changed() => {}
                    _ = halted.changed() => {}
                }
                progress(
                    sent.load(Ordering::Relaxed) as u64,
                    failed.load(Ordering::Relaxed) as u64,
                );
                continue;
            }
            if shared.in_flight.load(Ordering::SeqCst) > 0 {
                // Outcomes still to come may schedule retries: wait for the next commit.
                tokio::select! {
                    _ = shared.recorded.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                    _ = shutdown.changed() => {}
                    _ = halted.changed() => {}
                }
                continue;
            }
            match deliveries::next_retry_at(pool, edition_id).await? {
                None => break,
                Some(at) => {
                    let wait = (at - app.clock.now()).to_std().unwrap_or_default();
                    info!(
                        edition_id,
                        wait_secs = wait.as_secs(),
                        "waiting to retry temporary failures"
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.changed() => {}
                        _ = halted.changed() => {}
                    }
                }
            }
        }
        Ok(())
    }
    .await;

    shared
        .stopping
        .store(*shutdown.borrow() || *halted.borrow(), Ordering::SeqCst);
    released
        .lock()
        .await
        .extend(pending_jobs.iter().map(|job| job.subscriber_id));
    drop(job_sender);
    for worker in workers {
        worker.await.context("delivery worker failed")?;
    }
    recorder.await.context("delivery recorder failed")??;
    let released = std::mem::take(&mut *released.lock().await);
    if !released.is_empty() {
        deliveries::release(pool, edition_id, &released).await?;
    }
    outcome?;
    progress(
        sent.load(Ordering::Relaxed) as u64,
        failed.load(Ordering::Relaxed) as u64,
    );

    let counts = deliveries::counts(pool, edition_id).await?;
    let halt = shared.breaker.halt();
    let unfinished_because = match &halt {
        _ if counts.unfinished() == 0 => None,
        Some(halt) => Some(halt.to_string()),
        None if counts.deferred > 0 => Some(format!(
            "{} recipient(s) kept answering with temporary failures through {} attempts",
            counts.deferred, options.max_attempts
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
        editions::set_status(pool, edition_id, "sent", Some(app.clock.now())).await?;
        lock.release_finished();
    }
    Ok(DeliveryReport {
        edition_id,
        counts,
        recovered,
        stopped: *shutdown.borrow() && counts.unfinished() > 0,
        halt,
    })
}

async fn work(
    shared: Arc<Shared>,
    jobs: Arc<Mutex<mpsc::Receiver<Job>>>,
    results: mpsc::Sender<Recorded>,
    released: Arc<Mutex<Vec<i64>>>,
) {
    let mut connection: Option<Connection> = None;
    let mut uncommitted: Option<oneshot::Receiver<()>> = None;
    loop {
        let Some(job) = jobs.lock().await.recv().await else {
            break;
        };
        if shared.stopping.load(Ordering::SeqCst) {
            released.lock().await.push(job.subscriber_id);
            shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        shared.rate.wait().await;
        let finished = tokio::select! {
            outcome = shared.attempt(&job, &mut connection) => Some(outcome),
            _ = shared.stop_grace_over() => None,
        };
        let outcome = finished.unwrap_or_else(|| {
            // The server may have the message already: resending it is the one duplicate.
            connection = None;
            Outcome::Requeue {
                error: "stopped while in flight".into(),
            }
        });
        // This message went out while the previous outcome was being committed; it is reported
        // only once that commit is done. So at most two messages per connection are ever
        // accepted-but-unrecorded: that bounds duplicates after a crash.
        if let Some(previous) = uncommitted.take() {
            let _ = previous.await;
        }
        let (ack, acked) = oneshot::channel();
        let record = Recorded {
            subscriber_id: job.subscriber_id,
            outcome,
            ack,
        };
        if results.send(record).await.is_err() {
            break;
        }
        uncommitted = Some(acked);
    }
    if let Some(last) = uncommitted {
        let _ = last.await;
    }
    if let Some(connection) = connection {
        connection.close().await;
    }
}

impl Shared {
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
            Err(SendError::Rejected { stage, reply }) => {
                // The server answered for this recipient: it is alive.
                self.breaker.succeeded();
                Outcome::Failed {
                    error: format!("rejected at {stage}: {reply}"),
                    bounce: true,
                }
            }
            Err(SendError::Unsendable(error)) => Outcome::Failed {
                error,
                bounce: false,
            },
            Err(SendError::Deferred { stage, reply }) => {
                let error = format!("deferred at {stage}: {reply}");
                let attempts = u32::try_from(job.attempts).unwrap_or(u32::MAX);
                if attempts >= self.options.max_attempts {
                    Outcome::Deferred {
                        error: format!("{attempts} attempts: {error}"),
                    }
                } else {
                    let delay = chrono::Duration::from_std(self.options.backoff(attempts))
                        .unwrap_or_default();
                    Outcome::Retry {
                        error,
                        at: now + delay,
                    }
                }
            }
            Err(SendError::Server(failure)) => {
                self.breaker.failed(admission, &failure);
                Outcome::Requeue {
                    error: failure.to_string(),
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

async fn record_outcomes(
    shared: Arc<Shared>,
    mut results: mpsc::Receiver<Recorded>,
    sent: Arc<AtomicI64>,
    failed: Arc<AtomicI64>,
) -> anyhow::Result<()> {
    let mut batch: Vec<Recorded> = Vec::new();
    while let Some(first) = results.recv().await {
        batch.push(first);
        while batch.len() < 512 {
            match results.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let outcomes: Vec<(i64, Outcome)> = batch
            .iter()
            .map(|r| (r.subscriber_id, r.outcome.clone()))
            .collect();
        {
            let _turn = shared.writes.lock().await;
            let now = shared.app.clock.now();
            deliveries::record(
                &shared.app.pool,
                shared.edition_id,
                shared.list_id,
                &outcomes,
                now,
            )
            .await?;
        }
        for recorded in batch.drain(..) {
            match recorded.outcome {
                Outcome::Sent => sent.fetch_add(1, Ordering::Relaxed),
                Outcome::Failed { .. } | Outcome::Deferred { .. } => {
                    failed.fetch_add(1, Ordering::Relaxed)
                }
                Outcome::Retry { .. } | Outcome::Requeue { .. } => 0,
            };
            shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            let _ = recorded.ack.send(());
        }
        shared.recorded.notify_one();
    }
    Ok(())
}
