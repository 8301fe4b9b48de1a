//! The rules of the source tree that a review would otherwise have to keep by eye: SQL only in
//! `store/`, states named only by their enums, no two top-level modules importing each other,
//! and settings in files of a screen or two.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// Each source file under `src/`, relative to it, with its text before any unit tests.
fn code() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    sources(&src, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable source");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let relative = path.strip_prefix(&src).expect("under src");
            (relative.display().to_string(), code.to_string())
        })
        .collect()
}

#[test]
fn sql_is_written_only_in_the_store() {
    let outside: Vec<String> = code()
        .into_iter()
        .filter(|(path, code)| {
            !path.starts_with("store/")
                && ["sqlx::query", "query_as(", "query_scalar("]
                    .iter()
                    .any(|call| code.contains(call))
        })
        .map(|(path, _)| path)
        .collect();
    assert!(outside.is_empty(), "SQL outside src/store: {outside:?}");
}

#[test]
fn states_are_compared_as_enums_not_as_words() {
    let words = [
        "sent",
        "sending",
        "deferred",
        "pending",
        "failed",
        "ready",
        "skipped",
        "retry",
        "cancelled",
        "active",
        "unsubscribed",
        "bounced",
        "hard",
        "soft",
        "complaint",
    ];
    let mut found = Vec::new();
    for (path, code) in code() {
        if path.starts_with("domain/") {
            continue;
        }
        for word in words {
            for comparison in [
                format!("== \"{word}\""),
                format!("!= \"{word}\""),
                format!("== Some(\"{word}\")"),
            ] {
                if code.contains(&comparison) {
                    found.push(format!("{path}: {comparison}"));
                }
            }
        }
    }
    assert!(found.is_empty(), "states compared as text: {found:?}");
}

#[test]
fn no_two_top_level_modules_import_each_other() {
    let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, code) in code() {
        let module = path
            .split(['/', '.'])
            .next()
            .unwrap_or_default()
            .to_string();
        for (at, _) in code.match_indices("crate::") {
            let named: String = code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !named.is_empty() && named != module {
                imports.entry(module.clone()).or_default().insert(named);
            }
        }
    }
    let mut cycles = Vec::new();
    for (module, named) in &imports {
        for other in named {
            if module < other && imports.get(other).is_some_and(|back| back.contains(module)) {
                cycles.push(format!("{module} <-> {other}"));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "modules that import each other: {cycles:?}"
    );
}

#[test]
fn settings_stay_in_files_of_a_section_each() {
    let long: Vec<String> = code()
        .into_iter()
        .filter(|(path, _)| path.starts_with("settings/"))
        .filter_map(|(path, code)| {
            let lines = code.lines().count();
            (lines > 250).then(|| format!("{path}: {lines} lines"))
        })
        .collect();
    assert!(long.is_empty(), "settings files past 250 lines: {long:?}");
}
