//! The IMAP bounce reader against a real IMAP server: a Dovecot instance of the test's own
//! (its own configuration, port, private CA and Maildir) holding a report about one of
//! Herald's deliveries, a forged report and a letter for a person. Herald reads them over TLS,
//! removes only the report, and leaves the others unread.
//!
//! Dovecot must run as root; `.ci/test` installs it (Debian's `dovecot-imapd`) when run as
//! root, as CI is.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use herald::bounces::imap::ImapMailbox;

use herald::bounces::Mailbox;
use herald::settings::{ImapSettings, SecretSetting};

use crate::helpers::TestApp;

const PASSWORD: &str = "imap-secret-42";

struct Dovecot {
    child: Child,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .status()
        .unwrap_or_else(|error| panic!("{program}: {error}"));
    assert!(status.success(), "{program} {args:?}");
}

fn start_dovecot(dir: &Path, port: u16, certificate: &Path, key: &Path) -> Dovecot {
    for sub in ["run", "state", "home"] {
        std::fs::create_dir_all(dir.join(sub)).expect("dovecot directory");
    }
    std::fs::write(
        dir.join("passwd"),
        format!("bounces:{{PLAIN}}{PASSWORD}::::::\n"),
    )
    .expect("passwd");
    let config = format!(
        "base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{certificate}
ssl_key = <{key}
auth_mechanisms = plain
mail_location = maildir:{dir}/mail/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {dir}/passwd
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={dir}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
",
        dir = dir.display(),
        certificate = certificate.display(),
        key = key.display()
    );
    let path = dir.join("dovecot.conf");
    std::fs::write(&path, config).expect("dovecot.conf");
    let child = Command::new("dovecot")
        .arg("-F")
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dovecot runs (Debian's dovecot-imapd; .ci/test installs it as root)");
    crate::helpers::wait_for_listener(port, "dovecot", &dir.join("dovecot.log"));
    Dovecot { child }
}

fn messages_in(maildir: &Path) -> Vec<PathBuf> {
    ["new", "cur"]
        .iter()
        .flat_map(|sub| std::fs::read_dir(maildir.join(sub)).into_iter().flatten())
        .map(|entry| entry.expect("entry").path())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_imap_reader_removes_only_reports_about_our_deliveries_and_leaves_the_rest_unread() {
    if !crate::helpers::running_as_root() {
        eprintln!("skipped: Dovecot needs root (CI runs the tests as root)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
    }
    let (ca, certificate, key) = crate::helpers::private_ca(dir.path());
    let port = crate::helpers::free_port();

    let app = TestApp::spawn_with(|s| s.bounces.domain = Some("bounce.example.org".into())).await;
    app.newsroom(&["gone@example.net", "bystander@example.net"])
        .await;
    let verp = herald::bounces::verp(&app.app)
        .await
        .expect("key")
        .expect("VERP on");
    let sent = app.run(&["digest", "send", "--list", "daily"]).await;
    assert_eq!(sent.exit_code(), 0, "{}", sent.stderr);
    let address =
        crate::helpers::delivery_bounce_address(&app.app, &verp, 1, "gone@example.net").await;
    let fixture = |name: &str| {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/bounces")
                .join(name),
        )
        .expect("fixture")
        .replace("{{VERP}}", &address)
        .replace("{{RECIPIENT}}", "gone@example.net")
        .replace("{{OTHER}}", "bystander@example.net")
        .replace('\n', "\r\n")
    };
    let maildir = dir.path().join("mail/bounces");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
    }
    let letter = "From: editor@example.org\r\nTo: bounces@bounce.example.org\r\nSubject: hello\r\n\r\nA letter for a person.\r\n";
    for (name, body) in [
        ("1.ours", fixture("postfix-user-unknown.eml")),
        ("2.forged", fixture("forged.eml")),
        ("3.letter", letter.to_string()),
        ("4.delayed", fixture("delayed.eml")),
    ] {
        std::fs::write(maildir.join("new").join(name), body).expect("message");
    }
    run(
        "chown",
        &[
            "-R",
            "65534:65534",
            &dir.path().join("mail").display().to_string(),
        ],
    );
    let _dovecot = start_dovecot(dir.path(), port, &certificate, &key);

    let settings = |ca_file: Option<PathBuf>| ImapSettings {
        host: "127.0.0.1".into(),
        port,
        user: "bounces".into(),
        mailbox: "INBOX".into(),
        password: SecretSetting::from_value("bounces.imap_password", PASSWORD),
        ca_file,
    };
    let untrusted = ImapMailbox::new(settings(None))
        .expect("mailbox")
        .poll(&app.app, Some(&verp))
        .await;
    assert!(untrusted.is_err(), "a server with an unknown CA is refused");
    let mut mailbox = ImapMailbox::new(settings(Some(ca))).expect("mailbox");
    let first = mailbox.poll(&app.app, Some(&verp)).await.expect("poll");
    let second = mailbox.poll(&app.app, Some(&verp)).await.expect("poll");

    assert_eq!((first.removed, first.left), (1, 3), "{first:?}");
    assert_eq!(
        (second.removed, second.left),
        (0, 0),
        "nothing is read twice"
    );
    let left = messages_in(&maildir);
    assert_eq!(
        left.len(),
        3,
        "a delay warning is not acted on, so it stays: {left:?}"
    );
    for path in &left {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let flags = name
            .rsplit_once(":2,")
            .map(|(_, flags)| flags)
            .unwrap_or("");
        assert!(!flags.contains('S'), "{name} stays unread");
        assert!(!flags.contains('T'), "{name} is not deleted");
    }
    let status = app.status_of("gone@example.net").await;
    assert_eq!(status, "bounced");
}
