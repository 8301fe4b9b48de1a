//! Settings: built-in defaults, then the TOML file, then `HERALD__SECTION__KEY` variables.
//! One file per section; each section's struct is read directly, its defaults on its fields.
//! Every value that has a shape (address, timezone, cron, URL) is parsed as it is read, so a bad
//! one stops the program at start with the key and the value named, not hours later at send
//! time. Adding a setting is adding a field, its default and its doc line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::BadInput;

mod api;
mod bounces;
mod database;
mod delivery;
mod digest;
mod dkim;
mod feeds;
mod lists;
mod locale;
mod newsletter;
mod schedule;
mod secret;
mod smtp;
mod transport;
mod values;
mod web;

pub use api::ApiSettings;
pub use bounces::{BounceSettings, ImapSettings};
pub use database::DatabaseSettings;
pub use delivery::DeliverySettings;
pub use digest::DigestSettings;
pub use dkim::{DkimKeySettings, DkimSettings};
pub use feeds::FeedSettings;
pub use lists::ListDefaults;
pub use locale::LocaleSettings;
pub use newsletter::NewsletterSettings;
pub use schedule::ScheduleSettings;
pub use secret::SecretSetting;
pub use smtp::{SmtpSettings, SmtpTls};
pub use transport::{TransportKind, TransportSettings};
pub use web::WebSettings;

/// The file looked for in the working directory when neither `--config` nor `$HERALD_CONFIG`
/// names one.
pub const DEFAULT_CONFIG_FILE: &str = "herald.toml";
pub const ENV_PREFIX: &str = "HERALD";

// Unknown keys are refused so a typo in the file is an error rather than a silently ignored
// setting.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub transport: TransportSettings,
    pub smtp: SmtpSettings,
    pub delivery: DeliverySettings,
    pub web: WebSettings,
    #[serde(deserialize_with = "dkim::section")]
    pub dkim: Option<DkimSettings>,
    pub newsletter: NewsletterSettings,
    pub api: ApiSettings,
    pub feeds: FeedSettings,
    pub bounces: BounceSettings,
    pub schedule: ScheduleSettings,
    pub lists: ListDefaults,
    pub digest: DigestSettings,
    pub locale: LocaleSettings,
    /// The file the settings were read from, if any.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

impl Settings {
    /// Built-in defaults only: what `herald demo` and tests start from.
    pub fn defaults() -> Self {
        Self::default()
            .checked()
            .unwrap_or_else(|error| unreachable!("built-in defaults must be valid: {error}"))
    }

    /// Reads settings the way the command line does. `explicit` is `--config` or
    /// `$HERALD_CONFIG`: it must exist. Without it `./herald.toml` is read if present.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<Self> {
        Self::load_with_env(explicit, None)
    }

    /// As [`Settings::load`], with the environment given as a map (tests) instead of the
    /// process environment.
    pub fn load_with_env(
        explicit: Option<&Path>,
        env: Option<HashMap<String, String>>,
    ) -> anyhow::Result<Self> {
        let file = match explicit {
            Some(path) if !path.is_file() => {
                return Err(BadInput(format!("config file {} not found", path.display())).into())
            }
            Some(path) => Some(path.to_path_buf()),
            None => {
                let local = PathBuf::from(DEFAULT_CONFIG_FILE);
                local.is_file().then_some(local)
            }
        };
        Self::from_sources(file, env)
    }

    /// Settings from `file` (if any) and the environment, without looking for other files.
    pub fn from_sources(
        file: Option<PathBuf>,
        env: Option<HashMap<String, String>>,
    ) -> anyhow::Result<Self> {
        let origin = file
            .as_ref()
            .map_or_else(|| "settings".to_string(), |path| path.display().to_string());

        let mut builder = config::Config::builder();
        if let Some(path) = &file {
            builder = builder.add_source(
                config::File::from(path.as_path())
                    .format(config::FileFormat::Toml)
                    .required(true),
            );
        }
        builder = builder.add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("web.trusted_proxies")
                .source(env),
        );
        let settings: Settings = builder
            .build()
            .and_then(|config| config.try_deserialize())
            .map_err(|error| BadInput(format!("{origin}: {}", described(error))))?;
        Settings {
            source: file,
            ..settings
        }
        .checked()
        .map_err(|error| BadInput(format!("{origin}: {error}")).into())
    }

    /// The rules no single value's type holds: ranges, settings that go together, secrets and
    /// catalogues to load.
    fn checked(mut self) -> Result<Self, String> {
        self.database.check()?;
        self.smtp.check()?;
        self.delivery.check()?;
        self.newsletter.check()?;
        self.api.check()?;
        self.feeds.check()?;
        self.bounces.check()?;
        self.digest.check()?;
        self.locale.check()?;
        Ok(self)
    }
}

/// A reading error as `setting KEY: what is wrong`, the way the checks word theirs.
fn described(error: config::ConfigError) -> String {
    match error {
        config::ConfigError::At {
            error,
            key: Some(key),
            ..
        } => format!("setting {key}: {error}"),
        other => other.to_string(),
    }
}

/// Refuses 0 for a setting that counts or waits.
fn positive(name: &str, value: u64) -> Result<(), String> {
    if value == 0 {
        Err(format!("setting {name}: must be at least 1"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_defaults_are_valid_and_use_the_file_transport() {
        let settings = Settings::defaults();
        assert_eq!(settings.transport.kind, TransportKind::File);
        assert_eq!(settings.database.url, "sqlite://herald.db");
        assert_eq!(settings.delivery.concurrency, 8);
        assert_eq!(settings.smtp.port, 587);
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let env = HashMap::from([
            (
                "HERALD__SMTP__PASSWORD".to_string(),
                "hunter2-secret".to_string(),
            ),
            (
                "HERALD__API__TOKEN".to_string(),
                "api-token-secret".to_string(),
            ),
        ]);
        let settings = Settings::load_with_env(None, Some(env)).expect("valid");
        let debug = format!("{settings:?}");
        assert!(!debug.contains("hunter2-secret"), "{debug}");
        assert!(!debug.contains("api-token-secret"), "{debug}");
        assert!(settings.smtp.password.is_set());
    }
}
