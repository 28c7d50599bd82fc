//! Small file helpers: atomic writes that keep a file's mode and owner.

use std::fs::{self, File, Permissions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// How an atomic write sets the new file's mode and owner.
#[derive(Debug, Clone, Copy, Default)]
pub struct Attrs {
    /// The permission bits; `None` keeps those of the file replaced (or the umask default).
    pub mode: Option<u32>,
    /// Keep the owner and group of the file replaced (needs root when they differ from ours).
    pub keep_owner: bool,
}

/// The temporary name used while writing `path`: hidden, in the same directory.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp{}", std::process::id()))
}

/// Writes `bytes` to `path` through a temporary file in the same directory renamed over it, so
/// readers never see half a file. `attrs` of `None` keeps the replaced file's mode.
pub fn write_atomic(path: &Path, bytes: &[u8], attrs: Option<Attrs>) -> Result<()> {
    let attrs = attrs.unwrap_or_default();
    let old = fs::metadata(path).ok();
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = File::create(&tmp).map_err(Error::io("create", &tmp))?;
        f.write_all(bytes).map_err(Error::io("write", &tmp))?;
        f.sync_all().map_err(Error::io("write", &tmp))?;
        let mode = attrs
            .mode
            .or_else(|| old.as_ref().map(|m| m.mode() & 0o7777));
        if let Some(mode) = mode {
            fs::set_permissions(&tmp, Permissions::from_mode(mode))
                .map_err(Error::io("set the mode of", &tmp))?;
        }
        if attrs.keep_owner
            && let Some(m) = &old
        {
            let me = fs::metadata(&tmp).map_err(Error::io("inspect", &tmp))?;
            if me.uid() != m.uid() || me.gid() != m.gid() {
                std::os::unix::fs::chown(&tmp, Some(m.uid()), Some(m.gid()))
                    .map_err(Error::io("change the owner of", &tmp))?;
            }
        }
        fs::rename(&tmp, path).map_err(Error::io("replace", path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
