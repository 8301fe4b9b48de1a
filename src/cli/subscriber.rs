//! `herald subscriber ...`: people and their subscriptions.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::app::App;
use crate::cli::{Input, Output};
use crate::domain::{ConsentSource, EmailAddress, ListSlug, SubscriberName, SubscriptionStatus};
use crate::error::BadInput;
use crate::import::subscribers_csv::{self, CsvImport};
use crate::store::subscribers::{self, AddOutcome, Consent};
use crate::store::{bounces, lists};

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Subscribe an address to a list (pending unless --confirmed).
    Add {
        email: String,
        #[arg(long, value_name = "SLUG")]
        list: String,
        #[arg(long, value_name = "N")]
        name: Option<String>,
        /// The person has already confirmed: make the subscription active at once.
        #[arg(long)]
        confirmed: bool,
    },
    /// Import subscribers from CSV with a header row naming `email` and optionally `name`.
    ///
    /// Rejected rows are reported as FILE:LINE: reason on stderr and the valid rows are kept;
    /// the exit code is 2 if any row was rejected. Importing the same file again changes nothing.
    Import {
        /// CSV file, or '-' for stdin.
        file: PathBuf,
        #[arg(long, value_name = "SLUG")]
        list: String,
        /// The addresses have already confirmed (consent source "import"): make them active.
        #[arg(long)]
        confirmed: bool,
    },
    /// Write a list's subscribers as CSV to stdout (email,name,status,...).
    Export {
        #[arg(long, value_name = "SLUG")]
        list: String,
        /// Only this status: pending, active, unsubscribed or bounced.
        #[arg(long, value_name = "S")]
        status: Option<String>,
    },
    /// Show a list's subscribers (every status unless --status).
    Ls {
        #[arg(long, value_name = "SLUG")]
        list: String,
        #[arg(long, value_name = "S")]
        status: Option<String>,
    },
    /// Unsubscribe an address from a list; it is never mailed on that list again.
    Unsubscribe {
        email: String,
        #[arg(long, value_name = "SLUG")]
        list: String,
    },
    /// Erase everything stored about an address, on every list (GDPR erasure).
    Forget { email: String },
    /// An address's standing on every list, and the bounce and complaint reports about it.
    Show { email: String },
    /// Make a bounced subscription active again, undoing a wrong classification.
    Reactivate {
        email: String,
        #[arg(long, value_name = "SLUG")]
        list: String,
    },
}

pub async fn run(app: &App, cmd: Cmd, output: &mut Output<'_>) -> anyhow::Result<()> {
    let now = app.clock.now();
    match cmd {
        Cmd::Add {
            email,
            list,
            name,
            confirmed,
        } => {
            let email = EmailAddress::parse(&email)?;
            let list = lists::require(&app.pool, &ListSlug::parse(&list)?).await?;
            let name = name.as_deref().and_then(SubscriberName::parse);
            let consent = Consent {
                source: ConsentSource::Cli,
                ip: None,
                confirmed,
            };
            let outcome =
                subscribers::add(&app.pool, list.id, &email, name.as_ref(), &consent, now).await?;
            let (status, message) = match outcome {
                AddOutcome::Added(status) => (
                    status,
                    format!("subscribed {email} to {} ({status})", list.slug),
                ),
                AddOutcome::Changed { from, to } => {
                    (to, format!("{email} on {}: {from} -> {to}", list.slug))
                }
                AddOutcome::Unchanged(status) => (
                    status,
                    format!("{email} is already on {} ({status})", list.slug),
                ),
            };
            if output.json {
                return output.print_json(&serde_json::json!({
                    "email": email, "list": list.slug.as_str(), "status": status,
                }));
            }
            writeln!(output.out, "{message}")?;
            Ok(())
        }
        Cmd::Import {
            file,
            list,
            confirmed,
        } => {
            let list = lists::require(&app.pool, &ListSlug::parse(&list)?).await?;
            import(app, &file, list.id, confirmed, output).await
        }
        Cmd::Export { list, status } => {
            let list = lists::require(&app.pool, &ListSlug::parse(&list)?).await?;
            let status = status
                .as_deref()
                .map(SubscriptionStatus::parse)
                .transpose()?;
            let mut csv = csv::Writer::from_writer(&mut *output.out);
            csv.write_record([
                "email",
                "name",
                "status",
                "consent_source",
                "consent_at",
                "confirmed_at",
                "unsubscribed_at",
            ])?;
            let mut rows = subscribers::for_list(&app.pool, list.id, status);
            while let Some(row) = rows.try_next().await? {
                let time = |at: Option<chrono::DateTime<chrono::Utc>>| {
                    at.map(|t| t.to_rfc3339()).unwrap_or_default()
                };
                csv.write_record([
                    row.email.as_str(),
                    // Names are anyone's text: never a live formula in the admin's spreadsheet.
                    &crate::domain::text::spreadsheet_safe(row.name.as_deref().unwrap_or_default()),
                    row.status.as_str(),
                    row.consent_source.as_str(),
                    &row.consent_at.to_rfc3339(),
                    &time(row.confirmed_at),
                    &time(row.unsubscribed_at),
                ])?;
            }
            csv.flush()?;
            Ok(())
        }
        Cmd::Ls { list, status } => {
            let list = lists::require(&app.pool, &ListSlug::parse(&list)?).await?;
            let status = status
                .as_deref()
                .map(SubscriptionStatus::parse)
                .transpose()?;
            let mut rows = subscribers::for_list(&app.pool, list.id, status);
            // Streamed, not collected: a list may hold millions.
            if output.json {
                write!(output.out, "[")?;
                let mut first = true;
                while let Some(row) = rows.try_next().await? {
                    write!(output.out, "{}\n  ", if first { "" } else { "," })?;
                    first = false;
                    serde_json::to_writer(&mut *output.out, &row)?;
                }
                writeln!(output.out, "{}]", if first { "" } else { "\n" })?;
                return Ok(());
            }
            writeln!(output.out, "{:<40}  {:<12}  NAME", "EMAIL", "STATUS")?;
            while let Some(row) = rows.try_next().await? {
                writeln!(
                    output.out,
                    "{:<40}  {:<12}  {}",
                    row.email.as_str(),
                    row.status.as_str(),
                    row.name.as_deref().unwrap_or_default()
                )?;
            }
            Ok(())
        }
        Cmd::Unsubscribe { email, list } => {
            let email = EmailAddress::parse(&email)?;
            let list = lists::require(&app.pool, &ListSlug::parse(&list)?).await?;
            let previous = subscribers::unsubscribe(&app.pool, list.id, &email, now).await?;
            if output.json {
                return output.print_json(&serde_json::json!({
                    "email": email, "list": list.slug.as_str(), "status": "unsubscribed", "previous": previous,
                }));
            }
            match previous {
                SubscriptionStatus::Unsubscribed => writeln!(
                    output.out,
                    "{email} was already unsubscribed from {}",
                    list.slug
                )?,
                _ => writeln!(output.out, "unsubscribed {email} from {}", list.slug)?,
            }
            Ok(())
        }
        Cmd::Show { email } => show(app, &EmailAddress::parse(&email)?, output).await,
        Cmd::Reactivate { email, list } => {
            let email = EmailAddress::parse(&email)?;
            let list = lists::require(&app.pool, &ListSlug::parse(&list)?).await?;
            let previous = subscribers::reactivate(&app.pool, list.id, &email, now).await?;
            match previous {
                Some(SubscriptionStatus::Bounced) => {
                    writeln!(output.out, "{email} is active on {} again", list.slug)?;
                    Ok(())
                }
                Some(other) => Err(BadInput(format!(
                    "{email} is {other} on {}, not bounced: nothing to undo",
                    list.slug
                ))
                .into()),
                None => Err(BadInput(format!("{email} is not on {}", list.slug)).into()),
            }
        }
        Cmd::Forget { email } => {
            let email = EmailAddress::parse(&email)?;
            let erased = subscribers::forget(&app.pool, &email).await?;
            if output.json {
                return output.print_json(&serde_json::json!({
                    "email": email, "erased": erased.subscriber, "subscriptions": erased.subscriptions,
                }));
            }
            if erased.subscriber {
                writeln!(
                    output.out,
                    "erased {email} and {} subscription(s)",
                    erased.subscriptions
                )?;
            } else {
                writeln!(output.out, "nothing stored for {email}")?;
            }
            Ok(())
        }
    }
}

async fn import(
    app: &App,
    file: &std::path::Path,
    list_id: i64,
    confirmed: bool,
    output: &mut Output<'_>,
) -> anyhow::Result<()> {
    let Input {
        source,
        reader: input,
        size,
    } = Input::open(file)?;

    let progress = if output.interactive && !output.json {
        let bar = match size {
            Some(bytes) => ProgressBar::new(bytes).with_style(
                ProgressStyle::with_template(
                    "{bar:40} {percent:>3}% {msg} [{elapsed_precise}, eta {eta}]",
                )
                .context("progress template")?,
            ),
            None => ProgressBar::new_spinner(),
        };
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar
    } else {
        ProgressBar::hidden()
    };
    let job = CsvImport {
        source: &source,
        list_id,
        confirmed,
        now: app.clock.now(),
    };
    let mut rejections = SuspendingWriter {
        bar: &progress,
        inner: &mut *output.err,
    };
    let report = subscribers_csv::import(&app.pool, job, input, &mut rejections, &|bytes, rows| {
        progress.set_position(bytes);
        progress.set_message(format!("{rows} rows"));
    })
    .await?;
    progress.finish_and_clear();

    if output.json {
        output.print_json(&report)?;
    } else {
        writeln!(
            output.out,
            "{} rows: {} stored, {} unchanged, {} rejected",
            report.rows, report.stored, report.unchanged, report.rejected
        )?;
    }
    if report.rejected > 0 {
        return Err(BadInput(format!("{source}: {} row(s) rejected", report.rejected)).into());
    }
    Ok(())
}

/// Writes diagnostics above a live progress bar instead of through it.
struct SuspendingWriter<'a> {
    bar: &'a ProgressBar,
    inner: &'a mut dyn Write,
}

impl Write for SuspendingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let inner = &mut self.inner;
        self.bar.suspend(|| inner.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

async fn show(app: &App, email: &EmailAddress, output: &mut Output<'_>) -> anyhow::Result<()> {
    let Some((subscriber_id, standing)) = subscribers::standing(&app.pool, email).await? else {
        return Err(BadInput(format!("unknown subscriber {email}")).into());
    };
    let filter = bounces::ReportFilter {
        subscriber_id: Some(subscriber_id),
        ..Default::default()
    };
    let reports = bounces::list(&app.pool, &filter).await?;
    if output.json {
        return output.print_json(&serde_json::json!({
            "email": email, "lists": standing, "reports": reports,
        }));
    }
    writeln!(output.out, "{email}")?;
    for list in &standing {
        let from_ip = list
            .consent_ip
            .as_deref()
            .map(|ip| format!(" from {ip}"))
            .unwrap_or_default();
        writeln!(
            output.out,
            "  {:<20} {:<13} bounces: {}  consent: {} {}{from_ip}",
            list.list,
            list.status,
            list.bounce_count,
            list.consent_source,
            list.consent_at.format("%Y-%m-%d %H:%M")
        )?;
    }
    if reports.is_empty() {
        writeln!(output.out, "no bounce or complaint reports")?;
    }
    for report in &reports {
        writeln!(
            output.out,
            "  {} {:<11} {:<6} {} ({})",
            report.received_at.format("%Y-%m-%d %H:%M"),
            report.kind,
            report.status.as_deref().unwrap_or("-"),
            report.action,
            report.diagnostic.as_deref().unwrap_or("no diagnostic"),
        )?;
    }
    Ok(())
}
