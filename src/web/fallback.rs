//! What a reader sees at an address Herald does not serve (404) or with a method it does not
//! take there (405): a small page in the language of the list the address is about, or of the
//! only list, instead of an empty body.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;

use super::WebState;
use crate::domain::ListSlug;
use crate::locale::Locale;
use crate::store::lists;

pub async fn not_found(State(state): State<WebState>, uri: Uri) -> Response {
    small_page(&state, &uri, StatusCode::NOT_FOUND, "page-missing").await
}

pub async fn wrong_method(State(state): State<WebState>, uri: Uri) -> Response {
    small_page(
        &state,
        &uri,
        StatusCode::METHOD_NOT_ALLOWED,
        "page-wrong-method",
    )
    .await
}

/// The catalogue's message `key` (and `key-title`) as a page with `status`.
async fn small_page(state: &WebState, uri: &Uri, status: StatusCode, key: &str) -> Response {
    let locale = locale_for(state, uri.path()).await;
    state.message_page(status, &locale, key)
}

/// The language of the list an `/archive/{list}/...` address names, else of the only list;
/// English when neither tells (or the database does not answer).
async fn locale_for(state: &WebState, path: &str) -> Locale {
    let mut segments = path.trim_start_matches('/').split('/');
    let named = match (segments.next(), segments.next()) {
        (Some("archive"), Some(slug)) => ListSlug::parse(slug).ok(),
        _ => None,
    };
    if let Some(slug) = named {
        if let Ok(Some(list)) = lists::find(&state.app.pool, &slug).await {
            return state.locale(&list.language);
        }
    }
    match lists::all(&state.app.pool).await.as_deref() {
        Ok([only]) => state.locale(&only.language),
        _ => state.english(),
    }
}
