//! A rendered edition with holes for what differs per subscriber. The templates run once per
//! edition; filling the holes is string concatenation, so a personalised message costs
//! microseconds.

use std::fmt::Write as _;

/// What differs per subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// "Hello Ada," or "Hello," when no name is known.
    Greeting,
    /// The address the subscriber signed up with (footer: "... as ada@example.org").
    Email,
    /// The subscriber's one-click unsubscribe URL.
    UnsubscribeUrl,
}

// Control characters mark the slots: cleaned input text can never contain them (see
// `domain::text`), so no story or setting can forge a slot.
const OPEN: char = '\u{1}';
const CLOSE: char = '\u{2}';

impl Slot {
    const ALL: [Self; 3] = [Self::Greeting, Self::Email, Self::UnsubscribeUrl];

    fn name(self) -> &'static str {
        match self {
            Self::Greeting => "greeting",
            Self::Email => "email",
            Self::UnsubscribeUrl => "unsubscribe_url",
        }
    }

    /// The marker a template writes where this slot goes.
    pub fn marker(self) -> String {
        format!("{OPEN}{}{CLOSE}", self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Slot(Slot),
}

/// A rendered part (HTML or text) split at its slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
}

/// The per-subscriber values, raw (HTML escaping is the template's business).
#[derive(Debug, Clone, Copy)]
pub struct SlotValues<'a> {
    pub name: Option<&'a str>,
    pub email: &'a str,
    pub unsubscribe_url: &'a str,
}

impl SlotValues<'_> {
    pub fn raw(&self, slot: Slot) -> std::borrow::Cow<'_, str> {
        match slot {
            Slot::Greeting => match self.name {
                Some(name) => format!("Hello {name},").into(),
                None => "Hello,".into(),
            },
            Slot::Email => self.email.into(),
            Slot::UnsubscribeUrl => self.unsubscribe_url.into(),
        }
    }
}

/// Whether a part is HTML (slot values are escaped) or plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Html,
    Text,
}

impl Template {
    /// Splits marked output of a template. Unknown markers stay literal text.
    pub fn parse(marked: &str) -> Self {
        let mut segments = Vec::new();
        let mut rest = marked;
        while let Some(start) = rest.find(OPEN) {
            let after = &rest[start + OPEN.len_utf8()..];
            let slot = after.find(CLOSE).and_then(|end| {
                Slot::ALL
                    .into_iter()
                    .find(|slot| slot.name() == &after[..end])
                    .map(|slot| (slot, end))
            });
            match slot {
                Some((slot, end)) => {
                    if start > 0 {
                        segments.push(Segment::Literal(rest[..start].to_string()));
                    }
                    segments.push(Segment::Slot(slot));
                    rest = &after[end + CLOSE.len_utf8()..];
                }
                None => {
                    segments.push(Segment::Literal(
                        rest[..start + OPEN.len_utf8()].to_string(),
                    ));
                    rest = after;
                }
            }
        }
        if !rest.is_empty() {
            segments.push(Segment::Literal(rest.to_string()));
        }
        Self { segments }
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The marked form, for storage; `parse` reads it back.
    pub fn marked(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Slot(slot) => out.push_str(&slot.marker()),
            }
        }
        out
    }

    /// The part for one subscriber.
    pub fn fill(&self, kind: Kind, values: &SlotValues<'_>) -> String {
        let mut out = String::with_capacity(
            self.segments
                .iter()
                .map(|s| match s {
                    Segment::Literal(text) => text.len(),
                    Segment::Slot(_) => 64,
                })
                .sum(),
        );
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Slot(slot) => push_value(&mut out, kind, &values.raw(*slot)),
            }
        }
        out
    }
}

/// Appends a slot value, escaped for HTML when the part is HTML.
pub fn push_value(out: &mut String, kind: Kind, value: &str) {
    match kind {
        Kind::Text => out.push_str(value),
        Kind::Html => {
            let _ = write!(maud::Escaper::new(out), "{value}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUES: SlotValues<'static> = SlotValues {
        name: Some("<Ada & Co>"),
        email: "ada@example.org",
        unsubscribe_url: "https://h.example/unsubscribe/t?a=1&b=2",
    };

    #[test]
    fn markers_round_trip_and_fill() {
        let marked = format!(
            "<p>{}</p><a href=\"{}\">x</a> {}",
            Slot::Greeting.marker(),
            Slot::UnsubscribeUrl.marker(),
            Slot::Email.marker()
        );
        let template = Template::parse(&marked);
        assert_eq!(template.marked(), marked);
        assert_eq!(
            template.fill(Kind::Html, &VALUES),
            "<p>Hello &lt;Ada &amp; Co&gt;,</p><a href=\"https://h.example/unsubscribe/t?a=1&amp;b=2\">x</a> ada@example.org"
        );
        assert_eq!(Template::parse(&marked).fill(Kind::Text, &VALUES).as_str(),
            "<p>Hello <Ada & Co>,</p><a href=\"https://h.example/unsubscribe/t?a=1&b=2\">x</a> ada@example.org");
    }

    #[test]
    fn stray_markers_stay_literal() {
        let template = Template::parse("a\u{1}unknown\u{2}b\u{1}");
        assert_eq!(
            template.fill(Kind::Text, &VALUES),
            "a\u{1}unknown\u{2}b\u{1}"
        );
    }
}
