//! Stories' pictures: found in feeds (Media RSS, enclosures, the item's HTML) and measured over
//! real HTTP (Python's http.server) from their first bytes when a story arrives, never at send
//! time.

use std::process::{Child, Command, Stdio};

use herald::domain::{ImageSize, Section};

use crate::helpers::{free_port, wait_for_listener, TestApp};
use crate::smtp::python;

/// A PNG's signature and header chunk: all a reader of its size needs.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    // The rest of a real file, which is never read.
    bytes.extend(std::iter::repeat_n(0_u8, 200_000));
    bytes
}

struct PictureServer {
    child: Child,
    port: u16,
}

impl PictureServer {
    fn start(dir: &std::path::Path) -> Self {
        let port = free_port();
        let log = dir.join("http.log");
        let child = Command::new(python())
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("python http.server starts");
        wait_for_listener(port, "http.server", &log);
        Self { child, port }
    }

    fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for PictureServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn pictures_are_measured_from_their_first_bytes_when_stories_arrive() {
    let app = TestApp::spawn_with(|s| s.feeds.allow_private_pictures = true).await;
    let served = app.dir.path().join("served");
    std::fs::create_dir(&served).expect("dir");
    std::fs::write(served.join("lead.png"), png_header(1600, 900)).expect("png");
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&[0x40, 0x01, 0xf0, 0x00]); // 320 x 240, little-endian
    gif.extend(std::iter::repeat_n(0_u8, 1_000));
    std::fs::write(served.join("thumb.gif"), gif).expect("gif");
    std::fs::write(served.join("page.html"), "<html>not a picture</html>").expect("html");
    let server = PictureServer::start(&served);

    for (path, picture) in [
        ("a", "lead.png"),
        ("b", "thumb.gif"),
        ("c", "page.html"),
        ("d", "missing.png"),
    ] {
        add_pictured(&app, path, &server.url(picture)).await;
    }
    assert_eq!(
        picture_size(&app, "a").await,
        serde_json::json!({"width": 1600, "height": 900})
    );
    assert_eq!(
        picture_size(&app, "b").await,
        serde_json::json!({"width": 320, "height": 240})
    );
    assert!(
        picture_size(&app, "c").await.is_null(),
        "an HTML page is not a picture"
    );
    assert!(
        picture_size(&app, "d").await.is_null(),
        "a 404 is not measured"
    );
    let checked: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM stories WHERE image_checked_at IS NOT NULL")
            .fetch_one(&app.app.pool)
            .await
            .expect("count");
    assert_eq!(checked, 4, "each picture is tried once, not at every send");

    // A new picture for a story forgets what was known of the old one and is measured anew.
    add_pictured(&app, "a", &server.url("thumb.gif")).await;
    assert_eq!(
        picture_size(&app, "a").await,
        serde_json::json!({"width": 320, "height": 240})
    );
}

/// Picture addresses come from whoever writes a feed: by default Herald fetches none on its own
/// host or network, whether the URL names the address or a name that resolves to it, and the
/// story keeps its picture, shown without a size.
#[tokio::test]
async fn pictures_at_private_addresses_are_not_fetched() {
    let app = TestApp::spawn().await;
    let served = app.dir.path().join("served");
    std::fs::create_dir(&served).expect("dir");
    std::fs::write(served.join("lead.png"), png_header(1600, 900)).expect("png");
    let server = PictureServer::start(&served);
    let by_name = server.url("lead.png").replace("127.0.0.1", "localhost");
    add_pictured(&app, "literal", &server.url("lead.png")).await;
    add_pictured(&app, "named", &by_name).await;

    assert!(picture_size(&app, "literal").await.is_null());
    assert!(picture_size(&app, "named").await.is_null());
    let log = std::fs::read_to_string(served.join("http.log")).expect("log");
    assert!(!log.contains("GET"), "the picture server was asked: {log}");
    let pictures: Vec<String> = sqlx::query_scalar("SELECT image_url FROM stories ORDER BY url")
        .fetch_all(&app.app.pool)
        .await
        .expect("pictures");
    assert_eq!(pictures, vec![server.url("lead.png"), by_name]);
}

/// `story add` of `https://news.example.org/PATH` with the picture at `picture`.
async fn add_pictured(app: &TestApp, path: &str, picture: &str) {
    app.run(&[
        "story",
        "add",
        "--url",
        &format!("https://news.example.org/{path}"),
        "--title",
        path,
        "--image-url",
        picture,
    ])
    .await
    .ok();
}

/// The `image_size` that `story ls --json` shows for the story at PATH (null: not measured).
async fn picture_size(app: &TestApp, path: &str) -> serde_json::Value {
    image_size_in(&app.run(&["--json", "story", "ls"]).await.json(), path)
}

/// The `image_size` of the story at `https://news.example.org/PATH` in `story ls --json`.
fn image_size_in(stories: &serde_json::Value, path: &str) -> serde_json::Value {
    let url = format!("https://news.example.org/{path}");
    stories
        .as_array()
        .expect("array")
        .iter()
        .find(|story| story["url"] == url.as_str())
        .unwrap_or_else(|| panic!("no story {url}"))["image_size"]
        .clone()
}

#[test]
fn feeds_give_pictures_with_their_size_caption_and_credit() {
    let feed = r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Site</title><link>https://news.example.org/</link>
  <item><title>Media RSS</title><link>https://news.example.org/1</link>
    <media:content url="https://img.example.org/1.jpg" type="image/jpeg" width="1200" height="800">
      <media:description>Flooded streets in the old town</media:description>
      <media:credit>Ana Ruiz / Reuters</media:credit>
    </media:content></item>
  <item><title>Enclosure</title><link>https://news.example.org/2</link>
    <enclosure url="https://img.example.org/2.png" type="image/png" length="1234"/></item>
  <item><title>Podcast</title><link>https://news.example.org/3</link>
    <enclosure url="https://cdn.example.org/3.mp3" type="audio/mpeg" length="1234"/></item>
  <item><title>In the HTML</title><link>https://news.example.org/4</link>
    <content:encoded><![CDATA[<p>Text</p><img src="https://img.example.org/4.webp" width="640" height="360" alt="A tram">]]></content:encoded></item>
  <item><title>Not http</title><link>https://news.example.org/5</link>
    <description><![CDATA[<img src="javascript:alert(1)">]]></description></item>
</channel></rss>"#;
    let (stories, _) =
        herald::feeds::parse(feed.as_bytes(), None, &Section::default()).expect("parses");
    let picture = |index: usize| stories[index].image.clone();
    let first = picture(0).expect("media:content");
    assert_eq!(first.url.as_str(), "https://img.example.org/1.jpg");
    assert_eq!(first.size, ImageSize::new(1200, 800));
    assert_eq!(
        first.caption.as_deref(),
        Some("Flooded streets in the old town")
    );
    assert_eq!(first.credit.as_deref(), Some("Ana Ruiz / Reuters"));
    let second = picture(1).expect("enclosure");
    assert_eq!(
        (second.url.as_str(), second.size),
        ("https://img.example.org/2.png", None)
    );
    assert!(picture(2).is_none(), "audio is not a picture");
    let fourth = picture(3).expect("img in the HTML");
    assert_eq!(
        (fourth.url.as_str(), fourth.size),
        ("https://img.example.org/4.webp", ImageSize::new(640, 360))
    );
    assert!(picture(4).is_none(), "only http(s) pictures");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pictures_from_the_story_api_are_measured_after_the_answer() {
    let token = "0123456789abcdef0123456789abcdef";
    let daemon = crate::daemon::Daemon::start_with(None, |s| {
        s.api.token = herald::settings::SecretSetting::from_value("api.token", token);
        s.feeds.allow_private_pictures = true;
    })
    .await;
    let served = daemon.app.dir.path().join("served");
    std::fs::create_dir(&served).expect("dir");
    std::fs::write(served.join("lead.png"), png_header(1200, 675)).expect("png");
    let server = PictureServer::start(&served);
    let stories: Vec<serde_json::Value> = (0..5)
        .map(|i| {
            serde_json::json!({"url": format!("https://news.example.org/{i}"), "title": format!("Story {i}"),
                               "image_url": server.url("lead.png")})
        })
        .collect();
    // Several requests at once: one worker measures, whatever their number.
    let mut requests = Vec::new();
    for story in stories {
        let request = daemon
            .http
            .put(format!("{}/api/stories", daemon.base))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(story.to_string())
            .send();
        requests.push(request);
    }
    for response in futures_util::future::join_all(requests).await {
        assert_eq!(response.expect("PUT").status(), 200);
    }
    let started = std::time::Instant::now();
    loop {
        let measured: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM stories WHERE image_width = 1200 AND image_height = 675",
        )
        .fetch_one(&daemon.app.app.pool)
        .await
        .expect("count");
        if measured == 5 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{measured} of 5 measured"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    daemon.stop().await;
}

/// An HTTP proxy that answers every request with a picture and remembers what it was asked.
async fn picture_proxy() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::http::Uri;
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = asked.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let recorded = recorded.clone();
        async move {
            recorded.lock().expect("lock").push(uri.to_string());
            ([("content-type", "image/png")], png_header(640, 480))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, asked)
}

/// `story add` with a picture, by the binary with `env`; the picture's size afterwards.
async fn added_with(dir: &std::path::Path, env: &[(&str, &str)], path: &str) -> serde_json::Value {
    let database = format!("sqlite://{}", dir.join("herald.db").display());
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
    command
        .current_dir(dir)
        .args(["--database", &database, "story", "add", "--title", path])
        .arg("--url")
        .arg(format!("https://news.example.org/{path}"))
        .arg("--image-url")
        .arg("http://intranet-wiki.corp.example/admin/export.png");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("joined")
        .expect("herald runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed = Command::new(env!("CARGO_BIN_EXE_herald"))
        .current_dir(dir)
        .args(["--json", "--database", &database, "story", "ls"])
        .output()
        .expect("story ls");
    let stories: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    image_size_in(&stories, path)
}

/// A proxy in the environment (`HTTP_PROXY`, common in a unit's environment) is never asked
/// for a picture: it would resolve an internal name out of reach of the address check. A
/// proxy named in `feeds.picture_proxy` is used, for names only where private is allowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pictures_never_go_through_a_proxy_from_the_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let init = Command::new(env!("CARGO_BIN_EXE_herald"))
        .current_dir(dir.path())
        .args(["--database", "herald.db", "init"])
        .output()
        .expect("init");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let (proxy, asked) = picture_proxy().await;

    let environment = [
        ("HTTP_PROXY", proxy.as_str()),
        ("http_proxy", proxy.as_str()),
        ("HTTPS_PROXY", proxy.as_str()),
        ("ALL_PROXY", proxy.as_str()),
    ];
    assert!(added_with(dir.path(), &environment, "environment")
        .await
        .is_null());
    assert!(asked.lock().expect("lock").is_empty(), "{:?}", asked.lock());

    let named = [("HERALD__FEEDS__PICTURE_PROXY", proxy.as_str())];
    assert!(added_with(dir.path(), &named, "named").await.is_null());
    assert!(
        asked.lock().expect("lock").is_empty(),
        "a name is not sent to the proxy unless private pictures are allowed: {:?}",
        asked.lock()
    );

    let allowed = [
        ("HERALD__FEEDS__PICTURE_PROXY", proxy.as_str()),
        ("HERALD__FEEDS__ALLOW_PRIVATE_PICTURES", "true"),
    ];
    assert_eq!(
        added_with(dir.path(), &allowed, "allowed").await,
        serde_json::json!({"width": 640, "height": 480})
    );
    assert_eq!(
        *asked.lock().expect("lock"),
        ["http://intranet-wiki.corp.example/admin/export.png"]
    );
}
