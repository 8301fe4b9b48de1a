//! DKIM signatures checked by an independent verifier (dkimpy), not by our own code.

use std::process::Command;

use chrono::Duration as Age;
use herald::settings::DkimSettings;

use crate::helpers::{smtp_settings, TestApp};
use crate::smtp::{python, support, RealSmtp};

fn openssl(args: &[&str]) -> Vec<u8> {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn rsa_signatures_verify_with_dkimpy_and_cover_the_list_headers() {
    let keys = tempfile::tempdir().expect("temp dir");
    let key = keys.path().join("dkim.pem");
    let key_path = key.display().to_string();
    openssl(&["genrsa", "-traditional", "-out", &key_path, "2048"]);
    let public_der = openssl(&["rsa", "-in", &key_path, "-pubout", "-outform", "DER"]);
    let server = RealSmtp::start();
    let app = TestApp::spawn_with(|s| {
        smtp_settings(s, server.port);
        s.dkim = Some(DkimSettings {
            selector: "herald".into(),
            domain: "example.com".into(),
            private_key_file: key.clone(),
        });
    })
    .await;
    app.add_list("daily").await;
    let published = (app.app.clock.now() - Age::hours(1)).to_rfc3339();
    app.run(&[
        "story",
        "add",
        "--url",
        "https://news.example.org/a",
        "--title",
        "Café prices rise",
        "--published-at",
        &published,
    ])
    .await
    .ok();
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

    app.run(&["digest", "send", "--list", "daily"]).await.ok();

    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let text = String::from_utf8_lossy(&messages[0]).to_string();
    let signature = text
        .split("\r\n\r\n")
        .next()
        .expect("headers")
        .replace("\r\n ", " ")
        .replace("\r\n\t", " ");
    let signature = signature
        .lines()
        .find(|l| l.starts_with("DKIM-Signature:"))
        .expect("signed")
        .to_lowercase();
    assert!(signature.contains("c=relaxed/relaxed"), "{signature}");
    for header in herald::delivery::dkim::SIGNED_HEADERS {
        assert!(
            signature.contains(&header.to_lowercase()),
            "{header} not signed: {signature}"
        );
    }
    let file = keys.path().join("message.eml");
    std::fs::write(&file, &messages[0]).expect("write");
    let verified = Command::new(python())
        .arg(support("dkim_verify.py"))
        .arg(&file)
        .arg(base64(&public_der))
        .output()
        .expect("dkimpy runs");
    assert!(
        verified.status.success(),
        "dkimpy: {}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
}

#[tokio::test]
async fn a_pkcs8_key_is_refused_with_advice() {
    let keys = tempfile::tempdir().expect("temp dir");
    let key = keys.path().join("pkcs8.pem");
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:1024",
        "-out",
        &key.display().to_string(),
    ]);
    let settings = DkimSettings {
        selector: "s".into(),
        domain: "example.com".into(),
        private_key_file: key,
    };
    let error = herald::delivery::dkim::config(&settings)
        .expect_err("refused")
        .to_string();
    assert!(
        error.contains("PKCS#8") && error.contains("-traditional"),
        "{error}"
    );
}
