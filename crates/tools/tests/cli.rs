//! The binary: dispatch by name or subcommand, exit statuses, messages.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use crate::util::{copy_submissions, fixtures};

const BIN: &str = env!("CARGO_BIN_EXE_lticontainer-tools");

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn tools(args: &[&str], cwd: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env_remove("NB_SUBMITS")
        .env_remove("NB_PRSNALS")
        .output()
        .expect("run the tools binary")
}

#[test]
fn usage_errors_exit_2_with_the_usage() {
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [
        &[][..],
        &["frobnicate"],
        &["extract", "task.ipynb"],
        &["extract", "t.txt", "1"],
        &["tocsv"],
        &["extract", "--bogus", "t.ipynb", "1"],
        &["conv", "a", "b", "0"],
    ] {
        let o = tools(args, dir.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(text(&o).1.contains("usage:"), "{args:?}: {}", text(&o).1);
    }
    let o = tools(&["--help"], dir.path());
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn a_link_named_after_a_command_runs_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("submit");
    std::os::unix::fs::symlink(BIN, &link).expect("symlink");
    let o = Command::new(&link)
        .current_dir(dir.path())
        .env("NB_SUBMITS", "")
        .output()
        .expect("run submit");
    assert_eq!(o.status.code(), Some(1));
    let (_, err) = text(&o);
    assert!(err.starts_with("submit: no submit volume"), "{err}");
}

#[test]
fn extract_and_tocsv_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_submissions(
        dir.path(),
        &["alice_task.ipynb", "bob_2_task.ipynb", "carol_task.ipynb"],
    );
    let o = tools(&["extract", "task.ipynb", "2", "n"], dir.path());
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        out.contains("002-task.ipynb written (2 submissions: alice, bob_2)"),
        "{out}"
    );
    assert!(
        err.contains("skipping:") && err.contains("carol_task.ipynb"),
        "{err}"
    );
    let o = tools(&["tocsv", "-o", "-", "task.ipynb"], dir.path());
    assert_eq!(text(&o).0, "Name,P002,Total\r\nalice,0,0\r\nbob_2,0,0\r\n");
    let o = tools(&["tocsv", "--legacy", "task.ipynb"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    let csv = fs::read_to_string(dir.path().join("task.csv")).expect("csv written");
    assert_eq!(csv, "Name, P002, Total\nalice, 0, 0\nbob_2, 0, 0\n");
}

#[test]
fn errors_name_the_cause_and_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = tools(&["extract", "task.ipynb", "1"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).1.contains("no submissions named"),
        "{}",
        text(&o).1
    );
    let o = tools(&["tocsv", "task.ipynb"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("run extract first"), "{}", text(&o).1);
    let o = tools(&["conv", "missing.ipynb", "-"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("missing.ipynb"), "{}", text(&o).1);
    let raw = fixtures().join("task_raw.ipynb");
    let o = tools(
        &["ipynb_conv", raw.to_str().expect("utf8 path"), "-", "5"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).0.contains("\"codenum:20\""));
}
