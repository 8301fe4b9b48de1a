//! Editors steer an edition before it is built: the rules a pin or a drop must meet, the same
//! from the shell and from the CMS.

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::StoryUrl;
use crate::store::lists::ListRecord;
use crate::store::picks::{self, Pick};
use crate::store::{editions, stories, Pool};

/// Why a pick was refused; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("no stored story has the URL {0}")]
    UnknownStory(String),
    #[error("{0} is withdrawn: it cannot be pinned")]
    Withdrawn(String),
    #[error("{date} is past: {list}'s today is {today}")]
    Past {
        list: String,
        date: NaiveDate,
        today: NaiveDate,
    },
    #[error("the {date} edition of {list} is built already: pins and drops change editions not yet built")]
    Built { list: String, date: NaiveDate },
    #[error("position {position}: {list} carries at most {max} stories, so 1 to {max}")]
    Position {
        list: String,
        position: u32,
        max: u32,
    },
}

/// The date's edition, if picks may still change it: today or later, and not built yet.
pub async fn open_edition(
    pool: &Pool,
    list: &ListRecord,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<(), Refusal>> {
    let today = crate::digest::build::local_date(list, now);
    if date < today {
        return Ok(Err(Refusal::Past {
            list: list.slug.to_string(),
            date,
            today,
        }));
    }
    if editions::find(pool, list.id, date).await?.is_some() {
        return Ok(Err(Refusal::Built {
            list: list.slug.to_string(),
            date,
        }));
    }
    Ok(Ok(()))
}

/// The stored story a pick names, checked for what the pick asks.
pub async fn picked_story(
    pool: &Pool,
    list: &ListRecord,
    url: &StoryUrl,
    pick: Pick,
) -> anyhow::Result<Result<i64, Refusal>> {
    let Some(story_id) = stories::id_by_url(pool, url).await? else {
        return Ok(Err(Refusal::UnknownStory(url.to_string())));
    };
    if let Pick::Pin { position } = pick {
        let max = list.max_stories.get();
        if let Some(position) = position.filter(|p| *p == 0 || *p > max) {
            return Ok(Err(Refusal::Position {
                list: list.slug.to_string(),
                position,
                max,
            }));
        }
        if editions::pinnable(pool, &[story_id]).await?.is_empty() {
            return Ok(Err(Refusal::Withdrawn(url.to_string())));
        }
    }
    Ok(Ok(story_id))
}

/// One pick as the CMS sends it, parsed.
#[derive(Debug, Clone)]
pub struct PickRequest {
    pub url: StoryUrl,
    pub pick: Pick,
}

/// Makes the edition's pins (or drops) exactly `requests`, all or nothing: the first refused
/// item is answered with its number, and nothing changes.
pub async fn replace(
    pool: &Pool,
    list: &ListRecord,
    date: NaiveDate,
    kind: Pick,
    requests: &[PickRequest],
    by: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<(), (usize, Refusal)>> {
    if let Err(refusal) = open_edition(pool, list, date, now).await? {
        return Ok(Err((0, refusal)));
    }
    let mut chosen = Vec::with_capacity(requests.len());
    for (index, request) in requests.iter().enumerate() {
        match picked_story(pool, list, &request.url, request.pick).await? {
            Ok(story_id) => chosen.push((story_id, request.pick)),
            Err(refusal) => return Ok(Err((index + 1, refusal))),
        }
    }
    picks::replace(pool, list.id, date, kind, &chosen, by, now).await?;
    Ok(Ok(()))
}
