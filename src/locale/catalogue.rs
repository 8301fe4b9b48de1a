//! Loading message catalogues: the Fluent files compiled into the binary, and a site's own from
//! the `locale.dir` setting, checked once at start so a broken file is an error naming its line,
//! never a blank word in a sent edition.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::format::{Item, StrftimeItems};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use fluent_syntax::ast;

use crate::domain::Language;

/// The catalogues shipped in the binary: (language tag, Fluent source).
pub const EMBEDDED: [(&str, &str); 5] = [
    ("en", include_str!("../../templates/locales/en.ftl")),
    ("ar", include_str!("../../templates/locales/ar.ftl")),
    ("de", include_str!("../../templates/locales/de.ftl")),
    ("es", include_str!("../../templates/locales/es.ftl")),
    ("fr", include_str!("../../templates/locales/fr.ftl")),
];

/// One language's messages: its shipped file, with a site's file over it.
pub struct Catalogue {
    pub(super) language: Language,
    pub(super) bundle: FluentBundle<Arc<FluentResource>>,
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogue")
            .field("language", &self.language)
            .finish_non_exhaustive()
    }
}

impl Catalogue {
    /// The message, formatted; `None` when this catalogue lacks it or it does not format.
    pub(super) fn format(&self, key: &str, args: Option<&FluentArgs<'_>>) -> Option<String> {
        let pattern = self.bundle.get_message(key)?.value()?;
        let mut errors = Vec::new();
        let text = self.bundle.format_pattern(pattern, args, &mut errors);
        errors.is_empty().then(|| text.into_owned())
    }
}

/// The message keys a Fluent source defines, in file order.
pub fn message_keys(resource: &FluentResource) -> Vec<String> {
    resource
        .entries()
        .filter_map(|entry| match entry {
            ast::Entry::Message(message) => Some(message.id.name.to_string()),
            _ => None,
        })
        .collect()
}

fn line_of(source: &str, byte: usize) -> usize {
    source[..byte.min(source.len())].matches('\n').count() + 1
}

/// Parses one Fluent file; `origin` names it in errors ("dir/ar.ftl").
pub fn parse(origin: &str, source: String) -> Result<FluentResource, String> {
    // Slot markers are control characters (see `digest::template`): a catalogue may not forge one.
    if let Some((at, c)) = source
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(format!(
            "{origin}:{}: control character U+{:04X} in a catalogue",
            line_of(&source, at),
            u32::from(c)
        ));
    }
    match FluentResource::try_new(source) {
        Ok(resource) => Ok(resource),
        Err((resource, errors)) => {
            let first = &errors[0];
            Err(format!(
                "{origin}:{}: not valid Fluent: {}",
                line_of(resource.source(), first.pos.start),
                first.kind
            ))
        }
    }
}

/// A parsed Fluent file and where it came from ("built-in ar.ftl", "/etc/herald/ar.ftl").
struct Source {
    origin: String,
    resource: Arc<FluentResource>,
}

/// Builds the catalogue of `language` from its sources, the later overriding the earlier.
fn build(language: Language, sources: Vec<Source>) -> Result<Catalogue, String> {
    let mut bundle = FluentBundle::new_concurrent(vec![language.identifier().clone()]);
    // Isolation marks keep an English name or address inside Arabic text in its own direction;
    // in left-to-right languages they would only add invisible characters to every line.
    bundle.set_use_isolating(language.is_right_to_left());
    for source in &sources {
        bundle.add_resource_overriding(Arc::clone(&source.resource));
    }
    let catalogue = Catalogue { language, bundle };
    let origin = sources
        .last()
        .map_or_else(String::new, |source| source.origin.clone());
    for key in ["date-long", "date-short"] {
        if let Some(pattern) = catalogue.format(key, None) {
            if StrftimeItems::new(&pattern).any(|item| matches!(item, Item::Error)) {
                return Err(format!(
                    "{origin}: {key} = {pattern:?} is not a valid date pattern"
                ));
            }
        }
    }
    if let Some(name) = catalogue.format("date-locale", None) {
        if chrono::Locale::try_from(name.as_str()).is_err() {
            return Err(format!(
                "{origin}: date-locale = {name:?} is not a known locale (use names like ar_JO, fr_FR)"
            ));
        }
    }
    Ok(catalogue)
}

/// Every language Herald can write in, by lower-case tag.
pub fn load(dir: Option<&Path>) -> Result<BTreeMap<String, Arc<Catalogue>>, String> {
    let mut sources: BTreeMap<String, (Language, Vec<Source>)> = BTreeMap::new();
    for (tag, source) in EMBEDDED {
        let language = Language::parse(tag).map_err(|error| error.to_string())?;
        let origin = format!("built-in {tag}.ftl");
        let resource = parse(&origin, source.to_string())?;
        sources.insert(
            tag.to_string(),
            (
                language,
                vec![Source {
                    origin,
                    resource: Arc::new(resource),
                }],
            ),
        );
    }
    if let Some(dir) = dir {
        let entries = std::fs::read_dir(dir)
            .map_err(|error| format!("locale.dir {}: {error}", dir.display()))?;
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "ftl"))
            .collect();
        files.sort();
        for path in files {
            let origin = path.display().to_string();
            let stem = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .unwrap_or_default();
            let language = Language::parse(stem).map_err(|_| {
                format!("{origin}: the file name must be a language tag, like ar.ftl or pt-BR.ftl")
            })?;
            let text =
                std::fs::read_to_string(&path).map_err(|error| format!("{origin}: {error}"))?;
            let resource = Arc::new(parse(&origin, text)?);
            sources
                .entry(language.to_string().to_ascii_lowercase())
                .or_insert_with(|| (language, Vec::new()))
                .1
                .push(Source { origin, resource });
        }
    }
    sources
        .into_iter()
        .map(|(tag, (language, files))| Ok((tag, Arc::new(build(language, files)?))))
        .collect()
}
