//! The one error type every [`Runtime`](crate::Runtime) and store speaks.
//!
//! Backends keep their own private error enums and convert into this one, mapping engine
//! replies onto the semantic variants (404 → [`Error::NotFound`], 409 → [`Error::AlreadyExists`],
//! a refused or missing socket → [`Error::Unavailable`]).

/// A boxed error from a client library, kept as the `source` of [`Error::Backend`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in terms the hub can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The thing does not exist (an image, a container, a volume, a user).
    #[error("{what} not found")]
    NotFound {
        /// What was missing, e.g. `image "busybox:latest"` or `container "abc"`.
        what: String,
    },
    /// The thing exists already (e.g. a container name in use).
    #[error("{what} already exists")]
    AlreadyExists {
        /// What was already there.
        what: String,
    },
    /// The caller may not do this.
    #[error("not authorised: {reason}")]
    Unauthorized {
        /// Why not, for the admin's log.
        reason: String,
    },
    /// The engine or store cannot be reached (socket missing, connection refused, timed out).
    #[error("{backend} is unavailable: {detail}")]
    Unavailable {
        /// Which backend, e.g. `"docker"`.
        backend: &'static str,
        /// What was tried, e.g. the socket path, and what happened.
        detail: String,
    },
    /// The backend cannot do this operation at all.
    #[error("{operation} is not supported by {backend}")]
    NotSupported {
        /// The operation, e.g. `"logs"`.
        operation: &'static str,
        /// The backend, e.g. `"memory"`.
        backend: &'static str,
    },
    /// The request itself is wrong (a spec that breaks policy, a bad name, a value out of range).
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong and what would be right.
        reason: String,
    },
    /// Anything else the backend reported; the cause is kept as the source.
    #[error("{backend} failed")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// The client library's error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// Builds [`Error::NotFound`] from anything printable.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// Builds [`Error::AlreadyExists`] from anything printable.
    pub fn already_exists(what: impl Into<String>) -> Self {
        Self::AlreadyExists { what: what.into() }
    }

    /// Builds [`Error::InvalidInput`] from anything printable.
    pub fn invalid(reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            reason: reason.into(),
        }
    }

    /// True for [`Error::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}
