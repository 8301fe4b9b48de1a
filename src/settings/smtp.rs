//! `[smtp]`: the relay every message leaves through.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;
use smart_default::SmartDefault;

use super::{positive, SecretSetting};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum SmtpTls {
    StartTls,
    Tls,
    None,
}

impl TryFrom<String> for SmtpTls {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        match raw.as_str() {
            "starttls" => Ok(Self::StartTls),
            "tls" => Ok(Self::Tls),
            "none" => Ok(Self::None),
            other => Err(format!(
                "{other:?} is not \"starttls\", \"tls\" or \"none\""
            )),
        }
    }
}

#[derive(Debug, Clone, Deserialize, SmartDefault)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    #[default("localhost".into())]
    pub host: String,
    #[default(587)]
    pub port: u16,
    #[default(SmtpTls::StartTls)]
    pub tls: SmtpTls,
    pub username: Option<String>,
    /// `smtp.password` or `smtp.password_file`, read only when used.
    #[serde(skip)]
    pub password: SecretSetting,
    #[serde(rename = "password")]
    password_inline: Option<SecretString>,
    password_file: Option<PathBuf>,
    #[default(8)]
    pub pool_size: u32,
    #[default(30)]
    pub timeout_secs: u64,
    /// A PEM bundle of CAs to trust beside the built-in and system roots (a private relay's CA).
    pub ca_file: Option<PathBuf>,
}

impl SmtpSettings {
    pub(super) fn check(&mut self) -> Result<(), String> {
        if self.host.trim().is_empty() {
            return Err("setting smtp.host: it is empty".into());
        }
        positive("smtp.pool_size", self.pool_size.into())?;
        positive("smtp.timeout_secs", self.timeout_secs)?;
        self.password = SecretSetting::given(
            "smtp.password",
            self.password_inline.take(),
            self.password_file.take(),
        )?;
        Ok(())
    }
}
