//! `[dkim]`: the keys messages are signed with. The file names one key's three settings, and
//! optionally a second key's two; the program sees a key and its optional second.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

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

/// The section as written: every key is optional, and which go together is checked here.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Written {
    selector: Option<String>,
    domain: Option<String>,
    private_key_file: Option<PathBuf>,
    second_selector: Option<String>,
    second_private_key_file: Option<PathBuf>,
}

/// `[dkim]` as `None` (not signing) or a complete key.
pub(super) fn section<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DkimSettings>, D::Error> {
    let written = Written::deserialize(deserializer)?;
    let (selector, domain, private_key_file) =
        match (written.selector, written.domain, written.private_key_file) {
            (None, None, None) => return Ok(None),
            (Some(selector), Some(domain), Some(file)) => (selector, domain, file),
            _ => {
                return Err(serde::de::Error::custom(
                    "selector, domain and private_key_file go together",
                ))
            }
        };
    let second = match (written.second_selector, written.second_private_key_file) {
        (None, None) => None,
        (Some(selector), Some(private_key_file)) => Some(DkimKeySettings {
            selector,
            private_key_file,
        }),
        _ => {
            return Err(serde::de::Error::custom(
                "second_selector and second_private_key_file go together",
            ))
        }
    };
    Ok(Some(DkimSettings {
        selector,
        domain,
        private_key_file,
        second,
    }))
}
