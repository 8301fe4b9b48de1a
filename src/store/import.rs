//! Set-based bulk import of subscribers into one list, for CSV files of millions of rows.
//!
//! Rows go first into a temporary table on the import's own connection, keyed by address: that
//! finds duplicates within the file (whatever their distance) without holding the file in memory,
//! and lets each batch reach `subscribers` and `subscriptions` in two INSERT ... SELECT statements.

use crate::store::Pool;
use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::pool::PoolConnection;
use sqlx::QueryBuilder;

use crate::domain::{SubscriberName, SubscriptionStatus};
use crate::store::import_batch::{bind_batch, duplicate, BatchParams, BatchSql};
pub use crate::store::import_batch::{Duplicate, ImportRow};
use crate::store::postgres_import::PostgresImport;
use crate::store::{to_db_time, Backend, PAGE_CACHE_KIB};

/// Rows per multi-row INSERT: five parameters each, well under SQLite's 32,766 limit.
const ROWS_PER_STATEMENT: usize = 2_000;
/// Page cache of the import's connection, per database (main and temp), in KiB: enough for the
/// pages one batch of random addresses touches in a list of millions.
const IMPORT_CACHE_KIB: u32 = 32 * 1024;

/// One import run, holding the connection its temporary table lives on.
pub enum ImportSession {
    Sqlite(SqliteImport),
    Postgres(PostgresImport),
}

impl ImportSession {
    pub async fn start(pool: &Pool, list_id: i64, confirmed: bool) -> anyhow::Result<Self> {
        Ok(match Backend::of(pool) {
            Backend::Sqlite => Self::Sqlite(SqliteImport::start(pool, list_id, confirmed).await?),
            Backend::Postgres => {
                Self::Postgres(PostgresImport::start(pool, list_id, confirmed).await?)
            }
        })
    }

    /// Stores one batch in its own write transaction. Returns how many subscriptions were added
    /// or confirmed, and the rows that repeat an earlier address of the file.
    pub async fn apply(
        &mut self,
        rows: &[ImportRow],
        now: DateTime<Utc>,
    ) -> anyhow::Result<(u64, Vec<Duplicate>)> {
        match self {
            Self::Sqlite(import) => import.apply(rows, now).await,
            Self::Postgres(import) => import.apply(rows, now).await,
        }
    }

    pub async fn finish(self) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(import) => import.finish().await,
            Self::Postgres(import) => import.finish().await,
        }
    }
}

/// SQLite: rows go into the staging table in multi-row INSERTs on the pool's own connection.
pub struct SqliteImport {
    conn: PoolConnection<sqlx::Any>,
    list_id: i64,
    confirmed: bool,
}

impl SqliteImport {
    async fn start(pool: &Pool, list_id: i64, confirmed: bool) -> anyhow::Result<Self> {
        let mut conn = pool.acquire().await.context("acquiring connection")?;
        // Addresses arrive in random order, so each batch touches pages all over the address
        // indexes: with the usual 1 MiB cache they would spill to the WAL again and again. The
        // import's own connection gets a cache that holds a batch's pages until its commit.
        for pragma in [
            format!("PRAGMA main.cache_size = -{IMPORT_CACHE_KIB}"),
            format!("PRAGMA temp.cache_size = -{IMPORT_CACHE_KIB}"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(pragma))
                .execute(&mut *conn)
                .await
                .context("sizing the import's page cache")?;
        }
        sqlx::query(
            "CREATE TEMP TABLE IF NOT EXISTS import_rows (
                 email TEXT PRIMARY KEY,
                 name  TEXT,
                 left_status TEXT,
                 line  INTEGER NOT NULL
             )",
        )
        .execute(&mut *conn)
        .await
        .context("creating import table")?;
        sqlx::query("DELETE FROM import_rows")
            .execute(&mut *conn)
            .await
            .context("clearing import table")?;
        Ok(Self {
            conn,
            list_id,
            confirmed,
        })
    }

    async fn apply(
        &mut self,
        rows: &[ImportRow],
        now: DateTime<Utc>,
    ) -> anyhow::Result<(u64, Vec<Duplicate>)> {
        let now = to_db_time(now);
        let mut tx = sqlx::Connection::begin_with(&mut *self.conn, "BEGIN IMMEDIATE")
            .await
            .context("starting import transaction")?;
        // This batch's staged rows are those after the last rowid staged before it: no index
        // on a batch number to keep up for every row.
        let batch: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(rowid), 0) FROM import_rows")
            .fetch_one(&mut *tx)
            .await
            .context("reading the staging table")?;

        // In address order, each index page is visited once per batch instead of once per row
        // (a stable sort: of two equal addresses the earlier line stays first).
        let mut ordered: Vec<&ImportRow> = rows.iter().collect();
        ordered.sort_by(|a, b| a.email.as_str().cmp(b.email.as_str()));
        let mut staged = std::collections::HashSet::with_capacity(rows.len());
        for chunk in ordered.chunks(ROWS_PER_STATEMENT) {
            let mut insert = QueryBuilder::<sqlx::Any>::new(
                "INSERT INTO import_rows (email, name, left_status, line) ",
            );
            insert.push_values(chunk, |mut values, row| {
                values
                    .push_bind(row.email.as_str())
                    .push_bind(row.name.as_ref().map(SubscriberName::as_str))
                    .push_bind(row.left.map(SubscriptionStatus::as_str))
                    .push_bind(row.line as i64);
            });
            insert.push(" ON CONFLICT (email) DO NOTHING RETURNING line");
            let inserted: Vec<i64> = insert
                .build_query_scalar()
                .fetch_all(&mut *tx)
                .await
                .context("staging import rows")?;
            staged.extend(inserted);
        }

        let mut duplicates = Vec::new();
        for row in rows
            .iter()
            .filter(|row| !staged.contains(&(row.line as i64)))
        {
            let first_line: i64 =
                sqlx::query_scalar("SELECT line FROM import_rows WHERE email = $1")
                    .bind(row.email.as_str())
                    .fetch_one(&mut *tx)
                    .await
                    .context("finding first occurrence")?;
            duplicates.push(duplicate(row, first_line));
        }

        let sql = BatchSql::new("i.rowid > $2", "lower(hex(randomblob(16)))");
        let params = BatchParams::new(now, batch, self.list_id, self.confirmed);
        sqlx::query(sqlx::AssertSqlSafe(sql.subscribers()))
            .bind(params.now)
            .bind(params.batch)
            .execute(&mut *tx)
            .await
            .context("storing subscribers")?;
        let stored = bind_batch!(
            sqlx::query(sqlx::AssertSqlSafe(sql.subscriptions())),
            params
        )
        .execute(&mut *tx)
        .await
        .context("storing subscriptions")?
        .rows_affected();

        tx.commit().await.context("committing import batch")?;
        Ok((stored, duplicates))
    }

    /// Drops the staged rows and gives the pooled connection back its usual cache.
    async fn finish(mut self) -> anyhow::Result<()> {
        sqlx::query("DROP TABLE IF EXISTS temp.import_rows")
            .execute(&mut *self.conn)
            .await
            .context("dropping import table")?;
        for schema in ["main", "temp"] {
            let pragma = format!("PRAGMA {schema}.cache_size = -{PAGE_CACHE_KIB}");
            sqlx::query(sqlx::AssertSqlSafe(pragma))
                .execute(&mut *self.conn)
                .await
                .context("restoring the page cache")?;
        }
        Ok(())
    }
}
