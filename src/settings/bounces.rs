//! `[bounces]`: where bounce and complaint reports come back, and what they do.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use super::values::imap_url;
use super::{key, not_blank, positive, SecretSetting};

/// Where bounce and complaint reports come back, and what they do.
#[derive(Debug, Clone)]
pub struct BounceSettings {
    /// VERP: each delivery's envelope sender is `LOCAL+TAG@DOMAIN` under this domain; `None`
    /// sends with the list's own address as envelope sender (reports cannot be attributed).
    pub domain: Option<String>,
    pub local_part: String,
    /// A Maildir the daemon reads reports from.
    pub maildir: Option<PathBuf>,
    /// An IMAP mailbox over TLS the daemon reads reports from, with its password.
    pub imap: Option<ImapSettings>,
    pub poll_interval_secs: u64,
    /// This many soft bounces within `soft_window_days` mark the address bounced.
    pub soft_limit: u32,
    pub soft_window_days: u32,
    /// Authenticates `/webhooks/{ses,postmark,mailgun}`; the webhooks are off without it.
    pub webhook_secret: SecretSetting,
    /// A webhook body naming more readers than this is held, not applied, until an admin
    /// releases it: a leaked secret then costs at most this many readers.
    pub webhook_max_readers: u32,
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

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawBounces {
    domain: String,
    local_part: String,
    maildir: Option<PathBuf>,
    poll_interval_secs: u64,
    soft_limit: u32,
    soft_window_days: u32,
    webhook_secret: Option<SecretString>,
    webhook_secret_file: Option<PathBuf>,
    webhook_max_readers: u32,
    imap_url: String,
    imap_password: Option<SecretString>,
    imap_password_file: Option<PathBuf>,
    imap_ca_file: Option<PathBuf>,
}

impl Default for RawBounces {
    fn default() -> Self {
        Self {
            domain: String::new(),
            local_part: "bounces".into(),
            maildir: None,
            poll_interval_secs: 60,
            soft_limit: 3,
            soft_window_days: 14,
            webhook_secret: None,
            webhook_secret_file: None,
            webhook_max_readers: 100,
            imap_url: String::new(),
            imap_password: None,
            imap_password_file: None,
            imap_ca_file: None,
        }
    }
}

impl RawBounces {
    pub(super) fn parse(self) -> Result<BounceSettings, String> {
        positive("bounces.poll_interval_secs", self.poll_interval_secs)?;
        positive("bounces.soft_limit", self.soft_limit.into())?;
        positive("bounces.soft_window_days", self.soft_window_days.into())?;
        positive(
            "bounces.webhook_max_readers",
            self.webhook_max_readers.into(),
        )?;
        let bounce_domain = match self.domain.trim() {
            "" => None,
            domain => Some(
                crate::domain::EmailAddress::parse(&format!("x@{domain}"))
                    .map_err(|_| {
                        format!("setting bounces.domain: {domain:?} is not a mail domain")
                    })?
                    .domain()
                    .to_string(),
            ),
        };
        if self.imap_password.is_some() && self.imap_password_file.is_some() {
            return Err(
                "setting bounces.imap_password and bounces.imap_password_file: give only one"
                    .into(),
            );
        }
        let imap = match self.imap_url.trim() {
            "" => None,
            raw => Some(key("bounces.imap_url", imap_url(raw))?),
        };
        if imap.is_some() && self.imap_password.is_none() && self.imap_password_file.is_none() {
            return Err(
                "setting bounces.imap_url: it needs bounces.imap_password_file (or \
                 HERALD__BOUNCES__IMAP_PASSWORD)"
                    .into(),
            );
        }
        let local_part = self.local_part.trim().to_ascii_lowercase();
        if local_part.is_empty()
            || !local_part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(format!(
                "setting bounces.local_part: {:?} must be letters, digits, '-', '_' or '.'",
                self.local_part
            ));
        }
        if self.webhook_secret.is_some() && self.webhook_secret_file.is_some() {
            return Err(
                "setting bounces.webhook_secret and bounces.webhook_secret_file: give only one"
                    .into(),
            );
        }
        not_blank("bounces.webhook_secret", &self.webhook_secret)?;
        not_blank("bounces.imap_password", &self.imap_password)?;
        Ok(BounceSettings {
            domain: bounce_domain,
            local_part,
            maildir: self.maildir,
            imap: imap.map(|target| ImapSettings {
                host: target.host,
                port: target.port,
                user: target.user,
                mailbox: target.mailbox,
                password: SecretSetting {
                    key: "bounces.imap_password",
                    inline: self.imap_password,
                    file: self.imap_password_file,
                },
                ca_file: self.imap_ca_file,
            }),
            poll_interval_secs: self.poll_interval_secs,
            soft_limit: self.soft_limit,
            soft_window_days: self.soft_window_days,
            webhook_secret: SecretSetting {
                key: "bounces.webhook_secret",
                inline: self.webhook_secret,
                file: self.webhook_secret_file,
            },
            webhook_max_readers: self.webhook_max_readers,
        })
    }
}
