//! Which stories make an edition, and in what order.
//!
//! Rank is reader votes with time decay, as Hacker News ranks its front page:
//!
//! ```text
//! votes = score + click_weight * clicks + view_weight * views
//! rank  = (votes + 1) / (age_hours + age_offset_hours) ^ gravity
//! ```
//!
//! `score` is what the site's CMS or feed sends; `clicks` are readers' clicks on the story in
//! every earlier edition that carried it, of any list (filtered clicks do not count), so a
//! story readers chose yesterday can lead another list's edition today, and one nobody opened
//! keeps only its votes while others gain; `views` are page views the site sends beside the score.
//! `votes + 1` lets a story without votes rank above zero (negative totals count as zero);
//! `age_offset_hours` keeps brand-new stories from dividing by almost nothing; `gravity` sets how
//! fast age wins over votes (0 ranks by votes alone). Equal ranks go to the newer story.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use crate::domain::Section;
use crate::locale::Locale;
use crate::settings::DigestSettings;
use crate::store::stories::StoryRecord;

pub fn rank(votes: f64, age_hours: f64, params: &DigestSettings) -> f64 {
    let weight = (votes + 1.0).max(0.0);
    weight / (age_hours.max(0.0) + params.age_offset_hours).powf(params.gravity)
}

/// The votes a story has: its score, with readers' clicks and the site's page views weighed in.
pub fn votes(story: &StoryRecord, params: &DigestSettings) -> f64 {
    story.score as f64
        + params.click_weight * story.clicks as f64
        + params.view_weight * story.views as f64
}

/// One section of an edition, its stories best first.
#[derive(Debug, Clone)]
pub struct SectionStories {
    pub section: String,
    pub stories: Vec<StoryRecord>,
}

impl SectionStories {
    /// The catalogue's `digest-section-NAME` ("Top stories" for news, "From the blogs" for
    /// blog posts, and whatever a site adds), else the section's own name.
    pub fn heading(&self, locale: &Locale) -> String {
        let key = format!("digest-section-{}", self.section);
        if let Some(heading) = locale.lookup(&key) {
            return heading;
        }
        let words = self.section.replace('-', " ");
        let mut chars = words.chars();
        chars.next().map_or_else(String::new, |first| {
            first.to_uppercase().chain(chars).collect()
        })
    }
}

/// Picks at most `max_stories` stories: first the best story of every section (so each
/// non-empty section gets a slot, best sections first when there are more sections than slots),
/// then the best of the rest. Sections come in the order news, blog, then by name.
pub fn select(
    candidates: Vec<StoryRecord>,
    max_stories: usize,
    now: DateTime<Utc>,
    params: &DigestSettings,
) -> Vec<SectionStories> {
    let mut ranked: Vec<(f64, StoryRecord)> = candidates
        .into_iter()
        .map(|story| {
            let age_hours = (now - story.published_at).num_seconds() as f64 / 3600.0;
            (rank(votes(&story, params), age_hours, params), story)
        })
        .collect();
    ranked.sort_by(|(rank_a, a), (rank_b, b)| {
        rank_b
            .partial_cmp(rank_a)
            .unwrap_or(Ordering::Equal)
            .then(b.published_at.cmp(&a.published_at))
            .then(b.id.cmp(&a.id))
    });

    let mut chosen = vec![false; ranked.len()];
    let mut seen_sections: Vec<&str> = Vec::new();
    let mut taken = 0;
    for (index, (_, story)) in ranked.iter().enumerate() {
        if taken == max_stories {
            break;
        }
        if !seen_sections.contains(&story.section.as_str()) {
            seen_sections.push(&story.section);
            chosen[index] = true;
            taken += 1;
        }
    }
    for flag in chosen.iter_mut() {
        if taken == max_stories {
            break;
        }
        if !*flag {
            *flag = true;
            taken += 1;
        }
    }

    let mut sections: Vec<SectionStories> = Vec::new();
    for ((_, story), picked) in ranked.into_iter().zip(chosen) {
        if !picked {
            continue;
        }
        match sections.iter_mut().find(|s| s.section == story.section) {
            Some(section) => section.stories.push(story),
            None => sections.push(SectionStories {
                section: story.section.clone(),
                stories: vec![story],
            }),
        }
    }
    sections.sort_by(|a, b| section_order(&a.section).cmp(&section_order(&b.section)));
    sections
}

/// A story an editor pinned, and where in its section (1: first; `None`: first).
#[derive(Debug, Clone)]
pub struct Pinned {
    pub story: StoryRecord,
    pub position: Option<u32>,
}

/// Puts pinned stories into their sections whatever their rank: each at its position (its
/// section's first by default), in the order given; a section only pins fill is added in its
/// usual place.
pub fn place_pins(sections: &mut Vec<SectionStories>, pinned: Vec<Pinned>) {
    let mut pinned = pinned;
    // Stable: pins without a position, then by position, each group in the order given.
    pinned.sort_by_key(|pin| pin.position.unwrap_or(1));
    let mut placed_in: Vec<(String, usize)> = Vec::new();
    for pin in pinned {
        let section = match sections.iter_mut().find(|s| s.section == pin.story.section) {
            Some(section) => section,
            None => {
                sections.push(SectionStories {
                    section: pin.story.section.clone(),
                    stories: Vec::new(),
                });
                sections.last_mut().expect("just pushed")
            }
        };
        let earlier = placed_in
            .iter()
            .filter(|(name, _)| *name == section.section)
            .count();
        // Pins without a position keep the order given, ahead of ranked stories.
        let wanted = pin
            .position
            .map_or(earlier, |p| p.saturating_sub(1) as usize);
        let at = wanted.min(section.stories.len());
        placed_in.push((section.section.clone(), at));
        section.stories.insert(at, pin.story);
    }
    sections.sort_by(|a, b| section_order(&a.section).cmp(&section_order(&b.section)));
}

fn section_order(section: &str) -> (u8, &str) {
    match section {
        Section::NEWS => (0, ""),
        Section::BLOG => (1, ""),
        other => (2, other),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    const PARAMS: DigestSettings = DigestSettings {
        gravity: 1.8,
        age_offset_hours: 2.0,
        first_window_hours: 24,
        click_weight: 1.0,
        view_weight: 0.1,
    };

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 6, 0, 0)
            .single()
            .expect("valid time")
    }

    fn story(id: i64, section: &str, score: i64, hours_old: i64) -> StoryRecord {
        StoryRecord {
            id,
            url: format!("https://news.example.org/{id}"),
            title: format!("Story {id}"),
            summary: None,
            author: None,
            section: section.to_string(),
            image_url: None,
            image_size: None,
            image_caption: None,
            image_credit: None,
            published_at: now() - Duration::hours(hours_old),
            updated_at: None,
            score,
            views: 0,
            clicks: 0,
        }
    }

    fn ids(sections: &[SectionStories]) -> Vec<(String, Vec<i64>)> {
        sections
            .iter()
            .map(|s| {
                (
                    s.section.clone(),
                    s.stories.iter().map(|story| story.id).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn newer_stories_with_equal_votes_rank_higher() {
        assert!(rank(10.0, 1.0, &PARAMS) > rank(10.0, 5.0, &PARAMS));
        assert!(rank(50.0, 5.0, &PARAMS) > rank(10.0, 5.0, &PARAMS));
        assert_eq!(rank(-7.0, 1.0, &PARAMS), 0.0);
    }

    #[test]
    fn readers_clicks_and_page_views_are_votes() {
        let clicked = StoryRecord {
            clicks: 40,
            ..story(1, "news", 5, 3)
        };
        let viewed = StoryRecord {
            views: 600,
            ..story(2, "news", 5, 3)
        };
        let plain = story(3, "news", 5, 3);
        assert_eq!(votes(&clicked, &PARAMS), 45.0);
        assert_eq!(votes(&viewed, &PARAMS), 65.0);
        let sections = select(vec![plain, clicked, viewed], 3, now(), &PARAMS);
        assert_eq!(ids(&sections), vec![("news".to_string(), vec![2, 1, 3])]);
    }

    #[test]
    fn votes_can_beat_age() {
        let sections = select(
            vec![story(1, "news", 0, 1), story(2, "news", 500, 10)],
            1,
            now(),
            &PARAMS,
        );
        assert_eq!(ids(&sections), vec![("news".to_string(), vec![2])]);
    }

    #[test]
    fn max_stories_caps_the_digest_but_every_section_gets_a_slot() {
        let candidates = vec![
            story(1, "news", 100, 1),
            story(2, "news", 90, 1),
            story(3, "news", 80, 1),
            story(4, "blog", 1, 20),
            story(5, "sports", 2, 20),
        ];
        let sections = select(candidates, 4, now(), &PARAMS);
        assert_eq!(
            ids(&sections),
            vec![
                ("news".to_string(), vec![1, 2]),
                ("blog".to_string(), vec![4]),
                ("sports".to_string(), vec![5]),
            ]
        );
        assert_eq!(sections[0].heading(&Locale::english()), "Top stories");
        assert_eq!(sections[1].heading(&Locale::english()), "From the blogs");
        assert_eq!(sections[2].heading(&Locale::english()), "Sports");
    }

    #[test]
    fn with_more_sections_than_slots_the_best_sections_win() {
        let candidates = vec![
            story(1, "news", 1, 30),
            story(2, "blog", 50, 1),
            story(3, "tech", 20, 1),
        ];
        let sections = select(candidates, 2, now(), &PARAMS);
        assert_eq!(
            ids(&sections),
            vec![("blog".to_string(), vec![2]), ("tech".to_string(), vec![3])]
        );
    }

    #[test]
    fn pins_lead_their_section_or_stand_where_asked() {
        let mut sections = select(
            vec![
                story(1, "news", 100, 1),
                story(2, "news", 50, 1),
                story(3, "blog", 9, 1),
            ],
            3,
            now(),
            &PARAMS,
        );
        place_pins(
            &mut sections,
            vec![
                Pinned {
                    story: story(4, "news", 0, 30),
                    position: None,
                },
                Pinned {
                    story: story(5, "news", 0, 30),
                    position: Some(3),
                },
                Pinned {
                    story: story(6, "sports", 0, 30),
                    position: None,
                },
            ],
        );
        assert_eq!(
            ids(&sections),
            vec![
                ("news".to_string(), vec![4, 1, 5, 2]),
                ("blog".to_string(), vec![3]),
                ("sports".to_string(), vec![6]),
            ]
        );
    }

    #[test]
    fn nothing_in_nothing_out() {
        assert!(select(Vec::new(), 10, now(), &PARAMS).is_empty());
    }
}
