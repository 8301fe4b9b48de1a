//! Secrets in the settings: given inline (from the environment, preferably) or as a file, read
//! only when used, never shown.

use std::path::PathBuf;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use crate::error::BadInput;

/// A secret given inline (from the environment, preferably) or as a file to read. The file is
/// read only when the secret is used, so admin commands run where the service's credential
/// directory is not mounted. `Debug` never shows the value.
#[derive(Debug, Clone, Default)]
pub struct SecretSetting {
    pub(super) key: &'static str,
    pub(super) inline: Option<SecretString>,
    pub(super) file: Option<PathBuf>,
}

impl SecretSetting {
    /// A secret given as a value (tests, and callers that read it elsewhere).
    pub fn from_value(key: &'static str, value: &str) -> Self {
        Self {
            key,
            inline: Some(SecretString::from(value.to_string())),
            file: None,
        }
    }

    /// The secret `key` as the file gave it: inline, as `{key}_file`, or not at all. Both at
    /// once is refused, and so is an empty value: an empty api.token would be no
    /// authentication at all, and would open the story API to anyone.
    pub(super) fn given(
        key: &'static str,
        inline: Option<SecretString>,
        file: Option<PathBuf>,
    ) -> Result<Self, String> {
        if inline.is_some() && file.is_some() {
            return Err(format!("setting {key} and {key}_file: give only one"));
        }
        if inline
            .as_ref()
            .is_some_and(|value| value.expose_secret().trim().is_empty())
        {
            return Err(format!(
                "setting {key}: it is empty; give a value, or remove the setting"
            ));
        }
        Ok(Self { key, inline, file })
    }

    pub fn is_set(&self) -> bool {
        self.inline.is_some() || self.file.is_some()
    }

    /// Where the secret comes from, never what it is: for `config check`.
    pub fn describe(&self) -> String {
        match (&self.file, &self.inline) {
            (Some(path), _) => format!("set (from {}_file {})", self.key, path.display()),
            (None, Some(_)) => "set (in the settings or environment; value hidden)".into(),
            (None, None) => "not set".into(),
        }
    }

    /// The secret, reading its file if it is given as one; `None` when unset.
    pub fn resolve(&self) -> anyhow::Result<Option<SecretString>> {
        if let Some(path) = &self.file {
            let raw = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}_file {}", self.key, path.display()))?;
            // Trimmed like an inline value: a file of spaces is no secret.
            let value = raw.trim();
            if value.is_empty() {
                return Err(BadInput(format!(
                    "{}_file {} is empty (or only white space)",
                    self.key,
                    path.display()
                ))
                .into());
            }
            return Ok(Some(SecretString::from(value.to_string())));
        }
        Ok(self.inline.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_of_white_space_is_refused_and_a_real_one_trimmed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blank = dir.path().join("blank");
        std::fs::write(&blank, "   \n").expect("write");
        let secret = SecretSetting {
            key: "bounces.webhook_secret",
            inline: None,
            file: Some(blank),
        };
        let error = secret.resolve().expect_err("refused");
        assert!(error.to_string().contains("is empty"), "{error}");

        let real = dir.path().join("real");
        std::fs::write(&real, " s3cret \r\n").expect("write");
        let secret = SecretSetting {
            file: Some(real),
            ..secret
        };
        let value = secret.resolve().expect("read").expect("set");
        assert_eq!(value.expose_secret(), "s3cret");
    }
}
