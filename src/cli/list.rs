//! `herald list ...`: mailing lists.

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::app::App;
use crate::cli::Output;
use crate::domain::{
    CronExpr, Language, ListSlug, ListTitle, MaxStories, Schedule, Sender, Timezone,
};
use crate::error::BadInput;
use crate::locale::Catalogues;
use crate::store::lists::{self, ListChanges, ListRecord, NewList, StatusCounts};

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create a list. Unset flags take the [lists] defaults of the settings.
    Add {
        /// Short name: lower-case letters, digits and '-'.
        slug: String,
        #[command(flatten)]
        fields: ListFields,
    },
    /// Change a list's title, schedule, timezone, size, sender, language, thumbnails or click
    /// counting.
    Set {
        slug: String,
        #[command(flatten)]
        fields: ListFields,
    },
    /// Show all lists.
    Ls,
    /// Show one list with its subscriber counts.
    Show { slug: String },
    /// Delete a list and all its subscriptions.
    Rm { slug: String },
}

#[derive(Debug, Args)]
pub struct ListFields {
    /// Title shown in the email and in List-Id (default: the slug).
    #[arg(long, value_name = "T")]
    title: Option<String>,
    /// When to send: cron "minute hour day month weekday" (or 6 fields, seconds first).
    #[arg(long, value_name = "CRON")]
    schedule: Option<String>,
    /// IANA timezone the schedule and the edition date are read in, e.g. Europe/Berlin.
    #[arg(long, value_name = "TZ")]
    timezone: Option<String>,
    /// Most stories in one edition (1-100).
    #[arg(long, value_name = "N")]
    max_stories: Option<i64>,
    /// Sender for this list, `addr` or `"Name <addr>"` (default: newsletter.from).
    #[arg(long, value_name = "ADDR")]
    from: Option<String>,
    /// Language of the editions and pages, a BCP 47 tag: en, ar, de, es, fr (or ar-JO, ...),
    /// or one the `locale.dir` setting adds (default: en).
    #[arg(long, value_name = "TAG")]
    language: Option<String>,
    /// Show a thumbnail beside every story that has a picture, not only the lead's.
    #[arg(long, value_name = "on|off", value_parser = parse_switch)]
    thumbnails: Option<bool>,
    /// Count clicks on story links through a redirect that names no reader (default: on);
    /// off links straight to each story.
    #[arg(long, value_name = "on|off", value_parser = parse_switch)]
    click_counting: Option<bool>,
}

fn parse_switch(raw: &str) -> Result<bool, String> {
    match raw {
        "on" | "yes" | "true" => Ok(true),
        "off" | "no" | "false" => Ok(false),
        _ => Err(format!("{raw:?}: use on or off")),
    }
}

/// The language, if Herald has words for it.
fn supported(raw: &str, catalogues: &Catalogues) -> Result<Language, BadInput> {
    let language = Language::parse(raw)?;
    if catalogues.supports(&language) {
        return Ok(language);
    }
    Err(BadInput(format!(
        "no message catalogue for language {language}: Herald has {}; a site adds one as \
         {}.ftl in the directory of the locale.dir setting",
        catalogues.languages().join(", "),
        language.primary()
    )))
}

impl ListFields {
    fn parse(self, catalogues: &Catalogues) -> anyhow::Result<ListChanges> {
        Ok(ListChanges {
            language: self
                .language
                .as_deref()
                .map(|raw| supported(raw, catalogues))
                .transpose()?,
            thumbnails: self.thumbnails,
            click_counting: self.click_counting,
            title: self.title.as_deref().map(ListTitle::parse).transpose()?,
            cron: self.schedule.as_deref().map(CronExpr::parse).transpose()?,
            timezone: self.timezone.as_deref().map(Timezone::parse).transpose()?,
            max_stories: self.max_stories.map(MaxStories::parse).transpose()?,
            from_address: self.from.as_deref().map(Sender::parse).transpose()?,
        })
    }
}

/// A list as `ls --json` and `show --json` print it.
#[derive(Serialize)]
struct ListView {
    slug: String,
    title: String,
    schedule: String,
    timezone: String,
    max_stories: u32,
    from: String,
    language: String,
    thumbnails: bool,
    click_counting: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscribers: Option<StatusCounts>,
}

impl ListView {
    fn new(app: &App, list: &ListRecord, subscribers: Option<StatusCounts>) -> Self {
        Self {
            slug: list.slug.to_string(),
            title: list.title.as_str().to_string(),
            schedule: list.schedule.cron.to_string(),
            timezone: list.schedule.timezone.to_string(),
            max_stories: list.max_stories.get(),
            language: list.language.to_string(),
            thumbnails: list.thumbnails,
            click_counting: list.click_counting,
            from: list
                .from_address
                .as_ref()
                .unwrap_or(&app.settings.newsletter.from)
                .to_string(),
            subscribers,
        }
    }
}

pub async fn run(app: &App, cmd: Cmd, output: &mut Output<'_>) -> anyhow::Result<()> {
    let now = app.clock.now();
    match cmd {
        Cmd::Add { slug, fields } => {
            let slug = ListSlug::parse(&slug)?;
            let changes = fields.parse(&app.settings.locale.catalogues)?;
            let defaults = &app.settings.lists;
            let list = NewList {
                title: match changes.title {
                    Some(title) => title,
                    None => ListTitle::parse(slug.as_str())?,
                },
                slug,
                schedule: Schedule {
                    cron: changes.cron.unwrap_or_else(|| defaults.schedule.clone()),
                    timezone: changes.timezone.unwrap_or(defaults.timezone),
                },
                max_stories: changes.max_stories.unwrap_or(defaults.max_stories),
                from_address: changes.from_address,
                language: changes.language.unwrap_or_else(Language::english),
                thumbnails: changes.thumbnails.unwrap_or(false),
                click_counting: changes.click_counting.unwrap_or(true),
            };
            let created = lists::insert(&app.pool, &list, now).await?;
            print_one(app, &created, None, output, "created list")
        }
        Cmd::Set { slug, fields } => {
            let slug = ListSlug::parse(&slug)?;
            let updated = lists::update(
                &app.pool,
                &slug,
                &fields.parse(&app.settings.locale.catalogues)?,
                now,
            )
            .await?;
            print_one(app, &updated, None, output, "updated list")
        }
        Cmd::Ls => {
            let all = lists::all(&app.pool).await?;
            if output.json {
                let views: Vec<ListView> = all
                    .iter()
                    .map(|list| ListView::new(app, list, None))
                    .collect();
                return output.print_json(&views);
            }
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|list| {
                    vec![
                        list.slug.to_string(),
                        list.title.as_str().to_string(),
                        list.schedule.cron.to_string(),
                        list.schedule.timezone.to_string(),
                        list.max_stories.get().to_string(),
                        list.language.to_string(),
                    ]
                })
                .collect();
            output.print_table(
                &["SLUG", "TITLE", "SCHEDULE", "TIMEZONE", "MAX", "LANGUAGE"],
                &rows,
            )
        }
        Cmd::Show { slug } => {
            let list = lists::require(&app.pool, &ListSlug::parse(&slug)?).await?;
            let counts = lists::status_counts(&app.pool, list.id).await?;
            print_one(app, &list, Some(counts), output, "list")
        }
        Cmd::Rm { slug } => {
            let slug = ListSlug::parse(&slug)?;
            lists::delete(&app.pool, &slug).await?;
            if output.json {
                return output.print_json(&serde_json::json!({ "deleted": slug.as_str() }));
            }
            writeln!(output.out, "deleted list {slug}")?;
            Ok(())
        }
    }
}

fn print_one(
    app: &App,
    list: &ListRecord,
    counts: Option<StatusCounts>,
    output: &mut Output<'_>,
    heading: &str,
) -> anyhow::Result<()> {
    let view = ListView::new(app, list, counts);
    if output.json {
        return output.print_json(&view);
    }
    writeln!(output.out, "{heading} {}", view.slug)?;
    writeln!(output.out, "  title:       {}", view.title)?;
    writeln!(
        output.out,
        "  schedule:    {} ({})",
        view.schedule, view.timezone
    )?;
    if let Some(next) = list.schedule.next_after(app.clock.now()) {
        let local = next.with_timezone(&list.schedule.timezone.tz());
        writeln!(
            output.out,
            "  next send:   {}",
            local.format("%Y-%m-%d %H:%M %Z")
        )?;
    }
    writeln!(output.out, "  max stories: {}", view.max_stories)?;
    writeln!(output.out, "  from:        {}", view.from)?;
    writeln!(output.out, "  language:    {}", view.language)?;
    writeln!(
        output.out,
        "  thumbnails:  {}",
        if view.thumbnails { "on" } else { "off" }
    )?;
    writeln!(
        output.out,
        "  clicks:      {}",
        if view.click_counting {
            "counted (no reader named)"
        } else {
            "not counted"
        }
    )?;
    if let Some(counts) = counts {
        writeln!(
            output.out,
            "  subscribers: {} active, {} pending, {} unsubscribed, {} bounced",
            counts.active, counts.pending, counts.unsubscribed, counts.bounced
        )?;
    }
    Ok(())
}
