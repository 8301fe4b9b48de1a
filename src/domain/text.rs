//! Cleaning of free text that comes from outside (CLI flags, CSV cells, feeds, JSON).

/// Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): one left
/// open in a headline (U+202E, RIGHT-TO-LEFT OVERRIDE) turns the text after it around, in the
/// mail and on the archive page. The marks U+200E and U+200F open nothing and are kept.
fn is_bidi_control(ch: char) -> bool {
    matches!(ch, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Replaces control characters (CR and LF included) with spaces, drops bidirectional
/// controls, and collapses runs of white space, so a title or name can never break a header
/// line or a table row, or turn the text around it.
pub fn single_line(raw: &str) -> String {
    let mut cleaned = String::with_capacity(raw.len());
    let mut pending_space = false;
    for ch in raw.chars() {
        if is_bidi_control(ch) {
            continue;
        }
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

/// At most `max` characters of `text`: cut at a word (with `…` making the `max`-th) where a
/// word boundary lies in the second half, else mid-word.
pub fn cut_at_word(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let cut = truncate_chars(text, max.saturating_sub(1));
    let at_word = match cut.rfind(char::is_whitespace) {
        Some(space) if space > cut.len() / 2 => &cut[..space],
        _ => cut.as_str(),
    };
    format!("{}…", at_word.trim_end())
}

/// At most `max` characters of `text` for a preview line: cut at a word (with `…`) where a
/// word boundary is near, and with every bidirectional isolate it opened closed again, so the
/// text after it keeps its direction.
pub fn preview(text: String, max: usize) -> String {
    let mut line = cut_at_word(text, max);
    let opened = line
        .chars()
        .filter(|ch| matches!(ch, '\u{2066}'..='\u{2068}'))
        .count();
    let closed = line.chars().filter(|ch| *ch == '\u{2069}').count();
    for _ in closed..opened {
        line.push('\u{2069}');
    }
    line
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
    fn bidirectional_overrides_are_dropped_and_marks_kept() {
        assert_eq!(
            single_line("Price \u{202E}gnp.exe\u{202C} and \u{2067}عربي\u{2069} \u{200F}ok"),
            "Price gnp.exe and عربي \u{200F}ok"
        );
        assert_eq!(multi_line("a\u{202E}b\n\nc"), "ab\n\nc");
    }

    #[test]
    fn a_preview_is_cut_at_a_word_and_closes_its_isolates() {
        let line =
            "وأيضًا: \u{2068}BBC News: المطر يعود إلى عمّان · Central bank holds rates\u{2069}";
        let cut = preview(line.to_string(), 40);
        assert!(cut.chars().count() <= 41, "{cut}");
        assert!(cut.ends_with("…\u{2069}"), "{cut:?}");
        assert!(!cut.contains("عمّا…"), "cut at a word: {cut}");
        assert_eq!(preview("short".into(), 40), "short");
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
