use std::collections::HashMap;

use herald::settings::{Settings, SmtpTls, TransportKind};

fn write(dir: &tempfile::TempDir, contents: &str) -> std::path::PathBuf {
    let path = dir.path().join("herald.toml");
    std::fs::write(&path, contents).expect("write settings");
    path
}

#[test]
fn the_file_then_the_environment_override_the_defaults() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(
        &dir,
        "[smtp]\nhost = \"mail.example.org\"\nport = 2525\ntls = \"none\"\n[transport]\nkind = \"smtp\"\n[delivery]\nconcurrency = 4\n",
    );
    let env = HashMap::from([(
        "HERALD__DELIVERY__CONCURRENCY".to_string(),
        "16".to_string(),
    )]);

    let settings = Settings::load_with_env(Some(&path), Some(env)).expect("valid");

    assert_eq!(settings.smtp.host, "mail.example.org");
    assert_eq!(settings.smtp.port, 2525);
    assert_eq!(settings.smtp.tls, SmtpTls::None);
    assert_eq!(settings.transport.kind, TransportKind::Smtp);
    assert_eq!(settings.delivery.concurrency, 16);
    assert_eq!(settings.web.base_url.as_str(), "http://127.0.0.1:8080/");
}

#[test]
fn invalid_values_are_refused_naming_the_key_and_the_value() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (contents, key, value) in [
        (
            "[lists]\ntimezone = \"Mars/Olympus\"\n",
            "lists.timezone",
            "Mars/Olympus",
        ),
        (
            "[lists]\nschedule = \"0 7 * *\"\n",
            "lists.schedule",
            "0 7 * *",
        ),
        (
            "[newsletter]\nfrom = \"not-an-address\"\n",
            "newsletter.from",
            "not-an-address",
        ),
        (
            "[newsletter]\nbrand_color = \"blue\"\n",
            "newsletter.brand_color",
            "blue",
        ),
        (
            "[bounces]\nimap_url = \"imap://bounces@imap.example.org/\"\nimap_password = \"x\"\n",
            "bounces.imap_url",
            "imap://bounces@imap.example.org/",
        ),
        (
            "[bounces]\ndomain = \"not a domain\"\n",
            "bounces.domain",
            "not a domain",
        ),
        (
            "[web]\nbase_url = \"javascript:x\"\n",
            "web.base_url",
            "javascript:x",
        ),
        (
            "[transport]\nkind = \"pigeon\"\n",
            "transport.kind",
            "pigeon",
        ),
        (
            "[delivery]\nconcurrency = 0\n",
            "delivery.concurrency",
            "at least 1",
        ),
        ("[smtp]\nhots = \"typo\"\n", "hots", "unknown field"),
    ] {
        let path = write(&dir, contents);
        let error = format!(
            "{:#}",
            Settings::load_with_env(Some(&path), Some(HashMap::new())).expect_err(contents)
        );
        assert!(error.contains(key), "{contents}: {error}");
        assert!(error.contains(value), "{contents}: {error}");
        assert!(error.contains("herald.toml"), "the file is named: {error}");
    }
}

#[test]
fn an_invalid_environment_value_is_refused_too() {
    let env = HashMap::from([(
        "HERALD__LISTS__TIMEZONE".to_string(),
        "Atlantis/City".to_string(),
    )]);
    let error = format!(
        "{:#}",
        Settings::from_sources(None, Some(env)).expect_err("bad timezone")
    );
    assert!(
        error.contains("lists.timezone") && error.contains("Atlantis/City"),
        "{error}"
    );
}

#[test]
fn a_password_in_the_imap_url_is_refused_without_being_echoed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(
        &dir,
        "[bounces]\nimap_url = \"imaps://bounces:hunter2@imap.example.org/\"\n",
    );
    let error = Settings::load(Some(&path))
        .expect_err("refused")
        .to_string();
    assert!(error.contains("bounces.imap_url"), "{error}");
    assert!(error.contains("imap_password_file"), "{error}");
    assert!(
        !error.contains("hunter2"),
        "the password is not echoed: {error}"
    );
}

#[test]
fn a_named_config_file_must_exist() {
    let error =
        Settings::load_with_env(Some(std::path::Path::new("/nonexistent/herald.toml")), None)
            .expect_err("missing file");
    assert!(error.to_string().contains("/nonexistent/herald.toml"));
    assert_eq!(herald::error::exit_code(&error), 2);
}

#[test]
fn secrets_are_read_from_files_only_when_used_and_never_debug_printed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret = dir.path().join("smtp-password");
    std::fs::write(&secret, "s3cret-from-file\n").expect("write secret");
    let path = write(
        &dir,
        &format!("[smtp]\npassword_file = \"{}\"\n", secret.display()),
    );

    let settings = Settings::load_with_env(Some(&path), Some(HashMap::new())).expect("valid");

    let resolved = settings
        .smtp
        .password
        .resolve()
        .expect("readable")
        .expect("set");
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&resolved),
        "s3cret-from-file"
    );
    assert!(!format!("{settings:?}").contains("s3cret-from-file"));
    std::fs::remove_file(&secret).expect("remove");
    let error = format!(
        "{:#}",
        settings.smtp.password.resolve().expect_err("file gone")
    );
    assert!(
        error.contains("smtp.password_file") && error.contains("smtp-password"),
        "{error}"
    );
}

#[test]
fn the_example_file_documents_valid_defaults() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config/herald.example.toml");
    let settings =
        Settings::load_with_env(Some(std::path::Path::new(example)), Some(HashMap::new()))
            .expect("example settings are valid");
    let defaults = Settings::defaults();
    assert_eq!(
        format!(
            "{:?}",
            Settings {
                source: None,
                ..settings
            }
        ),
        format!("{defaults:?}")
    );
}

#[test]
fn trusted_proxies_come_from_the_file_or_a_comma_list_in_the_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(&dir, "[web]\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n");
    let from_file = Settings::load_with_env(Some(&path), Some(HashMap::new())).expect("valid");
    assert_eq!(from_file.web.trusted_proxies.len(), 2);

    let env = HashMap::from([(
        "HERALD__WEB__TRUSTED_PROXIES".to_string(),
        "10.0.0.1,10.0.0.2".to_string(),
    )]);
    let from_env = Settings::from_sources(None, Some(env)).expect("valid");
    assert_eq!(
        from_env.web.trusted_proxies,
        vec![
            "10.0.0.1".parse::<std::net::IpAddr>().expect("ip"),
            "10.0.0.2".parse().expect("ip")
        ]
    );

    let path = write(&dir, "[web]\ntrusted_proxies = [\"proxy.local\"]\n");
    let error = format!(
        "{:#}",
        Settings::load_with_env(Some(&path), Some(HashMap::new())).expect_err("not an IP")
    );
    assert!(
        error.contains("web.trusted_proxies") && error.contains("proxy.local"),
        "{error}"
    );
}

#[test]
fn an_empty_api_token_or_smtp_password_is_refused_not_taken_as_no_authentication() {
    for key in ["HERALD__API__TOKEN", "HERALD__SMTP__PASSWORD"] {
        for value in ["", "   "] {
            let env = HashMap::from([(key.to_string(), value.to_string())]);
            let error = format!(
                "{:#}",
                Settings::from_sources(None, Some(env)).expect_err("empty secret")
            );
            assert!(error.contains("is empty"), "{key}={value:?}: {error}");
        }
    }
}
