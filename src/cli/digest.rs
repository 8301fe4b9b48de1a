//! `herald digest ...`: editions.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Subcommand, ValueEnum};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::info;

use crate::app::App;
use crate::cli::picks::{self, Change};
use crate::cli::{clicks, Output};
use crate::clicks::LinkKey;
use crate::delivery::mailer::Mailer;
use crate::delivery::message::Recipient;
use crate::delivery::sender::{self, DeliveryReport, SendOptions};
use crate::digest::template::{Kind, SlotValues};
use crate::digest::{self, Built};
use crate::domain::EditionState;
use crate::domain::{EmailAddress, ListSlug};
use crate::error::BadInput;
use crate::store::lists::{self, ListRecord};
use crate::store::{deliveries, editions};

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Render what the list's next edition would carry, for a placeholder subscriber.
    /// Records nothing.
    Preview {
        #[arg(long, value_name = "SLUG")]
        list: String,
        /// html: the HTML part; text: the plain-text part; eml: the whole MIME message.
        #[arg(long, value_enum, default_value_t = Format::Html)]
        format: Format,
        /// Write to this file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Build today's edition (once) and deliver it to every confirmed subscriber.
    ///
    /// A second run resumes the same edition and sends only what is unfinished. Returns when
    /// every delivery is sent or failed, retrying temporary failures with backoff; exit 0 when
    /// the edition completed.
    Send {
        #[arg(long, value_name = "SLUG")]
        list: String,
        /// Send one test copy to this address only; records nothing as delivered.
        #[arg(long, value_name = "EMAIL")]
        to: Option<String>,
        /// Show what would be sent, and to how many, without sending or recording anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Send an edition's unfinished deliveries again, on purpose: those deferred after
    /// repeated temporary failures, and any left by a run that stopped (a dead relay, a stop).
    /// Readers who have it, bounced or left are not mailed.
    Resend {
        #[arg(long, value_name = "SLUG")]
        list: String,
        /// The edition's local date; today's in the list's timezone when not given.
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
    },
    /// What the list's edition of a date will hold, in order and why, and when it goes,
    /// before it is built (or what it holds, once built). Records nothing.
    Plan {
        #[arg(long, value_name = "SLUG")]
        list: String,
        /// The edition's local date (default: today in the list's timezone).
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
    },
    /// Put a story into the list's edition of a date, leading its section (or at --position
    /// in it) whatever its score.
    Pin {
        /// The story's URL.
        url: String,
        #[command(flatten)]
        edition: PickedEdition,
        /// Its place in its section, 1 for first (default 1).
        #[arg(long, value_name = "N")]
        position: Option<u32>,
    },
    /// Take back a pin: the story ranks as any other.
    Unpin {
        url: String,
        #[command(flatten)]
        edition: PickedEdition,
    },
    /// Keep a story out of the list's edition of a date.
    Drop {
        url: String,
        #[command(flatten)]
        edition: PickedEdition,
    },
    /// Take back a drop.
    Undrop {
        url: String,
        #[command(flatten)]
        edition: PickedEdition,
    },
    /// The desk's note at the top of an edition not yet built (a file of Markdown: paragraphs,
    /// emphasis, links; the rest shown as text), and a subject of the day.
    Note {
        #[command(flatten)]
        edition: PickedEdition,
        /// The note, at most 2,000 characters.
        #[arg(long, value_name = "NOTE.md", conflicts_with = "clear", required_unless_present_any = ["clear", "subject"])]
        file: Option<PathBuf>,
        /// No note and the usual subject.
        #[arg(long)]
        clear: bool,
        /// The subject of the day, instead of the list's usual one.
        #[arg(long, value_name = "S", conflicts_with = "clear")]
        subject: Option<String>,
    },
    /// What readers clicked: per edition delivered, clicks, estimated unique clickers, click
    /// rate and filtered (scanners, prefetches); per story its clicks and where it stood.
    Stats {
        #[arg(long, value_name = "SLUG")]
        list: String,
        /// One edition: its local date.
        #[arg(long, value_name = "YYYY-MM-DD", conflicts_with = "days")]
        date: Option<String>,
        /// The editions of the last N local dates, today's included (default 7).
        #[arg(long, value_name = "N")]
        days: Option<u32>,
    },
    /// Editions with their delivery counts, newest first, and why an unfinished one stopped.
    Status {
        #[arg(long, value_name = "SLUG")]
        list: Option<String>,
    },
}

/// The edition an editor's pick is for.
#[derive(Debug, clap::Args)]
pub struct PickedEdition {
    #[arg(long, value_name = "SLUG")]
    list: String,
    /// The edition's local date, not built yet (default: today in the list's timezone).
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Html,
    Text,
    Eml,
}

/// The made-up reader a preview is addressed to; the name is the catalogue's
/// `digest-preview-name` in the list's language ("Reader" in English).
pub const PREVIEW_EMAIL: &str = "reader@example.com";

pub async fn run(app: &App, cmd: Cmd, output: &mut Output<'_>) -> anyhow::Result<()> {
    match cmd {
        Cmd::Send { list, to, dry_run } => {
            let list = lists::require(&app.pool, &ListSlug::parse(&list)?).await?;
            match (to, dry_run) {
                (Some(to), _) => {
                    send_test_copy(app, &list, &EmailAddress::parse(&to)?, output).await
                }
                (None, true) => dry_run_report(app, &list, output).await,
                (None, false) => send(app, &list, output).await,
            }
        }
        Cmd::Resend { list, date } => {
            let list = lists::require(&app.pool, &ListSlug::parse(&list)?).await?;
            resend(app, &list, date.as_deref(), output).await
        }
        Cmd::Status { list } => status(app, list.as_deref(), output).await,
        Cmd::Pin {
            url,
            edition,
            position,
        } => pick(app, &url, edition, Change::Pin { position }, output).await,
        Cmd::Unpin { url, edition } => pick(app, &url, edition, Change::Unpin, output).await,
        Cmd::Drop { url, edition } => pick(app, &url, edition, Change::Drop, output).await,
        Cmd::Undrop { url, edition } => pick(app, &url, edition, Change::Undrop, output).await,
        Cmd::Note {
            edition,
            file,
            clear: _,
            subject,
        } => {
            picks::note(
                app,
                &edition.list,
                edition.date.as_deref(),
                file.as_deref(),
                subject.as_deref(),
                output,
            )
            .await
        }
        Cmd::Plan { list, date } => {
            crate::cli::plan::digest_plan(app, &list, date.as_deref(), output).await
        }
        Cmd::Stats { list, date, days } => {
            let period = clicks::Period::parse(date.as_deref(), days)?;
            clicks::digest_stats(app, &list, period, output).await
        }
        Cmd::Preview { list, format, out } => {
            let list = lists::require(&app.pool, &ListSlug::parse(&list)?).await?;
            preview(app, &list, format, out, output).await
        }
    }
}

async fn pick(
    app: &App,
    url: &str,
    edition: PickedEdition,
    change: Change,
    output: &mut Output<'_>,
) -> anyhow::Result<()> {
    picks::change(
        app,
        url,
        &edition.list,
        edition.date.as_deref(),
        change,
        output,
    )
    .await
}

/// `digest preview`: today's edition for a made-up reader, as HTML, text or a whole message.
async fn preview(
    app: &App,
    list: &ListRecord,
    format: Format,
    out: Option<PathBuf>,
    output: &mut Output<'_>,
) -> anyhow::Result<()> {
    let now = app.clock.now();
    let Some((edition, stories)) = digest::today(&app.pool, list, &app.settings, now).await? else {
        writeln!(
            output.err,
            "nothing to preview: no story qualifies for today's edition of {}",
            list.slug
        )?;
        return Ok(());
    };
    let email = EmailAddress::parse(PREVIEW_EMAIL)?;
    let unsubscribe_url = app.settings.web.url("unsubscribe/preview");
    let name = app
        .settings
        .locale
        .catalogues
        .locale(&list.language)
        .text("digest-preview-name");
    let values = SlotValues {
        name: Some(&name),
        email: email.as_str(),
        unsubscribe_url: &unsubscribe_url,
        click_tag: "",
    };
    let rendered = match format {
        Format::Html => edition.html.fill(Kind::Html, &values).into_bytes(),
        Format::Text => edition.text.fill(Kind::Text, &values).into_bytes(),
        Format::Eml => {
            let mailer = Mailer::new(app).await?;
            let prepared = mailer.prepare_edition(&edition, list)?;
            let key = mailer.message_key(&format!("preview.{}", rand::random::<u64>()));
            let recipient = Recipient {
                email: &email,
                name: Some(&name),
                unsubscribe_url: &unsubscribe_url,
                message_key: &key,
                bounce_tag: None,
                tag_links: false,
            };
            mailer
                .edition_message(&prepared, &recipient, now)
                .map_err(anyhow::Error::new)?
                .bytes
        }
    };
    match out {
        Some(path) => {
            std::fs::write(&path, &rendered)
                .with_context(|| format!("writing {}", path.display()))?;
            writeln!(
                output.err,
                "wrote {} ({stories} stories): {}",
                path.display(),
                edition.subject
            )?;
        }
        None => output.out.write_all(&rendered)?,
    }
    Ok(())
}

/// `digest send`: build (or resume) today's edition and deliver it.
pub async fn send(app: &App, list: &ListRecord, output: &mut Output<'_>) -> anyhow::Result<()> {
    // A bad DKIM key, a wrong password or a dead relay fails here, before anything is built.
    let mailer = ready_mailer(app).await?;
    let built = digest::build_edition(&app.pool, &app.settings, list, app.clock.now()).await?;
    let edition_id = built.edition_id();
    match built {
        Built::Created { deliveries, .. } => writeln!(
            output.err,
            "built the {} edition of {}: {deliveries} subscriber(s)",
            digest::build::local_date(list, app.clock.now()),
            list.slug
        )?,
        Built::Skipped { .. } | Built::Existing { skipped: true, .. } => {
            writeln!(
                output.err,
                "nothing to send: no story qualifies for today's edition of {}",
                list.slug
            )?;
            return print_report(app, edition_id, None, output).await;
        }
        Built::Existing { .. } => {
            deliveries::requeue_deferred(&app.pool, edition_id).await?;
            writeln!(output.err, "resuming today's edition of {}", list.slug)?
        }
    }
    let again = format!("herald digest send --list {}", list.slug);
    deliver(app, edition_id, &mailer, &again, output).await
}

/// `digest resend`: the edition of a date, its deferred rows back in the queue, delivered.
async fn resend(
    app: &App,
    list: &ListRecord,
    date: Option<&str>,
    output: &mut Output<'_>,
) -> anyhow::Result<()> {
    let date = match date {
        Some(raw) => chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|_| BadInput(format!("--date {raw:?} is not a date (YYYY-MM-DD)")))?,
        None => digest::build::local_date(list, app.clock.now()),
    };
    let edition = editions::find(&app.pool, list.id, date)
        .await?
        .ok_or_else(|| BadInput(format!("{} has no edition for {date}", list.slug)))?;
    if edition.status == EditionState::Skipped {
        writeln!(
            output.err,
            "nothing to resend: the {date} edition of {} was skipped",
            list.slug
        )?;
        return Ok(());
    }
    let mailer = ready_mailer(app).await?;
    let requeued = deliveries::requeue_deferred(&app.pool, edition.id).await?;
    writeln!(
        output.err,
        "resending the {date} edition of {}: {requeued} deferred delivery(ies) back in the queue",
        list.slug
    )?;
    let again = format!("herald digest resend --list {} --date {date}", list.slug);
    deliver(app, edition.id, &mailer, &again, output).await
}

/// The mailer of the settings, once its DKIM key loaded and a probe of its transport (connect,
/// TLS, AUTH, QUIT; or a write to the outbox) showed it works. A failure names the server, the
/// stage and the reply.
async fn ready_mailer(app: &App) -> anyhow::Result<Mailer> {
    let mailer = Mailer::new(app).await?;
    mailer
        .transport()
        .probe()
        .await
        .map_err(|failure| anyhow::anyhow!("cannot send through {failure}"))?;
    Ok(mailer)
}

/// How often a run without a terminal reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(60);
const PROGRESS_EVERY_MESSAGES: u64 = 10_000;

/// Delivers the edition's unfinished rows, showing progress, and fails unless it completed.
/// `again` is the command that resumes it.
async fn deliver(
    app: &App,
    edition_id: i64,
    mailer: &Mailer,
    again: &str,
    output: &mut Output<'_>,
) -> anyhow::Result<()> {
    let before = deliveries::counts(&app.pool, edition_id).await?;
    let bar = if output.interactive && !output.json {
        let bar = ProgressBar::new(before.total as u64).with_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} {msg} [{elapsed_precise}, eta {eta}]",
            )
            .context("progress template")?,
        );
        bar.set_draw_target(ProgressDrawTarget::stderr());
        Some(bar)
    } else {
        None
    };
    let done_before = (before.sent + before.failed + before.cancelled) as u64;
    let total = before.total as u64;
    let logged = std::sync::Mutex::new((Instant::now(), 0u64));
    let report = sender::deliver_edition(
        app,
        edition_id,
        mailer,
        &SendOptions::from_settings(&app.settings),
        crate::shutdown::on_signals(),
        &|sent, failed| match &bar {
            Some(bar) => {
                bar.set_position(done_before + sent + failed);
                bar.set_message(format!("{failed} failed"));
            }
            // Without a terminal (cron, systemd, a pipe): a line a minute or per 10,000.
            None => {
                let Ok(mut last) = logged.lock() else { return };
                let done = sent + failed;
                if last.0.elapsed() >= PROGRESS_EVERY || done >= last.1 + PROGRESS_EVERY_MESSAGES {
                    *last = (Instant::now(), done);
                    info!(
                        edition_id,
                        "progress: {} of {total} done ({sent} sent, {failed} failed in this run)",
                        done_before + done
                    );
                }
            }
        },
    )
    .await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    print_report(app, edition_id, Some(report.clone()), output).await?;
    let unfinished = report.counts.unfinished();
    if let Some(halt) = &report.halt {
        if unfinished > 0 {
            anyhow::bail!(
                "delivery stopped: {halt}; {unfinished} deliveries unfinished, no reader's \
                 standing changed; once fixed, run `{again}`"
            );
        }
    }
    if report.stopped || !report.completed() {
        anyhow::bail!(
            "stopped with {unfinished} deliveries unfinished ({} deferred after repeated \
             temporary failures); run `{again}` to try them again",
            report.counts.deferred
        );
    }
    Ok(())
}

async fn print_report(
    app: &App,
    edition_id: i64,
    report: Option<DeliveryReport>,
    output: &mut Output<'_>,
) -> anyhow::Result<()> {
    let counts = match &report {
        Some(report) => report.counts,
        None => deliveries::counts(&app.pool, edition_id).await?,
    };
    if output.json {
        return output.print_json(&serde_json::json!({
            "edition": edition_id,
            "total": counts.total,
            "sent": counts.sent,
            "failed": counts.failed,
            "cancelled": counts.cancelled,
            "pending": counts.unfinished(),
            "deferred": counts.deferred,
            "recovered": report.as_ref().map_or(0, |r| r.recovered),
            "stopped_by": report.as_ref().and_then(|r| r.halt.as_ref()).map(|h| h.to_string()),
        }));
    }
    writeln!(
        output.out,
        "edition {edition_id}: {} sent, {} failed, {} cancelled, {} unfinished of {}",
        counts.sent,
        counts.failed,
        counts.cancelled,
        counts.unfinished(),
        counts.total
    )?;
    Ok(())
}

async fn dry_run_report(
    app: &App,
    list: &ListRecord,
    output: &mut Output<'_>,
) -> anyhow::Result<()> {
    let now = app.clock.now();
    let date = digest::build::local_date(list, now);
    if let Some(edition) = editions::find(&app.pool, list.id, date).await? {
        let counts = deliveries::counts(&app.pool, edition.id).await?;
        writeln!(
            output.out,
            "today's edition of {} exists ({}): {} unfinished of {} deliveries would be sent",
            list.slug,
            edition.status,
            counts.unfinished(),
            counts.total
        )?;
        return Ok(());
    }
    let plan = digest::plan(&app.pool, list.clone(), &app.settings, now).await?;
    let active = lists::status_counts(&app.pool, list.id).await?.active;
    match digest::render(&plan, &app.settings, &LinkKey::load(&app.pool).await?) {
        Some(edition) => writeln!(
            output.out,
            "would build the {date} edition of {}: {} stories, \"{}\", to {active} subscriber(s)",
            list.slug,
            plan.story_ids().len(),
            edition.subject
        )?,
        None => writeln!(
            output.out,
            "would skip the {date} edition of {}: no story qualifies",
            list.slug
        )?,
    }
    Ok(())
}

/// `digest send --to`: today's edition (sent already or not) to one address, recorded nowhere.
async fn send_test_copy(
    app: &App,
    list: &ListRecord,
    to: &EmailAddress,
    output: &mut Output<'_>,
) -> anyhow::Result<()> {
    let now = app.clock.now();
    let (edition, _) = digest::today(&app.pool, list, &app.settings, now)
        .await?
        .ok_or_else(|| {
            BadInput(format!(
                "nothing to send: no story qualifies for today's edition of {}",
                list.slug
            ))
        })?;
    let mailer = Mailer::new(app).await?;
    let prepared = mailer.prepare_edition(&edition, list)?;
    let unsubscribe_url = app.settings.web.url("unsubscribe/test");
    let key = mailer.message_key(&format!("test.{}", rand::random::<u64>()));
    let recipient = Recipient {
        email: to,
        name: None,
        unsubscribe_url: &unsubscribe_url,
        message_key: &key,
        bounce_tag: None,
        tag_links: false,
    };
    let outgoing = mailer.edition_message(&prepared, &recipient, now)?;
    mailer.send_one(&outgoing, &key).await?;
    writeln!(
        output.out,
        "sent a test copy of {} to {to} via {}",
        list.slug,
        mailer.transport().describe()
    )?;
    Ok(())
}

async fn status(app: &App, list: Option<&str>, output: &mut Output<'_>) -> anyhow::Result<()> {
    let list_id = match list {
        Some(slug) => Some(lists::require(&app.pool, &ListSlug::parse(slug)?).await?.id),
        None => None,
    };
    let rows = editions::status_report(&app.pool, list_id).await?;
    if output.json {
        return output.print_json(&rows);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|v| {
            vec![
                v.list.clone(),
                v.date.clone(),
                v.status.to_string(),
                v.total.to_string(),
                v.pending.to_string(),
                v.sent.to_string(),
                v.failed.to_string(),
                v.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    output.print_table(
        &[
            "LIST",
            "DATE",
            "STATUS",
            "TOTAL",
            "PENDING",
            "SENT",
            "FAILED",
            "STOPPED BY",
        ],
        &table,
    )?;
    // Which node sent what, where more than one did or one holds rows now.
    let shares: Vec<Vec<String>> = rows
        .iter()
        .filter(|v| v.nodes.len() > 1 || v.nodes.iter().any(|node| node.sending > 0))
        .flat_map(|v| {
            v.nodes.iter().map(|node| {
                vec![
                    v.list.clone(),
                    v.date.clone(),
                    node.node.clone(),
                    node.sent.to_string(),
                    node.failed.to_string(),
                    node.sending.to_string(),
                    node.lease_until
                        .map(crate::store::from_db_time)
                        .map(|at| at.format("%H:%M:%S").to_string())
                        .unwrap_or_default(),
                ]
            })
        })
        .collect();
    if shares.is_empty() {
        return Ok(());
    }
    writeln!(output.out)?;
    output.print_table(
        &[
            "LIST",
            "DATE",
            "NODE",
            "SENT",
            "FAILED",
            "SENDING",
            "LEASE UNTIL (UTC)",
        ],
        &shares,
    )
}
