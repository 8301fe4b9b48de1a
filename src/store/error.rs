//! What a caller may branch on when the store says no: the thing asked for is not there, or it
//! is there already. Both are the caller's to fix (exit 2, HTTP 404 or 409); a busy database
//! is worth asking again (503), and anything else is the database failing (exit 1, 500).

pub use crate::error::StoreError;

/// What a failed store call means for the one who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    NotFound,
    Conflict,
    /// Another process held the database past the busy timeout: the same call may succeed.
    Busy,
    /// The database (or the disk under it) failed.
    Database,
}

impl Failure {
    pub fn of(error: &anyhow::Error) -> Self {
        match StoreError::in_chain(error) {
            Some(StoreError::NotFound(_)) => Self::NotFound,
            Some(StoreError::Conflict(_)) => Self::Conflict,
            None if super::is_busy(error) => Self::Busy,
            None => Self::Database,
        }
    }
}
