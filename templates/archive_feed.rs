//! The Atom feed (RFC 4287) of a list's editions, for readers who follow the archive in a feed
//! reader. Written with quick-xml, which escapes every text and attribute.

use std::io;

use chrono::{DateTime, SecondsFormat, Utc};
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use super::pages::EditionEntry;
use crate::locale::Locale;

/// The feed as a whole: `archive_url` is the list's archive page, `feed_url` this feed.
pub struct FeedView<'a> {
    pub title: &'a str,
    pub newsletter: &'a str,
    pub archive_url: &'a str,
    pub feed_url: &'a str,
    pub locale: &'a Locale,
    /// Newest first.
    pub editions: &'a [FeedEntry],
}

/// One edition in the feed, with the URL of its web copy.
pub struct FeedEntry {
    pub edition: EditionEntry,
    pub url: String,
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn text<W: io::Write>(writer: &mut Writer<W>, name: &str, value: &str) -> io::Result<()> {
    writer
        .create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

fn link<W: io::Write>(writer: &mut Writer<W>, rel: &str, kind: &str, href: &str) -> io::Result<()> {
    writer
        .create_element("link")
        .with_attribute(("rel", rel))
        .with_attribute(("type", kind))
        .with_attribute(("href", href))
        .write_empty()?;
    Ok(())
}

pub fn render(view: &FeedView<'_>) -> io::Result<String> {
    let locale = view.locale;
    let updated = view.editions.first().map_or_else(
        || time(DateTime::UNIX_EPOCH),
        |entry| time(entry.edition.built_at),
    );
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    let tag = locale.tag();
    writer
        .create_element("feed")
        .with_attribute(("xmlns", "http://www.w3.org/2005/Atom"))
        .with_attribute(("xml:lang", tag.as_str()))
        .write_inner_content(|w| {
            text(w, "id", view.archive_url)?;
            text(w, "title", view.title)?;
            text(w, "subtitle", view.newsletter)?;
            link(w, "self", "application/atom+xml", view.feed_url)?;
            link(w, "alternate", "text/html", view.archive_url)?;
            text(w, "updated", &updated)?;
            w.create_element("author")
                .write_inner_content(|w| text(w, "name", view.newsletter))?;
            for FeedEntry { edition, url } in view.editions {
                let built_at = edition.built_at;
                w.create_element("entry").write_inner_content(|w| {
                    text(w, "id", url)?;
                    text(w, "title", &edition.headline)?;
                    link(w, "alternate", "text/html", url)?;
                    text(w, "published", &time(built_at))?;
                    text(w, "updated", &time(built_at))?;
                    let stories = locale.format(
                        "page-archive-stories",
                        &[
                            ("count", edition.stories.into()),
                            ("shown", locale.number(edition.stories).into()),
                        ],
                    );
                    let summary = format!("{} · {stories}", locale.long_date(edition.date));
                    text(w, "summary", &summary)
                })?;
            }
            Ok(())
        })?;
    String::from_utf8(writer.into_inner()).map_err(io::Error::other)
}
