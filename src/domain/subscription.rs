use std::fmt;

use serde::Serialize;

use crate::domain::text;
use crate::error::BadInput;

/// Where a subscriber stands on one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionStatus {
    /// Signed up, not yet confirmed: never mailed a digest.
    Pending,
    /// Confirmed: gets every edition.
    Active,
    /// Withdrew consent: never mailed again unless they sign up anew.
    Unsubscribed,
    /// The address bounced permanently: mailing it again would hurt the sender's reputation.
    Bounced,
}

impl SubscriptionStatus {
    pub const ALL: [Self; 4] = [
        Self::Pending,
        Self::Active,
        Self::Unsubscribed,
        Self::Bounced,
    ];

    pub fn parse(raw: &str) -> Result<Self, BadInput> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == raw.trim().to_lowercase())
            .ok_or_else(|| {
                BadInput(format!(
                    "invalid status {raw:?}: use pending, active, unsubscribed or bounced"
                ))
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Unsubscribed => "unsubscribed",
            Self::Bounced => "bounced",
        }
    }
}

impl fmt::Display for SubscriptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How consent was given, kept with the subscription as GDPR asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsentSource {
    Cli,
    Import,
    Web,
}

impl ConsentSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cli => "cli",
            Self::Import => "import",
            Self::Web => "web",
        }
    }
}

impl TryFrom<String> for ConsentSource {
    type Error = BadInput;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "cli" => Ok(Self::Cli),
            "import" => Ok(Self::Import),
            "web" => Ok(Self::Web),
            other => Err(BadInput(format!("unknown consent source {other:?}"))),
        }
    }
}

/// A subscriber's name as they gave it: one line, at most 200 characters, absent when blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberName(String);

impl SubscriberName {
    pub fn parse(raw: &str) -> Option<Self> {
        let cleaned = text::single_line(raw);
        (!cleaned.is_empty()).then(|| Self(text::truncate_chars(cleaned, 200)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for status in SubscriptionStatus::ALL {
            assert_eq!(
                SubscriptionStatus::parse(status.as_str()).expect("valid"),
                status
            );
        }
        assert!(SubscriptionStatus::parse("gone")
            .expect_err("invalid")
            .to_string()
            .contains("\"gone\""));
    }

    #[test]
    fn names_are_single_lines() {
        assert_eq!(
            SubscriberName::parse(" Ada\r\nLovelace ")
                .expect("some")
                .as_str(),
            "Ada Lovelace"
        );
        assert!(SubscriberName::parse("  ").is_none());
    }
}
