//! `extract`, `tocsv`, `conv` and `setup` on the committed notebooks.

use std::fs;
use std::path::Path;

use lticontainer_tools::notebook::{self, Notebook};
use lticontainer_tools::{Error, conv, extract, tocsv};
use serde_json::Value;

use crate::util::{assert_expected, copy_submissions, fixtures};

const ALL: [&str; 5] = [
    "alice_task.ipynb",
    "bob_2_task.ipynb",
    "carol_task.ipynb",
    "dave_task.ipynb",
    "notes.txt",
];

fn opts(codenums: Vec<u32>, include_untagged: bool) -> extract::Options {
    extract::Options {
        base: "task.ipynb".into(),
        codenums,
        include_untagged,
    }
}

#[test]
fn extract_builds_the_grading_notebook_and_skips_malformed_submissions() {
    let src = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    copy_submissions(src.path(), &ALL);
    let mut warn = Vec::new();
    let report =
        extract::run(src.path(), out.path(), &opts(vec![2], true), &mut warn).expect("extract");
    assert_eq!(report.output, out.path().join("002-task.ipynb"));
    assert_eq!(report.users, ["alice", "bob_2"]);
    let skipped: Vec<_> = report.skipped.iter().map(|(p, _)| p.file_name()).collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    let warn = String::from_utf8(warn).expect("utf8");
    assert!(
        warn.contains("carol_task.ipynb") && warn.contains("dave_task.ipynb"),
        "{warn}"
    );
    let text = fs::read_to_string(&report.output).expect("read output");
    assert_expected("002-task.ipynb", &text);

    let nb = Notebook::parse(&text).expect("the output is a valid notebook");
    let sources: Vec<String> = nb.cells().iter().map(notebook::source_text).collect();
    assert_eq!(sources[0], "## alice");
    assert!(
        sources.contains(&"## bob_2".to_owned()),
        "user names keep their _"
    );
    // bob_2 inserted an untagged cell: it comes along with question 2.
    assert!(sources.iter().any(|s| s.contains("# 追加")));
    let score_cells: Vec<&Value> = nb
        .cells()
        .iter()
        .filter(|c| notebook::codenum(c) == Some(999))
        .collect();
    assert_eq!(score_cells.len(), 2);
    assert_eq!(
        notebook::tags(score_cells[1]).collect::<Vec<_>>(),
        ["user: bob_2", "codenum:999"]
    );
    let ids: std::collections::HashSet<&str> = nb
        .cells()
        .iter()
        .filter_map(|c| c.get("id")?.as_str())
        .collect();
    assert_eq!(ids.len(), nb.cells().len(), "every cell has a unique id");
}

#[test]
fn extract_only_tagged_with_several_codenums_is_named_after_the_first() {
    let src = tempfile::tempdir().expect("tempdir");
    copy_submissions(src.path(), &ALL[..2]);
    let report = extract::run(
        src.path(),
        src.path(),
        &opts(vec![4, 3], false),
        &mut Vec::new(),
    )
    .expect("extract");
    assert_eq!(report.output, src.path().join("004-task.ipynb"));
    let text = fs::read_to_string(&report.output).expect("read");
    assert_expected("004-task.ipynb", &text);
    assert!(
        !text.contains("# 追加"),
        "untagged cells stay out with --only-tagged"
    );
}

#[test]
fn extract_without_submissions_says_so() {
    let src = tempfile::tempdir().expect("tempdir");
    copy_submissions(src.path(), &["notes.txt"]);
    let e = extract::run(
        src.path(),
        src.path(),
        &opts(vec![1], true),
        &mut Vec::new(),
    )
    .expect_err("nothing to extract");
    assert!(matches!(e, Error::NoSubmissions { .. }), "{e:?}");
    // Only malformed submissions: still nothing usable.
    copy_submissions(src.path(), &["carol_task.ipynb"]);
    let e = extract::run(
        src.path(),
        src.path(),
        &opts(vec![1], true),
        &mut Vec::new(),
    )
    .expect_err("nothing valid");
    assert!(matches!(e, Error::NoSubmissions { .. }), "{e:?}");
}

/// Types `score` into the score cell of `user` in the grading notebook at `path`.
fn grade(path: &Path, scores: &[(&str, &str)]) {
    let mut nb = Notebook::read(path).expect("read grading notebook");
    for cell in nb.cells_mut() {
        let user = notebook::tags(cell)
            .find_map(|t| t.strip_prefix("user: "))
            .map(str::to_owned);
        if let Some(user) = user
            && let Some((_, s)) = scores.iter().find(|(u, _)| *u == user)
        {
            cell["source"] = Value::String((*s).to_owned());
        }
    }
    nb.write(path).expect("write graded notebook");
}

#[test]
fn tocsv_collects_scores_in_three_layouts() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_submissions(dir.path(), &ALL[..2]);
    for nums in [vec![2], vec![3], vec![4]] {
        extract::run(dir.path(), dir.path(), &opts(nums, true), &mut Vec::new()).expect("extract");
    }
    grade(
        &dir.path().join("002-task.ipynb"),
        &[("alice", "10"), ("bob_2", "8  # 挨拶")],
    );
    grade(
        &dir.path().join("003-task.ipynb"),
        &[("alice", "5"), ("bob_2", "2.5")],
    );
    // Question 4: bob's score left at the default 0, alice's typed as a word (counted 0, warned).
    grade(&dir.path().join("004-task.ipynb"), &[("alice", "ten")]);
    let mut warn = Vec::new();
    let out = dir.path().join("task.csv");
    tocsv::run(
        dir.path(),
        "task.ipynb",
        tocsv::Format::Rfc4180,
        &out,
        &mut warn,
    )
    .expect("tocsv");
    let warn = String::from_utf8(warn).expect("utf8");
    assert!(
        warn.contains("004-task.ipynb") && warn.contains("alice"),
        "{warn}"
    );
    assert_expected("task.csv", &fs::read_to_string(&out).expect("read csv"));
    for (format, name) in [
        (tocsv::Format::Legacy, "task.legacy.csv"),
        (tocsv::Format::Nbgrader, "task.nbgrader.csv"),
    ] {
        let out = dir.path().join(name);
        tocsv::run(dir.path(), "task.ipynb", format, &out, &mut Vec::new()).expect("tocsv");
        assert_expected(name, &fs::read_to_string(&out).expect("read csv"));
    }
}

#[test]
fn tocsv_skips_a_malformed_grading_notebook_and_fails_without_any() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = tocsv::collect(dir.path(), "task.ipynb", &mut Vec::new()).expect_err("empty dir");
    assert!(matches!(e, Error::NoGradingNotebooks { .. }), "{e:?}");
    fs::write(dir.path().join("001-task.ipynb"), "{").expect("write");
    let e = tocsv::collect(dir.path(), "task.ipynb", &mut Vec::new()).expect_err("only broken");
    assert!(matches!(e, Error::NoGradingNotebooks { .. }), "{e:?}");
    copy_submissions(dir.path(), &ALL[..2]);
    extract::run(
        dir.path(),
        dir.path(),
        &opts(vec![2], true),
        &mut Vec::new(),
    )
    .expect("extract");
    let mut warn = Vec::new();
    let scores = tocsv::collect(dir.path(), "task.ipynb", &mut warn).expect("one good notebook");
    assert_eq!(scores.problems, [2]);
    assert_eq!(scores.users.len(), 2);
    assert!(
        String::from_utf8(warn)
            .expect("utf8")
            .contains("001-task.ipynb")
    );
}

#[test]
fn conv_tags_the_task_like_the_original() {
    let mut out = Vec::new();
    conv::conv_file(&fixtures().join("task_raw.ipynb"), None, 1, &mut out).expect("conv");
    let text = String::from_utf8(out).expect("utf8");
    assert_expected("task_tagged.ipynb", &text);
    let nb = Notebook::parse(&text).expect("valid");
    let nums: Vec<Option<u32>> = nb.cells().iter().map(notebook::codenum).collect();
    assert_eq!(
        nums,
        [None, Some(1), None, Some(2), None, Some(3), None, Some(4)]
    );
}

#[test]
fn setup_tags_the_personal_copies_of_task_notebooks_only() {
    let task = tempfile::tempdir().expect("tempdir");
    let personal = tempfile::tempdir().expect("tempdir");
    let raw = fixtures().join("task_raw.ipynb");
    fs::create_dir(task.path().join("week1")).expect("mkdir");
    fs::copy(&raw, task.path().join("week1/task.ipynb")).expect("copy");
    fs::copy(&raw, task.path().join("other.ipynb")).expect("copy");
    fs::create_dir(personal.path().join("week1")).expect("mkdir");
    fs::copy(&raw, personal.path().join("week1/task.ipynb")).expect("copy");
    fs::copy(&raw, personal.path().join("mine.ipynb")).expect("copy");
    // A link planted in the personal volume must not redirect the write.
    let victim = tempfile::tempdir().expect("tempdir");
    fs::copy(&raw, victim.path().join("other.ipynb")).expect("copy");
    std::os::unix::fs::symlink(
        victim.path().join("other.ipynb"),
        personal.path().join("other.ipynb"),
    )
    .expect("symlink");
    let n = conv::setup(task.path(), personal.path(), 10, &mut Vec::new()).expect("setup");
    assert_eq!(n, 1);
    let tagged = Notebook::read(&personal.path().join("week1/task.ipynb")).expect("read");
    let nums: Vec<u32> = tagged
        .cells()
        .iter()
        .filter_map(notebook::codenum)
        .collect();
    assert_eq!(nums, [10, 20, 30, 40]);
    let raw_text = fs::read_to_string(&raw).expect("read");
    assert_eq!(
        fs::read_to_string(personal.path().join("mine.ipynb")).expect("read"),
        raw_text
    );
    assert_eq!(
        fs::read_to_string(victim.path().join("other.ipynb")).expect("read"),
        raw_text
    );
}

#[test]
fn setup_reports_a_malformed_personal_notebook_and_goes_on() {
    let task = tempfile::tempdir().expect("tempdir");
    let personal = tempfile::tempdir().expect("tempdir");
    let raw = fixtures().join("task_raw.ipynb");
    for name in ["a.ipynb", "b.ipynb"] {
        fs::copy(&raw, task.path().join(name)).expect("copy");
    }
    fs::write(personal.path().join("a.ipynb"), "{\"nbformat\": 4").expect("write");
    fs::copy(&raw, personal.path().join("b.ipynb")).expect("copy");
    let mut warn = Vec::new();
    let n = conv::setup(task.path(), personal.path(), 1, &mut warn).expect("setup");
    assert_eq!(n, 1);
    let warn = String::from_utf8(warn).expect("utf8");
    assert!(
        warn.contains("a.ipynb") && warn.contains("not a valid Jupyter notebook"),
        "{warn}"
    );
    assert_eq!(
        fs::read_to_string(personal.path().join("a.ipynb")).expect("read"),
        "{\"nbformat\": 4",
        "a malformed notebook is left as it was"
    );
}

#[test]
fn deploy_tags_notebooks_copies_other_files_and_skips_malformed_ones() {
    use std::os::unix::fs::PermissionsExt;
    let src = tempfile::tempdir().expect("tempdir");
    let dest = tempfile::tempdir().expect("tempdir");
    fs::copy(
        fixtures().join("task_raw.ipynb"),
        src.path().join("task.ipynb"),
    )
    .expect("copy");
    fs::write(src.path().join("data.csv"), "x,y\n1,2\n").expect("write");
    fs::set_permissions(
        src.path().join("data.csv"),
        fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    fs::write(src.path().join("broken.ipynb"), "{").expect("write");
    fs::write(src.path().join(".hidden"), "no").expect("write");
    let mut out = Vec::new();
    let e = lticontainer_tools::deploy::run(src.path(), dest.path(), 1, &mut out)
        .expect_err("one file is malformed");
    assert!(
        matches!(
            e,
            Error::Partial {
                failed: 1,
                total: 3
            }
        ),
        "{e:?}"
    );
    let out = String::from_utf8(out).expect("utf8");
    assert!(
        out.contains("broken.ipynb") && out.contains("task.ipynb deployed."),
        "{out}"
    );
    let mut names: Vec<String> = fs::read_dir(dest.path())
        .expect("list")
        .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    assert_eq!(names, ["data.csv", "task.ipynb"]);
    let mode = fs::metadata(dest.path().join("data.csv"))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
    let nb = Notebook::read(&dest.path().join("task.ipynb")).expect("deployed notebook");
    let tags: Vec<Vec<&str>> = nb
        .cells()
        .iter()
        .filter(|c| notebook::cell_type(c) == "code")
        .map(|c| notebook::tags(c).collect())
        .collect();
    assert_eq!(tags[0], ["filename:task.ipynb", "codenum:1"]);
    assert_eq!(tags[3], ["filename:task.ipynb", "codenum:4"]);
    let e =
        lticontainer_tools::deploy::run(src.path(), &dest.path().join("nope"), 1, &mut Vec::new())
            .expect_err("no destination");
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
}
