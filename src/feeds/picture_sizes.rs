//! Learning the size of stories' pictures when they arrive, so an edition can give every
//! `<img>` its width and height without fetching anything at send time. Only the picture's
//! first bytes are read (a ranged request, at most [`HEADER_BYTES`], within [`TIMEOUT`]).

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{CONTENT_TYPE, RANGE};
use tracing::{debug, info};

use crate::app::App;
use crate::domain::ImageSize;
use crate::feeds::FeedClient;
use crate::store::stories::{self, UnmeasuredPicture};

/// Enough for the header of every common format (JPEG's size can sit after its EXIF block).
pub const HEADER_BYTES: usize = 64 * 1024;
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Pictures measured in one pass, and at once.
const BATCH: u32 = 64;
const PARALLEL: usize = 4;
/// Only pictures of stories this recent are measured: older ones will not be mailed, and an
/// install upgraded with years of stories must not spend hours reading old pictures.
const RECENT_DAYS: i64 = 7;

impl FeedClient {
    /// The picture's size from its first bytes.
    pub async fn picture_size(&self, url: &str) -> Result<ImageSize, String> {
        let url = reqwest::Url::parse(url).map_err(|error| error.to_string())?;
        if !self.allow_private_pictures {
            super::public_address::check_literal(&url)?;
            if self.proxied_pictures {
                super::public_address::check_no_name(&url)?;
            }
        }
        let request = self
            .pictures
            .get(url)
            .header(RANGE, format!("bytes=0-{}", HEADER_BYTES - 1))
            .timeout(TIMEOUT);
        let mut response = request
            .send()
            .await
            .map_err(|error| super::describe(&error))?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !content_type.is_empty() && !content_type.starts_with("image/") {
            return Err(format!("not a picture ({content_type})"));
        }
        let mut head = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| super::describe(&error))?
        {
            let room = HEADER_BYTES - head.len();
            head.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if let Ok(size) = imagesize::blob_size(&head) {
                return ImageSize::new(size.width as u64, size.height as u64)
                    .ok_or_else(|| format!("implausible size {}x{}", size.width, size.height));
            }
            if head.len() >= HEADER_BYTES {
                break;
            }
        }
        Err(format!("no picture size in its first {} bytes", head.len()))
    }
}

/// Measures pictures not measured yet, a batch at a time; returns how many were measured.
pub async fn learn(app: &App, client: &FeedClient) -> anyhow::Result<u64> {
    let mut measured = 0;
    loop {
        let since = app.clock.now() - chrono::Duration::days(RECENT_DAYS);
        let pending = stories::unmeasured_pictures(&app.pool, since, BATCH).await?;
        if pending.is_empty() {
            return Ok(measured);
        }
        let results: Vec<(UnmeasuredPicture, Option<ImageSize>)> =
            futures_util::stream::iter(pending)
                .map(|picture| async move {
                    let size = match client.picture_size(&picture.url).await {
                        Ok(size) => Some(size),
                        Err(error) => {
                            debug!(url = %picture.url, "picture not measured: {error}");
                            None
                        }
                    };
                    (picture, size)
                })
                .buffer_unordered(PARALLEL)
                .collect()
                .await;
        let now = app.clock.now();
        for (picture, size) in &results {
            stories::record_picture_size(&app.pool, picture, *size, now).await?;
            measured += u64::from(size.is_some());
        }
        info!(measured, "picture sizes learned");
    }
}

/// [`learn`] with a client of its own, for `story add` and `story import`: a picture that
/// cannot be measured never fails storing its story (it is shown without a height), so errors
/// are logged, not returned. The daemon keeps one client and calls [`learn`].
pub async fn learn_quietly(app: &App) {
    let outcome = match FeedClient::new(&app.settings.feeds) {
        Ok(client) => learn(app, &client).await,
        Err(error) => Err(error),
    };
    if let Err(error) = outcome {
        tracing::warn!(
            "picture sizes not learned: {}",
            crate::error::OneLine(&error)
        );
    }
}
