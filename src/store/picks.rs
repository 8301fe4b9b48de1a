//! Editors' picks for an edition not yet built: pins and drops, with who made them and when;
//! and withdrawn stories.

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tracing::instrument;

use crate::store::{begin_immediate, from_db_time, to_db_time, Connection, Pool};

/// What an editor decided about a story for one list's edition of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pick {
    /// Leads its section (or stands at `position` in it) whatever its score.
    Pin { position: Option<u32> },
    /// Never in that edition.
    Drop,
}

impl Pick {
    fn kind(self) -> &'static str {
        match self {
            Self::Pin { .. } => "pin",
            Self::Drop => "drop",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PickRecord {
    pub story_id: i64,
    pub pick: Pick,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct PickRow {
    story_id: i64,
    pick: String,
    position: Option<i64>,
    changed_by: String,
    changed_at: i64,
}

/// One pick of one edition, as written.
pub struct NewPick<'a> {
    pub list_id: i64,
    pub date: NaiveDate,
    pub story_id: i64,
    pub pick: Pick,
    pub by: &'a str,
    pub now: DateTime<Utc>,
}

/// Records the pick, replacing any earlier one for the same story and edition.
#[instrument(skip_all)]
pub async fn set(pool: &Pool, new: &NewPick<'_>) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await.context("recording an editor's pick")?;
    write(&mut conn, new).await
}

async fn write(conn: &mut Connection, new: &NewPick<'_>) -> anyhow::Result<()> {
    let NewPick {
        list_id,
        date,
        story_id,
        pick,
        by,
        now,
    } = *new;
    let position = match pick {
        Pick::Pin { position } => position.map(i64::from),
        Pick::Drop => None,
    };
    sqlx::query(
        "INSERT INTO edition_picks
             (list_id, local_date, story_id, pick, position, changed_by, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (list_id, local_date, story_id) DO UPDATE SET
             pick = excluded.pick, position = excluded.position,
             changed_by = excluded.changed_by, changed_at = excluded.changed_at",
    )
    .bind(list_id)
    .bind(date.to_string())
    .bind(story_id)
    .bind(pick.kind())
    .bind(position)
    .bind(by)
    .bind(to_db_time(now))
    .execute(&mut *conn)
    .await
    .context("recording an editor's pick")?;
    Ok(())
}

/// Makes the edition's picks of `kind` (pins, or drops) exactly `chosen`, in one transaction.
#[instrument(skip_all)]
pub async fn replace(
    pool: &Pool,
    list_id: i64,
    date: NaiveDate,
    kind: Pick,
    chosen: &[(i64, Pick)],
    by: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut tx = begin_immediate(pool)
        .await
        .context("starting to replace editors' picks")?;
    sqlx::query("DELETE FROM edition_picks WHERE list_id = $1 AND local_date = $2 AND pick = $3")
        .bind(list_id)
        .bind(date.to_string())
        .bind(kind.kind())
        .execute(&mut *tx)
        .await
        .context("clearing editors' picks")?;
    for (story_id, pick) in chosen {
        let new = NewPick {
            list_id,
            date,
            story_id: *story_id,
            pick: *pick,
            by,
            now,
        };
        write(&mut tx, &new).await?;
    }
    tx.commit().await.context("replacing editors' picks")?;
    Ok(())
}

/// Takes back a pin or a drop; false when there was none of that kind.
#[instrument(skip_all)]
pub async fn clear(
    pool: &Pool,
    list_id: i64,
    date: NaiveDate,
    story_id: i64,
    kind: Pick,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "DELETE FROM edition_picks
         WHERE list_id = $1 AND local_date = $2 AND story_id = $3 AND pick = $4",
    )
    .bind(list_id)
    .bind(date.to_string())
    .bind(story_id)
    .bind(kind.kind())
    .execute(pool)
    .await
    .context("taking back an editor's pick")?;
    Ok(done.rows_affected() > 0)
}

/// The picks for a list's edition of a date.
#[instrument(skip_all)]
pub async fn for_edition(
    pool: &Pool,
    list_id: i64,
    date: NaiveDate,
) -> anyhow::Result<Vec<PickRecord>> {
    let rows: Vec<PickRow> = sqlx::query_as(
        "SELECT story_id, pick, position, changed_by, changed_at FROM edition_picks
         WHERE list_id = $1 AND local_date = $2 ORDER BY changed_at, story_id",
    )
    .bind(list_id)
    .bind(date.to_string())
    .fetch_all(pool)
    .await
    .context("reading editors' picks")?;
    rows.into_iter()
        .map(|row| {
            let pick = match row.pick.as_str() {
                "pin" => Pick::Pin {
                    position: row.position.and_then(|p| u32::try_from(p).ok()),
                },
                "drop" => Pick::Drop,
                other => anyhow::bail!("stored pick {other:?} is not pin or drop"),
            };
            Ok(PickRecord {
                story_id: row.story_id,
                pick,
                changed_by: row.changed_by,
                changed_at: from_db_time(row.changed_at),
            })
        })
        .collect()
}

/// Withdraws the story from every future edition (a retraction); false when it already was.
/// Editions built before keep it: what was sent is not rewritten.
#[instrument(skip_all)]
pub async fn withdraw(pool: &Pool, story_id: i64, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let done =
        sqlx::query("UPDATE stories SET withdrawn_at = $1 WHERE id = $2 AND withdrawn_at IS NULL")
            .bind(to_db_time(now))
            .bind(story_id)
            .execute(pool)
            .await
            .context("withdrawing a story")?;
    Ok(done.rows_affected() > 0)
}

/// The desk's words for an edition: a note (Markdown) and a subject of the day.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct EditionNote {
    pub note: Option<String>,
    pub subject: Option<String>,
}

/// Sets the edition's note and subject (`None` clears each).
#[instrument(skip_all)]
pub async fn set_note(
    pool: &Pool,
    list_id: i64,
    date: NaiveDate,
    note: &EditionNote,
    by: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO edition_notes (list_id, local_date, note, subject, changed_by, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (list_id, local_date) DO UPDATE SET
             note = excluded.note, subject = excluded.subject,
             changed_by = excluded.changed_by, changed_at = excluded.changed_at",
    )
    .bind(list_id)
    .bind(date.to_string())
    .bind(note.note.as_deref())
    .bind(note.subject.as_deref())
    .bind(by)
    .bind(to_db_time(now))
    .execute(pool)
    .await
    .context("recording the desk's note")?;
    Ok(())
}

/// The edition's note and subject, if the desk set any.
#[instrument(skip_all)]
pub async fn note(pool: &Pool, list_id: i64, date: NaiveDate) -> anyhow::Result<EditionNote> {
    let found: Option<EditionNote> = sqlx::query_as(
        "SELECT note, subject FROM edition_notes WHERE list_id = $1 AND local_date = $2",
    )
    .bind(list_id)
    .bind(date.to_string())
    .fetch_optional(pool)
    .await
    .context("reading the desk's note")?;
    Ok(found.unwrap_or_default())
}
