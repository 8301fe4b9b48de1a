//! Thin async functions over SQLite, one file per table group. Nothing here knows of HTTP, SMTP
//! or the command line.

pub mod backup;
pub mod bounces;
pub mod deliveries;
pub mod editions;
pub mod feeds;
pub mod import;
pub mod installation;
pub mod lists;
pub mod optin;
pub mod schedule;
pub mod stories;
pub mod subscribers;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::error::BadInput;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a statement waits for another writer (the daemon, an import) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a web request's statement waits for another writer: a reader's browser or the CMS
/// should hear "busy, try again" (503) long before a proxy gives up on us.
pub const WEB_BUSY_TIMEOUT: Duration = Duration::from_secs(3);

/// Connection options for a `sqlite://` URL or a plain file path.
pub fn connect_options(url: &str) -> Result<SqliteConnectOptions, BadInput> {
    let options = if url.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(url)
            .map_err(|error| BadInput(format!("invalid database URL {url:?}: {error}")))?
    } else if url.trim().is_empty() {
        return Err(BadInput::new("database URL is empty"));
    } else {
        SqliteConnectOptions::new().filename(url)
    };
    Ok(options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // WAL with NORMAL is durable across process crashes; only power loss may drop the last
        // commits, and delivery state is resent, not lost, in that case.
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        // 1 MiB of page cache per connection (SQLite's default is 2): the OS caches the file
        // anyway, and a send to 200,000 people then stays within a few MiB of one to 20,000.
        .pragma("cache_size", "-1024"))
}

/// Opens the database, creating the file if needed and `create` allows, and applies pending
/// migrations.
pub async fn connect(url: &str, create: bool) -> anyhow::Result<SqlitePool> {
    let options = connect_options(url)?;
    if !create {
        let path = options.get_filename();
        if !path.as_os_str().is_empty()
            && !path.to_string_lossy().contains(":memory:")
            && !path.exists()
        {
            return Err(BadInput(format!(
                "there is no database at {}: check --database or database.url \
                 (`herald init` creates one)",
                path.display()
            ))
            .into());
        }
    }
    let opened = open_and_migrate(options.clone().create_if_missing(create)).await;
    match opened {
        // A reading command on a database this user may not write (a copy on read-only
        // storage, another user's file): read it as it is, if its schema is current.
        Err(error) if !create && sqlite_code(&error) == Some(SQLITE_READONLY) => {
            open_read_only(options.get_filename()).await
        }
        other => other,
    }
}

async fn open_and_migrate(options: SqliteConnectOptions) -> anyhow::Result<SqlitePool> {
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .context("connecting to SQLite")?;
    MIGRATOR.run(&pool).await.map_err(|error| match error {
        // The database carries migrations this binary does not know: a newer Herald wrote it.
        sqlx::migrate::MigrateError::VersionMissing(version) => anyhow::anyhow!(
            "this database was last used by a newer Herald (its schema has migration \
             {version}, which this version does not know): upgrade herald, or use a backup \
             taken with this version"
        ),
        other => anyhow::Error::new(other).context("applying database migrations"),
    })?;
    Ok(pool)
}

/// Opens a database read-only and immutable (no lock or WAL index file to create, which a
/// read-only directory forbids), after checking its schema is the one this binary knows.
async fn open_read_only(path: &std::path::Path) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .context("opening the database read-only")?;
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&pool)
            .await
            .context("reading the database's schema version")?;
    let known: Vec<i64> = MIGRATOR.iter().map(|migration| migration.version).collect();
    if let Some(newer) = applied.iter().find(|version| !known.contains(version)) {
        anyhow::bail!(
            "this database was last used by a newer Herald (its schema has migration {newer}, \
             which this version does not know): upgrade herald, or use a backup taken with \
             this version"
        );
    }
    if let Some(missing) = known.iter().find(|version| !applied.contains(version)) {
        anyhow::bail!(
            "this database is read-only to this user and its schema is older than this Herald's \
             (migration {missing} is not applied): open it once with write access to upgrade it"
        );
    }
    Ok(pool)
}

/// A pool on a database [`connect`] has opened and migrated, whose statements give up on a busy
/// database after `busy_timeout`.
pub async fn connect_impatient(url: &str, busy_timeout: Duration) -> anyhow::Result<SqlitePool> {
    let options = connect_options(url)?
        .create_if_missing(false)
        .busy_timeout(busy_timeout);
    SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .context("connecting to SQLite")
}

const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
const SQLITE_READONLY: i32 = 8;
const SQLITE_FULL: i32 = 13;
const SQLITE_CANTOPEN: i32 = 14;

/// The primary SQLite result code of the first database error in the chain.
fn sqlite_code(error: &anyhow::Error) -> Option<i32> {
    error
        .chain()
        .find_map(|cause| match cause.downcast_ref::<sqlx::Error>() {
            Some(sqlx::Error::Database(database)) => database
                .code()
                .and_then(|code| code.parse::<i32>().ok())
                // Extended result codes carry the primary code in their low byte.
                .map(|code| code & 0xff),
            _ => None,
        })
}

/// Whether the failure is only that another process held the database past the busy timeout:
/// worth a retry, not an operator's attention.
pub fn is_busy(error: &anyhow::Error) -> bool {
    let timed_out = error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<sqlx::Error>(),
            Some(sqlx::Error::PoolTimedOut)
        )
    });
    timed_out || matches!(sqlite_code(error), Some(SQLITE_BUSY | SQLITE_LOCKED))
}

/// What a database failure means for an operator, in plain words, where SQLite's own message
/// ("attempt to write a readonly database") would leave them guessing.
pub fn in_plain_words(error: &anyhow::Error) -> Option<&'static str> {
    if is_busy(error) {
        return Some(
            "the database stayed busy: another process held its write lock past the busy \
             timeout (a long import, a stuck script?); try again",
        );
    }
    match sqlite_code(error)? {
        SQLITE_READONLY => Some(
            "the database is read-only to this user: check the permissions of the database \
             file and of its directory, or run herald as the user the service runs as",
        ),
        SQLITE_FULL => Some("the disk holding the database is full"),
        SQLITE_CANTOPEN => Some(
            "the database file cannot be opened: check the path and the permissions of its \
             directory",
        ),
        _ => None,
    }
}

/// Whether a write could start now, waiting at most `patience` for another writer.
pub async fn writable(pool: &SqlitePool, patience: Duration) -> anyhow::Result<()> {
    let mut connection = pool.acquire().await?;
    let usual: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut *connection)
        .await?;
    let restore = format!("PRAGMA busy_timeout = {usual}");
    // Numbers we formatted ourselves: PRAGMA takes no bound parameters.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "PRAGMA busy_timeout = {}",
        patience.as_millis()
    )))
    .execute(&mut *connection)
    .await?;
    let begun = sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *connection)
        .await;
    if begun.is_ok() {
        sqlx::query("ROLLBACK").execute(&mut *connection).await?;
    }
    sqlx::query(sqlx::AssertSqlSafe(restore))
        .execute(&mut *connection)
        .await?;
    begun?;
    Ok(())
}

/// A transaction that holds the write lock from its first statement. Read-then-write work must
/// use this: a deferred transaction that read first cannot upgrade once another connection has
/// written, and fails with "database is locked" however long the busy timeout.
pub async fn begin_immediate(pool: &SqlitePool) -> sqlx::Result<Transaction<'static, Sqlite>> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// Timestamps are stored as Unix seconds: compact, and they sort.
pub fn to_db_time(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

pub fn from_db_time(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}
