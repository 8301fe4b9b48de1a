//! The edition's layout in a real browser (headless Chromium, as `.ci/screenshot` uses): a
//! headline with a 60-character word and a summary with a 120-character URL, in English and in
//! Arabic, never make the email wider than a phone's or a mail pane's viewport.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::TestApp;

const LONG_WORD: &str =
    "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft";

fn long_url() -> String {
    format!(
        "https://news.example.org/{}",
        "very-long-path-segment-".repeat(5)
    )
}

/// Chromium, which `bash .ci/test` installs (Debian's chromium package).
fn chromium() -> PathBuf {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {name}")])
                .output()
                .ok()?;
            let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
            (found.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
        })
        .unwrap_or_else(|| {
            panic!(
                "no Chromium: run the tests with `bash .ci/test`, which installs Debian's chromium"
            )
        })
}

/// Today's edition of a new list in `language`, as `digest preview` writes its HTML.
async fn edition(
    app: &TestApp,
    slug: &str,
    language: &str,
    headline: &str,
    summary: &str,
) -> PathBuf {
    let added = app
        .run(&[
            "list",
            "add",
            slug,
            "--language",
            language,
            "--thumbnails",
            "on",
        ])
        .await;
    assert_eq!(added.exit_code(), 0, "{}", added.stderr);
    let stories = [
        serde_json::json!({
            "url": format!("https://news.example.org/{slug}/lead"),
            "title": headline, "section": "news", "score": 100, "summary": summary,
        }),
        serde_json::json!({
            "url": format!("https://news.example.org/{slug}/second"),
            "title": format!("{LONG_WORD}{LONG_WORD}"), "section": "news", "score": 50,
            "summary": long_url(),
        }),
    ];
    let lines: Vec<String> = stories.iter().map(|story| story.to_string()).collect();
    let file = app.write_file(&format!("{slug}.jsonl"), lines.join("\n").as_bytes());
    let imported = app.run(&["story", "import", &file]).await;
    assert_eq!(imported.exit_code(), 0, "{}", imported.stderr);
    let out = app.dir.path().join(format!("{slug}.html"));
    let previewed = app
        .run(&[
            "digest",
            "preview",
            "--list",
            slug,
            "--out",
            &out.display().to_string(),
        ])
        .await;
    assert_eq!(previewed.exit_code(), 0, "{}", previewed.stderr);
    out
}

/// The page's scroll width and the viewport's width, measured by Chromium at `width` px. The
/// edition is laid out in a frame of that width (headless Chromium's window is at least 500 px
/// wide) and reports its own widths to the page around it.
fn measured(chromium: &Path, html: &Path, width: u32, profile: &Path) -> (u32, u32) {
    let page = std::fs::read_to_string(html).expect("edition");
    let probe = "<script>parent.postMessage('W:' + document.documentElement.scrollWidth + ':' \
                 + document.documentElement.clientWidth, '*');</script></body>";
    let framed = html.with_extension(format!("{width}.html"));
    std::fs::write(&framed, page.replace("</body>", probe)).expect("write");
    let host = html.with_extension(format!("{width}.host.html"));
    std::fs::write(
        &host,
        format!(
            "<!DOCTYPE html><html><head><title>waiting</title></head><body style=\"margin: 0\">\
             <script>addEventListener('message', event => {{ document.title = event.data; }});</script>\
             <iframe src=\"{}\" width=\"{width}\" height=\"1200\" style=\"border: 0; display: block\"></iframe>\
             </body></html>",
            framed.file_name().expect("name").to_string_lossy()
        ),
    )
    .expect("write");
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--allow-file-access-from-files",
            "--virtual-time-budget=5000",
            "--blink-settings=imagesEnabled=false",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--window-size=800,1400")
        .arg(format!("file://{}", host.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&output.stdout);
    let title = dom
        .split("<title>W:")
        .nth(1)
        .and_then(|rest| rest.split("</title>").next())
        .unwrap_or_else(|| {
            panic!(
                "no measurement in Chromium's DOM: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let (scroll, client) = title.split_once(':').expect("two numbers");
    (
        scroll.parse().expect("scroll width"),
        client.parse().expect("client width"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_words_and_urls_never_widen_the_edition_past_the_viewport() {
    let chromium = chromium();
    let app = TestApp::spawn().await;
    let url = long_url();
    let english = edition(
        &app,
        "daily",
        "en",
        &format!("Shipping giant {LONG_WORD} posts record results"),
        &format!("The filing is at {url} for anyone who wants to read it."),
    )
    .await;
    let arabic = edition(
        &app,
        "sabah",
        "ar",
        &format!("BBC News: شركة {LONG_WORD} تعلن نتائج قياسية"),
        &format!("التقرير الكامل على {url} لمن يريد قراءته."),
    )
    .await;

    for (name, html) in [("English", &english), ("Arabic", &arabic)] {
        for width in [375, 600] {
            let profile = app.dir.path().join(format!("chromium-{name}-{width}"));
            let (scroll, viewport) = tokio::task::spawn_blocking({
                let (chromium, html) = (chromium.clone(), html.clone());
                move || measured(&chromium, &html, width, &profile)
            })
            .await
            .expect("measured");
            assert_eq!(viewport, width, "{name}: the viewport Chromium laid out");
            assert!(
                scroll <= viewport,
                "{name} at {width} px: the edition is {scroll} px wide"
            );
        }
    }
    let arabic = std::fs::read_to_string(&arabic).expect("edition");
    assert!(
        !arabic.contains(r#"dir="auto""#),
        "story text in an Arabic edition takes its direction"
    );
}
