//! Counts for `/metrics` and `/healthz`: what the database holds, never who.

use anyhow::Context;
use tracing::instrument;

use crate::store::Pool;

/// Rows of one table in one state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StateCount {
    pub status: String,
    pub count: i64,
}

/// One list's subscriptions in one state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListStateCount {
    pub list: String,
    pub status: String,
    pub count: i64,
}

/// Feeds by how their last poll went.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct FeedStates {
    pub ok: i64,
    pub failing: i64,
    pub never_polled: i64,
}

/// When a list last finished sending an edition (seconds since the epoch).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LastSend {
    pub list: String,
    pub at: i64,
}

/// Deliveries of unfinished editions that one node (and process) claimed, in one state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NodeStateCount {
    pub node: String,
    pub status: String,
    pub count: i64,
}

#[instrument(skip_all)]
pub async fn editions_by_state(pool: &Pool) -> anyhow::Result<Vec<StateCount>> {
    sqlx::query_as("SELECT status, COUNT(*) AS count FROM editions GROUP BY status ORDER BY status")
        .fetch_all(pool)
        .await
        .context("counting editions")
}

#[instrument(skip_all)]
pub async fn deliveries_by_state(pool: &Pool) -> anyhow::Result<Vec<StateCount>> {
    sqlx::query_as(
        "SELECT status, COUNT(*) AS count FROM deliveries GROUP BY status ORDER BY status",
    )
    .fetch_all(pool)
    .await
    .context("counting deliveries")
}

#[instrument(skip_all)]
pub async fn subscriptions_by_list(pool: &Pool) -> anyhow::Result<Vec<ListStateCount>> {
    sqlx::query_as(
        "SELECT l.slug AS list, s.status, COUNT(*) AS count
         FROM subscriptions s JOIN lists l ON l.id = s.list_id
         GROUP BY l.slug, s.status ORDER BY l.slug, s.status",
    )
    .fetch_all(pool)
    .await
    .context("counting subscriptions")
}

#[instrument(skip_all)]
pub async fn feed_states(pool: &Pool) -> anyhow::Result<FeedStates> {
    sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE last_polled_at IS NOT NULL AND last_error IS NULL) AS ok,
                COUNT(*) FILTER (WHERE last_error IS NOT NULL) AS failing,
                COUNT(*) FILTER (WHERE last_polled_at IS NULL AND last_error IS NULL)
                    AS never_polled
         FROM feeds",
    )
    .fetch_one(pool)
    .await
    .context("counting feeds")
}

#[instrument(skip_all)]
pub async fn last_sends(pool: &Pool) -> anyhow::Result<Vec<LastSend>> {
    sqlx::query_as(
        "SELECT l.slug AS list, MAX(e.completed_at) AS at
         FROM editions e JOIN lists l ON l.id = e.list_id
         WHERE e.status = 'sent' AND e.completed_at IS NOT NULL GROUP BY l.slug ORDER BY l.slug",
    )
    .fetch_all(pool)
    .await
    .context("reading the last sends")
}

#[instrument(skip_all)]
pub async fn node_deliveries(pool: &Pool) -> anyhow::Result<Vec<NodeStateCount>> {
    sqlx::query_as(
        "SELECT d.claimed_by AS node, d.status, COUNT(*) AS count FROM deliveries d
         JOIN editions e ON e.id = d.edition_id
         WHERE e.status IN ('ready', 'sending') AND d.claimed_by IS NOT NULL
           AND d.status IN ('sending', 'sent', 'failed')
         GROUP BY d.claimed_by, d.status ORDER BY d.claimed_by, d.status",
    )
    .fetch_all(pool)
    .await
    .context("counting each node's deliveries")
}
