//! `PUT /api/lists/{list}/editions/{date}/pins` and `.../drops`: the site's CMS steers an
//! edition not yet built, with the story API's token. The body is the whole set, which replaces
//! the edition's pins (or drops): `[{"url": "...", "position": 2}, {"url": "..."}]` for pins,
//! `[{"url": "..."}]` or `["..."]` for drops. All or nothing.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde_json::{json, Value};

use super::api::{json_body, refuse_unauthorized};
use super::error::{problem, ApiError};
use super::WebState;
use crate::digest::steer::{self, PickRequest, Refusal};
use crate::domain::{ListSlug, StoryUrl};
use crate::store::lists;
use crate::store::picks::Pick;

/// Who the picks record as their author: the CMS, through the API token.
const API_AUTHOR: &str = "api";

pub async fn put_pins(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((list, date)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    put(
        &state,
        &headers,
        &list,
        &date,
        &body,
        Pick::Pin { position: None },
    )
    .await
}

pub async fn put_drops(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((list, date)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    put(&state, &headers, &list, &date, &body, Pick::Drop).await
}

async fn put(
    state: &WebState,
    headers: &HeaderMap,
    slug: &str,
    date: &str,
    body: &[u8],
    kind: Pick,
) -> Response {
    if let Some(refusal) = refuse_unauthorized(state, headers) {
        return refusal;
    }
    let list = match ListSlug::parse(slug) {
        Ok(slug) => lists::find(&state.app.pool, &slug).await,
        Err(_) => Ok(None),
    };
    let list = match list {
        Ok(Some(list)) => list,
        Ok(None) => return problem(StatusCode::NOT_FOUND, &format!("no list {slug:?}")),
        Err(error) => return ApiError::from(error).into_response(),
    };
    let Ok(date) = date.parse::<NaiveDate>() else {
        return problem(
            StatusCode::NOT_FOUND,
            &format!("{date:?} is not a date (YYYY-MM-DD)"),
        );
    };
    let value = match json_body(body) {
        Ok(value) => value,
        Err(response) => return *response,
    };
    let requests = match parse(&value, kind) {
        Ok(requests) => requests,
        Err(reason) => return problem(StatusCode::UNPROCESSABLE_ENTITY, &reason),
    };
    let now = state.app.clock.now();
    match steer::replace(
        &state.app.pool,
        &list,
        date,
        kind,
        &requests,
        API_AUTHOR,
        now,
    )
    .await
    {
        Ok(Ok(())) => (
            StatusCode::OK,
            Json(json!({ "list": list.slug.to_string(), "date": date, "count": requests.len() })),
        )
            .into_response(),
        Ok(Err((item, refusal))) => {
            let status = match refusal {
                Refusal::Built { .. } => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let message = if item == 0 {
                refusal.to_string()
            } else {
                format!("item {item}: {refusal}")
            };
            problem(status, &message)
        }
        Err(error) => ApiError::from(error).into_response(),
    }
}

fn parse(value: &Value, kind: Pick) -> Result<Vec<PickRequest>, String> {
    let Value::Array(items) = value else {
        return Err("expected an array of stories ({\"url\": ...})".into());
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let at = |reason: String| format!("item {}: {reason}", index + 1);
            let (url, position) = match item {
                Value::String(url) => (url.as_str(), None),
                Value::Object(fields) => {
                    let url = fields
                        .get("url")
                        .and_then(Value::as_str)
                        .ok_or_else(|| at("field \"url\" is missing".into()))?;
                    let position = match fields.get("position") {
                        None | Some(Value::Null) => None,
                        Some(number) => Some(
                            number
                                .as_u64()
                                .and_then(|n| u32::try_from(n).ok())
                                .ok_or_else(|| {
                                    at(format!("field \"position\": {number} is not a position"))
                                })?,
                        ),
                    };
                    (url, position)
                }
                _ => return Err(at("expected a URL or {\"url\": ...}".into())),
            };
            let url =
                StoryUrl::parse(url).map_err(|error| at(format!("field \"url\": {error}")))?;
            let pick = match kind {
                Pick::Pin { .. } => Pick::Pin { position },
                Pick::Drop => Pick::Drop,
            };
            Ok(PickRequest { url, pick })
        })
        .collect()
}
