//! How a handler's failure reaches the client, decided once from what the store said: no such
//! thing is 404, a thing that exists already 409, a busy database 503 with `Retry-After` (the
//! request may simply be sent again), anything else a logged 500. Handlers return
//! `Result<Response, WebError>` and use `?`. Pages answer in plain text, the story API in JSON.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use std::borrow::Cow;

use crate::store::{Failure, StoreError};

/// Seconds a client is asked to wait before sending a request again after a 503.
pub const RETRY_AFTER_SECS: u64 = 10;

#[derive(Debug)]
pub enum WebError {
    NotFound(String),
    Conflict(String),
    /// Another process held the database past the web's busy timeout.
    Busy,
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for WebError {
    fn from(error: anyhow::Error) -> Self {
        match (Failure::of(&error), StoreError::in_chain(&error)) {
            (Failure::NotFound, Some(refusal)) => Self::NotFound(refusal.to_string()),
            (Failure::Conflict, Some(refusal)) => Self::Conflict(refusal.to_string()),
            (Failure::Busy, _) => Self::Busy,
            _ => Self::Internal(error),
        }
    }
}

impl WebError {
    fn status_and_message(self) -> (StatusCode, Cow<'static, str>) {
        match self {
            Self::NotFound(message) => (StatusCode::NOT_FOUND, message.into()),
            Self::Conflict(message) => (StatusCode::CONFLICT, message.into()),
            Self::Busy => {
                tracing::warn!("a web request found the database busy; answered 503");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is busy; please try again shortly".into(),
                )
            }
            Self::Internal(error) => {
                tracing::error!("{}", crate::error::OneLine(&error));
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
            }
        }
    }

    /// The same answer as a JSON `{"error": ...}` body, for the API.
    pub fn json(self) -> Response {
        let (status, message) = self.status_and_message();
        with_retry_after(status, problem(status, &message))
    }
}

/// A JSON answer `{"error": MESSAGE}`, as the story API and the webhooks give every refusal.
pub fn problem(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// A [`WebError`] answered in JSON: what the story API's and the webhooks' handlers return.
#[derive(Debug)]
pub struct ApiError(pub WebError);

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.json()
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, message) = self.status_and_message();
        with_retry_after(status, (status, format!("{message}\n")).into_response())
    }
}

fn with_retry_after(status: StatusCode, mut response: Response) -> Response {
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    response
}

#[cfg(test)]
mod tests {
    use anyhow::Context as _;

    use super::*;

    fn answered(error: anyhow::Error) -> StatusCode {
        WebError::from(error).into_response().status()
    }

    #[test]
    fn the_store_refusals_under_any_context_are_404_and_409_and_the_rest_500() {
        let missing: anyhow::Result<()> =
            Err(StoreError::NotFound("unknown list \"x\"".into()).into());
        let missing = missing.context("reading the list").expect_err("refused");
        assert_eq!(crate::error::exit_code(&missing), 2);
        assert_eq!(answered(missing), StatusCode::NOT_FOUND);

        let taken = anyhow::Error::from(StoreError::Conflict("list \"x\" already exists".into()));
        let body = ApiError::from(taken).into_response();
        assert_eq!(body.status(), StatusCode::CONFLICT);

        let broken = anyhow::anyhow!("disk I/O error").context("storing a story");
        assert_eq!(crate::error::exit_code(&broken), 1);
        assert_eq!(answered(broken), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
