//! The backend's private error type and its mapping onto [`lticontainer_core::Error`].
//!
//! Podman 4.3 answers some failures with HTTP 500 and a telling `cause` instead of a precise
//! status (a name in use, an unknown image), so the mapping looks at both the status and the
//! engine's message.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use lticontainer_core::{BoxError, Error as CoreError};

use crate::rest::RestError;

/// The backend name used in core errors and logs.
pub(crate) const BACKEND: &str = "podman";

/// What an engine call was about, so a "not found" names the right thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// The engine itself (ping, list).
    Engine,
    /// An image reference.
    Image(String),
    /// A container id or name.
    Container(String),
    /// A named volume.
    Volume(String),
    /// A network.
    Network(String),
    /// A container being created: a missing thing is the image (or the network, when the
    /// engine says so), a conflict is the name.
    NewContainer {
        /// The container name asked for.
        name: String,
        /// The image asked for.
        image: String,
        /// The named network it joins, if any.
        network: Option<String>,
    },
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Engine => f.write_str("engine"),
            Self::Image(i) => write!(f, "image {i:?}"),
            Self::Container(c) => write!(f, "container {c:?}"),
            Self::Volume(v) => write!(f, "volume {v:?}"),
            Self::Network(n) => write!(f, "network {n:?}"),
            Self::NewContainer { name, image, .. } => {
                write!(f, "container {name:?} (image {image:?})")
            }
        }
    }
}

impl Target {
    /// What is missing when the engine says "not found" with `message`.
    fn missing(&self, message: &str) -> String {
        match self {
            Self::NewContainer { image, network, .. } => {
                let m = message.to_ascii_lowercase();
                // Checked first: the image's own name may contain the word "network".
                let about_image = m.contains("no such image") || m.contains("image not known");
                match network {
                    Some(n) if !about_image && m.contains("network") => format!("network {n:?}"),
                    _ => format!("image {image:?}"),
                }
            }
            other => other.to_string(),
        }
    }

    /// What exists already when the engine says "conflict".
    fn conflicting(&self) -> String {
        match self {
            Self::NewContainer { name, .. } => format!("container {name:?}"),
            other => other.to_string(),
        }
    }
}

/// Everything that can go wrong inside the Podman backend.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The engine refused or failed a request; `source` is podman-api's error.
    #[error("podman could not {operation} {target} (socket {})", socket.display())]
    Api {
        /// What was attempted, e.g. `"start"`.
        operation: &'static str,
        /// What it was attempted on (boxed: it keeps the error small).
        target: Box<Target>,
        /// The socket the request went to.
        socket: PathBuf,
        /// podman-api's or the direct request's error.
        #[source]
        source: Cause,
    },
    /// The engine did not answer in time.
    #[error("podman did not answer {operation} {target} within {after:?} (socket {})", socket.display())]
    Timeout {
        /// What was attempted.
        operation: &'static str,
        /// What it was attempted on (boxed: it keeps the error small).
        target: Box<Target>,
        /// The socket the request went to.
        socket: PathBuf,
        /// How long the backend waited.
        after: Duration,
    },
    /// An image is not local and could not be pulled.
    #[error("image {image:?} is not present locally and could not be pulled: {message}")]
    Pull {
        /// The image reference.
        image: String,
        /// What the engine said.
        message: String,
    },
    /// The spec cannot be turned into a container.
    #[error("{0}")]
    InvalidSpec(String),
    /// The engine's reply lacked something the backend needs.
    #[error("podman's reply to {operation} is unusable: {detail}")]
    Unexpected {
        /// What was attempted.
        operation: &'static str,
        /// What was wrong with the reply.
        detail: String,
    },
}

/// What failed under an engine call: podman-api, or a direct request (`rest.rs`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Cause {
    /// podman-api's error (boxed: it is large).
    #[error(transparent)]
    Client(Box<podman_api::Error>),
    /// A direct request's error.
    #[error(transparent)]
    Direct(RestError),
}

impl From<podman_api::Error> for Cause {
    fn from(e: podman_api::Error) -> Self {
        Self::Client(Box::new(e))
    }
}

impl From<RestError> for Cause {
    fn from(e: RestError) -> Self {
        Self::Direct(e)
    }
}

/// How one podman-api error reads, stripped of its wrapping.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The engine answered with this HTTP status and message.
    Status(u16, String),
    /// The socket could not be reached (missing, refused, reset); the detail says how.
    Connect(String),
    /// Anything else.
    Other,
}

/// Finds the engine status or the connection failure behind a podman-api error.
pub(crate) fn kind_of(err: &podman_api::Error) -> Kind {
    use podman_api::conn::Error as ConnError;
    match err {
        podman_api::Error::Fault { code, message } => {
            return Kind::Status(code.as_u16(), message.clone());
        }
        podman_api::Error::Error(ConnError::Fault { code, message }) => {
            return Kind::Status(code.as_u16(), message.clone());
        }
        // Streaming calls (logs, pull) wrap the request's error once more.
        podman_api::Error::Error(ConnError::Any(inner)) => {
            if let Some(inner) = inner.downcast_ref::<podman_api::Error>() {
                return kind_of(inner);
            }
        }
        _ => {}
    }
    // `#[error(transparent)]` variants forward `source()` past the wrapped error, so start the
    // walk at the wrapped error itself.
    let start: &(dyn std::error::Error + 'static) = match err {
        podman_api::Error::IO(io) => io,
        podman_api::Error::Error(ConnError::IO(io)) => io,
        podman_api::Error::Error(ConnError::Hyper(h)) => h,
        podman_api::Error::Error(ConnError::Any(inner)) => inner.as_ref(),
        other => other,
    };
    connect_failure(start).map_or(Kind::Other, Kind::Connect)
}

/// How a direct request's error reads.
fn kind_of_rest(err: &RestError) -> Kind {
    match err {
        RestError::Status { status, message } => Kind::Status(*status, message.clone()),
        other => connect_failure(other).map_or(Kind::Other, Kind::Connect),
    }
}

/// The I/O error in `err`'s chain that means the socket cannot be reached, as text.
fn connect_failure(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            if matches!(
                io.kind(),
                K::NotFound
                    | K::ConnectionRefused
                    | K::ConnectionReset
                    | K::ConnectionAborted
                    | K::PermissionDenied
                    | K::BrokenPipe
            ) {
                return Some(io.to_string());
            }
        }
        source = e.source();
    }
    None
}

/// The semantic class of an engine status and message (Podman 4.3 reports several
/// conditions as 500 with a telling cause).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// The thing does not exist.
    NotFound,
    /// The thing exists already.
    Conflict,
    /// The container is already stopped (304 Not Modified).
    NotModified,
    /// Any other failure.
    Failed,
}

/// Classifies an engine reply by its status and message.
pub(crate) fn classify(status: u16, message: &str) -> Class {
    let m = message.to_ascii_lowercase();
    match status {
        304 => Class::NotModified,
        404 => Class::NotFound,
        409 => Class::Conflict,
        _ if m.contains("no such container")
            || m.contains("no such image")
            || m.contains("image not known")
            || m.contains("no such volume")
            || m.contains("network not found") =>
        {
            Class::NotFound
        }
        _ if m.contains("already in use") || m.contains("already exists") => Class::Conflict,
        _ => Class::Failed,
    }
}

impl Error {
    /// The semantic class of an [`Error::Api`], or [`Class::Failed`] for anything else.
    pub(crate) fn class(&self) -> Class {
        match self.kind() {
            Some(Kind::Status(code, message)) => classify(code, &message),
            _ => Class::Failed,
        }
    }

    /// The engine status or connection failure behind an engine call's error.
    fn kind(&self) -> Option<Kind> {
        match self {
            Self::Api {
                source: Cause::Client(e),
                ..
            } => Some(kind_of(e)),
            Self::Api {
                source: Cause::Direct(e),
                ..
            } => Some(kind_of_rest(e)),
            _ => None,
        }
    }
}

impl Cause {
    /// The client's (or the direct request's) error itself, for a core error's source.
    fn into_source(self) -> BoxError {
        match self {
            Self::Client(e) => e,
            Self::Direct(e) => Box::new(e),
        }
    }
}

impl From<Error> for CoreError {
    fn from(err: Error) -> Self {
        let kind = err.kind();
        match err {
            Error::Api {
                operation,
                target,
                socket,
                source,
            } => match kind {
                Some(Kind::Status(code, message)) => match classify(code, &message) {
                    Class::NotFound => {
                        CoreError::not_found_because(target.missing(&message), source.into_source())
                    }
                    Class::Conflict => CoreError::already_exists(target.conflicting()),
                    Class::NotModified | Class::Failed => backend(Error::Api {
                        operation,
                        target,
                        socket,
                        source,
                    }),
                },
                Some(Kind::Connect(detail)) => CoreError::unavailable_because(
                    BACKEND,
                    format!(
                        "cannot reach the libpod API socket {}: {detail} \
                         (is `podman system service` running?)",
                        socket.display()
                    ),
                    source.into_source(),
                ),
                Some(Kind::Other) | None => backend(Error::Api {
                    operation,
                    target,
                    socket,
                    source,
                }),
            },
            Error::Timeout { .. } => CoreError::unavailable(BACKEND, err.to_string()),
            Error::Pull { .. } => CoreError::not_found(err.to_string()),
            Error::InvalidSpec(reason) => CoreError::invalid(reason),
            Error::Unexpected { .. } => backend(err),
        }
    }
}

/// Wraps an error as [`CoreError::Backend`], keeping it (and its cause) as the source.
fn backend(err: Error) -> CoreError {
    CoreError::Backend {
        backend: BACKEND,
        source: Box::new(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_43_status_codes_and_causes_are_classified() {
        assert_eq!(classify(404, "no such container"), Class::NotFound);
        assert_eq!(
            classify(500, "nope/none:1: image not known: image not known"),
            Class::NotFound
        );
        assert_eq!(
            classify(
                500,
                "creating container storage: the container name \"a\" is already in use: \
                 that name is already in use"
            ),
            Class::Conflict
        );
        assert_eq!(classify(409, ""), Class::Conflict);
        assert_eq!(classify(304, ""), Class::NotModified);
        assert_eq!(classify(500, "crun: oops"), Class::Failed);
    }

    #[test]
    fn missing_socket_is_unavailable_naming_the_socket() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let err = Error::Api {
            operation: "ping",
            target: Box::new(Target::Engine),
            socket: PathBuf::from("/nowhere/podman.sock"),
            source: podman_api::Error::IO(io).into(),
        };
        let core: CoreError = err.into();
        let source = std::error::Error::source(&core).map(ToString::to_string);
        assert!(
            source.is_some_and(|s| s.contains("No such file")),
            "the client's error is the source"
        );
        match core {
            CoreError::Unavailable {
                backend, detail, ..
            } => {
                assert_eq!(backend, "podman");
                assert!(detail.contains("/nowhere/podman.sock"), "{detail}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[test]
    fn new_container_names_the_image_when_missing_and_the_name_on_conflict() {
        let t = Target::NewContainer {
            name: "c1".into(),
            image: "network-img:1".into(),
            network: Some("jnet".into()),
        };
        assert_eq!(t.missing("no such image"), "image \"network-img:1\"");
        assert_eq!(
            t.missing("unable to find network with name or ID jnet: network not found"),
            "network \"jnet\""
        );
        assert_eq!(t.conflicting(), "container \"c1\"");
        assert_eq!(classify(500, "x: network not found"), Class::NotFound);
    }

    #[test]
    fn pull_failure_is_not_found_naming_the_image_and_cause() {
        let core: CoreError = Error::Pull {
            image: "x/y:1".into(),
            message: "no registry".into(),
        }
        .into();
        assert!(core.is_not_found());
        let text = core.to_string();
        assert!(
            text.contains("x/y:1") && text.contains("no registry"),
            "{text}"
        );
    }

    #[test]
    fn other_failures_keep_their_cause() {
        let core: CoreError = Error::Unexpected {
            operation: "create",
            detail: "no id".into(),
        }
        .into();
        let source = std::error::Error::source(&core).map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("podman's reply to create is unusable: no id")
        );
    }
}
