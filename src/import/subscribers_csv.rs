//! `subscriber import`: a CSV file with a header row naming an `email` and optionally a `name`
//! column, in any order; other columns are ignored.
//!
//! A blocking thread parses the file into batches while the async side stores the previous batch,
//! so parsing and SQLite work overlap; the bounded channel keeps memory flat whatever the size.

use std::io::{Read, Write};

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use tokio::sync::mpsc;

use crate::domain::{EmailAddress, SubscriberName};
use crate::error::BadInput;
use crate::import::{report_rejections, Rejection};
use crate::store::import::{ImportRow, ImportSession};

const BATCH_ROWS: usize = 5_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// Data rows read (the header not counted).
    pub rows: u64,
    /// Subscriptions added, or confirmed by a `--confirmed` import.
    pub stored: u64,
    /// Valid rows that were already on the list as they are.
    pub unchanged: u64,
    pub rejected: u64,
}

pub struct CsvImport<'a> {
    /// How rejected rows name the input: the file path, or `stdin`.
    pub source: &'a str,
    pub list_id: i64,
    pub confirmed: bool,
    pub now: DateTime<Utc>,
}

struct Batch {
    rows: Vec<ImportRow>,
    rejections: Vec<Rejection>,
    bytes_read: u64,
}

/// Imports every valid row, writing each rejected one to `rejections`. Fails only when the input
/// as a whole is unusable (unreadable, no `email` column); rows stored before such a failure stay.
pub async fn import(
    pool: &SqlitePool,
    job: CsvImport<'_>,
    input: Box<dyn Read + Send>,
    rejections: &mut dyn Write,
    on_progress: &dyn Fn(u64, u64),
) -> anyhow::Result<ImportReport> {
    let (sender, mut receiver) = mpsc::channel::<anyhow::Result<Batch>>(2);
    let source = job.source.to_string();
    let parser = tokio::task::spawn_blocking(move || parse(&source, input, &sender));

    let mut session = ImportSession::start(pool, job.list_id, job.confirmed).await?;
    let mut report = ImportReport::default();
    while let Some(batch) = receiver.recv().await {
        let mut batch = batch?;
        let valid = batch.rows.len() as u64;
        report.rows += valid + batch.rejections.len() as u64;
        let (stored, duplicates) = session.apply(&batch.rows, job.now).await?;
        report.stored += stored;
        report.unchanged += valid.saturating_sub(stored + duplicates.len() as u64);
        batch
            .rejections
            .extend(duplicates.into_iter().map(|duplicate| Rejection {
                line: duplicate.line,
                reason: format!(
                    "duplicate address {} (first seen on line {})",
                    duplicate.email, duplicate.first_line
                ),
            }));
        report.rejected += batch.rejections.len() as u64;
        report_rejections(job.source, &mut batch.rejections, rejections)?;
        on_progress(batch.bytes_read, report.rows);
    }
    session.finish().await?;
    parser.await.context("CSV parser thread failed")?;
    Ok(report)
}

fn parse(source: &str, input: Box<dyn Read + Send>, sender: &mpsc::Sender<anyhow::Result<Batch>>) {
    if let Err(error) = parse_batches(source, input, sender) {
        // The receiver may be gone if storing failed first; that error is the one reported.
        let _ = sender.blocking_send(Err(error));
    }
}

fn parse_batches(
    source: &str,
    input: Box<dyn Read + Send>,
    sender: &mpsc::Sender<anyhow::Result<Batch>>,
) -> anyhow::Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input);
    let headers = reader
        .byte_headers()
        .map_err(|error| BadInput(format!("{source}:1: cannot read the header row: {error}")))?
        .clone();
    let columns = Columns::find(source, &headers)?;

    let mut record = csv::ByteRecord::new();
    let mut batch = Batch {
        rows: Vec::with_capacity(BATCH_ROWS),
        rejections: Vec::new(),
        bytes_read: 0,
    };
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|error| {
            let line = error.position().map_or(0, csv::Position::line);
            BadInput(format!("{source}:{line}: cannot read CSV: {error}"))
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, csv::Position::line);
        if record
            .iter()
            .all(|field| field.iter().all(u8::is_ascii_whitespace))
        {
            continue;
        }
        match columns.row(&record, line) {
            Ok(row) => batch.rows.push(row),
            Err(reason) => batch.rejections.push(Rejection { line, reason }),
        }
        if batch.rows.len() + batch.rejections.len() >= BATCH_ROWS {
            batch.bytes_read = record.position().map_or(0, csv::Position::byte);
            let full = std::mem::replace(
                &mut batch,
                Batch {
                    rows: Vec::with_capacity(BATCH_ROWS),
                    rejections: Vec::new(),
                    bytes_read: 0,
                },
            );
            if sender.blocking_send(Ok(full)).is_err() {
                return Ok(());
            }
        }
    }
    batch.bytes_read = reader.position().byte();
    let _ = sender.blocking_send(Ok(batch));
    Ok(())
}

struct Columns {
    email: usize,
    name: Option<usize>,
}

impl Columns {
    fn find(source: &str, headers: &csv::ByteRecord) -> Result<Self, BadInput> {
        let names: Vec<String> = headers
            .iter()
            .map(|raw| {
                String::from_utf8_lossy(raw)
                    .trim_start_matches('\u{feff}')
                    .trim()
                    .to_lowercase()
            })
            .collect();
        let position = |wanted: &str| names.iter().position(|name| name == wanted);
        match position("email") {
            Some(email) => Ok(Self {
                email,
                name: position("name"),
            }),
            None => Err(BadInput(format!(
                "{source}:1: the header row has no \"email\" column (found: {})",
                names.join(",")
            ))),
        }
    }

    fn row(&self, record: &csv::ByteRecord, line: u64) -> Result<ImportRow, String> {
        let text = |index: usize, column: &str| -> Result<&str, String> {
            let raw = record.get(index).unwrap_or_default();
            std::str::from_utf8(raw).map_err(|_| {
                format!(
                    "the {column} column is not valid UTF-8: {:?} (save the file as UTF-8)",
                    String::from_utf8_lossy(raw)
                )
            })
        };
        let raw_email = text(self.email, "email")?;
        if raw_email.trim().is_empty() {
            return Err("no email address".into());
        }
        let email = EmailAddress::parse(raw_email).map_err(|error| error.to_string())?;
        let name = match self.name {
            Some(index) => SubscriberName::parse(crate::domain::text::from_spreadsheet_safe(text(
                index, "name",
            )?)),
            None => None,
        };
        Ok(ImportRow { line, email, name })
    }
}
