//! Mailing-list headers lettre does not ship: List-Id (RFC 2919), List-Unsubscribe (RFC 2369),
//! List-Unsubscribe-Post (RFC 8058) and Auto-Submitted (RFC 3834). Values go through lettre's
//! encoder, never string concatenation into the header block.

use lettre::message::header::{Header, HeaderName, HeaderValue};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `List-Id: Morning Briefing <morning.example.org>`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListId {
    phrase: String,
    id: String,
}

impl ListId {
    /// `title` becomes the phrase (ASCII specials that would end a phrase, controls and
    /// direction marks are dropped; letters and marks of every script stay, and lettre writes
    /// non-ASCII words as RFC 2047 encoded words); the id is `slug.domain`.
    pub fn new(title: &str, slug: &str, domain: &str) -> Self {
        let phrase: String = title
            .chars()
            .filter(|c| {
                let special = c.is_ascii_punctuation() && !"!#$%&'*+-/=?^_`{|}~".contains(*c);
                let invisible = c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
                !special && !invisible
            })
            .collect();
        Self {
            phrase: phrase.split_whitespace().collect::<Vec<_>>().join(" "),
            id: format!("{slug}.{domain}"),
        }
    }
}

impl Header for ListId {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Id")
    }

    fn parse(s: &str) -> Result<Self, BoxError> {
        let (phrase, rest) = s.rsplit_once('<').ok_or("List-Id without <id>")?;
        let id = rest.strip_suffix('>').ok_or("List-Id without closing >")?;
        Ok(Self {
            phrase: phrase.trim().to_string(),
            id: id.to_string(),
        })
    }

    fn display(&self) -> HeaderValue {
        let value = if self.phrase.is_empty() {
            format!("<{}>", self.id)
        } else {
            format!("{} <{}>", self.phrase, self.id)
        };
        HeaderValue::new(Self::name(), value)
    }
}

/// `List-Unsubscribe: <https://example.org/unsubscribe/TOKEN>`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListUnsubscribe(pub String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, BoxError> {
        let url = s
            .trim()
            .strip_prefix('<')
            .and_then(|s| s.strip_suffix('>'))
            .ok_or("expected <URL>")?;
        Ok(Self(url.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`: the receiver may unsubscribe with one
/// POST, without a page in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(s: &str) -> Result<Self, BoxError> {
        if s.trim() == "List-Unsubscribe=One-Click" {
            Ok(Self)
        } else {
            Err("expected List-Unsubscribe=One-Click".into())
        }
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}

/// `Auto-Submitted: auto-generated` keeps vacation auto-replies away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, BoxError> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_id_phrases_cannot_break_the_header() {
        let id = ListId::new("Morning <Briefing> \"Daily\"", "morning", "example.org");
        assert_eq!(
            id,
            ListId {
                phrase: "Morning Briefing Daily".into(),
                id: "morning.example.org".into()
            }
        );
    }
}
