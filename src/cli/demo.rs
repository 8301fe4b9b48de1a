//! `herald demo`: the tour, on built-in defaults.

use crate::app::App;
use crate::cli::digest;
use crate::cli::Output;
use crate::demo;

pub async fn run(app: &App, output: &mut Output<'_>) -> anyhow::Result<()> {
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
         Next: `herald digest preview --list {} --out preview.html` shows the HTML, \
         `herald digest status` the delivery counts, `herald init` writes a settings file to edit.",
        outbox.display(),
        list.slug
    )?;
    Ok(())
}
