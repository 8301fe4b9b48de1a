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
    let terms: std::collections::HashSet<&str> = sources
        .iter()
        .flat_map(|source| source.resource.entries())
        .filter_map(|entry| match entry {
            ast::Entry::Term(term) => Some(term.id.name),
            _ => None,
        })
        .collect();
    for source in &sources {
        check_references(source, &bundle, &terms)?;
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

/// Refuses a message that refers to a message, attribute or term the catalogue does not
/// define: Fluent would show readers the raw reference.
fn check_references(
    source: &Source,
    bundle: &FluentBundle<Arc<FluentResource>>,
    terms: &std::collections::HashSet<&str>,
) -> Result<(), String> {
    for entry in source.resource.entries() {
        let (key, patterns): (&str, Vec<&ast::Pattern<&str>>) = match entry {
            ast::Entry::Message(message) => (
                message.id.name,
                message
                    .value
                    .iter()
                    .chain(message.attributes.iter().map(|attribute| &attribute.value))
                    .collect(),
            ),
            ast::Entry::Term(term) => (
                term.id.name,
                std::iter::once(&term.value)
                    .chain(term.attributes.iter().map(|attribute| &attribute.value))
                    .collect(),
            ),
            _ => continue,
        };
        let mut references = Vec::new();
        for pattern in patterns {
            references_in_pattern(pattern, &mut references);
        }
        for reference in references {
            let defined = match reference {
                Reference::Message(id, attribute) => {
                    bundle.get_message(id).is_some_and(|message| {
                        attribute.is_none_or(|name| message.get_attribute(name).is_some())
                    })
                }
                Reference::Term(id) => terms.contains(id),
            };
            if !defined {
                let source_text = source.resource.source();
                let at = source_text
                    .find(&format!("\n{key} ="))
                    .map_or(0, |at| at + 1);
                let what = match reference {
                    Reference::Message(id, Some(attribute)) => format!("{id}.{attribute}"),
                    Reference::Message(id, None) => id.to_string(),
                    Reference::Term(id) => format!("-{id}"),
                };
                return Err(format!(
                    "{}:{}: {key} refers to {what}, which this catalogue does not define",
                    source.origin,
                    line_of(source_text, at)
                ));
            }
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Reference<'s> {
    Message(&'s str, Option<&'s str>),
    Term(&'s str),
}

fn references_in_pattern<'s>(pattern: &ast::Pattern<&'s str>, found: &mut Vec<Reference<'s>>) {
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            references_in_expression(expression, found);
        }
    }
}

fn references_in_expression<'s>(
    expression: &ast::Expression<&'s str>,
    found: &mut Vec<Reference<'s>>,
) {
    match expression {
        ast::Expression::Inline(inline) => references_in_inline(inline, found),
        ast::Expression::Select { selector, variants } => {
            references_in_inline(selector, found);
            for variant in variants {
                references_in_pattern(&variant.value, found);
            }
        }
    }
}

fn references_in_inline<'s>(
    inline: &ast::InlineExpression<&'s str>,
    found: &mut Vec<Reference<'s>>,
) {
    match inline {
        ast::InlineExpression::MessageReference { id, attribute } => {
            found.push(Reference::Message(
                id.name,
                attribute.as_ref().map(|a| a.name),
            ));
        }
        ast::InlineExpression::TermReference { id, arguments, .. } => {
            found.push(Reference::Term(id.name));
            if let Some(arguments) = arguments {
                references_in_arguments(arguments, found);
            }
        }
        ast::InlineExpression::FunctionReference { arguments, .. } => {
            references_in_arguments(arguments, found);
        }
        ast::InlineExpression::Placeable { expression } => {
            references_in_expression(expression, found);
        }
        _ => {}
    }
}

fn references_in_arguments<'s>(
    arguments: &ast::CallArguments<&'s str>,
    found: &mut Vec<Reference<'s>>,
) {
    for argument in &arguments.positional {
        references_in_inline(argument, found);
    }
    for named in &arguments.named {
        references_in_inline(&named.value, found);
    }
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
