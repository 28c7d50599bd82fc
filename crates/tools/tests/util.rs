//! Shared helpers: fixture paths and comparison with committed expected files.

use std::fs;
use std::path::{Path, PathBuf};

/// The fixtures directory.
pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Compares `actual` with the committed file `fixtures/expected/<name>`. With
/// `LTICONTAINER_BLESS=1` it writes the file instead (review the diff before committing).
pub(crate) fn assert_expected(name: &str, actual: &str) {
    let path = fixtures().join("expected").join(name);
    if std::env::var_os("LTICONTAINER_BLESS").is_some() {
        fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir expected");
        fs::write(&path, actual).expect("bless expected file");
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "read {}: {e} (LTICONTAINER_BLESS=1 writes it)",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs from the output:\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// Copies the fixture submissions whose names are in `names` into `dir`.
pub(crate) fn copy_submissions(dir: &Path, names: &[&str]) {
    for n in names {
        fs::copy(fixtures().join("submissions").join(n), dir.join(n)).expect("copy fixture");
    }
}
