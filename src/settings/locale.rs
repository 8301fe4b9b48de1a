//! `[locale]`: the message catalogues, the built-in ones with a site's from `dir` over them.

use std::path::PathBuf;

use serde::Deserialize;

use crate::locale::Catalogues;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct LocaleSettings {
    pub dir: Option<PathBuf>,
    /// Loaded from `dir` when the settings are checked, so a broken file stops the start.
    #[serde(skip)]
    pub catalogues: Catalogues,
}

impl LocaleSettings {
    pub(super) fn check(&mut self) -> Result<(), String> {
        self.catalogues = Catalogues::load(self.dir.as_deref())
            .map_err(|error| format!("setting locale.dir: {error}"))?;
        Ok(())
    }
}
