//! Parsers for the settings' values that have a shape but no domain type: an IMAP URL, an
//! http(s) URL, a colour, a line of text. Each error names the value; the caller adds the key.

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

pub(super) fn http_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|error| format!("{raw:?} is not a URL: {error}"))?;
    if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() {
        Ok(url)
    } else {
        Err(format!("{raw:?} is not an http or https URL"))
    }
}

pub(super) fn hex_color(raw: &str) -> Result<String, String> {
    let valid =
        raw.len() == 7 && raw.starts_with('#') && raw[1..].chars().all(|c| c.is_ascii_hexdigit());
    if valid {
        Ok(raw.to_ascii_lowercase())
    } else {
        Err(format!(
            "{raw:?} is not a six-digit hex colour like \"#1a5fb4\""
        ))
    }
}

pub(super) fn non_empty(raw: &str) -> Result<String, String> {
    let cleaned = crate::domain::text::single_line(raw);
    if cleaned.is_empty() {
        Err("it is empty".into())
    } else {
        Ok(cleaned)
    }
}
