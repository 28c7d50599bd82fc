//! `deploy DEST [FACTOR]` (the original `ipynb_deploy`): a teacher publishes the files of the
//! current directory to a task volume, notebooks tagged on the way.
//!
//! Every visible regular file of the source directory is written to DEST under the same name:
//! notebooks tagged as `conv` tags them (`filename:<name>`, `codenum:<k × FACTOR>`), other files
//! as they are. Each copy is made readable by all (`a+r`), replacing an older one atomically.
//! Malformed notebooks and unreadable files are reported and skipped; the others still go.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::conv;
use crate::error::{Error, Result};
use crate::fsutil::{self, Attrs};
use crate::notebook::Notebook;

/// Publishes the files of `src_dir` into `dest_dir`, printing one line per file to `out`;
/// returns how many were deployed.
pub fn run(src_dir: &Path, dest_dir: &Path, factor: u32, out: &mut dyn Write) -> Result<usize> {
    if !dest_dir.is_dir() {
        return Err(Error::Usage(format!(
            "the destination {} is not a directory",
            dest_dir.display()
        )));
    }
    let mut files: Vec<_> = fs::read_dir(src_dir)
        .map_err(Error::io("list", src_dir))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name())
        .filter(|n| !n.to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    let (mut done, mut failed) = (0, 0);
    for name in files {
        let src = src_dir.join(&name);
        match deploy_one(&src, &dest_dir.join(&name), factor) {
            Ok(()) => {
                let _ = writeln!(out, "{} deployed.", name.to_string_lossy());
                done += 1;
            }
            Err(e) => {
                let _ = writeln!(out, "error: {}", crate::report(&e));
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return Err(Error::Partial {
            failed,
            total: failed + done,
        });
    }
    Ok(done)
}

fn deploy_one(src: &Path, dest: &Path, factor: u32) -> Result<()> {
    let meta = fs::metadata(src).map_err(Error::io("inspect", src))?;
    let mode = Some(meta.permissions().mode() & 0o7777 | 0o444);
    let name = src
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = if name.ends_with(".ipynb") {
        let mut nb = Notebook::read(src)?;
        conv::tag(&mut nb, &name, factor);
        nb.to_json().into_bytes()
    } else {
        fs::read(src).map_err(Error::io("read", src))?
    };
    fsutil::write_atomic(
        dest,
        &bytes,
        Some(Attrs {
            mode,
            keep_owner: false,
        }),
    )
}
