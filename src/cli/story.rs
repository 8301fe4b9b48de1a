//! `herald story ...`: articles and blog posts.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde::Serialize;

use crate::app::App;
use crate::cli::{Input, Output};
use crate::domain::{
    optional_line, optional_summary, ImageSize, NewImage, Score, Section, StoryTitle, StoryUrl,
};
use crate::error::BadInput;
use crate::import::stories_json;
use crate::store::begin_immediate;
use crate::store::stories::{self, NewStory, Upserted};

// Parsed once per run: the size of the `add` variant costs nothing worth boxing it for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Add a story, or update the one with the same URL.
    Add {
        /// Link to the story (http or https).
        #[arg(long, value_name = "U")]
        url: String,
        /// Headline.
        #[arg(long, value_name = "T")]
        title: String,
        #[arg(long, value_name = "S")]
        summary: Option<String>,
        /// news ("Top stories"), blog ("From the blogs") or another section name.
        #[arg(long, value_name = "news|blog")]
        section: Option<String>,
        #[arg(long, value_name = "A")]
        author: Option<String>,
        /// Publish time, RFC 3339 (default: now).
        #[arg(long, value_name = "RFC3339")]
        published_at: Option<String>,
        /// Reader votes.
        #[arg(long, value_name = "N", allow_negative_numbers = true)]
        score: Option<i64>,
        /// The story's picture, http or https; its size is read from the picture's header.
        #[arg(long, value_name = "U")]
        image_url: Option<String>,
        /// Caption shown under the picture.
        #[arg(long, value_name = "TEXT", requires = "image_url")]
        image_caption: Option<String>,
        /// Whom the picture is by ("Reuters", "Ana Ruiz").
        #[arg(long, value_name = "TEXT", requires = "image_url")]
        image_credit: Option<String>,
    },
    /// Pull a story from every future edition of every list (a retraction); editions sent keep
    /// it.
    Withdraw {
        /// The story's URL.
        url: String,
    },
    /// A story's clicks in every edition that carried it (counted without knowing who).
    Stats {
        /// The story's URL.
        url: String,
    },
    /// Import stories from a JSON array or JSON lines ('-' for stdin); upsert by URL.
    Import { file: PathBuf },
    /// Show stories, newest first.
    Ls {
        /// Only stories published at or after this time (RFC 3339).
        #[arg(long, value_name = "RFC3339")]
        since: Option<String>,
    },
}

#[derive(Serialize)]
struct StoryView<'a> {
    url: &'a str,
    title: &'a str,
    section: &'a str,
    score: i64,
    published_at: String,
    author: Option<&'a str>,
    summary: Option<&'a str>,
    image_url: Option<&'a str>,
    image_size: Option<ImageSize>,
    image_caption: Option<&'a str>,
    image_credit: Option<&'a str>,
    updated_at: Option<String>,
}

pub(crate) fn rfc3339(flag: &str, raw: &str) -> Result<DateTime<Utc>, BadInput> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|at| at.with_timezone(&Utc))
        .map_err(|error| {
            BadInput(format!(
                "invalid {flag} {raw:?}: not an RFC 3339 time ({error})"
            ))
        })
}

pub async fn run(app: &App, cmd: Cmd, output: &mut Output<'_>) -> anyhow::Result<()> {
    let now = app.clock.now();
    match cmd {
        Cmd::Add {
            url,
            title,
            summary,
            section,
            author,
            published_at,
            score,
            image_url,
            image_caption,
            image_credit,
        } => {
            let story = NewStory {
                url: StoryUrl::parse(&url)?,
                guid: None,
                title: StoryTitle::parse(&title)?,
                summary: optional_summary(summary.as_deref()),
                author: optional_line(author.as_deref(), 200),
                section: section.as_deref().map(Section::parse).transpose()?,
                image: image_url
                    .as_deref()
                    .map(StoryUrl::parse)
                    .transpose()?
                    .map(|url| NewImage {
                        caption: optional_line(image_caption.as_deref(), 300),
                        credit: optional_line(image_credit.as_deref(), 200),
                        ..NewImage::link(url)
                    }),
                published_at: published_at
                    .as_deref()
                    .map(|raw| rfc3339("--published-at", raw))
                    .transpose()?,
                updated_at: None,
                score: score.map(Score::parse).transpose()?,
                views: None,
            };
            let mut tx = begin_immediate(&app.pool).await?;
            let upserted = stories::upsert(&mut tx, &story, now).await?;
            tx.commit().await?;
            if story
                .image
                .as_ref()
                .is_some_and(|image| image.size.is_none())
            {
                crate::feeds::learn_picture_sizes_quietly(app).await;
            }
            let verb = match upserted {
                Upserted::Inserted => "added",
                Upserted::Updated => "updated",
            };
            if output.json {
                return output
                    .print_json(&serde_json::json!({ "url": story.url.as_str(), "result": verb }));
            }
            writeln!(output.out, "{verb} story {}", story.url)?;
            Ok(())
        }
        Cmd::Import { file } => {
            let Input {
                source,
                reader: input,
                ..
            } = Input::open(&file)?;
            let report =
                stories_json::import(&app.pool, &source, input, now, &mut *output.err).await?;
            if report.inserted + report.updated > 0 {
                crate::feeds::learn_picture_sizes_quietly(app).await;
            }
            if output.json {
                output.print_json(&report)?;
            } else {
                writeln!(
                    output.out,
                    "{} added, {} updated, {} rejected",
                    report.inserted, report.updated, report.rejected
                )?;
            }
            if report.rejected > 0 {
                return Err(BadInput(format!(
                    "{source}: {} story(ies) invalid; nothing was stored: fix them and import the file again",
                    report.rejected
                ))
                .into());
            }
            Ok(())
        }
        Cmd::Withdraw { url } => crate::cli::picks::withdraw(app, &url, output).await,
        Cmd::Stats { url } => crate::cli::clicks::story_stats(app, &url, output).await,
        Cmd::Ls { since } => {
            let since = since
                .as_deref()
                .map(|raw| rfc3339("--since", raw))
                .transpose()?;
            let found = stories::published_since(&app.pool, since).await?;
            if output.json {
                let views: Vec<StoryView> = found
                    .iter()
                    .map(|story| StoryView {
                        url: &story.url,
                        title: &story.title,
                        section: &story.section,
                        score: story.score,
                        published_at: story.published_at.to_rfc3339(),
                        author: story.author.as_deref(),
                        summary: story.summary.as_deref(),
                        image_url: story.image_url.as_deref(),
                        image_size: story.image_size,
                        image_caption: story.image_caption.as_deref(),
                        image_credit: story.image_credit.as_deref(),
                        updated_at: story.updated_at.map(|at| at.to_rfc3339()),
                    })
                    .collect();
                return output.print_json(&views);
            }
            let rows: Vec<Vec<String>> = found
                .iter()
                .map(|story| {
                    vec![
                        story.published_at.format("%Y-%m-%d %H:%M").to_string(),
                        story.section.clone(),
                        story.score.to_string(),
                        story.title.clone(),
                        story.url.clone(),
                    ]
                })
                .collect();
            output.print_table(
                &["PUBLISHED (UTC)", "SECTION", "SCORE", "TITLE", "URL"],
                &rows,
            )
        }
    }
}
