//! `herald demo`: the tour, on built-in defaults.

use crate::app::App;
use crate::cli::digest;
use crate::cli::Output;
use crate::demo;
use crate::error::BadInput;

/// Where the tour writes when `--database` does not say.
pub const DATABASE: &str = "herald-demo.db";

pub async fn run(app: &App, output: &mut Output<'_>) -> anyhow::Result<()> {
    let others = demo::foreign_content(&app.pool).await?;
    if !others.is_empty() {
        return Err(BadInput(format!(
            "{} is not a demo database ({}); herald demo writes only into one of its own: \
             run it without --database (it uses {DATABASE})",
            crate::store::redact_url(&app.settings.database.url),
            others.join(", ")
        ))
        .into());
    }
    let mut app = app.clone();
    app.settings.transport.kind = crate::settings::TransportKind::File;
    let list = demo::seed(&app, app.clock.now()).await?;
    writeln!(
        output.err,
        "sample list \"{}\" with {} stories and 3 confirmed subscribers (plus one unconfirmed, who gets nothing)",
        list.slug,
        demo::STORY_COUNT
    )?;
    digest::send(&app, &list, output).await?;
    let outbox = &app.settings.transport.outbox_dir;
    writeln!(
        output.out,
        "\nThe messages are in {}/ (one .eml per subscriber): open one in your mail client.\n\
         Next: `herald --database {db} digest preview --list {} --out preview.html` shows the \
         HTML, `herald --database {db} digest status` the delivery counts; `herald init` writes a \
         settings file for your own lists (in herald.db, apart from the demo's).",
        outbox.display(),
        list.slug,
        db = crate::store::redact_url(&app.settings.database.url),
    )?;
    Ok(())
}
