//! `subscriber import`: a CSV file with a header row naming an `email` and optionally a `name`
//! column, in any order; other columns are ignored.
//!
//! A blocking thread parses the file into batches while the async side stores the previous batch,
//! so parsing and SQLite work overlap; the bounded channel keeps memory flat whatever the size.

use std::io::{BufRead, Read, Write};

use crate::store::Pool;
use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::domain::{EmailAddress, SubscriberName, SubscriptionStatus};
use crate::error::BadInput;
use crate::import::{report_rejections, Rejection};
use crate::store::import::{ImportRow, ImportSession};

/// Rows per write transaction: large enough that each index page a batch touches is written
/// once per batch rather than once per few rows, small enough (about a second) that the daemon's
/// writes get their turn between batches.
const BATCH_ROWS: usize = 100_000;

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
    pool: &Pool,
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
    let mut emit = |batch| sender.blocking_send(Ok(batch)).is_ok();
    if let Err(error) = parse_batches(source, input, &mut emit) {
        // The receiver may be gone if storing failed first; that error is the one reported.
        let _ = sender.blocking_send(Err(error));
    }
}

/// The longest line a row may take; a longer one is reported and skipped without being held in
/// memory (a file with no line breaks at all cannot grow memory without limit).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// How many more lines a quoted value may run onto ("Street\nCity"): a quote still open after
/// them is a stray one.
const MAX_CONTINUATION_LINES: usize = 2;

/// One line of the input, read with bounded memory.
enum Line {
    Text(Vec<u8>),
    TooLong,
}

/// The input as numbered lines, with room to put back lines read ahead.
struct Lines<R> {
    input: R,
    consumed: u64,
    number: u64,
    read_ahead: std::collections::VecDeque<(u64, Line)>,
}

impl<R: BufRead> Lines<R> {
    fn new(input: R) -> Self {
        Self {
            input,
            consumed: 0,
            number: 0,
            read_ahead: std::collections::VecDeque::new(),
        }
    }

    fn next(&mut self) -> std::io::Result<Option<(u64, Line)>> {
        if let Some(line) = self.read_ahead.pop_front() {
            return Ok(Some(line));
        }
        self.number += 1;
        Ok(self.read_line()?.map(|line| (self.number, line)))
    }

    fn put_back(&mut self, lines: Vec<(u64, Line)>) {
        for line in lines.into_iter().rev() {
            self.read_ahead.push_front(line);
        }
    }

    /// The next line without its line break, holding at most [`MAX_LINE_BYTES`] of it.
    fn read_line(&mut self) -> std::io::Result<Option<Line>> {
        let mut line = Vec::new();
        let read = (&mut self.input)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)?;
        self.consumed += read as u64;
        if read == 0 {
            return Ok(None);
        }
        if line.last() != Some(&b'\n') && line.len() > MAX_LINE_BYTES {
            // Skip the rest of this line in chunks, keeping none of it.
            loop {
                let chunk = self.input.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                let (used, done) = match chunk.iter().position(|b| *b == b'\n') {
                    Some(at) => (at + 1, true),
                    None => (chunk.len(), false),
                };
                self.input.consume(used);
                self.consumed += used as u64;
                if done {
                    break;
                }
            }
            return Ok(Some(Line::TooLong));
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        Ok(Some(Line::Text(line)))
    }

    /// The next row's text and first line number. A quote left open at the end of a line may
    /// close on one of the next [`MAX_CONTINUATION_LINES`] lines, as long as none of them holds
    /// an address (that would be the next row swallowed); otherwise the line is refused on its
    /// own and the lines after it are read as rows again.
    fn next_row(&mut self) -> std::io::Result<Option<RowText>> {
        let Some((number, first)) = self.next()? else {
            return Ok(None);
        };
        let text = match first {
            Line::TooLong => {
                return Ok(Some((
                    number,
                    Err(format!("the line is longer than {MAX_LINE_BYTES} bytes")),
                )))
            }
            Line::Text(text) => text,
        };
        if quotes_balanced(&text) {
            return Ok(Some((number, Ok(text))));
        }
        let mut joined = text;
        let mut taken = Vec::new();
        for _ in 0..MAX_CONTINUATION_LINES {
            let Some((next_number, next)) = self.next()? else {
                break;
            };
            let continues = match &next {
                Line::Text(more) if !more.contains(&b'@') => {
                    joined.push(b'\n');
                    joined.extend_from_slice(more);
                    true
                }
                _ => false,
            };
            taken.push((next_number, next));
            if !continues {
                break;
            }
            if quotes_balanced(&joined) {
                return Ok(Some((number, Ok(joined))));
            }
        }
        self.put_back(taken);
        Ok(Some((
            number,
            Err("a quote (\") is opened and never closed on this line".into()),
        )))
    }
}

/// A row's first line number, and its text or why it was refused before parsing.
type RowText = (u64, Result<Vec<u8>, String>);

fn quotes_balanced(text: &[u8]) -> bool {
    text.iter().filter(|b| **b == b'"').count() % 2 == 0
}

/// One CSV record from one row's text.
fn record_of(text: &[u8]) -> Result<csv::ByteRecord, String> {
    // Most rows hold no quote at all: their fields are what lies between the commas.
    if !text.contains(&b'"') {
        let mut record = csv::ByteRecord::new();
        for field in text.split(|b| *b == b',') {
            record.push_field(field);
        }
        return Ok(record);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut record = csv::ByteRecord::new();
    match reader.read_byte_record(&mut record) {
        Ok(_) => Ok(record),
        Err(error) => Err(format!("not a CSV row: {error}")),
    }
}

/// What an import of `input` would store and refuse, read without a database (duplicates,
/// which only the database tells, are not refused here): for the fuzz target and tests.
pub fn read_rows(
    source: &str,
    input: Box<dyn Read + Send>,
) -> anyhow::Result<(Vec<ImportRow>, Vec<Rejection>)> {
    let (mut rows, mut rejections) = (Vec::new(), Vec::new());
    parse_batches(source, input, &mut |batch| {
        rows.extend(batch.rows);
        rejections.extend(batch.rejections);
        true
    })?;
    Ok((rows, rejections))
}

/// Reads the input in batches of [`BATCH_ROWS`], handing each to `emit` until it says stop.
fn parse_batches(
    source: &str,
    input: Box<dyn Read + Send>,
    emit: &mut dyn FnMut(Batch) -> bool,
) -> anyhow::Result<()> {
    let mut lines = Lines::new(std::io::BufReader::with_capacity(256 * 1024, input));
    let unreadable = |error: std::io::Error| BadInput(format!("{source}: cannot read: {error}"));
    let headers = match lines.next_row().map_err(unreadable)? {
        Some((_, Ok(text))) => record_of(&text)
            .map_err(|reason| BadInput(format!("{source}:1: the header row: {reason}")))?,
        Some((_, Err(reason))) => {
            return Err(BadInput(format!("{source}:1: the header row: {reason}")).into())
        }
        None => {
            return Err(BadInput(format!(
                "{source}:1: the file is empty; expected a header row"
            ))
            .into())
        }
    };
    let columns = Columns::find(source, &headers)?;

    let mut batch = Batch {
        rows: Vec::with_capacity(BATCH_ROWS),
        rejections: Vec::new(),
        bytes_read: 0,
    };
    while let Some((line, text)) = lines.next_row().map_err(unreadable)? {
        let outcome = match text {
            Ok(text) if text.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(text) => record_of(&text).and_then(|record| columns.row(&record, line)),
            Err(reason) => Err(reason),
        };
        match outcome {
            Ok(row) => batch.rows.push(row),
            Err(reason) => batch.rejections.push(Rejection { line, reason }),
        }
        if batch.rows.len() + batch.rejections.len() >= BATCH_ROWS {
            batch.bytes_read = lines.consumed;
            let full = std::mem::replace(
                &mut batch,
                Batch {
                    rows: Vec::with_capacity(BATCH_ROWS),
                    rejections: Vec::new(),
                    bytes_read: 0,
                },
            );
            if !emit(full) {
                return Ok(());
            }
        }
    }
    batch.bytes_read = lines.consumed;
    emit(batch);
    Ok(())
}

struct Columns {
    email: usize,
    name: Option<usize>,
    /// An export's `status`: people it marks as left are imported as left.
    status: Option<usize>,
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
                status: position("status"),
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
                    crate::domain::text::shorten(&String::from_utf8_lossy(raw), 100)
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
        let left = match self.status {
            Some(index) => match text(index, "status")?.trim() {
                "" => None,
                raw => match SubscriptionStatus::parse(raw).map_err(|error| error.to_string())? {
                    status @ (SubscriptionStatus::Unsubscribed | SubscriptionStatus::Bounced) => {
                        Some(status)
                    }
                    SubscriptionStatus::Pending | SubscriptionStatus::Active => None,
                },
            },
            None => None,
        };
        Ok(ImportRow {
            line,
            email,
            name,
            left,
        })
    }
}
