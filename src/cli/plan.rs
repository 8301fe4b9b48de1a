//! `herald digest plan`: what a list's edition of a date will hold, in order, and when it goes,
//! before it is built. Records nothing.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use crate::app::App;
use crate::cli::Output;
use crate::domain::ListSlug;
use crate::error::BadInput;
use crate::store::editions;
use crate::store::lists::{self, ListRecord};
use crate::store::picks::{self, Pick};
use crate::store::stories::StoryRecord;

#[derive(Debug, Serialize)]
pub struct Plan {
    pub list: String,
    pub date: NaiveDate,
    /// Whether the edition exists already: then `stories` is what it carries.
    pub built: bool,
    pub stories: Vec<PlannedStory>,
    pub groups: Vec<SendGroup>,
}

#[derive(Debug, Serialize)]
pub struct PlannedStory {
    pub url: String,
    pub title: String,
    pub section: String,
    /// 1 for the edition's first story.
    pub rank: usize,
    pub pinned: bool,
    /// Why it ranks where it does: the site's votes, readers' clicks, the site's page views.
    pub score: i64,
    pub clicks: i64,
    pub views: i64,
}

/// Readers who get the edition at one moment: a list-time list has one group, its own zone.
#[derive(Debug, Serialize)]
pub struct SendGroup {
    pub zone: String,
    /// "HH:MM" on the zone's wall clock; `None` when the schedule has no run that date.
    pub local_time: Option<String>,
    pub utc: Option<DateTime<Utc>>,
    pub readers: i64,
}

/// The list's first scheduled send on `date`, on its own wall clock.
fn send_time(list: &ListRecord, date: NaiveDate) -> Option<DateTime<Utc>> {
    let zone = list.schedule.timezone.tz();
    let midnight = zone
        .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
        .earliest()?
        .with_timezone(&Utc);
    let next = list
        .schedule
        .next_after(midnight - chrono::Duration::seconds(1))?;
    (next.with_timezone(&zone).date_naive() == date).then_some(next)
}

pub async fn digest_plan(
    app: &App,
    slug: &str,
    date: Option<&str>,
    output: &mut Output<'_>,
) -> anyhow::Result<()> {
    let list = lists::require(&app.pool, &ListSlug::parse(slug)?).await?;
    let now = app.clock.now();
    let today = crate::digest::build::local_date(&list, now);
    let date = match date {
        None => today,
        Some(raw) => raw
            .parse()
            .map_err(|_| BadInput(format!("--date {raw:?}: expected YYYY-MM-DD")))?,
    };
    let send_at = send_time(&list, date);
    let (built, stories, pinned) = match editions::find(&app.pool, list.id, date).await? {
        Some(edition) => {
            let pinned = picks::for_edition(&app.pool, list.id, date)
                .await?
                .into_iter()
                .filter(|pick| matches!(pick.pick, Pick::Pin { .. }))
                .map(|pick| pick.story_id)
                .collect();
            (
                true,
                editions::stories_of(&app.pool, edition.id).await?,
                pinned,
            )
        }
        None => {
            if date < today {
                return Err(BadInput(format!(
                    "{} has no edition of {date}, and a past date gets none",
                    list.slug
                ))
                .into());
            }
            if date > today && send_at.is_none() {
                return Err(
                    BadInput(format!("{}'s schedule has no send on {date}", list.slug)).into(),
                );
            }
            // Chosen as the scheduler will choose them: at the send time, if it is still to
            // come; past it, the edition is built when someone sends it (now).
            let at = send_at.filter(|at| *at > now).unwrap_or(now);
            let plan = crate::digest::plan(&app.pool, list.clone(), &app.settings, at).await?;
            let stories: Vec<StoryRecord> = plan
                .sections
                .into_iter()
                .flat_map(|section| section.stories)
                .collect();
            (false, stories, plan.pinned)
        }
    };
    let readers = lists::status_counts(&app.pool, list.id).await?.active;
    let zone = list.schedule.timezone.tz();
    let plan = Plan {
        list: list.slug.to_string(),
        date,
        built,
        stories: stories
            .into_iter()
            .enumerate()
            .map(|(index, story)| PlannedStory {
                rank: index + 1,
                pinned: pinned.contains(&story.id),
                url: story.url,
                title: story.title,
                section: story.section,
                score: story.score,
                clicks: story.clicks,
                views: story.views,
            })
            .collect(),
        groups: vec![SendGroup {
            zone: list.schedule.timezone.name().to_string(),
            local_time: send_at.map(|at| at.with_timezone(&zone).format("%H:%M").to_string()),
            utc: send_at,
            readers,
        }],
    };
    if output.json {
        return output.print_json(&plan);
    }
    let when = match (&plan.groups[0].local_time, send_at) {
        (Some(local), Some(utc)) => {
            format!("at {local} {} ({})", plan.groups[0].zone, utc.to_rfc3339())
        }
        _ => "when sent by hand (no scheduled send that date)".to_string(),
    };
    writeln!(
        output.out,
        "{} {}{}: {} stories, to {readers} reader(s) {when}",
        plan.list,
        plan.date,
        if built { " (built)" } else { "" },
        plan.stories.len(),
    )?;
    let rows: Vec<Vec<String>> = plan
        .stories
        .iter()
        .map(|story| {
            vec![
                story.rank.to_string(),
                story.section.clone(),
                if story.pinned {
                    "pinned".to_string()
                } else {
                    format!(
                        "score {}, clicks {}, views {}",
                        story.score, story.clicks, story.views
                    )
                },
                story.title.clone(),
                story.url.clone(),
            ]
        })
        .collect();
    output.print_table(&["#", "SECTION", "WHY", "TITLE", "URL"], &rows)
}
