//! `lticontainer install`: puts the binary, a configuration, the systemd unit and the state
//! directory in place, under `/` or a staging root. An existing configuration is kept (it holds
//! the LTI secret Moodle was given); the binary and the unit are replaced (an upgrade).

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngCore;

/// The systemd unit `install` writes (`packaging/lticontainer.service`).
const UNIT: &str = include_str!("../../../packaging/lticontainer.service");

/// Where each installed file goes, below the root.
const BIN_PATH: &str = "usr/local/bin/lticontainer";
const CONFIG_PATH: &str = "etc/lticontainer/lticontainer.toml";
const UNIT_PATH: &str = "etc/systemd/system/lticontainer.service";
const STATE_PATH: &str = "var/lib/lticontainer";

/// What `install` is asked to do.
#[derive(Debug)]
pub(crate) struct InstallRequest {
    /// `/`, or a staging directory (a package build, a test).
    pub(crate) root: PathBuf,
    /// The binary to install (the running one).
    pub(crate) binary: PathBuf,
    /// `docker` or `podman`, written into a new configuration.
    pub(crate) engine: String,
}

/// Installs; returns the report for the admin (what was written, what was kept, the LTI
/// consumer key and secret when a configuration was written, and the next steps).
///
/// # Errors
/// A file or directory cannot be written, with its path in the message.
pub(crate) fn install(req: &InstallRequest) -> Result<String, String> {
    let mut report = String::new();
    let at = |rel: &str| req.root.join(rel);
    let failed = |path: &Path, e: io::Error| format!("cannot write {}: {e}", path.display());

    let bin = at(BIN_PATH);
    copy_binary(&req.binary, &bin).map_err(|e| failed(&bin, e))?;
    let _ = writeln!(report, "installed {}", bin.display());

    let state = at(STATE_PATH);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&state)
        .map_err(|e| failed(&state, e))?;
    let _ = writeln!(report, "state directory {}", state.display());

    let unit = at(UNIT_PATH);
    // The unit is the project's (an admin's changes belong in a drop-in): replaced on upgrade.
    write_file(&unit, UNIT, 0o644).map_err(|e| failed(&unit, e))?;
    let _ = writeln!(report, "systemd unit {}", unit.display());

    let config = at(CONFIG_PATH);
    if config.exists() {
        let _ = writeln!(
            report,
            "kept the existing configuration {} (check it: lticontainer check-config --config {})",
            config.display(),
            config.display()
        );
    } else {
        let secret = new_secret();
        let text = configuration(&req.engine, "moodle", &secret);
        write_file(&config, &text, 0o600).map_err(|e| failed(&config, e))?;
        let _ = writeln!(
            report,
            "wrote {} (mode 0600). Enter these in Moodle's External tool settings:\n    \
             Tool URL:      http://127.0.0.1:8000/hub/lti/launch   (or your public https URL; see [public_url])\n    \
             Consumer key:  moodle\n    Shared secret: {secret}\n  \
             The secret is shown only this once; it stays in the configuration.",
            config.display()
        );
    }
    let _ = writeln!(
        report,
        "next: systemctl daemon-reload && systemctl enable --now lticontainer"
    );
    Ok(report)
}

/// The example configuration with `engine` and one LTI consumer filled in.
pub(crate) fn configuration(engine: &str, key: &str, secret: &str) -> String {
    crate::gen_config(Some((key, secret))).replacen(
        "engine = \"docker\"",
        &format!("engine = {}", crate::toml_string(engine)),
        1,
    )
}

/// 32 random bytes, hex: the LTI consumer's shared secret.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Copies the binary (through a temporary file, renamed into place, so a running copy is never
/// written over); nothing to do when it is already the installed file.
fn copy_binary(from: &Path, to: &Path) -> io::Result<()> {
    if let (Ok(a), Ok(b)) = (fs::canonicalize(from), fs::canonicalize(to))
        && a == b
    {
        return Ok(());
    }
    create_parent(to)?;
    let tmp = to.with_extension("new");
    fs::copy(from, &tmp)?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755))?;
    fs::rename(&tmp, to)
}

/// Writes `text` to `path` with `mode`, through a temporary file renamed into place.
fn write_file(path: &Path, text: &str, mode: u32) -> io::Result<()> {
    create_parent(path)?;
    let tmp = path.with_extension("new");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)?;
    io::Write::write_all(&mut file, text.as_bytes())?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))?;
    fs::rename(&tmp, path)
}

fn create_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) => fs::create_dir_all(dir),
        None => Ok(()),
    }
}
