//! `/archive/{list}` and `/archive/{list}/{date}`: the web copy of each edition ("view in
//! browser"), filled with neutral values instead of anyone's name, address or token.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::NaiveDate;

use super::{html, internal, WebState};
use crate::digest::template::{Kind, SlotValues, Template};
use crate::domain::ListSlug;
use crate::store::{editions, lists};
use crate::templates::pages;

fn not_found(state: &WebState) -> Response {
    html(
        StatusCode::NOT_FOUND,
        pages::message(
            &state.app.settings.newsletter,
            "Not found",
            "There is no such edition.",
        ),
    )
}

pub async fn index(State(state): State<WebState>, Path(slug): Path<String>) -> Response {
    let Ok(slug) = ListSlug::parse(&slug) else {
        return not_found(&state);
    };
    let list = match lists::find(&state.app.pool, &slug).await {
        Ok(Some(list)) => list,
        Ok(None) => return not_found(&state),
        Err(error) => return internal(error),
    };
    match editions::published_dates(&state.app.pool, list.id).await {
        Ok(dates) => html(
            StatusCode::OK,
            pages::archive_index(
                &state.app.settings.newsletter,
                &state.app.settings.web,
                list.title.as_str(),
                slug.as_str(),
                &dates,
            ),
        ),
        Err(error) => internal(error),
    }
}

pub async fn edition(
    State(state): State<WebState>,
    Path((slug, date)): Path<(String, String)>,
) -> Response {
    let (Ok(slug), Ok(date)) = (ListSlug::parse(&slug), date.parse::<NaiveDate>()) else {
        return not_found(&state);
    };
    let list = match lists::find(&state.app.pool, &slug).await {
        Ok(Some(list)) => list,
        Ok(None) => return not_found(&state),
        Err(error) => return internal(error),
    };
    let edition = match editions::find(&state.app.pool, list.id, date).await {
        Ok(Some(edition)) => edition,
        Ok(None) => return not_found(&state),
        Err(error) => return internal(error),
    };
    let Some(marked) = edition.html else {
        return not_found(&state);
    };
    let unsubscribe_url = state.app.settings.web.url("unsubscribe");
    let neutral = SlotValues {
        name: None,
        email: "a reader",
        unsubscribe_url: &unsubscribe_url,
    };
    (
        StatusCode::OK,
        Html(Template::parse(&marked).fill(Kind::Html, &neutral)),
    )
        .into_response()
}
