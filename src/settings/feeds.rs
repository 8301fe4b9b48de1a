//! `[feeds]`: how often and how carefully the sites' feeds and story pictures are fetched.

use serde::Deserialize;
use smart_default::SmartDefault;
use url::Url;

use super::{positive, values};

#[derive(Debug, Clone, Deserialize, SmartDefault)]
#[serde(default, deny_unknown_fields)]
pub struct FeedSettings {
    #[default(900)]
    pub poll_interval_secs: u64,
    /// A feed that has not answered in full by then counts as failed.
    #[default(20)]
    pub timeout_secs: u64,
    /// A feed larger than this is refused.
    #[default(5 * 1024 * 1024)]
    pub max_bytes: u64,
    /// Pictures at loopback, private and link-local addresses are measured too (a closed
    /// network, tests); otherwise only public addresses are fetched.
    pub allow_private_pictures: bool,
    /// A proxy pictures are fetched through (never one from the environment). It resolves
    /// names itself, so without `allow_private_pictures` only addresses are fetched through it.
    #[serde(deserialize_with = "values::optional_http_url")]
    pub picture_proxy: Option<Url>,
}

impl FeedSettings {
    pub(super) fn check(&self) -> Result<(), String> {
        positive("feeds.poll_interval_secs", self.poll_interval_secs)?;
        positive("feeds.timeout_secs", self.timeout_secs)?;
        positive("feeds.max_bytes", self.max_bytes)
    }
}
