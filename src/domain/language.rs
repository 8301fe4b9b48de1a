use std::fmt;

use unic_langid::{CharacterDirection, LanguageIdentifier};

use crate::error::BadInput;

/// A list's language, as a BCP 47 tag ("en", "ar-JO", "fr-CA"), kept in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Language(LanguageIdentifier);

impl Language {
    pub fn parse(raw: &str) -> Result<Self, BadInput> {
        let trimmed = raw.trim();
        let id: LanguageIdentifier = trimmed.parse().map_err(|_| {
            BadInput(format!(
                "invalid language {raw:?}: give a BCP 47 tag such as en, ar, fr-CA"
            ))
        })?;
        if trimmed.is_empty() || id.language.is_empty() {
            return Err(BadInput(format!(
                "invalid language {raw:?}: give a BCP 47 tag such as en, ar, fr-CA"
            )));
        }
        Ok(Self(id))
    }

    pub fn english() -> Self {
        // A constant tag: parsing it cannot fail.
        Self("en".parse().unwrap_or_default())
    }

    /// The primary language subtag: "ar" for "ar-JO".
    pub fn primary(&self) -> &str {
        self.0.language.as_str()
    }

    /// The region subtag, if the tag has one: "JO" for "ar-JO".
    pub fn region(&self) -> Option<&str> {
        self.0.region.as_ref().map(|region| region.as_str())
    }

    pub fn is_right_to_left(&self) -> bool {
        self.0.character_direction() == CharacterDirection::RTL
    }

    pub fn identifier(&self) -> &LanguageIdentifier {
        &self.0
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_canonical_and_know_their_direction() {
        let arabic = Language::parse("ar-jo").expect("valid");
        assert_eq!(arabic.to_string(), "ar-JO");
        assert!(arabic.is_right_to_left());
        assert_eq!(arabic.region(), Some("JO"));
        assert!(Language::parse("he").expect("valid").is_right_to_left());
        assert!(!Language::parse("fr-CA").expect("valid").is_right_to_left());
        assert!(Language::parse("").is_err());
        assert!(Language::parse("not a tag").is_err());
    }
}
