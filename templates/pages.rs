//! The web pages subscribers reach from the site's newsletter box and from each email, and the
//! confirmation email. Same branding as the digest; plain, accessible HTML, in the list's
//! language and direction (`dir` mirrors the layout; the few sided rules have an `[dir=rtl]` twin).

use chrono::{DateTime, NaiveDate, Utc};
use maud::{html, Markup, DOCTYPE};

use super::style::{FONT_STACK, MUTED, PAGE_BACKGROUND, TEXT};
use crate::locale::Locale;
use crate::settings::{NewsletterSettings, WebSettings};

/// One page with the newsletter's name and colour around `body`.
pub fn page(brand: &NewsletterSettings, locale: &Locale, title: &str, body: Markup) -> Markup {
    layout(brand, locale, title, None, body)
}

/// [`page`], announcing an Atom feed (`feed`: its title and URL) to browsers and feed readers.
fn layout(
    brand: &NewsletterSettings,
    locale: &Locale,
    title: &str,
    feed: Option<(&str, &str)>,
    body: Markup,
) -> Markup {
    let css = format!(
        "body {{ margin: 0; background: {PAGE_BACKGROUND}; color: {TEXT}; font-family: {FONT_STACK};
                 overflow-wrap: anywhere; }}
         main {{ max-width: 560px; margin: 48px auto; padding: 32px; background: #ffffff;
                 border-top: 4px solid {color}; text-align: start; }}
         h1 {{ font-size: 24px; margin: 0 0 16px; }}
         p, label, li {{ font-size: 16px; line-height: 24px; }}
         a {{ color: {color}; }}
         input[type=email], input[type=text], select {{ width: 100%; box-sizing: border-box; padding: 8px;
                 font-size: 16px; margin: 4px 0 12px; }}
         button {{ background: {color}; color: #ffffff; border: 0; padding: 10px 20px; font-size: 16px; cursor: pointer; }}
         ol.editions {{ list-style: none; padding: 0; }}
         ol.editions li {{ margin: 0 0 16px; padding: 0 0 0 12px; border-left: 3px solid {color}; }}
         [dir=rtl] ol.editions li {{ padding: 0 12px 0 0; border-left: 0; border-right: 3px solid {color}; }}
         nav.pages {{ display: flex; justify-content: space-between; gap: 16px; }}
         .error {{ color: #b42318; font-weight: bold; }}
         .muted {{ color: {MUTED}; font-size: 13px; }}",
        color = brand.brand_color
    );
    html! {
        (DOCTYPE)
        html lang=(locale.tag()) dir=(locale.dir()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light";
                title { (title) " · " (brand.name) }
                @if let Some((feed_title, feed_url)) = feed {
                    link rel="alternate" type="application/atom+xml" title=(feed_title) href=(feed_url);
                }
                style { (css) }
            }
            body {
                main {
                    p.muted dir="auto" { (brand.name) }
                    h1 dir="auto" { (title) }
                    (body)
                    p.muted dir="auto" { (brand.postal_address) }
                }
            }
        }
    }
}

/// A list someone can sign up for.
pub struct ListChoice {
    pub slug: String,
    pub title: String,
}

/// What the sign-up form shows: an error above it, and the values to refill it with.
#[derive(Default)]
pub struct FormState<'a> {
    pub error: Option<&'a str>,
    pub email: &'a str,
    pub name: &'a str,
    pub list: &'a str,
}

/// The sign-up form.
pub fn subscribe_form(
    brand: &NewsletterSettings,
    web: &WebSettings,
    locale: &Locale,
    lists: &[ListChoice],
    state: &FormState<'_>,
) -> Markup {
    page(
        brand,
        locale,
        &locale.text("page-subscribe-title"),
        html! {
            p { (locale.text("page-subscribe-intro")) }
            @if let Some(error) = state.error { p.error role="alert" { (error) } }
            // From web.base_url, which may have a path (a reverse proxy at /herald/).
            form method="post" action=(web.url("subscribe")) {
                label for="email" { (locale.text("page-subscribe-email")) }
                input #email type="email" name="email" dir="ltr" required value=(state.email) autocomplete="email";
                label for="name" { (locale.text("page-subscribe-name")) }
                input #name type="text" name="name" dir="auto" value=(state.name) autocomplete="name" maxlength="200";
                @if lists.len() == 1 {
                    input type="hidden" name="list" value=(lists[0].slug);
                } @else {
                    label for="list" { (locale.text("page-subscribe-list")) }
                    select #list name="list" {
                        @for list in lists {
                            option value=(list.slug) selected[list.slug == state.list] { (list.title) }
                        }
                    }
                }
                button type="submit" { (locale.text("page-subscribe-button")) }
            }
        },
    )
}

/// A page that says one thing: `title_key` and `text_key` are catalogue keys.
pub fn message(
    brand: &NewsletterSettings,
    locale: &Locale,
    title_key: &str,
    text_key: &str,
) -> Markup {
    page(
        brand,
        locale,
        &locale.text(title_key),
        html! { p { (locale.text(text_key)) } },
    )
}

/// A counted link that leads nowhere (altered, or its edition gone): said in the list's
/// language when the link names one, with the way to its archive.
pub fn story_link_unknown(
    brand: &NewsletterSettings,
    locale: &Locale,
    archive_url: Option<&str>,
) -> Markup {
    page(
        brand,
        locale,
        &locale.text("page-story-link-title"),
        html! {
            p { (locale.text("page-story-link")) }
            @if let Some(archive_url) = archive_url {
                p { a href=(archive_url) { (locale.text("page-story-link-archive")) } }
            }
        },
    )
}

/// The unsubscribe page: a button, never an automatic unsubscribe (link scanners fetch GETs).
pub fn unsubscribe(brand: &NewsletterSettings, locale: &Locale, action: &str) -> Markup {
    page(
        brand,
        locale,
        &locale.text("page-unsubscribe-title"),
        html! {
            p { (locale.text("page-unsubscribe-intro")) }
            form method="post" action=(action) {
                input type="hidden" name="List-Unsubscribe" value="One-Click";
                button type="submit" { (locale.text("page-unsubscribe-button")) }
            }
        },
    )
}

/// One edition in the archive index.
pub struct EditionEntry {
    pub date: NaiveDate,
    pub headline: String,
    pub stories: i64,
    pub built_at: DateTime<Utc>,
    /// The story readers clicked most, once any was clicked.
    pub most_read: Option<String>,
}

/// Which page of the archive index this is.
pub struct Pagination {
    pub page: u32,
    pub pages: u32,
}

/// The archive of one list: its editions, newest first, a page at a time, with its Atom feed.
pub fn archive_index(
    brand: &NewsletterSettings,
    web: &WebSettings,
    locale: &Locale,
    list: &ListChoice,
    editions: &[EditionEntry],
    pagination: &Pagination,
) -> Markup {
    let slug = &list.slug;
    let page_url = |page: u32| web.url(&format!("archive/{slug}?page={page}"));
    let feed_url = web.url(&format!("archive/{slug}/feed.xml"));
    let (page, pages) = (pagination.page, pagination.pages);
    let pages_label = locale.format(
        "page-archive-page",
        &[
            ("page", locale.number(page.into()).into()),
            ("pages", locale.number(pages.into()).into()),
        ],
    );
    layout(
        brand,
        locale,
        &list.title,
        Some((&list.title, &feed_url)),
        html! {
            @if editions.is_empty() { p { (locale.text("page-archive-empty")) } }
            ol.editions {
                @for edition in editions {
                    li {
                        a href=(web.url(&format!("archive/{slug}/{}", edition.date))) dir=(if locale.is_right_to_left() { "rtl" } else { "auto" }) { (edition.headline) }
                        br;
                        span.muted {
                            time datetime=(edition.date) { (locale.long_date(edition.date)) }
                            " · "
                            (locale.format("page-archive-stories", &[
                                ("count", edition.stories.into()),
                                ("shown", locale.number(edition.stories).into()),
                            ]))
                            @if let Some(title) = &edition.most_read {
                                " · "
                                (locale.format("page-archive-most-read", &[("title", title.as_str().into())]))
                            }
                        }
                    }
                }
            }
            @if pages > 1 {
                nav.pages aria-label=(pages_label) {
                    span { @if page > 1 { a href=(page_url(page - 1)) rel="prev" { (locale.text("page-archive-newer")) } } }
                    span.muted { (pages_label) }
                    span { @if page < pages { a href=(page_url(page + 1)) rel="next" { (locale.text("page-archive-older")) } } }
                }
            }
            p {
                a href=(feed_url) { (locale.text("page-archive-feed")) }
                " · "
                a href=(web.url("subscribe")) { (locale.text("page-archive-subscribe")) }
            }
        },
    )
}

/// The double opt-in mail: (subject, text, html). The name is the reader's own input: Maud
/// escapes it in the HTML, and the text part is plain text.
pub fn confirmation_email(
    brand: &NewsletterSettings,
    locale: &Locale,
    list_title: &str,
    name: Option<&str>,
    confirm_url: &str,
) -> (String, String, String) {
    let greeting = match name {
        Some(name) => locale.format("digest-greeting-named", &[("name", name.into())]),
        None => locale.text("digest-greeting"),
    };
    let args = [
        ("list", list_title.into()),
        ("newsletter", brand.name.as_str().into()),
    ];
    let subject = locale.format_for_header("confirm-subject", &args[..1]);
    let ask = locale.format("confirm-ask", &args);
    let ignore = locale.text("confirm-ignore");
    let text = format!(
        "{greeting}\n\n{ask}\n\n{confirm_url}\n\n{ignore}\n\n-- \n{}\n",
        brand.postal_address
    );
    let html = page(
        brand,
        locale,
        &subject,
        html! {
            p { (greeting) }
            p { (ask) }
            p { a href=(confirm_url) { (locale.text("confirm-button")) } }
            p.muted { (ignore) }
        },
    )
    .into_string();
    (subject, text, html)
}
