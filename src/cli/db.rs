//! `herald db copy --to URL`: move an install from SQLite to PostgreSQL, or back.

use clap::Subcommand;

use crate::app::App;
use crate::cli::Output;
use crate::store::{self, redact_url};

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Copy every row of this database into an empty one (SQLite <-> PostgreSQL), then check
    /// the row counts. The target is created and migrated if need be; one with data is refused.
    /// Stop the daemon first: rows written during the copy are not in it.
    Copy {
        /// The target: postgres://USER@HOST/DB or sqlite://FILE.
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

pub async fn run(app: &App, cmd: Cmd, output: &mut Output<'_>) -> anyhow::Result<()> {
    let Cmd::Copy { to } = cmd;
    if to.trim_start_matches("sqlite://")
        == app.settings.database.url.trim_start_matches("sqlite://")
    {
        return Err(crate::error::BadInput(
            "db copy --to names the database herald is using: give another one".into(),
        )
        .into());
    }
    let target = store::connect(&to, true).await?;
    let copied = store::copy::copy(&app.pool, &target).await;
    target.close().await;
    let copied = copied?;
    if output.json {
        return output.print_json(&copied);
    }
    let total: i64 = copied.iter().map(|table| table.rows).sum();
    for table in &copied {
        writeln!(output.out, "{:<16} {:>10} rows", table.table, table.rows)?;
    }
    writeln!(
        output.out,
        "copied {total} rows into {}: every table's row count checked",
        redact_url(&to)
    )?;
    Ok(())
}
