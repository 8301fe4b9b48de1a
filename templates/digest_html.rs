//! The HTML part: a hybrid, table-based layout (after Cerberus) that holds up in Outlook, Gmail
//! and Apple Mail: presentation tables, inline styles, at most 600px wide, no scripts or forms.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::style::{self, text_cell, CARD_BACKGROUND, MUTED, PAGE_BACKGROUND, RULE, TEXT, WIDTH};
use super::{DigestView, StoryView};
use crate::digest::template::Slot;

fn slot(slot: Slot) -> PreEscaped<String> {
    PreEscaped(slot.marker())
}

/// A zero-spacing layout table, as every email client expects one.
fn layout_table(style: &str, rows: Markup) -> Markup {
    html! {
        table role="presentation" cellspacing="0" cellpadding="0" border="0" width="100%" style=(style) {
            (rows)
        }
    }
}

pub fn render(view: &DigestView<'_>) -> String {
    let brand = view.brand.brand_color.as_str();
    let page = format!("margin: 0; padding: 0 !important; background-color: {PAGE_BACKGROUND};");
    let markup = html! {
        (DOCTYPE)
        html lang="en" xmlns="http://www.w3.org/1999/xhtml" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="X-UA-Compatible" content="IE=edge";
                meta name="x-apple-disable-message-reformatting";
                meta name="format-detection" content="telephone=no,address=no,email=no,date=no,url=no";
                meta name="color-scheme" content="light dark";
                meta name="supported-color-schemes" content="light dark";
                title { (view.subject) }
                style { (PreEscaped(style::HEAD_CSS)) }
            }
            body.h-page width="100%" style=(page) {
                // The preheader: shown by inboxes under the subject, hidden in the message.
                div style="display: none; font-size: 1px; line-height: 1px; max-height: 0px; max-width: 0px; opacity: 0; overflow: hidden; mso-hide: all; font-family: sans-serif;" {
                    (view.preheader)
                    // Keeps clients from filling the preview with the body text after it.
                    @for _ in 0..40 { (PreEscaped("&zwnj;&nbsp;")) }
                }
                center.h-page role="article" aria-roledescription="email" lang="en" style=(format!("width: 100%; background-color: {PAGE_BACKGROUND};")) {
                    table role="presentation" align="center" cellspacing="0" cellpadding="0" border="0" width=(WIDTH) style=(format!("width: 100%; max-width: {WIDTH}px; margin: 0 auto;")) {
                        tr {
                            td.h-pad.h-muted align="right" style=(text_cell(12, 16, MUTED, "16px 24px 8px")) {
                                a.h-muted href=(view.archive_url) style=(format!("color: {MUTED}; text-decoration: underline;")) { "View in browser" }
                            }
                        }
                        tr {
                            td.h-card style=(format!("background-color: {CARD_BACKGROUND}; border-top: 4px solid {brand};")) {
                                (masthead(view))
                            }
                        }
                        @for section in view.sections {
                            tr {
                                td.h-card style=(format!("background-color: {CARD_BACKGROUND};")) {
                                    (layout_table("", html! {
                                        tr {
                                            td.h-pad.h-link style=(format!("{} text-transform: uppercase; letter-spacing: 1px; font-weight: bold;", text_cell(13, 18, brand, "24px 24px 6px"))) {
                                                (section.heading)
                                            }
                                        }
                                        tr {
                                            td.h-pad style="padding: 0 24px;" {
                                                (layout_table("", html! {
                                                    tr { td style=(format!("border-top: 1px solid {RULE}; font-size: 1px; line-height: 1px;")) { (PreEscaped("&nbsp;")) } }
                                                }))
                                            }
                                        }
                                        @for story in &section.stories { (story_rows(story, brand)) }
                                    }))
                                }
                            }
                        }
                        tr {
                            td.h-card style=(format!("background-color: {CARD_BACKGROUND}; padding: 0 0 16px; font-size: 0; line-height: 0;")) { (PreEscaped("&nbsp;")) }
                        }
                        (footer(view))
                    }
                }
            }
        }
    };
    markup.into_string()
}

fn masthead(view: &DigestView<'_>) -> Markup {
    let brand = view.brand;
    layout_table(
        "",
        html! {
            @if let Some(logo) = &brand.logo_url {
                tr {
                    td.h-pad style="padding: 24px 24px 0;" {
                        img src=(logo.as_str()) width=(brand.logo_width) height=(brand.logo_height) alt=(brand.name)
                            style=(format!("display: block; border: 0; max-width: 100%; font-family: {}; font-size: 16px; color: {TEXT};", style::FONT_STACK));
                    }
                }
            }
            tr {
                td.h-pad.h-text style=(format!("{} font-weight: bold;", text_cell(26, 32, TEXT, "24px 24px 0"))) { (brand.name) }
            }
            tr {
                td.h-pad.h-muted style=(text_cell(14, 20, MUTED, "4px 24px 0")) { (view.list_title) " · " (view.date_label) }
            }
            tr {
                td.h-pad.h-text style=(text_cell(16, 24, TEXT, "20px 24px 4px")) {
                    (slot(Slot::Greeting)) " here are today's top stories."
                }
            }
        },
    )
}

fn story_rows(story: &StoryView, brand: &str) -> Markup {
    let host = url::Url::parse(&story.url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_string));
    html! {
        tr {
            td.h-pad style=(text_cell(18, 24, TEXT, "16px 24px 0")) {
                a.h-link href=(story.url) style=(format!("color: {brand}; text-decoration: none; font-weight: bold;")) { (story.title) }
            }
        }
        @if let Some(author) = &story.author {
            tr { td.h-pad.h-muted style=(text_cell(13, 18, MUTED, "4px 24px 0")) { "By " (author) } }
        }
        @if let Some(summary) = &story.summary {
            tr {
                td.h-pad.h-text style=(text_cell(15, 22, TEXT, "8px 24px 0")) {
                    @for paragraph in summary.split("\n\n") {
                        p.h-text style=(format!("margin: 0 0 8px; font-family: {}; font-size: 15px; line-height: 22px; color: {TEXT};", style::FONT_STACK)) { (paragraph) }
                    }
                }
            }
        }
        tr {
            td.h-pad style=(text_cell(14, 20, brand, "2px 24px 8px")) {
                a.h-link href=(story.url) style=(format!("color: {brand}; text-decoration: underline;")) {
                    "Read more" @if let Some(host) = host { " on " (host) }
                }
            }
        }
    }
}

fn footer(view: &DigestView<'_>) -> Markup {
    let link = format!("color: {MUTED}; text-decoration: underline;");
    html! {
        tr {
            td.h-pad.h-muted align="center" style=(text_cell(12, 18, MUTED, "24px 24px 8px")) {
                "You receive " (view.list_title) " from " (view.brand.name) " because you subscribed as "
                (slot(Slot::Email)) "."
                br;
                a.h-muted href=(slot(Slot::UnsubscribeUrl)) style=(link) { "Unsubscribe" }
                " · "
                a.h-muted href=(view.archive_url) style=(link) { "View in browser" }
            }
        }
        tr {
            td.h-pad.h-muted align="center" style=(text_cell(12, 18, MUTED, "0 24px 32px")) { (view.brand.postal_address) }
        }
    }
}
