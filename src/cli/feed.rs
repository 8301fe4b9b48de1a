//! `herald feed ...`: the feeds the daemon polls for stories.

use clap::Subcommand;
use serde::Serialize;

use crate::app::App;
use crate::cli::Output;
use crate::domain::{Section, StoryUrl};
use crate::feeds::{self, FeedClient, PollCounts, PollOutcome};
use crate::store::feeds as store;

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Add an RSS, Atom or JSON Feed URL; its items become stories of the given section.
    Add {
        url: String,
        /// news, blog or another section name (default news).
        #[arg(long, value_name = "S")]
        section: Option<String>,
    },
    /// Show the feeds with when they were last polled and the last error.
    Ls,
    /// Stop polling a feed (its stories stay).
    Rm { url: String },
    /// Poll every feed now and report per feed; exit 1 if any failed.
    Poll,
}

#[derive(Serialize)]
struct FeedView {
    url: String,
    section: String,
    last_polled_at: Option<String>,
    last_error: Option<String>,
}

#[derive(Serialize)]
struct PollView {
    url: String,
    #[serde(flatten)]
    counts: PollCounts,
    error: Option<String>,
}

pub async fn run(app: &App, cmd: Cmd, output: &mut Output<'_>) -> anyhow::Result<()> {
    match cmd {
        Cmd::Add { url, section } => {
            let url = StoryUrl::parse_as(&url, "feed URL")?;
            let section = section
                .as_deref()
                .map(Section::parse)
                .transpose()?
                .unwrap_or_default();
            store::add(&app.pool, &url, &section, app.clock.now()).await?;
            writeln!(output.out, "added feed {url} ({section})")?;
            Ok(())
        }
        Cmd::Ls => {
            let views: Vec<FeedView> = store::all(&app.pool)
                .await?
                .into_iter()
                .map(|feed| FeedView {
                    url: feed.url,
                    section: feed.section,
                    last_polled_at: feed.last_polled_at.map(|at| at.to_rfc3339()),
                    last_error: feed.last_error,
                })
                .collect();
            if output.json {
                return output.print_json(&views);
            }
            let rows: Vec<Vec<String>> = views
                .iter()
                .map(|v| {
                    vec![
                        v.url.clone(),
                        v.section.clone(),
                        v.last_polled_at.clone().unwrap_or_else(|| "never".into()),
                        v.last_error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            output.print_table(&["URL", "SECTION", "LAST POLLED", "LAST ERROR"], &rows)
        }
        Cmd::Rm { url } => {
            let url = StoryUrl::parse_as(&url, "feed URL")?;
            store::remove(&app.pool, &url).await?;
            writeln!(output.out, "removed feed {url}")?;
            Ok(())
        }
        Cmd::Poll => {
            let client = FeedClient::new(&app.settings.feeds)?;
            let mut views = Vec::new();
            for feed in store::all(&app.pool).await? {
                let outcome = feeds::poll(app, &client, &feed, None).await?;
                let (counts, error) = match outcome {
                    PollOutcome::Polled(counts) => (counts, None),
                    PollOutcome::Failed(error) => (PollCounts::default(), Some(error)),
                    PollOutcome::Elsewhere => (
                        PollCounts::default(),
                        Some(
                            "not polled: another node is polling it, or polled it moments ago"
                                .into(),
                        ),
                    ),
                };
                views.push(PollView {
                    url: feed.url,
                    counts,
                    error,
                });
            }
            if output.json {
                output.print_json(&views)?;
            } else {
                for view in &views {
                    match (&view.error, view.counts.not_modified) {
                        (Some(error), _) => writeln!(output.out, "{}: FAILED: {error}", view.url)?,
                        (None, true) => writeln!(output.out, "{}: not modified", view.url)?,
                        (None, false) => writeln!(
                            output.out,
                            "{}: {} new, {} updated, {} unchanged, {} skipped",
                            view.url,
                            view.counts.inserted,
                            view.counts.updated,
                            view.counts.unchanged,
                            view.counts.skipped
                        )?,
                    }
                }
            }
            let failed = views.iter().filter(|v| v.error.is_some()).count();
            if failed > 0 {
                anyhow::bail!("{failed} of {} feed(s) failed", views.len());
            }
            Ok(())
        }
    }
}
