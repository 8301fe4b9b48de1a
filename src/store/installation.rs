//! This installation's random identity (see the `installation` table).

use anyhow::Context;
use sqlx::SqlitePool;
use tracing::instrument;

#[instrument(skip_all)]
pub async fn id(pool: &SqlitePool) -> anyhow::Result<String> {
    sqlx::query_scalar("SELECT id FROM installation LIMIT 1")
        .fetch_one(pool)
        .await
        .context("reading the installation id")
}
