//! [`ScoreTable`]: the scores `tocsv` writes (`crates/tools/src/tocsv.rs`), read back: RFC 4180
//! (`Name,P001,…,Total`, quoted fields, CRLF or LF) and the original's legacy layout
//! (`Name, P001, …, Total`, `", "` separators, unquoted). Fields are trimmed, so both read alike.

/// The most rows (students) a table may have.
pub const MAX_ROWS: usize = 10_000;

/// Why a CSV could not be read as scores; the text speaks to the teacher.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsvError {
    /// No header line.
    #[error("the CSV is empty: paste or upload the file tocsv wrote (Name,P001,…,Total)")]
    Empty,
    /// The first column is not the students' names.
    #[error("the CSV's first column is {0:?}, not Name: is this the file tocsv wrote?")]
    NoNameColumn(String),
    /// A quoted field does not end.
    #[error("line {0}: a quoted field does not end")]
    Unterminated(usize),
    /// A row has more fields than the header.
    #[error("line {line}: {found} fields, the header has {expected}")]
    Width {
        /// The line (1-based).
        line: usize,
        /// Fields in the header.
        expected: usize,
        /// Fields in the line.
        found: usize,
    },
    /// The column asked for is not in the header.
    #[error("the CSV has no column {asked:?}; it has {have}")]
    NoColumn {
        /// The column asked for.
        asked: String,
        /// The columns there are, comma-separated.
        have: String,
    },
    /// Too many rows.
    #[error("the CSV has more than {MAX_ROWS} rows")]
    TooLarge,
}

/// A table of scores: a header (`Name` first) and one row per student.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreTable {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// One student's score in one column.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// The name in the `Name` column.
    pub name: String,
    /// The score, or the text when it is not a number.
    pub value: Result<f64, String>,
}

impl ScoreTable {
    /// Reads `text` (either layout).
    ///
    /// # Errors
    /// [`CsvError`] saying what is wrong and where.
    pub fn parse(text: &str) -> Result<Self, CsvError> {
        let mut records = records(text)?.into_iter();
        let (_, header) = records.next().ok_or(CsvError::Empty)?;
        let first = header.first().cloned().unwrap_or_default();
        if !first.eq_ignore_ascii_case("name") {
            return Err(CsvError::NoNameColumn(first));
        }
        let mut rows = Vec::new();
        for (line, row) in records {
            if row.iter().all(String::is_empty) {
                continue;
            }
            if row.len() > header.len() {
                return Err(CsvError::Width {
                    line,
                    expected: header.len(),
                    found: row.len(),
                });
            }
            if rows.len() == MAX_ROWS {
                return Err(CsvError::TooLarge);
            }
            rows.push(row);
        }
        Ok(Self { header, rows })
    }

    /// The score columns (`P001`, …, `Total`), in order.
    pub fn columns(&self) -> &[String] {
        self.header.get(1..).unwrap_or_default()
    }

    /// Each student's value in `column` (matched without regard to case), in the table's order;
    /// an empty cell is 0, as `tocsv` writes a missing score.
    ///
    /// # Errors
    /// [`CsvError::NoColumn`] naming the columns there are.
    pub fn column(&self, column: &str) -> Result<Vec<Score>, CsvError> {
        let index = self
            .header
            .iter()
            .skip(1)
            .position(|h| h.eq_ignore_ascii_case(column.trim()))
            .map(|i| i + 1)
            .ok_or_else(|| CsvError::NoColumn {
                asked: column.to_owned(),
                have: self.columns().join(", "),
            })?;
        Ok(self
            .rows
            .iter()
            .map(|row| {
                let cell = row.get(index).map_or("", String::as_str);
                let value = if cell.is_empty() {
                    Ok(0.0)
                } else {
                    cell.parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .ok_or_else(|| cell.to_owned())
                };
                Score {
                    name: row.first().cloned().unwrap_or_default(),
                    value,
                }
            })
            .collect())
    }
}

/// The records of `text` with their first line numbers, fields trimmed.
fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        loop {
            match chars.next() {
                None => {
                    if quoted {
                        return Err(CsvError::Unterminated(start));
                    }
                    break;
                }
                Some('"') if quoted => {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                }
                Some('"') if field.trim().is_empty() => {
                    field.clear();
                    quoted = true;
                }
                Some(',') if !quoted => fields.push(std::mem::take(&mut field).trim().to_owned()),
                Some('\r') if !quoted && chars.peek() == Some(&'\n') => {}
                Some('\n') if !quoted => {
                    line += 1;
                    break;
                }
                Some(c) => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
        }
        fields.push(field.trim().to_owned());
        out.push((start, fields));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rfc4180_layout() {
        let t =
            ScoreTable::parse("Name,P001,P002,Total\r\n\"a,b\",1,2.5,3.5\r\nbob,0,,0\r\n").unwrap();
        assert_eq!(t.columns(), ["P001", "P002", "Total"]);
        let total = t.column("total").unwrap();
        assert_eq!(total[0].name, "a,b");
        assert_eq!(total[0].value, Ok(3.5));
        let p2 = t.column("P002").unwrap();
        assert_eq!(
            p2[1].value,
            Ok(0.0),
            "an empty cell is 0, as tocsv writes it"
        );
    }

    #[test]
    fn reads_the_legacy_layout() {
        let t = ScoreTable::parse("Name, P001, Total\nalice, 7, 7\nbob, x, 0\n").unwrap();
        let p = t.column("P001").unwrap();
        assert_eq!((p[0].name.as_str(), p[0].value.clone()), ("alice", Ok(7.0)));
        assert_eq!(p[1].value, Err("x".to_owned()));
    }

    #[test]
    fn says_what_is_wrong() {
        assert_eq!(ScoreTable::parse(""), Err(CsvError::Empty));
        assert!(matches!(
            ScoreTable::parse("User,P001\n"),
            Err(CsvError::NoNameColumn(_))
        ));
        assert_eq!(
            ScoreTable::parse("Name,P001\n\"a,1\n"),
            Err(CsvError::Unterminated(2))
        );
        assert!(matches!(
            ScoreTable::parse("Name,P001\na,1,2\n"),
            Err(CsvError::Width { line: 2, .. })
        ));
        let t = ScoreTable::parse("Name,P001,Total\n").unwrap();
        let err = t.column("P009").unwrap_err();
        assert!(err.to_string().contains("P001, Total"), "{err}");
    }

    #[test]
    fn reads_what_tocsv_quotes() {
        let t = ScoreTable::parse("Name,Total\n\"say \"\"hi\"\"\",1\n").unwrap();
        assert_eq!(t.column("Total").unwrap()[0].name, "say \"hi\"");
    }
}
