//! Bounces and complaints that come back as mail: the VERP envelope sender on the wire, the
//! report fixtures in `tests/fixtures/bounces` (Postfix, Exim, Microsoft, Gmail, ARF, an
//! auto-reply, a malformed and a forged report) piped into the binary, the Maildir reader, and
//! the commands that show and undo what they did.

use std::path::{Path, PathBuf};

use herald::bounces::maildir::Maildir;
use herald::bounces::verp::{Tag, Verp};
use herald::bounces::Mailbox;

use crate::helpers::{delivery_bounce_address, herald_with_stdin, smtp_settings, TestApp};
use crate::smtp::RealSmtp;

const READERS: [&str; 8] = [
    "postfix@example.net",
    "exim@example.net",
    "microsoft@example.net",
    "quota@example.net",
    "delayed@example.net",
    "complains@example.net",
    "vacation@example.net",
    "bystander@example.net",
];

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bounces")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

struct Sent {
    app: TestApp,
    verp: Verp,
    edition_id: i64,
    _server: RealSmtp,
}

impl Sent {
    /// Every reader got today's edition through a real SMTP server, with VERP on.
    async fn edition() -> Self {
        let server = RealSmtp::start();
        let app = TestApp::spawn_with(|s| {
            smtp_settings(s, server.port);
            s.bounces.domain = Some("bounce.example.org".into());
        })
        .await;
        app.newsroom(&READERS).await;
        let sent = app.run(&["digest", "send", "--list", "daily"]).await;
        assert_eq!(sent.exit_code(), 0, "{}", sent.stderr);
        let verp = herald::bounces::verp(&app.app)
            .await
            .expect("key")
            .expect("VERP on");
        let edition_id = sqlx::query_scalar("SELECT id FROM editions")
            .fetch_one(&app.app.pool)
            .await
            .expect("edition");
        let senders = server.senders();
        assert_eq!(senders.len(), READERS.len());
        for sender in &senders {
            assert!(
                verp.parse(sender)
                    .is_some_and(|claim| matches!(claim.tag, Tag::Delivery { .. })),
                "a tagged envelope sender: {sender}"
            );
        }
        Self {
            app,
            verp,
            edition_id,
            _server: server,
        }
    }

    async fn subscriber_id(&self, email: &str) -> i64 {
        sqlx::query_scalar("SELECT id FROM subscribers WHERE email = $1")
            .bind(email)
            .fetch_one(&self.app.app.pool)
            .await
            .expect("subscriber")
    }

    /// The fixture as it would come back for `reader`'s delivery.
    async fn report(&self, name: &str, reader: &str) -> Vec<u8> {
        let address =
            delivery_bounce_address(&self.app.app, &self.verp, self.edition_id, reader).await;
        fixture(name)
            .replace("{{VERP}}", &address)
            .replace("{{RECIPIENT}}", reader)
            .replace("{{OTHER}}", "bystander@example.net")
            .replace('\n', "\r\n")
            .into_bytes()
    }

    /// `herald bounce ingest` run by the binary with the report on stdin, as an MTA's pipe.
    fn ingest(&self, raw: &[u8]) -> std::process::Output {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(["--json", "bounce", "ingest"])
            .env("HERALD__DATABASE__URL", &self.app.app.settings.database.url)
            .env("HERALD__BOUNCES__DOMAIN", "bounce.example.org")
            .current_dir(self.app.dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("herald runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(raw)
            .expect("report written");
        child.wait_with_output().expect("herald finishes")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_report_fixture_does_what_it_says_to_exactly_its_reader() {
    let sent = Sent::edition().await;
    let cases = [
        ("postfix-user-unknown.eml", "postfix@example.net", "hard"),
        ("exim-plain.eml", "exim@example.net", "hard"),
        ("microsoft-ndr.eml", "microsoft@example.net", "hard"),
        ("gmail-over-quota.eml", "quota@example.net", "soft"),
        ("delayed.eml", "delayed@example.net", "delayed"),
        ("arf-abuse.eml", "complains@example.net", "complaint"),
        ("vacation.eml", "vacation@example.net", "auto_reply"),
        ("malformed.eml", "bystander@example.net", "unrecognised"),
        ("forged.eml", "bystander@example.net", "hard"),
    ];

    for (name, reader, kind) in cases {
        let raw = sent.report(name, reader).await;
        let output = sent.ingest(&raw);
        assert_eq!(output.status.code(), Some(0), "{name}: {output:?}");
        let answer: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert_eq!(answer["kind"], kind, "{name}: {answer}");
    }

    for (reader, status) in [
        ("postfix@example.net", "bounced"),
        ("exim@example.net", "bounced"),
        ("microsoft@example.net", "bounced"),
        ("quota@example.net", "active"),
        ("delayed@example.net", "active"),
        ("complains@example.net", "unsubscribed"),
        ("vacation@example.net", "active"),
        ("bystander@example.net", "active"),
    ] {
        assert_eq!(sent.app.status_of(reader).await, status, "{reader}");
    }
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bounce_reports")
        .fetch_one(&sent.app.app.pool)
        .await
        .expect("count");
    assert_eq!(
        kept, 9,
        "every report is kept, the malformed and the forged too"
    );
    let forged: (Option<i64>, String) = sqlx::query_as(
        "SELECT subscriber_id, action FROM bounce_reports WHERE report_message_id = 'forged-1@attacker.example'",
    )
    .fetch_one(&sent.app.app.pool)
    .await
    .expect("forged report kept");
    assert_eq!(forged.0, None);
    assert!(forged.1.contains("no valid VERP tag"), "{}", forged.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_replies_and_a_headline_s_words_never_bounce_a_reader() {
    let sent = Sent::edition().await;
    let reader = "vacation@example.net";
    let cases = [
        ("auto-submitted-headline.eml", "auto_reply"),
        ("unmarked-reply-headline.eml", "unrecognised"),
        ("mailer-daemon-quotes-headline.eml", "unrecognised"),
        ("mailer-daemon-no-quote.eml", "hard"),
    ];
    for (name, kind) in cases {
        let raw = sent.report(name, reader).await;
        let output = sent.ingest(&raw);
        assert_eq!(output.status.code(), Some(0), "{name}: {output:?}");
        let answer: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert_eq!(answer["kind"], kind, "{name}: {answer}");
        assert_eq!(
            sent.app.status_of(reader).await,
            "active",
            "{name}: {answer}"
        );
    }
    let output = sent.ingest(&sent.report("mailer-daemon-no-quote.eml", reader).await);
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(
        answer["subscriber_id"].is_null(),
        "an MTA's words that quote none of our message name nobody: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soft_bounces_count_until_the_limit_and_a_redelivered_report_counts_once() {
    let sent = Sent::edition().await;
    let report = sent
        .report("gmail-over-quota.eml", "quota@example.net")
        .await;

    for _ in 0..3 {
        assert_eq!(sent.ingest(&report).status.code(), Some(0));
    }
    assert_eq!(
        sent.app.status_of("quota@example.net").await,
        "active",
        "one report, thrice"
    );

    for day in 1..3 {
        let another = String::from_utf8(report.clone())
            .expect("utf-8")
            .replace("Message-ID: <", &format!("Message-ID: <day{day}."));
        let output = sent.ingest(another.as_bytes());
        let answer: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert_eq!(answer["duplicate"], false);
    }
    assert_eq!(
        sent.app.status_of("quota@example.net").await,
        "bounced",
        "three soft bounces within the window (bounces.soft_limit = 3)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounce_ls_subscriber_show_and_reactivate_explain_and_undo() {
    let sent = Sent::edition().await;
    let report = sent
        .report("postfix-user-unknown.eml", "postfix@example.net")
        .await;
    assert_eq!(sent.ingest(&report).status.code(), Some(0));

    let listed = sent
        .app
        .run(&["--json", "bounce", "ls", "--list", "daily"])
        .await
        .json();
    assert_eq!(listed[0]["email"], "postfix@example.net");
    assert_eq!(listed[0]["kind"], "hard");
    assert_eq!(listed[0]["status"], "5.1.1");
    assert!(listed[0]["diagnostic"]
        .as_str()
        .expect("diagnostic")
        .contains("User unknown"));
    let shown = sent
        .app
        .run(&["subscriber", "show", "postfix@example.net"])
        .await;
    assert!(shown.stdout.contains("bounced"), "{}", shown.stdout);
    assert!(shown.stdout.contains("5.1.1"), "{}", shown.stdout);
    assert!(shown.stdout.contains("consent: cli"), "{}", shown.stdout);
    let shown = sent
        .app
        .run(&["--json", "subscriber", "show", "postfix@example.net"])
        .await
        .json();
    assert_eq!(shown["lists"][0]["consent_source"], "cli");
    assert_eq!(shown["reports"][0]["kind"], "hard");

    let reactivate = [
        "subscriber",
        "reactivate",
        "postfix@example.net",
        "--list",
        "daily",
    ];
    let undone = sent.app.run(&reactivate).await;
    assert_eq!(undone.exit_code(), 0, "{}", undone.stderr);
    assert_eq!(sent.app.status_of("postfix@example.net").await, "active");
    let again = sent.app.run(&reactivate).await;
    assert_eq!(
        again.exit_code(),
        2,
        "only a bounced subscription is reactivated"
    );
}

#[tokio::test]
async fn a_report_that_cannot_be_stored_exits_75_so_the_mta_keeps_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let unwritable = "/proc/herald-cannot-be-here/herald.db";
    let output = herald_with_stdin(
        dir.path(),
        &["--database", unwritable, "bounce", "ingest"],
        Some(b"From: MAILER-DAEMON@x\r\nSubject: Undelivered Mail\r\n\r\n550 5.1.1\r\n"),
    );
    assert_eq!(output.status.code(), Some(75), "{output:?}");
}

fn maildir_with(dir: &Path, messages: &[(&str, &[u8])]) -> PathBuf {
    let maildir = dir.join("bounces");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
    }
    for (name, raw) in messages {
        std::fs::write(maildir.join("new").join(name), raw).expect("message");
    }
    maildir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_maildir_reader_removes_only_reports_about_our_deliveries() {
    let sent = Sent::edition().await;
    let ours = sent
        .report("postfix-user-unknown.eml", "postfix@example.net")
        .await;
    let forged = sent.report("forged.eml", "bystander@example.net").await;
    let letter = b"From: editor@example.org\r\nTo: bounces@bounce.example.org\r\nSubject: hello\r\n\r\nA letter for a person.\r\n".to_vec();
    let vacation = sent.report("vacation.eml", "vacation@example.net").await;
    let delayed = sent.report("delayed.eml", "delayed@example.net").await;
    let maildir = maildir_with(
        sent.app.dir.path(),
        &[
            ("1.ours", &ours),
            ("2.forged", &forged),
            ("3.letter", &letter),
            ("4.vacation", &vacation),
            ("5.delayed", &delayed),
        ],
    );

    let mut reader = Maildir::new(maildir.clone());
    let first = reader
        .poll(&sent.app.app, Some(&sent.verp))
        .await
        .expect("poll");
    let second = reader
        .poll(&sent.app.app, Some(&sent.verp))
        .await
        .expect("poll");

    assert_eq!((first.removed, first.left), (1, 4));
    assert_eq!(
        (second.removed, second.left),
        (0, 0),
        "nothing is read twice"
    );
    assert!(!maildir.join("new/1.ours").exists());
    for (name, raw) in [
        ("2.forged", &forged),
        ("3.letter", &letter),
        ("4.vacation", &vacation),
        ("5.delayed", &delayed),
    ] {
        assert_eq!(
            &std::fs::read(maildir.join("new").join(name)).expect("left in place"),
            raw,
            "{name} is untouched"
        );
    }
    assert_eq!(sent.app.status_of("postfix@example.net").await, "bounced");
    assert_eq!(sent.app.status_of("bystander@example.net").await, "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_report_about_an_erased_reader_names_nobody_not_the_next_reader() {
    let sent = Sent::edition().await;
    // The newest reader: on SQLite, the id a plain rowid table would hand out again.
    let erased = "bystander@example.net";
    let erased_id = sent.subscriber_id(erased).await;
    let old_secret: String =
        sqlx::query_scalar("SELECT unsubscribe_secret FROM subscriptions WHERE subscriber_id = $1")
            .bind(erased_id)
            .fetch_one(&sent.app.app.pool)
            .await
            .expect("secret");
    let complaint = sent.report("arf-abuse.eml", erased).await;
    let bounce = sent.report("postfix-user-unknown.eml", erased).await;

    let forgot = sent.app.run(&["subscriber", "forget", erased]).await;
    assert_eq!(forgot.exit_code(), 0, "{}", forgot.stderr);
    sent.app
        .add_confirmed("newcomer@example.net", "daily")
        .await;
    let newcomer_id = sent.subscriber_id("newcomer@example.net").await;
    assert!(
        newcomer_id > erased_id,
        "ids are never reused: {newcomer_id} after {erased_id}"
    );

    for raw in [&complaint, &bounce] {
        let output = sent.ingest(raw);
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let answer: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert!(answer["subscriber_id"].is_null(), "{answer}");
    }
    // Even a tag that named the newcomer's id would need the newcomer's own secret.
    let forged = sent.verp.address(herald::bounces::verp::ReaderTag {
        tag: Tag::Delivery {
            edition_id: sent.edition_id,
            subscriber_id: newcomer_id,
        },
        reader_secret: &old_secret,
    });
    let raw = fixture("arf-abuse.eml")
        .replace("{{VERP}}", &forged)
        .replace("{{RECIPIENT}}", "newcomer@example.net")
        .replace('\n', "\r\n");
    let output = sent.ingest(raw.as_bytes());
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(answer["subscriber_id"].is_null(), "{answer}");

    assert_eq!(sent.app.status_of("newcomer@example.net").await, "active");
    let filed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM bounce_reports WHERE subscriber_id = $1")
            .bind(newcomer_id)
            .fetch_one(&sent.app.app.pool)
            .await
            .expect("count");
    assert_eq!(filed, 0, "nothing filed under the newcomer's name");
}
