//! The project's own corpus of tricky feeds (`tests/feeds`, plus UTF-16 and oversized variants
//! made here) polled in one run of the built binary: none may panic, the ones a feed reader can
//! read become stories, and the others are recorded as that feed's error.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::helpers::{herald, stderr, stdout, utf16, TestApp};

type Corpus = Arc<HashMap<String, Vec<u8>>>;

/// An RSS 2.0 feed of `items` items with summaries of about a kilobyte each.
fn big_feed(items: usize) -> Vec<u8> {
    let summary =
        "A long summary of a long story, with &lt;b&gt;markup&lt;/b&gt; in it. ".repeat(15);
    let mut feed = String::from(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title><link>https://big.example.org/</link><description>d</description>"#,
    );
    for i in 0..items {
        feed.push_str(&format!(
            "<item><title>Big item {i}</title><link>https://big.example.org/{i}</link><guid>big-{i}</guid><description>{summary}</description></item>"
        ));
    }
    feed.push_str("</channel></rss>");
    feed.into_bytes()
}

/// Words of three scripts: two bytes a character in Arabic and Russian, three in Chinese.
const NON_LATIN: [(&str, &str); 3] = [
    ("ar", "أخبار اليوم من عمّان والعالم "),
    ("ru", "новости дня из Москвы и мира "),
    ("zh", "今日新闻来自北京和世界各地的报道"),
];

/// How many items the feed of `shift` holds: together 3 to 20 KB.
fn non_latin_items(shift: usize) -> usize {
    2 + 2 * shift
}

/// A feed in `words`' script whose channel description runs past byte 4,096, moved by `shift`
/// ASCII bytes so that byte 4,096 falls at every offset inside a character across the shifts.
fn non_latin_feed(language: &str, words: &str, shift: usize) -> Vec<u8> {
    let description: String = words.repeat(4_400 / words.len() + 1);
    let summary: String = words.repeat(900 / words.len() + 1);
    let mut feed = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{}{language}</title><link>https://{language}-{shift}.example.org/</link><description>{description}</description>"#,
        "x".repeat(shift)
    );
    for i in 0..non_latin_items(shift) {
        feed.push_str(&format!(
            "<item><title>{i}: {}</title><link>https://{language}-{shift}.example.org/{i}</link><description>{summary}</description></item>",
            &words[..words.char_indices().nth(12).map_or(words.len(), |(at, _)| at)]
        ));
    }
    feed.push_str("</channel></rss>");
    feed.into_bytes()
}

fn corpus() -> HashMap<String, Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/feeds");
    let mut corpus = HashMap::new();
    for entry in std::fs::read_dir(&dir).expect("tests/feeds") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name != "README.md" {
            corpus.insert(name, std::fs::read(&path).expect("corpus file"));
        }
    }
    let atom03 = String::from_utf8(corpus["atom-0.3.xml"].clone()).expect("utf-8");
    let declared = atom03.replace("encoding=\"utf-8\"", "encoding=\"UTF-16\"");
    for (name, big_endian, bom) in [
        ("utf16-be-bom.xml", true, true),
        ("utf16-be.xml", true, false),
        ("utf16-le-bom.xml", false, true),
        ("utf16-le.xml", false, false),
    ] {
        // Each variant links elsewhere, so that each one's items are new.
        let host = format!("{}.example.org", name.trim_end_matches(".xml"));
        let text = declared.replace("old.example.org", &host);
        corpus.insert(name.to_string(), utf16(&text, big_endian, bom));
    }
    for (language, words) in NON_LATIN {
        let mut inside_a_character = 0;
        for shift in 0..7 {
            let feed = non_latin_feed(language, words, shift);
            assert!((3_000..=20_000).contains(&feed.len()), "{}", feed.len());
            let text = std::str::from_utf8(&feed).expect("utf-8");
            inside_a_character += usize::from(!text.is_char_boundary(4_096));
            corpus.insert(format!("{language}-{shift}.xml"), feed);
        }
        let offsets = if language == "zh" { 2 } else { 1 };
        assert!(
            inside_a_character >= offsets,
            "{language}: {inside_a_character}"
        );
    }
    corpus.insert("huge.xml".to_string(), big_feed(2_000));
    corpus.insert("too-huge.xml".to_string(), big_feed(7_000));
    corpus
}

async fn serve(corpus: Corpus) -> String {
    async fn file(UrlPath(name): UrlPath<String>, State(corpus): State<Corpus>) -> Response {
        match corpus.get(&name) {
            Some(body) => {
                ([(header::CONTENT_TYPE, "application/xml")], body.clone()).into_response()
            }
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let app = Router::new()
        .route("/corpus/{name}", get(file))
        .with_state(corpus);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}/corpus", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tricky_feed_is_polled_in_one_run_and_none_panics() {
    let corpus = corpus();
    let names: Vec<String> = corpus.keys().cloned().collect();
    let base = serve(Arc::new(corpus)).await;
    let app = TestApp::spawn().await;
    for name in &names {
        let run = app.run(&["feed", "add", &format!("{base}/{name}")]).await;
        assert_eq!(run.exit_code(), 0, "{name}: {}", run.stderr);
    }
    let database = app.app.settings.database.url.clone();
    let dir = app.dir.path().to_path_buf();

    let poll = tokio::task::spawn_blocking(move || {
        herald(&dir, &["--database", &database, "feed", "poll"])
    })
    .await
    .expect("poll ran");

    let (out, err) = (stdout(&poll), stderr(&poll));
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        poll.status.code(),
        Some(1),
        "the empty and oversized feeds fail, nothing panics: {err}"
    );
    let failed = format!("2 of {} feed(s) failed", names.len());
    assert!(err.contains(&failed), "{err}");
    let feeds = app.run(&["--json", "feed", "ls"]).await.json();
    let error_of = |name: &str| -> Option<String> {
        let feed = feeds
            .as_array()
            .expect("array")
            .iter()
            .find(|f| {
                f["url"]
                    .as_str()
                    .expect("url")
                    .ends_with(&format!("/{name}"))
            })
            .unwrap_or_else(|| panic!("{name} listed"));
        assert!(!feed["last_polled_at"].is_null(), "{name} polled");
        feed["last_error"].as_str().map(str::to_string)
    };
    for name in &names {
        let error = error_of(name);
        match name.as_str() {
            "empty.xml" => assert_eq!(error.as_deref(), Some("the feed is empty")),
            "too-huge.xml" => assert!(error.expect("refused").contains("max_bytes")),
            _ => assert_eq!(error, None, "{name}"),
        }
    }
    for (name, new) in [
        ("atom-0.3.xml", 2),
        ("utf16-be-bom.xml", 2),
        ("utf16-be.xml", 2),
        ("utf16-le-bom.xml", 2),
        ("utf16-le.xml", 2),
        ("rss-0.90.rdf", 2),
        ("rss-0.91-userland.xml", 2),
        ("rss-0.92.xml", 1),
        ("rss-2.0-default-namespace.xml", 2),
        ("rss-2.0-harvard-namespace.xml", 1),
        ("rss-2.0-prefixed-userland.xml", 2),
        ("rss-no-version.xml", 2),
        ("rss-0.93.xml", 2),
        ("rss-0.94.xml", 2),
        ("rss-2.01.xml", 2),
        ("atom-0.3-content-modes.xml", 5),
        ("atom-1.0-xhtml-media-type.atom", 3),
        ("relative-links.xml", 2),
        ("xml-base.atom", 2),
        ("huge.xml", 2_000),
        ("empty-channel.xml", 0),
    ] {
        assert!(
            out.contains(&format!("/{name}: {new} new")),
            "{name}: {new} new in\n{out}"
        );
    }

    for (language, _) in NON_LATIN {
        for shift in 0..7 {
            let name = format!("{language}-{shift}.xml");
            let new = non_latin_items(shift);
            assert!(
                out.contains(&format!("/{name}: {new} new")),
                "{name}: {new} new in\n{out}"
            );
        }
    }
    let stories = app.run(&["--json", "story", "ls"]).await.json();
    let by_url = |url: &str| {
        stories
            .as_array()
            .expect("array")
            .iter()
            .find(|s| s["url"] == url)
            .unwrap_or_else(|| panic!("a story at {url}"))
            .clone()
    };
    let host = base.trim_end_matches("/corpus");
    by_url(&format!("{host}/2026/11/root-relative"));
    by_url(&format!("{base}/posts/document-relative.html"));
    by_url("https://base.example.org/blog/2026/11/first");
    by_url("https://other.example.net/news/second");
    let atom03 = by_url("https://old.example.org/2026/11/one");
    assert_eq!(atom03["published_at"], "2026-11-27T07:00:00+00:00");
    assert_eq!(atom03["updated_at"], "2026-11-27T07:30:00+00:00");
    let escaped = by_url("https://old.example.org/2026/11/two");
    assert_eq!(escaped["title"], "Atom 0.3 entry two");
}
