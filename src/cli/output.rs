//! Where a command writes: results to `out`, diagnostics and progress to `err`.

use std::io::Write;

use serde::Serialize;

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
