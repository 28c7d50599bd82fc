//! Small files the hub keeps in its state directory (`hub.state_dir`), written so that a crash
//! or a reader at the same moment never sees half a file.

use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path`: to a file beside it first, synced, then renamed over it. Missing
/// parent directories are created.
///
/// # Errors
/// The file system's, e.g. when the state directory cannot be written.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with_mode(path, bytes, 0o644)
}

/// [`write_atomically`] for secrets: the file is created with mode 0600 (owner only) before a
/// byte is written, and keeps it after the rename.
///
/// # Errors
/// The file system's.
pub fn write_private_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with_mode(path, bytes, 0o600)
}

fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map_or_else(|| "state".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    // A leftover of a crash may have another mode; `mode` applies only to new files.
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Reads the JSON file at `path`: `T::default()` when it does not exist, and also when it cannot
/// be read or parsed (logged with `what` for the admin: these files only narrow what is allowed
/// or remember what can be learned again, so starting empty is safe).
pub fn read_json_or_default<T: serde::de::DeserializeOwned + Default>(
    path: &Path,
    what: &str,
) -> T {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::error!(file = %path.display(), error = %e, "cannot parse {what}; starting without them");
            T::default()
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => T::default(),
        Err(e) => {
            tracing::error!(file = %path.display(), error = %e, "cannot read {what}; starting without them");
            T::default()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn written_files_read_back_and_leave_nothing_beside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        write_atomically(&path, br#"{"a": 1}"#).unwrap();
        let m: BTreeMap<String, u32> = read_json_or_default(&path, "test state");
        assert_eq!(m["a"], 1);
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn private_files_are_the_owners_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_private_atomically(&path, b"s").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"s");
    }

    #[test]
    fn missing_or_broken_files_read_as_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let m: BTreeMap<String, u32> = read_json_or_default(&path, "test state");
        assert!(m.is_empty());
        std::fs::write(&path, "{").unwrap();
        let m: BTreeMap<String, u32> = read_json_or_default(&path, "test state");
        assert!(m.is_empty());
    }
}
