//! The errors of the tools, each worded for the student or teacher who runs them.

use std::io;
use std::path::PathBuf;

/// A failure of one of the tools; its message tells the user what happened and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command line is wrong; the message carries the usage.
    #[error("{0}")]
    Usage(String),
    /// `NB_SUBMITS` names no submit volume.
    #[error(
        "no submit volume is mounted in this container (NB_SUBMITS is empty): \
         ask your teacher to add a submit volume to the activity, then restart your server"
    )]
    NoSubmitVolume,
    /// `NB_SUBMITS` names a volume whose directory does not exist.
    #[error(
        "the submit volume \"{display}\" is not mounted (no directory {path}): \
         restart your server from the course page; if it persists, tell your teacher"
    )]
    SubmitVolumeMissing {
        /// The name the user sees.
        display: String,
        /// The directory that should exist.
        path: PathBuf,
    },
    /// The submit volume refuses writes: it is mounted read-only or closed.
    #[error(
        "the submission deadline for \"{display}\" has passed: the submit volume is closed ({cause})"
    )]
    DeadlinePassed {
        /// The name the user sees.
        display: String,
        /// What the system said (read-only file system, permission denied).
        cause: io::Error,
    },
    /// The submission's name is held by a file of another user in the drop box.
    #[error(
        "{path} exists and belongs to someone else, so it cannot be replaced: tell your teacher"
    )]
    NameTaken {
        /// The file that could not be replaced.
        path: PathBuf,
    },
    /// No `<user>_<base>` file exists in the submit directory.
    #[error("no submissions named \"<user>_{base}\" in {dir}")]
    NoSubmissions {
        /// The notebook name looked for.
        base: String,
        /// The directory searched.
        dir: PathBuf,
    },
    /// No `NNN-<base>` grading notebook exists for `tocsv`.
    #[error("no grading notebooks named \"NNN-{base}\" in {dir}: run extract first")]
    NoGradingNotebooks {
        /// The notebook name looked for.
        base: String,
        /// The directory searched.
        dir: PathBuf,
    },
    /// A file is not a readable nbformat 4 notebook.
    #[error("{path} is not a valid Jupyter notebook: {reason}")]
    Malformed {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Some of several files failed; each was reported already.
    #[error("{failed} of {total} files failed (see the messages above)")]
    Partial {
        /// How many files failed.
        failed: usize,
        /// How many files were attempted.
        total: usize,
    },
    /// A file system operation failed.
    #[error("cannot {action} {path}")]
    Io {
        /// What was attempted ("read", "write", "list" …).
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The cause reported by the system.
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// Builds an [`Error::Io`] for `action` on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }
}

/// The result type of the tools.
pub type Result<T, E = Error> = std::result::Result<T, E>;
