//! Settings: built-in defaults, then the TOML file, then `HERALD__SECTION__KEY` variables.
//! Every value that has a shape (address, timezone, cron, URL) is parsed here, so a bad one stops
//! the program at start with the key and the value named, not hours later at send time.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::domain::{CronExpr, EmailAddress, MaxStories, Sender, Timezone};
use crate::error::BadInput;
use crate::locale::Catalogues;

mod bounces;
mod secret;
mod values;

use bounces::RawBounces;
pub use bounces::{BounceSettings, ImapSettings};
pub use secret::SecretSetting;
use values::{hex_color, http_url, non_empty};

/// The file looked for in the working directory when neither `--config` nor `$HERALD_CONFIG`
/// names one.
pub const DEFAULT_CONFIG_FILE: &str = "herald.toml";
pub const ENV_PREFIX: &str = "HERALD";

#[derive(Debug, Clone)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub transport: TransportSettings,
    pub smtp: SmtpSettings,
    pub delivery: DeliverySettings,
    pub web: WebSettings,
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
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: String,
    /// This node's name among those sharing a PostgreSQL database (default: the host name).
    pub node: String,
    /// How long a node's claim on a delivery holds without renewal: after it, a node that died
    /// mid-send leaves its rows to the others.
    pub lease: std::time::Duration,
}

impl DatabaseSettings {
    /// When a claim this node makes at `now` (a delivery, a feed poll, a confirmation mail)
    /// runs out unless renewed.
    pub fn lease_until(&self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        now + chrono::Duration::from_std(self.lease).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Smtp,
    File,
}

#[derive(Debug, Clone)]
pub struct TransportSettings {
    pub kind: TransportKind,
    pub outbox_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    StartTls,
    Tls,
    None,
}

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: SecretSetting,
    pub pool_size: u32,
    pub timeout_secs: u64,
    /// A PEM bundle of CAs to trust beside the built-in and system roots (a private relay's CA).
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub concurrency: u32,
    /// Messages per second across all connections; 0 means no limit.
    pub rate_per_second: u32,
    pub max_attempts: u32,
    pub retry_base_secs: u64,
}

#[derive(Debug, Clone)]
pub struct WebSettings {
    pub bind: SocketAddr,
    pub base_url: Url,
    /// Reverse proxies whose `X-Forwarded-For` names the real client (for the sign-up rate
    /// limit and the consent record); empty: the TCP peer is the client.
    pub trusted_proxies: Vec<IpAddr>,
}

impl WebSettings {
    /// An absolute URL under `base_url` (which may itself have a path).
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.base_url.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}

#[derive(Debug, Clone)]
pub struct DkimSettings {
    pub selector: String,
    pub domain: String,
    pub private_key_file: PathBuf,
    /// A second signature with another key, typically Ed25519 beside RSA (RFC 8463).
    pub second: Option<DkimKeySettings>,
}

#[derive(Debug, Clone)]
pub struct DkimKeySettings {
    pub selector: String,
    pub private_key_file: PathBuf,
}

#[derive(Debug, Clone)]
pub struct NewsletterSettings {
    pub name: String,
    pub from: Sender,
    pub reply_to: Option<EmailAddress>,
    pub postal_address: String,
    pub brand_color: String,
    pub logo_url: Option<Url>,
    pub logo_width: u32,
    pub logo_height: u32,
}

#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub token: SecretSetting,
}

#[derive(Debug, Clone)]
pub struct FeedSettings {
    pub poll_interval_secs: u64,
    /// A feed that has not answered in full by then counts as failed.
    pub timeout_secs: u64,
    /// A feed larger than this is refused.
    pub max_bytes: u64,
    /// Pictures at loopback, private and link-local addresses are measured too (a closed
    /// network, tests); otherwise only public addresses are fetched.
    pub allow_private_pictures: bool,
    /// A proxy pictures are fetched through (never one from the environment). It resolves
    /// names itself, so without `allow_private_pictures` only addresses are fetched through it.
    pub picture_proxy: Option<Url>,
}

#[derive(Debug, Clone)]
pub struct ScheduleSettings {
    pub catch_up_hours: u32,
}

/// How stories are chosen for an edition. See `digest::ranking` for the formula.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DigestSettings {
    /// How fast a story's rank falls with age: rank = (score + 1) / (age_hours + age_offset)^gravity.
    pub gravity: f64,
    pub age_offset_hours: f64,
    /// How far back the first edition of a list looks for stories.
    pub first_window_hours: u32,
}

/// The message catalogues: the built-in ones, with a site's from `dir` over them.
#[derive(Debug, Clone)]
pub struct LocaleSettings {
    pub dir: Option<PathBuf>,
    pub catalogues: Catalogues,
}

/// What `list add` uses for the flags it is not given.
#[derive(Debug, Clone)]
pub struct ListDefaults {
    pub schedule: CronExpr,
    pub timezone: Timezone,
    pub max_stories: MaxStories,
}

// What the file and environment may contain, before parsing. Unknown keys are refused so a typo
// in the file is an error rather than a silently ignored setting.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Raw {
    database: RawDatabase,
    transport: RawTransport,
    smtp: RawSmtp,
    delivery: RawDelivery,
    web: RawWeb,
    dkim: RawDkim,
    newsletter: RawNewsletter,
    api: RawApi,
    feeds: RawFeeds,
    bounces: RawBounces,
    schedule: RawSchedule,
    lists: RawLists,
    digest: RawDigest,
    locale: RawLocale,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawLocale {
    dir: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawDatabase {
    url: String,
    node: Option<String>,
    lease_secs: u64,
}

impl Default for RawDatabase {
    fn default() -> Self {
        Self {
            url: "sqlite://herald.db".into(),
            node: None,
            lease_secs: 60,
        }
    }
}

/// The machine's name, for a node that was not given one.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "herald".to_string())
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawTransport {
    kind: String,
    outbox_dir: PathBuf,
}

impl Default for RawTransport {
    fn default() -> Self {
        Self {
            kind: "file".into(),
            outbox_dir: "outbox".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawSmtp {
    host: String,
    port: u16,
    tls: String,
    username: Option<String>,
    password: Option<SecretString>,
    password_file: Option<PathBuf>,
    pool_size: u32,
    timeout_secs: u64,
    ca_file: Option<PathBuf>,
}

impl Default for RawSmtp {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            port: 587,
            tls: "starttls".into(),
            username: None,
            password: None,
            password_file: None,
            pool_size: 8,
            timeout_secs: 30,
            ca_file: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawDelivery {
    concurrency: u32,
    rate_per_second: u32,
    max_attempts: u32,
    retry_base_secs: u64,
}

impl Default for RawDelivery {
    fn default() -> Self {
        Self {
            concurrency: 8,
            rate_per_second: 0,
            max_attempts: 5,
            retry_base_secs: 30,
        }
    }
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawWeb {
    bind: String,
    base_url: String,
    trusted_proxies: Vec<String>,
}

impl Default for RawWeb {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            base_url: "http://127.0.0.1:8080".into(),
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawDkim {
    selector: Option<String>,
    domain: Option<String>,
    private_key_file: Option<PathBuf>,
    second_selector: Option<String>,
    second_private_key_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawNewsletter {
    name: String,
    from: String,
    reply_to: Option<String>,
    postal_address: String,
    brand_color: String,
    logo_url: Option<String>,
    logo_width: u32,
    logo_height: u32,
}

impl Default for RawNewsletter {
    fn default() -> Self {
        Self {
            name: "Herald Daily".into(),
            from: "digest@example.com".into(),
            reply_to: None,
            postal_address: "Herald Daily, 1 Example Street, Springfield".into(),
            brand_color: "#1a5fb4".into(),
            logo_url: None,
            logo_width: 160,
            logo_height: 40,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawApi {
    token: Option<SecretString>,
    token_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawFeeds {
    poll_interval_secs: u64,
    timeout_secs: u64,
    max_bytes: u64,
    allow_private_pictures: bool,
    picture_proxy: String,
}

impl Default for RawFeeds {
    fn default() -> Self {
        Self {
            poll_interval_secs: 900,
            timeout_secs: 20,
            max_bytes: 5 * 1024 * 1024,
            allow_private_pictures: false,
            picture_proxy: String::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawSchedule {
    catch_up_hours: u32,
}

impl Default for RawSchedule {
    fn default() -> Self {
        Self { catch_up_hours: 6 }
    }
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawLists {
    schedule: String,
    timezone: String,
    max_stories: i64,
}

impl Default for RawLists {
    fn default() -> Self {
        Self {
            schedule: "0 7 * * *".into(),
            timezone: "UTC".into(),
            max_stories: 10,
        }
    }
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawDigest {
    gravity: f64,
    age_offset_hours: f64,
    first_window_hours: u32,
}

impl Default for RawDigest {
    fn default() -> Self {
        Self {
            gravity: 1.8,
            age_offset_hours: 2.0,
            first_window_hours: 24,
        }
    }
}

impl Settings {
    /// Built-in defaults only: what `herald demo` and tests start from.
    pub fn defaults() -> Self {
        Raw::default()
            .parse(None)
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
        let raw: Raw = builder
            .build()
            .and_then(|config| config.try_deserialize())
            .map_err(|error| BadInput(format!("{origin}: {error}")))?;
        raw.parse(file)
            .map_err(|error| BadInput(format!("{origin}: {error}")).into())
    }
}

impl Raw {
    fn parse(self, source: Option<PathBuf>) -> Result<Settings, String> {
        let transport_kind = match self.transport.kind.as_str() {
            "smtp" => TransportKind::Smtp,
            "file" => TransportKind::File,
            other => {
                return Err(format!(
                    "setting transport.kind: {other:?} is not \"smtp\" or \"file\""
                ))
            }
        };
        let tls = match self.smtp.tls.as_str() {
            "starttls" => SmtpTls::StartTls,
            "tls" => SmtpTls::Tls,
            "none" => SmtpTls::None,
            other => {
                return Err(format!(
                    "setting smtp.tls: {other:?} is not \"starttls\", \"tls\" or \"none\""
                ))
            }
        };
        if self.smtp.host.trim().is_empty() {
            return Err("setting smtp.host: it is empty".into());
        }
        positive("smtp.pool_size", self.smtp.pool_size.into())?;
        positive("smtp.timeout_secs", self.smtp.timeout_secs)?;
        positive("delivery.concurrency", self.delivery.concurrency.into())?;
        positive("delivery.max_attempts", self.delivery.max_attempts.into())?;
        positive("feeds.poll_interval_secs", self.feeds.poll_interval_secs)?;
        positive("feeds.timeout_secs", self.feeds.timeout_secs)?;
        positive("feeds.max_bytes", self.feeds.max_bytes)?;
        if self.smtp.password.is_some() && self.smtp.password_file.is_some() {
            return Err("setting smtp.password and smtp.password_file: give only one".into());
        }
        if self.api.token.is_some() && self.api.token_file.is_some() {
            return Err("setting api.token and api.token_file: give only one".into());
        }
        not_blank("smtp.password", &self.smtp.password)?;
        not_blank("api.token", &self.api.token)?;
        let bounces = self.bounces.parse()?;

        let bind = key(
            "web.bind",
            self.web
                .bind
                .parse::<SocketAddr>()
                .map_err(|_| format!("{:?} is not an address:port", self.web.bind)),
        )?;
        let base_url = key("web.base_url", http_url(&self.web.base_url))?;
        let picture_proxy = match self.feeds.picture_proxy.trim() {
            "" => None,
            raw => Some(key("feeds.picture_proxy", http_url(raw))?),
        };
        let trusted_proxies = self
            .web
            .trusted_proxies
            .iter()
            .map(|raw| {
                key(
                    "web.trusted_proxies",
                    raw.trim()
                        .parse::<IpAddr>()
                        .map_err(|_| format!("{raw:?} is not an IP address")),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;

        let dkim = match (
            self.dkim.selector,
            self.dkim.domain,
            self.dkim.private_key_file,
        ) {
            (None, None, None) => None,
            (Some(selector), Some(domain), Some(private_key_file)) => Some(DkimSettings {
                selector,
                domain,
                private_key_file,
                second: match (self.dkim.second_selector, self.dkim.second_private_key_file) {
                    (None, None) => None,
                    (Some(selector), Some(private_key_file)) => Some(DkimKeySettings {
                        selector,
                        private_key_file,
                    }),
                    _ => {
                        return Err("setting dkim: second_selector and second_private_key_file \
                                    go together"
                            .into())
                    }
                },
            }),
            _ => {
                return Err(
                    "setting dkim: selector, domain and private_key_file go together".into(),
                )
            }
        };

        let newsletter = NewsletterSettings {
            from: key("newsletter.from", Sender::parse(&self.newsletter.from))?,
            reply_to: self
                .newsletter
                .reply_to
                .as_deref()
                .map(|raw| key("newsletter.reply_to", EmailAddress::parse(raw)))
                .transpose()?,
            brand_color: key(
                "newsletter.brand_color",
                hex_color(&self.newsletter.brand_color),
            )?,
            logo_url: self
                .newsletter
                .logo_url
                .as_deref()
                .map(|raw| key("newsletter.logo_url", http_url(raw)))
                .transpose()?,
            logo_width: self.newsletter.logo_width,
            logo_height: self.newsletter.logo_height,
            name: key("newsletter.name", non_empty(&self.newsletter.name))?,
            postal_address: key(
                "newsletter.postal_address",
                non_empty(&self.newsletter.postal_address),
            )?,
        };

        let lists = ListDefaults {
            schedule: key("lists.schedule", CronExpr::parse(&self.lists.schedule))?,
            timezone: key("lists.timezone", Timezone::parse(&self.lists.timezone))?,
            max_stories: key(
                "lists.max_stories",
                MaxStories::parse(self.lists.max_stories),
            )?,
        };

        if !(self.digest.gravity.is_finite() && self.digest.gravity >= 0.0) {
            return Err(format!(
                "setting digest.gravity: {} must be 0 or more",
                self.digest.gravity
            ));
        }
        if !(self.digest.age_offset_hours.is_finite() && self.digest.age_offset_hours > 0.0) {
            return Err(format!(
                "setting digest.age_offset_hours: {} must be more than 0",
                self.digest.age_offset_hours
            ));
        }
        positive(
            "digest.first_window_hours",
            self.digest.first_window_hours.into(),
        )?;
        positive("newsletter.logo_width", self.newsletter.logo_width.into())?;
        positive("newsletter.logo_height", self.newsletter.logo_height.into())?;
        let locale = LocaleSettings {
            catalogues: key("locale.dir", Catalogues::load(self.locale.dir.as_deref()))?,
            dir: self.locale.dir,
        };
        let digest = DigestSettings {
            gravity: self.digest.gravity,
            age_offset_hours: self.digest.age_offset_hours,
            first_window_hours: self.digest.first_window_hours,
        };

        let node = self.database.node.unwrap_or_else(host_name);
        if node.is_empty()
            || node.len() > 64
            || !node
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(format!(
                "setting database.node = {:?}: give a name of up to 64 letters, digits, '-', '_' \
                 or '.'",
                node.chars().take(80).collect::<String>()
            ));
        }
        if !(2..=3600).contains(&self.database.lease_secs) {
            return Err(format!(
                "setting database.lease_secs = {}: must be between 2 and 3600",
                self.database.lease_secs
            ));
        }
        Ok(Settings {
            database: DatabaseSettings {
                url: self.database.url,
                node,
                lease: std::time::Duration::from_secs(self.database.lease_secs),
            },
            transport: TransportSettings {
                kind: transport_kind,
                outbox_dir: self.transport.outbox_dir,
            },
            smtp: SmtpSettings {
                host: self.smtp.host,
                port: self.smtp.port,
                tls,
                username: self.smtp.username,
                password: SecretSetting {
                    key: "smtp.password",
                    inline: self.smtp.password,
                    file: self.smtp.password_file,
                },
                pool_size: self.smtp.pool_size,
                timeout_secs: self.smtp.timeout_secs,
                ca_file: self.smtp.ca_file,
            },
            delivery: DeliverySettings {
                concurrency: self.delivery.concurrency,
                rate_per_second: self.delivery.rate_per_second,
                max_attempts: self.delivery.max_attempts,
                retry_base_secs: self.delivery.retry_base_secs,
            },
            web: WebSettings {
                bind,
                base_url,
                trusted_proxies,
            },
            dkim,
            newsletter,
            api: ApiSettings {
                token: SecretSetting {
                    key: "api.token",
                    inline: self.api.token,
                    file: self.api.token_file,
                },
            },
            feeds: FeedSettings {
                poll_interval_secs: self.feeds.poll_interval_secs,
                timeout_secs: self.feeds.timeout_secs,
                max_bytes: self.feeds.max_bytes,
                allow_private_pictures: self.feeds.allow_private_pictures,
                picture_proxy,
            },
            bounces,
            schedule: ScheduleSettings {
                catch_up_hours: self.schedule.catch_up_hours,
            },
            lists,
            digest,
            locale,
            source,
        })
    }
}

/// `result` with its error named by the setting `name`.
fn key<T, E: std::fmt::Display>(name: &str, result: Result<T, E>) -> Result<T, String> {
    result.map_err(|error| format!("setting {name}: {error}"))
}

/// Refuses 0 for a setting that counts or waits.
fn positive(name: &str, value: u64) -> Result<(), String> {
    if value == 0 {
        Err(format!("setting {name}: must be at least 1"))
    } else {
        Ok(())
    }
}

/// An empty secret is a mistake, never "no authentication": an empty api.token would open the
/// story API to anyone.
fn not_blank(name: &str, secret: &Option<SecretString>) -> Result<(), String> {
    if secret
        .as_ref()
        .is_some_and(|value| value.expose_secret().trim().is_empty())
    {
        return Err(format!(
            "setting {name}: it is empty; give a value, or remove the setting"
        ));
    }
    Ok(())
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
