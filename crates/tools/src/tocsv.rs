//! `tocsv BASE`: collects the scores typed into the grading notebooks `NNN-<BASE>` into a CSV.
//!
//! In each grading notebook every code cell tagged both `user: <name>` and `codenum:999` gives that
//! user's score for question NNN: the number at the start of its first line (0 when empty). The
//! table has one row per user sorted by name, one `Pnnn` column per question in ascending order,
//! 0 for a missing score, and the `Total`.
//!
//! Three layouts: RFC 4180 (default: `Name,P001,…,Total`, fields quoted when needed, CRLF), the
//! original's `legacy` (`Name, P001, …, Total` with `", "` separators, LF, unquoted) and `nbgrader`
//! (the columns of nbgrader's `grades.csv`: one row per student with the total as the score).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fsutil;
use crate::notebook::{self, Notebook, SCORE_CODENUM};

/// The layout of the CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `Name,P001,…,Total`, RFC 4180 quoting, CRLF line ends.
    #[default]
    Rfc4180,
    /// The original's `Name, P001, …, Total` with `", "` separators and no quoting.
    Legacy,
    /// nbgrader's `grades.csv` columns, one row per student.
    Nbgrader,
}

/// The columns of nbgrader's `grades.csv` export.
pub const NBGRADER_COLUMNS: [&str; 11] = [
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
];

/// The scores found: questions in ascending order, and per user the score of each question.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    /// The question numbers, ascending.
    pub problems: Vec<u32>,
    /// Per user (sorted), the score of each question answered.
    pub users: BTreeMap<String, BTreeMap<u32, f64>>,
}

impl Scores {
    /// The score of `user` for `problem` (0 when missing).
    pub fn get(&self, user: &str, problem: u32) -> f64 {
        self.users
            .get(user)
            .and_then(|m| m.get(&problem))
            .copied()
            .unwrap_or(0.0)
    }

    /// The sum of `user`'s scores.
    pub fn total(&self, user: &str) -> f64 {
        self.users.get(user).map_or(0.0, |m| m.values().sum())
    }
}

/// The question number of a grading notebook named `NNN-<base>`.
pub fn problem_number(file_name: &str, base: &str) -> Option<u32> {
    let digits = file_name.strip_suffix(base)?.strip_suffix('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The score written in a score cell: the number at the start of its first line (before any `"`),
/// 0 when the line is empty; an error when it does not start with a number.
pub fn parse_score(source: &str) -> Result<f64, String> {
    let first = source.lines().next().unwrap_or("");
    let first = first.split('"').next().unwrap_or("").trim();
    if first.is_empty() {
        return Ok(0.0);
    }
    let end = first
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+'))))
        .map_or(first.len(), |(i, _)| i);
    first[..end]
        .parse()
        .map_err(|_| format!("the score \"{first}\" is not a number"))
}

/// Adds the score cells of one grading notebook (question `problem`) to `scores`, reporting bad
/// score cells to `warn`.
pub fn add_notebook(
    scores: &mut Scores,
    problem: u32,
    nb: &Notebook,
    path: &Path,
    warn: &mut dyn Write,
) {
    if !scores.problems.contains(&problem) {
        scores.problems.push(problem);
        scores.problems.sort_unstable();
    }
    for cell in nb.cells() {
        if notebook::cell_type(cell) != "code" || notebook::codenum(cell) != Some(SCORE_CODENUM) {
            continue;
        }
        let Some(user) = notebook::tags(cell).find_map(|t| t.strip_prefix("user:")) else {
            continue;
        };
        let user = user.trim().to_owned();
        let score = match parse_score(&notebook::source_text(cell)) {
            Ok(s) => s,
            Err(e) => {
                let _ = writeln!(
                    warn,
                    "warning: {}: user {user}: {e}; counted as 0",
                    path.display()
                );
                0.0
            }
        };
        let per_user = scores.users.entry(user.clone()).or_default();
        match per_user.entry(problem) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(score);
            }
            std::collections::btree_map::Entry::Occupied(_) => {
                let _ = writeln!(
                    warn,
                    "warning: {}: a second score cell for user {user}; the first one counts",
                    path.display()
                );
            }
        }
    }
}

/// Formats a score: integers without a decimal point.
pub fn format_score(s: f64) -> String {
    if s.fract() == 0.0 && s.abs() < 1e15 {
        format!("{}", s as i64)
    } else {
        format!("{s}")
    }
}

/// Quotes one CSV field per RFC 4180 when it holds a comma, quote, CR or LF.
pub fn quote(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// Renders the table; `assignment` names the assignment in the nbgrader layout.
pub fn render(scores: &Scores, format: Format, assignment: &str) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    match format {
        Format::Rfc4180 | Format::Legacy => {
            let mut header = vec!["Name".to_owned()];
            header.extend(scores.problems.iter().map(|p| format!("P{p:03}")));
            header.push("Total".into());
            rows.push(header);
            for user in scores.users.keys() {
                let mut row = vec![user.clone()];
                row.extend(
                    scores
                        .problems
                        .iter()
                        .map(|&p| format_score(scores.get(user, p))),
                );
                row.push(format_score(scores.total(user)));
                rows.push(row);
            }
        }
        Format::Nbgrader => {
            rows.push(NBGRADER_COLUMNS.iter().map(|c| (*c).to_owned()).collect());
            for user in scores.users.keys() {
                let total = format_score(scores.total(user));
                let mut row = vec![String::new(); NBGRADER_COLUMNS.len()];
                row[0] = assignment.to_owned();
                row[3] = user.clone();
                row[7] = total.clone();
                row[8] = "0".into();
                row[9] = total;
                rows.push(row);
            }
        }
    }
    let (sep, eol) = match format {
        Format::Legacy => (", ", "\n"),
        _ => (",", "\r\n"),
    };
    let mut out = String::new();
    for row in rows {
        let fields: Vec<String> = match format {
            Format::Legacy => row,
            _ => row.iter().map(|f| quote(f)).collect(),
        };
        out.push_str(&fields.join(sep));
        out.push_str(eol);
    }
    out
}

/// The CSV's default name: the base without `.ipynb`, plus `.csv`.
pub fn csv_name(base: &str) -> String {
    format!("{}.csv", base.strip_suffix(".ipynb").unwrap_or(base))
}

/// Reads every `NNN-<base>` of `dir` (malformed ones are reported to `warn` and skipped).
pub fn collect(dir: &Path, base: &str, warn: &mut dyn Write) -> Result<Scores> {
    let mut files: Vec<(u32, PathBuf)> = fs::read_dir(dir)
        .map_err(Error::io("list", dir))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let p = problem_number(&e.file_name().to_string_lossy(), base)?;
            e.path().is_file().then(|| (p, e.path()))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::NoGradingNotebooks {
            base: base.into(),
            dir: dir.into(),
        });
    }
    let mut scores = Scores::default();
    let mut read = 0;
    for (problem, path) in files {
        match Notebook::read(&path) {
            Ok(nb) => {
                add_notebook(&mut scores, problem, &nb, &path, warn);
                read += 1;
            }
            Err(e) => {
                let _ = writeln!(warn, "skipping: {}", crate::report(&e));
            }
        }
    }
    if read == 0 {
        return Err(Error::NoGradingNotebooks {
            base: base.into(),
            dir: dir.into(),
        });
    }
    Ok(scores)
}

/// Collects the scores of `dir` and writes the CSV to `output` (atomically).
pub fn run(
    dir: &Path,
    base: &str,
    format: Format,
    output: &Path,
    warn: &mut dyn Write,
) -> Result<Scores> {
    let scores = collect(dir, base, warn)?;
    let assignment = base.strip_suffix(".ipynb").unwrap_or(base);
    fsutil::write_atomic(output, render(&scores, format, assignment).as_bytes(), None)?;
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_numbers_come_from_the_digit_prefix() {
        assert_eq!(problem_number("002-t.ipynb", "t.ipynb"), Some(2));
        assert_eq!(problem_number("1234-t.ipynb", "t.ipynb"), Some(1234));
        assert_eq!(problem_number("x02-t.ipynb", "t.ipynb"), None);
        assert_eq!(problem_number("-t.ipynb", "t.ipynb"), None);
        assert_eq!(problem_number("002_t.ipynb", "t.ipynb"), None);
    }

    #[test]
    fn scores_parse_like_atoi_on_the_first_line() {
        assert_eq!(parse_score("10"), Ok(10.0));
        assert_eq!(parse_score(" 7 points\nmore"), Ok(7.0));
        assert_eq!(parse_score("2.5"), Ok(2.5));
        assert_eq!(parse_score(""), Ok(0.0));
        assert_eq!(parse_score("\"quoted\""), Ok(0.0));
        assert_eq!(parse_score("-3"), Ok(-3.0));
        assert!(parse_score("ten").is_err());
    }

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(quote("alice"), "alice");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("a\nb"), "\"a\nb\"");
    }

    fn sample() -> Scores {
        let mut s = Scores {
            problems: vec![1, 2],
            ..Scores::default()
        };
        s.users.insert("b,ob".into(), BTreeMap::from([(1, 3.0)]));
        s.users
            .insert("alice".into(), BTreeMap::from([(1, 5.0), (2, 2.5)]));
        s
    }

    #[test]
    fn renders_the_three_layouts() {
        let s = sample();
        assert_eq!(
            render(&s, Format::Rfc4180, "t"),
            "Name,P001,P002,Total\r\nalice,5,2.5,7.5\r\n\"b,ob\",3,0,3\r\n"
        );
        assert_eq!(
            render(&s, Format::Legacy, "t"),
            "Name, P001, P002, Total\nalice, 5, 2.5, 7.5\nb,ob, 3, 0, 3\n"
        );
        assert_eq!(
            render(&s, Format::Nbgrader, "t"),
            "assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score,\
             late_submission_penalty,score,max_score\r\n\
             t,,,alice,,,,7.5,0,7.5,\r\nt,,,\"b,ob\",,,,3,0,3,\r\n"
        );
    }

    #[test]
    fn csv_name_drops_the_extension() {
        assert_eq!(csv_name("task.ipynb"), "task.csv");
    }
}
