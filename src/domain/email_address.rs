use std::fmt;

use crate::error::BadInput;

/// A subscriber's address: syntactically valid, deliverable by lettre, and normalised to lower
/// case so that uniqueness is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct EmailAddress(String);

const MAX_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, BadInput> {
        let candidate = raw.trim();
        let invalid = |reason: &str| {
            let shown = crate::domain::text::shorten(candidate, 100);
            BadInput(format!("invalid email address {shown:?}: {reason}"))
        };
        if candidate.is_empty() {
            return Err(BadInput::new("email address is empty"));
        }
        if candidate.chars().count() > MAX_LEN {
            return Err(invalid("longer than 254 characters"));
        }
        if candidate
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid("contains white space or control characters"));
        }
        let (local, domain) = match candidate.split_once('@') {
            None => return Err(invalid("missing '@'")),
            Some((_, domain)) if domain.contains('@') => return Err(invalid("more than one '@'")),
            Some(parts) => parts,
        };
        if local.is_empty() {
            return Err(invalid("nothing before the '@'"));
        }
        if local.len() > MAX_LOCAL_LEN {
            return Err(invalid("the part before '@' is longer than 64 characters"));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(invalid("misplaced '.' before the '@'"));
        }
        if domain.is_empty() {
            return Err(invalid("nothing after the '@'"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(invalid("the domain has no '.'"));
        }
        for label in &labels {
            let well_formed = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-');
            if !well_formed {
                return Err(invalid(&format!("bad domain part {label:?}")));
            }
        }
        // An internationalised domain is kept in its ASCII (punycode) form, the one SMTP servers
        // without SMTPUTF8 accept: `bücher.example` and `xn--bcher-kva.example` are one domain.
        let ascii_domain = idna::domain_to_ascii(domain)
            .map_err(|_| invalid(&format!("the domain {domain:?} is not a valid name")))?;
        let normalised = format!("{}@{}", local.to_lowercase(), ascii_domain);
        // lettre is what will put this address on the wire; anything it refuses is refused here.
        normalised
            .parse::<lettre::Address>()
            .map_err(|error| invalid(&error.to_string()))?;
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for EmailAddress {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internationalised_domains_are_one_address_in_punycode() {
        let unicode = EmailAddress::parse("User@Bücher.example").expect("unicode domain");
        let ascii = EmailAddress::parse("user@xn--bcher-kva.example").expect("punycode domain");
        assert_eq!(unicode, ascii);
        assert_eq!(unicode.as_str(), "user@xn--bcher-kva.example");
    }

    #[test]
    fn valid_addresses_are_normalised_to_lower_case() {
        let email = EmailAddress::parse("  Ursula.Le-Guin+news@Example.ORG ").expect("valid");
        assert_eq!(email.as_str(), "ursula.le-guin+news@example.org");
        assert_eq!(email.domain(), "example.org");
    }

    #[test]
    fn malformed_addresses_are_rejected_with_the_value_named() {
        for (raw, reason) in [
            ("", "empty"),
            ("plainaddress", "missing '@'"),
            ("a@@example.org", "more than one '@'"),
            ("a@b@example.org", "more than one '@'"),
            ("@example.org", "nothing before"),
            ("someone@", "nothing after"),
            ("someone@localhost", "no '.'"),
            ("some one@example.org", "white space"),
            ("a..b@example.org", "misplaced '.'"),
            ("a@-example.org", "bad domain part"),
            ("a@example..org", "bad domain part"),
        ] {
            let error = EmailAddress::parse(raw).expect_err(raw).to_string();
            assert!(error.contains(reason), "{raw:?}: {error}");
            if !raw.is_empty() {
                assert!(error.contains(raw.trim()), "{raw:?} not named in {error}");
            }
        }
    }
}
