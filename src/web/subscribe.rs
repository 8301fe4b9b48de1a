//! `GET /subscribe` and `POST /subscribe`: double opt-in.

use std::net::IpAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use chrono::Duration;
use serde::Deserialize;
use std::sync::atomic::Ordering;

use super::error::WebError;
use super::listener::ClientAddr;
use super::{html, WebState};
use crate::domain::text::shorten;
use crate::domain::{EmailAddress, ListSlug, SubscriberName};
use crate::locale::Locale;
use crate::store::{lists, optin};
use crate::templates::pages::{self, FormState, ListChoice};

/// How long before a repeated sign-up of one address sends another confirmation mail.
pub const CONFIRMATION_COOLDOWN_MINUTES: i64 = 10;

#[derive(Deserialize, Default)]
pub struct SubscribeForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    list: String,
    #[serde(default)]
    name: String,
}

/// The lists to offer, and the language of the form: that of the list the visitor came for
/// (`?list=SLUG`, or the form's own field), else the lists' own when they share one, else
/// English.
async fn choices(
    state: &WebState,
    wanted: Option<&str>,
) -> anyhow::Result<(Vec<ListChoice>, Locale)> {
    let all = lists::all(&state.app.pool).await?;
    let locale = match (
        all.iter().find(|list| Some(list.slug.as_str()) == wanted),
        all.first(),
    ) {
        (Some(list), _) => state.locale(&list.language),
        (None, Some(first)) if all.iter().all(|list| list.language == first.language) => {
            state.locale(&first.language)
        }
        _ => state.english(),
    };
    let choices = all
        .into_iter()
        .map(|list| ListChoice {
            slug: list.slug.to_string(),
            title: list.title.as_str().to_string(),
        })
        .collect();
    Ok((choices, locale))
}

#[derive(Deserialize, Default)]
pub struct FormQuery {
    list: Option<String>,
}

/// The form; a site's newsletter box may link to `/subscribe?list=SLUG` for one list's form in
/// its language, with that list chosen.
pub async fn form(
    State(state): State<WebState>,
    Query(query): Query<FormQuery>,
) -> Result<Response, WebError> {
    let wanted = query.list.as_deref().map(|list| shorten(list, 64));
    let (lists, locale) = choices(&state, wanted.as_deref()).await?;
    Ok(html(
        StatusCode::OK,
        pages::subscribe_form(
            &state.app.settings.newsletter,
            &state.app.settings.web,
            &locale,
            &lists,
            &FormState {
                list: wanted.as_deref().unwrap_or_default(),
                ..FormState::default()
            },
        ),
    ))
}

pub async fn submit(
    State(state): State<WebState>,
    ConnectInfo(ClientAddr(peer)): ConnectInfo<ClientAddr>,
    headers: HeaderMap,
    Form(form): Form<SubscribeForm>,
) -> Result<Response, WebError> {
    let client = client_ip(peer.ip(), &headers, &state.app.settings.web.trusted_proxies);
    state
        .app
        .metrics
        .subscribe_requests
        .fetch_add(1, Ordering::Relaxed);
    let brand = &state.app.settings.newsletter;
    let web = &state.app.settings.web;
    let (lists, locale) = choices(&state, Some(&form.list)).await?;
    // Refilled into the form on an error: no more than a real value could be.
    let (email_shown, name_shown, list_shown) = (
        shorten(&form.email, 320),
        shorten(&form.name, 200),
        shorten(&form.list, 64),
    );
    let refill = |error| FormState {
        error: Some(error),
        email: email_shown.as_ref(),
        name: name_shown.as_ref(),
        list: list_shown.as_ref(),
    };
    let form_page = |status, state: FormState<'_>| {
        html(
            status,
            pages::subscribe_form(brand, web, &locale, &lists, &state),
        )
    };
    if !state.limiter.allow(client) {
        state
            .app
            .metrics
            .subscribe_rate_limited
            .fetch_add(1, Ordering::Relaxed);
        let reason = locale.text("page-subscribe-too-many");
        return Ok(form_page(StatusCode::TOO_MANY_REQUESTS, refill(&reason)));
    }
    // Bytes that are not UTF-8 arrive as U+FFFD: refuse them rather than store a mangled name
    // or address.
    if [&form.email, &form.name, &form.list]
        .iter()
        .any(|field| field.contains(char::REPLACEMENT_CHARACTER))
    {
        let reason = locale.text("page-subscribe-not-text");
        let blank = FormState {
            error: Some(&reason),
            ..FormState::default()
        };
        return Ok(form_page(StatusCode::UNPROCESSABLE_ENTITY, blank));
    }
    let email = match EmailAddress::parse(&form.email) {
        Ok(email) => email,
        Err(error) => {
            let reason = locale.format(
                "page-subscribe-bad-address",
                &[("reason", error.to_string().into())],
            );
            return Ok(form_page(StatusCode::UNPROCESSABLE_ENTITY, refill(&reason)));
        }
    };
    let list = match ListSlug::parse(&form.list) {
        Ok(slug) => lists::find(&state.app.pool, &slug).await?,
        Err(_) => None,
    };
    let Some(list) = list else {
        let reason = locale.format(
            "page-subscribe-no-list",
            &[("list", list_shown.as_ref().into())],
        );
        return Ok(form_page(StatusCode::UNPROCESSABLE_ENTITY, refill(&reason)));
    };
    let name = SubscriberName::parse(&form.name);
    let now = state.app.clock.now();
    let cooldown = Duration::minutes(CONFIRMATION_COOLDOWN_MINUTES);
    let ip = client.to_string();
    let queued = optin::sign_up(
        &state.app.pool,
        list.id,
        &email,
        name.as_ref(),
        Some(&ip),
        cooldown,
        now,
    )
    .await?;
    if queued {
        // Sent by the daemon's confirmation sender: the answer takes no longer for a new
        // address than for a known one, so its timing tells them apart no more than its text
        // does.
        state.confirmations.notify_one();
    }
    let locale = state.locale(&list.language);
    Ok(state.message_page(StatusCode::OK, &locale, "page-check-inbox"))
}

/// The client's address: the TCP peer, or, when the peer is a trusted proxy, the last address in
/// `X-Forwarded-For` that is not itself a trusted proxy (earlier entries can be forged).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().expect("header"));
        headers
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "127.0.0.1".parse().expect("ip");
        let client: IpAddr = "203.0.113.7".parse().expect("ip");
        let headers = forwarded("198.51.100.1, 203.0.113.7");
        assert_eq!(
            client_ip(proxy, &headers, &[]),
            proxy,
            "untrusted: the header is ignored"
        );
        assert_eq!(
            client_ip(proxy, &headers, &[proxy]),
            client,
            "the last hop the proxy saw"
        );
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &[proxy]), proxy);
        assert_eq!(client_ip(proxy, &forwarded("nonsense"), &[proxy]), proxy);
    }
}
