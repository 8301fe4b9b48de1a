//! `/archive/{list}` (the editions, newest first, a page at a time), `/archive/{list}/{date}`
//! (the web copy of each edition, "view in browser", filled with neutral values instead of
//! anyone's name, address or token) and `/archive/{list}/feed.xml` (an Atom feed of them).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;

use super::{html, internal, WebState};
use crate::digest::template::{Kind, SlotValues, Template};
use crate::domain::ListSlug;
use crate::locale::Locale;
use crate::store::lists::ListRecord;
use crate::store::{editions, lists};
use crate::templates::archive_feed::{self, FeedEntry, FeedView};
use crate::templates::pages::{self, EditionEntry, ListChoice, Pagination};

/// Editions on one page of the index, and in the feed.
pub const PER_PAGE: u32 = 20;

fn not_found(state: &WebState, locale: &Locale) -> Response {
    html(
        StatusCode::NOT_FOUND,
        pages::message(
            &state.app.settings.newsletter,
            locale,
            "page-not-found-title",
            "page-not-found",
        ),
    )
}

/// The list named in the path, or the answer to give instead.
async fn list_or_answer(state: &WebState, slug: &str) -> Result<ListRecord, Response> {
    let Ok(slug) = ListSlug::parse(slug) else {
        return Err(not_found(state, &state.english()));
    };
    match lists::find(&state.app.pool, &slug).await {
        Ok(Some(list)) => Ok(list),
        Ok(None) => Err(not_found(state, &state.english())),
        Err(error) => Err(internal(error)),
    }
}

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

fn entries(archived: Vec<editions::ArchivedEdition>) -> Vec<EditionEntry> {
    archived
        .into_iter()
        .map(|edition| EditionEntry {
            date: edition.local_date,
            headline: edition.headline,
            stories: edition.stories,
            built_at: edition.built_at,
        })
        .collect()
}

pub async fn index(
    State(state): State<WebState>,
    Path(slug): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let list = match list_or_answer(&state, &slug).await {
        Ok(list) => list,
        Err(answer) => return answer,
    };
    let locale = state.locale(&list.language);
    let total = match editions::published_count(&state.app.pool, list.id).await {
        Ok(total) => total,
        Err(error) => return internal(error),
    };
    let per_page = i64::from(PER_PAGE);
    let pages = u32::try_from((total.max(1) + per_page - 1) / per_page).unwrap_or(u32::MAX);
    // A page number that is not one (or past the end) is no such page.
    let page = match query.page.as_deref().map(str::parse::<u32>) {
        None => 1,
        Some(Ok(page)) if (1..=pages).contains(&page) => page,
        Some(_) => return not_found(&state, &locale),
    };
    let offset = u64::from(page - 1) * u64::from(PER_PAGE);
    let archived = match editions::published(&state.app.pool, list.id, PER_PAGE, offset).await {
        Ok(archived) => archived,
        Err(error) => return internal(error),
    };
    let shown = entries(archived);
    html(
        StatusCode::OK,
        pages::archive_index(
            &state.app.settings.newsletter,
            &state.app.settings.web,
            &locale,
            &ListChoice {
                slug: list.slug.to_string(),
                title: list.title.as_str().to_string(),
            },
            &shown,
            &Pagination { page, pages },
        ),
    )
}

pub async fn feed(State(state): State<WebState>, Path(slug): Path<String>) -> Response {
    let list = match list_or_answer(&state, &slug).await {
        Ok(list) => list,
        Err(answer) => return answer,
    };
    let archived = match editions::published(&state.app.pool, list.id, PER_PAGE, 0).await {
        Ok(archived) => archived,
        Err(error) => return internal(error),
    };
    let web = &state.app.settings.web;
    let editions: Vec<FeedEntry> = entries(archived)
        .into_iter()
        .map(|edition| FeedEntry {
            url: web.url(&format!("archive/{}/{}", list.slug, edition.date)),
            edition,
        })
        .collect();
    let locale = state.locale(&list.language);
    let view = FeedView {
        title: list.title.as_str(),
        newsletter: &state.app.settings.newsletter.name,
        archive_url: &web.url(&format!("archive/{}", list.slug)),
        feed_url: &web.url(&format!("archive/{}/feed.xml", list.slug)),
        locale: &locale,
        editions: &editions,
    };
    match archive_feed::render(&view) {
        Ok(xml) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
            xml,
        )
            .into_response(),
        Err(error) => internal(error.into()),
    }
}

pub async fn edition(
    State(state): State<WebState>,
    Path((slug, date)): Path<(String, String)>,
) -> Response {
    let list = match list_or_answer(&state, &slug).await {
        Ok(list) => list,
        Err(answer) => return answer,
    };
    let locale = state.locale(&list.language);
    let Ok(date) = date.parse::<NaiveDate>() else {
        return not_found(&state, &locale);
    };
    let edition = match editions::find(&state.app.pool, list.id, date).await {
        Ok(Some(edition)) => edition,
        Ok(None) => return not_found(&state, &locale),
        Err(error) => return internal(error),
    };
    let Some(marked) = edition.html else {
        return not_found(&state, &locale);
    };
    let unsubscribe_url = state.app.settings.web.url("unsubscribe");
    let reader = locale.text("digest-web-reader");
    let neutral = SlotValues {
        name: None,
        email: &reader,
        unsubscribe_url: &unsubscribe_url,
    };
    (
        StatusCode::OK,
        Html(Template::parse(&marked).fill(Kind::Html, &neutral)),
    )
        .into_response()
}
