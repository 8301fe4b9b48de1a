//! The plain-text part: the same edition written for reading as text, wrapped at 72 columns.

use std::fmt::Write as _;

use super::DigestView;
use crate::digest::template::Slot;

const WIDTH: usize = 72;

fn underline(out: &mut String, heading: &str, rule: char) {
    let length = heading.chars().count();
    let _ = writeln!(out, "{heading}\n{}", rule.to_string().repeat(length));
}

fn wrapped(out: &mut String, text: &str, indent: &str) {
    let options = textwrap::Options::new(WIDTH)
        .initial_indent(indent)
        .subsequent_indent(indent);
    for line in textwrap::wrap(text, options) {
        let _ = writeln!(out, "{line}");
    }
}

pub fn render(view: &DigestView<'_>) -> String {
    let mut out = String::new();
    underline(&mut out, &view.brand.name, '=');
    let _ = writeln!(out, "{} - {}\n", view.list_title, view.date_label);
    let _ = writeln!(
        out,
        "{} here are today's top stories.\n",
        Slot::Greeting.marker()
    );

    let mut number = 0;
    for section in view.sections {
        out.push('\n');
        underline(&mut out, &section.heading.to_uppercase(), '-');
        out.push('\n');
        for story in &section.stories {
            number += 1;
            let label = format!("{number}. ");
            let indent = " ".repeat(label.len());
            let options = textwrap::Options::new(WIDTH)
                .initial_indent(&label)
                .subsequent_indent(&indent);
            for line in textwrap::wrap(&story.title, options) {
                let _ = writeln!(out, "{line}");
            }
            if let Some(author) = &story.author {
                wrapped(&mut out, &format!("By {author}"), &indent);
            }
            if let Some(summary) = &story.summary {
                for paragraph in summary.split("\n\n") {
                    out.push('\n');
                    wrapped(&mut out, paragraph, &indent);
                }
            }
            let _ = writeln!(out, "\n{indent}{}\n", story.url);
        }
    }

    let _ = writeln!(out, "\n-- ");
    wrapped(
        &mut out,
        &format!(
            "You receive {} from {} because you subscribed as {}.",
            view.list_title,
            view.brand.name,
            Slot::Email.marker()
        ),
        "",
    );
    let _ = writeln!(out, "\nView in your browser: {}", view.archive_url);
    let _ = writeln!(out, "Unsubscribe: {}\n", Slot::UnsubscribeUrl.marker());
    wrapped(&mut out, &view.brand.postal_address, "");
    out
}
