//! Creates the host directories a spawn needs (the user's home and its `jupyter/works` tree).
//!
//! A directory that is missing is created with the owner and mode the plan gives. A directory
//! that exists is left exactly as it is: never deleted, never re-owned, never re-moded, because
//! teachers and students may have changed it on purpose.
//!
//! # Symbolic links
//!
//! The hub runs as root and the student owns their home (it is mounted into their container),
//! so a student can put a symbolic link where the plan expects a directory (`jupyter` →
//! `/etc`); following it, root would create and chown directories wherever it points. So every
//! planned directory below a directory the user owns is opened relative to its parent's open
//! descriptor, without following symbolic links (`O_NOFOLLOW`), created with `mkdirat` and
//! owned and moded through its own descriptor: a symbolic link there is refused with an error
//! that names it. Directories the admin controls (the group home, and whatever lies above it,
//! e.g. a `/home` that links to another disk) are reached as the admin laid them out.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

use lticontainer_core::spec::HostDir;
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};

/// What [`ensure_dir`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DirOutcome {
    /// The directory was missing and is now created with the requested owner and mode.
    Created,
    /// The directory was already there and was not touched.
    Present,
}

/// Creates the missing directories of `dirs` (parents first, as a plan lists them) and returns
/// the paths it created. A directory below one the user owns (a `uid` other than root) is
/// handled without following symbolic links (see the module docs).
///
/// # Errors
/// A path that exists but is not a directory, a symbolic link below the user's home, or a
/// failure to create, chown or chmod (the error names the path and the step).
pub(crate) fn ensure_dirs(dirs: &[HostDir]) -> io::Result<Vec<String>> {
    // Open descriptors of the user-owned planned directories, by path, for their children.
    let mut user_owned: HashMap<&Path, OwnedFd> = HashMap::new();
    let mut created = Vec::new();
    for d in dirs {
        let path = Path::new(&d.path);
        let parent_fd = path.parent().and_then(|p| user_owned.get(p));
        let (outcome, fd) = match parent_fd {
            Some(parent) => ensure_dir_at(parent, path, d.uid, d.gid, d.mode)?,
            None => ensure_dir(path, d.uid, d.gid, d.mode)?,
        };
        if outcome == DirOutcome::Created {
            created.push(d.path.clone());
        }
        if d.uid != 0 {
            user_owned.insert(path, fd);
        }
    }
    Ok(created)
}

fn with_path(path: &Path, step: &str, e: impl Into<io::Error>) -> io::Error {
    let e = e.into();
    io::Error::new(e.kind(), format!("{step} {}: {e}", path.display()))
}

/// Makes sure `path` is a directory, reached as the admin laid out the file system (symbolic
/// links followed); creates it owned by `uid:gid` with `mode` when missing, with missing parents
/// (owned by the hub's user, mode from the umask; only parents the plan does not list, such as
/// a fresh `/home`). Returns what it did and the directory, opened.
///
/// # Errors
/// `path` exists but is not a directory, or creating, chowning or chmodding fails.
pub(crate) fn ensure_dir(
    path: &Path,
    uid: u32,
    gid: u32,
    mode: u32,
) -> io::Result<(DirOutcome, OwnedFd)> {
    let Some((parent, name)) = path.parent().zip(path.file_name()) else {
        let fd = open_dir(CWD, path, true).map_err(|e| with_path(path, "cannot open", e))?;
        return Ok((DirOutcome::Present, fd));
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    fs::create_dir_all(parent).map_err(|e| with_path(path, "cannot create the parent of", e))?;
    let parent_fd = open_dir(CWD, parent, true).map_err(|e| with_path(parent, "cannot open", e))?;
    // The leaf as the admin laid it out: a symbolic link to a directory counts as present.
    if let Ok(fd) = open_dir(&parent_fd, Path::new(name), true) {
        return Ok((DirOutcome::Present, fd));
    }
    ensure_dir_at(&parent_fd, path, uid, gid, mode)
}

/// Makes sure the last component of `path` is a directory inside the open directory `parent`,
/// never following a symbolic link; creates it owned by `uid:gid` with `mode` when missing.
fn ensure_dir_at(
    parent: &OwnedFd,
    path: &Path,
    uid: u32,
    gid: u32,
    mode: u32,
) -> io::Result<(DirOutcome, OwnedFd)> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} has no name", path.display()),
        )
    })?;
    match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => {
            let kind = FileType::from_raw_mode(st.st_mode);
            if kind == FileType::Directory {
                let fd = open_dir(parent, Path::new(name), false)
                    .map_err(|e| with_path(path, "cannot open", e))?;
                return Ok((DirOutcome::Present, fd));
            }
            let what = if kind == FileType::Symlink {
                "is a symbolic link, which the hub does not follow inside a user's home (it \
                 would create and chown directories as root wherever the link points); remove \
                 the link so the directory can be created"
            } else {
                "exists but is not a directory; move it away so the home can be created"
            };
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} {what}", path.display()),
            ));
        }
        Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(with_path(path, "cannot inspect", e)),
    }
    match rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(0o700)) {
        Ok(()) => {}
        // Another spawn created it a moment ago: it is present now and belongs to that spawn.
        Err(rustix::io::Errno::EXIST) => {
            let fd = open_dir(parent, Path::new(name), false)
                .map_err(|e| with_path(path, "cannot open", e))?;
            return Ok((DirOutcome::Present, fd));
        }
        Err(e) => return Err(with_path(path, "cannot create", e)),
    }
    let fd =
        open_dir(parent, Path::new(name), false).map_err(|e| with_path(path, "cannot open", e))?;
    rustix::fs::fchown(
        &fd,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
    )
    .map_err(|e| with_path(path, &format!("cannot chown {uid}:{gid}"), e))?;
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))
        .map_err(|e| with_path(path, &format!("cannot chmod {mode:o}"), e))?;
    Ok((DirOutcome::Created, fd))
}

/// Opens the directory `path` relative to `dir`; `follow` decides whether a symbolic link as its
/// last component is followed.
fn open_dir<Fd: rustix::fd::AsFd>(
    dir: Fd,
    path: &Path,
    follow: bool,
) -> rustix::io::Result<OwnedFd> {
    let mut flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    if !follow {
        flags |= OFlags::NOFOLLOW;
    }
    rustix::fs::openat(dir, path, flags, Mode::empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};

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
            ensure_dir(&group, uid, gid, 0o755).unwrap().0,
            DirOutcome::Created
        );
        assert_eq!(
            ensure_dir(&home, uid, gid, 0o700).unwrap().0,
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
            ensure_dir(&home, uid, gid, 0o700).unwrap().0,
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

    /// A uid that marks directories as the user's: the caller's own, or 4242 when the tests
    /// run as root (root may chown to anyone; uid 0 would mark them as the admin's).
    fn user_ids(dir: &Path) -> (u32, u32) {
        match me(dir) {
            (0, _) => (4242, 4242),
            ids => ids,
        }
    }

    fn plan(base: &Path, user: (u32, u32)) -> Vec<HostDir> {
        let dir = |p: &str, (uid, gid): (u32, u32), mode| HostDir {
            path: base.join(p).to_string_lossy().into_owned(),
            uid,
            gid,
            mode,
        };
        vec![
            dir("others", (0, 0), 0o755),
            dir("others/alice", user, 0o700),
            dir("others/alice/jupyter", user, 0o700),
            dir("others/alice/jupyter/works", user, 0o700),
        ]
    }

    #[test]
    fn a_whole_plan_is_created_parents_first() {
        let tmp = tempfile::tempdir().unwrap();
        let user = user_ids(tmp.path());
        let created = ensure_dirs(&plan(tmp.path(), user)).unwrap();
        assert_eq!(created.len(), 4);
        let works = fs::metadata(tmp.path().join("others/alice/jupyter/works")).unwrap();
        assert_eq!((works.uid(), works.gid()), user);
        assert_eq!(works.mode() & 0o7777, 0o700);
        assert!(
            ensure_dirs(&plan(tmp.path(), user)).unwrap().is_empty(),
            "all present"
        );
    }

    #[test]
    fn a_symlink_in_the_users_home_is_refused_and_nothing_is_made_where_it_points() {
        // The student replaces `jupyter` in their home with a link to a directory they must
        // not own; the next spawn, as root, must not create or chown anything there.
        let tmp = tempfile::tempdir().unwrap();
        let user = user_ids(tmp.path());
        let elsewhere = tmp.path().join("etc");
        fs::create_dir(&elsewhere).unwrap();
        fs::create_dir_all(tmp.path().join("others/alice")).unwrap();
        symlink(&elsewhere, tmp.path().join("others/alice/jupyter")).unwrap();
        let err = ensure_dirs(&plan(tmp.path(), user)).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(err.to_string().contains("jupyter"), "{err}");
        assert!(
            !elsewhere.join("works").exists(),
            "nothing created through the link"
        );
        assert_eq!(
            me(&elsewhere),
            me(tmp.path()),
            "the target was not re-owned"
        );

        // The same one level deeper: `works` as a link.
        fs::remove_file(tmp.path().join("others/alice/jupyter")).unwrap();
        fs::create_dir(tmp.path().join("others/alice/jupyter")).unwrap();
        symlink(&elsewhere, tmp.path().join("others/alice/jupyter/works")).unwrap();
        let err = ensure_dirs(&plan(tmp.path(), user)).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(
            me(&elsewhere),
            me(tmp.path()),
            "the target was not re-owned"
        );
    }

    #[test]
    fn the_admins_links_above_the_home_are_followed() {
        // A group home that links to another disk is the admin's layout: it is used.
        let tmp = tempfile::tempdir().unwrap();
        let user = user_ids(tmp.path());
        let disk = tmp.path().join("disk");
        fs::create_dir(&disk).unwrap();
        symlink(&disk, tmp.path().join("others")).unwrap();
        ensure_dirs(&plan(tmp.path(), user)).unwrap();
        assert!(disk.join("alice/jupyter/works").is_dir());
    }
}
