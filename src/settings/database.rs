//! `[database]`: where Herald keeps its state, and this node's name among those sharing it.

use std::time::Duration;

use serde::Deserialize;
use smart_default::SmartDefault;

#[derive(Debug, Clone, Deserialize, SmartDefault)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://FILE` or `postgres://...`.
    #[default("sqlite://herald.db".into())]
    pub url: String,
    /// This node's name among those sharing a PostgreSQL database (default: the host name).
    #[default(host_name())]
    pub node: String,
    /// How long a node's claim on a delivery holds without renewal: after it, a node that died
    /// mid-send leaves its rows to the others.
    #[serde(rename = "lease_secs", deserialize_with = "super::values::seconds")]
    #[default(Duration::from_secs(60))]
    pub lease: Duration,
}

impl DatabaseSettings {
    /// When a claim this node makes at `now` (a delivery, a feed poll, a confirmation mail)
    /// runs out unless renewed.
    pub fn lease_until(&self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        now + chrono::Duration::from_std(self.lease).unwrap_or_default()
    }

    pub(super) fn check(&self) -> Result<(), String> {
        let node = &self.node;
        if node.len() > 64 || !super::values::is_name(node) {
            return Err(format!(
                "setting database.node = {:?}: give a name of up to 64 letters, digits, '-', '_' \
                 or '.'",
                node.chars().take(80).collect::<String>()
            ));
        }
        if !(2..=3600).contains(&self.lease.as_secs()) {
            return Err(format!(
                "setting database.lease_secs = {}: must be between 2 and 3600",
                self.lease.as_secs()
            ));
        }
        Ok(())
    }
}

/// The machine's name, for a node that was not given one.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "herald".to_string())
}
