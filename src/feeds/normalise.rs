//! Feeds still in the wild that feed-rs cannot read as they are, brought into a shape it can:
//! UTF-16 in either byte order, Atom 0.3, RSS 0.90 and RSS 2.0 declared in a default namespace.
//! Each rewrite is narrow (a namespace URI, a handful of renamed elements) and happens only when
//! the body declares the old format, so a current feed passes through untouched.

use std::borrow::Cow;

use super::repair;

const ATOM_03: &str = "http://purl.org/atom/ns#";
const ATOM_10: &str = "http://www.w3.org/2005/Atom";
const RSS_090: &str = "http://my.netscape.com/rdf/simple/0.9/";
const RSS_10: &str = "http://purl.org/rss/1.0/";
/// Atom 0.3 element names and their Atom 1.0 successors.
const ATOM_03_RENAMES: [(&str, &str); 4] = [
    ("issued", "published"),
    ("modified", "updated"),
    ("tagline", "subtitle"),
    ("copyright", "rights"),
];

/// The body as UTF-8 in a format feed-rs reads.
pub fn normalise(body: &[u8]) -> Cow<'_, [u8]> {
    let body = match utf8_body(body) {
        Cow::Borrowed(body) => legacy_encoding_to_utf8(body),
        owned => owned,
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        // Not UTF-8 (a declared legacy encoding, or garbage): the parser decides.
        return body;
    };
    match legacy_format(text) {
        Some(rewritten) => Cow::Owned(rewritten.into_bytes()),
        None => body,
    }
}

fn legacy_format(text: &str) -> Option<String> {
    // On a character boundary: a feed in Arabic, Russian or Chinese has multi-byte characters
    // anywhere around byte 4,096.
    let head = &text[..text.floor_char_boundary(text.len().min(4096))];
    let mut rewritten = None::<String>;
    let mut replace = |from: &str, to: &str| {
        let current = rewritten.as_deref().unwrap_or(text);
        if current.contains(from) {
            rewritten = Some(current.replace(from, to));
        }
    };
    if head.contains(ATOM_03) {
        replace(ATOM_03, ATOM_10);
        for (old, new) in ATOM_03_RENAMES {
            replace(&format!("<{old}>"), &format!("<{new}>"));
            replace(&format!("<{old} "), &format!("<{new} "));
            replace(&format!("</{old}>"), &format!("</{new}>"));
        }
    }
    if head.contains(RSS_090) {
        replace(RSS_090, RSS_10);
    }
    for namespace in repair::RSS_20_NAMESPACES {
        if head.contains("<rss") {
            replace(&format!("xmlns=\"{namespace}\""), "");
            replace(&format!("xmlns='{namespace}'"), "");
        }
    }
    if repair::rss_needs_repair(head) {
        if let Some(repaired) = repair::repair(rewritten.as_deref().unwrap_or(text)) {
            rewritten = Some(repaired);
        }
    }
    rewritten
}

/// feed-rs (through quick-xml) reads UTF-8 and UTF-16LE but panics on UTF-16BE, with or without
/// a byte-order mark. Any UTF-16 body is turned into UTF-8 first, and its XML declaration made to
/// say so.
fn utf8_body(body: &[u8]) -> Cow<'_, [u8]> {
    let (big_endian, start) = match body {
        [0xFE, 0xFF, ..] => (true, 2),
        [0xFF, 0xFE, ..] => (false, 2),
        [0x00, b'<', ..] => (true, 0),
        [b'<', 0x00, ..] => (false, 0),
        _ => return Cow::Borrowed(body),
    };
    let units = body[start..].chunks_exact(2).map(|pair| {
        let pair = [pair[0], pair[1]];
        if big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        }
    });
    let text: String = char::decode_utf16(units)
        .map(|unit| unit.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Cow::Owned(declare_utf8(&text).into_bytes())
}

/// A body with an XML declaration, as UTF-8 under a declaration of our own: decoded from the
/// encoding the declaration names (ISO-8859-1, windows-1256, KOI8-R...), and the declaration
/// replaced by `<?xml version="1.0" encoding="UTF-8"?>`. quick-xml, under feed-rs, switches
/// its decoder when it reads a declaration, and panics when the declaration is longer or
/// stranger than its look-ahead; given a plain UTF-8 one, it has nothing to switch.
fn legacy_encoding_to_utf8(body: &[u8]) -> Cow<'_, [u8]> {
    let Some(declaration) = xml_declaration(body) else {
        return Cow::Borrowed(body);
    };
    let label = declared_encoding(&body[declaration.clone()]);
    let encoding = label
        .as_deref()
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    let plain = declaration.len() < 100
        && body[declaration.clone()]
            .iter()
            .all(|byte| byte.is_ascii_graphic() || *byte == b' ');
    if encoding == encoding_rs::UTF_8 && plain && std::str::from_utf8(body).is_ok() {
        return Cow::Borrowed(body);
    }
    let (text, _, _) = encoding.decode(&body[declaration.end..]);
    Cow::Owned(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{text}").into_bytes())
}

/// Where the document starts: after a byte-order mark and white space, the only place an XML
/// declaration may stand.
fn content_start(body: &[u8]) -> usize {
    let bom = if body.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    bom + body[bom..]
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())
        .unwrap_or(body.len() - bom)
}

/// Where the XML declaration at the start of `body` begins and ends, `?>` included.
fn xml_declaration(body: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = content_start(body);
    if !body[start..].starts_with(b"<?xml") {
        return None;
    }
    let end = start + body[start..].windows(2).position(|pair| pair == b"?>")? + 2;
    Some(start..end)
}

/// Where an XML declaration (`<?xml ...?>`) stands anywhere but at the start: quick-xml (under
/// feed-rs) panics on one that names another encoding.
pub fn misplaced_declaration(body: &[u8]) -> Option<usize> {
    body.windows(6)
        .enumerate()
        .skip(content_start(body) + 1)
        .find(|(_, window)| {
            window.starts_with(b"<?xml") && (window[5].is_ascii_whitespace() || window[5] == b'?')
        })
        .map(|(at, _)| at)
}

/// The encoding an XML declaration names.
fn declared_encoding(declaration: &[u8]) -> Option<String> {
    let declaration = String::from_utf8_lossy(declaration);
    let after = &declaration[declaration.find("encoding")? + "encoding".len()..];
    let open = after.find(['"', '\''])?;
    let quote = after[open..].chars().next()?;
    let value = &after[open + 1..];
    let close = value.find(quote)?;
    Some(value[..close].trim().to_string())
}

/// The document with the encoding in its XML declaration (if any) replaced by UTF-8.
fn declare_utf8(text: &str) -> String {
    let declaration_end = match text.strip_prefix("<?xml").and(text.find("?>")) {
        Some(end) => end,
        None => return text.to_string(),
    };
    let declaration = &text[..declaration_end];
    let Some(at) = declaration.find("encoding") else {
        return text.to_string();
    };
    let after = &declaration[at + "encoding".len()..];
    let value = after.find(['"', '\'']).and_then(|open| {
        let quote = after[open..].chars().next()?;
        let close = after[open + 1..].find(quote)?;
        Some((at + "encoding".len() + open + 1, close))
    });
    match value {
        Some((start, len)) => format!("{}UTF-8{}", &text[..start], &text[start + len..]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_byte_character_across_byte_4096_is_read_whole() {
        for pad in 0..12 {
            let body = format!(
                r#"<?xml version="1.0"?><rss version="2.0"><channel>{}{}</channel></rss>"#,
                "x".repeat(4096 - 50 - 7 - 8 + pad),
                "<title>أخبار 新闻 новости</title>".repeat(4)
            );
            assert!(matches!(normalise(body.as_bytes()), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn a_declaration_after_a_byte_order_mark_or_white_space_is_in_its_place() {
        let bom = b"\xEF\xBB\xBF<?xml version=\"1.0\"?><rss/>";
        assert_eq!(misplaced_declaration(bom), None);
        assert_eq!(
            misplaced_declaration(b"  <?xml version=\"1.0\"?><rss/>"),
            None
        );
        assert_eq!(
            misplaced_declaration(b"<rss/><?xml version=\"1.0\"?>"),
            Some(6)
        );
    }

    #[test]
    fn a_legacy_encoding_is_decoded_and_declared_utf_8() {
        let body = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>Caf\xE9</title></channel></rss>";
        let out = String::from_utf8(normalise(body).into_owned()).expect("utf-8");
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Café</title></channel></rss>"
        );
    }

    #[test]
    fn a_current_feed_is_passed_through_untouched() {
        let body = br#"<?xml version="1.0"?><rss version="2.0"><channel/></rss>"#;
        assert!(matches!(normalise(body), Cow::Borrowed(_)));
    }

    #[test]
    fn atom_03_becomes_atom_10_with_its_renamed_elements() {
        let body = format!(
            r#"<feed version="0.3" xmlns="{ATOM_03}"><entry><issued>x</issued><modified>y</modified></entry></feed>"#
        );
        let out = String::from_utf8(normalise(body.as_bytes()).into_owned()).expect("utf-8");
        assert_eq!(
            out,
            format!(
                r#"<feed version="0.3" xmlns="{ATOM_10}"><entry><published>x</published><updated>y</updated></entry></feed>"#
            )
        );
    }

    #[test]
    fn the_userland_default_namespace_is_dropped_from_rss_20() {
        let body =
            br#"<rss version="2.0" xmlns="http://backend.userland.com/rss2"><channel/></rss>"#;
        let out = String::from_utf8(normalise(body).into_owned()).expect("utf-8");
        assert_eq!(out, r#"<rss version="2.0" ><channel/></rss>"#);
    }
}
