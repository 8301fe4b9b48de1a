//! The web pages subscribers reach from the site's newsletter box and from each email, and the
//! confirmation email. Same branding as the digest; plain, accessible HTML.

use maud::{html, Markup, DOCTYPE};

use super::style::{FONT_STACK, MUTED, PAGE_BACKGROUND, TEXT};
use crate::settings::{NewsletterSettings, WebSettings};

/// One page with the newsletter's name and colour around `body`.
pub fn page(brand: &NewsletterSettings, title: &str, body: Markup) -> Markup {
    let css = format!(
        "body {{ margin: 0; background: {PAGE_BACKGROUND}; color: {TEXT}; font-family: {FONT_STACK}; }}
         main {{ max-width: 560px; margin: 48px auto; padding: 32px; background: #ffffff;
                 border-top: 4px solid {color}; }}
         h1 {{ font-size: 24px; margin: 0 0 16px; }}
         p, label {{ font-size: 16px; line-height: 24px; }}
         a {{ color: {color}; }}
         input[type=email], input[type=text], select {{ width: 100%; box-sizing: border-box; padding: 8px;
                 font-size: 16px; margin: 4px 0 12px; }}
         button {{ background: {color}; color: #ffffff; border: 0; padding: 10px 20px; font-size: 16px; cursor: pointer; }}
         .error {{ color: #b42318; font-weight: bold; }}
         .muted {{ color: {MUTED}; font-size: 13px; }}",
        color = brand.brand_color
    );
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light";
                title { (title) " · " (brand.name) }
                style { (css) }
            }
            body {
                main {
                    p.muted { (brand.name) }
                    h1 { (title) }
                    (body)
                    p.muted { (brand.postal_address) }
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

/// The sign-up form; `error` is shown above it, `values` refill it.
pub fn subscribe_form(
    brand: &NewsletterSettings,
    web: &WebSettings,
    lists: &[ListChoice],
    error: Option<&str>,
    values: (&str, &str, &str),
) -> Markup {
    let (email, name, selected) = values;
    page(
        brand,
        "Subscribe",
        html! {
            p { "Top stories and blog posts, emailed to you each day. We send a link to confirm." }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            // From web.base_url, which may have a path (a reverse proxy at /herald/).
            form method="post" action=(web.url("subscribe")) {
                label for="email" { "Email address" }
                input #email type="email" name="email" required value=(email) autocomplete="email";
                label for="name" { "Name (optional)" }
                input #name type="text" name="name" value=(name) autocomplete="name" maxlength="200";
                @if lists.len() == 1 {
                    input type="hidden" name="list" value=(lists[0].slug);
                } @else {
                    label for="list" { "Newsletter" }
                    select #list name="list" {
                        @for list in lists {
                            option value=(list.slug) selected[list.slug == selected] { (list.title) }
                        }
                    }
                }
                button type="submit" { "Subscribe" }
            }
        },
    )
}

pub fn message(brand: &NewsletterSettings, title: &str, text: &str) -> Markup {
    page(brand, title, html! { p { (text) } })
}

/// The unsubscribe page: a button, never an automatic unsubscribe (link scanners fetch GETs).
pub fn unsubscribe(brand: &NewsletterSettings, action: &str) -> Markup {
    page(
        brand,
        "Unsubscribe",
        html! {
            p { "Press the button to stop receiving this newsletter. It takes effect at once." }
            form method="post" action=(action) {
                input type="hidden" name="List-Unsubscribe" value="One-Click";
                button type="submit" { "Unsubscribe" }
            }
        },
    )
}

/// The archive of one list: its editions, newest first.
pub fn archive_index(
    brand: &NewsletterSettings,
    web: &WebSettings,
    list_title: &str,
    slug: &str,
    dates: &[String],
) -> Markup {
    page(
        brand,
        list_title,
        html! {
            @if dates.is_empty() { p { "No editions yet." } }
            ul {
                @for date in dates {
                    li { a href=(web.url(&format!("archive/{slug}/{date}"))) { (date) } }
                }
            }
            p { a href=(web.url("subscribe")) { "Subscribe" } }
        },
    )
}

/// The double opt-in mail: (subject, text, html). The name is the reader's own input: Maud
/// escapes it in the HTML, and the text part is plain text.
pub fn confirmation_email(
    brand: &NewsletterSettings,
    list_title: &str,
    name: Option<&str>,
    confirm_url: &str,
) -> (String, String, String) {
    let greeting = match name {
        Some(name) => format!("Hello {name},"),
        None => "Hello,".to_string(),
    };
    let subject = format!("Confirm your subscription to {list_title}");
    let text = format!(
        "{greeting}\n\nplease confirm that you want {list_title} from {} by opening this link:\n\n{confirm_url}\n\n\
         If you did not ask for this, ignore this email: you will not be subscribed.\n\n-- \n{}\n",
        brand.name, brand.postal_address
    );
    let html = page(brand, &subject, html! {
        p { (greeting) }
        p { "Please confirm that you want " (list_title) " from " (brand.name) "." }
        p { a href=(confirm_url) { "Confirm my subscription" } }
        p.muted { "If you did not ask for this, ignore this email: you will not be subscribed." }
    })
    .into_string();
    (subject, text, html)
}
