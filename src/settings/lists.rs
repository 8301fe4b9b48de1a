//! `[lists]`: what `list add` uses for the flags it is not given.

use serde::Deserialize;
use smart_default::SmartDefault;

use crate::domain::{CronExpr, MaxStories, Timezone};

#[derive(Debug, Clone, Deserialize, SmartDefault)]
#[serde(default, deny_unknown_fields)]
pub struct ListDefaults {
    #[default(CronExpr::parse("0 7 * * *").expect("a valid schedule"))]
    pub schedule: CronExpr,
    #[default(Timezone::parse("UTC").expect("a valid timezone"))]
    pub timezone: Timezone,
    #[default(MaxStories::parse(10).expect("a valid count"))]
    pub max_stories: MaxStories,
}
