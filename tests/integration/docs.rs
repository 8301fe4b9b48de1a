//! The documentation against what it documents: `docs/configuration.md` names exactly the
//! settings `config/herald.example.toml` holds (which Herald itself reads, with unknown keys
//! refused), every relative link in the README and `docs/` leads to a file that exists, and
//! the README stays a front door.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn read(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Every key of the example settings by section, commented-out ones included.
fn example_keys() -> BTreeMap<String, BTreeSet<String>> {
    let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut section = String::new();
    for line in read("config/herald.example.toml").lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let setting = line.strip_prefix("# ").unwrap_or(line);
        let Some((key, _)) = setting.split_once(" = ") else {
            continue;
        };
        if !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            keys.entry(section.clone())
                .or_default()
                .insert(key.to_string());
        }
    }
    keys
}

/// The keys each section's row of the reference table names: backquoted names outside the
/// parentheses that give defaults and notes.
fn documented_keys() -> BTreeMap<String, BTreeSet<String>> {
    let mut keys = BTreeMap::new();
    for line in read("docs/configuration.md").lines() {
        let Some(row) = line.strip_prefix("| `[") else {
            continue;
        };
        let Some((section, rest)) = row.split_once("]` |") else {
            continue;
        };
        let mut outside = String::new();
        let mut depth = 0;
        for c in rest.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ if depth == 0 => outside.push(c),
                _ => {}
            }
        }
        let names: BTreeSet<String> = outside
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|name| name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .map(str::to_string)
            .collect();
        keys.insert(section.to_string(), names);
    }
    keys
}

#[test]
fn the_configuration_reference_names_every_setting_and_no_other() {
    let example = example_keys();
    let documented = documented_keys();
    assert_eq!(
        example.keys().collect::<Vec<_>>(),
        documented.keys().collect::<Vec<_>>(),
        "the sections"
    );
    for (section, keys) in &example {
        let named = &documented[section];
        for key in keys {
            assert!(
                named.contains(key),
                "docs/configuration.md lacks {section}.{key}"
            );
        }
        for key in named {
            // A secret is documented with its inline form beside the file the example shows.
            let inline_of_a_file = keys.contains(&format!("{key}_file"));
            assert!(
                keys.contains(key) || inline_of_a_file,
                "docs/configuration.md names {section}.{key}, which the example lacks"
            );
        }
    }
}

#[test]
fn every_relative_link_in_the_readme_and_docs_leads_somewhere() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec!["README.md".to_string()];
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".md") {
            pages.push(format!("docs/{name}"));
        }
    }
    for page in pages {
        let text = read(&page);
        let dir = root.join(&page).parent().expect("dir").to_path_buf();
        for link in text.split("](").skip(1) {
            let target = link.split(')').next().unwrap_or_default();
            let target = target.split('#').next().unwrap_or_default();
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            assert!(
                dir.join(target).exists(),
                "{page} links to {target}, which is not there"
            );
        }
    }
}

#[test]
fn the_readme_is_a_front_door() {
    let readme = read("README.md");
    assert!(
        readme.len() <= 13_000,
        "README.md is {} bytes",
        readme.len()
    );
    for page in [
        "configuration",
        "operations",
        "bounces",
        "postgresql",
        "architecture",
        "benchmarks",
    ] {
        assert!(
            readme.contains(&format!("docs/{page}.md")),
            "the README points to docs/{page}.md"
        );
    }
}
