//! Parsers for the settings' values that have a shape but no domain type: an IMAP URL, an
//! http(s) URL, a colour, a line of text, an address. Each error names the value; `config` adds
//! the key, and `Settings::from_sources` the file.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::de::Error;
use serde::{Deserialize, Deserializer};
use url::Url;

/// Where the bounce mailbox is: `imaps://USER@HOST[:PORT][/MAILBOX]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ImapTarget {
    pub host: String,
    /// 993 unless the URL names another.
    pub port: u16,
    pub user: String,
    /// `INBOX` unless the URL names another.
    pub mailbox: String,
}

/// `imaps://USER@HOST[:PORT][/MAILBOX]`.
pub(super) fn imap_url(raw: &str) -> Result<ImapTarget, String> {
    let url = Url::parse(raw).map_err(|error| format!("not a URL: {error}"))?;
    if url.scheme() != "imaps" {
        return Err(format!(
            "{raw:?}: only imaps:// (IMAP over TLS) is supported"
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| format!("{raw:?} names no host"))?
        .to_string();
    // A user name with an @ in it is written %40 in the URL.
    let user = percent_encoding::percent_decode_str(url.username())
        .decode_utf8_lossy()
        .into_owned();
    if user.is_empty() {
        return Err(format!("{raw:?} names no user (imaps://USER@HOST/MAILBOX)"));
    }
    if url.password().is_some() {
        // Not echoed: the value holds a secret.
        return Err(
            "the URL carries a password: put it in bounces.imap_password_file instead".into(),
        );
    }
    let mailbox = match url.path().trim_matches('/') {
        "" => "INBOX".to_string(),
        path => path.to_string(),
    };
    Ok(ImapTarget {
        host,
        port: url.port().unwrap_or(993),
        user,
        mailbox,
    })
}

fn parse_http_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|error| format!("{raw:?} is not a URL: {error}"))?;
    if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() {
        Ok(url)
    } else {
        Err(format!("{raw:?} is not an http or https URL"))
    }
}

/// A string read and handed to `parse`, whose error becomes the deserializer's.
fn parsed<'de, D, T>(deserializer: D, parse: fn(&str) -> Result<T, String>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let raw = String::deserialize(deserializer)?;
    parse(&raw).map_err(D::Error::custom)
}

/// As [`parsed`], where an empty (or blank) string means the setting is off.
fn parsed_or_off<'de, D, T>(
    deserializer: D,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
    match raw.trim() {
        "" => Ok(None),
        raw => parse(raw).map(Some).map_err(D::Error::custom),
    }
}

pub(super) fn http_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Url, D::Error> {
    parsed(deserializer, parse_http_url)
}

pub(super) fn optional_http_url<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Url>, D::Error> {
    parsed_or_off(deserializer, parse_http_url)
}

pub(super) fn optional_imap_url<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<ImapTarget>, D::Error> {
    parsed_or_off(deserializer, imap_url)
}

/// A mail domain, lower case; empty means none.
pub(super) fn optional_mail_domain<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    parsed_or_off(deserializer, |domain| {
        crate::domain::EmailAddress::parse(&format!("x@{domain}"))
            .map(|address| address.domain().to_string())
            .map_err(|_| format!("{domain:?} is not a mail domain"))
    })
}

pub(super) fn hex_color<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    parsed(deserializer, |raw| {
        let valid = raw.len() == 7
            && raw.starts_with('#')
            && raw[1..].chars().all(|c| c.is_ascii_hexdigit());
        if valid {
            Ok(raw.to_ascii_lowercase())
        } else {
            Err(format!(
                "{raw:?} is not a six-digit hex colour like \"#1a5fb4\""
            ))
        }
    })
}

/// One line of text, not empty.
pub(super) fn line<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    parsed(deserializer, |raw| {
        let cleaned = crate::domain::text::single_line(raw);
        if cleaned.is_empty() {
            Err("it is empty".into())
        } else {
            Ok(cleaned)
        }
    })
}

/// Letters, digits, '-', '_' or '.', and at least one: safe in a header, a path and a log line.
pub(super) fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A name made for headers, paths and logs: letters, digits, '-', '_' or '.', lower case.
pub(super) fn token<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    parsed(deserializer, |raw| {
        let name = raw.trim().to_ascii_lowercase();
        if !is_name(&name) {
            return Err(format!("{raw:?} must be letters, digits, '-', '_' or '.'"));
        }
        Ok(name)
    })
}

pub(super) fn socket_address<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<SocketAddr, D::Error> {
    parsed(deserializer, |raw| {
        raw.parse()
            .map_err(|_| format!("{raw:?} is not an address:port"))
    })
}

pub(super) fn ip_addresses<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<IpAddr>, D::Error> {
    Vec::<String>::deserialize(deserializer)?
        .iter()
        .map(|raw| {
            raw.trim()
                .parse()
                .map_err(|_| D::Error::custom(format!("{raw:?} is not an IP address")))
        })
        .collect()
}

/// A whole number of seconds, as the `*_secs` settings are written.
pub(super) fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(Duration::from_secs)
}
