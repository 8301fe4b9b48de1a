//! `herald digest ...`: editions.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};

use crate::app::App;
use crate::cli::Output;
use crate::delivery::message::{ListIdentity, PreparedEdition, Recipient};
use crate::digest::template::{Kind, SlotValues};
use crate::digest::{self};
use crate::domain::{EmailAddress, ListSlug};
use crate::store::lists;

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Html,
    Text,
    Eml,
}

/// The made-up reader a preview is addressed to.
pub const PREVIEW_NAME: &str = "Reader";
pub const PREVIEW_EMAIL: &str = "reader@example.com";

pub async fn run(app: &App, cmd: Cmd, output: &mut Output<'_>) -> anyhow::Result<()> {
    match cmd {
        Cmd::Preview { list, format, out } => {
            let list = lists::require(&app.pool, &ListSlug::parse(&list)?).await?;
            let now = app.clock.now();
            let plan = digest::plan(&app.pool, list, &app.settings, now).await?;
            let Some(edition) = digest::render(&plan, &app.settings) else {
                writeln!(
                    output.err,
                    "nothing to preview: no story published since {} qualifies for {}",
                    plan.since.to_rfc3339(),
                    plan.list.slug
                )?;
                return Ok(());
            };
            let email = EmailAddress::parse(PREVIEW_EMAIL)?;
            let unsubscribe_url = app.settings.web.url("unsubscribe/preview");
            let values = SlotValues {
                name: Some(PREVIEW_NAME),
                email: email.as_str(),
                unsubscribe_url: &unsubscribe_url,
            };
            let rendered = match format {
                Format::Html => edition.html.fill(Kind::Html, &values).into_bytes(),
                Format::Text => edition.text.fill(Kind::Text, &values).into_bytes(),
                Format::Eml => {
                    let from = plan
                        .list
                        .from_address
                        .as_ref()
                        .unwrap_or(&app.settings.newsletter.from);
                    let identity = ListIdentity {
                        slug: &plan.list.slug,
                        title: plan.list.title.as_str(),
                        from,
                    };
                    let prepared =
                        PreparedEdition::new(&edition, &identity, &app.settings.newsletter)?;
                    let key = format!("preview.{}.{}", plan.list.slug, rand::random::<u64>());
                    let recipient = Recipient {
                        email: &email,
                        name: Some(PREVIEW_NAME),
                        unsubscribe_url: &unsubscribe_url,
                        message_key: &key,
                    };
                    prepared.message(&recipient, now)?.formatted()
                }
            };
            match out {
                Some(path) => {
                    std::fs::write(&path, &rendered)
                        .with_context(|| format!("writing {}", path.display()))?;
                    writeln!(
                        output.err,
                        "wrote {} ({} stories): {}",
                        path.display(),
                        plan.story_ids().len(),
                        edition.subject
                    )?;
                }
                None => output.out.write_all(&rendered)?,
            }
            Ok(())
        }
    }
}
