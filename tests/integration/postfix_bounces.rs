//! End to end with a real MTA: Herald sends an edition through a Postfix instance of the
//! test's own (its own configuration, queue and port) that delivers to a local test domain
//! where some readers do not exist. Postfix itself writes the delivery status notifications,
//! to each delivery's VERP address, and delivers them to a Maildir that Herald reads. Exactly
//! the missing readers end up bounced.
//!
//! Postfix must run as root; `.ci/test` installs it (Debian's `postfix`) when run as root, as
//! CI is.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use herald::bounces::maildir::Maildir;
use herald::bounces::Mailbox;

use crate::helpers::{smtp_settings, TestApp};

const PRESENT: [&str; 2] = ["alice@localdomain.test", "bob@localdomain.test"];
const MISSING: [&str; 2] = ["carol@localdomain.test", "dave@localdomain.test"];

struct Postfix {
    config: std::path::PathBuf,
    child: Child,
}

impl Postfix {
    fn start(dir: &Path, port: u16) -> Self {
        let config = dir.join("etc");
        for sub in ["etc", "queue", "data", "mail"] {
            std::fs::create_dir_all(dir.join(sub)).expect("postfix directory");
        }
        let owner = |user: &str, path: &Path| {
            let status = Command::new("chown")
                .arg(user)
                .arg(path)
                .status()
                .expect("chown");
            assert!(status.success(), "chown {user} {}", path.display());
        };
        owner("postfix", &dir.join("data"));
        owner("65534:65534", &dir.join("mail"));
        let main_cf = format!(
            "compatibility_level = 3.6
queue_directory = {dir}/queue
data_directory = {dir}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.test.example
mydomain = test.example
myorigin = test.example
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
# Accept unknown readers at RCPT time: the failure must come back later, as a DSN.
smtpd_reject_unlisted_recipient = no
alias_maps =
alias_database =
biff = no
recipient_delimiter = +
virtual_mailbox_domains = localdomain.test, bounce.test.example
virtual_mailbox_base = {dir}/mail
virtual_mailbox_maps = inline:{{ alice@localdomain.test=alice/, bob@localdomain.test=bob/, bounces@bounce.test.example=bounces/ }}
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
maillog_file = /dev/stdout
",
            dir = dir.display()
        );
        std::fs::write(config.join("main.cf"), main_cf).expect("main.cf");
        let master_cf = format!(
            "127.0.0.1:{port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
virtual unix - n n - - virtual
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"
        );
        std::fs::write(config.join("master.cf"), master_cf).expect("master.cf");
        let child = Command::new("postfix")
            .arg("-c")
            .arg(&config)
            .arg("start-fg")
            .stdout(std::fs::File::create(dir.join("postfix.log")).expect("log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("postfix runs (Debian's postfix package; .ci/test installs it as root)");
        crate::helpers::wait_for_listener(port, "postfix", &dir.join("postfix.log"));
        Self { config, child }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("postfix")
            .arg("-c")
            .arg(&self.config)
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| entries.count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postfix_bounces_the_missing_readers_and_herald_marks_exactly_them() {
    if !crate::helpers::running_as_root() {
        eprintln!("skipped: Postfix needs root (CI runs the tests as root)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let postfix_dir = dir.path().join("postfix");
    std::fs::create_dir_all(&postfix_dir).expect("dir");
    for path in [dir.path(), postfix_dir.as_path()] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let port = crate::helpers::free_port();
    let _postfix = Postfix::start(&postfix_dir, port);
    let app = TestApp::spawn_with(|s| {
        smtp_settings(s, port);
        s.bounces.domain = Some("bounce.test.example".into());
    })
    .await;
    let readers: Vec<&str> = PRESENT.iter().chain(MISSING.iter()).copied().collect();
    app.newsroom(&readers).await;

    let sent = app.run(&["digest", "send", "--list", "daily"]).await;
    assert_eq!(sent.exit_code(), 0, "{}", sent.stderr);

    let mail = postfix_dir.join("mail");
    let started = Instant::now();
    while files_in(&mail.join("bounces/new")) < MISSING.len() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "Postfix returned a DSN for each missing reader: {}",
            std::fs::read_to_string(postfix_dir.join("postfix.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let verp = herald::bounces::verp(&app.app).await.expect("key");
    let poll = Maildir::new(mail.join("bounces"))
        .poll(&app.app, verp.as_ref())
        .await
        .expect("the Maildir is read");

    assert_eq!(poll.removed, MISSING.len() as u64, "{poll:?}");
    for present in PRESENT {
        let inbox = mail
            .join(present.split('@').next().expect("user"))
            .join("new");
        assert_eq!(files_in(&inbox), 1, "{present} got the edition");
    }
    for reader in readers {
        let status = app.status_of(reader).await;
        let expected = if MISSING.contains(&reader) {
            "bounced"
        } else {
            "active"
        };
        assert_eq!(status, expected, "{reader}");
    }
    let reports = app.run(&["--json", "bounce", "ls"]).await.json();
    for report in reports.as_array().expect("array") {
        assert_eq!(report["kind"], "hard");
        assert_eq!(report["status"], "5.1.1");
    }
}
