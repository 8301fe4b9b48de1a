//! The two kinds of failure the command line tells apart: bad input from the user (exit 2) and
//! everything else (exit 1).

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

/// A failure the caller (an MTA piping a report in) should retry later: sysexits'
/// EX_TEMPFAIL. Nothing was stored.
#[derive(Debug, thiserror::Error)]
#[error("not stored; try again later")]
pub struct TempFail;

/// sysexits.h EX_TEMPFAIL.
pub const EX_TEMPFAIL: i32 = 75;

/// Exit code for a failed run: 75 for a temporary failure an MTA retries, 2 when any error in
/// the chain is bad input, else 1.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    // Added as context, TempFail is found by downcasting the error itself, not in its chain.
    if error.downcast_ref::<TempFail>().is_some()
        || error.chain().any(|cause| cause.is::<TempFail>())
    {
        EX_TEMPFAIL
    } else if error.chain().any(|cause| cause.is::<BadInput>()) {
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
