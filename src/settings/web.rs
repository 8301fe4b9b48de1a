//! `[web]`: where the sign-up pages, the story API and the webhooks listen, and how they are
//! reached from outside.

use std::net::{IpAddr, SocketAddr};

use serde::Deserialize;
use smart_default::SmartDefault;
use url::Url;

use super::values;

#[derive(Debug, Clone, Deserialize, SmartDefault)]
#[serde(default, deny_unknown_fields)]
pub struct WebSettings {
    #[serde(deserialize_with = "values::socket_address")]
    #[default(SocketAddr::from(([127, 0, 0, 1], 8080)))]
    pub bind: SocketAddr,
    /// How readers reach the pages: every link in a message starts with it.
    #[serde(deserialize_with = "values::http_url")]
    #[default(Url::parse("http://127.0.0.1:8080").expect("a valid URL"))]
    pub base_url: Url,
    /// Reverse proxies whose `X-Forwarded-For` names the real client (for the sign-up rate
    /// limit and the consent record); empty: the TCP peer is the client.
    #[serde(deserialize_with = "values::ip_addresses")]
    pub trusted_proxies: Vec<IpAddr>,
}

impl WebSettings {
    /// An absolute URL under `base_url` (which may itself have a path).
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.base_url.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}
