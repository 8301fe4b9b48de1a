//! `[schedule]`: what the daemon does about editions it missed while it was down.

use serde::Deserialize;
use smart_default::SmartDefault;

#[derive(Debug, Clone, Deserialize, SmartDefault)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleSettings {
    /// An edition due less than this long ago is still sent at start; an older one is skipped.
    #[default(6)]
    pub catch_up_hours: u32,
}
