//! The HTML part: a hybrid, table-based layout (after Cerberus) that holds up in Outlook, Gmail
//! and Apple Mail: presentation tables, inline styles, at most 600px wide, no scripts or forms.
//! Right-to-left editions set `dir` on the document and on every layout table, and every cell
//! names its own alignment, so the whole layout mirrors. In a right-to-left edition story text
//! takes the edition's direction (a headline that begins with a Latin word, "BBC News: ...",
//! still reads right to left, the Latin run inside it kept whole by the bidi algorithm); in a
//! left-to-right one it carries `dir="auto"`, so an Arabic headline keeps its own.

use crate::domain::desk_note::Inline;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::style::{
    self, text_cell, CARD_BACKGROUND, CONTENT_WIDTH, MUTED, PAGE_BACKGROUND, PICTURE_BACKGROUND,
    RULE, TEXT, THUMBNAIL_WIDTH, WIDTH,
};
use super::{DigestView, PictureView, StoryView};
use crate::digest::template::Slot;
use crate::locale::Locale;

/// The direction of story text (headlines, summaries, captions) in this edition.
fn story_dir(locale: &Locale) -> &'static str {
    if locale.is_right_to_left() {
        "rtl"
    } else {
        "auto"
    }
}

fn slot(slot: Slot) -> PreEscaped<String> {
    PreEscaped(slot.marker())
}

/// A zero-spacing layout table, as every email client expects one.
fn layout_table(locale: &Locale, style: &str, rows: Markup) -> Markup {
    html! {
        table role="presentation" dir=(locale.dir()) cellspacing="0" cellpadding="0" border="0" width="100%" style=(style) {
            (rows)
        }
    }
}

pub fn render(view: &DigestView<'_>) -> String {
    let locale = view.locale;
    let brand = view.brand.brand_color.as_str();
    let page = format!(
        "margin: 0; padding: 0 !important; width: 100%; background-color: {PAGE_BACKGROUND};"
    );
    let markup = html! {
        (DOCTYPE)
        html lang=(locale.tag()) dir=(locale.dir()) xmlns="http://www.w3.org/1999/xhtml" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="X-UA-Compatible" content="IE=edge";
                meta name="x-apple-disable-message-reformatting" content="";
                meta name="format-detection" content="telephone=no,address=no,email=no,date=no,url=no";
                meta name="color-scheme" content="light dark";
                meta name="supported-color-schemes" content="light dark";
                title { (view.subject) }
                style { (PreEscaped(style::HEAD_CSS)) }
            }
            body.h-page dir=(locale.dir()) style=(page) {
                // The preheader: shown by inboxes under the subject, hidden in the message.
                div style="display: none; font-size: 1px; line-height: 1px; max-height: 0px; max-width: 0px; opacity: 0; overflow: hidden; mso-hide: all; font-family: sans-serif;" {
                    (view.preheader)
                    // Keeps clients from filling the preview with the body text after it.
                    @for _ in 0..40 { (PreEscaped("&zwnj;&nbsp;")) }
                }
                center.h-page role="article" aria-roledescription="email" lang=(locale.tag()) dir=(locale.dir()) style=(format!("width: 100%; background-color: {PAGE_BACKGROUND};")) {
                    table role="presentation" dir=(locale.dir()) align="center" cellspacing="0" cellpadding="0" border="0" width=(WIDTH) style=(format!("width: 100%; max-width: {WIDTH}px; margin: 0 auto;")) {
                        tr {
                            td.h-pad.h-muted align=(locale.end()) style=(text_cell(12, 16, MUTED, "16px 24px 8px", locale.end())) {
                                a.h-muted href=(view.archive_url) style=(format!("color: {MUTED}; text-decoration: underline;")) { (locale.text("digest-view-in-browser")) }
                            }
                        }
                        tr {
                            td.h-card style=(format!("background-color: {CARD_BACKGROUND}; border-top: 4px solid {brand};")) {
                                (masthead(view))
                            }
                        }
                        @for (index, section) in view.sections.iter().enumerate() {
                            tr {
                                td.h-card style=(format!("background-color: {CARD_BACKGROUND};")) {
                                    (layout_table(locale, "", html! {
                                        tr {
                                            td.h-pad.h-link align=(locale.start()) style=(format!("{} text-transform: uppercase; letter-spacing: 1px; font-weight: bold;", text_cell(13, 18, brand, "24px 24px 6px", locale.start()))) {
                                                (section.heading)
                                            }
                                        }
                                        tr {
                                            td.h-pad style="padding: 0 24px;" {
                                                (layout_table(locale, "", html! {
                                                    tr { td style=(format!("border-top: 1px solid {RULE}; font-size: 1px; line-height: 1px;")) { (PreEscaped("&nbsp;")) } }
                                                }))
                                            }
                                        }
                                        @for (position, story) in section.stories.iter().enumerate() {
                                            @let lead = index == 0 && position == 0;
                                            (story_rows(view, story, lead))
                                        }
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
    let locale = view.locale;
    layout_table(
        locale,
        "",
        html! {
            @if let Some(logo) = &brand.logo_url {
                tr {
                    td.h-pad align=(locale.start()) style="padding: 24px 24px 0;" {
                        img src=(logo.as_str()) width=(brand.logo_width) height=(brand.logo_height) alt=(brand.name)
                            style=(format!("display: block; border: 0; max-width: 100%; font-family: {}; font-size: 16px; color: {TEXT};", style::FONT_STACK));
                    }
                }
            }
            tr {
                td.h-pad.h-text align=(locale.start()) style=(format!("{} font-weight: bold;", text_cell(26, 32, TEXT, "24px 24px 0", locale.start()))) { (brand.name) }
            }
            tr {
                td.h-pad.h-muted align=(locale.start()) style=(text_cell(14, 20, MUTED, "4px 24px 0", locale.start())) {
                    span dir=(story_dir(locale)) { (view.list_title) } " · " (view.date_label)
                }
            }
            tr {
                td.h-pad.h-text align=(locale.start()) style=(text_cell(16, 24, TEXT, "20px 24px 4px", locale.start())) {
                    (PreEscaped(view.greeting.marker())) " " (locale.text("digest-intro"))
                }
            }
            @if let Some(note) = view.note {
                tr {
                    td.h-pad.h-text align=(locale.start()) style=(text_cell(16, 24, TEXT, "8px 24px 4px", locale.start())) {
                        @for paragraph in &note.paragraphs {
                            p.h-text dir=(story_dir(locale)) style=(format!("margin: 0 0 8px; {}", style::WRAP)) {
                                @for inline in paragraph {
                                    @match inline {
                                        Inline::Text(text) => (text),
                                        Inline::Emphasis(text) => em { (text) },
                                        Inline::Strong(text) => strong { (text) },
                                        Inline::Link { text, url } => a.h-link href=(url) style=(format!("color: {}; text-decoration: underline;", brand.brand_color.as_str())) { (text) },
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// A picture with its size in attributes (a missing height is left to `height: auto`), alt
/// text from the headline, and a background and alt style that read well when images are
/// blocked.
fn picture(picture: &PictureView, alt: &str, width: u32, class: &str) -> Markup {
    let height = picture
        .size
        .map(|size| size.height_at(width.min(size.width)));
    let width = picture.size.map_or(width, |size| width.min(size.width));
    let style = format!(
        "display: block; width: 100%; max-width: {width}px; height: auto; border: 0; \
         background-color: {PICTURE_BACKGROUND}; font-family: {}; font-size: 14px; line-height: 20px; color: {TEXT};",
        style::FONT_STACK
    );
    html! {
        img.(class) src=(picture.url) width=(width) height=[height] alt=(alt) style=(style);
    }
}

/// "Caption. Picture: Credit", under a lead picture.
fn caption_line(view: &DigestView<'_>, picture: &PictureView) -> Option<String> {
    let credit = picture.credit.as_ref().map(|credit| {
        view.locale
            .format("digest-image-credit", &[("credit", credit.as_str().into())])
    });
    match (&picture.caption, credit) {
        (Some(caption), Some(credit)) => Some(format!("{caption} {credit}")),
        (Some(caption), None) => Some(caption.clone()),
        (None, credit) => credit,
    }
}

fn story_rows(view: &DigestView<'_>, story: &StoryView, lead: bool) -> Markup {
    let locale = view.locale;
    let brand = view.brand.brand_color.as_str();
    let start = locale.start();
    let host = url::Url::parse(&story.url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_string));
    let read_more = match &host {
        Some(host) => locale.format("digest-read-more-on", &[("host", host.as_str().into())]),
        None => locale.text("digest-read-more"),
    };
    let thumbnail = story.picture.as_ref().filter(|_| !lead && view.thumbnails);
    let text = html! {
        tr {
            td.h-pad align=(start) style=(text_cell(18, 24, TEXT, "16px 24px 0", start)) {
                a.h-link href=(story.link) dir=(story_dir(locale)) style=(format!("color: {brand}; text-decoration: none; font-weight: bold; {}", style::WRAP)) { (story.title) }
            }
        }
        @if let Some(author) = &story.author {
            tr { td.h-pad.h-muted align=(start) style=(text_cell(13, 18, MUTED, "4px 24px 0", start)) { (locale.format("digest-by", &[("author", author.as_str().into())])) } }
        }
        @if let Some(summary) = &story.summary {
            tr {
                td.h-pad.h-text align=(start) style=(text_cell(15, 22, TEXT, "8px 24px 0", start)) {
                    @for paragraph in summary.split("\n\n") {
                        p.h-text dir=(story_dir(locale)) style=(format!("margin: 0 0 8px; font-family: {}; font-size: 15px; line-height: 22px; color: {TEXT}; text-align: {start}; {}", style::FONT_STACK, style::WRAP)) { (paragraph) }
                    }
                }
            }
        }
        tr {
            td.h-pad align=(start) style=(text_cell(14, 20, brand, "2px 24px 8px", start)) {
                a.h-link href=(story.link) style=(format!("color: {brand}; text-decoration: underline;")) { (read_more) }
            }
        }
    };
    html! {
        @if lead {
            @if let Some(lead_picture) = &story.picture {
                tr {
                    td.h-pad align=(start) style="padding: 16px 24px 0;" {
                        a href=(story.picture_link) { (picture(lead_picture, &story.title, CONTENT_WIDTH, "h-fluid h-picture")) }
                    }
                }
                @if let Some(caption) = caption_line(view, lead_picture) {
                    tr { td.h-pad.h-muted align=(start) dir=(story_dir(locale)) style=(format!("{} {}", text_cell(12, 16, MUTED, "6px 24px 0", start), style::WRAP)) { (caption) } }
                }
            }
        }
        @if let Some(thumbnail) = thumbnail {
            tr {
                td style="padding: 0;" {
                    (layout_table(locale, "", html! {
                        tr {
                            td.h-thumb-cell valign="top" width=(THUMBNAIL_WIDTH + 24) style=(format!("padding: 20px 0 0; padding-{start}: 24px; width: {}px;", THUMBNAIL_WIDTH + 24)) {
                                a href=(story.picture_link) { (picture(thumbnail, &story.title, THUMBNAIL_WIDTH, "h-thumb h-picture")) }
                            }
                            td valign="top" style="padding: 0;" {
                                (layout_table(locale, "", text))
                            }
                        }
                    }))
                }
            }
        } @else {
            (text)
        }
    }
}

fn footer(view: &DigestView<'_>) -> Markup {
    let locale = view.locale;
    let link = format!("color: {MUTED}; text-decoration: underline;");
    let why = locale.format(
        "digest-footer-why",
        &[
            ("list", view.list_title.into()),
            ("newsletter", view.brand.name.as_str().into()),
            ("email", Slot::Email.marker().into()),
        ],
    );
    html! {
        tr {
            td.h-pad.h-muted align="center" style=(text_cell(12, 18, MUTED, "24px 24px 8px", "center")) {
                // The slot marker inside survives escaping: only the text around it is escaped.
                (why)
                br;
                a.h-muted href=(slot(Slot::UnsubscribeUrl)) style=(link) { (locale.text("digest-unsubscribe")) }
                " · "
                a.h-muted href=(view.archive_url) style=(link) { (locale.text("digest-view-in-browser")) }
            }
        }
        tr {
            td.h-pad.h-muted align="center" style=(text_cell(12, 18, MUTED, "0 24px 32px", "center")) { (view.brand.postal_address) }
        }
    }
}
