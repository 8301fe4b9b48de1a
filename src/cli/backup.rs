//! `herald backup FILE`: a consistent copy of the database while the daemon runs.

use std::path::Path;

use crate::app::App;
use crate::cli::Output;
use crate::error::BadInput;
use crate::store;

pub async fn run(app: &App, file: &Path, output: &mut Output<'_>) -> anyhow::Result<()> {
    if file.exists() {
        return Err(BadInput(format!(
            "{} already exists: a backup never overwrites a file",
            file.display()
        ))
        .into());
    }
    let copied = store::backup::copy_to(&app.pool, file).await?;
    if output.json {
        return output.print_json(&copied);
    }
    writeln!(
        output.out,
        "backed up to {} ({} bytes, integrity checked, schema {})",
        file.display(),
        copied.bytes,
        copied.schema_version
    )?;
    Ok(())
}
