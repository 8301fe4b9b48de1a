//! Log output on stderr: `RUST_LOG` if set, else the level the command line asked for.

use tracing_subscriber::EnvFilter;

/// Installs the process-wide subscriber. `default_level` is used when `RUST_LOG` is not set.
pub fn init(default_level: &str) {
    // tokio-cron-scheduler narrates its own start-up at info; only its problems matter here.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{default_level},tokio_cron_scheduler=warn,sqlx::postgres::notice=warn"
        ))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Plain lines under systemd: journald adds its own time and colour.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
