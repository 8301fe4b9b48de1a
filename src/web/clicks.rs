//! `/r/{link}` and `/r/{link}/{tag}`: a counted story link. Answers 302 to the story's stored URL
//! and nowhere else; a link this installation did not sign, or whose story its edition never
//! carried, gets a 404 page and is not counted. Nothing of the request is kept but the verdict.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::WebError;
use super::{html, WebState};
use crate::clicks::{verdict, Click, LinkTarget};
use crate::store::lists;
use crate::templates::pages;

pub async fn follow(
    State(state): State<WebState>,
    method: Method,
    headers: HeaderMap,
    Path(link): Path<String>,
) -> Result<Response, WebError> {
    answer(&state, &method, &headers, &link, None).await
}

pub async fn follow_tagged(
    State(state): State<WebState>,
    method: Method,
    headers: HeaderMap,
    Path((link, tag)): Path<(String, String)>,
) -> Result<Response, WebError> {
    answer(&state, &method, &headers, &link, Some(&tag)).await
}

async fn answer(
    state: &WebState,
    method: &Method,
    headers: &HeaderMap,
    link: &str,
    tag: Option<&str>,
) -> Result<Response, WebError> {
    let links = &state.links;
    let Some(target) = links.key.read_link(link) else {
        return Ok(unknown(state, None).await);
    };
    let tag = match tag.map(|raw| links.key.read_tag(raw)) {
        None => None,
        Some(Some(tag)) => Some(tag),
        Some(None) => return Ok(unknown(state, Some(&target)).await),
    };
    let Some(destination) = links.destinations.find(&state.app.pool, &target).await? else {
        return Ok(unknown(state, Some(&target)).await);
    };
    // The stored URL was checked as http(s) when it was stored; a header value it cannot be
    // is not followed rather than sent broken.
    let Ok(location) = HeaderValue::from_str(&destination.url) else {
        return Ok(unknown(state, Some(&target)).await);
    };
    links.counter.record(Click {
        edition_id: destination.edition_id,
        story_id: target.story_id,
        place: target.place,
        tag,
        filtered: verdict::of_request(method, headers),
        at: state.app.clock.now(),
    });
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            // Every click reaches us: no cache between the reader and the count.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response())
}

async fn unknown(state: &WebState, target: Option<&LinkTarget>) -> Response {
    let list = match target {
        Some(target) => lists::get(&state.app.pool, target.list_id).await.ok(),
        None => None,
    };
    let locale = list
        .as_ref()
        .map_or_else(|| state.english(), |list| state.locale(&list.language));
    let archive = list.as_ref().map(|list| {
        state
            .app
            .settings
            .web
            .url(&format!("archive/{}", list.slug))
    });
    html(
        StatusCode::NOT_FOUND,
        pages::story_link_unknown(&state.app.settings.newsletter, &locale, archive.as_deref()),
    )
}
