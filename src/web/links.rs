//! The links in emails: `/confirm/{token}` and `/unsubscribe/{token}` (RFC 8058 one-click).

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::WebError;
use super::{html, WebState};
use crate::domain::SubscriptionToken;
use crate::store::optin;
use crate::templates::pages;

pub async fn confirm(
    State(state): State<WebState>,
    method: Method,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    // Mail scanners send HEAD (and GET) to every link they see: HEAD confirms nobody.
    if method == Method::HEAD {
        return Ok(StatusCode::OK.into_response());
    }
    let (valid, locale) = match SubscriptionToken::parse(&token) {
        Ok(token) => (
            optin::confirm(&state.app.pool, &token, state.app.clock.now()).await,
            state.list_locale(token.list_id).await,
        ),
        Err(_) => (Ok(false), state.english()),
    };
    Ok(match valid? {
        true => state.message_page(StatusCode::OK, &locale, "page-confirmed"),
        false => state.message_page(StatusCode::NOT_FOUND, &locale, "page-link-invalid"),
    })
}

/// GET shows a button and changes nothing: mail scanners open links, people press buttons.
pub async fn unsubscribe_page(
    State(state): State<WebState>,
    Path(token): Path<String>,
) -> Response {
    let action = format!(
        "/unsubscribe/{}",
        token
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect::<String>()
    );
    let locale = match SubscriptionToken::parse(&token) {
        Ok(token) => state.list_locale(token.list_id).await,
        Err(_) => state.english(),
    };
    html(
        StatusCode::OK,
        pages::unsubscribe(&state.app.settings.newsletter, &locale, &action),
    )
}

/// POST unsubscribes at once. The answer is the same 200 whatever the token, so the endpoint
/// says nothing about who is subscribed; no cookies, no redirect (RFC 8058).
pub async fn unsubscribe(
    State(state): State<WebState>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let mut locale = state.english();
    if let Ok(token) = SubscriptionToken::parse(&token) {
        optin::unsubscribe(&state.app.pool, &token, state.app.clock.now()).await?;
        locale = state.list_locale(token.list_id).await;
    }
    Ok(state.message_page(StatusCode::OK, &locale, "page-unsubscribed"))
}

pub async fn unsubscribe_help(State(state): State<WebState>) -> Response {
    html(
        StatusCode::OK,
        pages::message(
            &state.app.settings.newsletter,
            &state.english(),
            "page-unsubscribe-title",
            "page-unsubscribe-help",
        ),
    )
}
