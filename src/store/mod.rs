//! Thin async functions over SQLite or PostgreSQL, one file per table group. Nothing here knows of HTTP, SMTP
//! or the command line.

pub mod backup;
pub mod bounces;
pub mod clicks;
pub mod copy;
pub mod deliveries;
pub mod editions;
mod error;
pub mod feeds;
pub mod import;
pub mod import_batch;
pub mod installation;
pub mod lists;
pub mod optin;
pub mod picks;
pub mod postgres_import;
pub mod schedule;
pub mod stats;
pub mod stories;
pub mod subscribers;

pub use error::{Failure, StoreError};

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;
use sqlx::{Any, Executor, Transaction};

use crate::error::BadInput;

/// The database: SQLite or PostgreSQL behind one type, so the store's SQL is written once.
pub type Pool = sqlx::AnyPool;
pub type Connection = sqlx::AnyConnection;
pub type Tx = Transaction<'static, Any>;

pub static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
pub static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a statement waits for another writer (the daemon, an import) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a web request's statement waits for another writer: a reader's browser or the CMS
/// should hear "busy, try again" (503) long before a proxy gives up on us.
pub const WEB_BUSY_TIMEOUT: Duration = Duration::from_secs(3);

/// Which database a URL or a pool is on: where the SQL differs (locking, bulk load, copies),
/// the store asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }

    pub fn of(pool: &Pool) -> Self {
        Self::of_url(pool.connect_options().database_url.as_str())
    }

    fn migrator(self) -> &'static sqlx::migrate::Migrator {
        match self {
            Self::Sqlite => &SQLITE_MIGRATOR,
            Self::Postgres => &POSTGRES_MIGRATOR,
        }
    }
}

/// Connection options for a `sqlite://` URL or a plain file path.
pub fn connect_options(url: &str) -> Result<SqliteConnectOptions, BadInput> {
    if url.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(url)
            .map_err(|error| BadInput(format!("invalid database URL {url:?}: {error}")))
    } else if url.trim().is_empty() {
        Err(BadInput::new("database URL is empty"))
    } else if url.contains("://") {
        Err(BadInput(format!(
            "unsupported database URL {:?}: use sqlite://FILE or postgres://...",
            redact_url(url)
        )))
    } else {
        Ok(SqliteConnectOptions::new().filename(url))
    }
}

/// A database URL fit for messages: its password, if any, replaced.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// How `connect` opens a SQLite file.
enum SqliteMode {
    ReadWrite { create: bool },
    ReadOnly,
}

/// sqlx warns of every statement that takes over a second, with its whole text. Herald's bulk
/// statements (an import's batch, an edition's million deliveries) take longer by design, and an
/// operator reading WARN lines should see failures, not those: they are logged at debug.
pub(crate) const SLOW_STATEMENT_LOG: log::LevelFilter = log::LevelFilter::Debug;
pub(crate) const SLOW_STATEMENT: Duration = Duration::from_secs(1);

/// The Any driver opens SQLite from a URL alone: the file's path and its open mode go in the
/// URL, and the settings a URL cannot carry are set on every new connection.
fn sqlite_pool(
    options: &SqliteConnectOptions,
    mode: SqliteMode,
    busy_timeout: Duration,
    max_connections: u32,
) -> anyhow::Result<(AnyPoolOptions, AnyConnectOptions)> {
    let options = match mode {
        SqliteMode::ReadWrite { create } => options.clone().create_if_missing(create),
        SqliteMode::ReadOnly => options.clone().read_only(true).immutable(true),
    };
    let any = AnyConnectOptions::from_str(options.to_url_lossy().as_str())
        .context("building the SQLite connection options")?
        .log_slow_statements(SLOW_STATEMENT_LOG, SLOW_STATEMENT);
    let pragmas = sqlite_pragmas(&mode, busy_timeout);
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections)
        .after_connect(move |conn, _| {
            let pragmas = pragmas.clone();
            Box::pin(async move { apply_pragmas(conn, &pragmas).await })
        });
    Ok((pool, any))
}

/// Each pooled SQLite connection's page cache, in KiB (see `sqlite_pragmas`).
pub(crate) const PAGE_CACHE_KIB: u32 = 256;

/// The settings a SQLite URL cannot carry, set on every new connection.
fn sqlite_pragmas(mode: &SqliteMode, busy_timeout: Duration) -> Vec<String> {
    // Numbers we formatted ourselves: PRAGMA takes no bound parameters.
    let mut pragmas = vec![
        format!("PRAGMA busy_timeout = {}", busy_timeout.as_millis()),
        "PRAGMA foreign_keys = ON".to_string(),
        // 256 KiB of page cache per connection (SQLite's default is 2 MiB): the OS caches the
        // file anyway, and a connection's cache fills up to its size on a large list, eight
        // connections over. At 1 MiB a send's peak RSS was 29.5 MiB at 200,000 readers against
        // 24.3 at 20,000; at 256 KiB it is 23.5 against 22.5, at the same send rate.
        format!("PRAGMA cache_size = -{PAGE_CACHE_KIB}"),
    ];
    if matches!(mode, SqliteMode::ReadWrite { .. }) {
        pragmas.push("PRAGMA journal_mode = WAL".to_string());
        // WAL with NORMAL is durable across process crashes; only power loss may drop the last
        // commits, and delivery state is resent, not lost, then.
        pragmas.push("PRAGMA synchronous = NORMAL".to_string());
    }
    pragmas
}

async fn apply_pragmas(conn: &mut sqlx::AnyConnection, pragmas: &[String]) -> sqlx::Result<()> {
    for pragma in pragmas {
        conn.execute(sqlx::AssertSqlSafe(pragma.clone())).await?;
    }
    Ok(())
}

/// Opens one plain connection, sets its `pragmas` and closes it, before any pool: a pool
/// retries a connection that fails (a refused server, pragmas that cannot write) until its
/// timeout and then says only that it timed out; this keeps the driver's own error.
async fn probe(options: &AnyConnectOptions, pragmas: &[String]) -> sqlx::Result<()> {
    let mut first = <sqlx::AnyConnection as sqlx::Connection>::connect_with(options).await?;
    apply_pragmas(&mut first, pragmas).await?;
    sqlx::Connection::close(first).await.ok();
    Ok(())
}

fn postgres_options(url: &str) -> anyhow::Result<AnyConnectOptions> {
    AnyConnectOptions::from_str(url)
        .map(|options| options.log_slow_statements(SLOW_STATEMENT_LOG, SLOW_STATEMENT))
        .map_err(|error| {
            BadInput(format!(
                "invalid database URL {:?}: {error}",
                redact_url(url)
            ))
            .into()
        })
}

async fn connect_postgres(url: &str, max_connections: u32) -> anyhow::Result<Pool> {
    let options = postgres_options(url)?;
    tokio::time::timeout(BUSY_TIMEOUT, probe(&options, &[]))
        .await
        .map_err(|_| unreachable_server(sqlx::Error::PoolTimedOut))?
        .map_err(unreachable_server)?;
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(BUSY_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(unreachable_server)
}

/// A server that cannot be reached is not a busy database: say which, without the pool's
/// timeout in the chain (which would read as "busy, try again").
fn unreachable_server(error: sqlx::Error) -> anyhow::Error {
    match error {
        sqlx::Error::PoolTimedOut => anyhow::anyhow!(
            "cannot connect to PostgreSQL: no connection within {} s (is the server running and \
             reachable?)",
            BUSY_TIMEOUT.as_secs()
        ),
        other => anyhow::anyhow!("cannot connect to PostgreSQL: {other}"),
    }
}

/// Opens the database, creating the file if needed and `create` allows, and applies pending
/// migrations.
pub async fn connect(url: &str, create: bool) -> anyhow::Result<Pool> {
    sqlx::any::install_default_drivers();
    if Backend::of_url(url) == Backend::Postgres {
        let pool = connect_postgres(url, 8).await?;
        migrate(&pool).await?;
        return Ok(pool);
    }
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
    let opened = open_and_migrate(&options, create).await;
    match opened {
        // A reading command on a database this user may not write (a copy on read-only
        // storage, another user's file): read it as it is, if its schema is current.
        Err(error)
            if !create
                && (sqlite_code(&error) == Some(SQLITE_READONLY)
                    || !may_write(options.get_filename())) =>
        {
            open_read_only(&options).await
        }
        other => other,
    }
}

/// Whether this user may open the file for writing (opening it so changes nothing).
fn may_write(path: &std::path::Path) -> bool {
    std::fs::OpenOptions::new().write(true).open(path).is_ok()
}

async fn open_and_migrate(options: &SqliteConnectOptions, create: bool) -> anyhow::Result<Pool> {
    let mode = SqliteMode::ReadWrite { create };
    let pragmas = sqlite_pragmas(&mode, BUSY_TIMEOUT);
    let (pool, any) = sqlite_pool(options, mode, BUSY_TIMEOUT, 8)?;
    // WAL mode cannot be set in a directory this user may not write: SQLite's own code for
    // that names a read-only database at once, where the pool's timeout would read as "busy".
    probe(&any, &pragmas)
        .await
        .context("connecting to SQLite")?;
    let pool = pool
        .connect_with(any)
        .await
        .context("connecting to SQLite")?;
    migrate(&pool).await?;
    Ok(pool)
}

async fn migrate(pool: &Pool) -> anyhow::Result<()> {
    Backend::of(pool)
        .migrator()
        .run(pool)
        .await
        .map_err(|error| match error {
            // The database carries migrations this binary does not know: a newer Herald wrote it.
            sqlx::migrate::MigrateError::VersionMissing(version) => anyhow::anyhow!(
                "this database was last used by a newer Herald (its schema has migration \
                 {version}, which this version does not know): upgrade herald, or use a backup \
                 taken with this version"
            ),
            other => anyhow::Error::new(other).context("applying database migrations"),
        })
}

/// Opens a database read-only and immutable (no lock or WAL index file to create, which a
/// read-only directory forbids), after checking its schema is the one this binary knows.
async fn open_read_only(options: &SqliteConnectOptions) -> anyhow::Result<Pool> {
    let (pool, any) = sqlite_pool(options, SqliteMode::ReadOnly, BUSY_TIMEOUT, 4)?;
    let pool = pool
        .connect_with(any)
        .await
        .context("opening the database read-only")?;
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&pool)
            .await
            .context("reading the database's schema version")?;
    let known: Vec<i64> = SQLITE_MIGRATOR
        .iter()
        .map(|migration| migration.version)
        .collect();
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
pub async fn connect_impatient(url: &str, busy_timeout: Duration) -> anyhow::Result<Pool> {
    sqlx::any::install_default_drivers();
    if Backend::of_url(url) == Backend::Postgres {
        let options = postgres_options(url)?;
        return AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(busy_timeout)
            .connect_with(options)
            .await
            .map_err(unreachable_server);
    }
    let options = connect_options(url)?;
    let (pool, any) = sqlite_pool(
        &options,
        SqliteMode::ReadWrite { create: false },
        busy_timeout,
        8,
    )?;
    pool.connect_with(any).await.context("connecting to SQLite")
}

const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
const SQLITE_READONLY: i32 = 8;
const SQLITE_FULL: i32 = 13;
const SQLITE_CANTOPEN: i32 = 14;

/// The database error codes in the chain: SQLite's numeric result code, or PostgreSQL's
/// SQLSTATE.
pub(crate) fn database_code(error: &anyhow::Error) -> Option<String> {
    error
        .chain()
        .find_map(|cause| match cause.downcast_ref::<sqlx::Error>() {
            Some(sqlx::Error::Database(database)) => database.code().map(|code| code.into_owned()),
            _ => None,
        })
}

/// The primary SQLite result code of the first database error in the chain.
fn sqlite_code(error: &anyhow::Error) -> Option<i32> {
    database_code(error)
        .and_then(|code| code.parse::<i32>().ok())
        // Extended result codes carry the primary code in their low byte.
        .map(|code| code & 0xff)
}

/// PostgreSQL's SQLSTATEs that mean "another transaction was in the way": lock timeouts,
/// serialisation failures and deadlocks, worth a retry.
const POSTGRES_BUSY: [&str; 4] = ["55P03", "40001", "40P01", "57014"];

/// Whether the failure is only that another process held the database past the busy timeout:
/// worth a retry, not an operator's attention.
pub fn is_busy(error: &anyhow::Error) -> bool {
    let timed_out = error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<sqlx::Error>(),
            Some(sqlx::Error::PoolTimedOut)
        )
    });
    timed_out
        || matches!(sqlite_code(error), Some(SQLITE_BUSY | SQLITE_LOCKED))
        || database_code(error).is_some_and(|code| POSTGRES_BUSY.contains(&code.as_str()))
}

/// What a database failure means for an operator, in plain words, where the database's own
/// message ("attempt to write a readonly database") would leave them guessing.
pub fn in_plain_words(error: &anyhow::Error) -> Option<&'static str> {
    if is_busy(error) {
        return Some(
            "the database stayed busy: another process held its write lock past the busy \
             timeout (a long import, a stuck script?); try again",
        );
    }
    match database_code(error).as_deref()? {
        "53100" => return Some("the disk holding the PostgreSQL database is full"),
        "42501" => {
            return Some(
                "the PostgreSQL role may not do this: grant it the rights on Herald's schema",
            )
        }
        _ => {}
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
pub async fn writable(pool: &Pool, patience: Duration) -> anyhow::Result<()> {
    let mut connection = tokio::time::timeout(patience, pool.acquire())
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)??;
    if Backend::of(pool) == Backend::Postgres {
        // PostgreSQL has no database-wide write lock: a transaction as Herald's begin (not
        // forced read-write) that is not read-only (a standby, default_transaction_read_only)
        // is a write that could start.
        let mut tx = sqlx::Connection::begin(&mut *connection).await?;
        let read_only: String =
            sqlx::query_scalar("SELECT current_setting('transaction_read_only')")
                .fetch_one(&mut *tx)
                .await?;
        tx.rollback().await?;
        if read_only == "on" {
            return Err(ReadOnly.into());
        }
        return Ok(());
    }
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
    // A file opened read-only (permissions changed under a running daemon) still takes the
    // write lock: only a write finds out. This one changes nothing and is rolled back.
    let wrote = match &begun {
        Ok(_) => {
            let wrote = sqlx::query("UPDATE installation SET bounce_key = bounce_key")
                .execute(&mut *connection)
                .await;
            sqlx::query("ROLLBACK").execute(&mut *connection).await?;
            wrote.map(|_| ())
        }
        Err(_) => Ok(()),
    };
    sqlx::query(sqlx::AssertSqlSafe(restore))
        .execute(&mut *connection)
        .await?;
    begun?;
    wrote?;
    Ok(())
}

/// The database takes no writes at all: a file this user may not write, a PostgreSQL standby.
#[derive(Debug, thiserror::Error)]
#[error("the database is read-only")]
pub struct ReadOnly;

/// Whether `error` says the database takes no writes (as opposed to busy or gone).
pub fn is_read_only(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.is::<ReadOnly>())
        || sqlite_code(error) == Some(SQLITE_READONLY)
        || database_code(error).as_deref() == Some("25006")
}

/// A transaction that holds the write lock from its first statement. Read-then-write work must
/// use this: on SQLite a deferred transaction that read first cannot upgrade once another
/// connection has written, and fails with "database is locked" however long the busy timeout.
/// PostgreSQL locks rows, not the database: its statements take the locks they need.
pub async fn begin_immediate(pool: &Pool) -> sqlx::Result<Tx> {
    match Backend::of(pool) {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => pool.begin().await,
    }
}

/// `count` numbered parameters from `$first` on, comma-separated, for an `IN (...)` list: the
/// one form of placeholder both databases read.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Ids in an `IN` test whose number varies from statement to statement. PostgreSQL parses
/// and plans a statement when a connection first prepares it: there the ids go in one
/// parameter (`1,2,3`), one statement text whatever their number, prepared once, where a list
/// of placeholders would be a new statement for every length. SQLite prepares cheaply and
/// reads a list of placeholders fastest.
#[derive(Debug, Clone, Copy)]
pub struct IdSet<'a> {
    backend: Backend,
    ids: &'a [i64],
}

impl<'a> IdSet<'a> {
    /// Ids one statement takes at most: SQLite's parameters are limited.
    pub fn chunk_size(backend: Backend) -> usize {
        match backend {
            Backend::Postgres => usize::MAX,
            Backend::Sqlite => 500,
        }
    }

    pub fn new(backend: Backend, ids: &'a [i64]) -> Self {
        Self { backend, ids }
    }

    /// `column` tested against the set, whose parameters start at `$first`.
    pub fn condition(&self, column: &str, first: usize) -> String {
        match self.backend {
            Backend::Postgres => {
                format!("{column} = ANY(string_to_array(${first}, ',')::bigint[])")
            }
            Backend::Sqlite => format!("{column} IN ({})", placeholders(first, self.ids.len())),
        }
    }

    /// Binds the set's parameters, after those bound before them.
    pub fn bind<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        match self.backend {
            Backend::Postgres => {
                let text: Vec<String> = self.ids.iter().map(i64::to_string).collect();
                query.bind(text.join(","))
            }
            Backend::Sqlite => self.ids.iter().fold(query, |query, id| query.bind(*id)),
        }
    }
}

/// A fresh link secret (unsubscribe, confirm): 128 random bits as 32 lower-case hex digits,
/// the form SQLite's `lower(hex(randomblob(16)))` gave rows written before PostgreSQL.
pub fn new_secret() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Timestamps are stored as Unix seconds: compact, and they sort.
pub fn to_db_time(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

pub fn from_db_time(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}
