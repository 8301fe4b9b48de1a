//! The order in which one run's writers touch the database: on SQLite its claims, its lease
//! renewals and its recorder's group commits take turns here, which is faster than SQLite's
//! busy handler (it sleeps for milliseconds). PostgreSQL locks rows, and the run's writers
//! never wait for each other's (claims and renewals skip rows that are locked, and each
//! outcome is recorded once): a claim goes while outcomes are being committed.

use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard};

use crate::store::Backend;

/// One run's turn at writing; cloned to every writer of the run.
#[derive(Clone)]
pub struct WriteTurn(Option<Arc<Mutex<()>>>);

impl WriteTurn {
    pub fn for_backend(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self(Some(Arc::default())),
            Backend::Postgres => Self(None),
        }
    }

    /// Waits for this writer's turn; the turn ends when the guard is dropped.
    pub async fn take(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.0 {
            Some(turn) => Some(turn.lock().await),
            None => None,
        }
    }
}
