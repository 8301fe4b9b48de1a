//! A consistent copy of the live database: SQLite's `VACUUM INTO` reads one snapshot (WAL
//! readers never block the daemon's writers, nor wait for them) and writes a compact file,
//! which is then reopened and checked before it is called a backup.

use std::path::Path;

use crate::store::Pool;
use anyhow::Context;
use serde::Serialize;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection as _, SqliteConnection};

use crate::error::BadInput;

#[derive(Debug, Clone, Serialize)]
pub struct Backup {
    pub file: String,
    pub bytes: u64,
    /// The last migration the copy carries.
    pub schema_version: i64,
}

pub async fn copy_to(pool: &Pool, file: &Path) -> anyhow::Result<Backup> {
    let target = file
        .to_str()
        .ok_or_else(|| BadInput(format!("{}: not a UTF-8 path", file.display())))?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(pool)
        .await
        .with_context(|| format!("copying the database into {}", file.display()))?;
    let verified = verify(file).await;
    if verified.is_err() {
        let _ = std::fs::remove_file(file);
    }
    let schema_version = verified?;
    let bytes = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    Ok(Backup {
        file: target.to_string(),
        bytes,
        schema_version,
    })
}

/// Reopens the copy read-only: SQLite's integrity check must pass and the schema be there.
async fn verify(file: &Path) -> anyhow::Result<i64> {
    let options = SqliteConnectOptions::new().filename(file).read_only(true);
    let mut copy = SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("reopening the backup {}", file.display()))?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut copy)
        .await
        .context("checking the backup's integrity")?;
    anyhow::ensure!(
        integrity == "ok",
        "the backup {} failed SQLite's integrity check: {integrity}",
        file.display()
    );
    let version: i64 =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut copy)
            .await
            .context("reading the backup's schema version")?;
    copy.close().await.ok();
    Ok(version)
}
