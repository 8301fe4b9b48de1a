//! `herald bounce`: take in returned mail (from an MTA's pipe) and list what came back.

use std::io::Read;

use clap::Subcommand;

use crate::app::App;
use crate::bounces::{self, ingest::MAX_KEPT_BYTES};
use crate::cli::story::rfc3339;
use crate::cli::Output;
use crate::domain::ListSlug;
use crate::store::bounces::{self as reports, ReportFilter};
use crate::store::lists;

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Read one returned message (a bounce, a spam complaint, anything sent to the bounce
    /// address) on stdin, keep it and act on it: for Postfix's pipe(8), an alias or .forward.
    ///
    /// Exit codes follow sysexits for the MTA: 0 when the message was taken (including one
    /// that is not a report, which is kept with no effect), 75 (EX_TEMPFAIL) when it could not
    /// be stored, so the MTA keeps it and tries again later.
    Ingest {
        /// The address the MTA delivered it to (Postfix: ${original_recipient}); else it is
        /// read from the message.
        #[arg(long, value_name = "ADDRESS")]
        recipient: Option<String>,
    },
    /// Apply a webhook body that was held because it named more readers than
    /// `bounces.webhook_max_readers` (its ID is in `bounce ls`), once you have checked it.
    Release {
        /// The held report's id.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Show the reports received, newest first.
    Ls {
        /// Only reports about this list's readers.
        #[arg(long, value_name = "SLUG")]
        list: Option<String>,
        /// Only reports received at or after this time (RFC 3339).
        #[arg(long, value_name = "RFC3339")]
        since: Option<String>,
    },
}

pub async fn run(app: &App, cmd: Cmd, output: &mut Output<'_>) -> anyhow::Result<()> {
    match cmd {
        Cmd::Ingest { recipient } => {
            let raw = read_stdin()?;
            let verp = bounces::verp(app).await?;
            let ingested =
                bounces::ingest::ingest(app, verp.as_ref(), &raw, "pipe", recipient.as_deref())
                    .await?;
            if output.json {
                return output.print_json(&serde_json::json!({
                    "kind": ingested.kind, "action": ingested.action,
                    "duplicate": ingested.duplicate,
                    "subscriber_id": ingested.reader.map(|reader| reader.subscriber_id),
                }));
            }
            let again = if ingested.duplicate {
                " (received before: nothing changed)"
            } else {
                ""
            };
            writeln!(
                output.out,
                "{}: {}{again}",
                ingested.kind.as_str(),
                ingested.action
            )?;
            Ok(())
        }
        Cmd::Release { id } => {
            let verp = bounces::verp(app).await?;
            let applied = bounces::held::release(app, verp.as_ref(), id).await?;
            if output.json {
                return output.print_json(&serde_json::json!({ "id": id, "applied": applied }));
            }
            writeln!(
                output.out,
                "report {id} released: applied to {applied} reader(s)"
            )?;
            Ok(())
        }
        Cmd::Ls { list, since } => {
            let list_id = match list {
                Some(slug) => Some(
                    lists::require(&app.pool, &ListSlug::parse(&slug)?)
                        .await?
                        .id,
                ),
                None => None,
            };
            let since = since
                .as_deref()
                .map(|raw| rfc3339("--since", raw))
                .transpose()?;
            let filter = ReportFilter {
                list_id,
                since,
                ..Default::default()
            };
            let found = reports::list(&app.pool, &filter).await?;
            if output.json {
                return output.print_json(&found);
            }
            writeln!(
                output.out,
                "{:<6} {:<16}  {:<12} {:<7} {:<32} WHAT HERALD DID",
                "ID", "RECEIVED (UTC)", "KIND", "STATUS", "ADDRESS"
            )?;
            for report in &found {
                writeln!(
                    output.out,
                    "{:<6} {:<16}  {:<12} {:<7} {:<32} {}",
                    report.id,
                    report.received_at.format("%Y-%m-%d %H:%M"),
                    report.kind,
                    report.status.as_deref().unwrap_or("-"),
                    report.email.as_deref().unwrap_or("-"),
                    report.action
                )?;
            }
            Ok(())
        }
    }
}

/// The message on stdin: its first [`MAX_KEPT_BYTES`] are kept, the rest is read and dropped so
/// the MTA sees the whole message taken.
fn read_stdin() -> anyhow::Result<Vec<u8>> {
    let mut stdin = std::io::stdin().lock();
    let mut raw = Vec::new();
    (&mut stdin)
        .take(MAX_KEPT_BYTES as u64)
        .read_to_end(&mut raw)
        .map_err(|error| anyhow::anyhow!("reading the message on stdin: {error}"))?;
    std::io::copy(&mut stdin, &mut std::io::sink())
        .map_err(|error| anyhow::anyhow!("reading the message on stdin: {error}"))?;
    Ok(raw)
}
