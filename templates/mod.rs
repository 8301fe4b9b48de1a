//! How Herald's email looks. The Maud components here are compiled into the binary; change the
//! look of the digest here. Everything they receive is already cleaned text: Maud escapes it on
//! the way out, and links are known to be http or https.

pub mod archive_feed;
pub mod digest_html;
pub mod digest_text;
pub mod pages;
pub mod style;

use crate::digest::template::Greeting;
use crate::domain::ImageSize;
use crate::locale::Locale;
use crate::settings::NewsletterSettings;

/// Everything one edition shows, the same for every subscriber. Per-subscriber parts are
/// written as slot markers (`crate::digest::template::Slot`).
pub struct DigestView<'a> {
    pub brand: &'a NewsletterSettings,
    pub list_title: &'a str,
    pub subject: &'a str,
    /// "Saturday, 28 November 2026", in the list's timezone.
    pub date_label: &'a str,
    /// The preview line an inbox shows under the subject.
    pub preheader: &'a str,
    pub sections: &'a [SectionView],
    /// The web copy of this edition ("view in browser").
    pub archive_url: &'a str,
    /// The list's language: its words, dates and direction.
    pub locale: &'a Locale,
    pub greeting: &'a Greeting,
    /// Whether stories after the lead show their picture as a thumbnail.
    pub thumbnails: bool,
    /// The desk's note, shown under the greeting.
    pub note: Option<&'a crate::domain::desk_note::DeskNote>,
}

pub struct SectionView {
    pub heading: String,
    pub stories: Vec<StoryView>,
}

pub struct StoryView {
    pub title: String,
    /// An http or https URL: the story's own.
    pub url: String,
    /// Where the headline and "read more" point: the story's URL, or a counted link to it.
    pub link: String,
    /// Where the picture points.
    pub picture_link: String,
    pub summary: Option<String>,
    pub author: Option<String>,
    pub picture: Option<PictureView>,
}

/// A story's picture: an http or https URL, with what is known of it.
pub struct PictureView {
    pub url: String,
    pub size: Option<ImageSize>,
    pub caption: Option<String>,
    pub credit: Option<String>,
}
