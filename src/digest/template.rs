//! A rendered edition with holes for what differs per subscriber. The templates run once per
//! edition; filling the holes is string concatenation, so a personalised message costs
//! microseconds.

use std::fmt::Write as _;

/// What differs per subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// "Hello Ada," or "Hello," when no name is known, in English: editions built before lists
    /// had languages. Newer editions carry a [`Greeting`] in their own language.
    Greeting,
    /// The address the subscriber signed up with (footer: "... as ada@example.org").
    Email,
    /// The subscriber's one-click unsubscribe URL.
    UnsubscribeUrl,
    /// The end of every counted link: `/TAG` for a reader's message (a random value made for
    /// that message alone, see `clicks::link`), empty for the web copy and test copies.
    ClickTag,
}

// Control characters mark the slots: cleaned input text can never contain them (see
// `domain::text`), and catalogues with them are refused (`locale::catalogue`), so no story,
// setting or translation can forge a slot.
const OPEN: char = '\u{1}';
const CLOSE: char = '\u{2}';
const SEPARATOR: char = '\u{1f}';
const GREETING: &str = "greeting";

/// The greeting in the edition's language: `before` NAME `after` when the reader gave a name,
/// else `anonymous` ("مرحبًا أحمد،" / "مرحبًا،").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    pub before: String,
    pub after: String,
    pub anonymous: String,
}

impl Greeting {
    /// The greeting from a message formatted with `name_marker` where the name goes.
    pub fn from_messages(named: &str, name_marker: &str, anonymous: String) -> Self {
        let (before, after) = named.split_once(name_marker).unwrap_or((named, ""));
        Self {
            before: before.to_string(),
            after: after.to_string(),
            anonymous,
        }
    }

    fn english() -> Self {
        Self {
            before: "Hello ".into(),
            after: ",".into(),
            anonymous: "Hello,".into(),
        }
    }

    /// The marker a template writes where the greeting goes.
    pub fn marker(&self) -> String {
        format!(
            "{OPEN}{GREETING}{SEPARATOR}{}{SEPARATOR}{}{SEPARATOR}{}{CLOSE}",
            self.before, self.after, self.anonymous
        )
    }

    fn parse(inside: &str) -> Option<Self> {
        let mut parts = inside
            .strip_prefix(GREETING)?
            .strip_prefix(SEPARATOR)?
            .split(SEPARATOR);
        let greeting = Self {
            before: parts.next()?.to_string(),
            after: parts.next()?.to_string(),
            anonymous: parts.next()?.to_string(),
        };
        parts.next().is_none().then_some(greeting)
    }

    /// The greeting for a reader with this name (or none), raw.
    pub fn for_reader(&self, name: Option<&str>) -> String {
        match name {
            Some(name) => format!("{}{name}{}", self.before, self.after),
            None => self.anonymous.clone(),
        }
    }
}

impl Slot {
    const ALL: [Self; 4] = [
        Self::Greeting,
        Self::Email,
        Self::UnsubscribeUrl,
        Self::ClickTag,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Greeting => "greeting",
            Self::Email => "email",
            Self::UnsubscribeUrl => "unsubscribe_url",
            Self::ClickTag => "click_tag",
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
    Greeting(Greeting),
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
    /// `/TAG` or empty: see [`Slot::ClickTag`].
    pub click_tag: &'a str,
}

impl SlotValues<'_> {
    pub fn raw(&self, slot: Slot) -> std::borrow::Cow<'_, str> {
        match slot {
            Slot::Greeting => Greeting::english().for_reader(self.name).into(),
            Slot::Email => self.email.into(),
            Slot::UnsubscribeUrl => self.unsubscribe_url.into(),
            Slot::ClickTag => self.click_tag.into(),
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
                let inside = &after[..end];
                Slot::ALL
                    .into_iter()
                    .find(|slot| slot.name() == inside)
                    .map(Segment::Slot)
                    .or_else(|| Greeting::parse(inside).map(Segment::Greeting))
                    .map(|segment| (segment, end))
            });
            match slot {
                Some((segment, end)) => {
                    if start > 0 {
                        segments.push(Segment::Literal(rest[..start].to_string()));
                    }
                    segments.push(segment);
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

    /// Whether the part has counted links, whose tag each message fills.
    pub fn has_slot(&self, wanted: Slot) -> bool {
        self.segments
            .iter()
            .any(|segment| matches!(segment, Segment::Slot(slot) if *slot == wanted))
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
                Segment::Greeting(greeting) => out.push_str(&greeting.marker()),
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
                    Segment::Slot(_) | Segment::Greeting(_) => 64,
                })
                .sum(),
        );
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Slot(slot) => push_value(&mut out, kind, &values.raw(*slot)),
                Segment::Greeting(greeting) => {
                    push_value(&mut out, kind, &greeting.for_reader(values.name));
                }
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
        click_tag: "/tag",
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
    fn greetings_carry_their_language_and_escape_the_name() {
        let greeting =
            Greeting::from_messages("مرحبًا \u{2068}NAME\u{2069}،", "NAME", "مرحبًا،".into());
        let marked = format!("<p>{} …</p>", greeting.marker());
        let template = Template::parse(&marked);
        assert_eq!(template.marked(), marked);
        assert_eq!(
            template.fill(Kind::Html, &VALUES),
            "<p>مرحبًا \u{2068}&lt;Ada &amp; Co&gt;\u{2069}، …</p>"
        );
        let anonymous = SlotValues {
            name: None,
            ..VALUES
        };
        assert_eq!(template.fill(Kind::Text, &anonymous), "<p>مرحبًا، …</p>");
        // Editions stored before languages keep their English greeting.
        let legacy = Template::parse(&format!("{} x", Slot::Greeting.marker()));
        assert_eq!(legacy.fill(Kind::Text, &VALUES), "Hello <Ada & Co>, x");
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
