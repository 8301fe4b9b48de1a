//! The fuzz targets' seed corpus, and every input that once made them fail, replayed through
//! the same checks on every test run (the fuzzers themselves run with `bash .ci/fuzz`).

use std::path::Path;

#[path = "../fuzz/src/checks.rs"]
mod checks;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(target);
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("corpus file");
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(
            outcome.is_ok(),
            "{} fails the {target} checks",
            path.display()
        );
        replayed += 1;
    }
    assert!(replayed > 0, "{target} has a corpus");
}

#[test]
fn the_csv_import_fuzz_corpus_passes_its_checks() {
    replay("csv_import", checks::csv_import);
}

#[test]
fn the_story_json_fuzz_corpus_passes_its_checks() {
    replay("story_json", checks::story_json);
}

#[test]
fn the_bounce_report_fuzz_corpus_passes_its_checks() {
    replay("bounce_report", checks::bounce_report);
}

#[test]
fn the_feed_fuzz_corpus_passes_its_checks() {
    replay("feed", checks::feed);
}
