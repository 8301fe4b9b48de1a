//! `herald serve` in-process on 127.0.0.1:0 with a temporary database and aiosmtpd, driven over
//! real HTTP.

use std::time::Duration;

use chrono::Duration as Age;
use herald::daemon;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::helpers::{smtp_settings, TestApp};
use crate::smtp::RealSmtp;

pub struct Daemon {
    pub app: TestApp,
    pub base: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub http: reqwest::Client,
}

impl Daemon {
    pub async fn start(smtp_port: Option<u16>) -> Self {
        Self::start_with(smtp_port, |_| {}).await
    }

    pub async fn start_with(
        smtp_port: Option<u16>,
        adjust: impl FnOnce(&mut herald::settings::Settings),
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let base_url = base.clone();
        let app = TestApp::spawn_on_system_clock(|s| {
            if let Some(port) = smtp_port {
                smtp_settings(s, port);
            }
            s.web.base_url = base_url.parse().expect("url");
            adjust(s);
        })
        .await;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(daemon::serve(app.app.clone(), listener, stopped));
        herald::feeds::install_tls_provider();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            app,
            base,
            stop,
            task,
            http,
        }
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    pub async fn post(&self, path: &str, form: &str) -> (u16, String, bool) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_string())
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        let cookie = response.headers().contains_key("set-cookie");
        (status, response.text().await.expect("body"), cookie)
    }

    async fn status_of(&self, email: &str) -> String {
        self.app.status_of(email).await
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let result = tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("stops within 10 s");
        result.expect("task").expect("serve returns Ok");
    }
}

fn text_part(raw: &[u8]) -> String {
    let parsed = mailparse::parse_mail(raw).expect("parses");
    parsed.subparts[0].get_body().expect("text")
}

/// The confirmation link in a confirmation mail.
fn confirm_link(raw: &[u8]) -> String {
    text_part(raw)
        .lines()
        .find(|l| l.contains("/confirm/"))
        .expect("confirm link")
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_opt_in_works_end_to_end_by_reading_the_confirmation_mail() {
    let smtp = RealSmtp::start();
    let daemon = Daemon::start(Some(smtp.port)).await;
    daemon.app.add_list("daily").await;

    let (status, form) = daemon.get("/subscribe").await;
    let (posted, answer, _) = daemon
        .post(
            "/subscribe",
            "email=Eve%40Example.org&list=daily&name=%3Cb%3EEve%3C%2Fb%3E",
        )
        .await;

    assert_eq!(status, 200);
    assert!(
        form.contains(&format!(
            "<form method=\"post\" action=\"{}/subscribe\"",
            daemon.base
        )),
        "{form}"
    );
    assert_eq!(posted, 200);
    assert!(answer.contains("Check your inbox"));
    assert_eq!(smtp.wait_for(1, Duration::from_secs(10)), 1);
    assert_eq!(daemon.status_of("eve@example.org").await, "pending");
    let raw = &smtp.messages()[0];
    let parsed = mailparse::parse_mail(raw).expect("parses");
    let html = parsed.subparts[1].get_body().expect("html");
    assert!(
        html.contains("Hello &lt;b&gt;Eve&lt;/b&gt;,"),
        "the name is escaped: {html}"
    );
    assert!(!html.contains("<b>Eve</b>"));
    let link = confirm_link(raw);
    let path = link.trim_start_matches(&daemon.base);

    let (confirmed, page) = daemon.get(path).await;

    assert_eq!(confirmed, 200, "{page}");
    assert!(page.contains("Subscription confirmed"));
    assert_eq!(daemon.status_of("eve@example.org").await, "active");
    let (unknown, _) = daemon
        .get("/confirm/1.1.00000000000000000000000000000000")
        .await;
    assert_eq!(unknown, 404);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_answer_the_same_for_new_and_known_addresses_and_do_not_flood_them() {
    let smtp = RealSmtp::start();
    let daemon = Daemon::start(Some(smtp.port)).await;
    daemon.app.add_list("daily").await;
    daemon.app.add_confirmed("known@example.org", "daily").await;

    let new = daemon
        .post("/subscribe", "email=new%40example.org&list=daily")
        .await;
    let known = daemon
        .post("/subscribe", "email=known%40example.org&list=daily")
        .await;
    let again = daemon
        .post("/subscribe", "email=new%40example.org&list=daily")
        .await;

    assert_eq!((new.0, &new.1), (known.0, &known.1), "identical answers");
    assert_eq!((new.0, &new.1), (again.0, &again.1));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        smtp.recipients(),
        vec!["new@example.org"],
        "one confirmation mail, none to the known address"
    );
    assert_eq!(daemon.status_of("known@example.org").await, "active");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sign_ups_get_the_form_again_with_the_reason_and_floods_are_rate_limited() {
    let daemon = Daemon::start(None).await;
    daemon.app.add_list("daily").await;

    let (malformed, page, _) = daemon
        .post("/subscribe", "email=not-an-address&list=daily")
        .await;
    let (unknown, page2, _) = daemon
        .post("/subscribe", "email=a%40example.org&list=nope")
        .await;
    assert_eq!(malformed, 422);
    assert!(
        page.contains("not-an-address") && page.contains("<form"),
        "{page}"
    );
    assert_eq!(unknown, 422);
    assert!(page2.contains("nope") && page2.contains("<form"), "{page2}");

    let mut statuses = Vec::new();
    for i in 0..herald::web::SIGNUPS_PER_IP {
        statuses.push(
            daemon
                .post(
                    "/subscribe",
                    &format!("email=r{i}%40example.org&list=daily"),
                )
                .await
                .0,
        );
    }
    let (limited, page, _) = daemon
        .post("/subscribe", "email=late%40example.org&list=daily")
        .await;

    assert_eq!(limited, 429);
    assert!(page.contains("Too many sign-ups"));
    assert!(statuses.iter().filter(|s| **s == 200).count() >= herald::web::SIGNUPS_PER_IP - 2);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_unsubscribe_changes_nothing_and_one_click_post_unsubscribes() {
    let daemon = Daemon::start(None).await;
    daemon.app.add_list("daily").await;
    daemon.app.add_confirmed("ann@example.org", "daily").await;
    let (list_id, subscriber_id, secret): (i64, i64, String) =
        sqlx::query_as("SELECT list_id, subscriber_id, unsubscribe_secret FROM subscriptions")
            .fetch_one(&daemon.app.app.pool)
            .await
            .expect("subscription");
    let path = format!(
        "/unsubscribe/{}",
        herald::domain::SubscriptionToken::new(list_id, subscriber_id, &secret)
    );

    let (shown, page) = daemon.get(&path).await;
    assert_eq!(shown, 200);
    assert!(
        page.contains("<button") && page.contains("method=\"post\""),
        "{page}"
    );
    assert_eq!(
        daemon.status_of("ann@example.org").await,
        "active",
        "GET never unsubscribes"
    );

    let (unknown, unknown_page, _) = daemon
        .post(
            &format!(
                "/unsubscribe/{:x}.{:x}.{}",
                list_id,
                subscriber_id,
                "0".repeat(32)
            ),
            "List-Unsubscribe=One-Click",
        )
        .await;
    assert_eq!(
        daemon.status_of("ann@example.org").await,
        "active",
        "a wrong secret changes nothing"
    );

    let (done, done_page, cookie) = daemon.post(&path, "List-Unsubscribe=One-Click").await;
    assert_eq!(done, 200);
    assert!(!cookie, "no cookies");
    assert_eq!(daemon.status_of("ann@example.org").await, "unsubscribed");
    assert_eq!(
        (unknown, unknown_page),
        (done, done_page),
        "the same answer whatever the token"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_archive_shows_editions_without_personal_data_and_metrics_count_them() {
    let daemon = Daemon::start(None).await;
    daemon.app.add_list("daily").await;
    let published = (daemon.app.app.clock.now() - Age::hours(1)).to_rfc3339();
    daemon
        .app
        .run(&[
            "story",
            "add",
            "--url",
            "https://news.example.org/a",
            "--title",
            "Archive headline",
            "--published-at",
            &published,
        ])
        .await
        .ok();
    daemon
        .app
        .run(&[
            "subscriber",
            "add",
            "private.person@example.org",
            "--list",
            "daily",
            "--name",
            "Private Person",
            "--confirmed",
        ])
        .await
        .ok();
    daemon
        .app
        .run(&["digest", "send", "--list", "daily"])
        .await
        .ok();
    let date = daemon.app.app.clock.now().date_naive().to_string();

    let (index, index_page) = daemon.get("/archive/daily").await;
    let (found, edition) = daemon.get(&format!("/archive/daily/{date}")).await;
    let (missing, _) = daemon.get("/archive/daily/1999-01-01").await;
    let (health, _) = daemon.get("/healthz").await;
    let (_, metrics) = daemon.get("/metrics").await;

    assert_eq!(index, 200);
    assert!(index_page.contains(&format!("/archive/daily/{date}")));
    assert_eq!(found, 200);
    assert!(edition.contains("Archive headline"));
    assert!(
        !edition.contains("private.person"),
        "no address in the web copy"
    );
    assert!(
        !edition.contains("Private Person"),
        "no name in the web copy"
    );
    let secret: String = sqlx::query_scalar("SELECT unsubscribe_secret FROM subscriptions")
        .fetch_one(&daemon.app.app.pool)
        .await
        .expect("secret");
    assert!(
        !edition.contains(&secret),
        "no unsubscribe token in the web copy"
    );
    assert_eq!(missing, 404);
    assert_eq!(health, 200);
    for needle in [
        "herald_editions{status=\"sent\"} 1",
        "herald_deliveries{status=\"sent\"} 1",
        "herald_subscribers{list=\"daily\",status=\"active\"} 1",
        "herald_last_successful_send_timestamp_seconds{list=\"daily\"}",
        "# TYPE herald_send_duration_seconds histogram",
    ] {
        assert!(
            metrics.contains(needle),
            "{needle} missing from:\n{metrics}"
        );
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_rate_limit_counts_forwarded_clients() {
    let daemon = Daemon::start_with(None, |s| {
        s.web.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")]
    })
    .await;
    daemon.app.add_list("daily").await;
    let post_from = |client: &'static str, i: usize| {
        daemon
            .http
            .post(format!("{}/subscribe", daemon.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", client)
            .body(format!("email=p{i}%40example.org&list=daily"))
            .send()
    };

    for i in 0..herald::web::SIGNUPS_PER_IP {
        assert_eq!(
            post_from("203.0.113.9", i)
                .await
                .expect("POST")
                .status()
                .as_u16(),
            200
        );
    }
    let limited = post_from("203.0.113.9", 99)
        .await
        .expect("POST")
        .status()
        .as_u16();
    let other = post_from("198.51.100.4", 100)
        .await
        .expect("POST")
        .status()
        .as_u16();

    assert_eq!(limited, 429, "the forwarded client hit its limit");
    assert_eq!(other, 200, "another client behind the same proxy is not");
    let ip: Option<String> = sqlx::query_scalar(
        "SELECT consent_ip FROM subscriptions x JOIN subscribers s ON s.id = x.subscriber_id WHERE s.email = 'p100@example.org'",
    )
    .fetch_one(&daemon.app.app.pool)
    .await
    .expect("consent");
    assert_eq!(
        ip.as_deref(),
        Some("198.51.100.4"),
        "the consent record names the real client"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_up_never_changes_an_unsubscribed_reader_until_they_confirm_again() {
    let smtp = RealSmtp::start();
    let daemon = Daemon::start(Some(smtp.port)).await;
    daemon.app.add_list("daily").await;
    daemon
        .post("/subscribe", "email=eve%40example.org&list=daily")
        .await;
    assert_eq!(smtp.wait_for(1, Duration::from_secs(10)), 1);
    let first_link = confirm_link(&smtp.messages()[0]);
    daemon
        .get(first_link.trim_start_matches(&daemon.base))
        .await;
    daemon
        .app
        .run(&[
            "subscriber",
            "unsubscribe",
            "eve@example.org",
            "--list",
            "daily",
        ])
        .await
        .ok();

    // An hour later, someone else types her address into the form.
    sqlx::query("UPDATE subscriptions SET confirmation_sent_at = confirmation_sent_at - 3600")
        .execute(&daemon.app.app.pool)
        .await
        .expect("an hour passes");
    let (status, _, _) = daemon
        .post("/subscribe", "email=eve%40example.org&list=daily")
        .await;
    let after_form = daemon.status_of("eve@example.org").await;
    let (old_link, _) = daemon
        .get(first_link.trim_start_matches(&daemon.base))
        .await;
    let after_old_link = daemon.status_of("eve@example.org").await;
    assert_eq!(smtp.wait_for(2, Duration::from_secs(10)), 2);
    // Maildir names do not keep arrival order: the new mail is the one with another link.
    let new_link = smtp
        .messages()
        .iter()
        .map(|raw| confirm_link(raw))
        .find(|link| *link != first_link)
        .expect("a second, different confirm link");
    let (confirmed, _) = daemon.get(new_link.trim_start_matches(&daemon.base)).await;

    assert_eq!(status, 200);
    assert_eq!(
        after_form, "unsubscribed",
        "an unconfirmed sign-up changes nothing"
    );
    assert_eq!(old_link, 404, "links from before she left no longer work");
    assert_eq!(after_old_link, "unsubscribed");
    assert_eq!(confirmed, 200);
    assert_eq!(
        daemon.status_of("eve@example.org").await,
        "active",
        "her own confirmation resubscribes her"
    );
    let consent: String = sqlx::query_scalar(
        "SELECT consent_source FROM subscriptions x JOIN subscribers s ON s.id = x.subscriber_id
         WHERE s.email = 'eve@example.org'",
    )
    .fetch_one(&daemon.app.app.pool)
    .await
    .expect("consent");
    assert_eq!(consent, "web");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_request_to_a_confirm_link_confirms_nobody() {
    let smtp = RealSmtp::start();
    let daemon = Daemon::start(Some(smtp.port)).await;
    daemon.app.add_list("daily").await;
    daemon
        .post("/subscribe", "email=eve%40example.org&list=daily")
        .await;
    assert_eq!(smtp.wait_for(1, Duration::from_secs(10)), 1);
    let link = confirm_link(&smtp.messages()[0]);

    let head = daemon.http.head(&link).send().await.expect("HEAD");

    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(
        daemon.status_of("eve@example.org").await,
        "pending",
        "a link scanner's HEAD confirms nobody"
    );
    let (confirmed, _) = daemon.get(link.trim_start_matches(&daemon.base)).await;
    assert_eq!(confirmed, 200);
    assert_eq!(daemon.status_of("eve@example.org").await, "active");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_forbids_framing_sniffing_and_referrers() {
    let daemon = Daemon::start(None).await;
    daemon.app.add_list("daily").await;

    for path in [
        "/subscribe",
        "/unsubscribe/1.1.00",
        "/healthz",
        "/archive/daily",
        "/nowhere",
    ] {
        let response = daemon
            .http
            .get(format!("{}{path}", daemon.base))
            .send()
            .await
            .expect("GET");
        let headers = response.headers();
        for (name, value) in [
            ("x-frame-options", "DENY"),
            ("content-security-policy", "frame-ancestors 'none'"),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
        ] {
            assert_eq!(
                headers.get(name).and_then(|v| v.to_str().ok()),
                Some(value),
                "{path}: {name}"
            );
        }
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_at_a_sub_path_forms_and_archive_links_stay_under_base_url() {
    let daemon = Daemon::start_with(None, |s| {
        s.web.base_url = "https://news.example.org/herald/".parse().expect("url");
    })
    .await;
    daemon.app.add_list("daily").await;

    let (_, form) = daemon.get("/subscribe").await;
    let (_, archive) = daemon.get("/archive/daily").await;

    assert!(
        form.contains("action=\"https://news.example.org/herald/subscribe\""),
        "{form}"
    );
    assert!(
        archive.contains("href=\"https://news.example.org/herald/subscribe\""),
        "{archive}"
    );
    assert!(!form.contains("action=\"/subscribe\""));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_bad_address_is_not_echoed_back_in_full() {
    let daemon = Daemon::start(None).await;
    daemon.app.add_list("daily").await;
    let huge = "a".repeat(1_000_000);

    let (status, page, _) = daemon
        .post("/subscribe", &format!("email={huge}&list=daily"))
        .await;

    assert_eq!(status, 422);
    assert!(page.len() < 20_000, "the page is {} bytes", page.len());
    assert!(page.contains("Please check the address"));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_up_with_bytes_that_are_not_utf8_is_refused_and_stores_nothing() {
    let daemon = Daemon::start(None).await;
    daemon.app.add_list("daily").await;

    let (status, page, _) = daemon
        .post("/subscribe", "email=%ff%fe%40example.org&list=daily")
        .await;
    let (named, _, _) = daemon
        .post(
            "/subscribe",
            "email=eve%40example.org&list=daily&name=%c3%28",
        )
        .await;

    assert_eq!(status, 422);
    assert!(page.contains("not text"), "{page}");
    assert_eq!(named, 422);
    let people: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM subscribers")
        .fetch_one(&daemon.app.app.pool)
        .await
        .expect("count");
    assert_eq!(people, 0);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_feeds_show_in_healthz_and_metrics() {
    let daemon = Daemon::start_with(None, |s| s.feeds.timeout_secs = 1).await;
    let (healthy, body) = daemon.get("/healthz").await;
    assert_eq!((healthy, body.as_str()), (200, "ok\n"));
    daemon
        .app
        .run(&["feed", "add", "http://127.0.0.1:9/unreachable.xml"])
        .await
        .ok();
    let poll = daemon.app.run(&["feed", "poll"]).await;
    assert_eq!(poll.exit_code(), 1);

    let (status, body) = daemon.get("/healthz").await;
    let (_, metrics) = daemon.get("/metrics").await;

    assert_eq!(status, 200, "a failing feed needs a look, not a restart");
    assert!(body.contains("feeds failing: 1"), "{body}");
    assert!(
        metrics.contains("herald_feeds{state=\"failing\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("herald_feeds{state=\"ok\"} 0"),
        "{metrics}"
    );
    daemon.stop().await;
}
