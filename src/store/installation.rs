//! This installation's random identity (see the `installation` table).

use crate::store::Pool;
use anyhow::Context;
use tracing::instrument;

#[instrument(skip_all)]
pub async fn id(pool: &Pool) -> anyhow::Result<String> {
    sqlx::query_scalar("SELECT id FROM installation LIMIT 1")
        .fetch_one(pool)
        .await
        .context("reading the installation id")
}
