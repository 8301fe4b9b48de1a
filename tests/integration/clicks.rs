//! Counted story links through a real `herald serve` on 127.0.0.1: every link of a sent edition
//! leads to its story, forged ones lead nowhere, machines are counted apart, unique readers
//! are estimated, counts survive a restart, and nothing in the click tables names anyone.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use herald::app::App;
use herald::daemon;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::helpers::TestApp;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

/// `herald serve` on an app's database, stoppable and startable again.
struct Serving {
    base: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Serving {
    async fn start(app: &App) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(daemon::serve(app.clone(), listener, stopped));
        Self { base, stop, task }
    }

    /// Stops it as SIGTERM would: the counts are written on the way out.
    async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("stops within 15 s")
            .expect("task")
            .expect("serve returns Ok");
    }
}

fn client() -> reqwest::Client {
    herald::feeds::install_tls_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A newsroom with three stories and `readers` confirmed readers, its edition sent into the
/// outbox (file transport); links point at `base`.
async fn sent_edition(readers: usize, base_url: &str, on_postgres: bool) -> TestApp {
    let adjust = |s: &mut herald::settings::Settings| {
        s.web.base_url = base_url.parse().expect("url");
    };
    let app = if on_postgres {
        TestApp::spawn_on_postgres(adjust).await
    } else {
        TestApp::spawn_on_system_clock(adjust).await
    };
    app.add_list("daily").await;
    app.add_story("lead", "Central bank holds rates", 1).await;
    app.add_story("tram", "New tram line opens", 2).await;
    app.add_story("derby", "Derby ends in a draw", 3).await;
    let emails: Vec<String> = (0..readers)
        .map(|reader| format!("reader{reader}@example.org"))
        .collect();
    app.import_confirmed("daily", &emails).await;
    app.run(&["digest", "send", "--list", "daily"]).await.ok();
    app
}

/// Each message in the outbox: the counted links of its text part, and of its HTML part.
fn messages(app: &TestApp) -> Vec<(Vec<String>, Vec<String>)> {
    let outbox = &app.app.settings.transport.outbox_dir;
    let mut out = Vec::new();
    for entry in std::fs::read_dir(outbox).expect("outbox") {
        let raw = std::fs::read(entry.expect("entry").path()).expect("eml");
        let parsed = mailparse::parse_mail(&raw).expect("parses");
        let text = parsed.subparts[0].get_body().expect("text");
        let html = parsed.subparts[1].get_body().expect("html");
        let text_links = text
            .lines()
            .map(str::trim)
            .filter(|line| line.contains("/r/"))
            .map(str::to_string)
            .collect();
        let html_links = html
            .split("href=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|href| href.contains("/r/"))
            .map(|href| href.replace("&amp;", "&"))
            .collect();
        out.push((text_links, html_links));
    }
    out
}

async fn page(url: String) -> String {
    client()
        .get(url)
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("page")
}

fn path_of(link: &str) -> String {
    let at = link.find("/r/").expect("a counted link");
    link[at..].to_string()
}

async fn stats(app: &TestApp) -> serde_json::Value {
    let stats = app
        .run(&["--json", "digest", "stats", "--list", "daily"])
        .await
        .json();
    stats[0].clone()
}

#[tokio::test]
async fn every_link_of_a_sent_edition_leads_to_its_story_and_machines_are_counted_apart() {
    let app = sent_edition(2, "https://news-mail.example", false).await;
    let serving = Serving::start(&app.app).await;
    let http = client();
    let stories: BTreeSet<String> = ["lead", "tram", "derby"]
        .iter()
        .map(|path| format!("https://news.example.org/{path}"))
        .collect();

    let messages = messages(&app);
    assert_eq!(messages.len(), 2);
    let (text_links, html_links) = &messages[0];
    assert_eq!(text_links.len(), 3, "one link per story in the text part");
    assert!(
        html_links.len() >= 6,
        "headline and read-more: {html_links:?}"
    );
    assert!(
        text_links
            .iter()
            .all(|link| link.starts_with("https://news-mail.example/r/")),
        "{text_links:?}"
    );
    // Every link answers 302 to a stored story, nowhere else (checked with HEAD: filtered).
    let mut reached = BTreeSet::new();
    for link in text_links.iter().chain(html_links) {
        let response = http
            .head(format!("{}{}", serving.base, path_of(link)))
            .header("user-agent", FIREFOX)
            .send()
            .await
            .expect("HEAD");
        assert_eq!(response.status().as_u16(), 302, "{link}");
        let location = response.headers()["location"].to_str().expect("ascii");
        assert!(stories.contains(location), "{location}");
        reached.insert(location.to_string());
    }
    assert_eq!(reached, stories);
    let heads = (text_links.len() + html_links.len()) as i64;

    let lead = path_of(&text_links[0]);
    let get = |base: &str, path: String, headers: Vec<(&'static str, &'static str)>| {
        let mut request = http.get(format!("{base}{path}"));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let read = get(&serving.base, lead.clone(), vec![("user-agent", FIREFOX)])
        .await
        .expect("GET");
    assert_eq!(read.status().as_u16(), 302);
    assert_eq!(read.headers()["cache-control"], "no-store");
    let prefetch = get(
        &serving.base,
        lead.clone(),
        vec![("user-agent", FIREFOX), ("sec-purpose", "prefetch")],
    )
    .await
    .expect("GET");
    assert_eq!(prefetch.status().as_u16(), 302);
    let scanner = get(
        &serving.base,
        lead.clone(),
        vec![("user-agent", "Mozilla/5.0 (compatible; BingPreview/1.0b)")],
    )
    .await
    .expect("GET");
    assert_eq!(scanner.status().as_u16(), 302);

    // Forged or altered: 404, never a redirect, never counted.
    let (link_part, tag_part) = lead["/r/".len()..].split_once('/').expect("tagged");
    let flip = |part: &str| {
        let mut bytes = part.as_bytes().to_vec();
        bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).expect("ascii")
    };
    for forged in [
        format!("/r/{}/{tag_part}", flip(link_part)),
        format!("/r/{link_part}/{}", flip(tag_part)),
        "/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string(),
        "/r/https%3A%2F%2Fevil.example".to_string(),
    ] {
        let response = get(&serving.base, forged.clone(), vec![("user-agent", FIREFOX)])
            .await
            .expect("GET");
        assert_eq!(response.status().as_u16(), 404, "{forged}");
        assert!(response.headers().get("location").is_none());
        let page = response.text().await.expect("page");
        assert!(page.contains("does not lead to a story"), "{page}");
    }
    // The web copy's links carry no tag and count under "archive".
    let date = stats(&app).await["date"]
        .as_str()
        .expect("date")
        .to_string();
    let archive = page(format!("{}/archive/daily/{date}", serving.base)).await;
    let web_link = archive
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.contains("/r/"))
        .expect("a counted link on the archive page")
        .to_string();
    assert_eq!(
        path_of(&web_link).matches('/').count(),
        2,
        "no tag: {web_link}"
    );
    let web = get(
        &serving.base,
        path_of(&web_link),
        vec![("user-agent", FIREFOX)],
    )
    .await
    .expect("GET");
    assert_eq!(web.status().as_u16(), 302);

    serving.stop().await;
    let edition = stats(&app).await;
    assert_eq!(edition["delivered"], 2);
    assert_eq!(edition["clicks"], 2, "{edition}");
    assert_eq!(edition["filtered"], heads + 2, "{edition}");
    assert_eq!(edition["unique_clickers"], 1, "{edition}");
    let lead_story = &edition["stories"][0];
    assert_eq!(lead_story["url"], "https://news.example.org/lead");
    assert_eq!(lead_story["places"]["lead"], 1, "{lead_story}");

    // A restart keeps what was counted, and counts on top of it.
    let serving = Serving::start(&app.app).await;
    let again = get(&serving.base, lead.clone(), vec![("user-agent", FIREFOX)])
        .await
        .expect("GET");
    assert_eq!(again.status().as_u16(), 302);
    serving.stop().await;
    let edition = stats(&app).await;
    assert_eq!(edition["clicks"], 3, "{edition}");
    assert_eq!(edition["unique_clickers"], 1, "the same message: {edition}");
    let metrics_base = Serving::start(&app.app).await;
    let metrics = page(format!("{}/metrics", metrics_base.base)).await;
    assert!(
        metrics.contains("herald_clicks_total{verdict=\"read\"} 0"),
        "{metrics}"
    );
    metrics_base.stop().await;
}

/// Clicks `clicks` times in all, spread over the messages, each message on one link only (a
/// reader, not a scanner's burst).
async fn click_messages(base: &str, links: &[String], clicks: usize) {
    let http = client();
    let mut requests = Vec::new();
    for index in 0..clicks {
        let link = &links[index % links.len()];
        requests.push(
            http.get(format!("{base}{}", path_of(link)))
                .header("user-agent", FIREFOX)
                .send(),
        );
    }
    for chunk in futures_util::future::join_all(requests).await {
        assert_eq!(chunk.expect("GET").status().as_u16(), 302);
    }
}

#[tokio::test]
async fn a_thousand_clicks_from_three_hundred_messages_count_a_thousand_and_about_three_hundred_readers(
) {
    let app = sent_edition(300, "http://127.0.0.1:1", false).await;
    let leads: Vec<String> = messages(&app)
        .into_iter()
        .map(|(text, _)| text[0].clone())
        .collect();
    assert_eq!(leads.len(), 300);
    let serving = Serving::start(&app.app).await;
    click_messages(&serving.base, &leads, 1_000).await;
    serving.stop().await;
    // The archive names the story read most, once the counts are written.
    let serving = Serving::start(&app.app).await;
    let index = page(format!("{}/archive/daily", serving.base)).await;
    serving.stop().await;
    assert!(
        index.contains("Most read: \u{2068}Central bank holds rates\u{2069}")
            || index.contains("Most read: Central bank holds rates"),
        "{index}"
    );
    let edition = stats(&app).await;
    assert_eq!(edition["clicks"], 1_000, "{edition}");
    assert_eq!(edition["filtered"], 0, "{edition}");
    let unique = edition["unique_clickers"].as_f64().expect("a number");
    assert!((unique - 300.0).abs() <= 15.0, "{edition}");
    let lead = &edition["stories"][0];
    assert!((lead["unique_clickers"].as_f64().expect("n") - 300.0).abs() <= 15.0);
    let rate = edition["click_rate"].as_f64().expect("a rate");
    assert!((rate - 1.0).abs() <= 0.05, "{rate}");

    // `story stats` shows the same story across editions.
    let story = app
        .run(&["--json", "story", "stats", "https://news.example.org/lead"])
        .await
        .json();
    assert_eq!(story[0]["clicks"], 1_000, "{story}");
}

#[tokio::test]
async fn a_message_whose_every_story_is_fetched_at_once_on_arrival_is_a_scanner() {
    let app = sent_edition(2, "http://127.0.0.1:1", false).await;
    let messages = messages(&app);
    let serving = Serving::start(&app.app).await;
    // The first message: all three stories within a second, as a link scanner does.
    click_messages(&serving.base, &messages[0].0, 3).await;
    // The second: one story, twice.
    click_messages(&serving.base, &messages[1].0[..1], 2).await;
    serving.stop().await;
    let edition = stats(&app).await;
    assert_eq!(edition["clicks"], 2, "{edition}");
    assert_eq!(edition["filtered"], 3, "{edition}");
    assert_eq!(edition["unique_clickers"], 1, "{edition}");
}

#[tokio::test]
async fn the_click_tables_hold_no_reader_and_forgetting_one_finds_nothing_to_erase() {
    let app = sent_edition(3, "http://127.0.0.1:1", false).await;
    let messages = messages(&app);
    let serving = Serving::start(&app.app).await;
    for (text, _) in &messages {
        click_messages(&serving.base, &text[..1], 1).await;
    }
    serving.stop().await;
    assert_eq!(stats(&app).await["clicks"], 3);

    let readers: Vec<(i64, String)> = sqlx::query_as("SELECT id, email FROM subscribers")
        .fetch_all(&app.app.pool)
        .await
        .expect("readers");
    let allowed: HashMap<&str, &[&str]> = HashMap::from([
        (
            "story_clicks",
            &["edition_id", "story_id", "place", "clicks", "filtered"][..],
        ),
        (
            "click_sketches",
            &["edition_id", "story_id", "registers"][..],
        ),
    ]);
    let mut before = Vec::new();
    for (table, columns) in &allowed {
        let rows = table_rows(&app, table).await;
        assert!(!rows.is_empty(), "{table} is empty");
        for row in &rows {
            let names: Vec<&str> = row.keys().map(String::as_str).collect();
            assert_eq!(
                names.iter().copied().collect::<BTreeSet<_>>(),
                columns.iter().copied().collect::<BTreeSet<_>>(),
                "{table} has exactly its count columns"
            );
            for value in row.values() {
                assert!(
                    !value.contains("example.org"),
                    "an address in {table}: {value}"
                );
                assert!(!value.contains("127.0.0.1"), "an IP in {table}: {value}");
                assert!(
                    !value.contains("Mozilla"),
                    "a user agent in {table}: {value}"
                );
            }
            // No reader id where a story or edition id is: the only ids are those.
            let story_id = row["story_id"].parse::<i64>().expect("id");
            let edition_id = row["edition_id"].parse::<i64>().expect("id");
            assert!(story_id == 0 || story_id <= 3, "{row:?}");
            assert_eq!(edition_id, 1);
        }
        before.push(rows);
    }
    assert_eq!(readers.len(), 3);
    app.run(&["subscriber", "forget", "reader0@example.org"])
        .await
        .ok();
    let mut after = Vec::new();
    for table in allowed.keys() {
        after.push(table_rows(&app, table).await);
    }
    assert_eq!(before, after, "nothing about the reader was there to erase");
}

/// Every row of a table as column name -> value (blobs as hex).
async fn table_rows(app: &TestApp, table: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    use sqlx::{Column, Row, ValueRef};
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM {table} ORDER BY 1, 2"
    )))
    .fetch_all(&app.app.pool)
    .await
    .expect("rows");
    rows.iter()
        .map(|row| {
            row.columns()
                .iter()
                .map(|column| {
                    let index = column.ordinal();
                    let value = if row.try_get_raw(index).is_ok_and(|raw| raw.is_null()) {
                        "NULL".to_string()
                    } else if let Ok(number) = row.try_get::<i64, _>(index) {
                        number.to_string()
                    } else if let Ok(text) = row.try_get::<String, _>(index) {
                        text
                    } else {
                        let bytes: Vec<u8> = row.try_get(index).expect("a blob");
                        bytes.iter().map(|b| format!("{b:02x}")).collect()
                    };
                    (column.name().to_string(), value)
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn a_story_readers_clicked_yesterday_outranks_an_equal_one_they_did_not() {
    use herald::store::clicks::{Batch, Tally, TallyKey};
    let app = TestApp::spawn().await;
    app.add_list("morning").await;
    app.add_list("evening").await;
    // Equal in all but id: unclicked, the newer id (the tram) would lead.
    app.add_story("lead", "Central bank holds rates", 2).await;
    app.add_story("tram", "New tram line opens", 2).await;
    let morning = herald::store::lists::require(
        &app.app.pool,
        &herald::domain::ListSlug::parse("morning").expect("slug"),
    )
    .await
    .expect("list");
    let built = herald::digest::build_edition(
        &app.app.pool,
        &app.app.settings,
        &morning,
        app.app.clock.now(),
    )
    .await
    .expect("built");
    let evening_plan = |app: &TestApp| {
        let pool = app.app.pool.clone();
        let settings = app.app.settings.clone();
        let now = app.app.clock.now();
        async move {
            let list = herald::store::lists::require(
                &pool,
                &herald::domain::ListSlug::parse("evening").expect("slug"),
            )
            .await
            .expect("list");
            let plan = herald::digest::plan(&pool, list, &settings, now)
                .await
                .expect("plan");
            plan.sections[0]
                .stories
                .iter()
                .map(|story| story.url.rsplit('/').next().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(evening_plan(&app).await, ["tram", "lead"]);

    let lead_id: i64 = sqlx::query_scalar("SELECT id FROM stories WHERE url LIKE '%/lead'")
        .fetch_one(&app.app.pool)
        .await
        .expect("id");
    let mut batch = Batch::default();
    batch.tallies.insert(
        TallyKey {
            edition_id: built.edition_id(),
            story_id: lead_id,
            place: herald::domain::LinkPlace::Lead,
        },
        Tally {
            clicks: 3,
            filtered: 50,
        },
    );
    herald::store::clicks::add(&app.app.pool, &batch)
        .await
        .expect("counted");
    assert_eq!(evening_plan(&app).await, ["lead", "tram"]);
}

#[tokio::test]
async fn two_nodes_on_postgresql_count_into_the_same_rows() {
    let app = sent_edition(100, "http://127.0.0.1:1", true).await;
    let mut second_settings = app.app.settings.clone();
    second_settings.database.node = "second-node".into();
    let second = App::build(second_settings).await.expect("second node");
    let leads: Vec<String> = messages(&app)
        .into_iter()
        .map(|(text, _)| text[0].clone())
        .collect();
    let first_node = Serving::start(&app.app).await;
    let second_node = Serving::start(&second).await;
    click_messages(&first_node.base, &leads[..60], 60).await;
    click_messages(&second_node.base, &leads[40..], 60).await;
    // Both write at once on the way out, into the same rows.
    tokio::join!(first_node.stop(), second_node.stop());
    let edition = stats(&app).await;
    assert_eq!(edition["clicks"], 120, "{edition}");
    let unique = edition["unique_clickers"].as_f64().expect("a number");
    assert!((unique - 100.0).abs() <= 5.0, "{edition}");
}
