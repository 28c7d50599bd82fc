//! The volume lists the hub passes in the environment (`NB_SUBMITS`, `NB_PRSNALS`, `NB_VOLUMES`).
//!
//! Each list holds space-separated `<dir>:<display>` entries, `<dir>` relative to the work
//! directory (`.volumes/lms_sub_…`). The tools use the first well-formed entry of a list.

use std::path::{Component, Path, PathBuf};

/// One `<dir>:<display>` entry of a volume list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// The directory, relative to the work directory (e.g. `.volumes/lms_sub_a_1_host`).
    pub dir: PathBuf,
    /// The name shown to the user, without a leading `-`.
    pub display: String,
}

/// Parses a volume list, keeping the entries whose directory is a plain relative path (no `..`,
/// not absolute); the others are dropped with a warning on stderr.
pub fn parse_list(list: &str) -> Vec<Volume> {
    list.split(' ')
        .filter(|e| !e.is_empty())
        .filter_map(|entry| {
            let (dir, display) = entry.split_once(':').unwrap_or((entry, ""));
            let dir = PathBuf::from(dir);
            let plain = !dir.as_os_str().is_empty()
                && dir.components().all(|c| matches!(c, Component::Normal(_)));
            if !plain {
                eprintln!("warning: ignoring the volume entry \"{entry}\": not a path under the work directory");
                return None;
            }
            let display = display.strip_prefix('-').unwrap_or(display);
            let display = if display.is_empty() {
                dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            } else {
                display.to_owned()
            };
            Some(Volume { dir, display })
        })
        .collect()
}

/// Where the tools find the user's files: the work directory and the volume lists.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `$HOME/$PRJCT_DIR/$WORK_DIR` (default `jupyter/works`).
    pub work_dir: PathBuf,
    /// The submit volumes (`NB_SUBMITS`).
    pub submits: Vec<Volume>,
    /// The personal volumes (`NB_PRSNALS`).
    pub personals: Vec<Volume>,
}

impl Env {
    /// Reads the environment of the process.
    pub fn from_process() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let home = var("HOME").unwrap_or_else(|| "/".into());
        let work_dir = Path::new(&home)
            .join(var("PRJCT_DIR").unwrap_or_else(|| "jupyter".into()))
            .join(var("WORK_DIR").unwrap_or_else(|| "works".into()));
        Self {
            work_dir,
            submits: parse_list(&var("NB_SUBMITS").unwrap_or_default()),
            personals: parse_list(&var("NB_PRSNALS").unwrap_or_default()),
        }
    }

    /// The first submit volume and its absolute directory.
    pub fn submit(&self) -> Option<(&Volume, PathBuf)> {
        self.submits
            .first()
            .map(|v| (v, self.work_dir.join(&v.dir)))
    }

    /// The absolute directory of the first personal volume.
    pub fn personal_dir(&self) -> Option<PathBuf> {
        self.personals.first().map(|v| self.work_dir.join(&v.dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries_and_strips_the_teacher_mark() {
        let v = parse_list(".volumes/lms_sub_a_1_h:-提出 .volumes/lms_sub_b_1_h:B  ");
        assert_eq!(
            v,
            vec![
                Volume {
                    dir: ".volumes/lms_sub_a_1_h".into(),
                    display: "提出".into()
                },
                Volume {
                    dir: ".volumes/lms_sub_b_1_h".into(),
                    display: "B".into()
                },
            ]
        );
    }

    #[test]
    fn rejects_entries_that_escape_the_work_directory() {
        let v = parse_list("../etc:x /etc:y .volumes/../../z:w .volumes/ok:");
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].dir, PathBuf::from(".volumes/ok"));
        assert_eq!(v[0].display, "ok");
    }

    #[test]
    fn empty_list_gives_no_volume() {
        assert!(parse_list("").is_empty());
        assert!(parse_list("   ").is_empty());
    }
}
