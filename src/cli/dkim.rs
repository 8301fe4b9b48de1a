//! `herald dkim keygen`: a DKIM key file and the DNS record that publishes it.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};

use crate::cli::Output;
use crate::delivery::dkim::{self, KeyAlgorithm, SigningKey};
use crate::error::BadInput;

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Write a new private key (mode 0600, never over an existing file) and print the DNS TXT
    /// record to publish and the [dkim] settings that use it.
    Keygen {
        /// The selector: the name under `_domainkey` the record is published at.
        #[arg(long, value_name = "S")]
        selector: String,
        /// The signing domain, usually the domain of `newsletter.from`.
        #[arg(long, value_name = "D")]
        domain: String,
        #[arg(long, value_enum, default_value_t = Algorithm::Rsa)]
        algorithm: Algorithm,
        /// Where to write the key (default: ./dkim-SELECTOR.pem).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Algorithm {
    /// RSA-2048, checked by every receiver.
    Rsa,
    /// Ed25519 (RFC 8463), best as a second signature beside RSA.
    Ed25519,
}

pub fn run(cmd: Cmd, output: &mut Output<'_>) -> anyhow::Result<()> {
    let Cmd::Keygen {
        selector,
        domain,
        algorithm,
        out,
    } = cmd;
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.split('.').all(|part| {
                !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
    };
    if !label_ok(&selector) {
        return Err(BadInput(format!("--selector {selector:?} is not a DNS name")).into());
    }
    if !label_ok(&domain) || !domain.contains('.') {
        return Err(BadInput(format!("--domain {domain:?} is not a domain")).into());
    }
    let path = out.unwrap_or_else(|| PathBuf::from(format!("dkim-{selector}.pem")));
    let pem = dkim::generate_key(match algorithm {
        Algorithm::Rsa => KeyAlgorithm::Rsa,
        Algorithm::Ed25519 => KeyAlgorithm::Ed25519,
    })
    .map_err(anyhow::Error::msg)?;
    let mut file = open_private(&path)?;
    file.write_all(pem.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    drop(file);
    let key = SigningKey::load(&path)?;
    let record = dkim::dns_record(&selector, &domain, &key);
    if output.json {
        return output.print_json(&serde_json::json!({
            "key_file": path.display().to_string(),
            "selector": selector,
            "domain": domain,
            "algorithm": key.dns_type(),
            "dns_record": record,
        }));
    }
    let shown = std::fs::canonicalize(&path).unwrap_or(path);
    writeln!(output.out, "wrote {} (mode 0600)\n", shown.display())?;
    writeln!(output.out, "Publish this DNS TXT record:\n\n{record}\n")?;
    writeln!(
        output.out,
        "Then sign with it:\n\n[dkim]\nselector = \"{selector}\"\ndomain = \"{domain}\"\nprivate_key_file = \"{}\"",
        shown.display()
    )?;
    Ok(())
}

/// Creates the key file readable by its owner only, refusing to replace one.
fn open_private(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::AlreadyExists => BadInput(format!(
            "{} exists already; keygen never replaces a key",
            path.display()
        ))
        .into(),
        _ => anyhow::Error::new(error).context(format!("creating {}", path.display())),
    })
}
