//! Cleaning of free text that comes from outside (CLI flags, CSV cells, feeds, JSON).

/// Replaces control characters (CR and LF included) with spaces and collapses runs of white
/// space, so a title or name can never break a header line or a table row.
pub fn single_line(raw: &str) -> String {
    let mut cleaned = String::with_capacity(raw.len());
    let mut pending_space = false;
    for ch in raw.chars() {
        if ch.is_whitespace() || ch.is_control() {
            pending_space = true;
            continue;
        }
        if pending_space && !cleaned.is_empty() {
            cleaned.push(' ');
        }
        pending_space = false;
        cleaned.push(ch);
    }
    cleaned
}

/// At most `max` characters of `value`, with `…` where it was cut: for echoing bad input back in
/// a message or a page without repeating a megabyte of it.
pub fn shorten(value: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match value.char_indices().nth(max) {
        Some((cut, _)) => std::borrow::Cow::Owned(format!("{}…", &value[..cut])),
        None => std::borrow::Cow::Borrowed(value),
    }
}

/// Characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection list).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A CSV cell a spreadsheet shows as text: one that would start a formula gets a leading `'`.
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// The cell [`spreadsheet_safe`] protected, as it was: re-importing an export changes nothing.
pub fn from_spreadsheet_safe(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => cell,
    }
}

/// Like [`single_line`] but keeps paragraph breaks: for summaries, where line breaks carry
/// meaning and the text never reaches a header.
pub fn multi_line(raw: &str) -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in raw.split('\n') {
        let line = single_line(line);
        if line.is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
            continue;
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&line);
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs.join("\n\n")
}

/// Shortens to at most `max` characters, on a character boundary.
pub fn truncate_chars(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_strips_cr_lf_and_controls() {
        assert_eq!(
            single_line("  Breaking\r\nBcc: x@y.z\t\u{7}news "),
            "Breaking Bcc: x@y.z news"
        );
    }

    #[test]
    fn multi_line_keeps_paragraphs() {
        assert_eq!(multi_line("one\r\ntwo\n\n\n three "), "one two\n\nthree");
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate_chars("héllo".into(), 2), "hé");
        assert_eq!(truncate_chars("hi".into(), 5), "hi");
    }
}
