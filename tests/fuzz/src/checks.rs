//! What must hold for any input to Herald's file parsers, whatever the bytes: no panic, every
//! record either accepted or refused with a line inside the input, and accepted records that
//! are what they claim to be. Shared by the fuzz targets and the replay test in the main suite.

use herald::bounces::report;
use herald::domain::EmailAddress;
use herald::import::{stories_json, subscribers_csv};

/// Line numbers a record of `data` can have: 1 to the number of lines.
fn lines_in(data: &[u8]) -> u64 {
    data.split(|b| *b == b'\n').count() as u64
}

/// `subscriber import` of arbitrary bytes.
pub fn csv_import(data: &[u8]) {
    let lines = lines_in(data);
    let Ok((rows, rejections)) =
        subscribers_csv::read_rows("fuzz.csv", Box::new(std::io::Cursor::new(data.to_vec())))
    else {
        // Refused as a whole (no header, no email column): nothing was read as a row.
        return;
    };
    let mut seen = std::collections::HashSet::new();
    for row in &rows {
        assert!(
            (2..=lines).contains(&row.line),
            "row line {} of {lines}",
            row.line
        );
        assert!(seen.insert(row.line), "line {} read twice", row.line);
        let again = EmailAddress::parse(row.email.as_str()).expect("an accepted address parses");
        assert_eq!(again, row.email, "an accepted address is normalised once");
    }
    for rejection in &rejections {
        assert!(
            (2..=lines).contains(&rejection.line),
            "rejection line {} of {lines}",
            rejection.line
        );
        assert!(
            seen.insert(rejection.line),
            "line {} both stored and refused",
            rejection.line
        );
        assert!(!rejection.reason.is_empty());
        // Reasons are printed to a terminal: bounded, whatever the line held.
        assert!(
            rejection.reason.len() < 1_000,
            "reason of {} bytes",
            rejection.reason.len()
        );
    }
}

/// `story import` (and the story API's reading) of arbitrary bytes.
pub fn story_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = lines_in(data);
    let Ok((stories, rejections)) = stories_json::parse("fuzz.json", text) else {
        return;
    };
    for story in &stories {
        a_story_as_claimed(story);
    }
    for rejection in &rejections {
        assert!(
            rejection.line <= lines,
            "rejection line {} of {lines}",
            rejection.line
        );
    }
}

/// A returned message of arbitrary bytes (`bounce ingest`, the mailbox readers): read without
/// panicking, into bounded fields.
pub fn bounce_report(data: &[u8]) {
    let report = report::read(data);
    if let Some(diagnostic) = &report.diagnostic {
        assert!(
            diagnostic.chars().count() <= 501,
            "diagnostic of {} chars",
            diagnostic.len()
        );
        assert!(!diagnostic.contains('\n'), "one line");
    }
    if let Some(status) = &report.status {
        assert!(
            status.len() <= 9 && status.split('.').count() == 3,
            "{status:?}"
        );
    }
}

/// A feed body of arbitrary bytes, as the poller reads it: never a panic (the poller would
/// lose the feed), and every story it yields has an http(s) link and a title.
pub fn feed(data: &[u8]) {
    let section = herald::domain::Section::parse("news").expect("section");
    let Ok((stories, _skipped)) =
        herald::feeds::parse(data, Some("https://feeds.example.org/feed.xml"), &section)
    else {
        return;
    };
    for story in &stories {
        a_story_as_claimed(story);
    }
}

/// What every accepted story is, whichever reader took it: an http(s) link and a title.
fn a_story_as_claimed(story: &herald::store::stories::NewStory) {
    let url = story.url.as_str();
    assert!(
        url.starts_with("http://") || url.starts_with("https://"),
        "{url}"
    );
    assert!(!story.title.as_str().trim().is_empty());
}
