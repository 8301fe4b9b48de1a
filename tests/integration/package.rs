//! The Debian package (`.ci/package`, cargo-deb) built from the binary under test, installed
//! with `dpkg --root` into a throwaway root, checked, upgraded over an edited setting, and
//! removed. dpkg must run as root; `.ci/test` installs cargo-deb.

use std::path::Path;
use std::process::Command;

fn run(command: &mut Command) -> std::process::Output {
    let output = command.output().expect("runs");
    assert!(
        output.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn dpkg(root: &Path, args: &[&str]) -> std::process::Output {
    run(Command::new("dpkg")
        .arg(format!("--root={}", root.display()))
        .args([
            "--force-depends",
            "--force-script-chrootless",
            "--log=/dev/null",
        ])
        .args(args))
}

#[test]
fn the_debian_package_installs_its_files_enables_nothing_keeps_settings_and_data() {
    if !crate::helpers::running_as_root() {
        eprintln!("skipped: dpkg needs root (CI runs the tests as root)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("deb");
    run(Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/package"))
        .env("BINARY", env!("CARGO_BIN_EXE_herald"))
        .env("OUT", &out));
    let package = std::fs::read_dir(&out)
        .expect("out")
        .map(|entry| entry.expect("entry").path())
        .find(|path| path.extension().is_some_and(|ext| ext == "deb"))
        .expect("a .deb");
    let root = dir.path().join("root");
    for sub in ["var/lib/dpkg/info", "var/lib/dpkg/updates"] {
        std::fs::create_dir_all(root.join(sub)).expect("dpkg admin dir");
    }
    std::fs::write(root.join("var/lib/dpkg/status"), "").expect("status");
    let package = package.display().to_string();

    dpkg(&root, &["-i", &package]);

    for file in [
        "usr/bin/herald",
        "etc/herald/herald.toml",
        "lib/systemd/system/herald.service",
        "usr/share/man/man1/herald.1.gz",
        "usr/share/man/man1/herald-subscriber.1.gz",
        "usr/share/bash-completion/completions/herald",
        "usr/share/zsh/vendor-completions/_herald",
        "usr/share/fish/vendor_completions.d/herald.fish",
        "usr/share/doc/herald/README.md",
    ] {
        assert!(root.join(file).exists(), "{file} is installed");
    }
    assert!(
        !root
            .join("etc/systemd/system/multi-user.target.wants")
            .exists(),
        "installing enables nothing"
    );
    let herald = root.join("usr/bin/herald");
    let version = run(Command::new(&herald).arg("--version"));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("herald "));
    let page = run(Command::new("man")
        .args(["-P", "cat", "-l"])
        .arg(root.join("usr/share/man/man1/herald.1.gz")));
    assert!(String::from_utf8_lossy(&page.stdout).contains("digest"));
    let unit =
        std::fs::read_to_string(root.join("lib/systemd/system/herald.service")).expect("unit");
    assert!(unit.contains("ExecStart=/usr/bin/herald"), "{unit}");
    let verifiable = dir.path().join("herald.service");
    std::fs::write(
        &verifiable,
        unit.replace("/usr/bin/herald", &herald.display().to_string()),
    )
    .expect("unit copy");
    run(Command::new("systemd-analyze")
        .arg("verify")
        .arg(&verifiable));

    // An operator edits the settings and keeps data; an upgrade (here: the same package again)
    // keeps the edit, and removing the package keeps both.
    let settings = root.join("etc/herald/herald.toml");
    let edited = format!(
        "{}\n# edited by the operator\n",
        std::fs::read_to_string(&settings).expect("settings")
    );
    std::fs::write(&settings, &edited).expect("edit");
    std::fs::create_dir_all(root.join("var/lib/herald")).expect("state dir");
    std::fs::write(root.join("var/lib/herald/herald.db"), b"the readers").expect("data");
    dpkg(&root, &["--force-confold", "-i", &package]);
    assert_eq!(
        std::fs::read_to_string(&settings).expect("settings"),
        edited
    );

    dpkg(&root, &["-r", "herald"]);

    assert!(!herald.exists(), "the binary is removed");
    assert!(
        root.join("var/lib/herald/herald.db").exists(),
        "the data stays"
    );
    assert_eq!(
        std::fs::read_to_string(&settings).expect("settings stay"),
        edited
    );
}
