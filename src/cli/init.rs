//! `herald init`: a starter settings file and an empty, migrated database.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::app::App;
use crate::cli::Output;
use crate::settings::{Settings, DEFAULT_CONFIG_FILE};

/// The example settings, every key with its default, compiled in so `init` needs no other file.
pub const STARTER_CONFIG: &str = include_str!("../../config/herald.example.toml");

pub async fn run(
    settings: Settings,
    config: Option<&Path>,
    output: &mut Output<'_>,
) -> anyhow::Result<()> {
    let path = config.unwrap_or(Path::new(DEFAULT_CONFIG_FILE));
    let written = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(mut file) => {
            file.write_all(STARTER_CONFIG.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            true
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(error) => return Err(error).with_context(|| format!("creating {}", path.display())),
    };
    // Printed and in --json: never with the password a PostgreSQL URL may carry.
    let database = crate::store::redact_url(&settings.database.url);
    App::build(settings).await?;
    if output.json {
        return output.print_json(&serde_json::json!({
            "config": path.display().to_string(),
            "config_written": written,
            "database": database,
        }));
    }
    if written {
        writeln!(output.out, "wrote {}", path.display())?;
    } else {
        writeln!(
            output.out,
            "{} already exists; left it unchanged",
            path.display()
        )?;
    }
    writeln!(output.out, "database ready: {database}")?;
    Ok(())
}
