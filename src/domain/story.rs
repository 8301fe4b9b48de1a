use std::fmt;

use url::Url;

use crate::domain::text;
use crate::error::BadInput;

/// The link of a story: an absolute http or https URL, so no `javascript:` or `data:` link
/// can ever reach an email.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoryUrl(Url);

impl StoryUrl {
    pub fn parse(raw: &str) -> Result<Self, BadInput> {
        Self::parse_as(raw, "story URL")
    }

    /// Parses any http(s) link we fetch or show; `what` names it in errors ("feed URL").
    pub fn parse_as(raw: &str, what: &str) -> Result<Self, BadInput> {
        let trimmed = raw.trim();
        let invalid = |reason: &str| BadInput(format!("invalid {what} {trimmed:?}: {reason}"));
        if trimmed.is_empty() {
            return Err(BadInput(format!("{what} is empty")));
        }
        if trimmed.len() > 2048 {
            return Err(invalid("longer than 2048 characters"));
        }
        let url = Url::parse(trimmed).map_err(|error| invalid(&error.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("only http and https links are allowed"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("it has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("links with credentials are not allowed"));
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for StoryUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// A headline: one line of text, never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryTitle(String);

impl StoryTitle {
    const MAX_CHARS: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, BadInput> {
        let cleaned = text::single_line(raw);
        if cleaned.is_empty() {
            return Err(BadInput(format!(
                "invalid story title {raw:?}: it is empty"
            )));
        }
        Ok(Self(text::truncate_chars(cleaned, Self::MAX_CHARS)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The part of the digest a story belongs to. `news` ("Top stories") and `blog` ("From the
/// blogs") are the site's own; feeds may bring others, which are grouped under their own name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Section(String);

impl Section {
    pub const NEWS: &'static str = "news";
    pub const BLOG: &'static str = "blog";

    pub fn parse(raw: &str) -> Result<Self, BadInput> {
        let lowered = raw.trim().to_lowercase();
        let valid = !lowered.is_empty()
            && lowered.len() <= 32
            && lowered.starts_with(|c: char| c.is_ascii_lowercase())
            && lowered
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if valid {
            Ok(Self(lowered))
        } else {
            Err(BadInput(format!(
                "invalid section {raw:?}: use \"news\", \"blog\" or another lower-case word \
                 (letters, digits, '-', at most 32)"
            )))
        }
    }

    pub fn news() -> Self {
        Self(Self::NEWS.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Section {
    fn default() -> Self {
        Self::news()
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Page views the site counted for a story (the story API's `views`): never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Views(i64);

impl Views {
    const LIMIT: i64 = 1_000_000_000_000;

    pub fn parse(value: i64) -> Result<Self, BadInput> {
        if (0..=Self::LIMIT).contains(&value) {
            Ok(Self(value))
        } else {
            Err(BadInput(format!(
                "invalid views {value}: must be between 0 and {}",
                Self::LIMIT
            )))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// Reader votes for a story. Negative totals are possible where readers can vote down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Score(i64);

impl Score {
    const LIMIT: i64 = 1_000_000_000;

    pub fn parse(value: i64) -> Result<Self, BadInput> {
        // Not `abs()`: i64::MIN has no absolute value and wraps past the check.
        if (-Self::LIMIT..=Self::LIMIT).contains(&value) {
            Ok(Self(value))
        } else {
            Err(BadInput(format!(
                "invalid score {value}: must be between -{limit} and {limit}",
                limit = Self::LIMIT
            )))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for Score {
    type Error = BadInput;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

/// Optional one-line text about a story (author); cleaned, and absent when blank.
pub fn optional_line(raw: Option<&str>, max_chars: usize) -> Option<String> {
    raw.map(text::single_line)
        .filter(|value| !value.is_empty())
        .map(|value| text::truncate_chars(value, max_chars))
}

/// Optional summary text, paragraphs kept; absent when blank.
pub fn optional_summary(raw: Option<&str>) -> Option<String> {
    raw.map(text::multi_line)
        .filter(|value| !value.is_empty())
        .map(|value| text::truncate_chars(value, 2_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_are_stories() {
        assert!(StoryUrl::parse("https://news.example.org/a?b=1").is_ok());
        assert!(StoryUrl::parse("http://news.example.org").is_ok());
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,hi",
            "ftp://example.org/x",
            "/relative/path",
            "https://user:pw@example.org/",
        ] {
            let error = StoryUrl::parse(bad).expect_err(bad).to_string();
            assert!(error.contains(bad), "{error}");
        }
    }

    #[test]
    fn titles_lose_line_breaks() {
        assert_eq!(
            StoryTitle::parse("Big\r\nNews").expect("valid").as_str(),
            "Big News"
        );
        assert!(StoryTitle::parse("\r\n").is_err());
    }

    #[test]
    fn sections_are_lower_case_words() {
        assert_eq!(Section::parse("Blog").expect("valid").as_str(), "blog");
        assert!(Section::parse("sports-2").is_ok());
        assert!(Section::parse("<script>").is_err());
        assert!(Section::parse("").is_err());
    }

    #[test]
    fn scores_are_bounded() {
        assert_eq!(Score::parse(-5).expect("valid").get(), -5);
        assert!(Score::parse(i64::MAX).is_err());
        assert!(
            Score::parse(i64::MIN).is_err(),
            "i64::MIN, whose abs() overflows, is refused too"
        );
        assert!(Score::parse(-1_000_000_001).is_err());
    }
}

/// A picture's size in pixels, as its file or its feed says. Anything beyond 20,000 pixels a
/// side is taken as a mistake rather than a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ImageSize {
    pub width: u32,
    pub height: u32,
}

impl ImageSize {
    const LIMIT: u64 = 20_000;

    pub fn new(width: u64, height: u64) -> Option<Self> {
        let valid = (1..=Self::LIMIT).contains(&width) && (1..=Self::LIMIT).contains(&height);
        valid.then(|| Self {
            width: u32::try_from(width).unwrap_or(1),
            height: u32::try_from(height).unwrap_or(1),
        })
    }

    /// The height at `width` pixels wide, keeping the proportions.
    pub fn height_at(self, width: u32) -> u32 {
        let scaled = u64::from(self.height) * u64::from(width) / u64::from(self.width.max(1));
        u32::try_from(scaled.max(1)).unwrap_or(u32::MAX)
    }
}

/// A story's picture as it arrives: an http(s) link, with what the source says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewImage {
    pub url: StoryUrl,
    pub size: Option<ImageSize>,
    pub caption: Option<String>,
    pub credit: Option<String>,
}

impl NewImage {
    pub fn link(url: StoryUrl) -> Self {
        Self {
            url,
            size: None,
            caption: None,
            credit: None,
        }
    }
}
