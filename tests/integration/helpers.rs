//! Test harness: an app on a temporary database with a pinned clock, and a runner for the built
//! binary in a temporary working directory.

use std::path::Path;
use std::process::{Command, Output as ProcessOutput};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use clap::Parser;
use herald::cli::{self, Cli, Output};
use herald::clock::FixedClock;
use herald::settings::Settings;
use herald::App;
use tempfile::TempDir;

use crate::postgres_db::TestDatabase;

/// "Today" in every library-level test.
pub fn pinned_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 6, 0, 0)
        .single()
        .expect("valid time")
}

pub struct TestApp {
    pub app: App,
    pub dir: TempDir,
    /// The test's own PostgreSQL database, when the suite runs on PostgreSQL.
    pub postgres: Option<TestDatabase>,
}

/// What one command printed, and how it ended.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub result: anyhow::Result<()>,
}

impl Run {
    pub fn exit_code(&self) -> i32 {
        match &self.result {
            Ok(()) => 0,
            Err(error) => herald::error::exit_code(error),
        }
    }

    /// Asserts success and returns stdout.
    pub fn ok(self) -> String {
        if let Err(error) = &self.result {
            panic!("command failed: {error:#}\nstderr: {}", self.stderr);
        }
        self.stdout
    }

    pub fn error(&self) -> String {
        match &self.result {
            Ok(()) => panic!("command succeeded; stdout: {}", self.stdout),
            Err(error) => format!("{error:#}"),
        }
    }

    pub fn json(self) -> serde_json::Value {
        let stdout = self.ok();
        serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}"))
    }
}

/// Settings that send through the SMTP server on `port` of 127.0.0.1, quickly: four
/// connections, immediate retries, short timeouts.
pub fn smtp_settings(settings: &mut Settings, port: u16) {
    settings.transport.kind = herald::settings::TransportKind::Smtp;
    settings.smtp.host = "127.0.0.1".into();
    settings.smtp.port = port;
    settings.smtp.tls = herald::settings::SmtpTls::None;
    settings.smtp.timeout_secs = 2;
    settings.delivery.concurrency = 4;
    settings.delivery.retry_base_secs = 0;
    settings.delivery.max_attempts = 3;
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// An app whose settings `adjust` changes first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::build(adjust, Arc::new(FixedClock(pinned_now()))).await
    }

    /// An app on the real clock, for tests that also run the binary (which has no pinned clock).
    pub async fn spawn_on_system_clock(adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::build(adjust, herald::clock::system()).await
    }

    /// An app on the real clock and a PostgreSQL database of its own, whichever database the
    /// suite runs on.
    pub async fn spawn_on_postgres(adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::build_on(true, adjust, herald::clock::system()).await
    }

    async fn build(adjust: impl FnOnce(&mut Settings), clock: herald::clock::SharedClock) -> Self {
        Self::build_on(crate::postgres_db::selected(), adjust, clock).await
    }

    async fn build_on(
        on_postgres: bool,
        adjust: impl FnOnce(&mut Settings),
        clock: herald::clock::SharedClock,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings::defaults();
        let postgres = if on_postgres {
            Some(TestDatabase::create().await)
        } else {
            None
        };
        settings.database.url = match &postgres {
            Some(database) => database.url.clone(),
            None => format!("sqlite://{}", dir.path().join("herald.db").display()),
        };
        settings.transport.outbox_dir = dir.path().join("outbox");
        adjust(&mut settings);
        let app = App::build_with_clock(settings, clock)
            .await
            .expect("app builds");
        Self { app, dir, postgres }
    }

    /// Runs `herald ARGS...` through the library, as the binary would after parsing.
    pub async fn run(&self, args: &[&str]) -> Run {
        let cli = Cli::try_parse_from(std::iter::once("herald").chain(args.iter().copied()))
            .unwrap_or_else(|error| panic!("{args:?} does not parse: {error}"));
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let result = {
            let mut output = Output {
                out: &mut stdout,
                err: &mut stderr,
                json: cli.json,
                interactive: false,
            };
            cli::run_with_app(&self.app, cli.command, &mut output).await
        };
        Run {
            stdout: String::from_utf8(stdout).expect("utf-8 stdout"),
            stderr: String::from_utf8(stderr).expect("utf-8 stderr"),
            result,
        }
    }

    /// `subscriber ls --json` of a list, optionally of one status.
    pub async fn subscribers(&self, list: &str, status: Option<&str>) -> Vec<serde_json::Value> {
        let mut args = vec!["--json", "subscriber", "ls", "--list", list];
        if let Some(status) = status {
            args.extend(["--status", status]);
        }
        match self.run(&args).await.json() {
            serde_json::Value::Array(rows) => rows,
            other => panic!("not an array: {other}"),
        }
    }

    /// `subscriber add EMAIL --list LIST --confirmed`, which must succeed.
    pub async fn add_confirmed(&self, email: &str, list: &str) {
        self.run(&["subscriber", "add", email, "--list", list, "--confirmed"])
            .await
            .ok();
    }

    /// A story at `https://news.example.org/PATH`, published `hours_ago` hours before "now".
    pub async fn add_story(&self, path: &str, title: &str, hours_ago: i64) {
        let published = (self.app.clock.now() - chrono::Duration::hours(hours_ago)).to_rfc3339();
        let url = format!("https://news.example.org/{path}");
        self.run(&[
            "story",
            "add",
            "--url",
            &url,
            "--title",
            title,
            "--published-at",
            &published,
        ])
        .await
        .ok();
    }

    /// A list "daily" with one lead story and these confirmed readers.
    pub async fn newsroom(&self, readers: &[&str]) {
        self.add_list("daily").await;
        self.add_story("lead", "Central bank holds rates", 1).await;
        for reader in readers {
            self.add_confirmed(reader, "daily").await;
        }
    }

    /// The status of the address's subscription (tests with one list).
    pub async fn status_of(&self, email: &str) -> String {
        sqlx::query_scalar(
            "SELECT s.status FROM subscriptions s JOIN subscribers p ON p.id = s.subscriber_id
             WHERE p.email = $1",
        )
        .bind(email)
        .fetch_one(&self.app.pool)
        .await
        .unwrap_or_else(|error| panic!("{email}'s subscription: {error}"))
    }

    /// `subscriber import --confirmed` of these addresses into `list`, which must succeed.
    pub async fn import_confirmed(&self, list: &str, emails: &[String]) {
        let csv: String = emails.iter().map(|email| format!("{email}\n")).collect();
        let file = self.write_file("people.csv", format!("email\n{csv}").as_bytes());
        self.run(&["subscriber", "import", &file, "--list", list, "--confirmed"])
            .await
            .ok();
    }

    pub async fn add_list(&self, slug: &str) {
        self.run(&["list", "add", slug]).await.ok();
    }

    pub fn write_file(&self, name: &str, contents: &[u8]) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write fixture");
        path.display().to_string()
    }
}

/// Runs the built `herald` binary in `dir` with no inherited Herald settings.
pub fn herald(dir: &Path, args: &[&str]) -> ProcessOutput {
    herald_with_stdin(dir, args, None)
}

pub fn herald_with_stdin(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> ProcessOutput {
    use std::io::Write;
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
    command.current_dir(dir).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("HERALD") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("herald binary runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    child.wait_with_output().expect("herald finishes")
}

pub fn stdout(output: &ProcessOutput) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &ProcessOutput) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs the `openssl` command in `dir` and returns what it printed; fails the test if it fails.
pub fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A private CA and a certificate it signed for 127.0.0.1, made with the openssl command.
pub fn private_ca(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let path = |name: &str| dir.join(name);
    let openssl = |args: &[&str]| crate::helpers::openssl(dir, args);
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Herald Test Relay CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=relay.test",
        "-keyout",
        "relay.key",
        "-out",
        "relay.csr",
    ]);
    std::fs::write(
        path("relay.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("extensions");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "relay.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "relay.ext",
        "-out",
        "relay.pem",
    ]);
    (path("ca.pem"), path("relay.pem"), path("relay.key"))
}

/// Whether the tests run as root (as CI does): Postfix and Dovecot need it.
pub fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The decoded value of a message's header, if it has one.
pub fn header(raw: &[u8], name: &str) -> Option<String> {
    let parsed = mailparse::parse_mail(raw).expect("message parses");
    parsed
        .headers
        .iter()
        .find(|h| h.get_key().eq_ignore_ascii_case(name))
        .map(|h| h.get_value())
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Waits until something listens on `port`, failing with `log`'s contents after 30 s.
pub fn wait_for_listener(port: u16, what: &str, log: &Path) {
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{what} listens on {port}: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// `text` in UTF-16, big- or little-endian, with or without a byte-order mark.
pub fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let bom = bom.then_some(0xFEFF_u16);
    bom.into_iter()
        .chain(text.encode_utf16())
        .flat_map(|unit| {
            if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            }
        })
        .collect()
}

/// The envelope sender (VERP) of `email`'s delivery of `edition_id`, as the sender made it: bound
/// to the secret of their subscription to the edition's list.
pub async fn delivery_bounce_address(
    app: &App,
    verp: &herald::bounces::verp::Verp,
    edition_id: i64,
    email: &str,
) -> String {
    let (subscriber_id, secret): (i64, String) = sqlx::query_as(
        "SELECT p.id, s.unsubscribe_secret FROM subscribers p
         JOIN subscriptions s ON s.subscriber_id = p.id
         JOIN editions e ON e.list_id = s.list_id
         WHERE p.email = $1 AND e.id = $2",
    )
    .bind(email)
    .bind(edition_id)
    .fetch_one(&app.pool)
    .await
    .unwrap_or_else(|error| panic!("{email}'s subscription to edition {edition_id}: {error}"));
    verp.address(herald::bounces::verp::ReaderTag {
        tag: herald::bounces::verp::Tag::Delivery {
            edition_id,
            subscriber_id,
        },
        reader_secret: &secret,
    })
}

/// A story at `https://news.example.org/PATH` with a score, published `hours_ago` hours before
/// the pinned "now".
pub async fn scored_story(
    app: &TestApp,
    path: &str,
    title: &str,
    section: &str,
    score: i64,
    hours_ago: i64,
) {
    let published = (pinned_now() - chrono::Duration::hours(hours_ago)).to_rfc3339();
    app.run(&[
        "story",
        "add",
        "--url",
        &format!("https://news.example.org/{path}"),
        "--title",
        title,
        "--section",
        section,
        "--score",
        &score.to_string(),
        "--published-at",
        &published,
    ])
    .await
    .ok();
}
