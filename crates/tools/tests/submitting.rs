//! `submit` in temporary directories laid out like a container's work directory.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use lticontainer_tools::Error;
use lticontainer_tools::submit::{self, Outcome};
use lticontainer_tools::volumes::{Env, parse_list};

use crate::util::fixtures;

/// A work directory with a submit volume and a personal volume holding alice's notebook.
fn layout(root: &Path) -> Env {
    let work = root.join("jupyter/works");
    fs::create_dir_all(work.join(".volumes/lms_sub_s_1_h")).expect("mkdir");
    fs::create_dir_all(work.join(".volumes/lms_prs_t_1_h")).expect("mkdir");
    fs::copy(
        fixtures().join("submissions/alice_task.ipynb"),
        work.join(".volumes/lms_prs_t_1_h/task.ipynb"),
    )
    .expect("copy");
    Env {
        work_dir: work,
        submits: parse_list(".volumes/lms_sub_s_1_h:-提出箱"),
        personals: parse_list(".volumes/lms_prs_t_1_h:-mine"),
    }
}

fn run(env: &Env, files: &[&str], cwd: &Path) -> (Result<Vec<(PathBuf, Outcome)>, Error>, String) {
    let mut out = Vec::new();
    let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    let r = submit::run(env, "alice", &files, cwd, &mut out);
    (r, String::from_utf8(out).expect("utf8"))
}

#[test]
fn submits_diffs_and_warns_when_nothing_changed() {
    let root = tempfile::tempdir().expect("tempdir");
    let env = layout(root.path());
    let dest = env.work_dir.join(".volumes/lms_sub_s_1_h/alice_task.ipynb");
    let (r, out) = run(&env, &[], root.path());
    assert_eq!(r.expect("first submit")[0].1, Outcome::Submitted);
    assert_eq!(out, "task.ipynb done.\n");
    assert_eq!(
        fs::metadata(&dest).expect("submitted").permissions().mode() & 0o777,
        0o640
    );

    let (r, out) = run(&env, &[], root.path());
    assert_eq!(r.expect("resubmit")[0].1, Outcome::Unchanged);
    assert_eq!(out, "WARNING: No Changes Detected for \"task.ipynb\" !!!\n");

    let src = env.work_dir.join(".volumes/lms_prs_t_1_h/task.ipynb");
    let changed = fs::read_to_string(&src)
        .expect("read")
        .replace("こんにちは", "さようなら");
    fs::write(&src, changed).expect("edit");
    let (r, out) = run(&env, &["task.ipynb"], root.path());
    assert_eq!(r.expect("changed")[0].1, Outcome::Submitted);
    assert_eq!(out, "task.ipynb done.\n");
    assert!(
        fs::read_to_string(&dest)
            .expect("read")
            .contains("さようなら")
    );

    let log = fs::read_to_string(env.work_dir.join(".submits.log")).expect("log");
    assert_eq!(log.matches("=== ").count(), 3, "{log}");
    assert!(log.contains("previous: none"), "{log}");
    assert!(
        log.contains("WARNING: No Changes Detected for \"task.ipynb\" !!!"),
        "{log}"
    );
    assert!(
        log.contains("- ") && log.contains("さようなら"),
        "the diff is logged: {log}"
    );
    assert!(log.contains("提出箱"), "{log}");
    // No temporary file is left in the drop box.
    let names: Vec<_> = fs::read_dir(env.work_dir.join(".volumes/lms_sub_s_1_h"))
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, ["alice_task.ipynb"]);
}

#[test]
fn a_missing_file_is_reported_and_the_others_still_go() {
    let root = tempfile::tempdir().expect("tempdir");
    let env = layout(root.path());
    let (r, out) = run(&env, &["nope.ipynb", "task.ipynb"], root.path());
    assert!(
        matches!(
            r,
            Err(Error::Partial {
                failed: 1,
                total: 2
            })
        ),
        "{r:?}"
    );
    assert!(
        out.contains("nope.ipynb") && out.contains("task.ipynb done."),
        "{out}"
    );
    assert!(
        env.work_dir
            .join(".volumes/lms_sub_s_1_h/alice_task.ipynb")
            .exists()
    );
}

#[test]
fn files_in_the_current_directory_come_first() {
    let root = tempfile::tempdir().expect("tempdir");
    let env = layout(root.path());
    let cwd = root.path().join("elsewhere");
    fs::create_dir(&cwd).expect("mkdir");
    fs::write(cwd.join("report.txt"), "mine\n").expect("write");
    let (r, _) = run(&env, &["report.txt"], &cwd);
    r.expect("submit from cwd");
    let got = fs::read_to_string(env.work_dir.join(".volumes/lms_sub_s_1_h/alice_report.txt"));
    assert_eq!(got.expect("submitted"), "mine\n");
}

#[test]
fn no_submit_volume_and_unmounted_volume_are_explained() {
    let root = tempfile::tempdir().expect("tempdir");
    let mut env = layout(root.path());
    env.submits.clear();
    let (r, _) = run(&env, &[], root.path());
    let e = r.expect_err("no volume");
    assert!(matches!(e, Error::NoSubmitVolume));
    assert!(e.to_string().contains("no submit volume"));

    env.submits = parse_list(".volumes/lms_sub_gone_1_h:Gone");
    let (r, _) = run(&env, &[], root.path());
    let e = r.expect_err("missing dir");
    assert!(matches!(e, Error::SubmitVolumeMissing { .. }), "{e:?}");
    assert!(e.to_string().contains("\"Gone\""));
}

#[test]
fn nothing_to_submit_is_a_usage_error() {
    let root = tempfile::tempdir().expect("tempdir");
    let env = layout(root.path());
    fs::remove_file(env.work_dir.join(".volumes/lms_prs_t_1_h/task.ipynb")).expect("rm");
    let (r, _) = run(&env, &[], root.path());
    assert!(matches!(r, Err(Error::Usage(_))), "{r:?}");
}

#[test]
fn without_a_personal_volume_the_current_directory_is_used() {
    let root = tempfile::tempdir().expect("tempdir");
    let mut env = layout(root.path());
    env.personals.clear();
    let cwd = root.path().join("cwd");
    fs::create_dir(&cwd).expect("mkdir");
    fs::copy(
        fixtures().join("submissions/bob_2_task.ipynb"),
        cwd.join("b.ipynb"),
    )
    .expect("copy");
    fs::write(cwd.join(".hidden.ipynb"), "{}").expect("write");
    let (r, out) = run(&env, &[], &cwd);
    assert_eq!(r.expect("submit").len(), 1);
    assert_eq!(out, "b.ipynb done.\n");
    assert!(cwd.join(".submits.log").exists());
}
