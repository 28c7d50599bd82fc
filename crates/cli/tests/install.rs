//! `lticontainer install` into a staging root, as a package build or an admin runs it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_lticontainer");

fn install(root: &Path, engine: &str) -> Output {
    Command::new(BIN)
        .args(["install", "--root"])
        .arg(root)
        .args(["--engine", engine])
        .output()
        .unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn install_puts_everything_in_place_and_keeps_the_configuration_on_the_next_run() {
    let root = tempfile::tempdir().unwrap();
    let out = install(root.path(), "podman");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bin = root.path().join("usr/local/bin/lticontainer");
    assert_eq!(std::fs::read(&bin).unwrap(), std::fs::read(BIN).unwrap());
    assert_eq!(mode(&bin), 0o755);
    let unit = std::fs::read_to_string(root.path().join("etc/systemd/system/lticontainer.service"))
        .unwrap();
    assert!(
        unit.contains("ExecStart=/usr/local/bin/lticontainer serve --config /etc/lticontainer/lticontainer.toml"),
        "{unit}"
    );
    assert_eq!(mode(&root.path().join("var/lib/lticontainer")), 0o700);

    // A new configuration: this engine, a fresh 64-hex secret shown once, readable by root only,
    // and accepted by check-config.
    let config = root.path().join("etc/lticontainer/lticontainer.toml");
    assert_eq!(mode(&config), 0o600);
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("engine = \"podman\""), "{text}");
    let secret = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Shared secret:"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no secret in the report: {report}"));
    assert!(
        secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit()),
        "{secret}"
    );
    assert!(
        text.contains(&format!("\"moodle\" = \"{secret}\"")),
        "{text}"
    );
    let check = Command::new(BIN)
        .arg("check-config")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    // Again (an upgrade): the configuration and its secret stay, no secret is printed.
    let again = install(root.path(), "docker");
    let report = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{report}");
    assert!(
        report.contains("kept the existing configuration"),
        "{report}"
    );
    assert!(!report.contains(secret), "{report}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
}

#[test]
fn install_into_an_unwritable_place_says_which_path() {
    let root = tempfile::tempdir().unwrap();
    // A file where the binary's directory must go.
    std::fs::create_dir_all(root.path().join("usr/local")).unwrap();
    std::fs::write(root.path().join("usr/local/bin"), "not a directory").unwrap();
    let out = install(root.path(), "docker");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("usr/local/bin/lticontainer"), "{err}");
}
