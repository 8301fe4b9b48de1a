//! Where a command writes: results to `out`, diagnostics and progress to `err`.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

use serde::Serialize;

use crate::error::BadInput;

/// An input file named on the command line, or stdin for `-`.
pub struct Input {
    /// How diagnostics name it: the path, or `stdin`.
    pub source: String,
    pub reader: Box<dyn Read + Send>,
    /// Its size in bytes, when known (for a progress bar).
    pub size: Option<u64>,
}

impl Input {
    pub fn open(path: &Path) -> Result<Self, BadInput> {
        if path.as_os_str() == "-" {
            return Ok(Self {
                source: "stdin".into(),
                reader: Box::new(std::io::stdin()),
                size: None,
            });
        }
        let file = File::open(path)
            .map_err(|error| BadInput(format!("cannot open {}: {error}", path.display())))?;
        Ok(Self {
            source: path.display().to_string(),
            size: file.metadata().ok().map(|meta| meta.len()),
            reader: Box::new(BufReader::with_capacity(256 * 1024, file)),
        })
    }
}

pub struct Output<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    /// `--json`: print one JSON document instead of text.
    pub json: bool,
    /// stderr is a terminal: progress bars are welcome.
    pub interactive: bool,
}

impl Output<'_> {
    pub fn print_json<T: Serialize + ?Sized>(&mut self, value: &T) -> anyhow::Result<()> {
        serde_json::to_writer_pretty(&mut *self.out, value)?;
        writeln!(self.out)?;
        Ok(())
    }

    /// Prints rows as columns aligned under their headers.
    pub fn print_table(&mut self, headers: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
        let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
        for row in rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
            let padded: Vec<String> = cells
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            padded.join("  ").trim_end().to_string()
        };
        writeln!(self.out, "{}", line(&mut headers.iter().copied()))?;
        for row in rows {
            writeln!(self.out, "{}", line(&mut row.iter().map(String::as_str)))?;
        }
        Ok(())
    }
}
