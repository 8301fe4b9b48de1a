//! Where a counted story link stood in an edition (see `clicks`).

/// Where a story's link stood in the edition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkPlace {
    /// The first story of the edition: headline, "read more" and its picture.
    Lead,
    /// Any later story's headline and "read more".
    Section,
    /// A later story's picture.
    Thumbnail,
    /// Any link followed without a message tag: the web copy, or a test copy.
    Archive,
}

impl LinkPlace {
    pub const ALL: [Self; 4] = [Self::Lead, Self::Section, Self::Thumbnail, Self::Archive];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lead => "lead",
            Self::Section => "section",
            Self::Thumbnail => "thumbnail",
            Self::Archive => "archive",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|place| place.as_str() == raw)
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Lead => 1,
            Self::Section => 2,
            Self::Thumbnail => 3,
            Self::Archive => 4,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|place| place.code() == code)
    }
}
