//! [`PodmanRuntimeBuilder`]: turns a [`PodmanConfig`] (and the environment) into a [`PodmanRuntime`].

use std::path::PathBuf;
use std::time::Duration;

use lticontainer_core::{Error, Result};
use podman_api::Podman;

use crate::config::PodmanConfig;
use crate::runtime::PodmanRuntime;

/// The environment variable Podman's own clients read for the service address.
pub const CONTAINER_HOST_ENV: &str = "CONTAINER_HOST";

/// Builds a [`PodmanRuntime`] with by-value setters.
///
/// Building does not contact the engine; the first call does (use
/// [`PodmanRuntime::ping`] to check at start-up).
///
/// ```no_run
/// use lticontainer_podman::PodmanRuntimeBuilder;
/// use lticontainer_core::Runtime;
///
/// # async fn demo() -> lticontainer_core::Result<()> {
/// let podman = PodmanRuntimeBuilder::from_env()
///     .with_socket("/run/podman/podman.sock")
///     .build()?;
/// podman.ping().await?;
/// podman.ensure_image("lticontainer-test/busybox:latest", &|p| println!("{}", p.status)).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct PodmanRuntimeBuilder {
    config: PodmanConfig,
    /// A `CONTAINER_HOST` the backend cannot use, reported by [`Self::build`].
    env_error: Option<String>,
}

impl PodmanRuntimeBuilder {
    /// A builder with the documented defaults of [`PodmanConfig`], ignoring the environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder that starts from `config`; when `config` names no socket, `$CONTAINER_HOST`
    /// (as in [`Self::from_env`]) or else [`DEFAULT_SOCKET`](crate::DEFAULT_SOCKET) is used.
    pub fn from_config(config: PodmanConfig) -> Self {
        let mut builder = Self {
            config,
            env_error: None,
        };
        if builder.config.socket.is_none() {
            builder.read_env();
        }
        builder
    }

    /// A builder with the defaults, taking the socket from `$CONTAINER_HOST`
    /// (`unix:///path/podman.sock`) when it is set.
    ///
    /// A `CONTAINER_HOST` that is not a `unix://` URL makes [`Self::build`] fail, unless
    /// [`Self::with_socket`] replaces it.
    pub fn from_env() -> Self {
        let mut builder = Self::new();
        builder.read_env();
        builder
    }

    fn read_env(&mut self) {
        if let Ok(host) = std::env::var(CONTAINER_HOST_ENV) {
            match parse_container_host(&host) {
                Ok(path) => self.config.socket = Some(path),
                Err(reason) => self.env_error = Some(reason),
            }
        }
    }

    /// Uses the libpod API socket at `path`.
    pub fn with_socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.socket = Some(path.into());
        self.env_error = None;
        self
    }

    /// Fails engine requests that take longer than `timeout` (whole seconds, rounded up).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout_secs = whole_secs(timeout);
        self
    }

    /// Abandons image pulls that take longer than `timeout` (whole seconds, rounded up).
    pub fn with_pull_timeout(mut self, timeout: Duration) -> Self {
        self.config.pull_timeout_secs = whole_secs(timeout);
        self
    }

    /// Pulls missing images (`true`, the default) or reports them as not found at once.
    pub fn with_pull(mut self, pull: bool) -> Self {
        self.config.pull = pull;
        self
    }

    /// Builds the runtime.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `$CONTAINER_HOST` is not a `unix://` URL, the socket path is
    /// relative, or a timeout is zero.
    pub fn build(self) -> Result<PodmanRuntime> {
        if let Some(reason) = self.env_error {
            return Err(Error::invalid(reason));
        }
        let mut socket = self.config.socket_path();
        // Accept the URL form Podman's own tools use, `unix:///run/podman/podman.sock`, too.
        if let Some(path) = socket.to_str().and_then(|s| s.strip_prefix("unix://")) {
            socket = PathBuf::from(path);
        }
        if !socket.is_absolute() {
            return Err(Error::invalid(format!(
                "the Podman socket path {} must be absolute",
                socket.display()
            )));
        }
        if self.config.request_timeout_secs == 0 || self.config.pull_timeout_secs == 0 {
            return Err(Error::invalid(
                "podman request_timeout_secs and pull_timeout_secs must be at least 1",
            ));
        }
        let podman = Podman::unix(&socket);
        Ok(PodmanRuntime::new(podman, socket, self.config))
    }
}

fn whole_secs(d: Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
}

/// The socket path of a `CONTAINER_HOST` value, or why it cannot be used.
fn parse_container_host(value: &str) -> std::result::Result<PathBuf, String> {
    match value.strip_prefix("unix://") {
        Some(path) if path.starts_with('/') => Ok(PathBuf::from(path)),
        _ => Err(format!(
            "{CONTAINER_HOST_ENV}={value:?} is not supported: the Podman backend needs \
             unix:///absolute/path/to/podman.sock"
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn container_host_must_be_a_unix_url() {
        assert_eq!(
            parse_container_host("unix:///run/user/1000/podman/podman.sock").unwrap(),
            PathBuf::from("/run/user/1000/podman/podman.sock")
        );
        for bad in [
            "tcp://127.0.0.1:8080",
            "unix://relative.sock",
            "/run/podman.sock",
        ] {
            let err = parse_container_host(bad).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }

    #[test]
    fn build_checks_socket_and_timeouts() {
        let rt = PodmanRuntimeBuilder::new()
            .with_socket("/tmp/x.sock")
            .with_request_timeout(Duration::from_millis(1500))
            .build()
            .unwrap();
        assert_eq!(rt.socket(), std::path::Path::new("/tmp/x.sock"));
        assert_eq!(rt.config().request_timeout_secs, 2);
        let rt = PodmanRuntimeBuilder::new()
            .with_socket("unix:///run/podman/podman.sock")
            .build()
            .unwrap();
        assert_eq!(rt.socket(), std::path::Path::new("/run/podman/podman.sock"));

        let err = PodmanRuntimeBuilder::new()
            .with_socket("rel.sock")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("rel.sock"), "{err}");
        let err = PodmanRuntimeBuilder::new()
            .with_pull_timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    }

    #[test]
    fn with_socket_overrides_an_unusable_container_host() {
        let mut b = PodmanRuntimeBuilder::new();
        b.env_error = Some("bad".into());
        assert!(b.clone().build().is_err());
        assert!(b.with_socket("/run/podman/podman.sock").build().is_ok());
    }
}
