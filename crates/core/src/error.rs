//! The one error type every [`Runtime`](crate::Runtime) and store speaks.
//!
//! Backends keep their own private error enums and convert into this one, mapping engine
//! replies onto the semantic variants (404 → [`Error::NotFound`], 409 → [`Error::AlreadyExists`],
//! a refused or missing socket → [`Error::Unavailable`]).

/// A boxed error from a client library, kept as the `source` of [`Error::Backend`] (and, when
/// there is one, of [`Error::NotFound`] and [`Error::Unavailable`]).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in terms the hub can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The thing does not exist (an image, a container, a volume, a user).
    ///
    /// Built with [`Error::not_found`] or [`Error::not_found_because`].
    #[error("{what} not found")]
    #[non_exhaustive]
    NotFound {
        /// What was missing, e.g. `image "busybox:latest"` or `container "abc"`.
        what: String,
        /// The client library's error that said so, when there is one.
        #[source]
        source: Option<BoxError>,
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
    ///
    /// Built with [`Error::unavailable`] or [`Error::unavailable_because`].
    #[error("{backend} is unavailable: {detail}")]
    #[non_exhaustive]
    Unavailable {
        /// Which backend, e.g. `"docker"`.
        backend: &'static str,
        /// What was tried, e.g. the socket path, and what happened.
        detail: String,
        /// The client library's error behind it, when there is one.
        #[source]
        source: Option<BoxError>,
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
    /// Builds [`Error::NotFound`] from anything printable, without a source.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound {
            what: what.into(),
            source: None,
        }
    }

    /// Builds [`Error::NotFound`], keeping `source` (the error that said so) as its source.
    pub fn not_found_because(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::NotFound {
            what: what.into(),
            source: Some(source.into()),
        }
    }

    /// Builds [`Error::Unavailable`] for `backend`, without a source.
    pub fn unavailable(backend: &'static str, detail: impl Into<String>) -> Self {
        Self::Unavailable {
            backend,
            detail: detail.into(),
            source: None,
        }
    }

    /// Builds [`Error::Unavailable`] for `backend`, keeping `source` (the failure behind it) as
    /// its source.
    pub fn unavailable_because(
        backend: &'static str,
        detail: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::Unavailable {
            backend,
            detail: detail.into(),
            source: Some(source.into()),
        }
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

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn constructors_keep_the_text_and_the_source() {
        let io = || std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");

        let e = Error::not_found("image \"x\"");
        assert_eq!(e.to_string(), "image \"x\" not found");
        assert!(e.is_not_found());
        assert!(e.source().is_none());

        let e = Error::not_found_because("image \"x\"", io());
        assert_eq!(e.to_string(), "image \"x\" not found");
        assert!(e.is_not_found());
        assert_eq!(
            e.source().map(ToString::to_string).as_deref(),
            Some("refused")
        );

        let e = Error::unavailable("docker", "no socket at /x");
        assert_eq!(e.to_string(), "docker is unavailable: no socket at /x");
        assert!(e.source().is_none());

        let e = Error::unavailable_because("docker", "cannot reach /x", io());
        assert_eq!(e.to_string(), "docker is unavailable: cannot reach /x");
        assert_eq!(
            e.source().map(ToString::to_string).as_deref(),
            Some("refused")
        );
        assert!(matches!(
            e,
            Error::Unavailable {
                backend: "docker",
                ..
            }
        ));
    }
}
