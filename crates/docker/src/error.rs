//! The backend's private error type and its mapping onto [`lticontainer_core::Error`].
//!
//! Engine replies map by status: 404 → `NotFound` naming the object, 409 → `AlreadyExists`,
//! 400 → `InvalidInput`; a socket that is missing, refuses connections or times out →
//! `Unavailable` naming the socket; everything else → `Backend`, keeping the cause as source.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use lticontainer_core::{BoxError, Error as CoreError};

/// The backend name used in core errors and logs.
pub(crate) const BACKEND: &str = "docker";

/// The engine object an operation was about, printed as `container "x"`, `image "x"`, ….
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Object {
    Container(String),
    Image(String),
    Volume(String),
    Network(String),
    /// A Swarm service (the Swarm backend's "container").
    Service(String),
    /// The engine itself (version negotiation, listing).
    Engine,
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Container(name) => write!(f, "container \"{name}\""),
            Self::Image(name) => write!(f, "image \"{name}\""),
            Self::Volume(name) => write!(f, "volume \"{name}\""),
            Self::Network(name) => write!(f, "network \"{name}\""),
            Self::Service(name) => write!(f, "service \"{name}\""),
            Self::Engine => f.write_str("the engine"),
        }
    }
}

/// What went wrong inside the Docker backend; converted into [`CoreError`] at the API boundary.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The configured socket file does not exist.
    #[error("no Docker socket at {socket} (is dockerd running? set `host` or DOCKER_HOST)")]
    SocketMissing { socket: String },
    /// The configured host cannot be used.
    #[error("cannot use Docker host \"{host}\": {reason}")]
    BadHost { host: String, reason: String },
    /// An engine request failed.
    #[error("{action} {object} via {endpoint}")]
    Engine {
        action: &'static str,
        object: Object,
        endpoint: String,
        #[source]
        source: Box<bollard::errors::Error>,
    },
    /// The image is not local and could not be pulled.
    #[error("image \"{image}\" is not present and pulling it failed: {cause}")]
    PullFailed {
        image: String,
        cause: String,
        /// The client's error, when the pull failed with one (not with a message in the stream).
        #[source]
        source: Option<Box<bollard::errors::Error>>,
    },
    /// The pull did not finish in time.
    #[error("pulling image \"{image}\" via {endpoint} did not finish within {after:?}")]
    PullTimeout {
        image: String,
        endpoint: String,
        after: Duration,
    },
    /// The spec cannot be expressed as a Docker container.
    #[error("{0}")]
    InvalidSpec(String),
    /// A Swarm service's task ended, or found no node, before its container ran.
    #[error("service \"{service}\" did not start: its task is {state}: {cause}")]
    Task {
        service: String,
        state: String,
        cause: String,
    },
    /// The configured engine is not a manager of a Swarm.
    #[error(
        "the engine at {endpoint} is not a Swarm manager ({state}); run `docker swarm init` there, or point [swarm] host at a manager"
    )]
    NotManager { endpoint: String, state: String },
    /// The engine answered, but without a field the backend needs.
    #[error("the engine's reply for {object} lacks {field}")]
    Reply { object: Object, field: &'static str },
}

impl Error {
    /// Wraps a failed engine call.
    pub(crate) fn engine(
        action: &'static str,
        object: Object,
        endpoint: &str,
        source: bollard::errors::Error,
    ) -> Self {
        Self::Engine {
            action,
            object,
            endpoint: endpoint.to_owned(),
            source: Box::new(source),
        }
    }
}

/// The HTTP status of an engine reply, when the error is one.
pub(crate) fn status_of(err: &bollard::errors::Error) -> Option<u16> {
    match err {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// The engine's message of an error reply, when the error is one.
pub(crate) fn message_of(err: &bollard::errors::Error) -> Option<&str> {
    match err {
        bollard::errors::Error::DockerResponseServerError { message, .. } => Some(message),
        _ => None,
    }
}

/// True when the engine says an object is missing: a 404, or a 500 whose message says so — a
/// Swarm manager answers a container start on a missing network with `500 Could not attach to
/// network x: rpc error: code = NotFound …`, and a service create with `500 network x not found`.
pub(crate) fn is_missing(err: &bollard::errors::Error) -> bool {
    match status_of(err) {
        Some(404) => true,
        Some(500) => message_of(err).is_some_and(|m| {
            let m = m.to_ascii_lowercase();
            m.contains("code = notfound") || m.ends_with(" not found")
        }),
        _ => false,
    }
}

/// True when the error means the engine could not be reached at all (nothing was done).
pub(crate) fn is_unreachable(err: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as B;
    match err {
        B::SocketNotFoundError(_) | B::RequestTimeoutError => true,
        B::HyperLegacyError { err } => err.is_connect(),
        B::IOError { err } => is_connect_io(err),
        B::HyperResponseError { err } => err.is_closed() || err.is_incomplete_message(),
        _ => false,
    }
}

fn is_connect_io(err: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        err.kind(),
        K::ConnectionRefused
            | K::NotFound
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::PermissionDenied
            | K::TimedOut
    )
}

/// The error and all its sources, joined by `": "`, skipping repeats.
pub(crate) fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}

impl From<Error> for CoreError {
    fn from(mut err: Error) -> Self {
        match err {
            Error::SocketMissing { .. } => CoreError::unavailable(BACKEND, err.to_string()),
            Error::BadHost { .. } | Error::InvalidSpec(_) => CoreError::invalid(err.to_string()),
            Error::PullFailed { ref mut source, .. } => {
                let source = source.take();
                let what = err.to_string();
                match source {
                    Some(source) => CoreError::not_found_because(what, source as BoxError),
                    None => CoreError::not_found(what),
                }
            }
            Error::PullTimeout { .. } | Error::NotManager { .. } => {
                CoreError::unavailable(BACKEND, err.to_string())
            }
            Error::Engine {
                action,
                object,
                endpoint,
                source,
            } => match status_of(&source) {
                _ if is_missing(&source) => {
                    CoreError::not_found_because(object.to_string(), source as BoxError)
                }
                Some(409) => CoreError::already_exists(object.to_string()),
                Some(400) => CoreError::invalid(format!(
                    "{action} {object}: {}",
                    message_of(&source).unwrap_or_default()
                )),
                _ if is_unreachable(&source) => CoreError::unavailable_because(
                    BACKEND,
                    format!(
                        "cannot reach the engine at {endpoint} while {action} {object}: {}",
                        chain(&source)
                    ),
                    source as BoxError,
                ),
                _ => CoreError::Backend {
                    backend: BACKEND,
                    source: Box::new(Error::Engine {
                        action,
                        object,
                        endpoint,
                        source,
                    }),
                },
            },
            Error::Reply { .. } | Error::Task { .. } => CoreError::Backend {
                backend: BACKEND,
                source: Box::new(err),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status_code: u16, message: &str) -> bollard::errors::Error {
        bollard::errors::Error::DockerResponseServerError {
            status_code,
            message: message.into(),
        }
    }

    fn engine(status: u16, object: Object) -> CoreError {
        Error::engine(
            "inspecting",
            object,
            "/var/run/docker.sock",
            reply(status, "m"),
        )
        .into()
    }

    #[test]
    fn statuses_map_to_semantic_kinds() {
        let e = engine(404, Object::Container("alice".into()));
        assert!(matches!(&e, CoreError::NotFound { what, .. } if what == "container \"alice\""));
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert!(
            source.is_some_and(|s| s.contains("404")),
            "the engine's reply is the source"
        );
        let e = engine(409, Object::Container("alice".into()));
        assert!(matches!(e, CoreError::AlreadyExists { .. }));
        let e = engine(400, Object::Container("alice".into()));
        assert!(matches!(e, CoreError::InvalidInput { .. }));
        let e = engine(500, Object::Image("busybox".into()));
        let CoreError::Backend { source, .. } = e else {
            panic!("500 should be Backend");
        };
        let text = chain(source.as_ref());
        assert!(text.contains("image \"busybox\""), "{text}");
        assert!(text.contains("500"), "{text}");
    }

    #[test]
    fn a_swarm_managers_not_found_500_is_not_found() {
        let missing = |message: &str| -> CoreError {
            Error::engine(
                "starting",
                Object::Network("n".into()),
                "/var/run/docker.sock",
                reply(500, message),
            )
            .into()
        };
        for message in [
            "Could not attach to network n: rpc error: code = NotFound desc = network n not found",
            "network n not found",
        ] {
            assert!(missing(message).is_not_found(), "{message}");
        }
        assert!(!missing("container is marked for removal").is_not_found());
    }

    #[test]
    fn unreachable_engine_is_unavailable_naming_the_socket() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e: CoreError = Error::engine(
            "listing",
            Object::Engine,
            "/run/x.sock",
            bollard::errors::Error::IOError { err: io },
        )
        .into();
        let source = std::error::Error::source(&e).map(ToString::to_string);
        let CoreError::Unavailable {
            backend, detail, ..
        } = e
        else {
            panic!("expected Unavailable");
        };
        assert_eq!(backend, "docker");
        assert!(
            detail.contains("/run/x.sock") && detail.contains("refused"),
            "{detail}"
        );
        assert!(
            source.is_some_and(|s| s.contains("refused")),
            "the client's error is the source"
        );

        let e: CoreError = Error::SocketMissing {
            socket: "/nope.sock".into(),
        }
        .into();
        assert!(e.to_string().contains("/nope.sock"), "{e}");
    }

    #[test]
    fn failed_pull_is_not_found_naming_the_image() {
        let e: CoreError = Error::PullFailed {
            image: "a/b:c".into(),
            cause: "no such host".into(),
            source: None,
        }
        .into();
        assert!(e.is_not_found());
        assert!(e.to_string().contains("a/b:c"));
    }
}
