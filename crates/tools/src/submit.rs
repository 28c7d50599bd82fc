//! `submit [FILE…]`: copies notebooks into the course's submit volume as `<user>_<file>`.
//!
//! Without arguments it submits every `*.ipynb` of the first personal volume (or of the current
//! directory when there is none). Each copy replaces the user's previous submission atomically, gets
//! mode 0640 (`g+r,o-rwx`: the TEACHER group reads it through the volume's setgid bit, other
//! students cannot), and is compared with the previous one: an identical file prints
//! `WARNING: No Changes Detected for "<file>" !!!`, a changed or first one prints `<file> done.`.
//! Every attempt is appended to `.submits.log` (the work directory's, or the current directory's).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::diff::line_diff;
use crate::error::{Error, Result};
use crate::fsutil::{self, Attrs};
use crate::sys;
use crate::volumes::Env;

/// The log file name, in the work directory.
pub const LOG_NAME: &str = ".submits.log";
/// The mode of a submitted file: owner read-write, group read, nothing for others.
pub const SUBMIT_MODE: u32 = 0o640;
/// At most this many diff lines go into the log per file.
const MAX_DIFF_LINES: usize = 100;

/// What happened to one submitted file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The file was copied and differs from the previous submission (or is the first one).
    Submitted,
    /// The file was copied but equals the previous submission.
    Unchanged,
}

/// Submits `files` (or every notebook of the personal volume when empty) as `user`, printing one
/// line per file to `out`. `cwd` resolves relative names first; the personal volume second.
pub fn run(
    env: &Env,
    user: &str,
    files: &[PathBuf],
    cwd: &Path,
    out: &mut dyn Write,
) -> Result<Vec<(PathBuf, Outcome)>> {
    let (volume, dest) = env.submit().ok_or(Error::NoSubmitVolume)?;
    if !dest.is_dir() {
        return Err(Error::SubmitVolumeMissing {
            display: volume.display.clone(),
            path: dest,
        });
    }
    let personal = env.personal_dir().filter(|d| d.is_dir());
    let (base_dir, log_path) = match &personal {
        Some(dir) => (dir.clone(), env.work_dir.join(LOG_NAME)),
        None => (cwd.to_path_buf(), cwd.join(LOG_NAME)),
    };
    let sources = if files.is_empty() {
        let found = notebooks_in(&base_dir)?;
        if found.is_empty() {
            return Err(Error::Usage(format!(
                "there is no notebook (*.ipynb) in {} to submit; name the files: submit FILE…",
                base_dir.display()
            )));
        }
        found
    } else {
        files.iter().map(|f| resolve(f, cwd, &base_dir)).collect()
    };

    let mut log = String::new();
    let mut done = Vec::new();
    let mut failed = 0;
    for src in &sources {
        if src.is_dir() {
            let _ = writeln!(out, "skipping {}: it is a directory", src.display());
            continue;
        }
        match submit_one(src, &dest, user, &volume.display, &mut log) {
            Ok(outcome) => {
                let name = display_name(src);
                let _ = match outcome {
                    Outcome::Submitted => writeln!(out, "{name} done."),
                    Outcome::Unchanged => {
                        writeln!(out, "WARNING: No Changes Detected for \"{name}\" !!!")
                    }
                };
                done.push((src.clone(), outcome));
            }
            Err(e @ Error::DeadlinePassed { .. }) => {
                append_log(&log_path, &log);
                return Err(e);
            }
            Err(e) => {
                let _ = writeln!(out, "error: {}", crate::report(&e));
                failed += 1;
            }
        }
    }
    append_log(&log_path, &log);
    if failed > 0 {
        return Err(Error::Partial {
            failed,
            total: failed + done.len(),
        });
    }
    Ok(done)
}

/// The visible `*.ipynb` regular files of `dir`, sorted by name.
fn notebooks_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(Error::io("list", dir))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let name = display_name(p);
            !name.starts_with('.') && name.ends_with(".ipynb") && p.is_file()
        })
        .collect();
    found.sort();
    Ok(found)
}

/// An absolute path is kept; a relative one is taken from `cwd` when it exists there, else from
/// the personal volume (where the original tool always looked).
fn resolve(file: &Path, cwd: &Path, base_dir: &Path) -> PathBuf {
    if file.is_absolute() {
        return file.to_path_buf();
    }
    let here = cwd.join(file);
    if here.exists() {
        here
    } else {
        base_dir.join(file)
    }
}

fn display_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Copies one file, logging the comparison with the previous submission into `log`.
fn submit_one(
    src: &Path,
    dest_dir: &Path,
    user: &str,
    display: &str,
    log: &mut String,
) -> Result<Outcome> {
    use std::fmt::Write as _;
    let name = display_name(src);
    let target = dest_dir.join(format!("{user}_{name}"));
    let _ = writeln!(
        log,
        "=== {} {user} submits \"{name}\" to \"{display}\"",
        sys::timestamp()
    );
    let result = (|| {
        let new = fs::read(src).map_err(Error::io("read", src))?;
        let _ = writeln!(log, "source:   {} ({} bytes)", src.display(), new.len());
        let old = match fs::read(&target) {
            Ok(old) => Some(old),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("read the previous submission", &target)(e)),
        };
        let outcome = match &old {
            None => {
                let _ = writeln!(log, "previous: none");
                Outcome::Submitted
            }
            Some(old) => {
                let _ = writeln!(log, "previous: {} ({} bytes)", target.display(), old.len());
                let diff = line_diff(
                    &String::from_utf8_lossy(old),
                    &String::from_utf8_lossy(&new),
                );
                for line in diff.iter().take(MAX_DIFF_LINES) {
                    let _ = writeln!(log, "{line}");
                }
                if diff.is_empty() && *old == new {
                    Outcome::Unchanged
                } else {
                    Outcome::Submitted
                }
            }
        };
        let attrs = Attrs {
            mode: Some(SUBMIT_MODE),
            keep_owner: false,
        };
        fsutil::write_atomic(&target, &new, Some(attrs)).map_err(|e| deadline(e, display))?;
        Ok(outcome)
    })();
    let _ = match &result {
        Ok(Outcome::Submitted) => writeln!(log, "result:   {name} done."),
        Ok(Outcome::Unchanged) => writeln!(
            log,
            "result:   WARNING: No Changes Detected for \"{name}\" !!!"
        ),
        Err(e) => writeln!(log, "result:   failed: {}", crate::report(e)),
    };
    result
}

/// Explains a refused write: a read-only volume, or a drop box that refuses new files, means the
/// deadline has passed; a refused replacement means another user's file holds the name.
fn deadline(e: Error, display: &str) -> Error {
    match e {
        Error::Io {
            action,
            source,
            path,
        } => {
            let read_only = source.kind() == io::ErrorKind::ReadOnlyFilesystem;
            let denied = source.kind() == io::ErrorKind::PermissionDenied;
            if read_only || (denied && action == "create") {
                Error::DeadlinePassed {
                    display: display.to_owned(),
                    cause: source,
                }
            } else if denied && action == "replace" {
                Error::NameTaken { path }
            } else {
                Error::Io {
                    action,
                    path,
                    source,
                }
            }
        }
        other => other,
    }
}

/// Appends `text` to the log; a log that cannot be written only earns a warning.
fn append_log(path: &Path, text: &str) {
    if text.is_empty() {
        return;
    }
    let r = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = r {
        eprintln!("warning: cannot write the log {}: {e}", path.display());
    }
}
