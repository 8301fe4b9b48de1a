//! The plain-text part: the same edition written for reading as text, wrapped at 72 columns.
//! Right-to-left editions keep logical order (a terminal with bidi support lays them out);
//! each of their lines starts with a right-to-left mark so such a terminal takes the line as
//! right-to-left even when it opens with a Latin name, and links stand on lines of their own.

use std::fmt::Write as _;

use super::DigestView;
use crate::digest::template::Slot;
use crate::domain::desk_note::{text_of, Inline};

const WIDTH: usize = 72;
const RIGHT_TO_LEFT_MARK: char = '\u{200f}';

struct Text {
    out: String,
    right_to_left: bool,
}

impl Text {
    fn line(&mut self, line: &str) {
        if self.right_to_left && !line.is_empty() {
            self.out.push(RIGHT_TO_LEFT_MARK);
        }
        let _ = writeln!(self.out, "{line}");
    }

    fn blank(&mut self) {
        self.out.push('\n');
    }

    /// A link, alone on its line and never wrapped.
    fn link(&mut self, indent: &str, url: &str) {
        let _ = writeln!(self.out, "{indent}{url}");
    }

    fn underline(&mut self, heading: &str, rule: char) {
        let length = textwrap::core::display_width(heading);
        self.line(heading);
        self.line(&rule.to_string().repeat(length));
    }

    fn wrapped(&mut self, text: &str, first: &str, rest: &str) {
        let options = textwrap::Options::new(WIDTH)
            .initial_indent(first)
            .subsequent_indent(rest);
        for line in textwrap::wrap(text, options) {
            self.line(&line);
        }
    }
}

pub fn render(view: &DigestView<'_>) -> String {
    let locale = view.locale;
    let mut text = Text {
        out: String::new(),
        right_to_left: locale.is_right_to_left(),
    };
    text.underline(&view.brand.name, '=');
    text.line(&format!("{} - {}", view.list_title, view.date_label));
    text.blank();
    text.line(&format!(
        "{} {}",
        view.greeting.marker(),
        locale.text("digest-intro")
    ));
    text.blank();
    if let Some(note) = view.note {
        for paragraph in &note.paragraphs {
            let words: String = paragraph.iter().map(text_of).collect();
            text.wrapped(words.trim(), "", "");
            for inline in paragraph {
                if let Inline::Link { url, .. } = inline {
                    text.link("", url);
                }
            }
            text.blank();
        }
    }

    let mut number = 0;
    for section in view.sections {
        text.blank();
        text.underline(&section.heading.to_uppercase(), '-');
        text.blank();
        for story in &section.stories {
            number += 1;
            let label = format!("{}. ", locale.number(number));
            let indent = " ".repeat(textwrap::core::display_width(&label));
            text.wrapped(&story.title, &label, &indent);
            if let Some(author) = &story.author {
                let by = locale.format("digest-by", &[("author", author.as_str().into())]);
                text.wrapped(&by, &indent, &indent);
            }
            if let Some(summary) = &story.summary {
                for paragraph in summary.split("\n\n") {
                    text.blank();
                    text.wrapped(paragraph, &indent, &indent);
                }
            }
            text.blank();
            text.link(&indent, &story.link);
            text.blank();
        }
    }

    let _ = writeln!(text.out, "\n-- ");
    let why = locale.format(
        "digest-footer-why",
        &[
            ("list", view.list_title.into()),
            ("newsletter", view.brand.name.as_str().into()),
            ("email", Slot::Email.marker().into()),
        ],
    );
    text.wrapped(&why, "", "");
    text.blank();
    text.line(&locale.text("digest-text-view"));
    text.link("", view.archive_url);
    text.line(&locale.text("digest-text-unsubscribe"));
    text.link("", &Slot::UnsubscribeUrl.marker());
    text.blank();
    text.wrapped(&view.brand.postal_address, "", "");
    text.out
}
