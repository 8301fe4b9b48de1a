//! The `herald` command line: clap definitions and one `run` function per command group. Each
//! command takes the app and an [`Output`], so tests drive it without a process.

mod backup;
mod bounce;
mod clicks;
mod completions;
mod config;
mod db;
mod demo;
pub(crate) mod digest;
mod dkim;
mod feed;
mod init;
mod list;
mod output;
mod picks;
mod plan;
pub(crate) mod story;
mod subscriber;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::app::App;
use crate::settings::Settings;

pub use output::{Input, Output};

/// Herald: a self-hosted daily digest mailer.
///
/// Keeps subscribers and stories in SQLite and emails each list's confirmed subscribers a digest
/// of the top stories on the list's schedule. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or
/// bad input.
#[derive(Debug, Parser)]
#[command(
    name = "herald",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Settings file (TOML). Without it, ./herald.toml is read if present, else built-in defaults.
    #[arg(long, global = true, value_name = "FILE", env = "HERALD_CONFIG")]
    pub config: Option<PathBuf>,

    /// Database URL or file path; overrides database.url.
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,

    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Less log output: errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a starter herald.toml (never overwriting one) and create the database.
    Init,
    /// Manage mailing lists.
    #[command(subcommand)]
    List(list::Cmd),
    /// Manage subscribers and their subscriptions.
    #[command(subcommand)]
    Subscriber(subscriber::Cmd),
    /// Manage stories (articles and blog posts).
    #[command(subcommand)]
    Story(story::Cmd),
    /// Manage the RSS, Atom and JSON feeds stories come from.
    #[command(subcommand)]
    Feed(feed::Cmd),
    /// Preview, send and follow editions of the digest.
    #[command(subcommand)]
    Digest(digest::Cmd),
    /// Bounces and spam complaints that come back as mail: take them in, list them.
    #[command(subcommand)]
    Bounce(bounce::Cmd),
    /// Run the daemon: the schedules, their deliveries, and the web pages (subscribe, confirm,
    /// unsubscribe, archive, health, metrics). Stops cleanly on SIGTERM or Ctrl-C.
    Serve,
    /// DKIM keys: make one and the DNS record that publishes it.
    #[command(subcommand)]
    Dkim(dkim::Cmd),
    /// Check the settings and everything they point at (database, SMTP server, DKIM key).
    #[command(subcommand)]
    Config(config::Cmd),
    /// Zero-setup tour: a sample list, stories and subscribers, and a real edition delivered
    /// as .eml files into the outbox directory.
    Demo,
    /// Copy the database, consistently, while the daemon runs (checked by reopening the copy).
    /// To restore: stop the daemon, put the copy in place of the database file, start it.
    Backup {
        /// Where to write the copy; never overwritten.
        file: PathBuf,
    },
    /// Move the install to another database.
    #[command(subcommand)]
    Db(db::Cmd),
    /// Print the shell completion script (bash, zsh or fish) to stdout.
    Completions {
        #[arg(value_enum)]
        shell: completions::Shell,
    },
    /// Write the man pages (herald.1 and one per command group) into a directory.
    #[command(hide = true)]
    Man { dir: PathBuf },
}

impl Command {
    /// Commands that only read: a mistyped `--database` must not create an empty file for them.
    fn only_reads(&self) -> bool {
        matches!(
            self,
            Self::List(list::Cmd::Ls | list::Cmd::Show { .. })
                | Self::Subscriber(subscriber::Cmd::Ls { .. } | subscriber::Cmd::Export { .. })
                | Self::Story(story::Cmd::Ls { .. })
                | Self::Feed(feed::Cmd::Ls)
                | Self::Bounce(bounce::Cmd::Ls { .. })
                | Self::Subscriber(subscriber::Cmd::Show { .. })
                | Self::Backup { .. }
                | Self::Db(_)
                | Self::Digest(digest::Cmd::Preview { .. } | digest::Cmd::Status { .. })
        )
    }

    fn reports_progress(&self) -> bool {
        matches!(
            self,
            Self::Serve | Self::Digest(digest::Cmd::Send { .. } | digest::Cmd::Resend { .. })
        )
    }
}

impl Cli {
    /// The log filter implied by -v/-q, used when RUST_LOG is not set.
    pub fn log_level(&self) -> &'static str {
        match (self.quiet, self.verbose) {
            (true, _) => "error",
            // The daemon and a send report what they do; other commands only what went wrong.
            (false, 0) if self.command.reports_progress() => "info",
            (false, 0) => "warn",
            (false, 1) => "info",
            (false, 2) => "debug",
            _ => "trace",
        }
    }

    /// The settings this invocation runs with: the file and environment, then `--database`.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let mut settings = match (&self.command, &self.config) {
            // `init` creates the file `--config` names, so it need not exist yet.
            (Command::Init, Some(path)) if !path.exists() => Settings::from_sources(None, None)?,
            _ => Settings::load(self.config.as_deref())?,
        };
        match (&self.database, &self.command) {
            (Some(url), _) => settings.database.url = url.clone(),
            // The tour keeps to a database of its own, beside any real one, unless told.
            (None, Command::Demo) => settings.database.url = demo::DATABASE.into(),
            (None, _) => {}
        }
        Ok(settings)
    }
}

/// The whole program: parse the arguments, set up logging, run the command on a tokio runtime,
/// and map the outcome to an exit code. Living in the library, the command's state machines are
/// compiled once here, not again in the binary.
pub fn main() -> std::process::ExitCode {
    use std::process::ExitCode;
    let cli = Cli::parse();
    crate::logging::init(cli.log_level());
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| {
            runtime.block_on(async {
                let settings = cli.settings()?;
                let mut out = std::io::stdout().lock();
                let mut err = std::io::stderr();
                run(cli, settings, &mut out, &mut err).await
            })
        });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`| head`, a closed pager): nothing went wrong.
        Err(error) if crate::error::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            match crate::store::in_plain_words(&error) {
                Some(meaning) => eprintln!("error: {error}: {meaning}"),
                None => eprintln!("error: {}", crate::error::OneLine(&error)),
            }
            ExitCode::from(crate::error::exit_code(&error) as u8)
        }
    }
}

/// Runs the parsed command with the given settings.
pub async fn run(
    cli: Cli,
    settings: Settings,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<()> {
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut output = Output {
        out,
        err,
        json: cli.json,
        interactive,
    };
    match cli.command {
        Command::Init => return init::run(settings, cli.config.as_deref(), &mut output).await,
        // Need no database.
        Command::Dkim(cmd) => return dkim::run(cmd, &mut output),
        Command::Completions { shell } => return completions::completions(shell, &mut output),
        Command::Man { dir } => return completions::man_pages(&dir, &mut output),
        // The check opens the database itself, so a database that fails is one of its stages.
        Command::Config(cmd) => return config::run(settings, cmd, &mut output).await,
        // A PostgreSQL database is backed up by the server's own tools.
        Command::Backup { .. }
            if crate::store::Backend::of_url(&settings.database.url)
                == crate::store::Backend::Postgres =>
        {
            return Err(crate::error::BadInput(
                "herald backup copies SQLite databases; back up PostgreSQL with its own tools \
                 (pg_dump, or the server's base backups)"
                    .into(),
            )
            .into())
        }
        _ => {}
    }
    // An MTA piping a report in keeps it and retries on EX_TEMPFAIL: whatever failed (the
    // database busy or missing, the disk full), the report must not be lost.
    let for_an_mta = matches!(cli.command, Command::Bounce(bounce::Cmd::Ingest { .. }));
    let result = async {
        let app = if cli.command.only_reads() {
            App::build_existing(settings).await?
        } else {
            App::build(settings).await?
        };
        run_with_app(&app, cli.command, &mut output).await
    }
    .await;
    match result {
        Err(error) if for_an_mta => Err(error.context(crate::error::TempFail)),
        other => other,
    }
}

/// Runs a command against an app that is already built (tests pin its clock this way).
pub async fn run_with_app(
    app: &App,
    command: Command,
    output: &mut Output<'_>,
) -> anyhow::Result<()> {
    match command {
        Command::Init => init::run(app.settings.clone(), None, output).await,
        Command::List(cmd) => list::run(app, cmd, output).await,
        Command::Subscriber(cmd) => subscriber::run(app, cmd, output).await,
        Command::Story(cmd) => story::run(app, cmd, output).await,
        Command::Digest(cmd) => digest::run(app, cmd, output).await,
        Command::Feed(cmd) => feed::run(app, cmd, output).await,
        Command::Bounce(cmd) => bounce::run(app, cmd, output).await,
        Command::Config(cmd) => config::run(app.settings.clone(), cmd, output).await,
        Command::Dkim(cmd) => dkim::run(cmd, output),
        Command::Demo => demo::run(app, output).await,
        Command::Backup { file } => backup::run(app, &file, output).await,
        Command::Db(cmd) => db::run(app, cmd, output).await,
        Command::Completions { shell } => completions::completions(shell, output),
        Command::Man { dir } => completions::man_pages(&dir, output),
        Command::Serve => {
            let bind = app.settings.web.bind;
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .map_err(|error| anyhow::anyhow!("cannot listen on web.bind {bind}: {error}"))?;
            crate::daemon::serve(app.clone(), listener, crate::shutdown::on_signals()).await
        }
    }
}
