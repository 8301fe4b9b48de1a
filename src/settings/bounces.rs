//! `[bounces]`: where bounce and complaint reports come back, and what they do.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;
use smart_default::SmartDefault;

use super::values::{self, ImapTarget};
use super::{positive, SecretSetting};

/// Where bounce and complaint reports come back, and what they do.
#[derive(Debug, Clone, Deserialize, SmartDefault)]
#[serde(default, deny_unknown_fields)]
pub struct BounceSettings {
    /// VERP: each delivery's envelope sender is `LOCAL+TAG@DOMAIN` under this domain; `None`
    /// sends with the list's own address as envelope sender (reports cannot be attributed).
    #[serde(deserialize_with = "values::optional_mail_domain")]
    pub domain: Option<String>,
    #[serde(deserialize_with = "values::token")]
    #[default("bounces".into())]
    pub local_part: String,
    /// A Maildir the daemon reads reports from.
    pub maildir: Option<PathBuf>,
    /// An IMAP mailbox over TLS the daemon reads reports from, with its password: made from
    /// `imap_url`, `imap_password(_file)` and `imap_ca_file`.
    #[serde(skip)]
    pub imap: Option<ImapSettings>,
    #[default(60)]
    pub poll_interval_secs: u64,
    /// This many soft bounces within `soft_window_days` mark the address bounced.
    #[default(3)]
    pub soft_limit: u32,
    #[default(14)]
    pub soft_window_days: u32,
    /// Authenticates `/webhooks/{ses,postmark,mailgun}`; the webhooks are off without it.
    #[serde(skip)]
    pub webhook_secret: SecretSetting,
    /// A webhook body naming more readers than this is held, not applied, until an admin
    /// releases it: a leaked secret then costs at most this many readers.
    #[default(100)]
    pub webhook_max_readers: u32,
    #[serde(rename = "webhook_secret")]
    webhook_secret_inline: Option<SecretString>,
    webhook_secret_file: Option<PathBuf>,
    #[serde(deserialize_with = "values::optional_imap_url")]
    imap_url: Option<ImapTarget>,
    imap_password: Option<SecretString>,
    imap_password_file: Option<PathBuf>,
    imap_ca_file: Option<PathBuf>,
}

/// `bounces.imap_url` (`imaps://USER@HOST[:PORT][/MAILBOX]`) and what goes with it.
#[derive(Debug, Clone)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub mailbox: String,
    pub password: SecretSetting,
    /// A PEM bundle to trust beside the built-in and system roots (a private CA).
    pub ca_file: Option<PathBuf>,
}

impl BounceSettings {
    pub(super) fn check(&mut self) -> Result<(), String> {
        positive("bounces.poll_interval_secs", self.poll_interval_secs)?;
        positive("bounces.soft_limit", self.soft_limit.into())?;
        positive("bounces.soft_window_days", self.soft_window_days.into())?;
        positive(
            "bounces.webhook_max_readers",
            self.webhook_max_readers.into(),
        )?;
        let imap_password = SecretSetting::given(
            "bounces.imap_password",
            self.imap_password.take(),
            self.imap_password_file.take(),
        )?;
        self.imap = match self.imap_url.take() {
            None => None,
            Some(_) if !imap_password.is_set() => {
                return Err(
                    "setting bounces.imap_url: it needs bounces.imap_password_file (or \
                     HERALD__BOUNCES__IMAP_PASSWORD)"
                        .into(),
                )
            }
            Some(target) => Some(ImapSettings {
                host: target.host,
                port: target.port,
                user: target.user,
                mailbox: target.mailbox,
                password: imap_password,
                ca_file: self.imap_ca_file.take(),
            }),
        };
        self.webhook_secret = SecretSetting::given(
            "bounces.webhook_secret",
            self.webhook_secret_inline.take(),
            self.webhook_secret_file.take(),
        )?;
        Ok(())
    }
}
