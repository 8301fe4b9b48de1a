//! A note from the desk at the top of an edition ("Good morning. Today we ..."): a small, safe
//! subset of Markdown. Paragraphs, emphasis, strong emphasis and http(s) links are kept; every
//! other construct (headings, lists, quotes, code, raw HTML) is shown as its text, escaped.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use crate::domain::StoryUrl;
use crate::error::BadInput;

/// Longest note, in characters.
pub const MAX_CHARS: usize = 2_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Emphasis(String),
    Strong(String),
    Link { text: String, url: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskNote {
    pub paragraphs: Vec<Vec<Inline>>,
}

impl DeskNote {
    pub fn parse(markdown: &str) -> Result<Self, BadInput> {
        let chars = markdown.chars().count();
        if chars > MAX_CHARS {
            return Err(BadInput(format!(
                "the note has {chars} characters: at most {MAX_CHARS}"
            )));
        }
        if markdown.to_ascii_lowercase().contains("<script") {
            return Err(BadInput::new(
                "the note has a <script>: a note is text, emphasis and links only",
            ));
        }
        let mut paragraphs: Vec<Vec<Inline>> = Vec::new();
        let mut current: Vec<Inline> = Vec::new();
        let (mut emphasis, mut strong) = (0u32, 0u32);
        let mut link: Option<(String, String)> = None;
        let push_text = |current: &mut Vec<Inline>,
                         link: &mut Option<(String, String)>,
                         text: &str,
                         emphasis: u32,
                         strong: u32| {
            // Control characters (slot markers among them) never reach a template; spaces
            // between runs are the reader's, so nothing is trimmed.
            let text: String = text
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            if let Some((_, link_text)) = link.as_mut() {
                link_text.push_str(&text);
            } else if strong > 0 {
                current.push(Inline::Strong(text));
            } else if emphasis > 0 {
                current.push(Inline::Emphasis(text));
            } else {
                current.push(Inline::Text(text));
            }
        };
        for event in Parser::new(markdown) {
            match event {
                Event::Start(Tag::Emphasis) => emphasis += 1,
                Event::End(TagEnd::Emphasis) => emphasis = emphasis.saturating_sub(1),
                Event::Start(Tag::Strong) => strong += 1,
                Event::End(TagEnd::Strong) => strong = strong.saturating_sub(1),
                Event::Start(Tag::Link { dest_url, .. }) => {
                    link = Some((dest_url.to_string(), String::new()));
                }
                Event::End(TagEnd::Link) => {
                    if let Some((url, text)) = link.take() {
                        match StoryUrl::parse(&url) {
                            Ok(url) => current.push(Inline::Link {
                                text,
                                url: url.to_string(),
                            }),
                            // A link that is not http(s) keeps its words, not its target.
                            Err(_) => current.push(Inline::Text(text)),
                        }
                    }
                }
                Event::Text(text)
                | Event::Code(text)
                | Event::Html(text)
                | Event::InlineHtml(text) => {
                    push_text(&mut current, &mut link, &text, emphasis, strong);
                }
                Event::SoftBreak | Event::HardBreak => {
                    push_text(&mut current, &mut link, " ", emphasis, strong);
                }
                // A block ends: what it held is a paragraph of its own.
                Event::End(_) => {
                    if current
                        .iter()
                        .any(|inline| !text_of(inline).trim().is_empty())
                    {
                        paragraphs.push(std::mem::take(&mut current));
                    }
                    current.clear();
                }
                _ => {}
            }
        }
        if current
            .iter()
            .any(|inline| !text_of(inline).trim().is_empty())
        {
            paragraphs.push(current);
        }
        Ok(Self { paragraphs })
    }

    pub fn is_empty(&self) -> bool {
        self.paragraphs.is_empty()
    }
}

/// The words of an inline run, as a plain-text reader sees them.
pub fn text_of(inline: &Inline) -> &str {
    match inline {
        Inline::Text(text) | Inline::Emphasis(text) | Inline::Strong(text) => text,
        Inline::Link { text, .. } => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_emphasis_and_links_are_kept_and_the_rest_is_text() {
        let note = DeskNote::parse(
            "Good *morning*.\nToday **we** read [the budget](https://news.example.org/b).\n\n# Heading\n\n- item <b>x</b>\n\n[bad](javascript:alert(1))",
        )
        .expect("a note");
        assert_eq!(
            note.paragraphs[0],
            vec![
                Inline::Text("Good ".into()),
                Inline::Emphasis("morning".into()),
                Inline::Text(".".into()),
                Inline::Text(" ".into()),
                Inline::Text("Today ".into()),
                Inline::Strong("we".into()),
                Inline::Text(" read ".into()),
                Inline::Link {
                    text: "the budget".into(),
                    url: "https://news.example.org/b".into()
                },
                Inline::Text(".".into()),
            ]
        );
        assert_eq!(note.paragraphs[1], vec![Inline::Text("Heading".into())]);
        let words: String = note.paragraphs[2].iter().map(text_of).collect();
        assert_eq!(words, "item <b>x</b>");
        assert_eq!(note.paragraphs[3], vec![Inline::Text("bad".into())]);
    }

    #[test]
    fn scripts_and_long_notes_are_refused() {
        assert!(DeskNote::parse("hi <SCRIPT>alert(1)</script>").is_err());
        assert!(DeskNote::parse(&"a".repeat(MAX_CHARS + 1)).is_err());
        assert!(DeskNote::parse("").expect("empty").is_empty());
    }
}
