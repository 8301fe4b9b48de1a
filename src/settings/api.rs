//! `[api]`: the story API's bearer token; the API is off without one.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use super::SecretSetting;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    /// `api.token` or `api.token_file`, read only when used.
    #[serde(skip)]
    pub token: SecretSetting,
    #[serde(rename = "token")]
    token_inline: Option<SecretString>,
    token_file: Option<PathBuf>,
}

impl ApiSettings {
    pub(super) fn check(&mut self) -> Result<(), String> {
        self.token = SecretSetting::given(
            "api.token",
            self.token_inline.take(),
            self.token_file.take(),
        )?;
        Ok(())
    }
}
