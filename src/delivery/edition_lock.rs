//! On SQLite one process sends an edition at a time: an OS file lock beside the database,
//! released by the kernel when the process dies, so rows still `sending` when it is taken belong
//! to a dead process and may be sent again at once. A lease row could not tell a dead process
//! from a slow one without waiting for the lease; the kernel knows.
//!
//! On PostgreSQL there is no file to lock and no single process: nodes share an edition row by
//! row, through the claims' leases (`store::deliveries::claim`).

use std::path::PathBuf;

use anyhow::Context;

use crate::app::App;
use crate::store::Backend;

/// Holds the edition's send lock for as long as it lives.
pub struct EditionLock {
    held: Option<(std::fs::File, PathBuf)>,
}

impl EditionLock {
    pub fn acquire(app: &App, edition_id: i64) -> anyhow::Result<Self> {
        let Some(path) = lock_path(app, edition_id)? else {
            return Ok(Self { held: None });
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Self {
                held: Some((file, path)),
            }),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "edition {edition_id} is being sent by another herald process; it will finish it"
            ),
            Err(std::fs::TryLockError::Error(error)) => {
                Err(error).with_context(|| format!("locking {}", path.display()))
            }
        }
    }

    /// A finished edition needs no lock any more: remove its file (still holding the lock, so
    /// no other process is in the middle of it) rather than keep one file per edition forever.
    pub fn release_finished(self) {
        if let Some((file, path)) = self.held {
            let _ = std::fs::remove_file(&path);
            drop(file);
        }
    }
}

fn lock_path(app: &App, edition_id: i64) -> anyhow::Result<Option<PathBuf>> {
    if Backend::of_url(&app.settings.database.url) == Backend::Postgres {
        return Ok(None);
    }
    let options = crate::store::connect_options(&app.settings.database.url)?;
    let database = options.get_filename();
    if database.as_os_str().is_empty() || database.to_string_lossy().contains(":memory:") {
        return Ok(None);
    }
    let mut dir = database.as_os_str().to_owned();
    dir.push(".locks");
    Ok(Some(
        PathBuf::from(dir).join(format!("edition-{edition_id}.lock")),
    ))
}
