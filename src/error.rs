//! The kinds of failure callers tell apart: bad input from the user and the store's refusals
//! (exit 2; HTTP 404 or 409), a temporary failure (exit 75), and everything else (exit 1).

/// Input that was refused: a malformed value, an unknown name, a rejected row. The message names
/// the offending value and where it came from.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

impl BadInput {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// A refusal the store raises itself, carried in an `anyhow` chain with its context; it lives
/// here, below the store, so that the exit code can tell it without the store being imported.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No list, feed or subscription of that name.
    #[error("{0}")]
    NotFound(String),
    /// The list or feed exists already.
    #[error("{0}")]
    Conflict(String),
}

impl StoreError {
    /// The store's refusal somewhere in `error`'s chain, under whatever context was added.
    pub fn in_chain(error: &anyhow::Error) -> Option<&Self> {
        error.chain().find_map(|cause| cause.downcast_ref::<Self>())
    }
}

/// A failure the caller (an MTA piping a report in) should retry later: sysexits'
/// EX_TEMPFAIL. Nothing was stored.
#[derive(Debug, thiserror::Error)]
#[error("not stored; try again later")]
pub struct TempFail;

/// sysexits.h EX_TEMPFAIL.
pub const EX_TEMPFAIL: i32 = 75;

/// Exit code for a failed run: 75 for a temporary failure an MTA retries, 2 when any error in
/// the chain is bad input or the store's refusal (no such list, one exists already), else 1.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    // Added as context, TempFail is found by downcasting the error itself, not in its chain.
    if error.downcast_ref::<TempFail>().is_some()
        || error.chain().any(|cause| cause.is::<TempFail>())
    {
        EX_TEMPFAIL
    } else if error
        .chain()
        .any(|cause| cause.is::<BadInput>() || cause.is::<StoreError>())
    {
        2
    } else {
        1
    }
}

/// Whether the failure is only that the reader of our output went away (`herald ... | head`).
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<csv::Error>()
                .is_some_and(|csv| matches!(csv.kind(), csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe))
    })
}

/// An error and its causes on one line, as `{:#}` gives them, except that a database's error is
/// told once, by its message and code: sqlx's error repeats it as its own cause, and
/// PostgreSQL's adds the line of the *server's* source file it came from ("at line 3211"), which
/// beside a CSV import reads as a line of the file.
pub struct OneLine<'a>(pub &'a anyhow::Error);

impl std::fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, cause) in self.0.chain().enumerate() {
            if index > 0 {
                f.write_str(": ")?;
            }
            if let Some(sqlx::Error::Database(database)) = cause.downcast_ref::<sqlx::Error>() {
                write!(f, "the database said: {}", database.message())?;
                if let Some(code) = database.code() {
                    write!(f, " (code {code})")?;
                }
                return Ok(());
            }
            write!(f, "{cause}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;
    use sqlx::Connection as _;

    #[tokio::test]
    async fn a_database_error_is_told_once_with_its_code() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        let error = sqlx::query("INSERT INTO missing VALUES (1)")
            .execute(&mut conn)
            .await
            .context("storing subscribers")
            .expect_err("no such table");
        assert_eq!(
            OneLine(&error).to_string(),
            "storing subscribers: the database said: no such table: missing (code 1)"
        );
        // What `{:#}` says, for comparison: the driver's message twice.
        assert_eq!(format!("{error:#}").matches("no such table").count(), 2);
    }
}
