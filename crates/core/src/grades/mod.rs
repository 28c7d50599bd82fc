//! Grades back to the LMS, the pure part: where a student's grade goes ([`GradeTarget`], read
//! from each launch), the scores the grading tools produce ([`ScoreTable`], `tocsv`'s CSV), and
//! LTI 1.1 Basic Outcomes ([`outcomes`]: the `replaceResult` message, its OAuth body-hash
//! signature and Moodle's answer) and LTI 1.3 Assignment and Grade Services ([`ags`]: the
//! service token's assertion, line items, scores). `lticontainer-hub`'s `grades` module sends them.

pub mod ags;
mod csv;
pub mod outcomes;
mod target;

pub use csv::{CsvError, MAX_ROWS, Score, ScoreTable};
pub use target::{GradeTarget, activity_of};
