//! `[digest]`: how stories are chosen for an edition. See `digest::ranking` for the formula.

use serde::Deserialize;
use smart_default::SmartDefault;

use super::positive;

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, SmartDefault)]
#[serde(default, deny_unknown_fields)]
pub struct DigestSettings {
    /// How fast a story's rank falls with age: rank = (score + 1) / (age_hours + age_offset)^gravity.
    #[default(1.8)]
    pub gravity: f64,
    #[default(2.0)]
    pub age_offset_hours: f64,
    /// How far back the first edition of a list looks for stories.
    #[default(24)]
    pub first_window_hours: u32,
    /// Votes one reader's click (in any earlier edition) is worth in the rank.
    #[default(1.0)]
    pub click_weight: f64,
    /// Votes one page view the site sends (`views` in the story API) is worth.
    #[default(0.1)]
    pub view_weight: f64,
}

impl DigestSettings {
    pub(super) fn check(&self) -> Result<(), String> {
        if !(self.gravity.is_finite() && self.gravity >= 0.0) {
            return Err(format!(
                "setting digest.gravity: {} must be 0 or more",
                self.gravity
            ));
        }
        if !(self.age_offset_hours.is_finite() && self.age_offset_hours > 0.0) {
            return Err(format!(
                "setting digest.age_offset_hours: {} must be more than 0",
                self.age_offset_hours
            ));
        }
        for (name, weight) in [
            ("digest.click_weight", self.click_weight),
            ("digest.view_weight", self.view_weight),
        ] {
            if !(weight.is_finite() && weight >= 0.0) {
                return Err(format!("setting {name}: {weight} must be 0 or more"));
            }
        }
        positive("digest.first_window_hours", self.first_window_hours.into())
    }
}
