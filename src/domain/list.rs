use std::fmt;

use crate::domain::text;
use crate::error::BadInput;

/// The short name of a mailing list, used on the command line, in URLs and in `List-Id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListSlug(String);

impl ListSlug {
    pub fn parse(raw: &str) -> Result<Self, BadInput> {
        let valid = !raw.is_empty()
            && raw.len() <= 63
            && raw.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && !raw.ends_with('-')
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if valid {
            Ok(Self(raw.to_string()))
        } else {
            Err(BadInput(format!(
                "invalid list slug {raw:?}: use 1-63 lower-case letters, digits and '-', \
                 starting with a letter or digit"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ListSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The human title of a list ("Morning Briefing"); one line, shown in `List-Id` and the email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListTitle(String);

impl ListTitle {
    pub fn parse(raw: &str) -> Result<Self, BadInput> {
        let cleaned = text::single_line(raw);
        if cleaned.is_empty() {
            return Err(BadInput(format!("invalid list title {raw:?}: it is empty")));
        }
        if cleaned.chars().count() > 200 {
            return Err(BadInput(format!(
                "invalid list title {raw:?}: longer than 200 characters"
            )));
        }
        Ok(Self(cleaned))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many stories one edition of a list carries at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "i64")]
pub struct MaxStories(u32);

impl MaxStories {
    pub const MAX: u32 = 100;

    pub fn parse(value: i64) -> Result<Self, BadInput> {
        match u32::try_from(value) {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(BadInput(format!(
                "invalid max stories {value}: must be between 1 and {}",
                Self::MAX
            ))),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for MaxStories {
    type Error = BadInput;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lower_case_words() {
        assert!(ListSlug::parse("morning-briefing").is_ok());
        assert!(ListSlug::parse("daily2").is_ok());
        for bad in ["", "Morning", "-x", "x-", "a b", "a/b", "ä"] {
            let error = ListSlug::parse(bad).expect_err(bad).to_string();
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
    }

    #[test]
    fn titles_are_single_lines() {
        assert_eq!(
            ListTitle::parse(" Daily\r\nNews ").expect("valid").as_str(),
            "Daily News"
        );
        assert!(ListTitle::parse(" \n ").is_err());
    }

    #[test]
    fn max_stories_is_bounded() {
        assert_eq!(MaxStories::parse(10).expect("valid").get(), 10);
        assert!(MaxStories::parse(0).is_err());
        assert!(MaxStories::parse(101).is_err());
        assert!(MaxStories::parse(-3).is_err());
    }
}
