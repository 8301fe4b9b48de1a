//! `[transport]`: whether editions go to the SMTP relay or into files.

use std::path::PathBuf;

use serde::Deserialize;
use smart_default::SmartDefault;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum TransportKind {
    Smtp,
    File,
}

impl TryFrom<String> for TransportKind {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        match raw.as_str() {
            "smtp" => Ok(Self::Smtp),
            "file" => Ok(Self::File),
            other => Err(format!("{other:?} is not \"smtp\" or \"file\"")),
        }
    }
}

#[derive(Debug, Clone, Deserialize, SmartDefault)]
#[serde(default, deny_unknown_fields)]
pub struct TransportSettings {
    /// `smtp` sends through `[smtp]`; `file` writes each message into `outbox_dir`.
    #[default(TransportKind::File)]
    pub kind: TransportKind,
    #[default("outbox".into())]
    pub outbox_dir: PathBuf,
}
