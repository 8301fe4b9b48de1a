//! `herald digest pin|unpin|drop|undrop` and `herald story withdraw`: editors steer an edition
//! before it is built.

use chrono::NaiveDate;

use crate::app::App;
use crate::cli::Output;
use crate::domain::{ListSlug, StoryUrl};
use crate::error::BadInput;
use crate::store::lists::{self, ListRecord};
use crate::store::picks::{self, Pick};
use crate::store::{editions, stories};

/// What an editor asks of one story in one edition.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    Pin { position: Option<u32> },
    Unpin,
    Drop,
    Undrop,
}

/// Who made a change from the shell: the login name, as `digest plan` shows it.
fn shell_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
        .unwrap_or_else(|| "shell".to_string())
}

async fn story_id(app: &App, url: &str) -> anyhow::Result<i64> {
    let url = StoryUrl::parse(url)?;
    Ok(stories::id_by_url(&app.pool, &url)
        .await?
        .ok_or_else(|| BadInput(format!("no stored story has the URL {url}")))?)
}

/// The edition's date, if picks may still change it: today or later, and not built yet.
async fn open_date(app: &App, list: &ListRecord, date: Option<&str>) -> anyhow::Result<NaiveDate> {
    let today = crate::digest::build::local_date(list, app.clock.now());
    let date = match date {
        None => today,
        Some(raw) => raw
            .parse()
            .map_err(|_| BadInput(format!("--date {raw:?}: expected YYYY-MM-DD")))?,
    };
    if date < today {
        return Err(BadInput(format!(
            "--date {date} is past: {}'s today is {today}",
            list.slug
        ))
        .into());
    }
    if editions::find(&app.pool, list.id, date).await?.is_some() {
        return Err(BadInput(format!(
            "the {date} edition of {} is built already: pins and drops change editions not yet built",
            list.slug
        ))
        .into());
    }
    Ok(date)
}

pub async fn change(
    app: &App,
    url: &str,
    slug: &str,
    date: Option<&str>,
    change: Change,
    output: &mut Output<'_>,
) -> anyhow::Result<()> {
    let list = lists::require(&app.pool, &ListSlug::parse(slug)?).await?;
    let story_id = story_id(app, url).await?;
    let date = open_date(app, &list, date).await?;
    let now = app.clock.now();
    let said = match change {
        Change::Pin { position } => {
            if let Some(position) = position {
                let max = list.max_stories.get();
                if position == 0 || position > max {
                    return Err(BadInput(format!(
                        "--position {position}: {} carries at most {max} stories, so 1 to {max}",
                        list.slug
                    ))
                    .into());
                }
            }
            if editions::pinnable(&app.pool, &[story_id]).await?.is_empty() {
                return Err(BadInput(format!("{url} is withdrawn: it cannot be pinned")).into());
            }
            let pick = Pick::Pin { position };
            picks::set(&app.pool, list.id, date, story_id, pick, &shell_user(), now).await?;
            "pinned"
        }
        Change::Drop => {
            picks::set(
                &app.pool,
                list.id,
                date,
                story_id,
                Pick::Drop,
                &shell_user(),
                now,
            )
            .await?;
            "dropped"
        }
        Change::Unpin | Change::Undrop => {
            let kind = match change {
                Change::Unpin => Pick::Pin { position: None },
                _ => Pick::Drop,
            };
            if !picks::clear(&app.pool, list.id, date, story_id, kind).await? {
                writeln!(output.out, "nothing to take back: {url} had no such pick")?;
                return Ok(());
            }
            "back to its rank"
        }
    };
    writeln!(
        output.out,
        "{url}: {said} in the {date} edition of {}",
        list.slug
    )?;
    Ok(())
}

pub async fn withdraw(app: &App, url: &str, output: &mut Output<'_>) -> anyhow::Result<()> {
    let story_id = story_id(app, url).await?;
    if picks::withdraw(&app.pool, story_id, app.clock.now()).await? {
        writeln!(
            output.out,
            "{url} withdrawn: it will be in no future edition of any list (editions sent keep it)"
        )?;
    } else {
        writeln!(output.out, "{url} was withdrawn already")?;
    }
    Ok(())
}
