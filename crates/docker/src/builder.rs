//! [`DockerRuntimeBuilder`]: turns a [`DockerConfig`] (plus the environment) into a [`DockerRuntime`].

use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, Docker};
use lticontainer_core::Result;

use crate::config::{DEFAULT_SOCKET, DockerConfig};
use crate::error::Error;
use crate::runtime::DockerRuntime;

/// Builds a [`DockerRuntime`] with by-value setters.
///
/// Building does not contact the engine: the API version is negotiated on the first call (Docker
/// 20.10 speaks API 1.41, older than bollard's default), so a hub can start before its engine.
/// A socket file that does not exist is refused at once.
///
/// # Example
/// ```no_run
/// use std::sync::Arc;
/// use lticontainer_core::Runtime;
/// use lticontainer_docker::DockerRuntimeBuilder;
///
/// # async fn demo() -> lticontainer_core::Result<()> {
/// let rt: Arc<dyn Runtime> = Arc::new(
///     DockerRuntimeBuilder::from_env()
///         .with_socket("/var/run/docker.sock")
///         .build()?,
/// );
/// rt.ensure_image("lticontainer-test/busybox:latest", &|p| println!("{}", p.status)).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct DockerRuntimeBuilder {
    config: DockerConfig,
}

impl DockerRuntimeBuilder {
    /// A builder with [`DockerConfig::default`] and nothing read from the environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder with default settings, taking the engine address from `DOCKER_HOST` when set.
    pub fn from_env() -> Self {
        Self::from_config(DockerConfig::default())
    }

    /// A builder starting from `config` (e.g. the hub's `[docker]` table). When `config.host` is
    /// unset, `DOCKER_HOST` applies as it does for the docker CLI, else [`DEFAULT_SOCKET`].
    pub fn from_config(mut config: DockerConfig) -> Self {
        if config.host.is_none() {
            config.host = std::env::var("DOCKER_HOST")
                .ok()
                .filter(|h| !h.trim().is_empty());
        }
        Self { config }
    }

    /// Uses the engine at `socket`: a socket path, a `unix://` URL or a `tcp://`/`http://` address.
    pub fn with_socket(mut self, socket: impl Into<String>) -> Self {
        self.config.host = Some(socket.into());
        self
    }

    /// Fails an engine request that takes longer than `timeout` (whole seconds; at least 1).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout_secs = timeout.as_secs().max(1);
        self
    }

    /// Abandons an image pull that takes longer than `timeout`.
    pub fn with_pull_timeout(mut self, timeout: Duration) -> Self {
        self.config.pull_timeout_secs = timeout.as_secs().max(1);
        self
    }

    /// Whether a missing image is pulled (`true`, the default) or reported missing at once.
    pub fn with_pull(mut self, pull: bool) -> Self {
        self.config.pull = pull;
        self
    }

    /// The configuration built so far.
    pub fn config(&self) -> &DockerConfig {
        &self.config
    }

    /// Connects the client (without contacting the engine yet).
    ///
    /// # Errors
    /// * [`Unavailable`](lticontainer_core::Error::Unavailable) naming the path when the socket file
    ///   does not exist.
    /// * [`InvalidInput`](lticontainer_core::Error::InvalidInput) for an address whose scheme is
    ///   neither `unix`, `tcp` nor `http`, or a zero timeout.
    pub fn build(self) -> Result<DockerRuntime> {
        let cfg = self.config;
        let host = cfg
            .host
            .clone()
            .unwrap_or_else(|| DEFAULT_SOCKET.to_owned());
        if cfg.request_timeout_secs == 0 || cfg.pull_timeout_secs == 0 {
            return Err(Error::BadHost {
                host,
                reason: "timeouts must be at least one second".into(),
            }
            .into());
        }
        let timeout = cfg.request_timeout_secs;
        let (docker, endpoint) = if let Some(rest) = host.strip_prefix("unix://") {
            (unix(rest, timeout)?, rest.to_owned())
        } else if host.starts_with('/') {
            (unix(&host, timeout)?, host.clone())
        } else if let Some(addr) = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"))
        {
            let url = format!("http://{addr}");
            let docker =
                Docker::connect_with_http(&url, timeout, API_DEFAULT_VERSION).map_err(|e| {
                    Error::BadHost {
                        host: host.clone(),
                        reason: e.to_string(),
                    }
                })?;
            (docker, url)
        } else {
            return Err(Error::BadHost {
                host,
                reason: "expected a socket path, unix://PATH, tcp://HOST:PORT or http://HOST:PORT"
                    .into(),
            }
            .into());
        };
        Ok(DockerRuntime::new(docker, endpoint, cfg))
    }
}

fn unix(path: &str, timeout: u64) -> Result<Docker, Error> {
    if path.is_empty() {
        return Err(Error::BadHost {
            host: "unix://".into(),
            reason: "the socket path is empty".into(),
        });
    }
    Docker::connect_with_unix(path, timeout, API_DEFAULT_VERSION).map_err(|e| match e {
        bollard::errors::Error::SocketNotFoundError(_) => Error::SocketMissing {
            socket: path.to_owned(),
        },
        other => Error::BadHost {
            host: path.to_owned(),
            reason: other.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lticontainer_core::Error as CoreError;

    #[test]
    fn setters_fill_the_config() {
        let b = DockerRuntimeBuilder::new()
            .with_socket("/tmp/x.sock")
            .with_request_timeout(Duration::from_millis(10))
            .with_pull_timeout(Duration::from_secs(30))
            .with_pull(false);
        let c = b.config();
        assert_eq!(c.host.as_deref(), Some("/tmp/x.sock"));
        assert_eq!(c.request_timeout_secs, 1);
        assert_eq!(c.pull_timeout_secs, 30);
        assert!(!c.pull);
    }

    #[test]
    fn missing_socket_is_unavailable_naming_it() {
        for host in [
            "/nonexistent/docker.sock",
            "unix:///nonexistent/docker.sock",
        ] {
            let err = DockerRuntimeBuilder::new()
                .with_socket(host)
                .build()
                .expect_err("no socket there");
            assert!(matches!(err, CoreError::Unavailable { .. }), "{err:?}");
            assert!(
                err.to_string().contains("/nonexistent/docker.sock"),
                "{err}"
            );
        }
    }

    #[test]
    fn unknown_schemes_are_invalid_input() {
        for host in ["ssh://me@box", "docker.sock", "unix://"] {
            let err = DockerRuntimeBuilder::new()
                .with_socket(host)
                .build()
                .expect_err("bad host");
            assert!(
                matches!(err, CoreError::InvalidInput { .. }),
                "{host}: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn tcp_hosts_build_without_contacting_the_engine() {
        let rt = DockerRuntimeBuilder::new()
            .with_socket("tcp://127.0.0.1:1")
            .build()
            .expect("builds lazily");
        assert_eq!(rt.endpoint(), "http://127.0.0.1:1");
    }
}
