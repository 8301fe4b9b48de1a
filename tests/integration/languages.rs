//! Editions and pages in the list's language, right to left included, with the stories'
//! pictures: snapshots of the digest and of every page in English and Arabic, the daemon
//! serving each list in its language, an Arabic edition through a real SMTP server, and
//! pictures measured over real HTTP when stories arrive.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use herald::digest::template::{Kind, SlotValues};
use herald::digest::{self, RenderedEdition};
use herald::domain::{Language, ListSlug};
use herald::locale::Locale;
use herald::settings::Settings;
use herald::store::lists;
use herald::templates::archive_feed::{self, FeedEntry, FeedView};
use herald::templates::pages::{self, EditionEntry, FormState, ListChoice, Pagination};

use crate::daemon::Daemon;
use crate::helpers::{pinned_now, smtp_settings, TestApp};
use crate::smtp::RealSmtp;

/// Stories as a news site in Amman publishes them: Arabic headlines, one with an English brand
/// name inside, an English headline, pictures with their sizes, a caption and a credit.
fn arabic_stories() -> String {
    let at = |hours: i64| (pinned_now() - Duration::hours(hours)).to_rfc3339();
    serde_json::json!([
        {"url": "https://news.example.jo/budget", "title": "البرلمان يقرّ موازنة 2027 بعد جلسة طويلة",
         "summary": "صوّت النواب بالأغلبية على الموازنة العامة، مع زيادة مخصصات التعليم.\n\nوقال وزير المالية إن العجز سينخفض.",
         "author": "ليلى حداد", "section": "news", "score": 120, "published_at": at(3),
         "image_url": "https://img.example.jo/budget.jpg", "image_width": 1200, "image_height": 675,
         "image_caption": "النواب خلال جلسة التصويت", "image_credit": "رويترز"},
        {"url": "https://news.example.jo/tech", "title": "شركة Apple تفتتح مكتبًا إقليميًا في عمّان",
         "summary": "يضم المكتب 200 موظف.", "section": "news", "score": 60, "published_at": at(4),
         "image_url": "https://img.example.jo/tech.png", "image_width": 800, "image_height": 800},
        {"url": "https://news.example.jo/weather", "title": "Heavy rain expected across Jordan this weekend",
         "section": "news", "score": 30, "published_at": at(5)},
        {"url": "https://blog.example.jo/coffee", "title": "قهوة الصباح: حكاية المدينة", "section": "blog",
         "author": "سامي", "score": 10, "published_at": at(6),
         "image_url": "https://img.example.jo/coffee.jpg"}
    ])
    .to_string()
}

fn english_stories() -> String {
    let at = |hours: i64| (pinned_now() - Duration::hours(hours)).to_rfc3339();
    serde_json::json!([
        {"url": "https://news.example.org/rates", "title": "Central bank holds rates for a fourth month",
         "summary": "The bank kept its main rate at 3.5%.", "author": "Kim Lee", "section": "news",
         "score": 120, "published_at": at(3),
         "image_url": "https://img.example.org/rates.jpg", "image_width": 1600, "image_height": 900,
         "image_caption": "The central bank's headquarters", "image_credit": "Ana Ruiz"},
        {"url": "https://news.example.org/tram", "title": "City council approves the new tram line",
         "section": "news", "score": 45, "published_at": at(5),
         "image_url": "https://img.example.org/tram.jpg", "image_width": 640, "image_height": 480},
        {"url": "https://blog.example.org/servers", "title": "Why we moved our servers back home",
         "section": "blog", "score": 30, "published_at": at(8)}
    ])
    .to_string()
}

async fn newsroom(app: &TestApp, slug: &str, title: &str, language: &str, stories: &str) {
    app.run(&[
        "list",
        "add",
        slug,
        "--title",
        title,
        "--timezone",
        "Asia/Amman",
        "--language",
        language,
        "--thumbnails",
        "on",
    ])
    .await
    .ok();
    let file = app.write_file(&format!("{slug}.json"), stories.as_bytes());
    app.run(&["story", "import", &file]).await.ok();
}

async fn rendered(app: &TestApp, slug: &str) -> RenderedEdition {
    let list = lists::require(&app.app.pool, &ListSlug::parse(slug).expect("slug"))
        .await
        .expect("list");
    let plan = digest::plan(&app.app.pool, list, &app.app.settings, pinned_now())
        .await
        .expect("plan");
    digest::render(
        &plan,
        &app.app.settings,
        &herald::clicks::LinkKey::new(b"test links"),
    )
    .expect("rendered")
}

pub const UNSUBSCRIBE: &str = "https://herald.example.org/unsubscribe/TOKEN";

/// The Arabic and the English fixed editions, with pictures and thumbnails.
pub async fn fixed_editions() -> (RenderedEdition, RenderedEdition) {
    // Stories belong to the site, not to a list: one site per language.
    let arabic_site = TestApp::spawn().await;
    newsroom(
        &arabic_site,
        "sabah",
        "نشرة الصباح",
        "ar",
        &arabic_stories(),
    )
    .await;
    let english_site = TestApp::spawn().await;
    newsroom(
        &english_site,
        "morning",
        "Morning Briefing",
        "en",
        &english_stories(),
    )
    .await;
    (
        rendered(&arabic_site, "sabah").await,
        rendered(&english_site, "morning").await,
    )
}

#[tokio::test]
async fn digests_in_english_and_arabic_with_pictures_render_as_snapshotted() {
    let (arabic, english) = fixed_editions().await;
    let reader = SlotValues {
        name: Some("أحمد"),
        email: "ahmad@example.jo",
        unsubscribe_url: UNSUBSCRIBE,
        click_tag: "",
    };
    let html = arabic.html.fill(Kind::Html, &reader);
    assert!(html.contains(r#"<html lang="ar" dir="rtl""#), "{html}");
    assert!(
        html.contains("السبت 28 تشرين الثاني 2026"),
        "a Levantine date"
    );
    assert!(
        html.contains(r#"width="552" height="310""#),
        "the lead picture, scaled to the column"
    );
    assert!(
        html.contains(r#"alt="البرلمان يقرّ موازنة 2027 بعد جلسة طويلة""#),
        "alt text is the headline"
    );
    assert!(
        html.contains("padding-right: 24px"),
        "thumbnails sit on the right in Arabic"
    );
    insta::assert_snapshot!("arabic_subject", arabic.subject);
    insta::assert_snapshot!("arabic_text", arabic.text.fill(Kind::Text, &reader));
    insta::assert_snapshot!("arabic_html", html.replace("><", ">\n<"));

    let reader = SlotValues {
        name: Some("Ada"),
        email: "ada@example.org",
        unsubscribe_url: UNSUBSCRIBE,
        click_tag: "",
    };
    let html = english.html.fill(Kind::Html, &reader);
    assert!(html.contains(r#"<html lang="en" dir="ltr""#));
    assert!(
        html.contains("The central bank's headquarters Picture: Ana Ruiz"),
        "{html}"
    );
    insta::assert_snapshot!(
        "english_pictures_text",
        english.text.fill(Kind::Text, &reader)
    );
    insta::assert_snapshot!("english_pictures_html", html.replace("><", ">\n<"));
}

fn locale(tag: &str) -> Locale {
    Settings::defaults()
        .locale
        .catalogues
        .locale(&Language::parse(tag).expect("tag"))
}

/// Every page and the confirmation mail of one language, one after the other.
fn all_pages(tag: &str, list_title: &str) -> String {
    page_set(tag, list_title)
        .into_iter()
        .map(|(name, page)| format!("==== {name}\n{}\n", page.replace("><", ">\n<")))
        .collect()
}

/// Every page, the confirmation mail's parts and the archive feed of one language, named.
pub fn page_set(tag: &str, list_title: &str) -> Vec<(&'static str, String)> {
    let settings = Settings::defaults();
    let (brand, web) = (&settings.newsletter, &settings.web);
    let locale = locale(tag);
    let lists = [ListChoice {
        slug: "sabah".into(),
        title: list_title.into(),
    }];
    let two_lists = [
        ListChoice {
            slug: "sabah".into(),
            title: list_title.into(),
        },
        ListChoice {
            slug: "evening".into(),
            title: "Evening".into(),
        },
    ];
    let editions: Vec<EditionEntry> = (0..3)
        .map(|day| EditionEntry {
            date: NaiveDate::from_ymd_opt(2026, 11, 28 - day).expect("date"),
            headline: format!("{list_title}: <{day}> & more"),
            stories: [1, 2, 11][day as usize],
            built_at: Utc.from_utc_datetime(
                &NaiveDate::from_ymd_opt(2026, 11, 28 - day)
                    .and_then(|date| date.and_hms_opt(5, 0, 0))
                    .expect("time"),
            ),
            most_read: (day == 0).then(|| format!("{list_title}: <read> & most")),
        })
        .collect();
    let (subject, text, html) = pages::confirmation_email(
        brand,
        &locale,
        list_title,
        Some("<Ada>"),
        "https://herald.example.org/confirm/T",
    );
    let feed_entries: Vec<FeedEntry> = editions
        .iter()
        .map(|entry| FeedEntry {
            edition: EditionEntry {
                date: entry.date,
                headline: entry.headline.clone(),
                stories: entry.stories,
                built_at: entry.built_at,
                most_read: entry.most_read.clone(),
            },
            url: format!("http://127.0.0.1:8080/archive/sabah/{}", entry.date),
        })
        .collect();
    let feed = archive_feed::render(&FeedView {
        title: list_title,
        newsletter: &brand.name,
        archive_url: "http://127.0.0.1:8080/archive/sabah",
        feed_url: "http://127.0.0.1:8080/archive/sabah/feed.xml",
        locale: &locale,
        editions: &feed_entries,
    })
    .expect("feed");
    let form_error = locale.format("page-subscribe-bad-address", &[("reason", "no @".into())]);
    [
        (
            "subscribe (one list)",
            pages::subscribe_form(brand, web, &locale, &lists, &FormState::default()).into_string(),
        ),
        (
            "subscribe (two lists, an error)",
            pages::subscribe_form(
                brand,
                web,
                &locale,
                &two_lists,
                &FormState {
                    error: Some(&form_error),
                    email: "x",
                    name: "<b>",
                    list: "evening",
                },
            )
            .into_string(),
        ),
        (
            "check inbox",
            pages::message(brand, &locale, "page-check-inbox-title", "page-check-inbox")
                .into_string(),
        ),
        (
            "confirmed",
            pages::message(brand, &locale, "page-confirmed-title", "page-confirmed").into_string(),
        ),
        (
            "link not valid",
            pages::message(
                brand,
                &locale,
                "page-link-invalid-title",
                "page-link-invalid",
            )
            .into_string(),
        ),
        (
            "unsubscribe",
            pages::unsubscribe(brand, &locale, "/unsubscribe/T").into_string(),
        ),
        (
            "unsubscribed",
            pages::message(
                brand,
                &locale,
                "page-unsubscribed-title",
                "page-unsubscribed",
            )
            .into_string(),
        ),
        (
            "not found",
            pages::message(brand, &locale, "page-not-found-title", "page-not-found").into_string(),
        ),
        (
            "archive index, page 2 of 3",
            pages::archive_index(
                brand,
                web,
                &locale,
                &lists[0],
                &editions,
                &Pagination { page: 2, pages: 3 },
            )
            .into_string(),
        ),
        (
            "archive index, empty",
            pages::archive_index(
                brand,
                web,
                &locale,
                &lists[0],
                &[],
                &Pagination { page: 1, pages: 1 },
            )
            .into_string(),
        ),
        ("confirmation mail subject", subject),
        ("confirmation mail text", text),
        ("confirmation mail html", html),
        ("archive feed", feed),
    ]
    .into()
}

#[test]
fn every_page_renders_as_snapshotted_in_english_and_arabic() {
    let english = all_pages("en", "Morning Briefing");
    let arabic = all_pages("ar", "نشرة الصباح");
    assert!(
        english.contains("<p>Hello &lt;Ada&gt;,</p>"),
        "reader input is escaped in HTML"
    );
    assert!(english.contains(r#"value="&lt;b&gt;""#) && !english.contains("<b>"));
    assert!(arabic.contains(r#"<html lang="ar" dir="rtl">"#));
    assert!(
        arabic.contains("\u{2068}11\u{2069} خبرًا") && arabic.contains("خبران"),
        "Arabic plurals of 11 and 2"
    );
    insta::assert_snapshot!("pages_english", english);
    insta::assert_snapshot!("pages_arabic", arabic);
}

/// 25 sent editions of `slug`, one a day up to 28 November, each carrying two stories.
async fn archive_of(app: &TestApp, slug: &str) {
    let list_id: i64 = sqlx::query_scalar("SELECT id FROM lists WHERE slug = $1")
        .bind(slug)
        .fetch_one(&app.app.pool)
        .await
        .expect("list");
    for day in 0..25_i64 {
        let date = NaiveDate::from_ymd_opt(2026, 11, 28).expect("date") - Duration::days(day);
        let built = Utc
            .from_utc_datetime(&date.and_hms_opt(5, 0, 0).expect("time"))
            .timestamp();
        let edition: i64 = sqlx::query_scalar(
            "INSERT INTO editions (list_id, local_date, status, subject, html, text, built_at)
             VALUES ($1, $2, 'sent', 'subject', '<p>edition</p>', 'edition', $3) RETURNING id",
        )
        .bind(list_id)
        .bind(date.to_string())
        .bind(built)
        .fetch_one(&app.app.pool)
        .await
        .expect("edition");
        for position in 0..2_i64 {
            let story: i64 = sqlx::query_scalar(
                "INSERT INTO stories (url, title, section, published_at, score, created_at)
                 VALUES ($1, $2, 'news', $3, 0, $4) RETURNING id",
            )
            .bind(format!("https://news.example.jo/{slug}/{day}/{position}"))
            .bind(format!("عنوان اليوم {day} رقم {position}"))
            .bind(built)
            .bind(built)
            .fetch_one(&app.app.pool)
            .await
            .expect("story");
            sqlx::query(
                "INSERT INTO edition_stories (edition_id, story_id, position) VALUES ($1, $2, $3)",
            )
            .bind(edition)
            .bind(story)
            .bind(position)
            .execute(&app.app.pool)
            .await
            .expect("carried");
        }
    }
}

/// The Arabic list `sabah` (Jordanian Arabic), with no stories yet.
async fn add_sabah(daemon: &Daemon) {
    daemon
        .app
        .run(&[
            "list",
            "add",
            "sabah",
            "--title",
            "نشرة الصباح",
            "--language",
            "ar-JO",
        ])
        .await
        .ok();
}

#[tokio::test]
async fn the_daemon_serves_each_list_in_its_language_with_a_paged_archive_and_a_feed() {
    let daemon = Daemon::start(None).await;
    add_sabah(&daemon).await;
    archive_of(&daemon.app, "sabah").await;

    let (status, form) = daemon.get("/subscribe").await;
    assert_eq!(status, 200);
    assert!(
        form.contains(r#"lang="ar-JO" dir="rtl""#) && form.contains("اشترك"),
        "{form}"
    );
    // With lists in two languages the general form is English; a list's own link is not.
    daemon.app.run(&["list", "add", "morning"]).await.ok();
    let (_, general) = daemon.get("/subscribe").await;
    assert!(general.contains(r#"lang="en" dir="ltr""#), "{general}");
    let (_, own) = daemon.get("/subscribe?list=sabah").await;
    assert!(own.contains(r#"lang="ar-JO" dir="rtl""#), "{own}");
    assert!(own.contains(r#"<option value="sabah" selected>"#), "{own}");
    let (status, refused, _) = daemon
        .post("/subscribe", "email=not-an-address&list=sabah")
        .await;
    assert_eq!(status, 422);
    assert!(refused.contains("يُرجى التحقق من العنوان"), "{refused}");

    let (status, first) = daemon.get("/archive/sabah").await;
    assert_eq!(status, 200);
    assert!(
        first.contains("عنوان اليوم 0 رقم 0"),
        "the newest headline first"
    );
    assert!(first.contains("عنوان اليوم 19 رقم 0") && !first.contains("عنوان اليوم 20 رقم 0"));
    // Numbers inside Arabic text are isolated (U+2068 ... U+2069) by Fluent.
    assert!(
        first.contains("الصفحة \u{2068}1\u{2069} من \u{2068}2\u{2069}"),
        "{first}"
    );
    assert!(first.contains("?page=2"));
    assert!(first.contains("feed.xml"));
    let (status, second) = daemon.get("/archive/sabah?page=2").await;
    assert_eq!(status, 200);
    assert!(second.contains("عنوان اليوم 24 رقم 0") && second.contains("?page=1"));
    assert_eq!(daemon.get("/archive/sabah?page=3").await.0, 404);
    assert_eq!(daemon.get("/archive/sabah?page=x").await.0, 404);
    let (status, missing) = daemon.get("/archive/sabah/1999-01-01").await;
    assert_eq!(status, 404);
    assert!(missing.contains("لا يوجد عدد كهذا"));

    let response = daemon
        .http
        .get(format!("{}/archive/sabah/feed.xml", daemon.base))
        .send()
        .await
        .expect("feed");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("type")
        .starts_with("application/atom+xml"));
    let body = response.bytes().await.expect("body");
    // Read by a feed parser Herald did not write.
    let feed = feed_rs::parser::parse(body.as_ref()).expect("a valid Atom feed");
    assert_eq!(feed.entries.len(), 20);
    assert_eq!(
        feed.entries[0].title.as_ref().expect("title").content,
        "عنوان اليوم 0 رقم 0"
    );
    assert_eq!(
        feed.entries[0].links[0].href,
        format!("{}/archive/sabah/2026-11-28", daemon.base)
    );
    assert!(String::from_utf8_lossy(&body).contains(r#"xml:lang="ar-JO""#));
    assert_eq!(daemon.get("/archive/nope/feed.xml").await.0, 404);
    daemon.stop().await;
}

#[tokio::test]
async fn an_arabic_edition_goes_out_with_a_readable_subject_and_list_id() {
    let server = RealSmtp::start();
    let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;
    newsroom(&app, "sabah", "نشرة الصباح", "ar", &arabic_stories()).await;
    app.add_confirmed("ahmad@example.jo", "sabah").await;
    app.run(&["digest", "send", "--list", "sabah"]).await.ok();

    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let parsed = mailparse::parse_mail(&messages[0]).expect("parses");
    let header = |name: &str| {
        crate::helpers::header(&messages[0], name).unwrap_or_else(|| panic!("no {name}"))
    };
    assert!(
        header("Subject").starts_with("Herald Daily، 28 تشرين الثاني: البرلمان"),
        "{}",
        header("Subject")
    );
    assert!(
        !header("Subject").contains(['\u{2068}', '\u{2069}']),
        "no isolation marks in headers"
    );
    assert_eq!(header("List-Id"), "نشرة الصباح <sabah.example.com>");
    let raw_list_id = String::from_utf8_lossy(&messages[0])
        .lines()
        .find(|l| l.starts_with("List-Id:"))
        .expect("List-Id")
        .to_string();
    assert!(
        raw_list_id.is_ascii() && raw_list_id.contains("=?utf-8?"),
        "encoded words on the wire: {raw_list_id}"
    );
    let html = parsed
        .subparts
        .iter()
        .find(|p| p.ctype.mimetype == "text/html")
        .expect("html")
        .get_body()
        .expect("body");
    assert!(html.contains(r#"dir="rtl""#) && html.contains("مرحبًا"));
    let text = parsed
        .subparts
        .iter()
        .find(|p| p.ctype.mimetype == "text/plain")
        .expect("text")
        .get_body()
        .expect("body");
    assert!(text.contains("إليك أهم أخبار اليوم."), "{text}");
}

#[tokio::test]
async fn list_languages_are_checked_against_the_catalogues() {
    let app = TestApp::spawn().await;
    let refused = app.run(&["list", "add", "news", "--language", "tlh"]).await;
    assert!(
        refused
            .error()
            .contains("no message catalogue for language tlh"),
        "{}",
        refused.error()
    );
    assert!(
        refused.error().contains("ar, de, en, es, fr"),
        "{}",
        refused.error()
    );
    let bad = app
        .run(&["list", "add", "news", "--language", "not a tag"])
        .await;
    assert!(bad.error().contains("invalid language"), "{}", bad.error());
    app.run(&["list", "add", "news", "--language", "ar-EG"])
        .await
        .ok();
    let shown = app.run(&["--json", "list", "show", "news"]).await.json();
    assert_eq!(shown["language"], "ar-EG");
    app.run(&[
        "list",
        "set",
        "news",
        "--language",
        "fr",
        "--thumbnails",
        "on",
    ])
    .await
    .ok();
    let shown = app.run(&["--json", "list", "show", "news"]).await.json();
    assert_eq!(
        (shown["language"].as_str(), shown["thumbnails"].as_bool()),
        (Some("fr"), Some(true))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_address_or_method_gets_a_small_page_in_the_list_s_language() {
    let daemon = Daemon::start(None).await;
    add_sabah(&daemon).await;

    // The only list is Arabic: so is every page that belongs to no list.
    let (status, page) = daemon.get("/no/such/page").await;
    assert_eq!(status, 404);
    assert!(page.contains(r#"lang="ar-JO" dir="rtl""#), "{page}");
    assert!(page.contains("لا توجد صفحة بهذا العنوان"), "{page}");
    let response = daemon
        .http
        .delete(format!("{}/subscribe", daemon.base))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let page = response.text().await.expect("body");
    assert!(page.contains("هذا العنوان لا يقبل"), "{page}");

    // With two lists, an address under a list's archive is in that list's language.
    daemon.app.run(&["list", "add", "morning"]).await.ok();
    let (status, page) = daemon.get("/archive/sabah/2026-01-01/extra").await;
    assert_eq!(status, 404);
    assert!(page.contains("لا توجد صفحة بهذا العنوان"), "{page}");
    let (status, page) = daemon.get("/nothing-here").await;
    assert_eq!(status, 404);
    assert!(page.contains("There is no page at this address."), "{page}");
    daemon.stop().await;
}
