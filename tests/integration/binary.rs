//! The built `herald` binary: argument parsing, settings discovery, exit codes and stdin.

use std::path::Path;
use std::process::Command;

use crate::helpers::{herald, herald_with_stdin, stderr, stdout};

#[test]
fn init_writes_a_starter_config_once_and_creates_the_database() {
    let dir = tempfile::tempdir().expect("temp dir");

    let first = herald(dir.path(), &["init"]);
    std::fs::write(dir.path().join("herald.toml"), "# edited by the admin\n").expect("edit");
    let second = herald(dir.path(), &["init"]);

    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stdout(&first).contains("wrote herald.toml"));
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(stdout(&second).contains("already exists"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("herald.toml")).expect("read"),
        "# edited by the admin\n"
    );
    assert!(dir.path().join("herald.db").exists());
}

#[test]
fn init_writes_the_file_named_by_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = herald(dir.path(), &["--config", "etc-herald.toml", "init"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(dir.path().join("etc-herald.toml").exists());
}

#[test]
fn the_whole_admin_flow_works_from_the_binary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&str]| {
        let output = herald(dir.path(), args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        stdout(&output)
    };

    run(&[
        "list",
        "add",
        "morning",
        "--title",
        "Morning",
        "--timezone",
        "Europe/Berlin",
        "--max-stories",
        "8",
    ]);
    run(&["list", "set", "morning", "--schedule", "30 6 * * *"]);
    run(&[
        "subscriber",
        "add",
        "A@Example.org",
        "--list",
        "morning",
        "--name",
        "Ann",
        "--confirmed",
    ]);
    run(&["subscriber", "add", "b@example.org", "--list", "morning"]);
    run(&[
        "subscriber",
        "unsubscribe",
        "b@example.org",
        "--list",
        "morning",
    ]);
    run(&[
        "story",
        "add",
        "--url",
        "https://news.example.org/1",
        "--title",
        "Lead",
        "--score",
        "4",
    ]);

    let lists: serde_json::Value =
        serde_json::from_str(&run(&["--json", "list", "ls"])).expect("json");
    assert_eq!(lists[0]["schedule"], "30 6 * * *");
    let shown: serde_json::Value =
        serde_json::from_str(&run(&["--json", "list", "show", "morning"])).expect("json");
    assert_eq!(shown["subscribers"]["active"], 1);
    assert_eq!(shown["subscribers"]["unsubscribed"], 1);
    let people: serde_json::Value =
        serde_json::from_str(&run(&["--json", "subscriber", "ls", "--list", "morning"]))
            .expect("json");
    assert_eq!(people[0]["email"], "a@example.org");
    assert_eq!(people[1]["status"], "unsubscribed");
    assert!(run(&[
        "subscriber",
        "export",
        "--list",
        "morning",
        "--status",
        "active"
    ])
    .starts_with("email,name,status"));
    let stories: serde_json::Value =
        serde_json::from_str(&run(&["--json", "story", "ls"])).expect("json");
    assert_eq!(stories[0]["score"], 4);
    assert!(run(&["subscriber", "forget", "a@example.org"]).contains("erased"));
    run(&["list", "rm", "morning"]);
    assert!(!run(&["list", "ls"]).contains("morning"));
}

#[test]
fn subscriber_import_reads_stdin_and_exits_2_when_rows_are_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(herald(dir.path(), &["list", "add", "news"])
        .status
        .success());

    let output = herald_with_stdin(
        dir.path(),
        &["subscriber", "import", "-", "--list", "news"],
        Some(b"email,name\nok@example.org,Ok\nbroken@@example.org,Bad\n"),
    );

    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("stdin:3: invalid email address \"broken@@example.org\""),
        "{}",
        stderr(&output)
    );
    assert!(
        !stderr(&output).contains('\u{1b}'),
        "no progress bar when stderr is not a terminal"
    );
    let listed = stdout(&herald(dir.path(), &["subscriber", "ls", "--list", "news"]));
    assert!(listed.contains("ok@example.org"), "{listed}");
}

#[test]
fn story_import_reads_json_lines_from_stdin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = herald_with_stdin(
        dir.path(),
        &["story", "import", "-"],
        Some(b"{\"url\":\"https://a.example/1\",\"title\":\"One\"}\n{\"url\":\"https://a.example/2\",\"title\":\"Two\"}\n"),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("2 added"));
}

#[test]
fn bad_input_exits_2_and_names_the_value() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(herald(dir.path(), &["list", "add", "news"])
        .status
        .success());

    for (args, named) in [
        (
            vec!["subscriber", "add", "a@@example.org", "--list", "news"],
            "a@@example.org",
        ),
        (
            vec!["subscriber", "add", "a@example.org", "--list", "missing"],
            "\"missing\"",
        ),
        (
            vec!["list", "add", "x", "--timezone", "Europe/Atlantis"],
            "Europe/Atlantis",
        ),
        (vec!["list", "add", "x", "--schedule", "* * *"], "\"* * *\""),
        (
            vec![
                "story",
                "add",
                "--url",
                "javascript:alert(1)",
                "--title",
                "X",
            ],
            "javascript:alert(1)",
        ),
        (
            vec!["--config", "missing.toml", "list", "ls"],
            "missing.toml",
        ),
        (vec!["list", "frobnicate"], "frobnicate"),
    ] {
        let output = herald(dir.path(), &args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(named),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn settings_come_from_herald_config_and_the_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("custom.toml"),
        "[lists]\ntimezone = \"Asia/Tokyo\"\n",
    )
    .expect("write");

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .current_dir(dir.path())
        .env("HERALD_CONFIG", "custom.toml")
        .env("HERALD__DATABASE__URL", "sqlite://from-env.db")
        .args(["--json", "list", "add", "tokyo"])
        .output()
        .expect("runs");

    assert!(output.status.success(), "{}", stderr(&output));
    let created: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    assert_eq!(created["timezone"], "Asia/Tokyo");
    assert!(dir.path().join("from-env.db").exists());
}

#[test]
fn an_invalid_settings_file_stops_every_command_with_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("herald.toml"),
        "[newsletter]\nfrom = \"nobody\"\n",
    )
    .expect("write");

    let output = herald(dir.path(), &["list", "ls"]);

    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("newsletter.from") && stderr(&output).contains("\"nobody\""),
        "{}",
        stderr(&output)
    );
}

#[test]
fn database_flag_overrides_the_setting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = herald(dir.path(), &["--database", "other.db", "list", "add", "x"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(dir.path().join("other.db").exists());
    assert!(!dir.path().join("herald.db").exists());
}

#[test]
fn help_text_describes_the_commands() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = herald(dir.path(), &["subscriber", "import", "--help"]);
    assert!(output.status.success());
    assert!(stdout(&output).contains("FILE:LINE"), "{}", stdout(&output));
}

#[test]
fn demo_delivers_a_real_edition_into_the_outbox_with_no_settings_at_all() {
    let dir = tempfile::tempdir().expect("temp dir");

    let output = herald(dir.path(), &["demo"]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("outbox"),
        "says where to look: {}",
        stdout(&output)
    );
    let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
        .expect("outbox")
        .flatten()
        .collect();
    assert_eq!(files.len(), 3, "one .eml per confirmed sample subscriber");
    assert!(
        dir.path().join("herald-demo.db").exists(),
        "the tour keeps to a database of its own"
    );
    assert!(!dir.path().join("herald.db").exists());
    for file in files {
        let raw = std::fs::read(file.path()).expect("read");
        let parsed = mailparse::parse_mail(&raw).expect("a MIME message");
        assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
    }
    let again = herald(dir.path(), &["demo"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        std::fs::read_dir(dir.path().join("outbox"))
            .expect("outbox")
            .count(),
        3,
        "a second demo resumes, it does not resend"
    );
}

#[test]
fn demo_never_writes_into_a_production_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("herald.toml"),
        "[database]\nurl = \"sqlite://herald.db\"\n",
    )
    .expect("settings");
    assert!(herald(dir.path(), &["list", "add", "morning"])
        .status
        .success());

    let beside = herald(dir.path(), &["demo"]);
    let into = herald(dir.path(), &["demo", "--database", "herald.db"]);

    assert!(beside.status.success(), "{}", stderr(&beside));
    assert!(dir.path().join("herald-demo.db").exists());
    assert_eq!(into.status.code(), Some(2));
    assert!(
        stderr(&into).contains("not a demo database") && stderr(&into).contains("list morning"),
        "{}",
        stderr(&into)
    );
    let lists = stdout(&herald(dir.path(), &["--json", "list", "ls"]));
    assert!(
        !lists.contains("\"demo\""),
        "the real database holds no demo list: {lists}"
    );
    let stories = stdout(&herald(dir.path(), &["--json", "story", "ls"]));
    assert_eq!(stories.trim(), "[]", "no sample story in the real database");
}

#[test]
fn output_piped_into_head_ends_quietly_with_exit_0() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut csv = String::from("email,name\n");
    for i in 0..5000 {
        csv.push_str(&format!("reader{i}@example.org,Reader {i}\n"));
    }
    std::fs::write(dir.path().join("people.csv"), csv).expect("csv");
    assert!(herald(dir.path(), &["list", "add", "daily"])
        .status
        .success());
    assert!(herald(
        dir.path(),
        &["subscriber", "import", "people.csv", "--list", "daily"]
    )
    .status
    .success());

    for command in [
        "subscriber export --list daily",
        "--json subscriber ls --list daily",
    ] {
        let script = format!(
            "{} {command} 2>stderr.txt | head -c 100 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
            env!("CARGO_BIN_EXE_herald")
        );
        let output = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(dir.path())
            .output()
            .expect("bash runs");
        let status = String::from_utf8_lossy(&output.stdout).trim().to_string();
        let errors = std::fs::read_to_string(dir.path().join("stderr.txt")).expect("stderr");
        assert_eq!(status, "0", "{command}: {errors}");
        assert!(errors.is_empty(), "{command}: {errors}");
    }
}

#[test]
fn a_mistyped_database_is_an_error_for_commands_that_only_read() {
    let dir = tempfile::tempdir().expect("temp dir");

    for args in [
        &["--database", "herlad.db", "list", "ls"][..],
        &["--database", "herlad.db", "digest", "status"],
        &["--database", "herlad.db", "config", "check"],
    ] {
        let output = herald(dir.path(), args);
        assert_ne!(output.status.code(), Some(0), "{args:?}");
        assert!(
            stderr(&output).contains("there is no database at herlad.db"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert!(
        !dir.path().join("herlad.db").exists(),
        "nothing was created"
    );
}

#[test]
fn a_database_from_a_newer_herald_is_named_in_plain_words() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(herald(dir.path(), &["list", "add", "daily"])
        .status
        .success());
    let database = dir.path().join("herald.db");
    let script =
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                  VALUES (29991231000000, 'from the future', 1, x'00', 0);";
    let inserted = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()",
        ])
        .arg(&database)
        .arg(script)
        .status()
        .expect("python3 runs");
    assert!(inserted.success());

    let output = herald(dir.path(), &["list", "ls"]);

    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("newer Herald")
            && !stderr(&output).contains("resolved migrations"),
        "{}",
        stderr(&output)
    );
}

/// Runs the binary as `nobody` when the tests run as root (who may write anything), else as
/// the current user.
fn herald_unprivileged(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut command = if crate::helpers::running_as_root() {
        let mut command = Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
        command.arg(env!("CARGO_BIN_EXE_herald"));
        command
    } else {
        Command::new(env!("CARGO_BIN_EXE_herald"))
    };
    command
        .current_dir(dir)
        .args(args)
        .env_remove("HERALD__DATABASE__URL")
        .output()
        .expect("herald runs")
}

/// Folds the WAL back into the database file and closes it, so the `-wal` and `-shm` files are
/// gone, as after a clean shutdown.
fn checkpoint_away_the_wal(database: &Path) {
    use sqlx::Connection;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut connection =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}", database.display()))
                .await
                .expect("open the database");
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut connection)
            .await
            .expect("checkpoint");
        connection.close().await.expect("close");
    });
    assert!(!database.with_extension("db-wal").exists());
}

#[test]
fn a_read_only_database_serves_reading_commands_and_refuses_writes_in_plain_words() {
    // Whether the last writer left its WAL files beside the database or not: without them,
    // SQLite cannot even set WAL mode in a read-only directory, which once read as "busy" after
    // 30 s.
    for wal_left in [true, false] {
        read_only_database_case(wal_left);
    }
}

fn read_only_database_case(wal_left: bool) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let database = dir.path().join("herald.db");
    let url = database.to_string_lossy().to_string();
    assert!(
        herald(dir.path(), &["--database", &url, "list", "add", "daily"])
            .status
            .success()
    );
    if !wal_left {
        checkpoint_away_the_wal(&database);
    }
    let set_mode = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    set_mode(&database, 0o444);
    set_mode(dir.path(), 0o555);

    let listed = herald_unprivileged(dir.path(), &["--database", &url, "list", "ls"]);
    let status = herald_unprivileged(dir.path(), &["--database", &url, "digest", "status"]);
    let added = herald_unprivileged(dir.path(), &["--database", &url, "list", "add", "other"]);
    set_mode(dir.path(), 0o755);

    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(stdout(&listed).contains("daily"));
    assert!(status.status.success(), "{}", stderr(&status));
    assert_eq!(added.status.code(), Some(1));
    let refused = stderr(&added);
    assert!(
        refused.contains("the database is read-only to this user"),
        "{refused}"
    );
    assert!(
        !refused.contains("readonly database"),
        "no SQLite jargon: {refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_never_prints_the_database_password() {
    let database = crate::postgres_db::TestDatabase::create().await;
    let mut url = url::Url::parse(&database.url).expect("URL");
    url.set_password(Some("pw-never-printed"))
        .expect("a password");
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [&["init"][..], &["--json", "init"][..]] {
        let output = Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(args)
            .env("HERALD__DATABASE__URL", url.as_str())
            .current_dir(dir.path())
            .output()
            .expect("herald runs");
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let printed = format!("{}{}", stdout(&output), stderr(&output));
        assert!(printed.contains("***"), "{printed}");
        assert!(!printed.contains("pw-never-printed"), "{printed}");
    }
}
