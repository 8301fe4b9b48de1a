//! Reading one returned message: an RFC 3464 delivery status notification, an RFC 5965 abuse
//! report (ARF), an MTA's plain-text bounce, an auto-reply, or something else. mail-parser does
//! the MIME; the report parts' fields (`Action:`, `Status:`, `Feedback-Type:`) are header-style
//! lines read here. Nothing in a report is trusted to name a reader: that is VERP's job.

use mail_parser::{MessageParser, MimeHeaders, PartType};

pub use crate::domain::ReportKind;

/// The key fields of one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub kind: ReportKind,
    /// The address the report names (`Final-Recipient`, or the one a plain-text bounce quotes).
    pub recipient: Option<String>,
    /// The enhanced status code, e.g. `5.1.1`.
    pub status: Option<String>,
    pub diagnostic: Option<String>,
    pub feedback_type: Option<String>,
    pub message_id: Option<String>,
    /// The envelope and header addresses the report was sent to, where a VERP tag is sought
    /// first (the rest of the text is searched after them).
    pub addressed_to: Vec<String>,
    /// A plain-text bounce's copy of the returned message: it names a reader only by a tag
    /// found here, since anyone can write an MTA's words to the bounce address.
    pub quoted_copy: Option<String>,
}

impl Report {
    /// A report of `kind` with nothing else known yet.
    pub fn new(kind: ReportKind) -> Self {
        Self {
            kind,
            recipient: None,
            status: None,
            diagnostic: None,
            feedback_type: None,
            message_id: None,
            addressed_to: Vec::new(),
            quoted_copy: None,
        }
    }
}

/// Reads a returned message. Never fails: what cannot be read is `Unrecognised`.
pub fn read(raw: &[u8]) -> Report {
    let mut report = Report::new(ReportKind::Unrecognised);
    let Some(message) = MessageParser::default().parse(raw) else {
        return report;
    };
    report.message_id = message.message_id().map(str::to_string);
    for name in [
        "Delivered-To",
        "X-Original-To",
        "Envelope-To",
        "X-Envelope-To",
        "To",
    ] {
        for (header, value) in message.headers_raw() {
            if header.eq_ignore_ascii_case(name) {
                report.addressed_to.push(value.trim().to_string());
            }
        }
    }

    for part in message.parts.iter() {
        let Some(content_type) = part.content_type() else {
            continue;
        };
        let subtype = content_type
            .subtype()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !content_type.ctype().eq_ignore_ascii_case("message") {
            continue;
        }
        let fields = match &part.body {
            PartType::Text(text) => text.as_bytes(),
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => bytes.as_ref(),
            _ => continue,
        };
        let fields = String::from_utf8_lossy(fields);
        match subtype.as_str() {
            "delivery-status" | "global-delivery-status" => {
                read_delivery_status(&fields, &mut report);
                return report;
            }
            "feedback-report" => {
                read_feedback_report(&fields, &mut report);
                return report;
            }
            _ => {}
        }
    }

    let header = |name: &str| -> Option<String> {
        message
            .headers_raw()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_string())
    };
    let subject = message.subject().unwrap_or_default().to_ascii_lowercase();
    // An auto-reply repeats the edition's subject, and so its lead headline: no word a
    // headline can carry ("Returned mail piles up ...") may make it a bounce. What marks an
    // auto-reply decides first; a plain-text bounce must come from the MTA's own address.
    let precedence = header("Precedence")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let marked_as_auto_reply = header("X-Autoreply").is_some()
        || header("X-Autorespond").is_some()
        || header("X-Vacation").is_some()
        || header("X-Mailer")
            .is_some_and(|mailer| mailer.to_ascii_lowercase().contains("vacation"))
        || matches!(precedence.as_str(), "auto_reply" | "bulk" | "junk");
    // MTAs mark their bounces `Auto-Submitted: auto-replied` too (RFC 3834 asks it of both), so
    // that header alone tells an auto-reply only from a sender that is not the MTA.
    let auto_submitted =
        header("Auto-Submitted").is_some_and(|value| !value.to_ascii_lowercase().starts_with("no"));
    let from_the_mta = message
        .from()
        .and_then(|from| from.first())
        .and_then(|sender| sender.address())
        .is_some_and(is_mta_address);
    if marked_as_auto_reply || (auto_submitted && !from_the_mta) {
        report.kind = ReportKind::AutoReply;
        return report;
    }
    if from_the_mta {
        let explanation = message
            .body_text(0)
            .map(|text| text.into_owned())
            .unwrap_or_default();
        let (own_words, quote) = split_at_quote(&explanation);
        let mut quoted_copy = quote.to_string();
        for part in message.parts.iter() {
            if let PartType::Message(attached) = &part.body {
                quoted_copy.push('\n');
                quoted_copy.push_str(&String::from_utf8_lossy(attached.raw_message()));
            }
        }
        read_plain_bounce(own_words, &mut report);
        report.quoted_copy = Some(quoted_copy);
        return report;
    }
    let vacation_subject = [
        "out of office",
        "automatic reply",
        "auto:",
        "autoreply",
        "auto-reply",
        "vacation",
    ]
    .iter()
    .any(|words| subject.contains(words));
    if vacation_subject {
        report.kind = ReportKind::AutoReply;
    }
    report
}

/// `MAILER-DAEMON@host`, `postmaster@host`.
fn is_mta_address(address: &str) -> bool {
    let local_part = address
        .rsplit_once('@')
        .map_or(address, |(local, _)| local)
        .trim()
        .to_ascii_lowercase();
    matches!(local_part.as_str(), "mailer-daemon" | "postmaster")
}

/// A plain-text bounce's own words, and the copy of the returned message it quotes (from the
/// first line that starts the copy: a marker line, a quoted header, a `>` line).
fn split_at_quote(body: &str) -> (&str, &str) {
    const MARKERS: [&str; 7] = [
        "copy of the message",
        "below this line",
        "original message",
        "message headers follow",
        "undelivered message",
        "returned message",
        "original headers",
    ];
    const QUOTED_HEADERS: [&str; 8] = [
        "return-path:",
        "received:",
        "from:",
        "subject:",
        "message-id:",
        "date:",
        "to:",
        "dkim-signature:",
    ];
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let trimmed = line.trim_start().to_ascii_lowercase();
        let starts_the_copy = trimmed.starts_with('>')
            || QUOTED_HEADERS.iter().any(|name| trimmed.starts_with(name))
            || MARKERS.iter().any(|marker| trimmed.contains(marker));
        if starts_the_copy {
            return body.split_at(offset);
        }
        offset += line.len();
    }
    (body, "")
}

/// RFC 3464 fields: one per-message block, then a block per recipient. The first recipient
/// block that failed decides; a report whose every recipient was only delayed is a warning.
fn read_delivery_status(fields: &str, report: &mut Report) {
    let blocks = field_blocks(fields);
    let recipients: Vec<&Vec<(String, String)>> = blocks
        .iter()
        .filter(|block| {
            field(block, "Action").is_some() || field(block, "Final-Recipient").is_some()
        })
        .collect();
    let chosen = recipients
        .iter()
        .find(|block| field(block, "Action").is_some_and(|a| a.eq_ignore_ascii_case("failed")))
        .or(recipients.first());
    let Some(block) = chosen else {
        return;
    };
    report.recipient = field(block, "Final-Recipient")
        .or_else(|| field(block, "Original-Recipient"))
        .map(address_of);
    report.diagnostic = field(block, "Diagnostic-Code").map(|code| shorten(&code));
    report.status = field(block, "Status")
        .and_then(|status| status_code(&status))
        .or_else(|| report.diagnostic.as_deref().and_then(status_code));
    let action = field(block, "Action")
        .unwrap_or_default()
        .to_ascii_lowercase();
    report.kind = match action.as_str() {
        "failed" => classify_status(report.status.as_deref(), report.diagnostic.as_deref()),
        _ => ReportKind::Delayed,
    };
}

/// RFC 5965: `Feedback-Type: abuse` (or `fraud`) is a complaint; any other type is kept
/// without effect.
fn read_feedback_report(fields: &str, report: &mut Report) {
    let blocks = field_blocks(fields);
    let all: Vec<(String, String)> = blocks.into_iter().flatten().collect();
    let feedback_type = field(&all, "Feedback-Type").map(|t| t.to_ascii_lowercase());
    report.recipient = field(&all, "Original-Rcpt-To").map(address_of);
    report.kind = match feedback_type.as_deref() {
        Some("abuse" | "fraud") => ReportKind::Complaint,
        _ => ReportKind::Unrecognised,
    };
    report.feedback_type = feedback_type;
}

/// An MTA's bounce without a delivery-status part (qmail, older Exim, some gateways): the
/// status code or the wording in its own words (never in the copy it quotes) decides.
fn read_plain_bounce(body: &str, report: &mut Report) {
    let lower = body.to_ascii_lowercase();
    report.status = status_code(body);
    report.diagnostic = body
        .lines()
        .map(str::trim)
        .find(|line| {
            line.len() > 4
                && line.as_bytes()[0].is_ascii_digit()
                && matches!(line.as_bytes()[0], b'4' | b'5')
                && line.as_bytes()[1].is_ascii_digit()
                && line.as_bytes()[2].is_ascii_digit()
        })
        .map(shorten);
    report.recipient = body.lines().map(str::trim).find_map(|line| {
        let candidate = line.trim_matches(['<', '>', ':']).trim();
        (candidate.contains('@') && !candidate.contains(' ')).then(|| candidate.to_string())
    });
    let permanent_words = [
        "permanent error",
        "user unknown",
        "unknown user",
        "no such user",
        "does not exist",
        "mailbox unavailable",
        "address rejected",
        "recipient not found",
        "host or domain name not found",
    ];
    report.kind = match report.status.as_deref() {
        Some(_) => classify_status(report.status.as_deref(), report.diagnostic.as_deref()),
        None if permanent_words.iter().any(|words| lower.contains(words)) => ReportKind::Hard,
        None if lower.contains("temporary") || lower.contains("mailbox full") => ReportKind::Soft,
        None => ReportKind::Unrecognised,
    };
}

fn classify_status(status: Option<&str>, diagnostic: Option<&str>) -> ReportKind {
    let diagnostic = diagnostic.unwrap_or_default().to_ascii_lowercase();
    let full_mailbox = status.is_some_and(|s| s.ends_with(".2.2"))
        || diagnostic.contains("mailbox full")
        || diagnostic.contains("over quota");
    match status {
        _ if full_mailbox => ReportKind::Soft,
        Some(status) if status.starts_with('5') => ReportKind::Hard,
        Some(status) if status.starts_with('4') => ReportKind::Soft,
        _ if diagnostic.starts_with("smtp; 5") || diagnostic.starts_with('5') => ReportKind::Hard,
        _ => ReportKind::Soft,
    }
}

/// The first enhanced status code (`class.subject.detail`, class 2, 4 or 5) in `text`.
pub fn status_code(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    for (at, &first) in bytes.iter().enumerate() {
        if !matches!(first, b'2' | b'4' | b'5') || bytes.get(at + 1) != Some(&b'.') {
            continue;
        }
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'.') {
            continue;
        }
        let rest = &text[at + 2..];
        let subject: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if subject.is_empty() || subject.len() > 3 {
            continue;
        }
        let after = &rest[subject.len()..];
        let Some(after) = after.strip_prefix('.') else {
            continue;
        };
        let detail: String = after.chars().take_while(char::is_ascii_digit).collect();
        if detail.is_empty() || detail.len() > 3 {
            continue;
        }
        return Some(format!("{}.{subject}.{detail}", first as char));
    }
    None
}

/// `rfc822; user@example.org` → `user@example.org`.
fn address_of(value: String) -> String {
    let address = value.split_once(';').map_or(value.as_str(), |(_, a)| a);
    address.trim().trim_matches(['<', '>']).to_ascii_lowercase()
}

/// Diagnostics are printed and stored: one line, bounded.
fn shorten(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::domain::text::shorten(&line, 500).into_owned()
}

/// Header-style fields in blocks separated by blank lines, continuation lines unfolded.
fn field_blocks(text: &str) -> Vec<Vec<(String, String)>> {
    let mut blocks = Vec::new();
    let mut block: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !block.is_empty() {
                blocks.push(std::mem::take(&mut block));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = block.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            block.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    if !block.is_empty() {
        blocks.push(block);
    }
    blocks
}

fn field(block: &[(String, String)], name: &str) -> Option<String> {
    block
        .iter()
        .find(|(field, _)| field.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_are_found_where_mtas_write_them() {
        assert_eq!(
            status_code("smtp; 550 5.1.1 <a@b>: user unknown").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(status_code("Status: 4.2.2").as_deref(), Some("4.2.2"));
        assert_eq!(status_code("version 1.5.1.2 of 3.4.5"), None);
        assert_eq!(status_code("no code here"), None);
    }

    #[test]
    fn a_full_mailbox_is_soft_even_when_permanent() {
        assert_eq!(classify_status(Some("5.2.2"), None), ReportKind::Soft);
        assert_eq!(classify_status(Some("5.1.1"), None), ReportKind::Hard);
        assert_eq!(classify_status(Some("4.4.1"), None), ReportKind::Soft);
    }
}
