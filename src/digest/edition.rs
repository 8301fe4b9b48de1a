//! Building an edition: choose its stories, then render it once.

use chrono::{DateTime, NaiveDate, Utc};
use tracing::warn;

use crate::clicks::{LinkKey, LinkTarget, Place};
use crate::digest::ranking::{self, SectionStories};
use crate::digest::template::{Greeting, Slot, Template};
use crate::domain::desk_note::DeskNote;
use crate::domain::{text, StoryUrl};
use crate::locale::Locale;
use crate::settings::Settings;
use crate::store::lists::ListRecord;
use crate::store::picks::{self, Pick};
use crate::store::{editions, stories::StoryRecord};
use crate::templates::{self, DigestView, PictureView, SectionView, StoryView};

/// What the next edition of a list would carry.
#[derive(Debug, Clone)]
pub struct EditionPlan {
    pub list: ListRecord,
    /// The edition's date: today in the list's timezone.
    pub local_date: NaiveDate,
    /// Stories published after this instant were candidates.
    pub since: DateTime<Utc>,
    pub built_at: DateTime<Utc>,
    pub sections: Vec<SectionStories>,
    /// Stories an editor pinned into this edition.
    pub pinned: Vec<i64>,
    /// The desk's note at the top, if any.
    pub note: Option<DeskNote>,
    /// The desk's subject of the day, instead of the usual one.
    pub subject: Option<String>,
}

impl EditionPlan {
    pub fn is_empty(&self) -> bool {
        self.sections
            .iter()
            .all(|section| section.stories.is_empty())
    }

    pub fn story_ids(&self) -> Vec<i64> {
        self.sections
            .iter()
            .flat_map(|s| s.stories.iter().map(|story| story.id))
            .collect()
    }
}

/// Chooses the stories for the list's edition of `now`'s local date: published since the
/// previous edition was built (the first edition looks back `first_window_hours`), not carried
/// by any earlier edition, ranked by [`ranking::rank`]. Records nothing.
pub async fn plan(
    pool: &crate::store::Pool,
    list: ListRecord,
    settings: &Settings,
    now: DateTime<Utc>,
) -> anyhow::Result<EditionPlan> {
    let first_window = chrono::Duration::hours(settings.digest.first_window_hours.into());
    let since = editions::latest_built_at(pool, list.id)
        .await?
        .unwrap_or(now - first_window);
    let local_date = now.with_timezone(&list.schedule.timezone.tz()).date_naive();
    let mut candidates = editions::uncarried_stories(pool, list.id, since, now).await?;
    let mut dropped = Vec::new();
    let mut pins = Vec::new();
    for pick in picks::for_edition(pool, list.id, local_date).await? {
        match pick.pick {
            Pick::Drop => dropped.push(pick.story_id),
            Pick::Pin { position } => pins.push((pick.story_id, position)),
        }
    }
    let pin_ids: Vec<i64> = pins.iter().map(|(id, _)| *id).collect();
    candidates.retain(|story| !dropped.contains(&story.id) && !pin_ids.contains(&story.id));
    let pinned: Vec<ranking::Pinned> = editions::pinnable(pool, &pin_ids)
        .await?
        .into_iter()
        .map(|story| ranking::Pinned {
            position: pins
                .iter()
                .find(|(id, _)| *id == story.id)
                .and_then(|(_, position)| *position),
            story,
        })
        .collect();
    let desk = picks::note(pool, list.id, local_date).await?;
    let note = match desk.note.as_deref().map(DeskNote::parse) {
        Some(Ok(note)) if !note.is_empty() => Some(note),
        Some(Err(error)) => {
            warn!(list = %list.slug, %local_date, "the desk's note is left out: {error}");
            None
        }
        _ => None,
    };
    let room = (list.max_stories.get() as usize).saturating_sub(pinned.len());
    let mut sections = ranking::select(candidates, room, now, &settings.digest);
    let pinned_ids = pinned.iter().map(|pin| pin.story.id).collect();
    ranking::place_pins(&mut sections, pinned);
    Ok(EditionPlan {
        list,
        local_date,
        since,
        built_at: now,
        sections,
        pinned: pinned_ids,
        note,
        subject: desk.subject,
    })
}

/// An edition rendered once, with slots for each subscriber's details.
#[derive(Debug, Clone)]
pub struct RenderedEdition {
    pub subject: String,
    pub html: Template,
    pub text: Template,
    pub archive_url: String,
}

impl RenderedEdition {
    /// A stored edition, as it was rendered when it was built.
    pub fn stored(subject: &str, html: &str, text: &str) -> Self {
        Self {
            subject: subject.to_string(),
            html: Template::parse(html),
            text: Template::parse(text),
            archive_url: String::new(),
        }
    }
}

/// Today's edition of the list as readers get it, with how many stories it carries: the stored
/// one once it was built (so a preview or a test copy after the send shows what went out), else
/// what building it now would carry. `None` when nothing qualifies or today was skipped.
pub async fn today(
    pool: &crate::store::Pool,
    list: &ListRecord,
    settings: &Settings,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<(RenderedEdition, usize)>> {
    let date = crate::digest::build::local_date(list, now);
    if let Some(edition) = editions::find(pool, list.id, date).await? {
        let stories = editions::story_count(pool, edition.id).await?;
        return Ok(match (&edition.subject, &edition.html, &edition.text) {
            (Some(subject), Some(html), Some(text)) => {
                Some((RenderedEdition::stored(subject, html, text), stories))
            }
            _ => None,
        });
    }
    let plan = plan(pool, list.clone(), settings, now).await?;
    let key = LinkKey::load(pool).await?;
    Ok(render(&plan, settings, &key).map(|rendered| (rendered, plan.story_ids().len())))
}

/// The longest subject we write: RFC 5322's recommended line length.
pub const MAX_SUBJECT_CHARS: usize = 78;

/// Renders the plan; `None` when it carries no story (no email is built for an empty edition).
/// Story links are counted (see `clicks`) unless the list turned counting off.
pub fn render(
    plan: &EditionPlan,
    settings: &Settings,
    link_key: &LinkKey,
) -> Option<RenderedEdition> {
    let locale = settings.locale.catalogues.locale(&plan.list.language);
    let mut first = true;
    let sections: Vec<SectionView> = plan
        .sections
        .iter()
        .map(|section| SectionView {
            heading: section.heading(&locale),
            stories: section
                .stories
                .iter()
                .filter_map(|story| {
                    let mut view = story_view(story)?;
                    if plan.list.click_counting {
                        let lead = std::mem::take(&mut first);
                        count_links(&mut view, story.id, lead, plan, settings, link_key);
                    }
                    Some(view)
                })
                .collect(),
        })
        .filter(|section| !section.stories.is_empty())
        .collect();
    let lead = sections.first()?.stories.first()?;

    let newsletter = &settings.newsletter;
    let date_label = locale.long_date(plan.local_date);
    let subject = match &plan.subject {
        Some(of_the_day) => text::cut_at_word(text::single_line(of_the_day), MAX_SUBJECT_CHARS),
        None => subject(&locale, &newsletter.name, plan.local_date, &lead.title),
    };
    let preheader = preheader(&locale, &sections);
    let greeting = greeting(&locale);
    let archive_url = settings
        .web
        .url(&format!("archive/{}/{}", plan.list.slug, plan.local_date));
    let view = DigestView {
        brand: newsletter,
        list_title: plan.list.title.as_str(),
        subject: &subject,
        date_label: &date_label,
        preheader: &preheader,
        sections: &sections,
        archive_url: &archive_url,
        locale: &locale,
        greeting: &greeting,
        thumbnails: plan.list.thumbnails,
        note: plan.note.as_ref(),
    };
    Some(RenderedEdition {
        html: Template::parse(&templates::digest_html::render(&view)),
        text: Template::parse(&templates::digest_text::render(&view)),
        subject,
        archive_url,
    })
}

/// Points the story's links at counted redirects: the lead's every link under `lead`, a later
/// story's headline under `section` and its picture under `thumbnail`. Each ends in the
/// message's tag.
fn count_links(
    view: &mut StoryView,
    story_id: i64,
    lead: bool,
    plan: &EditionPlan,
    settings: &Settings,
    key: &LinkKey,
) {
    let link = |place: Place| {
        key.link(&LinkTarget {
            list_id: plan.list.id,
            local_date: plan.local_date,
            story_id,
            place,
        })
        .map(|token| {
            format!(
                "{}{}",
                settings.web.url(&format!("r/{token}")),
                Slot::ClickTag.marker()
            )
        })
    };
    let (headline, picture) = if lead {
        (Place::Lead, Place::Lead)
    } else {
        (Place::Section, Place::Thumbnail)
    };
    if let (Some(headline), Some(picture)) = (link(headline), link(picture)) {
        view.link = headline;
        view.picture_link = picture;
    }
}

/// Story text comes from outside: cleaned again here (whatever path stored it), and a story
/// whose link is not http(s) is left out rather than linked.
fn story_view(story: &StoryRecord) -> Option<StoryView> {
    let Ok(url) = StoryUrl::parse(&story.url) else {
        warn!(url = %story.url, "story left out of the digest: its link is not http or https");
        return None;
    };
    let title = text::single_line(&story.title);
    if title.is_empty() {
        return None;
    }
    Some(StoryView {
        title,
        link: url.to_string(),
        picture_link: url.to_string(),
        url: url.to_string(),
        summary: story
            .summary
            .as_deref()
            .map(text::multi_line)
            .filter(|s| !s.is_empty()),
        author: story
            .author
            .as_deref()
            .map(text::single_line)
            .filter(|s| !s.is_empty()),
        picture: picture_view(story),
    })
}

/// The story's picture, if its link is http(s); caption and credit are cleaned like all story
/// text.
fn picture_view(story: &StoryRecord) -> Option<PictureView> {
    let url = StoryUrl::parse(story.image_url.as_deref()?).ok()?;
    let clean = |value: &Option<String>| {
        value
            .as_deref()
            .map(text::single_line)
            .filter(|s| !s.is_empty())
    };
    Some(PictureView {
        url: url.to_string(),
        size: story.image_size,
        caption: clean(&story.image_caption),
        credit: clean(&story.image_credit),
    })
}

/// The greeting in the list's language, split where the reader's name goes.
fn greeting(locale: &Locale) -> Greeting {
    const NAME: &str = "\u{1}name\u{2}";
    let named = locale.format("digest-greeting-named", &[("name", NAME.into())]);
    Greeting::from_messages(&named, NAME, locale.text("digest-greeting"))
}

/// "Herald Daily, 28 Nov: Lead headline", in the list's language, cut at a word to fit
/// [`MAX_SUBJECT_CHARS`].
pub fn subject(locale: &Locale, newsletter: &str, date: NaiveDate, lead: &str) -> String {
    let prefix = locale.format_for_header(
        "digest-subject-prefix",
        &[
            ("newsletter", text::single_line(newsletter).into()),
            ("date", locale.short_date(date).into()),
        ],
    );
    let prefix = format!("{} ", text::single_line(&prefix));
    let lead = text::single_line(lead);
    let room = MAX_SUBJECT_CHARS.saturating_sub(prefix.chars().count());
    if room < 2 && lead.chars().count() > room {
        return text::truncate_chars(
            prefix.trim_end().trim_end_matches(':').to_string(),
            MAX_SUBJECT_CHARS,
        );
    }
    format!("{prefix}{}", text::cut_at_word(lead, room))
}

/// The inbox preview line: the headlines after the lead.
fn preheader(locale: &Locale, sections: &[SectionView]) -> String {
    let titles: Vec<&str> = sections
        .iter()
        .flat_map(|s| s.stories.iter().map(|story| story.title.as_str()))
        .skip(1)
        .take(3)
        .collect();
    let line = if titles.is_empty() {
        locale.text("digest-preheader-lead")
    } else {
        locale.format(
            "digest-preheader-also",
            &[("headlines", titles.join(" · ").into())],
        )
    };
    text::preview(line, 140)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).expect("valid date")
    }

    #[test]
    fn short_subjects_are_whole() {
        assert_eq!(
            subject(&Locale::english(), "Herald Daily", date(), "Rates held"),
            "Herald Daily, 28 Nov: Rates held"
        );
    }

    #[test]
    fn long_subjects_are_cut_at_a_word_within_78_characters() {
        let lead = "A remarkably long headline about the central bank holding interest rates steady for the fourth time";
        let subject = subject(&Locale::english(), "Herald Daily", date(), lead);
        assert!(subject.chars().count() <= MAX_SUBJECT_CHARS, "{subject}");
        assert!(subject.ends_with("…"), "{subject}");
        assert!(
            subject.starts_with("Herald Daily, 28 Nov: A remarkably long headline"),
            "{subject}"
        );
    }

    #[test]
    fn subjects_never_carry_line_breaks() {
        let subject = subject(
            &Locale::english(),
            "Herald\r\nDaily",
            date(),
            "Breaking\r\nBcc: victim@example.org",
        );
        assert!(!subject.contains(['\r', '\n']), "{subject:?}");
    }
}
