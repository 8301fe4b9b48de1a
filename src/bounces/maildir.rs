//! Reading reports from a Maildir (the bounce address delivered to a local mailbox). Each
//! message in `new/` and `cur/` is read once per daemon run; a bounce or complaint report about
//! one of Herald's deliveries is removed once it is stored (the database keeps it), anything
//! else is left exactly where it was.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use tracing::warn;

use crate::app::App;
use crate::bounces::ingest::{ingest, MAX_KEPT_BYTES};
use crate::bounces::verp::Verp;
use crate::bounces::{Mailbox, MailboxPoll};

/// Remembers what was read and left, so it is not read again every poll.
#[derive(Debug, Default)]
pub struct Maildir {
    dir: PathBuf,
    examined: HashSet<OsString>,
}

impl Maildir {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            examined: HashSet::new(),
        }
    }
}

impl Mailbox for Maildir {
    fn kind(&self) -> &'static str {
        "Maildir"
    }

    /// Reads every message not read before. A database failure stops the poll with the
    /// message untouched, for the next poll.
    async fn poll(&mut self, app: &App, verp: Option<&Verp>) -> anyhow::Result<MailboxPoll> {
        let mut poll = MailboxPoll::default();
        for sub in ["new", "cur"] {
            let dir = self.dir.join(sub);
            let entries = std::fs::read_dir(&dir)
                .with_context(|| format!("reading the bounce Maildir {}", dir.display()))?;
            for entry in entries {
                let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
                let name = entry.file_name();
                if self.examined.contains(&name) || name.to_string_lossy().starts_with('.') {
                    continue;
                }
                let path = entry.path();
                let raw = match read_bounded(&path) {
                    Ok(raw) => raw,
                    Err(error) => {
                        // Gone meanwhile (another reader moved it), or unreadable: not ours.
                        warn!(
                            "skipping {}: {}",
                            path.display(),
                            crate::error::OneLine(&error)
                        );
                        self.examined.insert(name);
                        continue;
                    }
                };
                let ingested = ingest(app, verp, &raw, "maildir", None).await?;
                if ingested.is_ours() {
                    std::fs::remove_file(&path)
                        .with_context(|| format!("removing {}", path.display()))?;
                    poll.removed += 1;
                } else {
                    self.examined.insert(name);
                    poll.left += 1;
                }
            }
        }
        Ok(poll)
    }
}

fn read_bounded(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut raw = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_KEPT_BYTES as u64)
        .read_to_end(&mut raw)?;
    Ok(raw)
}
