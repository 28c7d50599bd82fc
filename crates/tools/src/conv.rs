//! Notebook tagging (`conv`, the original `ipynb_conv`) and the personal-volume set-up (`setup`,
//! the original `ipynb_setup`).
//!
//! The k-th code cell (k = 1, 2, … counting code cells only) gets the tags `filename:<name>` and
//! `codenum:<k × factor>`, replacing any earlier `filename:`/`codenum:` tags and keeping the others.
//! Tagging twice gives the same notebook.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fsutil::{self, Attrs};
use crate::notebook::{self, CODENUM, FILENAME, Notebook};

/// Tags the code cells of `nb` for the notebook file `filename` with codenums `k × factor`.
pub fn tag(nb: &mut Notebook, filename: &str, factor: u32) {
    let mut k: u32 = 0;
    for cell in nb.cells_mut() {
        if notebook::cell_type(cell) != "code" {
            continue;
        }
        k += 1;
        let mut tags: Vec<String> = notebook::tags(cell)
            .filter(|t| !t.starts_with(FILENAME) && !t.starts_with(CODENUM))
            .map(str::to_owned)
            .collect();
        tags.push(format!("{FILENAME}{filename}"));
        tags.push(format!("{CODENUM}{}", k.saturating_mul(factor)));
        notebook::set_tags(cell, tags);
    }
}

/// Tags `input` and writes it to `output` (in place when it is the same path), or to `stdout`
/// when `output` is `None`. The `filename:` tag names the output file (the input for stdout).
pub fn conv_file(
    input: &Path,
    output: Option<&Path>,
    factor: u32,
    stdout: &mut dyn Write,
) -> Result<()> {
    let mut nb = Notebook::read(input)?;
    let named = output.unwrap_or(input);
    let name = named
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tag(&mut nb, &name, factor);
    match output {
        Some(out) => fsutil::write_atomic(
            out,
            nb.to_json().as_bytes(),
            Some(Attrs {
                mode: None,
                keep_owner: true,
            }),
        ),
        None => stdout
            .write_all(nb.to_json().as_bytes())
            .map_err(Error::io("write", "standard output")),
    }
}

/// Tags in place, in `personal_dir`, every notebook that also exists (same relative path) in
/// `task_dir`. Hidden entries and symbolic links are skipped on both sides, so a link planted in the
/// personal volume never redirects the write. Malformed notebooks are reported to `warn` and skipped.
/// Returns how many notebooks were tagged.
pub fn setup(
    task_dir: &Path,
    personal_dir: &Path,
    factor: u32,
    warn: &mut dyn Write,
) -> Result<usize> {
    let mut tagged = 0;
    let mut stack: Vec<PathBuf> = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = task_dir.join(&rel);
        let entries = fs::read_dir(&dir).map_err(Error::io("list", &dir))?;
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let rel = rel.join(&name);
            if kind.is_dir() {
                if is_real_dir(&personal_dir.join(&rel)) {
                    stack.push(rel);
                }
                continue;
            }
            if !kind.is_file() || !name.to_string_lossy().ends_with(".ipynb") {
                continue;
            }
            let target = personal_dir.join(&rel);
            match fs::symlink_metadata(&target) {
                Ok(m) if m.file_type().is_file() => {}
                _ => continue,
            }
            match conv_file(&target, Some(&target), factor, &mut std::io::sink()) {
                Ok(()) => tagged += 1,
                Err(e) => {
                    let _ = writeln!(warn, "not tagged: {}", crate::report(&e));
                }
            }
        }
    }
    Ok(tagged)
}

fn is_real_dir(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_code_cells_only_and_is_idempotent() {
        let src = r##"{"cells":[
            {"cell_type":"markdown","metadata":{},"source":"# t"},
            {"cell_type":"code","metadata":{"tags":["keep","codenum:7","filename:old"]},"source":"1","outputs":[],"execution_count":null},
            {"cell_type":"code","source":["2"],"outputs":[],"execution_count":null}
        ],"metadata":{},"nbformat":4,"nbformat_minor":5}"##;
        let mut nb = Notebook::parse(src).expect("valid");
        tag(&mut nb, "t.ipynb", 10);
        let tags: Vec<Vec<&str>> = nb
            .cells()
            .iter()
            .map(|c| notebook::tags(c).collect())
            .collect();
        assert_eq!(tags[0], Vec::<&str>::new());
        assert_eq!(tags[1], vec!["keep", "filename:t.ipynb", "codenum:10"]);
        assert_eq!(tags[2], vec!["filename:t.ipynb", "codenum:20"]);
        let once = nb.to_json();
        tag(&mut nb, "t.ipynb", 10);
        assert_eq!(nb.to_json(), once);
    }
}
