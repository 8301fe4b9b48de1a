//! Stories as JSON: one object, an array of objects, or JSON lines (one object per line). The
//! same reading serves `story import` and the story API.

use std::io::{Read, Write};

use crate::store::Pool;
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::domain::{
    optional_line, optional_summary, ImageSize, NewImage, Score, Section, StoryTitle, StoryUrl,
    Views,
};
use crate::error::BadInput;
use crate::import::{report_rejections, Rejection};
use crate::store::begin_immediate;
use crate::store::stories::{self, NewStory, Upserted};

/// The most a story file may hold; larger imports are split by the caller.
const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoryImportReport {
    pub inserted: u64,
    pub updated: u64,
    pub rejected: u64,
}

/// Reads one story object, naming the field at fault in the error.
pub fn story_from_json(value: &Value) -> Result<NewStory, String> {
    let Value::Object(fields) = value else {
        return Err(format!("expected a JSON object, found {}", kind(value)));
    };
    let url = required_text(fields, "url")?;
    let title = required_text(fields, "title")?;
    let field = |name: &str, error: BadInput| format!("field \"{name}\": {error}");
    Ok(NewStory {
        url: StoryUrl::parse(url).map_err(|e| field("url", e))?,
        title: StoryTitle::parse(title).map_err(|e| field("title", e))?,
        guid: optional_text(fields, "guid")?.map(str::to_string),
        summary: optional_summary(optional_text(fields, "summary")?),
        author: optional_line(optional_text(fields, "author")?, 200),
        section: optional_text(fields, "section")?
            .map(Section::parse)
            .transpose()
            .map_err(|e| field("section", e))?,
        image: match optional_text(fields, "image_url")? {
            None => None,
            Some(raw) => Some(NewImage {
                caption: optional_line(optional_text(fields, "image_caption")?, 300),
                credit: optional_line(optional_text(fields, "image_credit")?, 200),
                size: image_size(fields)?,
                ..NewImage::link(StoryUrl::parse(raw).map_err(|e| field("image_url", e))?)
            }),
        },
        published_at: optional_time(fields, "published_at")?,
        updated_at: optional_time(fields, "updated_at")?,
        score: whole_number(fields, "score")?
            .map(Score::parse)
            .transpose()
            .map_err(|e| field("score", e))?,
        views: whole_number(fields, "views")?
            .map(Views::parse)
            .transpose()
            .map_err(|e| field("views", e))?,
    })
}

fn whole_number(fields: &Map<String, Value>, name: &str) -> Result<Option<i64>, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("field \"{name}\": {number} is not a whole number")),
        Some(other) => Err(format!(
            "field \"{name}\": expected a whole number, found {}",
            kind(other)
        )),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn optional_text<'v>(
    fields: &'v Map<String, Value>,
    name: &str,
) -> Result<Option<&'v str>, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(format!(
            "field \"{name}\": expected a string, found {}",
            kind(other)
        )),
    }
}

fn required_text<'v>(fields: &'v Map<String, Value>, name: &str) -> Result<&'v str, String> {
    optional_text(fields, name)?.ok_or_else(|| format!("field \"{name}\" is missing"))
}

/// `image_width` and `image_height`, both or neither, in pixels.
fn image_size(fields: &Map<String, Value>) -> Result<Option<ImageSize>, String> {
    let number = |name: &str| match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("field \"{name}\": {number} is not a whole number of pixels")),
        Some(other) => Err(format!(
            "field \"{name}\": expected a number of pixels, found {}",
            kind(other)
        )),
    };
    match (number("image_width")?, number("image_height")?) {
        (None, None) => Ok(None),
        (Some(width), Some(height)) => ImageSize::new(width, height).map(Some).ok_or_else(|| {
            format!("fields \"image_width\" and \"image_height\": {width}x{height} is not a picture size (1 to 20000 pixels a side)")
        }),
        _ => Err("fields \"image_width\" and \"image_height\" go together: give both or neither".into()),
    }
}

fn optional_time(fields: &Map<String, Value>, name: &str) -> Result<Option<DateTime<Utc>>, String> {
    optional_text(fields, name)?
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw.trim())
                .map(|at| at.with_timezone(&Utc))
                .map_err(|error| {
                    format!("field \"{name}\": {raw:?} is not an RFC 3339 time ({error})")
                })
        })
        .transpose()
}

/// Reads stories from `input` and upserts them in one transaction, all or nothing as the story
/// API does: a file with any invalid item stores none of it, and every invalid item is named.
/// Importing is idempotent (stories are keyed by URL), so the fixed file is simply imported
/// again.
pub async fn import(
    pool: &Pool,
    source: &str,
    input: Box<dyn Read + Send>,
    now: DateTime<Utc>,
    rejections_out: &mut dyn Write,
) -> anyhow::Result<StoryImportReport> {
    let mut text = String::new();
    input
        .take(MAX_INPUT_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|error| BadInput(format!("{source}: cannot read stories: {error}")))?;
    if text.len() as u64 > MAX_INPUT_BYTES {
        return Err(BadInput(format!("{source}: larger than {MAX_INPUT_BYTES} bytes")).into());
    }

    let (stories, mut rejections) = parse(source, &text)?;
    let mut report = StoryImportReport {
        rejected: rejections.len() as u64,
        ..Default::default()
    };
    if !rejections.is_empty() {
        report_rejections(source, &mut rejections, rejections_out)?;
        return Ok(report);
    }
    let mut tx = begin_immediate(pool)
        .await
        .context("starting transaction")?;
    for story in &stories {
        match stories::upsert(&mut tx, story, now).await? {
            Upserted::Inserted => report.inserted += 1,
            Upserted::Updated => report.updated += 1,
        }
    }
    tx.commit().await.context("committing stories")?;
    Ok(report)
}

/// Splits the text into valid stories and rejections. A broken array is refused as such
/// (nothing in it can be trusted to be where it seems); a broken JSON line is named by its line.
pub fn parse(source: &str, text: &str) -> Result<(Vec<NewStory>, Vec<Rejection>), BadInput> {
    let mut stories = Vec::new();
    let mut rejections = Vec::new();
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('[') {
        let items: Vec<Value> = serde_json::from_str(trimmed).map_err(|error| {
            BadInput(format!(
                "{source}:{}:{}: invalid JSON array: {error}",
                error.line(),
                error.column()
            ))
        })?;
        for (index, item) in items.iter().enumerate() {
            match story_from_json(item) {
                Ok(story) => stories.push(story),
                // Array items are named by position; line 0 says "no line number".
                Err(reason) => rejections.push(Rejection {
                    line: 0,
                    reason: format!("item {}: {reason}", index + 1),
                }),
            }
        }
        return Ok((stories, rejections));
    }
    // One object, possibly pretty-printed over many lines: not JSON lines.
    if trimmed.starts_with('{') {
        if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
            match story_from_json(&value) {
                Ok(story) => stories.push(story),
                Err(reason) => rejections.push(Rejection { line: 1, reason }),
            }
            return Ok((stories, rejections));
        }
    }
    for (index, line) in text.lines().enumerate() {
        let line_number = index as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<Value>(line)
            .map_err(|error| format!("invalid JSON: {error}"))
            .and_then(|value| story_from_json(&value));
        match parsed {
            Ok(story) => stories.push(story),
            Err(reason) => rejections.push(Rejection {
                line: line_number,
                reason,
            }),
        }
    }
    Ok((stories, rejections))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_pretty_printed_object_is_one_story_not_broken_lines() {
        let text = "{\n  \"url\": \"https://news.example.org/a\",\n  \"title\": \"A\"\n}\n";
        let (stories, rejections) = parse("story.json", text).expect("parsed");
        assert_eq!((stories.len(), rejections.len()), (1, 0));
        let lines = "{\"url\": \"https://news.example.org/a\", \"title\": \"A\"}\n{\"url\": \"https://news.example.org/b\", \"title\": \"B\"}\n";
        let (stories, rejections) = parse("stories.jsonl", lines).expect("parsed");
        assert_eq!(
            (stories.len(), rejections.len()),
            (2, 0),
            "JSON lines still work"
        );
    }

    #[test]
    fn missing_and_mistyped_fields_are_named() {
        let error = story_from_json(&json!({"title": "x"})).expect_err("no url");
        assert!(error.contains("\"url\" is missing"), "{error}");
        let error = story_from_json(&json!({"url": "https://a.example/", "title": 3}))
            .expect_err("bad title");
        assert!(error.contains("\"title\""), "{error}");
        let error = story_from_json(&json!({"url": "javascript:alert(1)", "title": "x"}))
            .expect_err("bad url");
        assert!(error.contains("javascript:alert(1)"), "{error}");
        let error =
            story_from_json(&json!({"url": "https://a.example/", "title": "x", "views": -1}))
                .expect_err("negative views");
        assert!(error.contains("\"views\""), "{error}");
        let views =
            story_from_json(&json!({"url": "https://a.example/", "title": "x", "views": 7}))
                .expect("views");
        assert_eq!(views.views.map(Views::get), Some(7));
        let error =
            story_from_json(&json!({"url": "https://a.example/", "title": "x", "score": 1.5}))
                .expect_err("bad score");
        assert!(error.contains("\"score\""), "{error}");
    }

    #[test]
    fn json_lines_reject_only_the_broken_line() {
        let text = "{\"url\":\"https://a.example/1\",\"title\":\"One\"}\n{broken\n\n{\"url\":\"https://a.example/2\",\"title\":\"Two\"}\n";
        let (stories, rejections) = parse("s.jsonl", text).expect("parsed");
        assert_eq!(stories.len(), 2);
        assert_eq!(rejections.len(), 1);
        assert_eq!(rejections[0].line, 2);
    }
}
