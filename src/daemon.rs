//! `herald serve`: the web server, the scheduler and the deliveries it starts, wired together;
//! shutdown is a future (a watch) passed in, so tests stop it without signals.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;
use tokio_cron_scheduler::{Job, JobScheduler};
use tracing::{error, info, warn};

use crate::app::App;
use crate::bounces::{self, imap::ImapMailbox};
use crate::clicks::ClickCounter;
use crate::delivery::confirmations;
use crate::delivery::mailer::Mailer;
use crate::delivery::sender::{self, SendOptions, Shutdown};
use crate::feeds::{self, FeedClient};
use crate::scheduler::{self, Decision};
use crate::store::feeds as store_feeds;
use crate::store::{deliveries, editions};
use crate::web::listener::{ConnectionLimits, GuardedListener};
use crate::web::{self, WebState};

/// How often the scheduler looks for due editions: every minute, on the minute.
const TICK: &str = "0 * * * * *";

/// Runs until `shutdown` fires, then stops taking work, lets deliveries finish or release their
/// rows, and returns.
pub async fn serve(app: App, listener: TcpListener, mut shutdown: Shutdown) -> anyhow::Result<()> {
    // The DKIM key is loaded and checked here: a bad one stops the daemon at start.
    let mailer = Mailer::new(&app).await?;
    let address = listener
        .local_addr()
        .context("reading the listening address")?;
    let nudge = Arc::new(Notify::new());
    let pictures = Arc::new(Notify::new());
    let clicks = Arc::new(ClickCounter::default());
    let router = web::router(
        WebState::new(app.clone(), nudge.clone(), pictures.clone(), clicks.clone()).await?,
    );
    let web_shutdown = wait_for(shutdown.clone());
    let limits = ConnectionLimits {
        unlimited_clients: app.settings.web.trusted_proxies.clone(),
        ..ConnectionLimits::default()
    };
    let web = tokio::spawn(async move {
        web::server::serve(
            GuardedListener::new(listener, limits),
            router,
            web::server::RequestTimeouts::default(),
            web_shutdown,
        )
        .await
    });
    info!(%address, base_url = %app.settings.web.base_url, "listening");

    let (tick_sender, mut ticks) = mpsc::channel::<()>(1);
    let mut cron = JobScheduler::new()
        .await
        .context("starting the scheduler")?;
    cron.add(
        Job::new_async(TICK, move |_, _| {
            let tick_sender = tick_sender.clone();
            Box::pin(async move {
                let _ = tick_sender.try_send(());
            })
        })
        .context("scheduling the tick")?,
    )
    .await
    .context("scheduling the tick")?;
    cron.start().await.context("starting the scheduler")?;

    let click_flusher = tokio::spawn(crate::clicks::keep_flushing(
        app.clone(),
        clicks.clone(),
        shutdown.clone(),
    ));
    let feeds = tokio::spawn(poll_feeds(app.clone(), shutdown.clone()));
    let measurer = tokio::spawn(measure_pictures(app.clone(), pictures));
    let bounce_mailbox = app.settings.bounces.maildir.clone().map(|dir| {
        let mailbox = crate::bounces::maildir::Maildir::new(dir);
        tokio::spawn(bounces::keep_reading(
            app.clone(),
            mailbox,
            shutdown.clone(),
        ))
    });
    let bounce_imap = match app.settings.bounces.imap.clone().map(ImapMailbox::new) {
        Some(Ok(mailbox)) => Some(tokio::spawn(bounces::keep_reading(
            app.clone(),
            mailbox,
            shutdown.clone(),
        ))),
        Some(Err(error)) => {
            error!(
                "bounce mailbox (IMAP) off: {}",
                crate::error::OneLine(&error)
            );
            None
        }
        None => None,
    };
    let confirmations = tokio::spawn(confirmations::run(
        app.clone(),
        mailer.clone(),
        nudge,
        shutdown.clone(),
    ));

    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    let mut watchdog =
        sd_notify::watchdog_enabled().map(|period| tokio::time::interval(period / 2));

    let mut deliveries = Deliveries::new(&app, &mailer, shutdown.clone());
    // The first tick runs at once: it sends what was missed while the daemon was down.
    let mut due_now = true;
    loop {
        if *shutdown.borrow() {
            break;
        }
        if due_now {
            due_now = false;
            match scheduler::tick(&app, app.clock.now()).await {
                Ok(decisions) => {
                    for (list, decision) in decisions {
                        if let Decision::Send { edition_id, .. } = decision {
                            if deliveries.start(edition_id) {
                                info!(list = %list.slug, edition_id, "delivering");
                            }
                        }
                    }
                }
                Err(error) => error!("scheduler: {}", crate::error::OneLine(&error)),
            }
            if let Err(error) = deliveries.resume_unfinished().await {
                error!(
                    "resuming unfinished editions: {}",
                    crate::error::OneLine(&error)
                );
            }
        }
        tokio::select! {
            _ = ticks.recv() => due_now = true,
            _ = shutdown.changed() => {}
            _ = async { match watchdog.as_mut() { Some(w) => { w.tick().await; } None => std::future::pending().await } } => {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
            }
            Some(done) = deliveries.running.join_next(), if !deliveries.running.is_empty() => match done {
                Ok((edition_id, report)) => deliveries.finished(edition_id, report),
                Err(error) => error!("delivery task failed: {error}"),
            },
        }
    }

    info!("stopping: no new work; finishing in-flight messages");
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    let _ = cron.shutdown().await;
    while let Some(done) = deliveries.running.join_next().await {
        if let Ok((edition_id, Err(error))) = done {
            warn!(
                edition_id,
                "delivery stopped: {}",
                crate::error::OneLine(&error)
            );
        }
    }
    // A poll in progress may wait on a slow feed; polls are idempotent, so it is simply dropped.
    feeds.abort();
    measurer.abort();
    // A report being read stays in the mailbox until it is stored: reading it again is safe.
    for task in [bounce_mailbox, bounce_imap].into_iter().flatten() {
        task.abort();
    }
    // A confirmation mail in flight is sent again later at worst: its row is still queued.
    confirmations.abort();
    match tokio::time::timeout(Duration::from_secs(5), web).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(error).context("web server task"),
        Err(_) => warn!("web server did not stop within 5 s"),
    }
    // No click arrives any more: what is counted is written, verdicts pending or not.
    let _ = click_flusher.await;
    if let Err(error) = crate::clicks::flush(&app, &clicks, true).await {
        error!(
            "click counts of the last seconds not written: {}",
            crate::error::OneLine(&error)
        );
    }
    Ok(())
}

/// How long the daemon keeps trying an unfinished edition on its own; after that it takes
/// `herald digest resend`.
const RESUME_FOR: Duration = Duration::from_secs(24 * 3600);
/// The pause before the daemon tries an edition again whose run stopped short: at least this,
/// doubling with each run that stops short, at most [`RESUME_PAUSE_MAX`].
const RESUME_PAUSE_MIN: Duration = Duration::from_secs(60);
const RESUME_PAUSE_MAX: Duration = Duration::from_secs(3600);

type DeliveryTask = (i64, anyhow::Result<sender::DeliveryReport>);

/// The editions the daemon is delivering, and when it may try again those that stopped short.
struct Deliveries {
    app: App,
    mailer: Mailer,
    options: SendOptions,
    shutdown: Shutdown,
    running: JoinSet<DeliveryTask>,
    active: HashSet<i64>,
    /// Edition -> (runs in a row that stopped short, not before).
    paused: HashMap<i64, (u32, tokio::time::Instant)>,
}

impl Deliveries {
    fn new(app: &App, mailer: &Mailer, shutdown: Shutdown) -> Self {
        Self {
            app: app.clone(),
            mailer: mailer.clone(),
            options: SendOptions::from_settings(&app.settings),
            shutdown,
            running: JoinSet::new(),
            active: HashSet::new(),
            paused: HashMap::new(),
        }
    }

    /// Starts delivering the edition unless it is running already; true if it started.
    fn start(&mut self, edition_id: i64) -> bool {
        if !self.active.insert(edition_id) {
            return false;
        }
        let (app, mailer, options, stop) = (
            self.app.clone(),
            self.mailer.clone(),
            self.options.clone(),
            self.shutdown.clone(),
        );
        self.running.spawn(async move {
            let report =
                sender::deliver_edition(&app, edition_id, &mailer, &options, stop, &|_, _| {})
                    .await;
            (edition_id, report)
        });
        true
    }

    /// Editions of the last day that a run left unfinished (the relay was down, the daemon
    /// stopped, recipients were deferred) go out again once their pause is over.
    async fn resume_unfinished(&mut self) -> anyhow::Result<()> {
        let since = self.app.clock.now() - chrono::Duration::from_std(RESUME_FOR)?;
        let now = tokio::time::Instant::now();
        for edition_id in editions::unfinished(&self.app.pool, since).await? {
            let pausing = self
                .paused
                .get(&edition_id)
                .is_some_and(|(_, until)| *until > now);
            if pausing || self.active.contains(&edition_id) {
                continue;
            }
            deliveries::requeue_deferred(&self.app.pool, edition_id).await?;
            if self.start(edition_id) {
                info!(edition_id, "resuming an unfinished edition");
            }
        }
        Ok(())
    }

    fn finished(&mut self, edition_id: i64, report: anyhow::Result<sender::DeliveryReport>) {
        self.active.remove(&edition_id);
        let unfinished = match report {
            Ok(report) => {
                info!(
                    edition_id,
                    sent = report.counts.sent,
                    failed = report.counts.failed,
                    unfinished = report.counts.unfinished(),
                    "edition delivered"
                );
                if let (Some(halt), true) = (&report.halt, report.counts.unfinished() > 0) {
                    error!(edition_id, "delivery stopped: {halt}");
                }
                report.counts.unfinished() > 0 && !report.stopped
            }
            Err(error) => {
                warn!(
                    edition_id,
                    "delivery stopped: {}",
                    crate::error::OneLine(&error)
                );
                true
            }
        };
        if !unfinished {
            self.paused.remove(&edition_id);
            return;
        }
        let runs = self.paused.get(&edition_id).map_or(0, |(runs, _)| *runs) + 1;
        let pause = RESUME_PAUSE_MIN
            .max(self.options.retry_base)
            .saturating_mul(1 << (runs - 1).min(10))
            .min(RESUME_PAUSE_MAX);
        warn!(
            edition_id,
            "edition unfinished; trying again in {} s",
            pause.as_secs()
        );
        self.paused
            .insert(edition_id, (runs, tokio::time::Instant::now() + pause));
    }
}

/// Polls every feed once per `feeds.poll_interval_secs`, spread evenly over the interval, in its
/// own task so a slow feed never holds up a send.
async fn poll_feeds(app: App, mut shutdown: Shutdown) {
    let client = match FeedClient::new(&app.settings.feeds) {
        Ok(client) => client,
        Err(error) => return error!("feed polling off: {}", crate::error::OneLine(&error)),
    };
    let interval = Duration::from_secs(app.settings.feeds.poll_interval_secs);
    loop {
        let list = match store_feeds::all(&app.pool).await {
            Ok(list) => list,
            Err(error) => {
                error!("reading feeds: {}", crate::error::OneLine(&error));
                Vec::new()
            }
        };
        let pause = interval / u32::try_from(list.len().max(1)).unwrap_or(u32::MAX);
        if list.is_empty() && !pause_or_stop(pause, &mut shutdown).await {
            return;
        }
        for feed in list {
            if let Err(error) = feeds::poll(&app, &client, &feed, Some(interval / 2)).await {
                error!(feed = %feed.url, "storing feed items: {}", crate::error::OneLine(&error));
            }
            if !pause_or_stop(pause, &mut shutdown).await {
                return;
            }
        }
    }
}

/// Measures the pictures the story API stored, whenever it says there are some; a nudge during
/// a pass is kept by the `Notify` and starts the next pass.
async fn measure_pictures(app: App, nudges: Arc<Notify>) {
    // One client for the daemon's life, as the feed poller has: its connections are reused.
    let client = match FeedClient::new(&app.settings.feeds) {
        Ok(client) => client,
        Err(error) => return error!("measuring pictures off: {}", crate::error::OneLine(&error)),
    };
    loop {
        nudges.notified().await;
        if let Err(error) = feeds::learn_picture_sizes(&app, &client).await {
            warn!(
                "picture sizes not learned: {}",
                crate::error::OneLine(&error)
            );
        }
    }
}

/// Sleeps for `pause`; false when a stop was requested meanwhile.
async fn pause_or_stop(pause: Duration, shutdown: &mut Shutdown) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(pause) => {}
        _ = shutdown.changed() => {}
    }
    !*shutdown.borrow()
}

async fn wait_for(mut shutdown: Shutdown) {
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}
