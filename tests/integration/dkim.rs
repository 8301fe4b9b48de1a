//! DKIM signatures checked by an independent verifier (dkimpy, with PyNaCl for Ed25519), not by
//! our own code, for every key format operators have and every kind of mail Herald sends.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use herald::settings::{DkimKeySettings, DkimSettings};

use crate::helpers::{smtp_settings, TestApp};
use crate::smtp::{python, support, RealSmtp};

fn openssl(args: &[&str]) -> Vec<u8> {
    crate::helpers::openssl(Path::new("."), args)
}

/// The key formats operators have, as OpenSSL writes them.
#[derive(Debug, Clone, Copy)]
enum KeyFormat {
    /// `openssl genrsa -traditional`: `BEGIN RSA PRIVATE KEY`.
    RsaPkcs1,
    /// `openssl genpkey -algorithm RSA` (and OpenSSL 3's `genrsa`): `BEGIN PRIVATE KEY`.
    RsaPkcs8,
    /// `openssl genpkey -algorithm ed25519`.
    Ed25519Pkcs8,
}

/// A key file and what dkim_verify.py needs to check its signatures: `SELECTOR:TYPE:PUBLIC`.
struct Key {
    file: PathBuf,
    selector: String,
    verifier_spec: String,
}

fn make_key(dir: &Path, format: KeyFormat, selector: &str) -> Key {
    let file = dir.join(format!("{selector}.pem"));
    let path = file.display().to_string();
    match format {
        KeyFormat::RsaPkcs1 => openssl(&["genrsa", "-traditional", "-out", &path, "2048"]),
        KeyFormat::RsaPkcs8 => openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            &path,
        ]),
        KeyFormat::Ed25519Pkcs8 => openssl(&["genpkey", "-algorithm", "ed25519", "-out", &path]),
    };
    let public = openssl(&["pkey", "-in", &path, "-pubout", "-outform", "DER"]);
    let (kind, public) = match format {
        KeyFormat::Ed25519Pkcs8 => ("ed25519", public[public.len() - 32..].to_vec()),
        _ => ("rsa", public),
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(public);
    Key {
        file,
        selector: selector.to_string(),
        verifier_spec: format!("{selector}:{kind}:{encoded}"),
    }
}

fn settings_for(keys: &[&Key]) -> DkimSettings {
    DkimSettings {
        selector: keys[0].selector.clone(),
        domain: "example.com".into(),
        private_key_file: keys[0].file.clone(),
        second: keys.get(1).map(|key| DkimKeySettings {
            selector: key.selector.clone(),
            private_key_file: key.file.clone(),
        }),
    }
}

/// Every signature of `raw` verifies with dkimpy, one per key.
fn assert_verifies(raw: &[u8], keys: &[&Key], what: &str) {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("message.eml");
    std::fs::write(&file, raw).expect("write");
    let verified = Command::new(python())
        .arg(support("dkim_verify.py"))
        .arg(&file)
        .args(keys.iter().map(|key| &key.verifier_spec))
        .output()
        .expect("dkimpy runs");
    assert!(
        verified.status.success(),
        "{what}: dkimpy says {}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
}

/// The unfolded DKIM-Signature header values of a message.
fn signatures(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let headers = text
        .split("\r\n\r\n")
        .next()
        .expect("headers")
        .replace("\r\n ", " ")
        .replace("\r\n\t", " ");
    headers
        .lines()
        .filter(|l| l.starts_with("DKIM-Signature:"))
        .map(str::to_lowercase)
        .collect()
}

/// A list "daily" with one story and one confirmed reader.
async fn newsroom(app: &TestApp) {
    app.add_list("daily").await;
    app.add_story("a", "Café prices rise", 1).await;
    app.run(&[
        "subscriber",
        "add",
        "ada@example.org",
        "--list",
        "daily",
        "--name",
        "Ada Lovelace",
        "--confirmed",
    ])
    .await
    .ok();
}

/// An edition, a test copy and a sign-up's confirmation mail, signed with `keys`, each verified.
async fn every_kind_of_mail_verifies(keys: &[&Key]) {
    let server = RealSmtp::start();
    let app = TestApp::spawn_with(|s| {
        smtp_settings(s, server.port);
        s.dkim = Some(settings_for(keys));
        s.newsletter.reply_to =
            Some(herald::domain::EmailAddress::parse("desk@example.com").expect("address"));
    })
    .await;
    newsroom(&app).await;

    app.run(&[
        "digest",
        "send",
        "--list",
        "daily",
        "--to",
        "editor@example.org",
    ])
    .await
    .ok();
    app.run(&["digest", "send", "--list", "daily"]).await.ok();

    let messages = server.messages();
    assert_eq!(messages.len(), 2, "a test copy and an edition");
    for (raw, what) in messages.iter().zip(["test copy", "edition"]) {
        assert_verifies(raw, keys, what);
        for signature in signatures(raw) {
            assert!(signature.contains("c=relaxed/relaxed"), "{signature}");
            for header in herald::delivery::dkim::SIGNED_HEADERS {
                assert!(
                    signature.contains(&header.to_lowercase()),
                    "{what}: {header} not signed: {signature}"
                );
            }
        }
    }

    let confirmations = RealSmtp::start();
    let daemon = crate::daemon::Daemon::start_with(Some(confirmations.port), |s| {
        s.dkim = Some(settings_for(keys));
    })
    .await;
    daemon.app.add_list("daily").await;
    let (status, _, _) = daemon
        .post("/subscribe", "email=eve%40example.org&list=daily")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        confirmations.wait_for(1, std::time::Duration::from_secs(10)),
        1
    );
    daemon.stop().await;
    assert_verifies(&confirmations.messages()[0], keys, "confirmation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_pkcs1_keys_sign_every_kind_of_mail() {
    let dir = tempfile::tempdir().expect("dir");
    let key = make_key(dir.path(), KeyFormat::RsaPkcs1, "rsa1");
    every_kind_of_mail_verifies(&[&key]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_pkcs8_keys_as_openssl_3_writes_them_sign_too() {
    let dir = tempfile::tempdir().expect("dir");
    let key = make_key(dir.path(), KeyFormat::RsaPkcs8, "rsa8");
    every_kind_of_mail_verifies(&[&key]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed25519_keys_sign_per_rfc_8463() {
    let dir = tempfile::tempdir().expect("dir");
    let key = make_key(dir.path(), KeyFormat::Ed25519Pkcs8, "ed");
    every_kind_of_mail_verifies(&[&key]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_and_ed25519_together_give_two_signatures_that_both_verify() {
    let dir = tempfile::tempdir().expect("dir");
    let rsa = make_key(dir.path(), KeyFormat::RsaPkcs8, "rsa");
    let ed = make_key(dir.path(), KeyFormat::Ed25519Pkcs8, "ed");
    every_kind_of_mail_verifies(&[&rsa, &ed]).await;
}

#[tokio::test]
async fn an_unusable_key_stops_digest_send_before_an_edition_is_built() {
    let dir = tempfile::tempdir().expect("dir");
    let ec = dir.path().join("ec.pem");
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        &ec.display().to_string(),
    ]);
    let server = RealSmtp::start();
    let app = TestApp::spawn_with(|s| {
        smtp_settings(s, server.port);
        s.dkim = Some(DkimSettings {
            selector: "s".into(),
            domain: "example.com".into(),
            private_key_file: ec.clone(),
            second: None,
        });
    })
    .await;
    newsroom(&app).await;

    let run = app.run(&["digest", "send", "--list", "daily"]).await;

    assert_eq!(run.exit_code(), 2);
    let error = run.error();
    assert!(
        error.contains(&ec.display().to_string()) && error.contains("RSA or Ed25519"),
        "{error}"
    );
    let editions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM editions")
        .fetch_one(&app.app.pool)
        .await
        .expect("count");
    assert_eq!(editions, 0);
    assert!(server.messages().is_empty());
}

/// The `p=` of a printed DNS record, its strings joined.
fn published_key(record: &str) -> String {
    let text: String = record
        .split('"')
        .skip(1)
        .step_by(2)
        .collect::<Vec<_>>()
        .concat();
    text.split("p=")
        .nth(1)
        .expect("p= in the record")
        .to_string()
}

#[tokio::test]
async fn keygen_writes_a_private_key_whose_published_record_verifies_signatures() {
    for (algorithm, kind) in [("rsa", "rsa"), ("ed25519", "ed25519")] {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("key.pem");
        let server = RealSmtp::start();
        let app = TestApp::spawn_with(|s| smtp_settings(s, server.port)).await;

        let out = app
            .run(&[
                "dkim",
                "keygen",
                "--selector",
                "s2026",
                "--domain",
                "example.com",
                "--algorithm",
                algorithm,
                "--out",
                &file.display().to_string(),
            ])
            .await
            .ok();
        let again = app
            .run(&[
                "dkim",
                "keygen",
                "--selector",
                "s2026",
                "--domain",
                "example.com",
                "--out",
                &file.display().to_string(),
            ])
            .await;

        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("key").permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "{algorithm}: readable by its owner only"
        );
        assert_eq!(again.exit_code(), 2, "never over an existing key");
        let record = out
            .lines()
            .find(|l| l.starts_with("s2026._domainkey.example.com. IN TXT"))
            .unwrap_or_else(|| panic!("no record in {out}"));
        assert!(record.contains(&format!("k={kind}")), "{record}");
        let key = Key {
            file: file.clone(),
            selector: "s2026".into(),
            verifier_spec: format!("s2026:{kind}:{}", published_key(record)),
        };
        let mut app = app;
        app.app.settings.dkim = Some(settings_for(&[&key]));
        newsroom(&app).await;
        app.run(&["digest", "send", "--list", "daily"]).await.ok();
        assert_verifies(&server.messages()[0], &[&key], algorithm);
    }
}
