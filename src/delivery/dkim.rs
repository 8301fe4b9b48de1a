//! DKIM signing with relaxed/relaxed canonicalisation over every header receivers check,
//! the unsubscribe headers included (RFC 8058 asks for them under the signature).

use anyhow::Context;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::HeaderName;

use crate::error::BadInput;
use crate::settings::DkimSettings;

pub const SIGNED_HEADERS: [&str; 10] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
];

/// Reads the key file: an RSA key in PKCS#1 PEM ("BEGIN RSA PRIVATE KEY"), or an Ed25519 key
/// as the base64 of its 32 raw bytes.
pub fn config(settings: &DkimSettings) -> anyhow::Result<DkimConfig> {
    let path = &settings.private_key_file;
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("reading dkim.private_key_file {}", path.display()))?;
    let algorithm = if pem.contains("BEGIN RSA PRIVATE KEY") {
        DkimSigningAlgorithm::Rsa
    } else if pem.contains("BEGIN PRIVATE KEY") {
        return Err(BadInput(format!(
            "dkim.private_key_file {}: PKCS#8 keys are not read; convert with \
             `openssl rsa -in KEY -traditional -out KEY.rsa.pem`",
            path.display()
        ))
        .into());
    } else {
        DkimSigningAlgorithm::Ed25519
    };
    let key = DkimSigningKey::new(pem.trim(), algorithm).map_err(|error| {
        BadInput(format!(
            "dkim.private_key_file {}: not a usable key: {error}",
            path.display()
        ))
    })?;
    let relaxed = DkimCanonicalization {
        header: DkimCanonicalizationType::Relaxed,
        body: DkimCanonicalizationType::Relaxed,
    };
    Ok(DkimConfig::new(
        settings.selector.clone(),
        settings.domain.clone(),
        key,
        SIGNED_HEADERS
            .iter()
            .map(|name| HeaderName::new_from_ascii_str(name))
            .collect(),
        relaxed,
    ))
}
