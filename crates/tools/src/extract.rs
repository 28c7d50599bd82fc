//! `extract BASE CODENUM…`: gathers one question's answers of every student into a grading notebook.
//!
//! It reads every `<user>_<BASE>` file of the submit directory, and for each submission (sorted by
//! user) appends a `## <user>` markdown cell, the code cells tagged `codenum:N` for a requested N
//! (and, unless `--only-tagged`, the code cells with no `codenum:` tag), then `#### Score:`, a score
//! code cell tagged `user: <user>` and `codenum:999` holding `0`, and `<hr size="2">`.
//!
//! The output is `NNN-<BASE>` with NNN the **first** requested codenum on three digits; it replaces
//! any previous file of that name (the original wrapper deleted one named after the last codenum
//! while the program wrote the first: one rule now). The user of `alice_b_task.ipynb` for base
//! `task.ipynb` is `alice_b` (everything before `_<BASE>`), so user names may contain `_`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::notebook::{self, Notebook, SCORE_CODENUM};

/// What to extract.
#[derive(Debug, Clone)]
pub struct Options {
    /// The submitted notebook's name (`task.ipynb`).
    pub base: String,
    /// The question numbers (`codenum:N` tags) to gather; the first names the output.
    pub codenums: Vec<u32>,
    /// Also take the code cells that have no `codenum:` tag (the original always did).
    pub include_untagged: bool,
}

/// What `run` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The grading notebook written.
    pub output: PathBuf,
    /// The users whose submissions went in, in order.
    pub users: Vec<String>,
    /// The submissions skipped, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

/// The grading notebook's name: `NNN-<base>` for the first codenum.
pub fn output_name(base: &str, codenums: &[u32]) -> String {
    format!("{:03}-{base}", codenums.first().copied().unwrap_or(0))
}

/// The user who submitted `file_name` for `base`, i.e. the text before `_<base>`; `None` when the
/// name does not end in `_<base>`, is hidden, or has nothing before the suffix.
pub fn submitter(file_name: &str, base: &str) -> Option<String> {
    let user = file_name.strip_suffix(base)?.strip_suffix('_')?;
    (!user.is_empty() && !user.starts_with('.')).then(|| user.to_owned())
}

/// Checks the options: a `.ipynb` base that is a plain file name, and at least one codenum.
pub fn check(opts: &Options) -> Result<()> {
    if !opts.base.ends_with(".ipynb") || opts.base.contains('/') || opts.base.starts_with('.') {
        return Err(Error::Usage(format!(
            "the base name must be a notebook file name ending in .ipynb, not \"{}\"",
            opts.base
        )));
    }
    if opts.codenums.is_empty() {
        return Err(Error::Usage(
            "give at least one codenum (question number)".into(),
        ));
    }
    Ok(())
}

/// Builds the grading notebook from `(user, notebook)` submissions in the given order.
pub fn build(submissions: &[(String, Notebook)], opts: &Options) -> Notebook {
    let (metadata, minor) = submissions.first().map_or((json!({}), 5), |(_, nb)| {
        (nb.metadata(), nb.nbformat_minor().max(5))
    });
    let mut out = Notebook::new(metadata, minor);
    let mut seq = 0usize;
    let mut next_id = || {
        seq += 1;
        format!("extract-{seq:04}")
    };
    let cells = out.cells_mut();
    for (user, nb) in submissions {
        cells.push(notebook::markdown_cell(&next_id(), &format!("## {user}")));
        for cell in nb.cells() {
            if notebook::cell_type(cell) != "code" {
                continue;
            }
            let wanted = match notebook::codenum(cell) {
                Some(n) => opts.codenums.contains(&n),
                None => opts.include_untagged && !notebook::has_codenum_tag(cell),
            };
            if wanted {
                cells.push(normalized_code_cell(cell, next_id()));
            }
        }
        cells.push(notebook::markdown_cell(&next_id(), "#### Score:"));
        let tags = [format!("user: {user}"), format!("codenum:{SCORE_CODENUM}")];
        cells.push(notebook::code_cell(&next_id(), "0", &tags));
        cells.push(notebook::markdown_cell(&next_id(), "<hr size=\"2\">"));
    }
    out
}

/// A copy of a code cell with a fresh id and the fields nbformat requires of code cells.
fn normalized_code_cell(cell: &Value, id: String) -> Value {
    let mut cell = cell.clone();
    if let Some(obj) = cell.as_object_mut() {
        obj.insert("id".into(), Value::String(id));
        obj.entry("metadata").or_insert_with(|| json!({}));
        obj.entry("outputs").or_insert_with(|| json!([]));
        obj.entry("execution_count").or_insert(Value::Null);
    }
    cell
}

/// Reads the submissions in `src_dir`, writes `out_dir/NNN-<base>`, and reports each skipped
/// (malformed) submission to `warn` while still processing the others.
pub fn run(src_dir: &Path, out_dir: &Path, opts: &Options, warn: &mut dyn Write) -> Result<Report> {
    check(opts)?;
    let mut found: Vec<(String, PathBuf)> = fs::read_dir(src_dir)
        .map_err(Error::io("list", src_dir))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let user = submitter(&name, &opts.base)?;
            e.path().is_file().then(|| (user, e.path()))
        })
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(Error::NoSubmissions {
            base: opts.base.clone(),
            dir: src_dir.to_path_buf(),
        });
    }
    let mut submissions = Vec::new();
    let mut skipped = Vec::new();
    for (user, path) in found {
        match Notebook::read(&path) {
            Ok(nb) => submissions.push((user, nb)),
            Err(e) => {
                let _ = writeln!(warn, "skipping: {}", crate::report(&e));
                skipped.push((path, e.to_string()));
            }
        }
    }
    if submissions.is_empty() {
        return Err(Error::NoSubmissions {
            base: opts.base.clone(),
            dir: src_dir.to_path_buf(),
        });
    }
    let output = out_dir.join(output_name(&opts.base, &opts.codenums));
    build(&submissions, opts).write(&output)?;
    Ok(Report {
        output,
        users: submissions.into_iter().map(|(u, _)| u).collect(),
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submitter_is_everything_before_the_base_suffix() {
        assert_eq!(
            submitter("alice_task.ipynb", "task.ipynb").as_deref(),
            Some("alice")
        );
        assert_eq!(
            submitter("al_ice_task.ipynb", "task.ipynb").as_deref(),
            Some("al_ice")
        );
        assert_eq!(
            submitter("bob_my_task.ipynb", "my_task.ipynb").as_deref(),
            Some("bob")
        );
        assert_eq!(submitter("_task.ipynb", "task.ipynb"), None);
        assert_eq!(submitter("task.ipynb", "task.ipynb"), None);
        assert_eq!(submitter("alicetask.ipynb", "task.ipynb"), None);
        assert_eq!(submitter(".x_task.ipynb", "task.ipynb"), None);
    }

    #[test]
    fn output_name_uses_the_first_codenum() {
        assert_eq!(output_name("t.ipynb", &[2, 10]), "002-t.ipynb");
        assert_eq!(output_name("t.ipynb", &[1234]), "1234-t.ipynb");
    }

    #[test]
    fn rejects_bad_options() {
        let o = |base: &str, codenums: Vec<u32>| Options {
            base: base.into(),
            codenums,
            include_untagged: true,
        };
        assert!(matches!(check(&o("t.txt", vec![1])), Err(Error::Usage(_))));
        assert!(matches!(
            check(&o("../t.ipynb", vec![1])),
            Err(Error::Usage(_))
        ));
        assert!(matches!(check(&o("t.ipynb", vec![])), Err(Error::Usage(_))));
        assert!(check(&o("t.ipynb", vec![1])).is_ok());
    }
}
