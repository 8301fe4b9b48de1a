//! Ingesting delivery status notifications: 100,000 Postfix-style DSNs (unless
//! HERALD_BENCH_REPORTS says otherwise), one per reader of a 100,000-reader list, written to a
//! Maildir and read by the daemon's Maildir reader; then 1,000 of them piped one process each
//! into `herald bounce ingest`, as Postfix's pipe(8) does, beside the cost of starting 1,000
//! processes that do nothing (`true`) as the reference. Run: `cargo bench --bench bounces`.

use std::process::{Command, Stdio};
use std::time::Instant;

use herald::bounces::maildir::Maildir;
use herald::bounces::verp::{ReaderTag, Tag};
use herald::bounces::Mailbox;
use herald::clock;
use herald::settings::Settings;
use herald::App;

const PIPED: usize = 1_000;

fn dsn(verp: &str, recipient: &str, status: &str, action: &str, id: usize) -> String {
    format!(
        "Return-Path: <>\r\nDelivered-To: {verp}\r\nFrom: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n\
Subject: Undelivered Mail Returned to Sender\r\nTo: {verp}\r\nAuto-Submitted: auto-replied\r\n\
MIME-Version: 1.0\r\nMessage-Id: <{id}.dsn@mx.example.net>\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b{id}\"\r\n\r\n\
--b{id}\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not be delivered.\r\n\r\n\
--b{id}\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n\
Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n\
Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected\r\n\r\n\
--b{id}\r\nContent-Type: text/rfc822-headers\r\n\r\nReturn-Path: <{verp}>\r\nFrom: Bench <news@example.org>\r\n\
To: {recipient}\r\nSubject: Bench Daily\r\n\r\n--b{id}--\r\n"
    )
}

fn main() -> anyhow::Result<()> {
    let reports: usize = std::env::var("HERALD_BENCH_REPORTS")
        .ok()
        .and_then(|raw| raw.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let database = dir.path().join("bench.db").display().to_string();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut settings = Settings::defaults();
        settings.database.url = database.clone();
        settings.bounces.domain = Some("bounce.example.org".into());
        let app = App::build_with_clock(settings, clock::system()).await?;
        sqlx::query("INSERT INTO lists (slug, title, schedule, timezone, max_stories, created_at, updated_at) VALUES ('bench', 'Bench', '0 7 * * *', 'UTC', 10, 0, 0)")
            .execute(&app.pool)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {reports})
             INSERT INTO subscribers (id, email, created_at)
             SELECT i, 'reader' || i || '@example-' || (i % 97) || '.org', 0 FROM n"
        )))
        .execute(&app.pool)
        .await?;
        sqlx::query(
            "INSERT INTO subscriptions (list_id, subscriber_id, status, consent_source, consent_at, updated_at, unsubscribe_secret)
             SELECT 1, id, 'active', 'cli', 0, 0, 'secret-' || id FROM subscribers",
        )
        .execute(&app.pool)
        .await?;
        // The edition the reports are about: a tag names a reader through it.
        sqlx::query(
            "INSERT INTO editions (id, list_id, local_date, status, built_at) VALUES (1, 1, '2026-12-01', 'sent', 0)",
        )
        .execute(&app.pool)
        .await?;
        let verp = herald::bounces::verp(&app).await?.expect("VERP on");

        let maildir = dir.path().join("bounces");
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub))?;
        }
        let mut piped = Vec::with_capacity(PIPED);
        for i in 1..=reports {
            let secret = format!("secret-{i}");
            let address = verp.address(ReaderTag {
                tag: Tag::Delivery { edition_id: 1, subscriber_id: i as i64 },
                reader_secret: &secret,
            });
            let recipient = format!("reader{i}@example-{}.org", i % 97);
            let (status, action) = match i % 10 {
                0 => ("4.4.7", "delayed"),
                1 | 2 => ("4.2.2", "failed"),
                _ => ("5.1.1", "failed"),
            };
            let message = dsn(&address, &recipient, status, action, i);
            if piped.len() < PIPED {
                piped.push(dsn(&address, &recipient, status, action, reports + i));
            }
            std::fs::write(maildir.join("new").join(format!("{i}.dsn")), message)?;
        }
        println!("wrote {reports} DSNs into a Maildir");

        let started = Instant::now();
        let poll = Maildir::new(maildir.clone()).poll(&app, Some(&verp)).await?;
        let took = started.elapsed();
        println!(
            "Maildir reader: {} reports in {:.2} s = {:.0} reports/s",
            poll.removed,
            took.as_secs_f64(),
            poll.removed as f64 / took.as_secs_f64()
        );
        app.pool.close().await;

        let herald = env!("CARGO_BIN_EXE_herald");
        let started = Instant::now();
        for message in &piped {
            use std::io::Write;
            let mut child = Command::new(herald)
                .args(["-q", "bounce", "ingest"])
                .env("HERALD__DATABASE__URL", &database)
                .env("HERALD__BOUNCES__DOMAIN", "bounce.example.org")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()?;
            child.stdin.take().expect("stdin").write_all(message.as_bytes())?;
            anyhow::ensure!(child.wait()?.success(), "bounce ingest failed");
        }
        let pipe_took = started.elapsed();
        let started = Instant::now();
        for _ in 0..PIPED {
            Command::new("true").status()?;
        }
        let spawn_took = started.elapsed();
        println!(
            "herald bounce ingest, one process per report: {:.0} reports/s; starting `true`: {:.0}/s; ratio {:.2}",
            PIPED as f64 / pipe_took.as_secs_f64(),
            PIPED as f64 / spawn_took.as_secs_f64(),
            spawn_took.as_secs_f64() / pipe_took.as_secs_f64()
        );
        anyhow::Ok(())
    })
}
