//! `/archive/{list}` (the editions, newest first, a page at a time), `/archive/{list}/{date}`
//! (the web copy of each edition, "view in browser", filled with neutral values instead of
//! anyone's name, address or token) and `/archive/{list}/feed.xml` (an Atom feed of them).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;

use super::error::WebError;
use super::{html, WebState};
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
    state.message_page(StatusCode::NOT_FOUND, locale, "page-not-found")
}

/// The list named in the path, if there is one.
async fn named_list(state: &WebState, slug: &str) -> anyhow::Result<Option<ListRecord>> {
    match ListSlug::parse(slug) {
        Ok(slug) => lists::find(&state.app.pool, &slug).await,
        Err(_) => Ok(None),
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
            most_read: edition.most_read,
        })
        .collect()
}

pub async fn index(
    State(state): State<WebState>,
    Path(slug): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, WebError> {
    let Some(list) = named_list(&state, &slug).await? else {
        return Ok(not_found(&state, &state.english()));
    };
    let locale = state.locale(&list.language);
    let total = editions::published_count(&state.app.pool, list.id).await?;
    let per_page = i64::from(PER_PAGE);
    let pages = u32::try_from((total.max(1) + per_page - 1) / per_page).unwrap_or(u32::MAX);
    // A page number that is not one (or past the end) is no such page.
    let page = match query.page.as_deref().map(str::parse::<u32>) {
        None => 1,
        Some(Ok(page)) if (1..=pages).contains(&page) => page,
        Some(_) => return Ok(not_found(&state, &locale)),
    };
    let offset = u64::from(page - 1) * u64::from(PER_PAGE);
    let archived = editions::published(&state.app.pool, list.id, PER_PAGE, offset).await?;
    let shown = entries(archived);
    Ok(html(
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
    ))
}

pub async fn feed(
    State(state): State<WebState>,
    Path(slug): Path<String>,
) -> Result<Response, WebError> {
    let Some(list) = named_list(&state, &slug).await? else {
        return Ok(not_found(&state, &state.english()));
    };
    let archived = editions::published(&state.app.pool, list.id, PER_PAGE, 0).await?;
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
    let xml = archive_feed::render(&view).map_err(anyhow::Error::from)?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        xml,
    )
        .into_response())
}

pub async fn edition(
    State(state): State<WebState>,
    Path((slug, date)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let Some(list) = named_list(&state, &slug).await? else {
        return Ok(not_found(&state, &state.english()));
    };
    let locale = state.locale(&list.language);
    let Ok(date) = date.parse::<NaiveDate>() else {
        return Ok(not_found(&state, &locale));
    };
    let Some(edition) = editions::find(&state.app.pool, list.id, date).await? else {
        return Ok(not_found(&state, &locale));
    };
    let Some(marked) = edition.html else {
        return Ok(not_found(&state, &locale));
    };
    let unsubscribe_url = state.app.settings.web.url("unsubscribe");
    let reader = locale.text("digest-web-reader");
    let neutral = SlotValues {
        name: None,
        email: &reader,
        unsubscribe_url: &unsubscribe_url,
        // Links of the web copy are counted without a tag: under the place `archive`.
        click_tag: "",
    };
    Ok((
        StatusCode::OK,
        Html(Template::parse(&marked).fill(Kind::Html, &neutral)),
    )
        .into_response())
}
