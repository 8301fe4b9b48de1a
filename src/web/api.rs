//! `PUT /api/stories`: the site's CMS upserts stories (and updates their votes) by URL.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use super::error::{problem, ApiError};
use super::WebState;
use crate::import::stories_json::story_from_json;
use crate::store::begin_immediate;
use crate::store::stories::{self, Upserted};

/// Larger bodies get 413 before they are read.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Bearer-token check in time that does not depend on where the tokens differ.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default()
        .as_bytes();
    aws_lc_rs::constant_time::verify_slices_are_equal(given, token.as_bytes()).is_ok()
}

/// The answer for a request the API must refuse before reading it: off, or no valid token.
pub(super) fn refuse_unauthorized(state: &WebState, headers: &HeaderMap) -> Option<Response> {
    let Some(token) = &state.api_token else {
        return Some(problem(
            StatusCode::NOT_FOUND,
            "the story API is off: set api.token or api.token_file",
        ));
    };
    if authorized(headers, token.expose_secret()) {
        return None;
    }
    let mut response = problem(
        StatusCode::UNAUTHORIZED,
        "a valid Authorization: Bearer token is required",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    Some(response)
}

/// The body as JSON, or the 400 that says why not.
pub(super) fn json_body(body: &[u8]) -> Result<Value, Box<Response>> {
    serde_json::from_slice(body).map_err(|error| {
        Box::new(problem(
            StatusCode::BAD_REQUEST,
            &format!("invalid JSON: {error}"),
        ))
    })
}

pub async fn put_stories(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refusal) = refuse_unauthorized(&state, &headers) {
        return refusal;
    }
    let value = match json_body(&body) {
        Ok(value) => value,
        Err(response) => return *response,
    };
    let (items, single) = match value {
        Value::Array(items) => (items, false),
        object @ Value::Object(_) => (vec![object], true),
        _ => {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "expected a story object or an array of them",
            )
        }
    };
    let mut parsed = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match story_from_json(item) {
            Ok(story) => parsed.push(story),
            Err(reason) if single => return problem(StatusCode::UNPROCESSABLE_ENTITY, &reason),
            Err(reason) => {
                return problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("item {}: {reason}", index + 1),
                )
            }
        }
    }
    let now = state.app.clock.now();
    let stored: anyhow::Result<(u64, u64)> = async {
        let mut tx = begin_immediate(&state.app.pool).await?;
        let (mut inserted, mut updated) = (0, 0);
        for story in &parsed {
            match stories::upsert(&mut tx, story, now).await? {
                Upserted::Inserted => inserted += 1,
                Upserted::Updated => updated += 1,
            }
        }
        tx.commit().await?;
        Ok((inserted, updated))
    }
    .await;
    let unmeasured = parsed.iter().any(|story| {
        story
            .image
            .as_ref()
            .is_some_and(|image| image.size.is_none())
    });
    if stored.is_ok() && unmeasured {
        // Measured after the answer, by one worker however many requests come: the CMS does
        // not wait on a picture server.
        state.pictures.notify_one();
    }
    match stored {
        Ok((inserted, updated)) => (
            StatusCode::OK,
            Json(json!({ "inserted": inserted, "updated": updated })),
        )
            .into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}
