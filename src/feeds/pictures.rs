//! A feed item's picture: Media RSS (`media:content`, `media:thumbnail`, which feed-rs also
//! fills from RSS `<enclosure>`), else the first `<img>` of the item's HTML. Only http(s)
//! pictures; the size, caption and credit the feed gives are kept, so most pictures never
//! need their header read.

use feed_rs::model::{Entry, MediaObject};

use crate::domain::{optional_line, ImageSize, NewImage, StoryUrl};

fn size(width: Option<u32>, height: Option<u32>) -> Option<ImageSize> {
    ImageSize::new(width?.into(), height?.into())
}

fn looks_like_image(url: &str) -> bool {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    [".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif"]
        .iter()
        .any(|ext| path.ends_with(ext))
}

fn described(media: &MediaObject, url: StoryUrl, size: Option<ImageSize>) -> NewImage {
    let caption = media
        .description
        .as_ref()
        .or(media.title.as_ref())
        .map(|text| super::html_to_text(&text.content));
    NewImage {
        url,
        size,
        caption: optional_line(caption.as_deref(), 300),
        credit: optional_line(media.credits.first().map(|c| c.entity.as_str()), 200),
    }
}

fn from_media(media: &MediaObject) -> Option<NewImage> {
    let content = media.content.iter().find_map(|content| {
        let url = content.url.as_ref()?.as_str();
        let is_image = match &content.content_type {
            Some(mime) => mime.to_string().to_ascii_lowercase().starts_with("image/"),
            None => looks_like_image(url),
        };
        let url = StoryUrl::parse(url).ok().filter(|_| is_image)?;
        Some((url, size(content.width, content.height)))
    });
    let (url, size) = content.or_else(|| {
        media.thumbnails.iter().find_map(|thumbnail| {
            let image = &thumbnail.image;
            let url = StoryUrl::parse(&image.uri).ok()?;
            Some((url, size(image.width, image.height)))
        })
    })?;
    Some(described(media, url, size))
}

/// The value of `name="..."` (or single-quoted, or bare) inside one HTML tag.
fn attribute<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(name) {
        let start = from + found;
        from = start + name.len();
        let before = lower[..start].chars().next_back();
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let rest = lower[from..].trim_start();
        let Some(value) = rest.strip_prefix('=') else {
            continue;
        };
        let value_start = tag.len() - value.trim_start().len();
        let raw = &tag[value_start..];
        return Some(match raw.chars().next() {
            Some(quote @ ('"' | '\'')) => raw[1..].split(quote).next().unwrap_or_default(),
            _ => raw
                .split(|c: char| c.is_whitespace() || c == '>')
                .next()
                .unwrap_or_default(),
        });
    }
    None
}

/// The first `<img>` of an item's HTML, with its `width` and `height` if both are given.
fn from_html(html: &str) -> Option<NewImage> {
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find("<img") {
        let start = from + found;
        let end = lower[start..]
            .find('>')
            .map_or(html.len(), |end| start + end);
        from = end;
        let tag = &html[start..end];
        let Some(src) = attribute(tag, "src") else {
            continue;
        };
        let src = src.replace("&amp;", "&");
        let Ok(url) = StoryUrl::parse(&src) else {
            continue;
        };
        let dimension = |name| attribute(tag, name).and_then(|v| v.trim().parse::<u32>().ok());
        let alt = attribute(tag, "alt").map(super::html_to_text);
        return Some(NewImage {
            url,
            size: size(dimension("width"), dimension("height")),
            caption: optional_line(alt.as_deref(), 300),
            credit: None,
        });
    }
    None
}

/// The picture of a feed item, if it has one.
pub fn of_entry(entry: &Entry) -> Option<NewImage> {
    entry.media.iter().find_map(from_media).or_else(|| {
        let html = entry
            .content
            .as_ref()
            .and_then(|content| content.body.as_deref())
            .into_iter()
            .chain(
                entry
                    .summary
                    .as_ref()
                    .map(|summary| summary.content.as_str()),
            );
        html.into_iter().find_map(from_html)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_http_image_of_the_html_is_taken_with_its_size() {
        let image = from_html(
            r#"<p>x</p><img src="data:image/png;base64,AAAA"><IMG class=a ALT="Flood &amp; rain" height="300" src='https://img.example/a.jpg?w=1&amp;h=2' width=600>"#,
        )
        .expect("image");
        assert_eq!(image.url.as_str(), "https://img.example/a.jpg?w=1&h=2");
        assert_eq!(image.size, ImageSize::new(600, 300));
        assert_eq!(image.caption.as_deref(), Some("Flood & rain"));
        assert!(from_html("<p>no picture <imgur></p>").is_none());
        assert!(from_html(r#"<img srcset="x" data-src="https://a.example/b.png">"#).is_none());
    }
}
