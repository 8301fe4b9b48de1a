//! The order in which one run's writers touch the database: its claims, its lease renewals and
//! its recorder's group commits take turns here. On SQLite that is faster than its busy
//! handler, which sleeps for milliseconds; on PostgreSQL it keeps a renewal and a record that
//! lock the same rows in different orders from deadlocking.

use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard};

/// One run's turn at writing; cloned to every writer of the run.
#[derive(Clone, Default)]
pub struct WriteTurn(Arc<Mutex<()>>);

impl WriteTurn {
    /// Waits for this writer's turn; the turn ends when the guard is dropped.
    pub async fn take(&self) -> MutexGuard<'_, ()> {
        self.0.lock().await
    }
}
