use std::fmt;

use crate::domain::EmailAddress;
use crate::error::BadInput;

/// Who mail comes from: `digest@example.org` or `Sports Desk <sports@example.org>`. The name,
/// when given, is what readers see; without one, `newsletter.name` is used.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Sender {
    name: Option<String>,
    address: EmailAddress,
}

impl Sender {
    pub fn parse(raw: &str) -> Result<Self, BadInput> {
        let raw = raw.trim();
        let Some(open) = raw.rfind('<') else {
            return Ok(Self {
                name: None,
                address: EmailAddress::parse(raw)?,
            });
        };
        let address = raw[open + 1..].strip_suffix('>').ok_or_else(|| {
            BadInput(format!(
                "sender {raw:?}: expected \"Name <address>\" or an address"
            ))
        })?;
        let name = raw[..open].trim().trim_matches('"').trim();
        if name.chars().any(|c| c.is_control() || c == '<' || c == '>') {
            return Err(BadInput(format!(
                "sender {raw:?}: the name holds control characters or angle brackets"
            )));
        }
        Ok(Self {
            name: (!name.is_empty()).then(|| name.to_string()),
            address: EmailAddress::parse(address)?,
        })
    }

    pub fn from_address(address: EmailAddress) -> Self {
        Self {
            name: None,
            address,
        }
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub fn address(&self) -> &EmailAddress {
        &self.address
    }
}

impl fmt::Display for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} <{}>", self.address),
            None => write!(f, "{}", self.address),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_addresses_and_named_senders_parse() {
        let bare = Sender::parse("Digest@Example.org").expect("bare");
        assert_eq!(
            (bare.name(), bare.address().as_str()),
            (None, "digest@example.org")
        );
        let named = Sender::parse("\"Sports Desk\" <sports@example.org>").expect("named");
        assert_eq!(named.name(), Some("Sports Desk"));
        assert_eq!(named.to_string(), "Sports Desk <sports@example.org>");
        assert_eq!(
            Sender::parse(&named.to_string()).expect("round trip"),
            named
        );
    }

    #[test]
    fn broken_senders_name_the_value() {
        for raw in [
            "Desk <sports@example.org",
            "Desk <not-an-address>",
            "A\r\nB <a@example.org>",
        ] {
            let error = Sender::parse(raw).expect_err(raw).to_string();
            assert!(
                error.contains("sender") || error.contains("invalid"),
                "{error}"
            );
        }
    }
}
