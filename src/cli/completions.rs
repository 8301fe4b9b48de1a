//! `herald completions SHELL` and `herald man DIR`: shell completions and man pages generated
//! from the command definitions, so they never drift from what the binary accepts.

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::{Cli, Output};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Writes the completion script for `shell` to stdout.
pub fn completions(shell: Shell, output: &mut Output<'_>) -> anyhow::Result<()> {
    let mut command = Cli::command();
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    // Generated into memory first: clap_complete panics when its writer fails, and a reader
    // that goes away (`| head`) must end the command quietly, not in a panic.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "herald", &mut script);
    output.out.write_all(&script)?;
    Ok(())
}

/// Writes `herald.1` and one page per command group (`herald-subscriber.1`, ...) into `dir`.
pub fn man_pages(dir: &Path, output: &mut Output<'_>) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let command = Cli::command();
    let mut written = Vec::new();
    let mut write = |name: String, page: clap::Command| -> anyhow::Result<()> {
        let path = dir.join(format!("{name}.1"));
        let mut bytes = Vec::new();
        clap_mangen::Man::new(page)
            .render(&mut bytes)
            .with_context(|| format!("rendering {name}.1"))?;
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
        Ok(())
    };
    for group in command
        .get_subcommands()
        .filter(|group| !group.is_hide_set())
    {
        let name = format!("herald-{}", group.get_name());
        write(name.clone(), group.clone().name(name))?;
    }
    write("herald".into(), command)?;
    for path in written {
        writeln!(output.out, "{}", path.display())?;
    }
    Ok(())
}
