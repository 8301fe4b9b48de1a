use std::fmt;

use crate::error::BadInput;

/// The token in a confirm or unsubscribe link: which subscription, and a secret of 128 random
/// bits (hex) stored with it, one per purpose. The ids find the row; the secret proves the link
/// came from our email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionToken {
    pub list_id: i64,
    pub subscriber_id: i64,
    secret: String,
}

impl SubscriptionToken {
    pub fn new(list_id: i64, subscriber_id: i64, secret: &str) -> Self {
        Self {
            list_id,
            subscriber_id,
            secret: secret.to_string(),
        }
    }

    pub fn parse(raw: &str) -> Result<Self, BadInput> {
        let invalid = || BadInput(format!("invalid link token {raw:?}"));
        let mut parts = raw.split('.');
        let (Some(list), Some(subscriber), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let list_id = i64::from_str_radix(list, 16).map_err(|_| invalid())?;
        let subscriber_id = i64::from_str_radix(subscriber, 16).map_err(|_| invalid())?;
        if secret.len() != 32 || !secret.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        Ok(Self {
            list_id,
            subscriber_id,
            secret: secret.to_ascii_lowercase(),
        })
    }

    /// Compares the secret with the stored one in time that does not depend on where they differ.
    pub fn matches(&self, stored_secret: &str) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(
            self.secret.as_bytes(),
            stored_secret.as_bytes(),
        )
        .is_ok()
    }
}

impl fmt::Display for SubscriptionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:x}.{:x}.{}",
            self.list_id, self.subscriber_id, self.secret
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_check_their_secret() {
        let token = SubscriptionToken::new(3, 4660, "0123456789abcdef0123456789abcdef");
        let parsed = SubscriptionToken::parse(&token.to_string()).expect("valid");
        assert_eq!(parsed, token);
        assert_eq!(token.to_string(), "3.1234.0123456789abcdef0123456789abcdef");
        assert!(parsed.matches("0123456789abcdef0123456789abcdef"));
        assert!(!parsed.matches("0123456789abcdef0123456789abcdee"));
        assert!(!parsed.matches(""));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in [
            "",
            "1.2",
            "1.2.3.4",
            "x.2.0123456789abcdef0123456789abcdef",
            "1.2.short",
        ] {
            assert!(SubscriptionToken::parse(bad).is_err(), "{bad}");
        }
    }
}
