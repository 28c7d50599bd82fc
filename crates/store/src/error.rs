//! Turns SQLite failures into [`lticontainer_core::Error`]s that name the file and the cause.

use std::path::Path;

use lticontainer_core::Error;
use rusqlite::ErrorCode;

/// The backend name in errors and logs.
pub(crate) const BACKEND: &str = "sqlite";

/// Maps a rusqlite error for the database at `path`.
///
/// Conditions an admin must fix (disk full, file read-only or unopenable, database locked by
/// another process, corrupt file) become [`Error::Unavailable`] with a hint; the rest stay
/// [`Error::Backend`] with the cause as source.
pub(crate) fn map(path: &Path, err: rusqlite::Error) -> Error {
    let hint = match err.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => {
            Some("the disk (or the database size limit) is full; free space")
        }
        Some(ErrorCode::ReadOnly) => {
            Some("the database file is read-only; make it and its directory writable")
        }
        Some(ErrorCode::CannotOpen) => {
            Some("cannot open the database file; check that its directory exists and is writable")
        }
        Some(ErrorCode::PermissionDenied) => {
            Some("permission denied; check the file's owner and mode")
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Some(
            "the database is locked by another process; is a second hub running on the same file?",
        ),
        Some(ErrorCode::SystemIoFailure) => Some("an I/O error occurred; check the disk"),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            Some("the file is not a valid lticontainer database; move it away to start afresh")
        }
        _ => None,
    };
    match hint {
        Some(hint) => {
            let detail = format!("{}: {err} ({hint})", path.display());
            Error::unavailable_because(BACKEND, detail, err)
        }
        None => Error::Backend {
            backend: BACKEND,
            source: Box::new(err),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sqlite_err(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn disk_full_is_unavailable_and_names_the_file() {
        let err = map(
            Path::new("/x/state.sqlite"),
            sqlite_err(rusqlite::ffi::SQLITE_FULL),
        );
        let text = err.to_string();
        assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
        assert!(
            text.contains("/x/state.sqlite") && text.contains("full"),
            "{text}"
        );
        let source = std::error::Error::source(&err).expect("SQLite's error is the source");
        assert!(
            source.downcast_ref::<rusqlite::Error>().is_some(),
            "{source:?}"
        );
    }

    #[test]
    fn read_only_and_unopenable_files_say_what_to_fix() {
        for (code, hint) in [
            (rusqlite::ffi::SQLITE_READONLY, "read-only"),
            (rusqlite::ffi::SQLITE_CANTOPEN, "cannot open"),
            (rusqlite::ffi::SQLITE_PERM, "permission denied"),
            (rusqlite::ffi::SQLITE_IOERR, "I/O error"),
        ] {
            let err = map(Path::new("/var/lib/x.sqlite"), sqlite_err(code));
            assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
            let text = err.to_string();
            assert!(
                text.contains("/var/lib/x.sqlite") && text.contains(hint),
                "{text}"
            );
        }
    }

    #[test]
    fn busy_names_a_second_hub() {
        let err = map(Path::new("db"), sqlite_err(rusqlite::ffi::SQLITE_BUSY));
        assert!(err.to_string().contains("second hub"), "{err}");
    }

    #[test]
    fn other_errors_keep_their_source() {
        let err = map(Path::new("db"), rusqlite::Error::InvalidQuery);
        assert!(
            matches!(
                err,
                Error::Backend {
                    backend: "sqlite",
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
