//! Moving an install between databases: every row of every table from the open database into
//! an empty one (SQLite to PostgreSQL, or back), read from one snapshot and written in one
//! transaction, then counted on both sides.

use anyhow::Context;
use futures_util::TryStreamExt;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::BadInput;
use crate::store::{placeholders, Backend, Pool, Tx};

#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    Text,
    Bytes,
}

use Kind::{Bytes, Int, Text};

/// Every table and column Herald keeps, parents before children.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    (
        "lists",
        &[
            ("id", Int),
            ("slug", Text),
            ("title", Text),
            ("schedule", Text),
            ("timezone", Text),
            ("max_stories", Int),
            ("from_address", Text),
            ("created_at", Int),
            ("updated_at", Int),
            ("next_due_at", Int),
            ("schedule_key", Text),
            ("language", Text),
            ("thumbnails", Int),
            ("click_counting", Int),
        ],
    ),
    (
        "subscribers",
        &[
            ("id", Int),
            ("email", Text),
            ("name", Text),
            ("created_at", Int),
        ],
    ),
    (
        "subscriptions",
        &[
            ("list_id", Int),
            ("subscriber_id", Int),
            ("status", Text),
            ("consent_source", Text),
            ("consent_at", Int),
            ("consent_ip", Text),
            ("confirmed_at", Int),
            ("unsubscribed_at", Int),
            ("bounce_count", Int),
            ("updated_at", Int),
            ("unsubscribe_secret", Text),
            ("confirm_secret", Text),
            ("confirmation_sent_at", Int),
            ("confirmation_requested_at", Int),
            ("confirmation_attempts", Int),
            ("confirmation_next_at", Int),
        ],
    ),
    (
        "stories",
        &[
            ("id", Int),
            ("url", Text),
            ("guid", Text),
            ("title", Text),
            ("summary", Text),
            ("author", Text),
            ("section", Text),
            ("image_url", Text),
            ("published_at", Int),
            ("updated_at", Int),
            ("score", Int),
            ("created_at", Int),
            ("image_width", Int),
            ("image_height", Int),
            ("image_caption", Text),
            ("image_credit", Text),
            ("image_checked_at", Int),
            ("views", Int),
            ("withdrawn_at", Int),
        ],
    ),
    (
        "editions",
        &[
            ("id", Int),
            ("list_id", Int),
            ("local_date", Text),
            ("status", Text),
            ("subject", Text),
            ("html", Text),
            ("text", Text),
            ("built_at", Int),
            ("completed_at", Int),
            ("last_error", Text),
        ],
    ),
    (
        "edition_stories",
        &[("edition_id", Int), ("story_id", Int), ("position", Int)],
    ),
    (
        "deliveries",
        &[
            ("edition_id", Int),
            ("subscriber_id", Int),
            ("status", Text),
            ("attempts", Int),
            ("next_attempt_at", Int),
            ("last_error", Text),
            ("sent_at", Int),
            ("claimed_by", Text),
            ("lease_until", Int),
        ],
    ),
    (
        "edition_picks",
        &[
            ("list_id", Int),
            ("local_date", Text),
            ("story_id", Int),
            ("pick", Text),
            ("position", Int),
            ("changed_by", Text),
            ("changed_at", Int),
        ],
    ),
    (
        "edition_notes",
        &[
            ("list_id", Int),
            ("local_date", Text),
            ("note", Text),
            ("subject", Text),
            ("changed_by", Text),
            ("changed_at", Int),
        ],
    ),
    (
        "story_clicks",
        &[
            ("edition_id", Int),
            ("story_id", Int),
            ("place", Text),
            ("clicks", Int),
            ("filtered", Int),
        ],
    ),
    (
        "click_sketches",
        &[("edition_id", Int), ("story_id", Int), ("registers", Bytes)],
    ),
    (
        "feeds",
        &[
            ("id", Int),
            ("url", Text),
            ("section", Text),
            ("etag", Text),
            ("last_modified", Text),
            ("last_polled_at", Int),
            ("last_error", Text),
            ("created_at", Int),
            ("polling_by", Text),
            ("polling_until", Int),
            ("failed_digest", Text),
        ],
    ),
    (
        "webhook_tokens",
        &[
            ("provider", Text),
            ("token", Text),
            ("body_digest", Text),
            ("seen_at", Int),
        ],
    ),
    (
        "bounce_reports",
        &[
            ("id", Int),
            ("received_at", Int),
            ("source", Text),
            ("kind", Text),
            ("fingerprint", Text),
            ("subscriber_id", Int),
            ("edition_id", Int),
            ("recipient", Text),
            ("status", Text),
            ("diagnostic", Text),
            ("feedback_type", Text),
            ("report_message_id", Text),
            ("action", Text),
            ("raw", Bytes),
        ],
    ),
    // One row, made by the migrations on both sides: the copy replaces the target's, so
    // Message-IDs and bounce addresses stay those of the install.
    (
        "installation",
        &[("id", Text), ("bounce_key", Text), ("link_key", Text)],
    ),
];

/// Tables with an `id` the databases number: the target's counters must start past every id
/// the source ever issued.
const NUMBERED: &[&str] = &[
    "lists",
    "subscribers",
    "stories",
    "editions",
    "feeds",
    "bounce_reports",
];

/// Rows per INSERT: within both databases' limits on parameters.
const PARAMETERS_PER_STATEMENT: usize = 16_000;

#[derive(Debug, Clone, Serialize)]
pub struct TableCopy {
    pub table: &'static str,
    pub rows: i64,
}

enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

/// Copies every row from `source` into `target`, which must hold no data yet.
pub async fn copy(source: &Pool, target: &Pool) -> anyhow::Result<Vec<TableCopy>> {
    refuse_non_empty(target).await?;
    let mut reading = match Backend::of(source) {
        // One snapshot for every table, however long the copy takes and whoever writes.
        Backend::Postgres => {
            source
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
        }
        Backend::Sqlite => source.begin().await,
    }
    .context("starting to read the source database")?;
    let mut writing = super::begin_immediate(target)
        .await
        .context("starting to write the target database")?;
    sqlx::query("DELETE FROM installation")
        .execute(&mut *writing)
        .await
        .context("clearing the target's installation row")?;

    let mut copied = Vec::new();
    for (table, columns) in TABLES {
        let rows = copy_table(&mut reading, &mut writing, table, columns).await?;
        copied.push(TableCopy { table, rows });
    }
    for table in NUMBERED {
        let issued = highest_id_issued(&mut reading, Backend::of(source), table).await?;
        never_issue_again(&mut writing, Backend::of(target), table, issued).await?;
    }
    writing.commit().await.context("committing the copy")?;
    reading.rollback().await.ok();

    for TableCopy { table, rows } in &copied {
        let landed = count(target, table).await?;
        anyhow::ensure!(
            landed == *rows,
            "the copy of {table} holds {landed} rows where the source had {rows}"
        );
    }
    Ok(copied)
}

/// The highest id `table` ever handed out, erased rows included: a reader's id must never name
/// anyone else, on this database or the next.
async fn highest_id_issued(reading: &mut Tx, backend: Backend, table: &str) -> anyhow::Result<i64> {
    let counter = match backend {
        // Only an AUTOINCREMENT table has a row here; a plain rowid table reuses ids anyway.
        Backend::Sqlite => "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = $1), 0)",
        Backend::Postgres => {
            "SELECT COALESCE(pg_sequence_last_value(pg_get_serial_sequence($1, 'id')::regclass), 0)"
        }
    };
    let counter: i64 = sqlx::query_scalar(counter)
        .bind(table)
        .fetch_one(&mut **reading)
        .await
        .with_context(|| format!("reading the id counter of {table}"))?;
    let highest: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COALESCE(MAX(id), 0) FROM {table}"
    )))
    .fetch_one(&mut **reading)
    .await
    .with_context(|| format!("reading the highest id of {table}"))?;
    Ok(counter.max(highest))
}

/// Moves the target's counter for `table` past `issued`, so no id is handed out twice.
async fn never_issue_again(
    writing: &mut Tx,
    backend: Backend,
    table: &str,
    issued: i64,
) -> anyhow::Result<()> {
    let context = || format!("moving the id counter of {table} past every id issued");
    match backend {
        Backend::Postgres => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                               GREATEST($1, COALESCE((SELECT MAX(id) FROM {table}), 0)) + 1, false)"
            )))
            .bind(issued)
            .execute(&mut **writing)
            .await
            .with_context(context)?;
        }
        Backend::Sqlite => {
            let autoincrement: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM sqlite_master
                 WHERE type = 'table' AND name = $1 AND sql LIKE '%AUTOINCREMENT%'",
            )
            .bind(table)
            .fetch_one(&mut **writing)
            .await
            .with_context(context)?;
            if autoincrement == 0 {
                return Ok(());
            }
            let moved =
                sqlx::query("UPDATE sqlite_sequence SET seq = MAX(seq, $1) WHERE name = $2")
                    .bind(issued)
                    .bind(table)
                    .execute(&mut **writing)
                    .await
                    .with_context(context)?
                    .rows_affected();
            if moved == 0 {
                sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES ($1, $2)")
                    .bind(table)
                    .bind(issued)
                    .execute(&mut **writing)
                    .await
                    .with_context(context)?;
            }
        }
    }
    Ok(())
}

async fn refuse_non_empty(target: &Pool) -> anyhow::Result<()> {
    for (table, _) in TABLES.iter().filter(|(table, _)| *table != "installation") {
        let rows = count(target, table).await?;
        if rows > 0 {
            return Err(BadInput(format!(
                "the target database is not empty ({table} has {rows} rows): db copy only \
                 fills a new, empty database"
            ))
            .into());
        }
    }
    Ok(())
}

async fn count(pool: &Pool, table: &str) -> anyhow::Result<i64> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .with_context(|| format!("counting the rows of {table}"))
}

async fn copy_table(
    reading: &mut Tx,
    writing: &mut Tx,
    table: &str,
    columns: &[(&str, Kind)],
) -> anyhow::Result<i64> {
    let names = columns
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ");
    let per_statement = (PARAMETERS_PER_STATEMENT / columns.len()).max(1);
    let select = format!("SELECT {names} FROM {table}");
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(&mut **reading);
    let mut pending: Vec<Vec<Value>> = Vec::with_capacity(per_statement);
    let mut total = 0i64;
    while let Some(row) = rows
        .try_next()
        .await
        .with_context(|| format!("reading {table}"))?
    {
        pending.push(read_row(&row, columns).with_context(|| format!("reading {table}"))?);
        if pending.len() == per_statement {
            total += insert(writing, table, &names, columns.len(), &mut pending).await?;
        }
    }
    drop(rows);
    total += insert(writing, table, &names, columns.len(), &mut pending).await?;
    Ok(total)
}

fn read_row(row: &AnyRow, columns: &[(&str, Kind)]) -> Result<Vec<Value>, sqlx::Error> {
    columns
        .iter()
        .enumerate()
        .map(|(index, (_, kind))| {
            Ok(match kind {
                Int => Value::Int(row.try_get(index)?),
                Text => Value::Text(row.try_get(index)?),
                Bytes => Value::Bytes(row.try_get(index)?),
            })
        })
        .collect()
}

async fn insert(
    writing: &mut Tx,
    table: &str,
    names: &str,
    width: usize,
    pending: &mut Vec<Vec<Value>>,
) -> anyhow::Result<i64> {
    if pending.is_empty() {
        return Ok(0);
    }
    let tuples = (0..pending.len())
        .map(|row| format!("({})", placeholders(row * width + 1, width)))
        .collect::<Vec<_>>()
        .join(", ");
    let statement = format!("INSERT INTO {table} ({names}) VALUES {tuples}");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(statement));
    for value in pending.drain(..).flatten() {
        query = match value {
            Value::Int(value) => query.bind(value),
            Value::Text(value) => query.bind(value),
            Value::Bytes(value) => query.bind(value),
        };
    }
    let inserted = query
        .execute(&mut **writing)
        .await
        .with_context(|| format!("writing {table}"))?
        .rows_affected();
    Ok(i64::try_from(inserted).unwrap_or(i64::MAX))
}
