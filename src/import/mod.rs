//! Bulk input: subscribers from CSV, stories from JSON. Each reports rejected records as
//! `SOURCE:LINE: reason` and stores the valid ones.

pub mod stories_json;
pub mod subscribers_csv;

use std::io::Write;

/// One refused record and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based line in the input; 0 when the reason itself says where (an array item).
    pub line: u64,
    pub reason: String,
}

pub(crate) fn report_rejections(
    source: &str,
    rejections: &mut [Rejection],
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    rejections.sort_by_key(|rejection| rejection.line);
    for rejection in rejections.iter() {
        match rejection.line {
            0 => writeln!(out, "{source}: {}", rejection.reason)?,
            line => writeln!(out, "{source}:{line}: {}", rejection.reason)?,
        }
    }
    Ok(())
}
