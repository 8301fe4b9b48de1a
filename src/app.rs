//! The application context every command and worker shares: settings, the database and the clock.

use std::sync::Arc;

use crate::store::Pool;
use anyhow::Context;

use crate::clock::{self, SharedClock};
use crate::metrics::Metrics;
use crate::settings::Settings;
use crate::store;

#[derive(Debug, Clone)]
pub struct App {
    pub settings: Settings,
    pub pool: Pool,
    pub clock: SharedClock,
    pub metrics: Arc<Metrics>,
}

impl App {
    /// The name this process claims rows under: the node and its process id, so that two
    /// processes on one node (the daemon and an admin's `digest send`) never renew each other's
    /// leases.
    pub fn claimant(&self) -> String {
        format!("{}:{}", self.settings.database.node, std::process::id())
    }

    /// Opens (creating if missing) and migrates the database named in the settings.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, clock::system()).await
    }

    /// Opens the database named in the settings only if it exists: for commands that only read,
    /// where a mistyped path must be an error, not a new empty database.
    pub async fn build_existing(settings: Settings) -> anyhow::Result<Self> {
        Self::open(settings, clock::system(), false).await
    }

    pub async fn build_with_clock(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        Self::open(settings, clock, true).await
    }

    async fn open(settings: Settings, clock: SharedClock, create: bool) -> anyhow::Result<Self> {
        let pool = store::connect(&settings.database.url, create)
            .await
            .with_context(|| {
                format!(
                    "opening database {}",
                    crate::store::redact_url(&settings.database.url)
                )
            })?;
        Ok(Self {
            settings,
            pool,
            clock,
            metrics: Arc::new(Metrics::default()),
        })
    }
}
