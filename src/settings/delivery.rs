//! `[delivery]`: how hard an edition is pushed at the relay, and how often a reader is retried.

use serde::Deserialize;
use smart_default::SmartDefault;

use super::positive;

#[derive(Debug, Clone, Deserialize, SmartDefault)]
#[serde(default, deny_unknown_fields)]
pub struct DeliverySettings {
    /// Messages in flight at once.
    #[default(8)]
    pub concurrency: u32,
    /// Messages per second across all connections; 0 means no limit.
    pub rate_per_second: u32,
    #[default(5)]
    pub max_attempts: u32,
    #[default(30)]
    pub retry_base_secs: u64,
}

impl DeliverySettings {
    pub(super) fn check(&self) -> Result<(), String> {
        positive("delivery.concurrency", self.concurrency.into())?;
        positive("delivery.max_attempts", self.max_attempts.into())
    }
}
