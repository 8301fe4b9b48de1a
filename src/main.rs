//! The `herald` binary: parse arguments, set up logging, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use herald::cli::{self, Cli};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // tokio-cron-scheduler narrates its own start-up at info; only its problems matter here.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!("{},tokio_cron_scheduler=warn", cli.log_level()))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Plain lines under systemd: journald adds its own time and colour.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();

    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| {
            runtime.block_on(async {
                let settings = cli.settings()?;
                let mut out = std::io::stdout().lock();
                let mut err = std::io::stderr();
                cli::run(cli, settings, &mut out, &mut err).await
            })
        });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`| head`, a closed pager): nothing went wrong.
        Err(error) if herald::error::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            match herald::store::in_plain_words(&error) {
                Some(meaning) => eprintln!("error: {error}: {meaning}"),
                None => eprintln!("error: {error:#}"),
            }
            ExitCode::from(herald::error::exit_code(&error) as u8)
        }
    }
}
