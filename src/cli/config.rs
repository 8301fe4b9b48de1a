//! `herald config check`: everything a send needs, tried without sending a thing. Each stage
//! prints what it found (secrets only as "set"); the first that fails ends the check, named,
//! with exit 1.

use clap::Subcommand;

use crate::app::App;
use crate::cli::Output;
use crate::delivery::dkim::DkimSigner;
use crate::delivery::transport::Transport;
use crate::settings::Settings;

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Parse the settings, open the database, connect to the SMTP server (EHLO, STARTTLS,
    /// AUTH, QUIT; no mail) or try the outbox, and load the DKIM key.
    Check,
}

/// One stage that passed.
#[derive(Debug, serde::Serialize)]
struct Passed {
    stage: &'static str,
    found: String,
}

pub async fn run(settings: Settings, cmd: Cmd, output: &mut Output<'_>) -> anyhow::Result<()> {
    match cmd {
        Cmd::Check => check(settings, output).await,
    }
}

async fn check(settings: Settings, output: &mut Output<'_>) -> anyhow::Result<()> {
    let mut passed = Vec::new();
    let outcome = stages(settings, &mut passed).await;
    if output.json {
        output.print_json(&serde_json::json!({
            "passed": passed,
            "failed": outcome.as_ref().err().map(|(stage, error)| {
                serde_json::json!({ "stage": stage, "error": format!("{}", crate::error::OneLine(error)) })
            }),
        }))?;
    } else {
        for stage in &passed {
            writeln!(
                output.out,
                "{:<10} {}",
                format!("{}:", stage.stage),
                stage.found
            )?;
        }
    }
    match outcome {
        Ok(()) => Ok(()),
        Err((stage, error)) => Err(error.context(format!("config check failed at {stage}"))),
    }
}

type StageError = (&'static str, anyhow::Error);

async fn stages(settings: Settings, passed: &mut Vec<Passed>) -> Result<(), StageError> {
    let mut pass = |stage, found| passed.push(Passed { stage, found });
    pass(
        "settings",
        match &settings.source {
            Some(path) => format!("{} (and HERALD__* variables)", path.display()),
            None => "built-in defaults (and HERALD__* variables)".into(),
        },
    );
    let database = crate::store::redact_url(&settings.database.url);
    // A check never creates what it checks: a mistyped path is reported, not made.
    let app = App::build_existing(settings)
        .await
        .map_err(|error| ("database", error))?;
    let lists = crate::store::lists::count(&app.pool)
        .await
        .map_err(|error| ("database", error))?;
    pass("database", format!("{database}: open, {lists} list(s)"));

    let settings = &app.settings;
    let transport = Transport::from_settings(settings).map_err(|error| ("transport", error))?;
    let probe = transport
        .probe()
        .await
        .map_err(|failure| ("transport", anyhow::Error::new(failure)))?;
    let found = match &transport {
        Transport::File(_) => format!("{}: writable", probe.target),
        Transport::Smtp(_) => format!(
            "{}: connected{}{}{}, no mail sent; smtp.password {}",
            probe.target,
            if probe.encrypted { ", TLS" } else { ", no TLS" },
            match (&settings.smtp.username, probe.authenticated) {
                (Some(user), true) => format!(", AUTH as {user}"),
                _ => String::new(),
            },
            if probe.pipelining { ", PIPELINING" } else { "" },
            settings.smtp.password.describe()
        ),
    };
    pass("transport", found);

    match &settings.dkim {
        Some(keys) => {
            let signer = DkimSigner::from_settings(keys).map_err(|error| ("dkim", error.into()))?;
            pass("dkim", format!("signing as {}", signer.describe()));
        }
        None => pass("dkim", "not set up: messages go out unsigned".into()),
    }
    pass(
        "api",
        match settings.api.token.is_set() {
            true => format!("story API on; api.token {}", settings.api.token.describe()),
            false => "story API off (no api.token)".into(),
        },
    );
    Ok(())
}
