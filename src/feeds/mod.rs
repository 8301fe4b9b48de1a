//! Polling RSS 2.0, Atom and JSON Feed for stories: feed-rs parses, reqwest fetches (rustls),
//! with a timeout, a size limit and conditional requests, so an unchanged feed costs a 304.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::StatusCode;
use serde::Serialize;
use tracing::{info, warn};

mod normalise;
mod picture_sizes;
mod pictures;
mod public_address;
mod repair;
pub use picture_sizes::{
    learn as learn_picture_sizes, learn_quietly as learn_picture_sizes_quietly,
};

use crate::app::App;
use crate::domain::{optional_line, optional_summary, Section, StoryTitle, StoryUrl};
use crate::settings::FeedSettings;
use crate::store::begin_immediate;
use crate::store::feeds::{self, FailedBody, FeedRecord, Validators};
use crate::store::stories::{self, FeedUpsert, NewStory};

/// How one poll of one feed went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PollCounts {
    /// The server answered 304: nothing changed since the last poll.
    pub not_modified: bool,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Items without a usable title or http(s) link.
    pub skipped: u64,
}

pub use crate::tls::install_provider as install_tls_provider;

/// One HTTP client for all feeds, and one for their pictures.
#[derive(Clone)]
pub struct FeedClient {
    http: reqwest::Client,
    /// Fetches only public addresses unless `feeds.allow_private_pictures`: picture URLs come
    /// from whoever writes a feed, feed URLs from the admin.
    pictures: reqwest::Client,
    allow_private_pictures: bool,
    /// Pictures go through `feeds.picture_proxy`.
    proxied_pictures: bool,
    max_bytes: u64,
}

impl FeedClient {
    pub fn new(settings: &FeedSettings) -> anyhow::Result<Self> {
        crate::tls::install_provider();
        let builder = || {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(settings.timeout_secs))
                .connect_timeout(Duration::from_secs(settings.timeout_secs))
                .user_agent(concat!(
                    "Herald/",
                    env!("CARGO_PKG_VERSION"),
                    " (feed poller)"
                ))
        };
        let http = builder().build().context("building the feed HTTP client")?;
        // Pictures never go through a proxy taken from the environment: a proxy resolves the
        // name itself, out of reach of the address check, inside whatever network it is in.
        // Only `feeds.picture_proxy` is used, and then names only where private is allowed.
        let mut pictures = builder().no_proxy();
        if let Some(proxy) = &settings.picture_proxy {
            let proxy =
                reqwest::Proxy::all(proxy.as_str()).context("setting feeds.picture_proxy")?;
            pictures = pictures.proxy(proxy);
        }
        if !settings.allow_private_pictures {
            let names = settings.picture_proxy.is_none();
            pictures = pictures
                .dns_resolver(public_address::PublicOnly)
                .redirect(public_address::redirect_policy(names));
        }
        let pictures = pictures
            .build()
            .context("building the picture HTTP client")?;
        Ok(Self {
            http,
            pictures,
            allow_private_pictures: settings.allow_private_pictures,
            proxied_pictures: settings.picture_proxy.is_some(),
            max_bytes: settings.max_bytes,
        })
    }

    /// The body, or `None` for a 304. Errors say what went wrong in words for `last_error`.
    async fn fetch(&self, feed: &FeedRecord) -> Result<Option<Fetched>, String> {
        let mut request = self.http.get(&feed.url);
        if let Some(etag) = &feed.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &feed.last_modified {
            request = request.header(IF_MODIFIED_SINCE, modified);
        }
        let mut response = request.send().await.map_err(|error| describe(&error))?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let validators = Validators {
            etag: header(ETAG),
            last_modified: header(LAST_MODIFIED),
        };
        if response
            .content_length()
            .is_some_and(|length| length > self.max_bytes)
        {
            return Err(format!(
                "larger than feeds.max_bytes ({} bytes)",
                self.max_bytes
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|error| describe(&error))? {
            if body.len() as u64 + chunk.len() as u64 > self.max_bytes {
                return Err(format!(
                    "larger than feeds.max_bytes ({} bytes)",
                    self.max_bytes
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(Fetched { body, validators }))
    }
}

/// A feed's body as fetched, with the validators that came with it.
struct Fetched {
    body: Vec<u8>,
    validators: Validators,
}

pub(crate) fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        format!("cannot connect: {error}")
    } else {
        error.to_string()
    }
}

/// Reduces HTML (as feeds carry it) to plain text: tags dropped, entities decoded.
pub fn html_to_text(html: &str) -> String {
    html2text::from_read_with_decorator(
        html.as_bytes(),
        10_000,
        html2text::render::TrivialDecorator::new(),
    )
    .unwrap_or_default()
}

/// The feed's entries, and how many could not be read. A feed feed-rs refuses whole is
/// repaired (Atom media types and modes) and, failing that, read one entry at a time.
fn read_entries(
    body: &[u8],
    feed_url: Option<&str>,
) -> Result<(Vec<feed_rs::model::Entry>, u64), String> {
    // feed-rs invents an id for items without one; we want to know, and fall back to the link.
    // A parser is not used again after a failure: it keeps state from the entry it failed in.
    let parse = |document: &[u8]| {
        feed_rs::parser::Builder::new()
            .id_generator(|_, _, _| String::new())
            .base_uri(feed_url)
            .build()
            .parse(document)
    };
    let error = match parse(body) {
        Ok(feed) => return Ok((feed.entries, 0)),
        Err(error) => format!("not a valid RSS, Atom or JSON feed: {error}"),
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(error);
    };
    let repaired = repair::repair(text);
    let text = repaired.as_deref().unwrap_or(text);
    if repaired.is_some() {
        if let Ok(feed) = parse(text.as_bytes()) {
            return Ok((feed.entries, 0));
        }
    }
    let Some(documents) = repair::entries_one_by_one(text) else {
        return Err(error);
    };
    let mut entries = Vec::new();
    let mut unreadable = 0;
    for document in documents {
        match parse(document.as_bytes()) {
            Ok(feed) => entries.extend(feed.entries),
            Err(_) => unreadable += 1,
        }
    }
    if entries.is_empty() {
        return Err(error);
    }
    Ok((entries, unreadable))
}

/// Parses a feed body into stories. Relative links are resolved against `xml:base` where the
/// feed gives one, else against `feed_url`. Items without a title or an http(s) link are
/// skipped.
pub fn parse(
    body: &[u8],
    feed_url: Option<&str>,
    section: &Section,
) -> Result<(Vec<NewStory>, u64), String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("the feed is empty".to_string());
    }
    let body = normalise::normalise(body);
    if let Some(at) = normalise::misplaced_declaration(&body) {
        return Err(format!(
            "not a valid RSS, Atom or JSON feed: an XML declaration at byte {at}, where only \
             the first line may have one"
        ));
    }
    let (entries, mut skipped) = read_entries(&body, feed_url)?;
    let mut stories = Vec::new();
    for entry in entries {
        let link = entry
            .links
            .iter()
            .find(|link| link.rel.as_deref().is_none_or(|rel| rel == "alternate"))
            .or(entry.links.first())
            .and_then(|link| StoryUrl::parse(&link.href).ok());
        let title = entry
            .title
            .as_ref()
            .map(|t| html_to_text(&t.content))
            .and_then(|t| StoryTitle::parse(&t).ok());
        let (Some(url), Some(title)) = (link, title) else {
            skipped += 1;
            continue;
        };
        let summary_html = entry
            .summary
            .as_ref()
            .map(|s| s.content.clone())
            .or_else(|| entry.content.as_ref().and_then(|c| c.body.clone()));
        let summary = summary_html.map(|html| html_to_text(&html));
        let author = entry.authors.first().and_then(|person| person.name.clone());
        stories.push(NewStory {
            url,
            guid: (!entry.id.trim().is_empty()).then(|| entry.id.trim().to_string()),
            title,
            summary: optional_summary(summary.as_deref()),
            author: optional_line(author.as_deref(), 200),
            section: Some(section.clone()),
            image: pictures::of_entry(&entry),
            published_at: entry.published.or(entry.updated),
            updated_at: entry.updated,
            score: None,
            views: None,
        });
    }
    Ok((stories, skipped))
}

/// What one poll of a feed came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollOutcome {
    /// Fetched (or not modified) and stored.
    Polled(PollCounts),
    /// Fetching or reading it failed, in words; recorded as the feed's last error.
    Failed(String),
    /// Another node is polling it, or polled it moments ago: left alone.
    Elsewhere,
}

/// Polls one feed and stores its items; the outcome (or error) is recorded on the feed. With
/// `unless_polled_within`, a feed another node polled that recently is left alone; a feed
/// another node is polling now always is.
pub async fn poll(
    app: &App,
    client: &FeedClient,
    feed: &FeedRecord,
    unless_polled_within: Option<std::time::Duration>,
) -> anyhow::Result<PollOutcome> {
    let now = app.clock.now();
    let polled_before = unless_polled_within
        .and_then(|within| chrono::Duration::from_std(within).ok())
        .map(|within| now - within);
    let taken = feeds::take_for_poll(
        &app.pool,
        feed.id,
        &app.claimant(),
        now,
        app.settings.database.lease_until(now),
        polled_before,
    )
    .await?;
    if !taken {
        return Ok(PollOutcome::Elsewhere);
    }
    let polled = poll_inner(app, client, feed, now).await?;
    let failed_body = &polled.body;
    match &polled.outcome {
        Ok((counts, validators)) => {
            feeds::record_poll(
                &app.pool,
                feed.id,
                validators.clone(),
                None,
                failed_body,
                now,
            )
            .await?;
            if counts.inserted + counts.updated > 0 {
                learn_picture_sizes(app, client).await?;
            }
        }
        Err(error) => {
            warn!(feed = %feed.url, "feed poll failed: {error}");
            feeds::record_poll(&app.pool, feed.id, None, Some(error), failed_body, now).await?;
        }
    }
    Ok(match polled.outcome {
        Ok((counts, _)) => PollOutcome::Polled(counts),
        Err(error) => PollOutcome::Failed(error),
    })
}

struct Polled {
    /// The counts and, when a body was stored, its validators; or the error in words.
    outcome: Result<(PollCounts, Option<Validators>), String>,
    /// What became of the body fetched, as the feed's record keeps it.
    body: FailedBody,
}

impl Polled {
    fn not_parsed(outcome: Result<(PollCounts, Option<Validators>), String>) -> Self {
        Self {
            outcome,
            body: FailedBody::Keep,
        }
    }
}

/// How an error about a body that has not changed since it failed begins.
const UNCHANGED: &str = "unchanged since it failed, not parsed again: ";

async fn poll_inner(
    app: &App,
    client: &FeedClient,
    feed: &FeedRecord,
    now: DateTime<Utc>,
) -> anyhow::Result<Polled> {
    let Fetched { body, validators } = match client.fetch(feed).await {
        Ok(Some(fetched)) => fetched,
        Ok(None) => {
            return Ok(Polled::not_parsed(Ok((
                PollCounts {
                    not_modified: true,
                    ..Default::default()
                },
                None,
            ))))
        }
        Err(error) => return Ok(Polled::not_parsed(Err(error))),
    };
    let digest = crate::fingerprint::fingerprint(&[&body]);
    if feed.failed_digest.as_deref() == Some(digest.as_str()) {
        let before = feed
            .last_error
            .as_deref()
            .unwrap_or("the parser failed on it");
        let before = before.strip_prefix(UNCHANGED).unwrap_or(before);
        return Ok(Polled::not_parsed(Err(format!("{UNCHANGED}{before}"))));
    }
    let section = Section::parse(&feed.section).unwrap_or_default();
    let feed_url = feed.url.clone();
    // Parsing is CPU work on untrusted input, in a thread of its own: a parser that panics on
    // some feed fails that feed (recorded as its error), never the poller.
    let parsed = tokio::task::spawn_blocking(move || parse(&body, Some(&feed_url), &section)).await;
    let failed = |error: String| Polled {
        outcome: Err(error),
        body: FailedBody::Failed(digest.clone()),
    };
    let (items, skipped) = match parsed {
        Ok(Ok(parsed)) => parsed,
        Ok(Err(error)) => return Ok(failed(error)),
        Err(failure) => {
            return Ok(failed(format!(
                "the feed parser failed on this feed ({failure}); it is skipped until it changes"
            )))
        }
    };
    let mut counts = PollCounts {
        skipped,
        ..Default::default()
    };
    let mut tx = begin_immediate(&app.pool).await?;
    for item in &items {
        match stories::upsert_feed_item(&mut tx, item, now).await? {
            FeedUpsert::Inserted => counts.inserted += 1,
            FeedUpsert::Updated => counts.updated += 1,
            FeedUpsert::Unchanged => counts.unchanged += 1,
        }
    }
    tx.commit().await?;
    info!(feed = %feed.url, inserted = counts.inserted, updated = counts.updated, "feed polled");
    Ok(Polled {
        outcome: Ok((counts, Some(validators))),
        body: FailedBody::Clear,
    })
}
