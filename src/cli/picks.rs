//! `herald digest pin|unpin|drop|undrop` and `herald story withdraw`: editors steer an edition
//! before it is built (the rules are `digest::steer`'s).

use chrono::NaiveDate;

use crate::app::App;
use crate::cli::Output;
use crate::digest::steer::{self, Refusal};
use crate::domain::desk_note::DeskNote;
use crate::domain::{ListSlug, StoryUrl};
use crate::error::BadInput;
use crate::store::lists::{self, ListRecord};
use crate::store::picks::{self, EditionNote, NewPick, Pick};
use crate::store::stories;

/// What an editor asks of one story in one edition.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    Pin { position: Option<u32> },
    Unpin,
    Drop,
    Undrop,
}

/// Who made a change from the shell: the login name, as the picks record it.
fn shell_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
        .unwrap_or_else(|| "shell".to_string())
}

fn refused(refusal: Refusal) -> anyhow::Error {
    BadInput(refusal.to_string()).into()
}

/// The edition's date from `--date` (today by default), if the desk may still change it.
async fn open_date(app: &App, list: &ListRecord, date: Option<&str>) -> anyhow::Result<NaiveDate> {
    let now = app.clock.now();
    let date: NaiveDate = match date {
        None => crate::digest::build::local_date(list, now),
        Some(raw) => raw
            .parse()
            .map_err(|_| BadInput(format!("--date {raw:?}: expected YYYY-MM-DD")))?,
    };
    steer::open_edition(&app.pool, list, date, now)
        .await?
        .map_err(refused)?;
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
    let url = StoryUrl::parse(url)?;
    let now = app.clock.now();
    let date = open_date(app, &list, date).await?;
    let pick = match change {
        Change::Pin { position } => Pick::Pin { position },
        Change::Unpin => Pick::Pin { position: None },
        Change::Drop | Change::Undrop => Pick::Drop,
    };
    let story_id = steer::picked_story(&app.pool, &list, &url, pick)
        .await?
        .map_err(refused)?;
    let said = match change {
        Change::Pin { .. } | Change::Drop => {
            let by = shell_user();
            let new = NewPick {
                list_id: list.id,
                date,
                story_id,
                pick,
                by: &by,
                now,
            };
            picks::set(&app.pool, &new).await?;
            if matches!(change, Change::Drop) {
                "dropped"
            } else {
                "pinned"
            }
        }
        Change::Unpin | Change::Undrop => {
            if !picks::clear(&app.pool, list.id, date, story_id, pick).await? {
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
    let url = StoryUrl::parse(url)?;
    let story_id = stories::id_by_url(&app.pool, &url)
        .await?
        .ok_or_else(|| refused(Refusal::UnknownStory(url.to_string())))?;
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

/// `digest note`: the desk's note (a file of safe Markdown) and subject of the day for an
/// edition not yet built; `clear` removes both.
pub async fn note(
    app: &App,
    slug: &str,
    date: Option<&str>,
    file: Option<&std::path::Path>,
    subject: Option<&str>,
    output: &mut Output<'_>,
) -> anyhow::Result<()> {
    let list = lists::require(&app.pool, &ListSlug::parse(slug)?).await?;
    let now = app.clock.now();
    let date = open_date(app, &list, date).await?;
    let note = match file {
        Some(path) => {
            let markdown = std::fs::read_to_string(path)
                .map_err(|error| BadInput(format!("cannot read {}: {error}", path.display())))?;
            DeskNote::parse(&markdown)
                .map_err(|error| BadInput(format!("{}: {}", path.display(), error.0)))?;
            Some(markdown)
        }
        None => None,
    };
    let subject = subject
        .map(crate::domain::text::single_line)
        .filter(|subject| !subject.is_empty());
    let by = shell_user();
    let desk = EditionNote { note, subject };
    picks::set_note(&app.pool, list.id, date, &desk, &by, now).await?;
    let said = match (&desk.note, &desk.subject) {
        (None, None) => "no note and the usual subject",
        (Some(_), None) => "the note",
        (None, Some(_)) => "the subject of the day",
        (Some(_), Some(_)) => "the note and the subject of the day",
    };
    writeln!(
        output.out,
        "the {date} edition of {} will carry {said}",
        list.slug
    )?;
    Ok(())
}
