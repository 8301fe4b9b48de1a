//! Feeds whose markup feed-rs refuses whole although a feed reader reads them: RSS with no
//! version or one it does not list (0.93, 0.94, 2.01), RSS 2.0 elements under a prefixed
//! userland namespace, and Atom text whose type is given as a media type or an Atom 0.3 `mode`.
//! Each is rewritten element by element with quick-xml: RSS whenever the root shows the trait
//! ([`rss_needs_repair`]), Atom only once feed-rs has refused the feed. When the feed still
//! cannot be read, [`entries_one_by_one`] lets each entry be read alone, so one entry the parser
//! cannot read costs that entry, not the feed.

use std::borrow::Cow;

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesEnd, BytesStart, Event};
use quick_xml::name::QName;
use quick_xml::{Reader, Writer};

/// Namespaces some RSS 2.0 producers declared as the default although RSS 2.0 has none.
pub const RSS_20_NAMESPACES: [&str; 3] = [
    "http://backend.userland.com/rss2",
    "http://backend.userland.com/rss",
    "http://blogs.law.harvard.edu/tech/rss",
];

/// RSS versions feed-rs reads by name; any other `<rss>` is read as RSS 2.0, as feed readers do.
const KNOWN_RSS_VERSIONS: [&str; 4] = ["", "0.91", "0.92", "2.0"];

/// Atom elements whose content is a text construct (RFC 4287 §3.1), with their Atom 0.3 names.
const ATOM_TEXT: [&str; 8] = [
    "title",
    "subtitle",
    "summary",
    "content",
    "rights",
    "tagline",
    "copyright",
    "info",
];

/// What to do with one Atom text element.
enum AtomText {
    Keep,
    /// Rewrite its attributes to `type="…"` (no `mode`).
    Type(&'static str),
    /// Drop it whole: base64 or a binary media type, nothing a reader could be shown.
    Drop,
}

/// The body rewritten into a shape feed-rs reads, or `None` when it is not XML the rewriter can
/// follow (the parser then reports on it).
pub fn repair(text: &str) -> Option<String> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut writer = Writer::new(Vec::with_capacity(text.len()));
    let mut userland_prefixes: Vec<String> = Vec::new();
    let mut atom = false;
    let mut seen_root = false;
    loop {
        let event = reader.read_event().ok()?;
        let event = match event {
            Event::Eof => break,
            Event::Start(start) if !seen_root => {
                seen_root = true;
                userland_prefixes = prefixes_bound_to_userland(&start);
                let local = local_name(&start);
                atom = matches!(local.as_str(), "feed" | "entry");
                let root = strip(&start, &userland_prefixes);
                let root = if local == "rss" {
                    with_rss_version(&root)
                } else {
                    root
                };
                writer.write_event(Event::Start(root)).ok()?;
                continue;
            }
            Event::Start(start) if atom && ATOM_TEXT.contains(&local_name(&start).as_str()) => {
                match atom_text(&start) {
                    AtomText::Keep => Event::Start(start),
                    AtomText::Type(kind) => Event::Start(with_type(&start, kind)),
                    AtomText::Drop => {
                        reader.read_to_end(start.name()).ok()?;
                        continue;
                    }
                }
            }
            // An empty text construct is "missing content" to feed-rs, which fails the feed.
            Event::Empty(start) if atom && ATOM_TEXT.contains(&local_name(&start).as_str()) => {
                continue
            }
            Event::Start(start) => Event::Start(strip(&start, &userland_prefixes)),
            Event::Empty(start) => Event::Empty(strip(&start, &userland_prefixes)),
            Event::End(end) => {
                let name = unprefixed(end.name().as_ref(), &userland_prefixes).to_string();
                Event::End(BytesEnd::new(name))
            }
            other => other,
        };
        writer.write_event(event).ok()?;
    }
    String::from_utf8(writer.into_inner()).ok()
}

/// Cheap signs in the head of the text that an RSS rewrite applies: feed-rs would refuse the
/// root or read no items, without saying why.
pub fn rss_needs_repair(head: &str) -> bool {
    let rss_version = root_tag(head).is_some_and(|tag| {
        let name_end = tag.find(|c: char| c.is_whitespace() || c == '>' || c == '/');
        let name = &tag[1..name_end.unwrap_or(tag.len())];
        name.rsplit(':').next() == Some("rss")
            && attribute(tag, "version").is_none_or(|v| !KNOWN_RSS_VERSIONS.contains(&v))
    });
    let prefixed_userland = RSS_20_NAMESPACES
        .iter()
        .any(|namespace| head.contains(&format!("=\"{namespace}\"")) && head.contains("xmlns:"));
    rss_version || prefixed_userland
}

/// The root element's start tag, from `<` to `>`, skipping the prolog.
fn root_tag(text: &str) -> Option<&str> {
    let mut rest = text;
    loop {
        let at = rest.find('<')?;
        rest = &rest[at..];
        if rest.starts_with("<?") || rest.starts_with("<!") {
            rest = &rest[rest.find('>')? + 1..];
            continue;
        }
        return Some(&rest[..rest.find('>')? + 1]);
    }
}

/// A quoted attribute's value in a raw start tag.
fn attribute<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
    let mut rest = tag;
    while let Some(at) = rest.find(name) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + name.len()..].trim_start();
        rest = &rest[at + name.len()..];
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let Some(value) = after.strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let quote = value.chars().next()?;
        if quote != '"' && quote != '\'' {
            return None;
        }
        let value = &value[1..];
        return value.find(quote).map(|end| &value[..end]);
    }
    None
}

fn local_name(start: &BytesStart) -> String {
    start.local_name().as_ref().to_ascii_lowercase()
}

fn prefixes_bound_to_userland(root: &BytesStart) -> Vec<String> {
    root.attributes()
        .flatten()
        .filter_map(|attribute| {
            let prefix = attribute.key.as_ref().strip_prefix("xmlns:")?;
            RSS_20_NAMESPACES
                .contains(&attribute.value.as_ref())
                .then(|| prefix.to_string())
        })
        .collect()
}

fn unprefixed<'n>(name: &'n str, prefixes: &[String]) -> &'n str {
    match name.split_once(':') {
        Some((prefix, local)) if prefixes.iter().any(|p| p == prefix) => local,
        _ => name,
    }
}

/// The element with a userland prefix dropped from its name, and the prefix's declaration.
fn strip(start: &BytesStart, prefixes: &[String]) -> BytesStart<'static> {
    if prefixes.is_empty() {
        return start.clone().into_owned();
    }
    let name = start.name();
    let mut stripped = BytesStart::new(unprefixed(name.as_ref(), prefixes).to_string());
    for attribute in start.attributes().with_checks(false).flatten() {
        let key = attribute.key.as_ref();
        let declares_userland = key
            .strip_prefix("xmlns:")
            .is_some_and(|prefix| prefixes.iter().any(|p| p == prefix));
        if !declares_userland {
            stripped.push_attribute(Attribute {
                key: QName(unprefixed(key, prefixes)),
                value: attribute.value,
            });
        }
    }
    stripped.into_owned()
}

/// The `<rss>` root saying `version="2.0"` unless it names a version feed-rs reads.
fn with_rss_version<'a>(root: &BytesStart<'a>) -> BytesStart<'static> {
    let version = root
        .attributes()
        .with_checks(false)
        .flatten()
        .find(|attribute| attribute.key.as_ref() == "version")
        .map(|attribute| attribute.value.into_owned());
    let known = version
        .as_deref()
        .is_some_and(|version| KNOWN_RSS_VERSIONS.contains(&version.trim()));
    let mut rewritten = BytesStart::new(root.name().as_ref().to_string());
    for attribute in root.attributes().with_checks(false).flatten() {
        if attribute.key.as_ref() != "version" || known {
            rewritten.push_attribute(Attribute {
                key: QName(attribute.key.as_ref()),
                value: attribute.value,
            });
        }
    }
    if !known {
        rewritten.push_attribute(("version", "2.0"));
    }
    rewritten.into_owned()
}

fn atom_text(start: &BytesStart) -> AtomText {
    let value = |name: &str| {
        start
            .attributes()
            .with_checks(false)
            .flatten()
            .find(|attribute| attribute.key.as_ref().eq_ignore_ascii_case(name))
            .map(|attribute| attribute.value.trim().to_ascii_lowercase())
    };
    let (mode, kind) = (value("mode"), value("type"));
    if value("src").is_some() {
        return AtomText::Keep;
    }
    let media = kind.as_deref().map(|kind| {
        kind.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    });
    match (mode.as_deref(), media.as_deref()) {
        (Some("base64"), _) => AtomText::Drop,
        (Some("xml"), _) => AtomText::Type("xhtml"),
        (_, Some("text" | "html" | "xhtml")) if mode.is_none() => AtomText::Keep,
        (_, Some("text" | "text/plain")) => AtomText::Type("text"),
        (_, Some("html" | "text/html")) => AtomText::Type("html"),
        (_, Some("xhtml")) => AtomText::Type("xhtml"),
        (_, Some(xml)) if xml.ends_with("+xml") || xml.ends_with("/xml") => AtomText::Type("xhtml"),
        // Markdown, CSV, any other text: shown as text.
        (_, Some(other)) if other.starts_with("text/") => AtomText::Type("text"),
        (_, Some(_)) => AtomText::Drop,
        (Some("escaped"), None) => AtomText::Type("html"),
        (Some(_), None) => AtomText::Type("text"),
        (None, None) => AtomText::Keep,
    }
}

fn with_type(start: &BytesStart, kind: &'static str) -> BytesStart<'static> {
    let mut rewritten = BytesStart::new(start.name().as_ref().to_string());
    for attribute in start.attributes().with_checks(false).flatten() {
        let key = attribute.key.as_ref().to_ascii_lowercase();
        if key != "type" && key != "mode" {
            rewritten.push_attribute(attribute);
        }
    }
    rewritten.push_attribute(("type", kind));
    rewritten.into_owned()
}

/// When the whole feed cannot be read: one document per entry (`<entry>` or `<item>`), each
/// in the feed's own envelope (everything before the first entry and after the last), so each
/// entry is read or lost alone. `None` when the body is not XML with entries.
pub fn entries_one_by_one(text: &str) -> Option<Vec<Cow<'_, str>>> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut spans: Vec<(usize, usize)> = Vec::new();
    loop {
        let before = usize::try_from(reader.buffer_position()).ok()?;
        match reader.read_event().ok()? {
            Event::Eof => break,
            Event::Start(start) if matches!(local_name(&start).as_str(), "entry" | "item") => {
                reader.read_to_end(start.name()).ok()?;
                let after = usize::try_from(reader.buffer_position()).ok()?;
                spans.push((before, after));
            }
            _ => {}
        }
    }
    let (first, last) = (spans.first()?.0, spans.last()?.1);
    let (envelope_start, envelope_end) = (&text[..first], &text[last..]);
    Some(
        spans
            .into_iter()
            .map(|(start, end)| {
                Cow::Owned(format!(
                    "{envelope_start}{}{envelope_end}",
                    &text[start..end]
                ))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rss_root_without_a_known_version_is_read_as_2_0() {
        let fixed = repair(r#"<?xml version="1.0"?><rss version='0.94' x="1"><channel/></rss>"#)
            .expect("rewritten");
        assert_eq!(
            fixed,
            r#"<?xml version="1.0"?><rss x="1" version="2.0"><channel/></rss>"#
        );
        assert!(!rss_needs_repair(r#"<rss version="2.0"><channel/></rss>"#));
        assert!(rss_needs_repair(r#"<!-- x --><rss><channel/></rss>"#));
    }

    #[test]
    fn a_userland_prefix_is_dropped_from_every_element() {
        let fixed = repair(
            r#"<u:rss version="2.0" xmlns:u="http://backend.userland.com/rss2"><u:channel><u:item/></u:channel></u:rss>"#,
        )
        .expect("rewritten");
        assert_eq!(
            fixed,
            r#"<rss version="2.0"><channel><item/></channel></rss>"#
        );
    }

    #[test]
    fn atom_media_types_and_modes_become_atom_1_0_types() {
        let fixed = repair(
            r#"<feed><entry><title type="text/plain">a</title><content mode="xml" type="application/xhtml+xml"><div/></content><summary mode="base64" type="application/octet-stream">QQ==</summary><rights/></entry></feed>"#,
        )
        .expect("rewritten");
        assert_eq!(
            fixed,
            r#"<feed><entry><title type="text">a</title><content type="xhtml"><div/></content></entry></feed>"#
        );
    }

    #[test]
    fn each_entry_is_given_the_feed_s_envelope() {
        let entries =
            entries_one_by_one("<feed><title>t</title><entry>1</entry><entry>2</entry></feed>")
                .expect("entries");
        assert_eq!(
            entries,
            [
                "<feed><title>t</title><entry>1</entry></feed>",
                "<feed><title>t</title><entry>2</entry></feed>"
            ]
        );
    }
}
