//! Creates the host directories a spawn needs (the user's home and its `jupyter/works` tree).
//!
//! A directory that is missing is created with the owner and mode the plan gives. A directory
//! that exists is left exactly as it is: never deleted, never re-owned, never re-moded, because
//! teachers and students may have changed it on purpose.

use std::fs;
use std::io;
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::Path;

/// What [`ensure_dir`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DirOutcome {
    /// The directory was missing and is now created with the requested owner and mode.
    Created,
    /// The directory was already there and was not touched.
    Present,
}

/// Makes sure `path` is a directory; creates it owned by `uid:gid` with `mode` when missing.
///
/// Missing parents are created too (owned by the hub's user, mode from the umask), which only
/// happens for parents the plan does not list, such as a fresh `/home`.
///
/// # Errors
/// `path` exists but is not a directory, or creating, chowning or chmodding fails (the error
/// names the path and the step).
pub(crate) fn ensure_dir(path: &Path, uid: u32, gid: u32, mode: u32) -> io::Result<DirOutcome> {
    let ctx = |step: &str, e: io::Error| {
        io::Error::new(e.kind(), format!("{step} {}: {e}", path.display()))
    };
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => return Ok(DirOutcome::Present),
        Ok(meta) if meta.file_type().is_symlink() && path.is_dir() => {
            return Ok(DirOutcome::Present);
        }
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists but is not a directory; move it away so the home can be created",
                    path.display()
                ),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(ctx("cannot inspect", e)),
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| ctx("cannot create the parent of", e))?;
    }
    match fs::create_dir(path) {
        Ok(()) => {}
        // Another spawn created it a moment ago: it is present now and belongs to that spawn.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => {
            return Ok(DirOutcome::Present);
        }
        Err(e) => return Err(ctx("cannot create", e)),
    }
    chown(path, Some(uid), Some(gid)).map_err(|e| ctx(&format!("cannot chown {uid}:{gid}"), e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| ctx(&format!("cannot chmod {mode:o}"), e))?;
    Ok(DirOutcome::Created)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn me(dir: &Path) -> (u32, u32) {
        let m = fs::metadata(dir).unwrap();
        (m.uid(), m.gid())
    }

    #[test]
    fn missing_dirs_are_created_with_owner_and_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let (uid, gid) = me(tmp.path());
        let group = tmp.path().join("home/students");
        let home = group.join("alice");
        assert_eq!(
            ensure_dir(&group, uid, gid, 0o755).unwrap(),
            DirOutcome::Created
        );
        assert_eq!(
            ensure_dir(&home, uid, gid, 0o700).unwrap(),
            DirOutcome::Created
        );
        let m = fs::metadata(&home).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o700);
        assert_eq!((m.uid(), m.gid()), (uid, gid));
        assert_eq!(fs::metadata(&group).unwrap().mode() & 0o7777, 0o755);
    }

    #[test]
    fn present_dirs_are_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let (uid, gid) = me(tmp.path());
        let home = tmp.path().join("alice");
        fs::create_dir(&home).unwrap();
        fs::set_permissions(&home, fs::Permissions::from_mode(0o750)).unwrap();
        fs::write(home.join("notebook.ipynb"), b"{}").unwrap();
        assert_eq!(
            ensure_dir(&home, uid, gid, 0o700).unwrap(),
            DirOutcome::Present
        );
        assert_eq!(
            fs::metadata(&home).unwrap().mode() & 0o7777,
            0o750,
            "mode untouched"
        );
        assert!(home.join("notebook.ipynb").exists(), "content kept");
    }

    #[test]
    fn a_file_in_the_way_is_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let (uid, gid) = me(tmp.path());
        let home = tmp.path().join("alice");
        fs::write(&home, b"not a dir").unwrap();
        let err = ensure_dir(&home, uid, gid, 0o700).unwrap_err();
        assert!(err.to_string().contains("not a directory"), "{err}");
        assert_eq!(fs::read(&home).unwrap(), b"not a dir", "nothing lost");
    }
}
