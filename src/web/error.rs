//! How a handler's failure reaches the client: a busy database is 503 with `Retry-After` (the
//! request may simply be sent again), anything else a logged 500. Pages answer in plain text,
//! the story API in JSON.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::store;

/// Seconds a client is asked to wait before sending a request again after a 503.
pub const RETRY_AFTER_SECS: u64 = 10;

#[derive(Debug)]
pub enum WebError {
    /// Another process held the database past the web's busy timeout.
    Busy,
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for WebError {
    fn from(error: anyhow::Error) -> Self {
        if store::is_busy(&error) {
            Self::Busy
        } else {
            Self::Internal(error)
        }
    }
}

impl WebError {
    fn status_and_message(self) -> (StatusCode, &'static str) {
        match self {
            Self::Busy => {
                tracing::warn!("a web request found the database busy; answered 503");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is busy; please try again shortly",
                )
            }
            Self::Internal(error) => {
                tracing::error!("{}", crate::error::OneLine(&error));
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }

    /// The same answer as a JSON `{"error": ...}` body, for the API.
    pub fn json(self) -> Response {
        let (status, message) = self.status_and_message();
        with_retry_after(
            status,
            (status, Json(serde_json::json!({ "error": message }))).into_response(),
        )
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
