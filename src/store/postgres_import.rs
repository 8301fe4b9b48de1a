//! The PostgreSQL side of a subscriber import: each batch reaches the server in one `COPY`
//! into a temporary table, and from there the same two INSERT ... SELECT statements as on
//! SQLite move it into `subscribers` and `subscriptions`. `COPY` needs the driver's own
//! connection, which the Any pool does not lend: the import opens its own.
//!
//! A PostgreSQL connection is one server process, so one connection would leave the server's
//! other cores idle. The import works in lanes instead, each on its own connection with its own
//! staging tables: an address always goes to the same lane (by its hash), so each lane finds
//! every repeat of its addresses on its own, and lanes never write the same rows.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::str::FromStr as _;

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, PgConnection};

use crate::store::import_batch::{
    bind_batch, duplicate, BatchParams, BatchSql, Duplicate, ImportRow,
};
use crate::store::{
    database_code, new_secret, redact_url, to_db_time, Pool, SLOW_STATEMENT, SLOW_STATEMENT_LOG,
};

/// Connections an import works on at once, when the server allows as many.
const LANES: usize = 2;
/// SQLSTATE of a connection refused for the server's, the database's or the role's limit.
const TOO_MANY_CONNECTIONS: &str = "53300";

pub struct PostgresImport {
    lanes: Vec<Lane>,
}

impl PostgresImport {
    pub(crate) async fn start(pool: &Pool, list_id: i64, confirmed: bool) -> anyhow::Result<Self> {
        let url = pool.connect_options().database_url.clone();
        let url = url.as_str();
        let options = PgConnectOptions::from_str(url)
            .with_context(|| format!("reading the database URL {}", redact_url(url)))?
            .log_slow_statements(SLOW_STATEMENT_LOG, SLOW_STATEMENT);
        let mut lanes = Vec::with_capacity(LANES);
        while lanes.len() < LANES {
            match Lane::start(&options, url, list_id, confirmed).await {
                Ok(lane) => lanes.push(lane),
                // The server's or the role's connection limit: fewer lanes are slower, not wrong.
                Err(error)
                    if !lanes.is_empty()
                        && database_code(&error).as_deref() == Some(TOO_MANY_CONNECTIONS) =>
                {
                    tracing::info!(
                        "PostgreSQL refused the import another connection (too many \
                         connections): importing over {}",
                        lanes.len()
                    );
                    break;
                }
                Err(error) => return Err(error),
            }
        }
        Ok(Self { lanes })
    }

    /// Stores one batch, each lane its share in its own transaction, all lanes at once.
    pub(crate) async fn apply(
        &mut self,
        rows: &[ImportRow],
        now: DateTime<Utc>,
    ) -> anyhow::Result<(u64, Vec<Duplicate>)> {
        let mut shares: Vec<Vec<&ImportRow>> = vec![Vec::new(); self.lanes.len()];
        let hasher = BuildHasherDefault::<DefaultHasher>::default();
        for row in rows {
            let lane = hasher.hash_one(row.email.as_str()) as usize % shares.len();
            shares[lane].push(row);
        }
        let now = to_db_time(now);
        let results = try_join_all(
            self.lanes
                .iter_mut()
                .zip(&shares)
                .map(|(lane, share)| lane.apply(share, now)),
        )
        .await?;
        let mut stored = 0;
        let mut duplicates = Vec::new();
        for (lane_stored, lane_duplicates) in results {
            stored += lane_stored;
            duplicates.extend(lane_duplicates);
        }
        Ok((stored, duplicates))
    }

    pub(crate) async fn finish(self) -> anyhow::Result<()> {
        for lane in self.lanes {
            lane.conn
                .close()
                .await
                .context("closing the import's connection")?;
        }
        Ok(())
    }
}

/// One connection of the import, with the staging tables of the addresses that hash to it.
struct Lane {
    conn: PgConnection,
    list_id: i64,
    confirmed: bool,
    batch: i64,
}

impl Lane {
    /// `url` names the database in messages, without its password.
    async fn start(
        options: &PgConnectOptions,
        url: &str,
        list_id: i64,
        confirmed: bool,
    ) -> anyhow::Result<Self> {
        let mut conn = PgConnection::connect_with(options)
            .await
            .with_context(|| format!("connecting to {} for the import", redact_url(url)))?;
        for statement in [
            // The server's defaults (4 MB, 8 MB) spill a batch's hash joins and sorts, and the
            // staging tables of a million rows, to temporary files. Set before the first
            // temporary table, as PostgreSQL requires of temp_buffers; both lanes' worth is
            // memory only while a table needs it.
            "SET work_mem = '64MB'",
            "SET temp_buffers = '256MB'",
            // Addresses compare byte by byte, as in `subscribers`: a join between the two
            // needs one collation, and the locale's is the slow one.
            "CREATE TEMP TABLE import_rows (
                 email       TEXT COLLATE \"C\" PRIMARY KEY,
                 name        TEXT,
                 left_status TEXT,
                 line        BIGINT NOT NULL,
                 secret      TEXT   NOT NULL,
                 batch       BIGINT NOT NULL
             )",
            "CREATE INDEX import_rows_by_batch ON import_rows (batch)",
            // What one COPY brings, duplicates and all, before they are sorted out.
            "CREATE TEMP TABLE import_batch (
                 email       TEXT   COLLATE \"C\" NOT NULL,
                 name        TEXT,
                 left_status TEXT,
                 line        BIGINT NOT NULL,
                 secret      TEXT   NOT NULL
             )",
        ] {
            sqlx::query(statement)
                .execute(&mut conn)
                .await
                .context("creating the import's staging tables")?;
        }
        Ok(Self {
            conn,
            list_id,
            confirmed,
            batch: 0,
        })
    }

    async fn apply(
        &mut self,
        rows: &[&ImportRow],
        now: i64,
    ) -> anyhow::Result<(u64, Vec<Duplicate>)> {
        if rows.is_empty() {
            return Ok((0, Vec::new()));
        }
        self.batch += 1;
        let batch = self.batch;
        let mut tx = self
            .conn
            .begin()
            .await
            .context("starting import transaction")?;

        let mut copy = tx
            .copy_in_raw(
                "COPY import_batch (email, name, left_status, line, secret) FROM STDIN (FORMAT csv)",
            )
            .await
            .context("starting the COPY of an import batch")?;
        copy.send(csv_rows(rows, new_secret).into_bytes())
            .await
            .context("copying an import batch")?;
        copy.finish()
            .await
            .context("finishing the COPY of an import batch")?;

        // The first line of each address wins, within the batch and across batches.
        let staged = sqlx::query(
            "INSERT INTO import_rows (email, name, left_status, line, secret, batch)
             SELECT DISTINCT ON (email) email, name, left_status, line, secret, $1
             FROM import_batch ORDER BY email, line
             ON CONFLICT (email) DO NOTHING",
        )
        .bind(batch)
        .execute(&mut *tx)
        .await
        .context("staging import rows")?
        .rows_affected();
        // Every row staged: no address repeats, and no join to find which.
        let repeats: Vec<(i64, i64)> = if staged == rows.len() as u64 {
            Vec::new()
        } else {
            sqlx::query_as(
                "SELECT b.line, r.line FROM import_batch b JOIN import_rows r ON r.email = b.email
                 WHERE r.line <> b.line",
            )
            .fetch_all(&mut *tx)
            .await
            .context("finding repeated addresses")?
        };
        let first_lines: std::collections::HashMap<i64, i64> = repeats.into_iter().collect();
        let duplicates = rows
            .iter()
            .filter_map(|row| {
                let line = i64::try_from(row.line).ok()?;
                first_lines.get(&line).map(|first| duplicate(row, *first))
            })
            .collect();

        let params = BatchParams::new(now, batch, self.list_id, self.confirmed);
        let sql = BatchSql::new("i.batch = $2", "i.secret");
        let created: i64 = bind_batch!(
            sqlx::query_scalar(sqlx::AssertSqlSafe(new_readers(&sql))),
            params
        )
        .fetch_one(&mut *tx)
        .await
        .context("storing subscribers and new readers' subscriptions")?;
        let mut stored = u64::try_from(created).unwrap_or_default();
        // Some addresses were known: their subscriptions may need adding, confirming or keeping.
        // A statement of its own, so that it sees readers another session added meanwhile.
        if stored < staged {
            stored += bind_batch!(
                sqlx::query(sqlx::AssertSqlSafe(sql.subscriptions())),
                params
            )
            .execute(&mut *tx)
            .await
            .context("storing subscriptions")?
            .rows_affected();
        }
        sqlx::query("TRUNCATE import_batch")
            .execute(&mut *tx)
            .await
            .context("clearing the import batch")?;
        tx.commit().await.context("committing import batch")?;
        Ok((stored, duplicates))
    }
}

/// Stores the batch's subscribers and subscribes those it created, evaluating to how many it
/// created. A reader this statement creates has no subscription yet: theirs is a plain INSERT
/// from the ids the subscribers' INSERT returns, with neither the upsert's extra index probe nor
/// a join that reads all of `subscribers`.
fn new_readers(sql: &BatchSql) -> String {
    // `xmax = 0`: a row the upsert inserted, not one it updated (PostgreSQL's own marker).
    format!(
        "WITH written AS ({subscribers} RETURNING id, email, xmax = 0 AS created),
         fresh AS ({fresh} RETURNING 1)
         SELECT COUNT(*) FROM fresh",
        subscribers = sql.subscribers(),
        fresh = sql.new_subscriptions(
            "written w JOIN import_rows i ON i.email = w.email",
            "w.id",
            "AND w.created"
        ),
    )
}

/// The batch as COPY's CSV: every text quoted (a quoted empty string is text, an unquoted empty
/// field is NULL). Each row brings its new subscription's unsubscribe secret from `secret`: made
/// here, 128 random bits cost the server less than `gen_random_uuid()` per row.
fn csv_rows(rows: &[&ImportRow], mut secret: impl FnMut() -> String) -> String {
    let mut out = String::with_capacity(rows.len() * 48);
    for row in rows {
        quoted(&mut out, Some(row.email.as_str()));
        out.push(',');
        quoted(&mut out, row.name.as_ref().map(|name| name.as_str()));
        out.push(',');
        quoted(&mut out, row.left.map(|status| status.as_str()));
        out.push(',');
        out.push_str(&row.line.to_string());
        out.push(',');
        out.push_str(&secret());
        out.push('\n');
    }
    out
}

fn quoted(out: &mut String, value: Option<&str>) {
    if let Some(value) = value {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EmailAddress, SubscriberName};

    #[test]
    fn copy_rows_quote_text_and_leave_missing_values_null() {
        let rows = [ImportRow {
            line: 7,
            email: EmailAddress::parse("a@example.org").expect("address"),
            name: Some(SubscriberName::parse("Ann \"Quote\", Jr").expect("name")),
            left: None,
        }];
        assert_eq!(
            csv_rows(&rows.iter().collect::<Vec<_>>(), || "0f".repeat(16)),
            "\"a@example.org\",\"Ann \"\"Quote\"\", Jr\",,7,0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\n"
        );
    }
}
