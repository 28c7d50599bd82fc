//! Reading and writing real notebooks.

use std::fs;

use lticontainer_tools::Error;
use lticontainer_tools::notebook::{self, Notebook};

use crate::util::fixtures;

#[test]
fn rewrites_nbformat_files_byte_for_byte() {
    for name in ["alice_task.ipynb", "bob_2_task.ipynb"] {
        let path = fixtures().join("submissions").join(name);
        let text = fs::read_to_string(&path).expect("read fixture");
        let nb = Notebook::read(&path).expect("valid notebook");
        assert_eq!(
            nb.to_json(),
            text,
            "{name} changed on a read/write round trip"
        );
    }
}

#[test]
fn keeps_outputs_attachments_and_non_ascii_text() {
    let nb = Notebook::read(&fixtures().join("submissions/alice_task.ipynb")).expect("valid");
    let cells = nb.cells();
    assert!(
        cells[0]
            .pointer("/attachments/logo.png/image~1png")
            .is_some()
    );
    assert!(notebook::source_text(&cells[0]).contains("課題 1"));
    let outputs: usize = cells
        .iter()
        .filter_map(|c| c.get("outputs")?.as_array().map(Vec::len))
        .sum();
    assert_eq!(outputs, 3);
    assert_eq!(notebook::codenum(&cells[3]), Some(2));
}

#[test]
fn names_the_file_and_the_fault_of_malformed_notebooks() {
    for (name, fault) in [
        ("carol_task.ipynb", "invalid JSON"),
        ("dave_task.ipynb", "nbformat 3"),
    ] {
        let path = fixtures().join("submissions").join(name);
        match Notebook::read(&path) {
            Err(Error::Malformed { path: p, reason }) => {
                assert_eq!(p, path);
                assert!(reason.contains(fault), "{name}: {reason}");
            }
            other => panic!("{name}: expected Malformed, got {other:?}"),
        }
    }
}

#[test]
fn rejects_each_kind_of_bad_structure() {
    let cases = [
        ("[]", "not a JSON object"),
        (r#"{"cells":[]}"#, "no \"nbformat\""),
        (r#"{"nbformat":4}"#, "no \"cells\""),
        (r#"{"nbformat":4,"cells":[1]}"#, "not an object"),
        (r#"{"nbformat":4,"cells":[{"source":""}]}"#, "no cell_type"),
        (
            r#"{"nbformat":4,"cells":[{"cell_type":"x","source":""}]}"#,
            "unknown cell_type",
        ),
        (
            r#"{"nbformat":4,"cells":[{"cell_type":"code","source":[1]}]}"#,
            "source",
        ),
    ];
    for (text, fault) in cases {
        let e = Notebook::parse(text).expect_err(text);
        assert!(e.contains(fault), "{text}: {e}");
    }
}

#[test]
fn reports_a_file_that_is_not_utf8() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("x.ipynb");
    fs::write(&p, b"\xff\xfe{}").expect("write");
    assert!(matches!(Notebook::read(&p), Err(Error::Malformed { .. })));
}
