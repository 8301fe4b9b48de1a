//! `[newsletter]`: who the mail is from and how it looks.

use serde::Deserialize;
use smart_default::SmartDefault;
use url::Url;

use super::{positive, values};
use crate::domain::{EmailAddress, Sender};

#[derive(Debug, Clone, Deserialize, SmartDefault)]
#[serde(default, deny_unknown_fields)]
pub struct NewsletterSettings {
    #[serde(deserialize_with = "values::line")]
    #[default("Herald Daily".into())]
    pub name: String,
    #[default(Sender::parse("digest@example.com").expect("a valid sender"))]
    pub from: Sender,
    pub reply_to: Option<EmailAddress>,
    /// Shown in every message's footer, as the law of many countries asks of bulk mail.
    #[serde(deserialize_with = "values::line")]
    #[default("Herald Daily, 1 Example Street, Springfield".into())]
    pub postal_address: String,
    #[serde(deserialize_with = "values::hex_color")]
    #[default("#1a5fb4".into())]
    pub brand_color: String,
    #[serde(deserialize_with = "values::optional_http_url")]
    pub logo_url: Option<Url>,
    #[default(160)]
    pub logo_width: u32,
    #[default(40)]
    pub logo_height: u32,
}

impl NewsletterSettings {
    pub(super) fn check(&self) -> Result<(), String> {
        positive("newsletter.logo_width", self.logo_width.into())?;
        positive("newsletter.logo_height", self.logo_height.into())
    }
}
